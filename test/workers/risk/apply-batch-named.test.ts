import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { NATIVE_TOKEN, type PriceObservation } from '../../../src/domain/types.ts'
import type { RoutedDetachment, RoutedReading, RoutedSwap, RoutedTransfer, TradeBatch } from '../../../src/queue/batch.ts'
import { commitEffects, computeBatch, emptyShardState, positionKey, walletBalanceKey, type BatchOptions, type ShardState } from '../../../workers/risk/apply-batch.ts'
import { PriceCache, type ChainPricing } from '../../../workers/risk/price-cache.ts'

const USDC = '0x00000000000000000000000000000000000000c1' as Address
const WETH = '0x00000000000000000000000000000000000000e1' as Address
const POOL = '0x00000000000000000000000000000000000000f1' as Address
const A1 = '0x00000000000000000000000000000000000000a1' as Address
const A2 = '0x00000000000000000000000000000000000000a2' as Address
const OUT = '0x00000000000000000000000000000000000000ff' as Address
const UNI = '0x00000000000000000000000000000000000000b1' as Address
const ETH = 10n ** 18n
const T0 = 1_700_000_000
const pricing: ChainPricing = { stablecoins: new Set([USDC]), pivots: new Set([WETH]) }
const newCache = (): PriceCache => new PriceCache(pricing)
const named: BatchOptions = { mode: 'named', wrappedNative: () => WETH }
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

function wethPrice(block: bigint, logIndex: number, usd: number): PriceObservation {
  // A USDC/WETH pool: base WETH, quote USDC, 10M USDC deep.
  return { chainId: 1, pool: POOL, blockNumber: block, blockTime: T0 + Number(block), txHash: hash(Number(block) * 1000 + logIndex), logIndex, base: WETH, quote: USDC, price: usd, quoteDepth: 1e7 }
}
function transfer(block: bigint, logIndex: number, wallet: Address, counterparty: Address, token: Address, delta: bigint): RoutedTransfer {
  return { chainId: 1, blockNumber: block, blockTime: T0 + Number(block), txHash: hash(Number(block) * 1000 + logIndex), logIndex, token, wallet, counterparty, kind: 'transfer', delta, decimals: 18, account: 'desk' }
}
function reading(wallet: Address, token: Address, from: bigint, to: bigint, before: bigint | null, after: bigint): RoutedReading {
  return { chainId: 1, wallet, token, beforeBlock: from - 1n, before, afterBlock: to, after, decimals: 18, account: 'desk' }
}
function batch(from: bigint, to: bigint, parts: { prices?: PriceObservation[]; transfers?: RoutedTransfer[]; readings?: RoutedReading[]; swaps?: RoutedSwap[]; detachments?: RoutedDetachment[] }): TradeBatch {
  return {
    chainId: 1, shard: 0, fromBlock: from, toBlock: to, toBlockHash: hash(Number(to)), toBlockTime: T0 + Number(to),
    swaps: parts.swaps ?? [], prices: parts.prices ?? [], transfers: parts.transfers ?? [], readings: parts.readings ?? [], detachments: parts.detachments ?? [],
  }
}
const fresh = (): ShardState => ({ ...emptyShardState(0), checkpoints: new Map([[1, 99n]]) })
function apply(state: ShardState, b: TradeBatch) {
  const r = computeBatch(state, b, newCache, named)
  if (r.kind !== 'apply') throw new Error('expected the batch to apply')
  commitEffects(state, r.effects)
  return r.effects
}
const position = (s: ShardState, token: Address) => s.positions.get('desk')?.get(positionKey(1, token))

