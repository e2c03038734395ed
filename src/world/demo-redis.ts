import { Redis } from 'ioredis'
import { ConfigError } from '../errors.ts'
import { connectRedis, redact, startRedisServer } from '../db/redis.ts'
import type { DbLogger } from '../db/pool.ts'

export type DemoRedis = {
  url: string
  /** Where it is, for the demo's output. */
  where: string
  /** Stops the demo's own redis-server, or deletes every key under the prefix from a shared Redis. Idempotent. */
  close(): Promise<void>
}

/**
 * The Redis a demo runs on, so that it leaves nothing in anyone's Redis:
 * - `url` given (`--redis-url`): that Redis, every key under `prefix` deleted at close;
 * - else a redis-server child process of its own on a free port, without persistence, stopped at
 *   close (REDIS_URL is not read: a demo is not a deployment);
 * - else, with no redis-server to start, the Redis on 127.0.0.1:6379, its keys deleted at close.
 */
export async function startDemoRedis(opts: { url?: string; prefix: string; log?: DbLogger }): Promise<DemoRedis> {
  if (opts.url) return shared(opts.url, opts.prefix, `${redact(opts.url)} (keys under ${opts.prefix}:, deleted at the end)`)
  const own = await startRedisServer({ ...(opts.log ? { log: opts.log } : {}) }).catch((err: unknown) => err as Error)
  if (!(own instanceof Error)) return { url: own.url, where: `its own redis-server on port ${own.port} (stopped at the end)`, close: once(own.stop) }
  const found = await connectRedis({ startIfMissing: false }).catch(() => undefined)
  if (!found)
    throw new ConfigError(`the demo could not start a redis-server of its own and no Redis answers on 127.0.0.1:6379: install redis-server, or pass --redis-url`, {
      cause: own,
    })
  return shared(found.url, opts.prefix, `${found.url} (no redis-server of its own: ${own.message}; keys under ${opts.prefix}:, deleted at the end)`)
}

function shared(url: string, prefix: string, where: string): DemoRedis {
  return { url, where, close: once(() => deleteKeys(url, prefix)) }
}

/** Deletes every key under `prefix:` with SCAN and UNLINK (never KEYS); returns how many. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 })
  redis.on('error', () => {})
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  return deleted
}

function once(fn: () => Promise<unknown>): () => Promise<void> {
  let done: Promise<void> | undefined
  return () => (done ??= fn().then(() => {}))
}

