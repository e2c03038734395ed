import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/db/migrate.ts'
import { assertTimescale, createPool } from '../../src/db/pool.ts'
import { BatchError } from '../../src/errors.ts'
import type pg from 'pg'
import type { BatchEffects } from '../../workers/risk/apply-batch.ts'
import { PriceCache } from '../../workers/risk/price-cache.ts'
import { loadCheckpoint, writeBatchEffects } from '../../workers/risk/store.ts'

/**
 * On a TimescaleDB server (several processes share one in server mode). Runs when
 * DEXRISK_TEST_DATABASE_URL names one (a database of its own is created there and dropped after);
 * CI has none, and vitest lists these as skipped.
 */
const SERVER = process.env.DEXRISK_TEST_DATABASE_URL
const name = `dexrisk_test_${process.pid}`
let pool: pg.Pool | undefined

beforeAll(async () => {
  if (!SERVER) return
  const admin = createPool({ url: SERVER, max: 1 })
  try {
    await assertTimescale(admin)
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const u = new URL(SERVER)
  u.pathname = `/${name}`
  pool = createPool({ url: u.toString(), max: 4 })
  await migrate(pool)
})
afterAll(async () => {
  if (!SERVER) return
  await pool?.end()
  const admin = createPool({ url: SERVER, max: 1 })
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
})

describe.runIf(SERVER)('on a TimescaleDB server (DEXRISK_TEST_DATABASE_URL)', () => {
  const pricing = { stablecoins: new Set<`0x${string}`>(), pivots: new Set<`0x${string}`>() }
  const effects = (from: bigint, to: bigint, previousCheckpoint: bigint | null): BatchEffects => ({
    chainId: 9, fromBlock: from, toBlock: to, toBlockHash: null, toBlockTime: null, time: null, previousCheckpoint, swaps: [], prices: [], positions: [], priceCache: new PriceCache(pricing),
    transfers: [], walletBalances: [], detached: [], walletBalancesGone: [], unexplained: [],
  })

  it('a batch is one statement: the checkpoint fence refuses a stale consumer and nothing it wrote stays', async () => {
    await writeBatchEffects(pool!, 3, effects(1n, 10n, null))
    await writeBatchEffects(pool!, 3, effects(11n, 20n, 10n))
    // Two consumers of one shard at once, each with a position of its own: one moves the checkpoint,
    // the other is refused, and its position row is not there.
    const withPosition = (e: BatchEffects, account: string): BatchEffects => ({
      ...e,
      positions: [{ account, chainId: 9, token: '0x00000000000000000000000000000000000000c1', position: { quantity: 5n, costUsd: 1, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: e.toBlock }, priceUsd: null, blockTime: 1_700_000_000 }],
    })
    const results = await Promise.allSettled([
      writeBatchEffects(pool!, 3, withPosition(effects(21n, 30n, 20n), 'first')),
      writeBatchEffects(pool!, 3, withPosition(effects(21n, 25n, 20n), 'second')),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(refused.reason).toBeInstanceOf(BatchError)
    const winner = results[0]!.status === 'fulfilled' ? { account: 'first', block: 30n } : { account: 'second', block: 25n }
    expect((await loadCheckpoint(pool!, 3, 9, pricing))!.block).toBe(winner.block)
    const rows = await pool!.query<{ account: string }>('SELECT account FROM positions WHERE chain_id = 9')
    expect(rows.rows).toEqual([{ account: winner.account }])
  })
})
