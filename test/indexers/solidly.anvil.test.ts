import { createPublicClient, http, type Address, type Hex, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AERODROME_POOL_CREATED_TOPIC,
  AERODROME_SWAP_TOPIC,
  SOLIDLY_SYNC_TOPIC,
  VELODROME_V1_PAIR_CREATED_TOPIC,
  VELODROME_V1_SWAP_TOPIC,
} from '../../indexers/solidly/abi.ts'
import { aerodrome, velodromeV1 } from '../../indexers/solidly/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { priceFromReserves } from '../../src/domain/price-math.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { decodeRange, discoverPools, poolLogs, watchedTopics } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { fetchLogs } from '../../src/indexer/fetch-logs.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deploySolidly, type SolidlyDeployment, type SolidlyGeneration } from '../setup/families/solidly.ts'

const CHAIN_ID = 10

/**
 * Each trade's hand-computed fee and amountOut (the pools' formulas, floor division), per generation:
 * Velodrome v1 2 bps on both kinds, Aerodrome 30 bps volatile and 5 bps stable. Reserves start at
 * 100 WETH / 250,000 USDC (volatile) and 1,000,000 USDC / 1,000,000 DAI (stable, fixed 1:1).
 */
const CASES: { generation: SolidlyGeneration; swapTopic: Hex; createdTopic: Hex; expected: { fee: bigint; out: bigint }[] }[] = [
  {
    generation: 'velodrome-v1',
    swapTopic: VELODROME_V1_SWAP_TOPIC,
    createdTopic: VELODROME_V1_PAIR_CREATED_TOPIC,
    expected: [
      // 1 WETH: fee 1e18·2/1e4 = 2e14; net 9.998e17; out = 9.998e17·250000e6 / (100e18 + 9.998e17) = 2_474_757_375.
      { fee: 200_000_000_000_000n, out: 2_474_757_375n },
      // 1000 USDC: fee 200_000; net 999_800_000; out = 999_800_000·100.9998e18 / (247_525_242_625 + 999_800_000).
      { fee: 200_000n, out: 406_315_592_881_190_437n },
      // 1000 USDC stable: net 999_800_000 raw → ·1e12 = 999.8 DAI.
      { fee: 200_000n, out: 999_800_000_000_000_000_000n },
      // 500 DAI stable: fee 1e17; net 499.9e18 → /1e12 = 499_900_000 raw USDC.
      { fee: 100_000_000_000_000_000n, out: 499_900_000n },
    ],
  },
  {
    generation: 'aerodrome',
    swapTopic: AERODROME_SWAP_TOPIC,
    createdTopic: AERODROME_POOL_CREATED_TOPIC,
    expected: [
      // 1 WETH: fee 3e15; net 9.97e17; out = 9.97e17·250000e6 / 100.997e18 = 2_467_895_085.
      { fee: 3_000_000_000_000_000n, out: 2_467_895_085n },
      // 1000 USDC: fee 3_000_000; net 997_000_000; out = 997_000_000·100.997e18 / (247_532_104_915 + 997_000_000).
      { fee: 3_000_000n, out: 405_159_826_389_100_726n },
      // 1000 USDC stable: fee 500_000; net 999_500_000 → 999.5 DAI.
      { fee: 500_000n, out: 999_500_000_000_000_000_000n },
      // 500 DAI stable: fee 2.5e17; net 499.75e18 → 499_750_000 raw USDC.
      { fee: 250_000_000_000_000_000n, out: 499_750_000n },
    ],
  },
]

