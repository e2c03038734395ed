import { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createSnapshotReader } from '../../src/api/account-view.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const db = useEmbeddedDatabase()
const redis = new Redis(TEST_REDIS_URL)
afterAll(() => redis.quit())

/** The file's real pool, counting the queries that go through it. */
function countingPool(pool: pg.Pool): { pool: pg.Pool; queries: () => number } {
  let n = 0
  const counted = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return (...args: unknown[]) => {
          n++
          return (target.query as (...a: unknown[]) => unknown).apply(target, args)
        }
      return Reflect.get(target, prop, receiver) as unknown
    },
  })
  return { pool: counted, queries: () => n }
}

describe('createSnapshotReader', () => {
  it('serves a burst of connections of one account with two reads, every caller a read that began after it asked', async () => {
    await db.pool().query(
      `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, unpriced_positions, metrics) VALUES (to_timestamp(1700000000), 'alice', 0, 1, 1, 42, 0, '{}')`,
    )
    const { pool, queries } = countingPool(db.pool())
    const snapshot = createSnapshotReader({ pool, redis, prefix: uniquePrefix(), shards: 2, historyPoints: 10 })
    const burst = await Promise.all(Array.from({ length: 100 }, () => snapshot('alice')))
    // 3 queries a read (history, alerts, halt): the first caller's read, then one read for the 99 that came while it ran.
    expect(queries()).toBe(6)
    for (const s of burst) expect(s).toEqual({ type: 'snapshot', account: 'alice', summary: null, history: [expect.objectContaining({ equityUsd: 42 })], alerts: [], halted: false })
    // A row written after a read began is in the read of every caller that asked after it was written.
    const first = snapshot('alice')
    await db.pool().query(
      `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, unpriced_positions, metrics) VALUES (to_timestamp(1700000060), 'alice', 0, 1, 2, 43, 0, '{}')`,
    )
    const later = snapshot('alice')
    expect((await later).history.map((h) => h.equityUsd)).toEqual([42, 43])
    expect((await first).history.length).toBeGreaterThanOrEqual(1)
    expect(queries()).toBe(12)
  })
})
