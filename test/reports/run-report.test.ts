import { beforeAll, describe, expect, it } from 'vitest'
import { BadReportTimeError, MissingReportParameterError, UnknownReportError } from '../../src/reports/report-errors.ts'
import { runReport } from '../../src/reports/run-report.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { materializationTable } from '../setup/aggregates.ts'
import {
  DAY,
  HOUR,
  alertRows,
  anchorDay,
  expectedAlertsSummary,
  expectedDailyPnl,
  expectedDexVolume,
  expectedExposureHistory,
  expectedTopConcentrations,
  expectedVarDrawdownHistory,
  insertAlertRows,
  insertRiskRows,
  insertSwapRows,
  riskRows,
  swapRows,
  type Range,
} from '../setup/report-rows.ts'

const database = useEmbeddedDatabase()

// Days 0 and 1 are written, then materialized; day 2 is written partly before and partly after that
// refresh, beyond the aggregates' watermark: the reports read it from the raw rows (real-time).
const A = anchorDay(10)
const written = {
  risk: [...riskRows(A, 0, [1, 5, 13, 23]), ...riskRows(A, 1, [1, 5, 13, 23]), ...riskRows(A, 2, [1, 5])],
  swaps: [...swapRows(A, 0, 0, 10), ...swapRows(A, 1, 0, 10), ...swapRows(A, 2, 0, 4)],
  alerts: alertRows(A, 'before'),
}
const afterRefresh = { risk: riskRows(A, 2, [13, 23]), swaps: swapRows(A, 2, 4, 10), alerts: alertRows(A, 'after') }
const risk = [...written.risk, ...afterRefresh.risk]
const swaps = [...written.swaps, ...afterRefresh.swaps]
const alerts = [...written.alerts, ...afterRefresh.alerts]

const iso = (t: number): string => new Date(t * 1000).toISOString()
const params = (r: Range) => ({ account: r.account, from: iso(r.from), to: iso(r.to) })
const everyone: Range = { account: '*', from: A, to: A + 3 * DAY }
const columnsOf = (rows: Record<string, unknown>[]): string[] => Object.keys(rows[0] ?? {})

beforeAll(async () => {
  const db = database.pool()
  await insertRiskRows(db, written.risk)
  await insertSwapRows(db, written.swaps)
  await insertAlertRows(db, written.alerts)
  for (const view of ['account_risk_1h', 'account_risk_1d', 'dex_volume_1d', 'account_dex_volume_1d', 'alerts_1d'])
    await db.query(`CALL refresh_continuous_aggregate($1, $2::timestamptz, $3::timestamptz)`, [view, iso(A), iso(A + 2 * DAY)])
  await insertRiskRows(db, afterRefresh.risk)
  await insertSwapRows(db, afterRefresh.swaps)
  await insertAlertRows(db, afterRefresh.alerts)
})

