import type { Address, Hex } from 'viem'
import type { RawLog } from '../domain/log.ts'
import type { DexRef, NormalizedSwap, PoolInfo, PriceObservation } from '../domain/types.ts'
import { DecodeError } from '../errors.ts'
import type { DecodeContext, Family } from './family.ts'
import { families } from './families.ts'
import { logDecodeError } from './log-decode-error.ts'

/** A configured factory: which DEX its pools belong to. */
export type FactoryRef = { dex: DexRef; family: Family }

/** All topic0s an indexer asks eth_getLogs for: every family's pool-registration and pool events. */
export function watchedTopics(): Hex[] {
  const topics = new Set<Hex>()
  for (const f of Object.values(families)) {
    if (f.poolCreatedTopic !== null) topics.add(f.poolCreatedTopic)
    for (const t of f.poolTopics) topics.add(t)
  }
  return [...topics]
}

/** Pools created (or registered with a singleton), in this range, by configured factories (pure). */
export function discoverPools(logs: readonly RawLog[], factories: ReadonlyMap<Address, FactoryRef>, chainId: number): PoolInfo[] {
  const pools: PoolInfo[] = []
  for (const log of logs) {
    const factory = factories.get(log.address)
    if (!factory || log.topics[0] !== factory.family.poolCreatedTopic) continue
    const pool = factory.family.decodePoolCreated(log, factory.dex, chainId)
    if (pool) pools.push(pool)
  }
  return pools
}

/**
 * The registry key of the pool a log belongs to: its emitter, or for a log of a configured
 * singleton (V4 PoolManager, Balancer Vault) the pool id in topics[1], lowercased.
 */
export function poolKeyOf(log: RawLog, singletons: ReadonlySet<Address>): Address | undefined {
  if (!singletons.has(log.address)) return log.address
  return log.topics[1]?.toLowerCase() as Address | undefined
}

/**
 * Logs emitted by known pools with one of their family's topics: the logs that need decoding. A
 * singleton's log counts only for a pool registered with that same singleton.
 */
export function poolLogs(logs: readonly RawLog[], pools: ReadonlyMap<Address, PoolInfo>, singletons: ReadonlySet<Address> = NO_SINGLETONS): RawLog[] {
  return logs.filter((log) => {
    const key = poolKeyOf(log, singletons)
    const pool = key === undefined ? undefined : pools.get(key)
    const t = log.topics[0]
    return pool !== undefined && (pool.singleton ?? pool.address) === log.address && t !== undefined && families[pool.dex.family].poolTopics.includes(t)
  })
}

const NO_SINGLETONS: ReadonlySet<Address> = new Set()

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
export function decodeRange(
  logs: readonly RawLog[],
  pools: ReadonlyMap<Address, PoolInfo>,
  ctx: DecodeContext,
  singletons: ReadonlySet<Address> = NO_SINGLETONS,
): DecodedRange {
  const swaps: NormalizedSwap[] = []
  const prices: PriceObservation[] = []
  const rejected: DecodedRange['rejected'] = []
  const state = new Map<string, unknown>()
  for (const log of logs) {
    const key = poolKeyOf(log, singletons)
    const pool = key === undefined ? undefined : pools.get(key)
    if (!pool) continue
    try {
      const r = families[pool.dex.family].decodePoolLog(log, pool, ctx, state)
      if (r.price) prices.push(r.price)
      if (r.swap) swaps.push(r.swap)
      if (r.reject !== undefined) rejected.push({ log, error: named(logDecodeError(r.reject, log, ctx.chainId), key, log) })
    } catch (err) {
      if (err instanceof DecodeError) rejected.push({ log, error: named(err, key, log) })
      else throw err
    }
  }
  return { swaps, prices, rejected }
}

/** A singleton's log: its error names the pool by id, and the singleton that emitted it. */
function named(err: DecodeError, key: Address | undefined, log: RawLog): DecodeError {
  if (key === undefined || key === log.address) return err
  return new DecodeError(err.shortMessage, { context: { ...err.context, pool: `${key} of ${log.address}` }, details: err.details })
}

export function compareLogs(a: RawLog, b: RawLog): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1
  return a.logIndex - b.logIndex
}
