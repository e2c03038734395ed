import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { PriceObservation } from '../../../src/domain/types.ts'
import { BatchError } from '../../../src/errors.ts'
import type { RoutedSwap, TradeBatch } from '../../../src/queue/batch.ts'
import { decodeBatch, encodeBatch } from '../../../src/queue/batch.ts'
import { commitEffects, computeBatch, emptyShardState, positionKey, type ShardState } from '../../../workers/risk/apply-batch.ts'
import { PriceCache, type ChainPricing } from '../../../workers/risk/price-cache.ts'

const USDC = '0x00000000000000000000000000000000000000c1' as Address
const WETH = '0x00000000000000000000000000000000000000e1' as Address
const UNI = '0x00000000000000000000000000000000000000a1' as Address
const POOL = '0x00000000000000000000000000000000000000f1' as Address
const pricing: ChainPricing = { stablecoins: new Set([USDC]), pivots: new Set([WETH]) }
const newCache = (): PriceCache => new PriceCache(pricing)
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

function swap(block: bigint, logIndex: number, account: string | null, tokenIn: Address, amountIn: bigint, tokenOut: Address, amountOut: bigint): RoutedSwap {
  const dec = (t: Address): number => (t === USDC ? 6 : 18)
  return {
    chainId: 1, dex: { family: 'uniswap-v2', name: 'uniswap-v2' }, pool: POOL, blockNumber: block, blockHash: hash(Number(block)),
    blockTime: 1_700_000_000 + Number(block), txHash: hash(Number(block) * 1000 + logIndex), logIndex, trader: '0x00000000000000000000000000000000000000b0',
    sender: POOL, recipient: POOL, tokenIn, tokenOut, amountIn, amountOut, decimalsIn: dec(tokenIn), decimalsOut: dec(tokenOut), account,
  }
}
function price(block: bigint, logIndex: number, base: Address, quote: Address, p: number): PriceObservation {
  return { chainId: 1, pool: POOL, blockNumber: block, blockTime: 1_700_000_000 + Number(block), txHash: hash(Number(block) * 1000 + logIndex), logIndex, base, quote, price: p, quoteDepth: 1e6 }
}
function batch(from: bigint, to: bigint, swaps: RoutedSwap[], prices: PriceObservation[] = []): TradeBatch {
  return { chainId: 1, shard: 0, fromBlock: from, toBlock: to, toBlockHash: hash(Number(to)), toBlockTime: 1_700_000_000 + Number(to), swaps, prices, transfers: [], readings: [], detachments: [] }
}
const fresh = (): ShardState => ({ ...emptyShardState(0), checkpoints: new Map([[1, 99n]]) })

function apply(state: ShardState, b: TradeBatch): void {
  const r = computeBatch(state, b, newCache)
  if (r.kind === 'apply') commitEffects(state, r.effects)
}