describe.each(CASES)('$generation on anvil: minimal pools emitting the real events', ({ generation, swapTopic, createdTopic, expected }) => {
  const family = generation === 'velodrome-v1' ? velodromeV1 : aerodrome
  const dex = { family: generation, name: generation } as const
  let anvil: AnvilInstance
  let client: PublicClient
  let d: SolidlyDeployment

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: CHAIN_ID })
    client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
    d = await deploySolidly({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID, generation })
  }, 60_000)

  afterAll(async () => {
    await anvil?.stop()
  })

  const readLogs = (fromBlock: bigint, toBlock: bigint, address: Address[]): Promise<RawLog[]> => fetchLogs(client, { fromBlock, toBlock, topics: watchedTopics(), address })

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

  const discovered = async (): Promise<PoolInfo[]> => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }), [d.factory])
    expect(logs.map((l) => l.topics[0])).toEqual([createdTopic, createdTopic])
    return discoverPools(logs, new Map([[d.factory, { dex, family }]]), CHAIN_ID)
  }

  it("decodes the factory's creation events with each pool's stable flag", async () => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }), [d.factory])
    // Velodrome v1: `stable` unindexed (3 topics, 3 data words); Aerodrome: indexed (4 topics, 2 words).
    expect(logs.map((l) => [l.topics.length, (l.data.length - 2) / 64])).toEqual(generation === 'velodrome-v1' ? [[3, 3], [3, 3]] : [[4, 2], [4, 2]])
    expect(await discovered()).toEqual(
      d.pools.map((p) => ({ chainId: CHAIN_ID, dex, address: p.address, token0: p.token0, token1: p.token1, fee: null, stable: p.stable, createdBlock: p.createdBlock })),
    )
    expect(d.pools.map((p) => p.stable)).toEqual([false, true])
  })

  it('decodes swaps to the balance changes to the wei, with Sync reserves, and prices only the volatile pool', async () => {
    const pools = new Map((await discovered()).map((p) => [p.address, p]))
    const [volatile, stable] = d.pools as [SolidlyDeployment['pools'][0], SolidlyDeployment['pools'][0]]
    const { weth, usdc, dai } = d.tokens
    const alice = anvilAccount(6)
    const a = alice.address.toLowerCase() as Address
    const bob = anvilAccount(7).address.toLowerCase() as Address
    await d.fund(a, weth.address, 2n * 10n ** 18n)
    await d.fund(a, usdc.address, 2_000n * 10n ** 6n)
    await d.fund(a, dai.address, 500n * 10n ** 18n)

    const trades = [
      { pool: volatile, tokenIn: weth.address, tokenOut: usdc.address, amountIn: 10n ** 18n, recipient: a },
      // Paid to bob: the Swap's `to` is the recipient, the trader is still tx.from.
      { pool: volatile, tokenIn: usdc.address, tokenOut: weth.address, amountIn: 1_000n * 10n ** 6n, recipient: bob },
      { pool: stable, tokenIn: usdc.address, tokenOut: dai.address, amountIn: 1_000n * 10n ** 6n, recipient: a },
      { pool: stable, tokenIn: dai.address, tokenOut: usdc.address, amountIn: 500n * 10n ** 18n, recipient: a },
    ]
    const receipts: TransactionReceipt[] = []
    for (const [i, t] of trades.entries()) {
      expect(await d.quote(t.pool, t.tokenIn, t.amountIn)).toBe(expected[i]!.out)
      receipts.push(await d.swap(alice, t.pool, t.tokenIn, t.amountIn, t.recipient))
    }

    const logs = poolLogs(await readLogs(receipts[0]!.blockNumber, receipts.at(-1)!.blockNumber, d.pools.map((p) => p.address)), pools)
    // Sync right before Swap, in every trade.
    expect(logs.map((l) => l.topics[0])).toEqual(trades.flatMap(() => [SOLIDLY_SYNC_TOPIC, swapTopic]))
    const r = decodeRange(logs, pools, await chainCtx(logs))
    expect(r.rejected).toEqual([])
    expect(r.swaps).toHaveLength(trades.length)

    for (const [i, t] of trades.entries()) {
      const s = r.swaps[i]!
      const rc = receipts[i]!
      const at = rc.blockNumber
      const [inBefore, inAfter, outBefore, outAfter, feesBefore, feesAfter, [r0, r1]] = await Promise.all([
        d.balanceOf(t.tokenIn, a, at - 1n),
        d.balanceOf(t.tokenIn, a, at),
        d.balanceOf(t.tokenOut, t.recipient, at - 1n),
        d.balanceOf(t.tokenOut, t.recipient, at),
        d.balanceOf(t.tokenIn, t.pool.fees, at - 1n),
        d.balanceOf(t.tokenIn, t.pool.fees, at),
        d.reserves(t.pool.address, at),
      ])
      expect(s).toMatchObject({
        chainId: CHAIN_ID,
        dex,
        pool: t.pool.address,
        blockNumber: at,
        blockHash: rc.blockHash,
        txHash: rc.transactionHash,
        trader: a,
        sender: a,
        recipient: t.recipient,
        tokenIn: t.tokenIn,
        tokenOut: t.tokenOut,
        amountIn: t.amountIn,
        amountOut: expected[i]!.out,
        decimalsIn: t.tokenIn === usdc.address ? 6 : 18,
        decimalsOut: t.tokenOut === usdc.address ? 6 : 18,
        // The reserves the Sync just before reported: the pool's after the swap, fee moved out.
        reserve0: r0,
        reserve1: r1,
      })
      // amountIn is the gross amount the trader paid, fee included; amountOut what the recipient got.
      expect(s.amountIn).toBe(inBefore - inAfter)
      expect(s.amountOut).toBe(outAfter - outBefore)
      expect(feesAfter - feesBefore).toBe(expected[i]!.fee)
    }

    // Prices: one per volatile Sync (trades 0 and 1), none for the stable pool; token0 priced in token1.
    expect(r.prices.map((p) => [p.pool, p.txHash])).toEqual([
      [volatile.address, receipts[0]!.transactionHash],
      [volatile.address, receipts[1]!.transactionHash],
    ])
    for (const [i, p] of r.prices.entries()) {
      const [r0, r1] = await d.reserves(volatile.address, receipts[i]!.blockNumber)
      const dec = (x: Address) => (x === usdc.address ? 6 : 18)
      expect(p).toMatchObject({ base: volatile.token0, quote: volatile.token1 })
      expect(p.price).toBe(priceFromReserves(r0, r1, dec(volatile.token0), dec(volatile.token1)))
    }
    // Selling 1 WETH moves it below 2500 USDC; buying back moves it up again.
    const wethPrice = (i: number) => (volatile.token0 === weth.address ? r.prices[i]!.price : 1 / r.prices[i]!.price)
    expect(wethPrice(0)).toBeLessThan(2500)
    expect(wethPrice(0)).toBeGreaterThan(2400)
    expect(wethPrice(1)).toBeGreaterThan(wethPrice(0))
  })
})
