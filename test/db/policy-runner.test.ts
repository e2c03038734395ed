import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { startPolicyRunner } from '../../src/db/policy-runner.ts'
import { createPool, withTransaction } from '../../src/db/pool.ts'
import type { RoutedSwap } from '../../src/queue/batch.ts'
import { insertAlerts } from '../../src/risk/rule-store.ts'
import type { Alert, RuleMetrics } from '../../src/risk/rules.ts'
import type { BatchEffects } from '../../workers/risk/apply-batch.ts'
import { PriceCache } from '../../workers/risk/price-cache.ts'
import { writeBatchEffects } from '../../workers/risk/store.ts'
import { captureLog } from '../setup/capture-log.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { DAY, HOUR, expectedCandles, insertPriceRows, insertRiskRows, insertSwapRows, priceRows, riskRows, swapRows } from '../setup/report-rows.ts'
import { materializationTable } from '../setup/aggregates.ts'

const database = useEmbeddedDatabase()
const quiet = captureLog('silent').logger

/** The jobs the migrations schedule: 3 refresh policies and 2 refresh chains (sql/0015_chained_refresh.sql), 7 compression and 3 retention policies. */
const POLICY_JOBS = 15
const nowSec = (): number => Math.floor(Date.now() / 1000)
const iso = (t: number): string => new Date(t * 1000).toISOString()

async function materializedRows(view: string): Promise<Record<string, unknown>[]> {
  const table = await materializationTable(database.pool(), view)
  return (await database.pool().query(`SELECT * FROM ${table} ORDER BY 1, 2, 3, 4`)).rows as Record<string, unknown>[]
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await database.pool().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n
}