describe('computeBatch with named accounts (positions are wallet balances)', () => {
  it('opens a balance seen before any price at the first price the batch gives it, not at zero cost', () => {
    const s = fresh()
    const e = apply(s, batch(100n, 110n, { prices: [wethPrice(105n, 0, 2000)], readings: [reading(A1, WETH, 100n, 110n, 3n * ETH, 3n * ETH)] }))
    expect(position(s, WETH)).toEqual({ quantity: 3n * ETH, costUsd: 6000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 99n })
    expect(e.unexplained).toEqual([{ account: 'desk', token: WETH, wallet: A1, delta: 3n * ETH, at: 'before', block: 99n, opening: true }])
  })

  it('books the cost of a holding that came in unpriced at the first price its token gets', () => {
    const s = fresh()
    const decimals = (_c: number, t: Address): number | undefined => (t === UNI ? 18 : undefined)
    const apply2 = (b: TradeBatch) => {
      const r = computeBatch(s, b, newCache, { ...named, decimalsOf: decimals })
      if (r.kind !== 'apply') throw new Error('expected the batch to apply')
      commitEffects(s, r.effects)
    }
    apply2(batch(100n, 110n, { readings: [reading(A1, UNI, 100n, 110n, 4n * ETH, 4n * ETH)] }))
    expect(position(s, UNI)).toEqual({ quantity: 4n * ETH, costUsd: 0, realizedPnlUsd: 0, unpricedCost: true, updatedBlock: 99n })
    const uniPrice: PriceObservation = { ...wethPrice(113n, 0, 0), base: UNI, price: 7.5 }
    apply2(batch(111n, 120n, { prices: [uniPrice] }))
    expect(position(s, UNI)).toEqual({ quantity: 4n * ETH, costUsd: 30, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 99n })
  })

  it('moves a logged transfer out at its block and price, realizing against the average cost', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, WETH, 100n, 110n, 3n * ETH, 3n * ETH)] }))
    const e = apply(
      s,
      batch(111n, 120n, {
        prices: [wethPrice(112n, 0, 2500)],
        transfers: [transfer(115n, 3, A1, OUT, WETH, -ETH)],
        readings: [reading(A1, WETH, 111n, 120n, null, 2n * ETH)],
      }),
    )
    expect(position(s, WETH)).toEqual({ quantity: 2n * ETH, costUsd: 4000, realizedPnlUsd: 500, unpricedCost: false, updatedBlock: 115n })
    expect(e.transfers.map((t) => t.amountUsd)).toEqual([2500])
    expect(e.unexplained).toEqual([])
    expect(s.walletBalances.get(walletBalanceKey(1, A1, WETH))!.balance).toBe(2n * ETH)
  })

  it('books ether that moved without a log at the range end, priced as the wrapped native token', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, NATIVE_TOKEN, 100n, 110n, 10n * ETH, 10n * ETH)] }))
    const e = apply(s, batch(111n, 120n, { readings: [reading(A1, NATIVE_TOKEN, 111n, 120n, null, 7n * ETH - 123n)] }))
    expect(position(s, NATIVE_TOKEN)!.quantity).toBe(7n * ETH - 123n)
    expect(e.unexplained).toEqual([{ account: 'desk', token: NATIVE_TOKEN, wallet: A1, delta: -3n * ETH - 123n, at: 'after', block: 120n, opening: false }])
    expect(e.positions[0]!.priceUsd).toBe(2000)
  })

  it('nets a transfer between two wallets of one account to no change of its position', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, WETH, 100n, 110n, 5n * ETH, 5n * ETH), reading(A2, WETH, 100n, 110n, 0n, 0n)] }))
    // The price moved since: a move between own wallets still realizes nothing and keeps the cost.
    apply(
      s,
      batch(111n, 120n, {
        prices: [wethPrice(111n, 0, 3000)],
        transfers: [transfer(112n, 0, A1, A2, WETH, -2n * ETH), transfer(112n, 0, A2, A1, WETH, 2n * ETH)],
        readings: [reading(A1, WETH, 111n, 120n, null, 3n * ETH), reading(A2, WETH, 111n, 120n, null, 2n * ETH)],
      }),
    )
    expect(position(s, WETH)).toEqual({ quantity: 5n * ETH, costUsd: 10_000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 99n })
    expect(s.walletBalances.get(walletBalanceKey(1, A2, WETH))!.balance).toBe(2n * ETH)
  })

  it('nets ether moved between two wallets of one account (no log) to no change of its position', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, NATIVE_TOKEN, 100n, 110n, 5n * ETH, 5n * ETH), reading(A2, NATIVE_TOKEN, 100n, 110n, ETH, ETH)] }))
    apply(s, batch(111n, 120n, { prices: [wethPrice(111n, 0, 3000)], readings: [reading(A1, NATIVE_TOKEN, 111n, 120n, null, 4n * ETH), reading(A2, NATIVE_TOKEN, 111n, 120n, null, 2n * ETH)] }))
    expect(position(s, NATIVE_TOKEN)).toEqual({ quantity: 6n * ETH, costUsd: 12_000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 99n })
    expect(s.walletBalances.get(walletBalanceKey(1, A1, NATIVE_TOKEN))!.balance).toBe(4n * ETH)
  })

  it('corrects a balance that changed between ranges without a log, from the reading before the range', () => {
    const s = fresh()
    apply(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, WETH, 100n, 110n, 5n * ETH, 5n * ETH)] }))
    const e = apply(s, batch(111n, 120n, { readings: [reading(A1, WETH, 111n, 120n, 6n * ETH, 6n * ETH)] }))
    expect(e.unexplained).toEqual([{ account: 'desk', token: WETH, wallet: A1, delta: ETH, at: 'before', block: 110n, opening: false }])
    expect(position(s, WETH)!.quantity).toBe(6n * ETH)
  })

  it('records swaps as trades without moving positions (the balances already do)', () => {
    const s = fresh()
    const sw: RoutedSwap = {
      chainId: 1, dex: { family: 'uniswap-v2', name: 'uniswap-v2' }, pool: POOL, blockNumber: 105n, blockHash: hash(105), blockTime: T0 + 105,
      txHash: hash(105_000), logIndex: 1, trader: A1, sender: POOL, recipient: A1, tokenIn: USDC, tokenOut: WETH, amountIn: 2_000_000_000n,
      amountOut: ETH, decimalsIn: 6, decimalsOut: 18, account: 'desk',
    }
    const e = apply(s, batch(100n, 110n, { swaps: [sw] }))
    expect(e.swaps.map((x) => x.amountUsd)).toEqual([2000])
    expect(s.positions.get('desk')).toBeUndefined()
  })

  describe('a wallet taken out of its account', () => {
    const withDecimals: BatchOptions = { ...named, decimalsOf: (_c, t) => (t === WETH ? 18 : undefined) }
    const applyD = (s: ShardState, b: TradeBatch) => {
      const r = computeBatch(s, b, newCache, withDecimals)
      if (r.kind !== 'apply') throw new Error('expected the batch to apply')
      commitEffects(s, r.effects)
      return r.effects
    }
    const opened = (): ShardState => {
      const s = fresh()
      applyD(s, batch(100n, 110n, { prices: [wethPrice(100n, 0, 2000)], readings: [reading(A1, WETH, 100n, 110n, 3n * ETH, 3n * ETH), reading(A2, WETH, 100n, 110n, ETH, ETH)] }))
      applyD(s, batch(111n, 115n, { prices: [wethPrice(112n, 0, 2500)], readings: [reading(A1, WETH, 111n, 115n, null, 3n * ETH), reading(A2, WETH, 111n, 115n, null, ETH)] }))
      return s
    }

    it('stops counting from the batch that detaches it, leaving as a transfer out would, and is forgotten', () => {
      const s = opened()
      expect(position(s, WETH)).toEqual({ quantity: 4n * ETH, costUsd: 8000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 99n })
      const e = applyD(s, batch(116n, 120n, { prices: [wethPrice(118n, 0, 3000)], detachments: [{ wallet: A1, account: 'desk' }], readings: [reading(A2, WETH, 116n, 120n, null, ETH)] }))
      // 3 WETH leave at the start of block 116, at the price then (2,500; the batch's 3,000 comes
      // later): 3 × (2,500 − 2,000) realized, a quarter of the cost left.
      expect(position(s, WETH)).toEqual({ quantity: ETH, costUsd: 2000, realizedPnlUsd: 1500, unpricedCost: false, updatedBlock: 116n })
      expect(e.detached).toEqual([{ wallet: A1, account: 'desk', block: 116n, tokens: [WETH] }])
      expect(e.walletBalancesGone).toEqual([{ wallet: A1, token: WETH, account: 'desk' }])
      expect(s.walletBalances.has(walletBalanceKey(1, A1, WETH))).toBe(false)
      expect(s.walletTokens.has(`1:${A1}`)).toBe(false)
      expect(s.walletBalances.get(walletBalanceKey(1, A2, WETH))!.balance).toBe(ETH)
    })

    it('a wallet moved to another account of the shard leaves one and opens in the other in the same batch', () => {
      const s = opened()
      const moved: RoutedReading = { ...reading(A1, WETH, 116n, 120n, 3n * ETH, 3n * ETH), account: 'other' }
      const e = applyD(s, batch(116n, 120n, { prices: [wethPrice(118n, 0, 3000)], detachments: [{ wallet: A1, account: 'desk' }], readings: [moved] }))
      expect(position(s, WETH)).toEqual({ quantity: ETH, costUsd: 2000, realizedPnlUsd: 1500, unpricedCost: false, updatedBlock: 116n })
      // The other account opens it at the same price the first one let it go at.
      expect(s.positions.get('other')!.get(positionKey(1, WETH))).toEqual({ quantity: 3n * ETH, costUsd: 7500, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 115n })
      expect(s.walletBalances.get(walletBalanceKey(1, A1, WETH))).toMatchObject({ account: 'other', balance: 3n * ETH })
      // The old account's row goes; the new account's is written (rows are keyed by account too).
      expect(e.walletBalancesGone).toEqual([{ wallet: A1, token: WETH, account: 'desk' }])
      expect(e.walletBalances).toEqual([{ chainId: 1, wallet: A1, token: WETH, account: 'other', balance: 3n * ETH, block: 115n }])
      expect(e.unexplained).toEqual([{ account: 'other', token: WETH, wallet: A1, delta: 3n * ETH, at: 'before', block: 115n, opening: true }])
    })

    it('detaching a wallet the shard does not count for that account changes nothing', () => {
      const s = opened()
      const e = applyD(s, batch(116n, 120n, { detachments: [{ wallet: A1, account: 'someone-else' }, { wallet: OUT, account: 'desk' }] }))
      expect(e.positions).toEqual([])
      expect(e.walletBalancesGone).toEqual([])
      expect(e.detached).toEqual([
        { wallet: A1, account: 'someone-else', block: 116n, tokens: [] },
        { wallet: OUT, account: 'desk', block: 116n, tokens: [] },
      ])
      expect(position(s, WETH)!.quantity).toBe(4n * ETH)
    })
  })
})
