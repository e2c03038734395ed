import { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createPositionsReader, createSnapshotReader, readPositions } from '../../src/api/account-view.ts'
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
    // 4 queries a read (history, alerts, halt, positions): the first caller's read, then one read for the 99 that came while it ran.
    expect(queries()).toBe(8)
    for (const s of burst) expect(s).toEqual({ type: 'snapshot', account: 'alice', summary: null, history: [expect.objectContaining({ equityUsd: 42 })], alerts: [], halted: false, positions: [] })
    // A row written after a read began is in the read of every caller that asked after it was written.
    const first = snapshot('alice')
    await db.pool().query(
      `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, unpriced_positions, metrics) VALUES (to_timestamp(1700000060), 'alice', 0, 1, 2, 43, 0, '{}')`,
    )
    const later = snapshot('alice')
    expect((await later).history.map((h) => h.equityUsd)).toEqual([42, 43])
    expect((await first).history.length).toBeGreaterThanOrEqual(1)
    expect(queries()).toBe(16)
  })

  it("reads the account's positions with their tokens' symbols and decimals, null where the tokens table has none", async () => {
    const pool = db.pool()
    await pool.query(
      `INSERT INTO tokens (chain_id, address, decimals, symbol) VALUES (1, '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', 18, 'WETH'), (8453, '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913', 6, 'USDC')`,
    )
    await pool.query(
      `INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, unpriced_cost, updated_block) VALUES
         ('carol', 1, '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', 0, 400000000000000000000, 1100000, 12000, false, 10),
         ('carol', 8453, '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913', 0, 50000000000, 50000, 0, false, 11),
         ('carol', 1, '0x6982508145454ce325ddbe47a25d4ec3d2311933', 0, -5, 1234.5, -7.25, true, 12),
         ('dave', 1, '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', 1, 1, 1, 0, false, 13)`,
    )
    const carol = [
      { chainId: 1, token: '0x6982508145454ce325ddbe47a25d4ec3d2311933', symbol: null, decimals: null, quantity: '-5', costUsd: 1234.5, realizedPnlUsd: -7.25, unpricedCost: true },
      { chainId: 1, token: '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', symbol: 'WETH', decimals: 18, quantity: '400000000000000000000', costUsd: 1100000, realizedPnlUsd: 12000, unpricedCost: false },
      { chainId: 8453, token: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913', symbol: 'USDC', decimals: 6, quantity: '50000000000', costUsd: 50000, realizedPnlUsd: 0, unpricedCost: false },
    ]
    expect(await readPositions(pool, 'carol')).toEqual(carol)
    expect(await readPositions(pool, 'nobody')).toEqual([])
    // The live route's reader: callers that ask while a read runs share the next one.
    const { pool: counted, queries } = countingPool(pool)
    const positionsOf = createPositionsReader({ pool: counted })
    const burst = await Promise.all(Array.from({ length: 50 }, () => positionsOf('carol')))
    expect(queries()).toBe(2)
    for (const p of burst) expect(p).toEqual(carol)
    const snapshot = createSnapshotReader({ pool, redis, prefix: uniquePrefix(), shards: 2, historyPoints: 10 })
    expect((await snapshot('carol')).positions).toEqual(carol)
  })
})