describe('startPolicyRunner', () => {
  it('runs every scheduled job at the first call, which materializes the continuous aggregates', async () => {
    // Two hours ago, inside every refresh window: 1m candles materialize up to now − 5 min, 1h candles up to now − 1 h.
    const start = Math.floor(nowSec() / HOUR) * HOUR - 3 * HOUR
    const prices = priceRows(start, 1)
    await insertPriceRows(database.pool(), prices)
    expect(await materializedRows('price_candles_1m')).toEqual([])

    const runner = startPolicyRunner({ pool: database.pool(), log: quiet, tickMs: 0 })
    try {
      expect(await runner.runDue()).toBe(POLICY_JOBS)
      const minutes = expectedCandles(prices, 60)
      expect(minutes).toHaveLength(18)
      expect(await materializedRows('price_candles_1m')).toEqual(minutes)
      expect(await materializedRows('price_candles_1h')).toEqual(expectedCandles(prices, HOUR))
    } finally {
      await runner.close()
    }
  })

  it('runs the jobs on a data folder opened again, where TimescaleDB has not loaded its loader library', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'dexrisk-policy-'))
    const dataDir = join(parent, 'db')
    const start = Math.floor(nowSec() / HOUR) * HOUR - 3 * HOUR
    const prices = priceRows(start, 1)
    try {
      const first = await startEmbeddedDatabase({ dataDir })
      const setup = createPool({ url: first.url, max: 1 })
      await migrate(setup)
      await insertPriceRows(setup, prices)
      await setup.end()
      await first.stop()

      const again = await startEmbeddedDatabase({ dataDir })
      const pool = createPool({ url: again.url, max: 1 })
      const captured = captureLog('warn')
      const runner = startPolicyRunner({ pool, log: captured.logger, tickMs: 0 })
      try {
        expect(await runner.runDue()).toBe(POLICY_JOBS)
        expect(captured.entries).toEqual([])
        expect((await pool.query(`SELECT * FROM price_candles_1h ORDER BY bucket, chain_id`)).rows).toEqual(expectedCandles(prices, HOUR))
      } finally {
        await runner.close()
        await pool.end()
        await again.stop()
      }
    } finally {
      await rm(parent, { recursive: true, force: true })
    }
  })

  it('runs a job again only once its schedule_interval has passed since it ran it', async () => {
    const runner = startPolicyRunner({ pool: database.pool(), log: quiet, tickMs: 0 })
    try {
      const t0 = Date.now()
      expect(await runner.runDue(t0)).toBe(POLICY_JOBS)
      expect(await runner.runDue(t0 + 59_999)).toBe(0)
      expect(await runner.runDue(t0 + 60_000)).toBe(1) // the price chain (1m then 1h candles), every minute
      expect(await runner.runDue(t0 + 15 * 60_000)).toBe(2) // and the account risk chain (1h then 1d), every 15 minutes
      expect(await runner.runDue(new Date(t0 + 15 * 60_000 + 30_000))).toBe(0)
    } finally {
      await runner.close()
    }
  })

  it('refreshes a daily risk aggregate after the hourly one it reads, whatever order the scheduler runs the jobs in', async () => {
    // Two days ago: whole hour and day buckets, inside every refresh window.
    const day = Math.floor(nowSec() / DAY) * DAY - 2 * DAY
    await insertRiskRows(database.pool(), riskRows(day, 0, [3, 4]))
    // A server's background workers run due jobs concurrently, in no order: here, the last created first.
    const jobs = await database.pool().query<{ job_id: number }>(
      `SELECT job_id FROM timescaledb_information.jobs WHERE job_id >= 1000 AND proc_name IN ('policy_refresh_continuous_aggregate', 'dexrisk_refresh_chain') ORDER BY job_id DESC`,
    )
    for (const j of jobs.rows) await database.pool().query('CALL run_job($1)', [j.job_id])
    const hourly = await materializedRows('account_risk_1h')
    expect(hourly.length).toBeGreaterThan(0)
    const daily = await database.pool().query<{ account: string; n: number }>(
      `SELECT account, count(*)::int AS n FROM ${await materializationTable(database.pool(), 'account_risk_1d')} WHERE bucket = $1 GROUP BY account ORDER BY account`,
      [iso(day)],
    )
    const accounts = [...new Set(hourly.map((r) => r.account as string))].sort()
    expect(daily.rows).toEqual(accounts.map((account) => ({ account, n: 1 })))
  })

  it('shows a row written into an already materialized bucket once the next refresh has run', async () => {
    const start = Math.floor(nowSec() / HOUR) * HOUR - 5 * HOUR
    const prices = priceRows(start, 1).filter((p) => p.chainId === 1)
    await insertPriceRows(database.pool(), prices)
    const runner = startPolicyRunner({ pool: database.pool(), log: quiet, tickMs: 0 })
    try {
      const t0 = Date.now()
      await runner.runDue(t0)
      const late = { ...prices[0]!, block: prices[0]!.block + 1_000, tx: '0xlate', price: 99_999 }
      await insertPriceRows(database.pool(), [late])
      const high = async (): Promise<unknown> =>
        (await database.pool().query<{ high: number }>(`SELECT high FROM price_candles_1m WHERE bucket = $1 AND chain_id = 1`, [iso(Math.floor(late.time / 60) * 60)])).rows[0]?.high
      expect(await high()).toBe(expectedCandles(prices, 60)[0]!.high)
      expect(await runner.runDue(t0 + 60_000)).toBe(1)
      expect(await high()).toBe(99_999)
    } finally {
      await runner.close()
    }
  })

  it('logs a failing job with its id and procedure, and runs the jobs after it', async () => {
    const db = database.pool()
    await db.query(`CREATE TABLE IF NOT EXISTS policy_runner_marks (job_id int)`)
    await db.query(`CREATE OR REPLACE PROCEDURE policy_runner_boom(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom in job %', job_id; END $$`)
    await db.query(`CREATE OR REPLACE PROCEDURE policy_runner_mark(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO policy_runner_marks VALUES (job_id); END $$`)
    const boom = (await db.query<{ id: number }>(`SELECT add_job('policy_runner_boom', INTERVAL '1 hour') AS id`)).rows[0]!.id
    const mark = (await db.query<{ id: number }>(`SELECT add_job('policy_runner_mark', INTERVAL '1 hour') AS id`)).rows[0]!.id
    expect(mark).toBeGreaterThan(boom)
    const captured = captureLog('error')
    const runner = startPolicyRunner({ pool: db, log: captured.logger, tickMs: 0 })
    try {
      expect(await runner.runDue()).toBe(POLICY_JOBS + 2)
      expect((await db.query(`SELECT job_id FROM policy_runner_marks`)).rows).toEqual([{ job_id: mark }])
      expect(captured.entries.map(({ time: _t, pid: _p, hostname: _h, ...e }) => e)).toEqual([
        {
          level: 50,
          jobId: boom,
          proc: 'public.policy_runner_boom',
          err: `boom in job ${boom}`,
          msg: 'policy job failed; the next one runs, and this one again on its schedule',
        },
      ])
    } finally {
      await runner.close()
      await db.query(`SELECT delete_job($1)`, [boom])
      await db.query(`SELECT delete_job($1)`, [mark])
    }
  })

  it('close() waits for the running job, skips the rest of the round, and can be called twice', async () => {
    const db = database.pool()
    const runner = startPolicyRunner({ pool: db, log: quiet, tickMs: 0 })
    await db.query('SELECT 1') // the pool's one connection serves in order: the runner's LOAD has run
    const events: string[] = []
    let acquired = 0
    let closing: Promise<void>[] = []
    // The pool's second checkout in the round is the first CALL run_job: close while it runs.
    const onAcquire = (): void => {
      if (++acquired === 2) closing = [runner.close().then(() => void events.push('closed')), runner.close().then(() => void events.push('closed again'))]
    }
    db.on('acquire', onAcquire)
    try {
      const ran = await runner.runDue().then((n) => {
        events.push('round done')
        return n
      })
      await Promise.all(closing)
      expect(ran).toBe(1)
      expect(events).toEqual(['round done', 'closed', 'closed again'])
      expect(await runner.runDue()).toBe(0)
    } finally {
      db.removeListener('acquire', onAcquire)
      await runner.close()
    }
  })

  it('compresses chunks older than 7 days, and replayed or backfilled writes into them still insert each row once', async () => {
    const db = database.pool()
    const t = Math.floor(nowSec() / DAY) * DAY - 20 * DAY + 6 * HOUR
    const effects = batch(t, 21)
    await withTransaction(db, (c) => writeBatchEffects(c, 0, effects))
    expect(await insertAlerts(db, [alert(t)])).toBe(1)
    const risk = riskRows(t - 6 * HOUR, 0, [7])
    await insertRiskRows(db, risk)

    const runner = startPolicyRunner({ pool: db, log: quiet, tickMs: 0 })
    try {
      await runner.runDue()
    } finally {
      await runner.close()
    }
    const compressed = await db.query<{ hypertable_name: string }>(
      `SELECT DISTINCT hypertable_name FROM timescaledb_information.chunks
       WHERE is_compressed AND range_start <= $1::timestamptz AND range_end > $1::timestamptz ORDER BY 1`,
      [iso(t)],
    )
    expect(compressed.rows.map((r) => r.hypertable_name)).toEqual(['alerts', 'prices', 'risk_snapshots', 'swaps', 'trades'])

    // The same batch again (a redelivery; the checkpoint now at its last block), one swap carrying another USD value,
    // and a backfilled swap that is new.
    const replay: BatchEffects = { ...effects, previousCheckpoint: effects.toBlock, swaps: effects.swaps.map((s, i) => (i === 0 ? { ...s, amountUsd: 1 } : s)) }
    await withTransaction(db, (c) => writeBatchEffects(c, 0, replay))
    expect(await insertAlerts(db, [alert(t)])).toBe(0)
    await insertRiskRows(db, risk)
    await insertSwapRows(db, swapRows(t - 6 * HOUR, 0, 11, 12))

    const at = [iso(t - 6 * HOUR), iso(t + 18 * HOUR)]
    expect(await count(`swaps WHERE block_time >= $1 AND block_time < $2`, at)).toBe(3)
    expect(await count(`trades WHERE block_time >= $1 AND block_time < $2`, at)).toBe(2)
    expect(await count(`prices WHERE block_time >= $1 AND block_time < $2`, at)).toBe(2)
    expect(await count(`alerts WHERE time >= $1 AND time < $2`, at)).toBe(1)
    expect(await count(`risk_snapshots WHERE time >= $1 AND time < $2`, at)).toBe(risk.length)
    const usd = await db.query(`SELECT tx_hash, amount_usd FROM swaps WHERE block_time = $1 ORDER BY log_index`, [iso(t)])
    expect(usd.rows).toEqual([
      { tx_hash: '0x' + 'ab'.repeat(32), amount_usd: 1500.5 },
      { tx_hash: '0x' + 'ab'.repeat(32), amount_usd: 250.25 },
    ])
  })

  it('drops raw prices and risk snapshots after 90 days and position snapshots after 365, keeps swaps, and the aggregates keep their buckets', async () => {
    const db = database.pool()
    const old = Math.floor(nowSec() / DAY) * DAY - 100 * DAY
    const prices = priceRows(old + HOUR, 1).filter((p) => p.chainId === 8453)
    await insertPriceRows(db, prices)
    await insertRiskRows(db, riskRows(old, 0, [2]))
    await insertSwapRows(db, swapRows(old, 0, 0, 2))
    await db.query(
      `INSERT INTO position_snapshots (time, account, shard, chain_id, token, block_number, quantity, cost_usd, realized_pnl_usd, price_usd)
       VALUES ($1, 'alice', 0, 1, '0xweth', 1, 1000000000000000000, 2000, 0, 2100), ($2, 'alice', 0, 1, '0xweth', 2, 2000000000000000000, 4000, 0, 2100)`,
      [iso(old - 300 * DAY), iso(old)],
    )
    // What migration 0006's first refresh does for rows stored before it: materialize the old range.
    for (const view of ['price_candles_1m', 'account_risk_1h'])
      await db.query(`CALL refresh_continuous_aggregate($1, $2::timestamptz, $3::timestamptz)`, [view, iso(old), iso(old + DAY)])
    const candles = expectedCandles(prices, 60)
    const oldCandles = async (): Promise<unknown[]> =>
      (await db.query(`SELECT * FROM price_candles_1m WHERE chain_id = 8453 AND bucket >= $1 AND bucket < $2 ORDER BY bucket`, [iso(old), iso(old + DAY)])).rows
    expect(await oldCandles()).toEqual(candles)
    const hours = await count(`account_risk_1h WHERE bucket >= $1 AND bucket < $2`, [iso(old), iso(old + DAY)])
    expect(hours).toBe(3)

    const runner = startPolicyRunner({ pool: db, log: quiet, tickMs: 0 })
    try {
      await runner.runDue()
    } finally {
      await runner.close()
    }
    expect(await count(`prices WHERE block_time < $1`, [iso(old + DAY)])).toBe(0)
    expect(await count(`risk_snapshots WHERE time < $1`, [iso(old + DAY)])).toBe(0)
    expect(await count(`swaps WHERE block_time < $1`, [iso(old + DAY)])).toBe(2)
    expect((await db.query(`SELECT block_number FROM position_snapshots WHERE time < $1`, [iso(old + DAY)])).rows).toEqual([{ block_number: '2' }])
    expect(await oldCandles()).toEqual(candles)
    expect(await count(`account_risk_1h WHERE bucket >= $1 AND bucket < $2`, [iso(old), iso(old + DAY)])).toBe(hours)
  })
})

