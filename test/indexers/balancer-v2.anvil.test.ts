import { createPublicClient, http, type Address, type Hex, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BALANCER_V2_POOL_REGISTERED_TOPIC, BALANCER_V2_SWAP_TOPIC, BALANCER_V2_TOKENS_REGISTERED_TOPIC } from '../../indexers/balancer-v2/abi.ts'
import { balancerPoolAddress, balancerV2 } from '../../indexers/balancer-v2/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { decodeRange, discoverPools, poolLogs, watchedTopics } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { fetchLogs } from '../../src/indexer/fetch-logs.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deployBalancerV2, type BalancerV2Deployment } from '../setup/families/balancer-v2.ts'

const CHAIN_ID = 31_337
const dex = { family: 'balancer-v2', name: 'balancer-v2' } as const

describe('balancer-v2 on anvil: a Vault-like contract emitting the real events', () => {
  let anvil: AnvilInstance
  let client: PublicClient
  let d: BalancerV2Deployment

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: CHAIN_ID })
    client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
    d = await deployBalancerV2({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID })
  })

  afterAll(async () => {
    await anvil?.stop()
  })

  const readLogs = async (fromBlock: bigint, toBlock: bigint): Promise<RawLog[]> =>
    fetchLogs(client, { fromBlock, toBlock, topics: [...watchedTopics(), BALANCER_V2_POOL_REGISTERED_TOPIC], address: [d.vault] })

  /** Decode context from the chain itself: tx senders and block times of the logs' transactions. */
  const chainCtx = async (logs: RawLog[]): Promise<DecodeContext> => {
    const from = new Map<Hex, Address>()
    const times = new Map<bigint, number>()
    for (const l of logs) {
      const tx = await client.getTransaction({ hash: l.transactionHash })
      from.set(l.transactionHash, tx.from.toLowerCase() as Address)
      times.set(l.blockNumber, Number((await client.getBlock({ blockNumber: l.blockNumber })).timestamp))
    }
    const tokens = new Map<Address, TokenInfo>(Object.values(d.tokens).map((t) => [t.address, { chainId: CHAIN_ID, address: t.address, decimals: t.decimals, symbol: t.symbol }]))
    return { chainId: CHAIN_ID, token: (a) => tokens.get(a), txFrom: (h) => from.get(h), blockTime: (n) => times.get(n) }
  }

  it('discovers both pools from TokensRegistered, keyed by pool ids whose first 20 bytes are the pool contracts', async () => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }))
    const registered = logs.filter((l) => l.topics[0] === BALANCER_V2_POOL_REGISTERED_TOPIC)
    // PoolRegistered(poolId, poolAddress, specialization): the id the Vault built and the pool it names.
    expect(registered.map((l) => [l.topics[1], `0x${l.topics[2]!.slice(26)}`, BigInt(l.data)])).toEqual(d.pools.map((p) => [p.id, p.address, BigInt(p.specialization)]))
    const pools = discoverPools(logs, new Map([[d.vault, { dex, family: balancerV2 }]]), CHAIN_ID)
    expect(logs.filter((l) => l.topics[0] === BALANCER_V2_TOKENS_REGISTERED_TOPIC)).toHaveLength(2)
    expect(pools).toEqual(
      d.pools.map((p) => ({ chainId: CHAIN_ID, dex, address: p.id, token0: p.tokens[0], token1: p.tokens[1], fee: null, tokens: p.tokens, singleton: d.vault, createdBlock: p.registeredBlock })),
    )
    // Pool id = pool address · specialization (2 bytes) · nonce (10 bytes).
    expect(pools.map((p) => balancerPoolAddress(p.address))).toEqual([d.tokens.bptTwoToken.address, d.tokens.bptComposable.address])
    expect(pools[0]!.address).toBe(`${d.tokens.bptTwoToken.address}0002${'0'.repeat(20)}`)
    expect(pools[1]!.address).toBe(`${d.tokens.bptComposable.address}0000${'0'.repeat(19)}1`)
  })

  it("decodes traders' swaps to amounts equal to the balance changes, to the wei", async () => {
    const [twoToken, composable] = d.pools as [BalancerV2Deployment['pools'][0], BalancerV2Deployment['pools'][0]]
    const { weth, usdc, dai, bptComposable: bpt } = d.tokens
    const alice = anvilAccount(3)
    const bob = anvilAccount(4)
    const a = alice.address.toLowerCase() as Address
    const b = bob.address.toLowerCase() as Address
    await d.fund(a, weth.address, 5n * 10n ** 18n)
    await d.fund(b, usdc.address, 20_000n * 10n ** 6n)
    await d.fund(b, dai.address, 1_001n * 10n ** 18n)

    type Trade = { trader: typeof alice; pool: typeof twoToken; tokenIn: Address; tokenOut: Address; amountIn: bigint; expectedOut: bigint }
    const trades: Trade[] = [
      // 1.5 WETH · 2500 / 1e12 = 3_750_000_000 raw USDC (3750 USDC).
      { trader: alice, pool: twoToken, tokenIn: weth.address, tokenOut: usdc.address, amountIn: 15n * 10n ** 17n, expectedOut: 3_750_000_000n },
      // 1234.567891 USDC · 1e12 / 2500 = 1_234_567_891e12 / 2500 = 493_827_156_400_000_000 wei (0.4938… WETH).
      { trader: bob, pool: twoToken, tokenIn: usdc.address, tokenOut: weth.address, amountIn: 1_234_567_891n, expectedOut: 493_827_156_400_000_000n },
      // General pool: 100 USDC · 1e15 / 1000 = 100e18 DAI.
      { trader: bob, pool: composable, tokenIn: usdc.address, tokenOut: dai.address, amountIn: 100_000_000n, expectedOut: 100n * 10n ** 18n },
      // A BPT swap (join): 1001 DAI · 1000 / 1001 = 1000 BPT.
      { trader: bob, pool: composable, tokenIn: dai.address, tokenOut: bpt.address, amountIn: 1_001n * 10n ** 18n, expectedOut: 1_000n * 10n ** 18n },
      // A BPT swap (exit): 10 BPT · 1001 / 1e15 = 10_010_000 raw USDC (10.01 USDC).
      { trader: bob, pool: composable, tokenIn: bpt.address, tokenOut: usdc.address, amountIn: 10n * 10n ** 18n, expectedOut: 10_010_000n },
    ]

    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    const deltas: { in: bigint; out: bigint }[] = []
    const receipts: TransactionReceipt[] = []
    for (const t of trades) {
      expect(d.quote(t.pool, t.tokenIn, t.tokenOut, t.amountIn)).toBe(t.expectedOut)
      const who = t.trader.address.toLowerCase() as Address
      const [inBefore, outBefore, vaultInBefore, vaultOutBefore] = await Promise.all([
        d.balanceOf(t.tokenIn, who), d.balanceOf(t.tokenOut, who), d.balanceOf(t.tokenIn, d.vault), d.balanceOf(t.tokenOut, d.vault),
      ])
      const receipt = await d.swap(t.trader, t.pool, t.tokenIn, t.tokenOut, t.amountIn)
      receipts.push(receipt)
      const [inAfter, outAfter, vaultInAfter, vaultOutAfter] = await Promise.all([
        d.balanceOf(t.tokenIn, who), d.balanceOf(t.tokenOut, who), d.balanceOf(t.tokenIn, d.vault), d.balanceOf(t.tokenOut, d.vault),
      ])
      // The Vault (the pool's holder) received exactly what the trader paid and paid what the trader got.
      expect(vaultInAfter - vaultInBefore).toBe(inBefore - inAfter)
      expect(vaultOutBefore - vaultOutAfter).toBe(outAfter - outBefore)
      deltas.push({ in: inBefore - inAfter, out: outAfter - outBefore })
    }
    const end = await client.getBlockNumber({ cacheTime: 0 })

    const all = await readLogs(d.deployBlock, end)
    const pools = new Map<Address, PoolInfo>(discoverPools(all, new Map([[d.vault, { dex, family: balancerV2 }]]), CHAIN_ID).map((p) => [p.address, p]))
    const swapLogs = poolLogs(await readLogs(start, end), pools, new Set([d.vault]))
    expect(swapLogs.map((l) => l.topics[0])).toEqual(trades.map(() => BALANCER_V2_SWAP_TOPIC))
    const r = decodeRange(swapLogs, pools, await chainCtx(swapLogs), new Set([d.vault]))
    expect(r.rejected).toEqual([])
    expect(r.prices).toEqual([])
    expect(r.swaps).toHaveLength(trades.length)
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
        sender: who,
        recipient: who,
        tokenIn: t.tokenIn,
        tokenOut: t.tokenOut,
        amountIn: t.amountIn,
        amountOut: t.expectedOut,
      })
      expect(s.amountIn).toBe(deltas[i]!.in)
      expect(s.amountOut).toBe(deltas[i]!.out)
    })
    expect(r.swaps.map((s) => [s.decimalsIn, s.decimalsOut])).toEqual([[18, 6], [6, 18], [6, 18], [18, 18], [18, 6]])
  })
})
