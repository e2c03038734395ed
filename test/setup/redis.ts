import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach } from 'vitest'

/** The machine's Redis, used by integration tests. */
export const TEST_REDIS_URL = process.env.DEXRISK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A fresh key prefix for one test: `dexrisk-test-<random>`. Use it for queue prefixes and keys. */
export function uniquePrefix(): string {
  return `dexrisk-test-${randomBytes(6).toString('hex')}`
}

/**
 * Deletes every key that starts with `prefix` or `{prefix` (a hash-tagged prefix), with SCAN +
 * UNLINK (never KEYS), and returns how many were deleted.
 */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0
  for (const pattern of [`${escapeGlob(prefix)}*`, `\\{${escapeGlob(prefix)}*`]) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) deleted += await redis.unlink(...keys)
    } while (cursor !== '0')
  }
  return deleted
}

/**
 * Per test: a fresh prefix (beforeEach) and the deletion of its keys (afterEach), on the machine's
 * Redis. Read `prefix` inside a test.
 */
export function useRedisPrefix(url: string = TEST_REDIS_URL): { readonly prefix: string; readonly url: string; readonly redis: Redis } {
  let redis: Redis | undefined
  let prefix: string | undefined
  const client = (): Redis => (redis ??= new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false }))
  beforeEach(() => {
    prefix = uniquePrefix()
  })
  afterEach(async () => {
    if (prefix) await cleanupPrefix(client(), prefix)
    prefix = undefined
  })
  afterAll(async () => {
    await redis?.quit().catch(() => {})
  })
  return {
    get prefix() {
      if (!prefix) throw new Error('useRedisPrefix: the prefix exists inside a test only')
      return prefix
    },
    url,
    get redis() {
      return client()
    },
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\{}]/g, (c) => `\\${c}`)
}