/** One shard-0 batch of chain 1 at time t: two swaps of alice (so two trades) and two price observations of two pools. */
function batch(t: number, block: number): BatchEffects {
  const tx = ('0x' + 'ab'.repeat(32)) as Hex
  const swap = (logIndex: number, amountUsd: number): RoutedSwap & { amountUsd: number } => ({
    chainId: 1,
    dex: { family: 'uniswap-v2', name: 'uniswap-v2' },
    pool: '0x00000000000000000000000000000000000000aa' as Address,
    blockNumber: BigInt(block),
    blockHash: ('0x' + 'cd'.repeat(32)) as Hex,
    blockTime: t,
    txHash: tx,
    logIndex,
    trader: '0x00000000000000000000000000000000000000a1' as Address,
    sender: '0x00000000000000000000000000000000000000b1' as Address,
    recipient: '0x00000000000000000000000000000000000000a1' as Address,
    tokenIn: '0x00000000000000000000000000000000000000c1' as Address,
    tokenOut: '0x00000000000000000000000000000000000000c2' as Address,
    amountIn: 1_500_500_000n,
    amountOut: 750_000_000_000_000_000n,
    decimalsIn: 6,
    decimalsOut: 18,
    reserve0: 10n ** 12n,
    reserve1: 5n * 10n ** 20n,
    account: 'alice',
    amountUsd,
  })
  return {
    chainId: 1,
    fromBlock: BigInt(block),
    toBlock: BigInt(block),
    toBlockHash: '0x' + 'cd'.repeat(32),
    toBlockTime: t,
    time: t,
    previousCheckpoint: null,
    swaps: [swap(3, 1500.5), swap(7, 250.25)],
    // Two pools: a range keeps one price row per pool and block.
    prices: [3, 7].map((logIndex) => ({
      chainId: 1,
      pool: (logIndex === 3 ? '0x00000000000000000000000000000000000000aa' : '0x00000000000000000000000000000000000000ab') as Address,
      blockNumber: BigInt(block),
      blockTime: t,
      txHash: tx,
      logIndex,
      base: '0x00000000000000000000000000000000000000c2' as Address,
      quote: '0x00000000000000000000000000000000000000c1' as Address,
      price: 2000.5,
      quoteDepth: 1e6,
    })),
    positions: [],
    priceCache: new PriceCache({ stablecoins: new Set(), pivots: new Set() }),
    transfers: [],
    walletBalances: [],
    detached: [],
    walletBalancesGone: [],
    unexplained: [],
  }
}

function alert(t: number): Alert {
  return {
    id: `default.drawdown:alice:${t}`,
    account: 'alice',
    ruleId: 'default.drawdown',
    metric: 'drawdownPct',
    op: 'above',
    threshold: 0.2,
    hysteresis: 0.05,
    severity: 'warning',
    action: 'alert',
    state: 'firing',
    value: 0.25,
    incomplete: false,
    time: t,
    firedAt: t,
    chainId: 1,
    block: 21n,
    metrics: { drawdownPct: 0.25 } as RuleMetrics,
  }
}