describe('computeBatch', () => {
  it('moves exact bigint quantities for the account of each swap', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, [swap(101n, 1, 'desk', USDC, 3_000_000_000n, WETH, 999_000_000_000_000_000n), swap(105n, 0, 'desk', WETH, 1n, UNI, 7n)]))
    const p = s.positions.get('desk')!
    expect(p.get(positionKey(1, USDC))!.quantity).toBe(-3_000_000_000n)
    expect(p.get(positionKey(1, WETH))!.quantity).toBe(999_000_000_000_000_000n - 1n)
    expect(p.get(positionKey(1, UNI))!.quantity).toBe(7n)
    expect(s.checkpoints.get(1)).toBe(110n)
  })

  it('skips a batch at or below the checkpoint', () => {
    const s = fresh()
    const b = batch(100n, 110n, [swap(101n, 1, 'desk', USDC, 5n, WETH, 1n)])
    apply(s, b)
    const r = computeBatch(s, b, newCache)
    expect(r).toEqual({ kind: 'skip', checkpoint: 110n })
    expect(s.positions.get('desk')!.get(positionKey(1, WETH))!.quantity).toBe(1n)
  })

  it('applies only the blocks above the checkpoint of an overlapping batch', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, [swap(101n, 1, 'desk', USDC, 5n, WETH, 1n)]))
    apply(s, batch(105n, 120n, [swap(107n, 1, 'desk', USDC, 5n, WETH, 1n), swap(115n, 0, 'desk', USDC, 5n, WETH, 2n)]))
    expect(s.positions.get('desk')!.get(positionKey(1, WETH))!.quantity).toBe(3n)
    expect(s.checkpoints.get(1)).toBe(120n)
  })

  it('refuses a batch that leaves a gap after the checkpoint, naming chain, shard and blocks', () => {
    const s = fresh()
    expect(() => computeBatch(s, batch(150n, 160n, []), newCache)).toThrow(BatchError)
    expect(() => computeBatch(s, batch(150n, 160n, []), newCache)).toThrow(/gap before batch: blocks 100-149 were never applied \(chain 1, block 150, shard 0\)/)
  })

  it('prices tokens through stablecoins and pivots in log order and values trades with them', () => {
    const s = fresh()
    // WETH = 3000 USDC (pool quotes USDC per WETH), then UNI = 0.004 WETH = 12 USD.
    apply(
      s,
      batch(100n, 110n, [swap(103n, 2, 'desk', WETH, 10n ** 18n, UNI, 250n * 10n ** 18n)], [price(101n, 0, WETH, USDC, 3000), price(102n, 0, UNI, WETH, 0.004)]),
    )
    const cache = s.priceCaches.get(1)!
    expect(cache.usd(WETH)).toBe(3000)
    expect(cache.usd(UNI)).toBe(0.004 * 3000)
    const uni = s.positions.get('desk')!.get(positionKey(1, UNI))!
    expect(uni.costUsd).toBe(250 * 12)
    const weth = s.positions.get('desk')!.get(positionKey(1, WETH))!
    // Selling WETH never held: a short opened at the trade's USD value.
    expect(weth.quantity).toBe(-(10n ** 18n))
    expect(weth.costUsd).toBe(-3000)
  })

  it('realizes PnL by average cost when a long is reduced', () => {
    const s = fresh()
    apply(s, batch(100n, 100n, [swap(100n, 1, 'desk', USDC, 3000n * 10n ** 6n, WETH, 10n ** 18n)], [price(100n, 0, WETH, USDC, 3000)]))
    apply(s, batch(101n, 101n, [swap(101n, 1, 'desk', WETH, 5n * 10n ** 17n, USDC, 1750n * 10n ** 6n)], [price(101n, 0, WETH, USDC, 3500)]))
    const weth = s.positions.get('desk')!.get(positionKey(1, WETH))!
    expect(weth.quantity).toBe(5n * 10n ** 17n)
    expect(weth.costUsd).toBe(1500)
    expect(weth.realizedPnlUsd).toBe(1750 - 1500)
  })

  it('stores swaps of wallets outside every account without moving any position', () => {
    const s = fresh()
    const r = computeBatch(s, batch(100n, 101n, [swap(100n, 1, null, USDC, 5n, WETH, 1n)]), newCache)
    expect(r.kind).toBe('apply')
    if (r.kind !== 'apply') return
    expect(r.effects.swaps).toHaveLength(1)
    expect(r.effects.swaps[0]).toMatchObject({ account: null, tokenIn: USDC, amountIn: 5n, tokenOut: WETH, amountOut: 1n })
    expect(r.effects.positions).toEqual([])
  })

  it('round-trips a batch through its JSON job encoding exactly', () => {
    const b = batch(100n, 110n, [{ ...swap(101n, 1, 'desk', USDC, 2n ** 200n + 1n, WETH, 3n), sqrtPriceX96: 2n ** 96n, liquidity: 5n }], [price(101n, 0, WETH, USDC, 3000)])
    expect(decodeBatch(JSON.parse(JSON.stringify(encodeBatch(b))))).toEqual(b)
  })

  it('writes a batch that detaches a wallet as version 4, which a worker of version 3 would refuse, and every other as version 3', () => {
    const plain = batch(100n, 110n, [], [price(101n, 0, WETH, USDC, 3000)])
    expect(encodeBatch(plain).v).toBe(3)
    const detaching = { ...plain, detachments: [{ wallet: POOL, account: 'desk' }] }
    const encoded = encodeBatch(detaching)
    expect(encoded.v).toBe(4)
    expect(decodeBatch(JSON.parse(JSON.stringify(encoded)))).toEqual(detaching)
    expect(() => decodeBatch({ ...encoded, v: 5 } as never)).toThrow('job data version 5 is not one this worker reads (2, 3, 4)')
  })

  it('lets a token priced through a pivot follow the pivot when only the pivot trades', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, [], [price(101n, 0, WETH, USDC, 3000), price(102n, 0, UNI, WETH, 0.004)]))
    expect(s.priceCaches.get(1)!.usd(UNI)).toBe(0.004 * 3000)
    apply(s, batch(111n, 111n, [], [price(111n, 0, WETH, USDC, 2000)]))
    expect(s.priceCaches.get(1)!.usd(UNI)).toBe(0.004 * 2000)
  })

  it('values a swap from its stablecoin side, not at the bought side\'s post-trade price', () => {
    const s = fresh()
    // Sells 1,000,000 USDC for 300 WETH in a thin pool whose price after the trade is 4,000.
    const r = computeBatch(s, batch(100n, 100n, [swap(100n, 1, 'desk', USDC, 1_000_000n * 10n ** 6n, WETH, 300n * 10n ** 18n)], [price(100n, 0, WETH, USDC, 4000)]), newCache)
    if (r.kind !== 'apply') throw new Error('expected apply')
    expect(r.effects.swaps[0]!.amountUsd).toBe(1_000_000)
    const weth = r.effects.positions.find((p) => p.token === WETH)!
    expect(weth.position.costUsd).toBe(1_000_000)
  })

  it('realizes nothing when a position is closed at no USD price, and flags it', () => {
    const s = fresh()
    const X = '0x00000000000000000000000000000000000000d1' as Address
    const Y = '0x00000000000000000000000000000000000000d2' as Address
    apply(s, batch(100n, 100n, [swap(100n, 1, 'desk', USDC, 1000n * 10n ** 6n, X, 1000n * 10n ** 18n)]))
    apply(s, batch(101n, 101n, [swap(101n, 1, 'desk', X, 1000n * 10n ** 18n, Y, 5n)]))
    const x = s.positions.get('desk')!.get(positionKey(1, X))!
    expect(x.quantity).toBe(0n)
    expect(x.realizedPnlUsd).toBe(0)
    expect(x.costUsd).toBe(0)
    expect(x.unpricedCost).toBe(true)
  })

  it('records the checkpoint it was computed against, for the fenced write', () => {
    const s = fresh()
    const r = computeBatch(s, batch(100n, 110n, []), newCache)
    expect(r.kind === 'apply' && r.effects.previousCheckpoint).toBe(99n)
  })
})