/** Rows materialized in a continuous aggregate (its materialization hypertable), not counting the real-time part. */
async function materialized(view: string): Promise<number> {
  const table = await materializationTable(database.pool(), view)
  return (await database.pool().query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n
}

describe('runReport', () => {
  it('reads day 2 from the raw rows: the refresh materialized days 0 and 1 only', async () => {
    expect(await materialized('account_risk_1d')).toBe(6) // 3 accounts × days 0, 1
    expect(await materialized('account_risk_1h')).toBe(24) // 3 accounts × 2 days × 4 hours
    expect(await materialized('alerts_1d')).toBe(6) // (day, account, rule, severity, state) groups of days 0, 1
    expect(afterRefresh.risk.every((r) => r.time >= A + 2 * DAY)).toBe(true)
  })

  it('daily_pnl: the close of each UTC day per account, equal to the raw snapshots, written after the refresh included', async () => {
    const expected = expectedDailyPnl(risk, everyone)
    expect(expected).toHaveLength(9)
    const r = await runReport(database.pool(), 'daily_pnl', params(everyone))
    expect(r.columns).toEqual([
      'day',
      'account',
      'daily_pnl_usd',
      'total_pnl_usd',
      'realized_pnl_usd',
      'unrealized_pnl_usd',
      'equity_open_usd',
      'equity_high_usd',
      'equity_low_usd',
      'equity_close_usd',
      'snapshots',
    ])
    expect(r.rows).toEqual(expected)

    const alice: Range = { account: 'alice', from: A + DAY, to: A + 3 * DAY }
    expect(await runReport(database.pool(), 'daily_pnl', params(alice))).toEqual({ columns: r.columns, rows: expectedDailyPnl(risk, alice) })
    expect(expectedDailyPnl(risk, alice).map((x) => x.snapshots)).toEqual([16, 16])
  })

  it('exposure_history: the hourly close of exposure, equity and concentration, NULL shares of an unexposed hour kept', async () => {
    const all = expectedExposureHistory(risk, everyone)
    expect(all).toHaveLength(36)
    expect(all.filter((x) => x.largest_asset_share === null).map((x) => x.account)).toEqual(['carol', 'carol', 'carol'])
    expect(await runReport(database.pool(), 'exposure_history', params(everyone))).toEqual({ columns: columnsOf(all), rows: all })

    const bob: Range = { account: 'bob', from: A + 5 * HOUR, to: A + 2 * DAY + 14 * HOUR }
    const expected = expectedExposureHistory(risk, bob)
    expect(expected).toHaveLength(10) // day 0: hours 5, 13, 23; day 1: 1, 5, 13, 23; day 2: 1, 5, 13
    expect(await runReport(database.pool(), 'exposure_history', params(bob))).toEqual({ columns: columnsOf(expected), rows: expected })
  })

  it('var_drawdown_history: hourly VaR, ES and drawdown, closes and maxima', async () => {
    const all = expectedVarDrawdownHistory(risk, everyone)
    expect(all).toHaveLength(36)
    expect(await runReport(database.pool(), 'var_drawdown_history', params(everyone))).toEqual({ columns: columnsOf(all), rows: all })

    const carol: Range = { account: 'carol', from: A, to: A + DAY }
    const expected = expectedVarDrawdownHistory(risk, carol)
    expect(expected[0]).toMatchObject({ drawdown_pct: null, drawdown_pct_max: null })
    expect(await runReport(database.pool(), 'var_drawdown_history', params(carol))).toEqual({ columns: columnsOf(expected), rows: expected })
  })

  it('top_concentrations: accounts by their highest largest-asset share, with the largest asset at the last snapshot', async () => {
    const all = expectedTopConcentrations(risk, everyone)
    expect(all).toHaveLength(3)
    const r = await runReport(database.pool(), 'top_concentrations', params(everyone))
    expect(r).toEqual({ columns: columnsOf(all), rows: all })
    // alice's last snapshot is her tie-break twin on chain 8453 at day 2, 23:20.
    expect(r.rows.find((x) => x.account === 'alice')?.last_snapshot_at).toEqual(new Date((A + 2 * DAY + 23 * HOUR + 20 * 60) * 1000))

    const alice: Range = { account: 'alice', from: A, to: A + DAY + 6 * HOUR }
    const expected = expectedTopConcentrations(risk, alice)
    expect(expected).toHaveLength(1)
    expect(await runReport(database.pool(), 'top_concentrations', params(alice))).toEqual({ columns: columnsOf(expected), rows: expected })
  })

  it('alerts_summary: firings and resolutions per account, rule and severity, the days after the refresh included', async () => {
    const all = expectedAlertsSummary(alerts, everyone)
    expect(all).toEqual([
      { account: 'alice', rule_id: 'default.drawdown', severity: 'warning', fired: 2, resolved: 2, days: 3, first_day: new Date(A * 1000), last_day: new Date((A + 2 * DAY) * 1000) },
      { account: 'alice', rule_id: 'default.drawdown-critical', severity: 'critical', fired: 1, resolved: 0, days: 1, first_day: new Date((A + 2 * DAY) * 1000), last_day: new Date((A + 2 * DAY) * 1000) },
      { account: 'alice', rule_id: 'var99', severity: 'critical', fired: 1, resolved: 0, days: 1, first_day: new Date((A + DAY) * 1000), last_day: new Date((A + DAY) * 1000) },
      { account: 'bob', rule_id: 'default.drawdown', severity: 'warning', fired: 1, resolved: 1, days: 2, first_day: new Date(A * 1000), last_day: new Date((A + DAY) * 1000) },
      { account: 'bob', rule_id: 'var99', severity: 'critical', fired: 1, resolved: 0, days: 1, first_day: new Date((A + 2 * DAY) * 1000), last_day: new Date((A + 2 * DAY) * 1000) },
    ])
    expect(await runReport(database.pool(), 'alerts_summary', params(everyone))).toEqual({ columns: columnsOf(all), rows: all })

    const alice: Range = { account: 'alice', from: A + DAY, to: A + 3 * DAY }
    const expected = expectedAlertsSummary(alerts, alice)
    expect(expected).toHaveLength(3)
    expect(await runReport(database.pool(), 'alerts_summary', params(alice))).toEqual({ columns: columnsOf(expected), rows: expected })
  })

  it("dex_volume: every swap per day, chain and dex with '*', one account's swaps with its name", async () => {
    const all = expectedDexVolume(swaps, everyone)
    expect(all).toHaveLength(12) // 3 days × 2 chains × 2 dexes
    expect(all.reduce((n, x) => n + (x.swaps as number), 0)).toBe(30)
    expect(await runReport(database.pool(), 'dex_volume', params(everyone))).toEqual({ columns: columnsOf(all), rows: all })

    for (const range of [
      { account: 'alice', from: A, to: A + 3 * DAY },
      { account: 'bob', from: A + 2 * DAY, to: A + 3 * DAY },
    ]) {
      const expected = expectedDexVolume(swaps, range)
      expect(expected.length).toBeGreaterThan(1)
      expect(await runReport(database.pool(), 'dex_volume', params(range))).toEqual({ columns: columnsOf(all), rows: expected })
    }
    // a day whose only swap of that dex had no USD value: NULL volume, not 0
    expect(all.filter((x) => x.priced_swaps === 0).every((x) => x.volume_usd === null)).toBe(true)
  })

  it('takes Date values and times with an offset, and reads a time without one as UTC', async () => {
    const utc = await runReport(database.pool(), 'daily_pnl', { account: 'bob', from: iso(A + DAY), to: iso(A + 2 * DAY) })
    const offset = await runReport(database.pool(), 'daily_pnl', {
      account: 'bob',
      from: new Date((A + DAY) * 1000).toISOString().slice(0, 10),
      to: new Date((A + 2 * DAY) * 1000 + 2 * HOUR * 1000).toISOString().slice(0, 16).replace('T', ' ') + '+02:00',
    })
    const dates = await runReport(database.pool(), 'daily_pnl', { account: 'bob', from: new Date((A + DAY) * 1000), to: new Date((A + 2 * DAY) * 1000) })
    expect(utc.rows).toHaveLength(1)
    expect(offset).toEqual(utc)
    expect(dates).toEqual(utc)
  })

  it('names the report and the parameter that is unknown, missing or not a time', async () => {
    const db = database.pool()
    const unknown = await runReport(db, 'pnl', params(everyone)).catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(UnknownReportError)
    expect((unknown as Error).message).toBe(
      'unknown report "pnl"; the reports are: alerts_summary, daily_pnl, dex_volume, exposure_history, top_concentrations, var_drawdown_history',
    )
    await expect(runReport(db, '../0001_core', params(everyone))).rejects.toBeInstanceOf(UnknownReportError)

    const missing = await runReport(db, 'daily_pnl', { from: iso(A), to: iso(A + DAY) }).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(MissingReportParameterError)
    expect((missing as Error).message).toBe('report daily_pnl needs the parameter account (field account)')
    await expect(runReport(db, 'dex_volume', { account: '*', from: '', to: iso(A) })).rejects.toThrow('report dex_volume needs the parameter from (field from)')

    const bad = await runReport(db, 'alerts_summary', { account: '*', from: 'last tuesday', to: iso(A) }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(BadReportTimeError)
    expect((bad as Error).message).toBe(
      'report alerts_summary: from: not a time: "last tuesday" (expected e.g. 2026-01-01, 2026-01-01T12:00 or 2026-01-01T12:00:00+02:00; UTC unless an offset is given) (field from)',
    )
    await expect(runReport(db, 'daily_pnl', { account: '*', from: '2026-02-30', to: '2026-03-02' })).rejects.toThrow('report daily_pnl: from: not a time: "2026-02-30"')
    await expect(runReport(db, 'daily_pnl', { account: '*', from: iso(A + DAY), to: iso(A) })).rejects.toThrow(
      `report daily_pnl: from (${iso(A + DAY)}) is not before to (${iso(A)}) (field from)`,
    )
  })
})
