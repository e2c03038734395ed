import type { Address } from 'viem'
import type { PriceObservation } from '../../src/domain/types.ts'
import { toUnits } from '../../src/domain/price-math.ts'
import { BatchError, BatchGapError } from '../../src/errors.ts'
import type { RoutedSwap, TradeBatch } from '../../src/queue/batch.ts'
import { applyDelta, emptyPosition, type Position } from './position.ts'
import type { PriceCache } from './price-cache.ts'

/** In-memory state of one shard: the truth for current positions (design.md decision 4). */
export type ShardState = {
  shard: number
  /** account → `${chainId}:${token}` → position */
  positions: Map<string, Map<string, Position>>
  /** chainId → last applied block */
  checkpoints: Map<number, bigint>
  /** chainId → price cache */
  priceCaches: Map<number, PriceCache>
}

export type PositionChange = { account: string; chainId: number; token: Address; position: Position; priceUsd: number | null; blockTime: number }

/** What one batch changes; written to the database in one transaction, then applied to memory. */
export type BatchEffects = {
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: string | null
  /** The checkpoint these effects were computed against (null: none yet); the write is fenced on it. */
  previousCheckpoint: bigint | null
  swaps: (RoutedSwap & { amountUsd: number | null })[]
  prices: PriceObservation[]
  positions: PositionChange[]
  priceCache: PriceCache
}

export type ApplyResult = { kind: 'skip'; checkpoint: bigint } | { kind: 'apply'; effects: BatchEffects }

export const positionKey = (chainId: number, token: Address): string => `${chainId}:${token}`

/**
 * Computes the effects of a batch on a shard without changing the state (pure). A batch at or
 * below the checkpoint is skipped; a batch overlapping it applies only blocks above it; a batch
 * that leaves a gap after it is refused (a lost batch must never pass unnoticed).
 */
export function computeBatch(state: ShardState, batch: TradeBatch, newCache: (chainId: number) => PriceCache): ApplyResult {
  const cp = state.checkpoints.get(batch.chainId)
  if (cp !== undefined && batch.toBlock <= cp) return { kind: 'skip', checkpoint: cp }
  if (cp !== undefined && batch.fromBlock > cp + 1n)
    throw new BatchGapError(`gap before batch: blocks ${cp + 1n}-${batch.fromBlock - 1n} were never applied`, {
      context: { chainId: batch.chainId, shard: state.shard, block: batch.fromBlock },
      details: `checkpoint is ${cp}; batch covers ${batch.fromBlock}-${batch.toBlock}`,
    })
  if (batch.shard !== state.shard)
    throw new BatchError(`batch for shard ${batch.shard} reached shard ${state.shard}`, {
      context: { chainId: batch.chainId, shard: state.shard, block: batch.fromBlock },
    })
  const after = cp ?? -1n
  const swaps = batch.swaps.filter((s) => s.blockNumber > after)
  const prices = batch.prices.filter((p) => p.blockNumber > after)
  const cache = (state.priceCaches.get(batch.chainId) ?? newCache(batch.chainId)).clone()

  const staged = new Map<string, PositionChange>()
  const current = (account: string, token: Address): Position => {
    const key = `${account}|${token}`
    return staged.get(key)?.position ?? state.positions.get(account)?.get(positionKey(batch.chainId, token)) ?? emptyPosition()
  }
  const stage = (account: string, token: Address, position: Position, blockTime: number): void => {
    staged.set(`${account}|${token}`, { account, chainId: batch.chainId, token, position, priceUsd: null, blockTime })
  }

  const outSwaps: BatchEffects['swaps'] = []
  let pi = 0
  for (const swap of swaps) {
    // Prices up to and including this swap's log apply first: one ordered stream per chain.
    while (pi < prices.length && before(prices[pi]!, swap)) cache.observe(prices[pi++]!)
    const amountUsd = swapUsd(swap, cache)
    outSwaps.push({ ...swap, amountUsd })
    if (swap.account === null) continue
    const valueIn = amountUsd
    stage(swap.account, swap.tokenIn, applyDelta(current(swap.account, swap.tokenIn), -swap.amountIn, valueIn, swap.blockNumber), swap.blockTime)
    stage(swap.account, swap.tokenOut, applyDelta(current(swap.account, swap.tokenOut), swap.amountOut, amountUsd, swap.blockNumber), swap.blockTime)
  }
  while (pi < prices.length) cache.observe(prices[pi++]!)

  const positions = [...staged.values()].map((c) => ({ ...c, priceUsd: cache.usd(c.token) }))
  return {
    kind: 'apply',
    effects: {
      chainId: batch.chainId,
      fromBlock: batch.fromBlock,
      toBlock: batch.toBlock,
      toBlockHash: batch.toBlockHash,
      previousCheckpoint: cp ?? null,
      swaps: outSwaps,
      prices,
      positions,
      priceCache: cache,
    },
  }
}

/** Applies committed effects to the in-memory state. */
export function commitEffects(state: ShardState, e: BatchEffects): void {
  for (const c of e.positions) {
    let m = state.positions.get(c.account)
    if (!m) state.positions.set(c.account, (m = new Map()))
    m.set(positionKey(c.chainId, c.token), c.position)
  }
  state.checkpoints.set(e.chainId, e.toBlock)
  state.priceCaches.set(e.chainId, e.priceCache)
}

function before(p: PriceObservation, s: RoutedSwap): boolean {
  return p.blockNumber < s.blockNumber || (p.blockNumber === s.blockNumber && p.logIndex <= s.logIndex)
}

/**
 * USD value of a swap (Dune's amount_usd), from its most trustworthy side: a stablecoin side (its
 * amount is the value, whatever the pool's marginal price after the trade), then a pivot side, then
 * the bought side, then the sold side.
 */
function swapUsd(s: RoutedSwap, cache: PriceCache): number | null {
  const sides = [
    { token: s.tokenOut, amount: s.amountOut, decimals: s.decimalsOut },
    { token: s.tokenIn, amount: s.amountIn, decimals: s.decimalsIn },
  ].sort((a, b) => cache.rank(a.token) - cache.rank(b.token))
  for (const side of sides) {
    const p = cache.usd(side.token)
    if (p !== null && side.decimals !== null) return toUnits(side.amount, side.decimals) * p
  }
  return null
}
