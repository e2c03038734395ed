import { createPublicClient, erc20Abi, http, type Address, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CurvePoolError } from '../../indexers/curve/describe-pool.ts'
import { curve } from '../../indexers/curve/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { NATIVE_TOKEN, type PoolInfo } from '../../src/domain/types.ts'
import { RetryableError } from '../../src/errors.ts'
import { decodeRange, poolLogs } from '../../src/indexer/decode-range.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { curveMiniRate, deployCurve, type CurveDeployment, type DeployedCurvePool } from '../setup/families/curve.ts'

const CHAIN_ID = 31_337
const dex = { family: 'curve', name: 'curve' } as const
const trader = anvilAccount(3)
const TRADER = trader.address.toLowerCase() as Address

let anvil: AnvilInstance
let client: PublicClient
let world: CurveDeployment
const pool = (kind: DeployedCurvePool['kind']): DeployedCurvePool => {
  const p = world.pools.find((x) => x.kind === kind)
  if (!p) throw new Error(`no ${kind} pool`)
  return p
}

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
  world = await deployCurve({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID })
})

afterAll(async () => {
  await anvil?.stop()
})

const balance = (token: Address, owner: Address, blockNumber: bigint) => client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner], blockNumber })

/** The receipt's logs as the indexer gets them from eth_getLogs for the block. */
async function logsOf(receipt: TransactionReceipt): Promise<RawLog[]> {
  const logs = await client.getLogs({ fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber })
  return logs.map((l) => ({
    address: l.address.toLowerCase() as Address,
    topics: l.topics,
    data: l.data,
    blockNumber: l.blockNumber,
    blockHash: l.blockHash,
    transactionHash: l.transactionHash,
    transactionIndex: l.transactionIndex,
    logIndex: l.logIndex,
  }))
}

async function describe_(p: DeployedCurvePool, known: { coins?: Address[]; underlying?: Address[] } = {}): Promise<PoolInfo> {
  if (!curve.describePool) throw new Error('curve has no describePool')
  return curve.describePool(client, { address: p.address, ...known }, dex, CHAIN_ID, world.deployBlock)
}

/** Funds the trader, swaps, and checks the decoded swap against the trader's balance deltas to the wei. */
async function swapAndDecode(kind: DeployedCurvePool['kind'], s: { i: number; j: number; dx: bigint; underlying?: boolean }) {
  const p = pool(kind)
  const info = await describe_(p)
  const coins = (s.underlying ? info.underlying : info.tokens) as Address[]
  const tokenIn = coins[s.i] as Address
  const tokenOut = coins[s.j] as Address
  await world.fund(TRADER, tokenIn, s.dx)
  const receipt = await world.swap(trader, { pool: p.address, ...s })
  const before = receipt.blockNumber - 1n
  const deltaIn = (await balance(tokenIn, TRADER, before)) - (await balance(tokenIn, TRADER, receipt.blockNumber))
  const deltaOut = (await balance(tokenOut, TRADER, receipt.blockNumber)) - (await balance(tokenOut, TRADER, before))

  const logs = await logsOf(receipt)
  const pools = new Map([[info.address, info]])
  const mine = poolLogs(logs, pools)
  expect(mine).toHaveLength(1)
  const tx = await client.getTransaction({ hash: receipt.transactionHash })
  const block = await client.getBlock({ blockNumber: receipt.blockNumber })
  const r = decodeRange(logs, pools, {
    chainId: CHAIN_ID,
    token: (a) => ({ chainId: CHAIN_ID, address: a, decimals: 18, symbol: null }),
    txFrom: (h) => (h === receipt.transactionHash ? (tx.from.toLowerCase() as Address) : undefined),
    blockTime: (n) => (n === receipt.blockNumber ? Number(block.timestamp) : undefined),
  })
  expect(r.rejected).toEqual([])
  expect(r.prices).toEqual([])
  expect(r.swaps).toHaveLength(1)
  return { swap: r.swaps[0], deltaIn, deltaOut, tokenIn, tokenOut, receipt, log: mine[0] as RawLog, pool: p }
}

