import type { RedisClient } from '../db/redis.ts'

/** What one chain's indexer is doing, as the process that runs it last said. */
export type ChainStatus = {
  chain: string
  chainId: number
  /**
   * starting: reaching the chain (its RPC, the pools known before the resume point); following:
   * publishing ranges; stopped: an error a retry cannot cure (`error` says what to fix); done: an
   * `untilBlock` run that reached its block.
   */
  state: 'starting' | 'following' | 'stopped' | 'done'
  /** The failure being retried (starting or following), or why it stopped. */
  error?: string
  /** Last block published. */
  block?: string
  /** When the process last wrote this (ISO time): a status older than STATUS_STALE_MS is nobody's. */
  at: string
}

/** Every process writes its chains' statuses this often, so a reader can tell a live one from a dead process's. */
export const STATUS_EVERY_MS = 5_000
/** A status not rewritten for this long belongs to a process that is gone. */
export const STATUS_STALE_MS = 30_000

/** One hash per deployment, a field per chain name (one slot, also in a Redis Cluster). */
export const chainStatusKey = (prefix: string): string => `${prefix}:chain-status`

export async function writeChainStatus(redis: RedisClient, prefix: string, s: ChainStatus): Promise<void> {
  await redis.hset(chainStatusKey(prefix), s.chain, JSON.stringify(s))
}

/** The statuses written, by chain name; one not rewritten within STATUS_STALE_MS is marked `silent`. */
export async function readChainStatuses(redis: RedisClient, prefix: string, now = Date.now()): Promise<Map<string, ChainStatus & { silent: boolean }>> {
  const raw = await redis.hgetall(chainStatusKey(prefix))
  const out = new Map<string, ChainStatus & { silent: boolean }>()
  for (const [chain, json] of Object.entries(raw)) {
    try {
      const s = JSON.parse(json) as ChainStatus
      out.set(chain, { ...s, silent: now - Date.parse(s.at) > STATUS_STALE_MS })
    } catch {
      // A field not written by this code: ignored.
    }
  }
  return out
}
