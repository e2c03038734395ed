import { createPublicClient, http, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V4_INITIALIZE_TOPIC, V4_SWAP_TOPIC } from '../../indexers/uniswap-v4/abi.ts'
import { uniswapV4 } from '../../indexers/uniswap-v4/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { NATIVE_TOKEN, type PoolInfo, type TokenInfo } from '../../src/domain/types.ts'
import { decodeRange, discoverPools, poolLogs } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { fetchLogs } from '../../src/indexer/fetch-logs.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deployUniswapV4, FEE_TAKING_HOOK_ADDRESS, type SwapOptions, type UniswapV4Deployment, type UniswapV4Pool } from '../setup/families/uniswap-v4.ts'

const CHAIN_ID = 31_337
const dex = { family: 'uniswap-v4', name: 'uniswap-v4' } as const
const E18 = 10n ** 18n

describe('uniswap-v4 on anvil: real v4-core PoolManager, routers and hook', () => {
  let anvil: AnvilInstance
  let client: PublicClient
  let d: UniswapV4Deployment
  let registry: Map<Address, PoolInfo>

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: CHAIN_ID })
    client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
    d = await deployUniswapV4({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID })
    // The registry every test decodes against: the pools as the family discovers them (checked below).
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }))
    registry = new Map(discoverPools(logs, new Map([[d.poolManager, { dex, family: uniswapV4 }]]), CHAIN_ID).map((p) => [p.address, p]))
  }, 60_000)

  afterAll(async () => {
    await anvil?.stop()
  })

  const readLogs = async (fromBlock: bigint, toBlock: bigint): Promise<RawLog[]> =>
    fetchLogs(client, { fromBlock, toBlock, topics: [[V4_INITIALIZE_TOPIC, V4_SWAP_TOPIC]], address: [d.poolManager] })

  /** Decode context from the chain: tx senders and block times; TestERC20 has no decimals(), taken as 18 here. */
  const chainCtx = async (logs: RawLog[]): Promise<DecodeContext> => {
    const from = new Map<Hex, Address>()
    const times = new Map<bigint, number>()
    for (const l of logs) {
      const tx = await client.getTransaction({ hash: l.transactionHash })
      from.set(l.transactionHash, tx.from.toLowerCase() as Address)
      times.set(l.blockNumber, Number((await client.getBlock({ blockNumber: l.blockNumber })).timestamp))
    }
    const tokens = new Map<Address, TokenInfo>(
      [NATIVE_TOKEN, d.tokens.tokenA, d.tokens.tokenB].map((t) => [t, { chainId: CHAIN_ID, address: t, decimals: 18, symbol: null }]),
    )
    return { chainId: CHAIN_ID, token: (a) => tokens.get(a), txFrom: (h) => from.get(h), blockTime: (n) => times.get(n) }
  }

  const pool = (name: UniswapV4Pool['name']): UniswapV4Pool => d.pools.find((p) => p.name === name)!

  /**
   * The trader's change of `token` over the swap's block (automine: one tx a block), from its own
   * side; for ether the gas the tx paid is added back, so what is left is the swap's ether alone.
   */
  const change = async (token: Address, who: Address, r: TransactionReceipt): Promise<bigint> => {
    const delta = (await d.balanceOf(token, who, r.blockNumber)) - (await d.balanceOf(token, who, r.blockNumber - 1n))
    return token === NATIVE_TOKEN ? delta + r.gasUsed * r.effectiveGasPrice : delta
  }

  it('discovers the three pools from Initialize, keyed by pool id, native ETH as NATIVE_TOKEN', async () => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }))
    const pools = discoverPools(logs, new Map([[d.poolManager, { dex, family: uniswapV4 }]]), CHAIN_ID)
    expect(pools).toEqual(d.pools.map((p) => p.info))
    expect(pools.map((p) => [p.token0, p.fee, p.tickSpacing, p.hooks])).toEqual([
      [d.tokens.tokenA, 3000, 60, '0x0000000000000000000000000000000000000000'],
      [NATIVE_TOKEN, 500, 10, '0x0000000000000000000000000000000000000000'],
      [NATIVE_TOKEN, 3000, 60, FEE_TAKING_HOOK_ADDRESS],
    ])
    expect([...registry.values()]).toEqual(pools)
  })

  it("decodes swaps both ways, exact input and exact output, to the trader's balance changes to the wei", async () => {
    const alice = anvilAccount(5)
    const bob = anvilAccount(6)
    const { tokenA, tokenB } = d.tokens
    for (const who of [alice, bob]) {
      await d.fund(who.address, tokenA, 50n * E18)
      await d.fund(who.address, tokenB, 50n * E18)
    }
    const erc20 = pool('erc20')
    const native = pool('native')
    type Trade = { trader: LocalAccount; pool: UniswapV4Pool; o: SwapOptions; tokenIn: Address; tokenOut: Address }
    const trades: Trade[] = [
      { trader: alice, pool: erc20, o: { zeroForOne: true, exactInput: true, amount: E18 }, tokenIn: tokenA, tokenOut: tokenB },
      { trader: bob, pool: erc20, o: { zeroForOne: false, exactInput: false, amount: E18 / 2n }, tokenIn: tokenB, tokenOut: tokenA },
      { trader: alice, pool: erc20, o: { zeroForOne: false, exactInput: true, amount: 3n * E18 / 10n }, tokenIn: tokenB, tokenOut: tokenA },
      { trader: bob, pool: erc20, o: { zeroForOne: true, exactInput: false, amount: 7n * E18 / 10n }, tokenIn: tokenA, tokenOut: tokenB },
      // Ether in, exact input: the value is the amount in.
      { trader: alice, pool: native, o: { zeroForOne: true, exactInput: true, amount: 3n * E18 / 10n, value: 3n * E18 / 10n }, tokenIn: NATIVE_TOKEN, tokenOut: tokenA },
      // Ether in, exact output: 1 ether sent, the router refunds what the swap did not take.
      { trader: bob, pool: native, o: { zeroForOne: true, exactInput: false, amount: E18 / 4n, value: E18 }, tokenIn: NATIVE_TOKEN, tokenOut: tokenA },
      // Ether out, both kinds.
      { trader: alice, pool: native, o: { zeroForOne: false, exactInput: true, amount: E18 / 5n }, tokenIn: tokenA, tokenOut: NATIVE_TOKEN },
      { trader: bob, pool: native, o: { zeroForOne: false, exactInput: false, amount: E18 / 8n }, tokenIn: tokenA, tokenOut: NATIVE_TOKEN },
    ]

    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    const receipts: TransactionReceipt[] = []
    const paid: bigint[] = []
    const got: bigint[] = []
    for (const t of trades) {
      const r = await d.swap(t.trader, t.pool, t.o)
      receipts.push(r)
      const who = t.trader.address.toLowerCase() as Address
      paid.push(-(await change(t.tokenIn, who, r)))
      got.push(await change(t.tokenOut, who, r))
    }
    const end = await client.getBlockNumber({ cacheTime: 0 })

    const logs = poolLogs(await readLogs(start, end), registry, new Set([d.poolManager]))
    expect(logs.map((l) => l.topics[0])).toEqual(trades.map(() => V4_SWAP_TOPIC))
    const r = decodeRange(logs, registry, await chainCtx(logs), new Set([d.poolManager]))
    expect(r.rejected).toEqual([])
    expect(r.swaps).toHaveLength(trades.length)
    expect(r.prices).toHaveLength(trades.length)
    r.swaps.forEach((s, i) => {
      const t = trades[i]!
      const who = t.trader.address.toLowerCase() as Address
      expect(s).toMatchObject({
        chainId: CHAIN_ID,
        dex,
        pool: t.pool.id,
        blockNumber: receipts[i]!.blockNumber,
        blockHash: receipts[i]!.blockHash,
        txHash: receipts[i]!.transactionHash,
        trader: who,
        sender: d.swapRouter,
        recipient: d.swapRouter,
        tokenIn: t.tokenIn,
        tokenOut: t.tokenOut,
        decimalsIn: 18,
        decimalsOut: 18,
      })
      // To the wei: what the trader's balances say it paid and got.
      expect([i, s.amountIn, s.amountOut]).toEqual([i, paid[i], got[i]])
      // And the specified side is the one asked for.
      expect(t.o.exactInput ? s.amountIn : s.amountOut).toBe(t.o.amount)
    })
    // Prices are the pools' own after each swap: still near 1 for these small trades.
    for (const p of r.prices) expect(Math.abs(p.price - 1)).toBeLessThan(0.05)
  })

  it('a pool with a delta-returning hook (FeeTakingHook) gives a reject and a price, no swap', async () => {
    const hooked = pool('hooked')
    const carol = anvilAccount(7)
    await d.fund(carol.address, d.tokens.tokenB, 10n * E18)
    const who = carol.address.toLowerCase() as Address
    const receipt = await d.swap(carol, hooked, { zeroForOne: true, exactInput: true, amount: E18 / 10n, value: E18 / 10n })
    const logs = poolLogs(await readLogs(receipt.blockNumber, receipt.blockNumber), registry, new Set([d.poolManager]))
    expect(logs).toHaveLength(1)
    const r = decodeRange(logs, registry, await chainCtx(logs), new Set([d.poolManager]))
    expect(r.swaps).toEqual([])
    expect(r.prices).toHaveLength(1)
    expect(r.prices[0]).toMatchObject({ pool: hooked.id, base: NATIVE_TOKEN, quote: d.tokens.tokenB, txHash: receipt.transactionHash })
    expect(r.rejected).toHaveLength(1)
    expect(r.rejected[0]!.log).toEqual(logs[0])
    expect(r.rejected[0]!.error.message).toContain(
      `uniswap-v4 hook ${FEE_TAKING_HOOK_ADDRESS} has AFTER_SWAP_RETURNS_DELTA: it can change what the swapper paid and received, so the Swap amounts are not the trade`,
    )
    expect(r.rejected[0]!.error.context).toMatchObject({ chainId: CHAIN_ID, block: receipt.blockNumber, tx: receipt.transactionHash })
    // Why: the Swap says the pool paid |amount1|, but the hook took 1.23% of it (123 / 10000,
    // floored), so the trader got less than the event's amount.
    const eventOut = BigInt.asIntN(128, BigInt(`0x${logs[0]!.data.slice(2 + 64, 2 + 128)}`))
    const gotOut = await change(d.tokens.tokenB, who, receipt)
    expect(gotOut).toBe(eventOut - (eventOut * 123n) / 10_000n)
    expect(-(await change(NATIVE_TOKEN, who, receipt))).toBe(E18 / 10n)
  })
})
