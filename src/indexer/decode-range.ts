import type { Address, Hex } from 'viem'
import type { RawLog } from '../domain/log.ts'
import type { DexRef, NormalizedSwap, PoolInfo, PriceObservation } from '../domain/types.ts'
import { DecodeError } from '../errors.ts'
import type { DecodeContext, Family } from './family.ts'
import { families } from './families.ts'

/** A configured factory: which DEX its pools belong to. */
export type FactoryRef = { dex: DexRef; family: Family }

/** All topic0s an indexer asks eth_getLogs for: every family's pool-creation and pool events. */
export function watchedTopics(): Hex[] {
  const topics = new Set<Hex>()
  for (const f of Object.values(families)) {
    topics.add(f.poolCreatedTopic)
    for (const t of f.poolTopics) topics.add(t)
  }
  return [...topics]
}

/** Pools created, in this range, by configured factories (pure). */
export function discoverPools(logs: readonly RawLog[], factories: ReadonlyMap<Address, FactoryRef>, chainId: number): PoolInfo[] {
  const pools: PoolInfo[] = []
  for (const log of logs) {
    const factory = factories.get(log.address)
    if (factory && log.topics[0] === factory.family.poolCreatedTopic)
      pools.push(factory.family.decodePoolCreated(log, factory.dex, chainId))
  }
  return pools
}

/** Logs emitted by known pools with one of their family's topics: the logs that need decoding. */
export function poolLogs(logs: readonly RawLog[], pools: ReadonlyMap<Address, PoolInfo>): RawLog[] {
  return logs.filter((log) => {
    const pool = pools.get(log.address)
    const t = log.topics[0]
    return pool !== undefined && t !== undefined && families[pool.dex.family].poolTopics.includes(t)
  })
}

export type DecodedRange = {
  swaps: NormalizedSwap[]
  prices: PriceObservation[]
  /** Logs of known pools that could not be decoded: kept with the reason, never dropped silently. */
  rejected: { log: RawLog; error: DecodeError }[]
}

/**
 * Decodes the pool logs of one block range (pure): swaps and price observations in
 * (block, log index) order. `logs` must be sorted by (blockNumber, logIndex).
 */
export function decodeRange(logs: readonly RawLog[], pools: ReadonlyMap<Address, PoolInfo>, ctx: DecodeContext): DecodedRange {
  const swaps: NormalizedSwap[] = []
  const prices: PriceObservation[] = []
  const rejected: DecodedRange['rejected'] = []
  const state = new Map<string, unknown>()
  for (const log of logs) {
    const pool = pools.get(log.address)
    if (!pool) continue
    try {
      const r = families[pool.dex.family].decodePoolLog(log, pool, ctx, state)
      if (r.price) prices.push(r.price)
      if (r.swap) swaps.push(r.swap)
    } catch (err) {
      if (err instanceof DecodeError) rejected.push({ log, error: err })
      else throw err
    }
  }
  return { swaps, prices, rejected }
}

export function compareLogs(a: RawLog, b: RawLog): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1
  return a.logIndex - b.logIndex
}
