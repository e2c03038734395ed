import type pg from 'pg'
import type { Address, PublicClient } from 'viem'
import type { ChainConfig, DexConfig } from '../config/schema.ts'
import type { DexRef } from '../domain/types.ts'
import { discoverPools, type FactoryRef } from './decode-range.ts'
import { families } from './families.ts'
import { fetchLogs } from './fetch-logs.ts'
import type { PoolRegistry } from './pool-registry.ts'
import type { RetryOptions } from '../retry.ts'

export type ChainDexes = {
  /** Configured factories and singletons by address. */
  factories: Map<Address, FactoryRef>
  /** Singletons (V4 PoolManager, Balancer Vault): their pool events carry the pool id as topics[1]. */
  singletons: Set<Address>
}

function dexRef(d: DexConfig): DexRef {
  return { family: d.family, name: d.name ?? d.family }
}

/** The configured DEXes of a chain, as the decode path needs them. */
export function chainDexes(chain: Pick<ChainConfig, 'dexes'>): ChainDexes {
  const factories = new Map<Address, FactoryRef>(
    chain.dexes.flatMap((d) => (d.factory ? [[d.factory, { dex: dexRef(d), family: families[d.family] }] as const] : [])),
  )
  const singletons = new Set<Address>([...factories].filter(([, f]) => f.family.discovery === 'singleton').map(([a]) => a))
  return { factories, singletons }
}

/**
 * Pools created up to `upTo`: each factory (and singleton) is scanned for its pool-registration
 * events from its start block, once and resumably (`factory_scans` keeps how far each got), and
 * the pools the config lists are described from the chain (their coins, at the latest block:
 * coins do not change). Shared by the live indexer (up to its resume point) and the backfill (up
 * to the block before its range).
 */
export async function discoverKnownPools(opts: {
  pool: pg.Pool
  client: PublicClient
  chain: Pick<ChainConfig, 'id' | 'dexes' | 'maxBlockRange'>
  registry: PoolRegistry
  dexes: ChainDexes
  upTo: bigint
  /** Blocks per eth_getLogs of a factory scan (default: the chain's maxBlockRange). */
  step?: number
  /** Retries of each eth_getLogs request (see fetchLogs). */
  retry?: RetryOptions
  onSplit?: (from: bigint, to: bigint, err: unknown) => void
  /** Stops a scan between two of its requests (a signal during start-up); what was scanned is kept. */
  signal?: AbortSignal
}): Promise<void> {
  const { pool, client, chain, registry, upTo, onSplit } = opts
  for (const dex of chain.dexes) {
    const family = families[dex.family]
    if (dex.factory && family.poolCreatedTopic !== null) {
      const r = await pool.query<{ scanned_to: string }>('SELECT scanned_to FROM factory_scans WHERE chain_id = $1 AND factory = $2', [chain.id, dex.factory])
      let from = r.rows[0] ? BigInt(r.rows[0].scanned_to) + 1n : dex.startBlock
      while (from <= upTo) {
        if (opts.signal?.aborted) throw new Error('factory scan stopped: the indexer is closing')
        const step = BigInt(opts.step ?? chain.maxBlockRange)
        const to = upTo < from + step - 1n ? upTo : from + step - 1n
        const logs = await fetchLogs(client, { fromBlock: from, toBlock: to, topics: [family.poolCreatedTopic], address: [dex.factory], onSplit, retry: opts.retry })
        await registry.add(discoverPools(logs, opts.dexes.factories, chain.id))
        await pool.query(
          `INSERT INTO factory_scans (chain_id, factory, scanned_to) VALUES ($1, $2, $3)
           ON CONFLICT (chain_id, factory) DO UPDATE SET scanned_to = GREATEST(factory_scans.scanned_to, EXCLUDED.scanned_to)`,
          [chain.id, dex.factory, to.toString()],
        )
        from = to + 1n
      }
    }
    if (dex.pools && family.describePool) {
      const fresh = dex.pools.filter((p) => !registry.pools.has(p.address))
      if (fresh.length === 0) continue
      const head = await client.getBlockNumber()
      const described = await Promise.all(fresh.map((p) => family.describePool!(client, p, dexRef(dex), chain.id, head)))
      await registry.add(described.map((p) => ({ ...p, createdBlock: dex.startBlock })))
    }
  }
}
