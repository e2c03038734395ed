import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatRows } from '../../src/cli/format-rows.ts'
import { runReportCommand, type ReportCommandOptions } from '../../src/cli/report.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import { ConfigError } from '../../src/errors.ts'
import { BadReportTimeError } from '../../src/reports/report-errors.ts'
import { readMonitorFile } from '../../src/api/monitor-file.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { apiTestConfig } from '../setup/api.ts'
import { uniquePrefix } from '../setup/redis.ts'
import { DAY, anchorDay, expectedDailyPnl, insertRiskRows, riskRows } from '../setup/report-rows.ts'
import { runDexrisk } from '../setup/cli.ts'

// The embedded folder opened by the command; the same report through a running monitor that owns
// the folder (its API, found in monitor.json); and the refusals.

const A = anchorDay(10)
const iso = (t: number): string => new Date(t * 1000).toISOString()
const risk = [...riskRows(A, 0, [1, 13]), ...riskRows(A, 1, [5, 23])]
const alice = { account: 'alice', from: A, to: A + 2 * DAY }
const expected = expectedDailyPnl(risk, alice)

let parent: string
let dataDir: string

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'dexrisk-report-'))
  dataDir = join(parent, 'db')
  const embedded = await startEmbeddedDatabase({ dataDir })
  const pool = createPool({ url: embedded.url, max: 1 })
  try {
    await migrate(pool)
    await insertRiskRows(pool, risk)
  } finally {
    await pool.end()
    await embedded.stop()
  }
})

afterAll(async () => {
  await rm(parent, { recursive: true, force: true })
})

async function report(opts: Partial<ReportCommandOptions>): Promise<string> {
  let out = ''
  await runReportCommand({ name: 'daily_pnl', format: 'table', dataDir, url: undefined, ...opts }, (text) => (out += text))
  return out
}

const dexrisk = runDexrisk

describe('dexrisk report (the embedded folder, no monitor running)', () => {
  it('prints CSV (RFC 4180, CRLF) of the report over --since before --to', async () => {
    expect(expected).toHaveLength(2)
    const out = await report({ account: 'alice', since: '2d', to: iso(A + 2 * DAY), format: 'csv' })
    const line = (r: Record<string, unknown>): string =>
      [(r.day as Date).toISOString(), r.account, r.daily_pnl_usd, r.total_pnl_usd, r.realized_pnl_usd, r.unrealized_pnl_usd, r.equity_open_usd, r.equity_high_usd, r.equity_low_usd, r.equity_close_usd, r.snapshots].join(',')
    expect(out).toBe(
      'day,account,daily_pnl_usd,total_pnl_usd,realized_pnl_usd,unrealized_pnl_usd,equity_open_usd,equity_high_usd,equity_low_usd,equity_close_usd,snapshots\r\n' +
        expected.map((r) => `${line(r)}\r\n`).join(''),
    )
    expect(out.split('\r\n')[1]).toMatch(new RegExp(`^${iso(A).replace(/\./g, '\\.')},alice,`))
  })

  it('prints JSON rows, times as ISO strings', async () => {
    const out = await report({ account: 'alice', from: iso(A), to: iso(A + 2 * DAY), format: 'json' })
    expect(JSON.parse(out)).toEqual(expected.map((r) => ({ ...r, day: (r.day as Date).toISOString() })))
  })

  it('prints every account when --account is left out', async () => {
    const out = await report({ from: iso(A), to: iso(A + DAY), format: 'json' })
    expect((JSON.parse(out) as { account: string }[]).map((r) => r.account)).toEqual(['alice', 'bob', 'carol'])
  })

  it('prints a table through the binary, and exits 0', async () => {
    const r = await dexrisk(['report', 'daily_pnl', '--account', 'alice', '--from', iso(A), '--to', iso(A + 2 * DAY), '--data-dir', dataDir])
    expect(r).toEqual({ code: 0, stderr: '', stdout: formatRows(Object.keys(expected[0]!), expected, 'table') })
    expect(r.stdout.split('\n')[0]).toMatch(/^day {23}account {2}daily_pnl_usd/)
    expect(r.stdout.endsWith('(2 rows)\n')).toBe(true)
  })

  it('refuses an unknown report or a bad range on one stderr line, exit 1, before opening the database', async () => {
    const r = await dexrisk(['report', 'pnl', '--data-dir', join(parent, 'nowhere')])
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'dexrisk: unknown report "pnl"; the reports are: alerts_summary, daily_pnl, dex_volume, exposure_history, top_concentrations, var_drawdown_history\n',
    })
    await expect(report({ dataDir: join(parent, 'nowhere'), from: '2026-01-01', since: '7d' })).rejects.toThrow(BadReportTimeError)
  })

  it('while a monitor owns the folder, gets the same report through its API', async () => {
    const direct = await report({ account: 'alice', from: iso(A), to: iso(A + 2 * DAY), format: 'json' })
    const config = apiTestConfig({ prefix: uniquePrefix() })
    config.database.dataDir = dataDir
    const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }), chains: [], shards: [], api: true })
    try {
      expect(await readMonitorFile(dataDir)).toEqual({ api: monitor.api!.url, controlKey: expect.stringMatching(/^dxr_ctl_/), pid: process.pid })
      expect(await report({ account: 'alice', from: iso(A), to: iso(A + 2 * DAY), format: 'json' })).toBe(direct)
    } finally {
      await monitor.close()
    }
    expect(await readMonitorFile(dataDir)).toBeNull()
  })

  it('says so when another process holds the folder and serves no API (no monitor.json)', async () => {
    const holder = await startEmbeddedDatabase({ dataDir })
    try {
      const err = await report({ account: 'alice', since: '2d', to: iso(A + 2 * DAY) }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toBe(
        `the embedded database ${dataDir} is open in another dexrisk process that serves no API (no ${join(dataDir, 'monitor.json')}): start the monitor with its API (dexrisk run), or stop that process and run the report again (field --data-dir)`,
      )
    } finally {
      await holder.stop()
    }
  })
})