describe('curve family on anvil (solc-js mini pools holding real ERC20 balances)', () => {
  it('describePool reads coins(uint256) of a plain pool; the uint256-index metapool path gives [coins[0], ...base coins]', async () => {
    const stable = await describe_(pool('stable'))
    expect(stable).toEqual({
      chainId: CHAIN_ID,
      dex,
      address: pool('stable').address,
      token0: world.tokens.DAI,
      token1: world.tokens.USDC,
      fee: null,
      tokens: [world.tokens.DAI, world.tokens.USDC, world.tokens.USDT],
      createdBlock: world.deployBlock,
    })
    // A plain mini pool answers base_pool() with the zero address, and has no underlying_coins: no underlying.
    expect(stable.underlying).toBeUndefined()
    const meta = await describe_(pool('meta'))
    expect(meta.tokens).toEqual(pool('meta').coins)
    expect(meta.underlying).toEqual([world.tokens.MET, world.tokens.DAI, world.tokens.USDC, world.tokens.USDT])
    // The crypto pools have no base_pool() at all (a revert): coins only.
    const crypto = await describe_(pool('crypto-ng'))
    expect(crypto.tokens).toEqual([world.tokens.USDT, world.tokens.WBTC, world.tokens.WETH])
    expect(crypto.underlying).toBeUndefined()
  })

  it('describePool falls back to the int128 getters of old pools and maps 0xEeee…EEeE to NATIVE_TOKEN', async () => {
    const legacy = await describe_(pool('legacy-lending'))
    expect(legacy.tokens).toEqual(['0x00000000000000000000000000000000000000a1', NATIVE_TOKEN])
    expect(legacy.token1).toBe(NATIVE_TOKEN)
    expect(legacy.underlying).toEqual([world.tokens.DAI, world.tokens.WETH])
  })

  it('describePool: config-given coins and underlying win over the chain', async () => {
    const coins = ['0x00000000000000000000000000000000000000b1', '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE'] as Address[]
    const underlying = ['0x00000000000000000000000000000000000000B2', '0x00000000000000000000000000000000000000b3'] as Address[]
    const info = await describe_(pool('meta'), { coins, underlying })
    expect(info.tokens).toEqual(['0x00000000000000000000000000000000000000b1', NATIVE_TOKEN])
    expect(info.underlying).toEqual(['0x00000000000000000000000000000000000000b2', '0x00000000000000000000000000000000000000b3'])
  })

  it('describePool: an address with no pool is a CurvePoolError; an unreachable node a RetryableError naming chain and pool', async () => {
    const token = world.tokens.DAI
    const err = await describe_({ kind: 'stable', address: token, coins: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CurvePoolError)
    expect((err as CurvePoolError).context).toMatchObject({ chainId: CHAIN_ID, pool: token })

    const dead = createPublicClient({ transport: http('http://127.0.0.1:9', { retryCount: 0, timeout: 2_000 }) }) as PublicClient
    const down = await curve.describePool?.(dead, { address: pool('stable').address }, dex, CHAIN_ID, 1n).catch((e: unknown) => e)
    expect(down).toBeInstanceOf(RetryableError)
    expect((down as RetryableError).context).toEqual({ chainId: CHAIN_ID, pool: pool('stable').address, block: 1n })
  })

  it('int128 TokenExchange: USDT -> DAI, amounts equal the balance deltas to the wei', async () => {
    const dx = 123_456_789n
    const { swap, deltaIn, deltaOut, receipt } = await swapAndDecode('stable', { i: 2, j: 0, dx })
    // dy = dx * 3 / 4 = 92592591 (raw units; 123456789 * 3 = 370370367, / 4 = 92592591.75 → 92592591)
    expect(curveMiniRate(dx)).toBe(92_592_591n)
    expect(swap).toMatchObject({ tokenIn: world.tokens.USDT, tokenOut: world.tokens.DAI, amountIn: dx, amountOut: 92_592_591n, trader: TRADER, sender: TRADER, recipient: TRADER, txHash: receipt.transactionHash })
    expect(swap?.amountIn).toBe(deltaIn)
    expect(swap?.amountOut).toBe(deltaOut)
  })

  it('int128 TokenExchangeUnderlying on the metapool: ids index [MET, DAI, USDC, USDT]', async () => {
    const dx = 10n ** 18n + 7n
    const { swap, deltaIn, deltaOut, log } = await swapAndDecode('meta', { i: 0, j: 3, dx, underlying: true })
    expect(log.topics[0]).toBe(curve.poolTopics[1])
    // bought_id 3 is USDT (base coins(2)), not a coin of the metapool itself.
    expect(swap).toMatchObject({ tokenIn: world.tokens.MET, tokenOut: world.tokens.USDT, amountIn: dx, amountOut: (dx * 3n) / 4n })
    expect(swap?.amountIn).toBe(deltaIn)
    expect(swap?.amountOut).toBe(deltaOut)
  })

  it('uint256 TokenExchange (crypto v2) and the seven-field crypto-ng TokenExchange', async () => {
    const a = await swapAndDecode('crypto', { i: 1, j: 2, dx: 5_000_000n })
    expect(a.log.topics[0]).toBe(curve.poolTopics[2])
    expect(a.swap).toMatchObject({ tokenIn: world.tokens.WBTC, tokenOut: world.tokens.WETH, amountIn: 5_000_000n, amountOut: 3_750_000n })
    expect(a.swap?.amountIn).toBe(a.deltaIn)
    expect(a.swap?.amountOut).toBe(a.deltaOut)

    const b = await swapAndDecode('crypto-ng', { i: 2, j: 0, dx: 2n * 10n ** 18n })
    expect(b.log.topics[0]).toBe(curve.poolTopics[3])
    expect((b.log.data.length - 2) / 64).toBe(6)
    expect(b.swap).toMatchObject({ tokenIn: world.tokens.WETH, tokenOut: world.tokens.USDT, amountIn: 2n * 10n ** 18n, amountOut: 15n * 10n ** 17n })
    expect(b.swap?.amountIn).toBe(b.deltaIn)
    expect(b.swap?.amountOut).toBe(b.deltaOut)
  })
})
