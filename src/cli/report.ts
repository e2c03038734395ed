import { resolve } from 'node:path'
import { isDataDirLocked } from '../db/data-dir-lock.ts'
import { monitorFilePath, readMonitorFile, type MonitorFile } from '../api/monitor-file.ts'
import { BaseError, ConfigError, RetryableError } from '../errors.ts'
import { loadReport } from '../reports/load-report.ts'
import { reportToCsv } from '../reports/report-csv.ts'
import { resolveReportParams, type ReportRange } from '../reports/report-params.ts'
import { runReport, type ReportResult } from '../reports/run-report.ts'
import { withCliDatabase } from './cli-database.ts'
import { formatRows } from './format-rows.ts'

export type ReportCommandOptions = {
  /** A report of sql/reports (file name without .sql). */
  name: string
  /** An account, or '*'. Default: every account. */
  account?: string
  /** Inclusive start (2026-01-01, 2026-01-01T12:00, with an optional offset; UTC without one). */
  from?: string
  /** Exclusive end. Default: now. */
  to?: string
  /** Without --from: how far back from --to (30d, 12h …). Default 30d. */
  since?: string
  format: 'table' | 'csv' | 'json'
  /** The embedded database folder, used when `url` is unset. */
  dataDir: string
  /** DATABASE_URL. */
  url: string | undefined
  /** The clock for the default range (tests). Default: the wall clock. */
  now?: Date
}

/** How long to wait for the monitor's answer to one report. */
const API_TIMEOUT_MS = 300_000

/**
 * `dexrisk report <name>`: runs one of sql/reports/*.sql and prints its rows as a table, CSV or
 * JSON. It reaches the data like `dexrisk sql` does — the server at DATABASE_URL, or the embedded
 * folder opened here while no monitor holds it — and, while a monitor holds the folder, through that
 * monitor's API (`GET /v1/reports/:name`, found in `<dataDir>/monitor.json`), which runs the same file.
 */
export async function runReportCommand(opts: ReportCommandOptions, write: (text: string) => void): Promise<void> {
  // Check the name and the range here first, so a mistake is told before any database is opened.
  await loadReport(opts.name)
  const range = resolveReportParams(opts.name, { account: opts.account, from: opts.from, to: opts.to, since: opts.since }, opts.now)
  const result = await fetchReport(opts, range)
  if (opts.format === 'csv') write(reportToCsv(result))
  else write(formatRows(result.columns, result.rows, opts.format))
}

async function fetchReport(opts: ReportCommandOptions, range: ReportRange): Promise<ReportResult> {
  const onDatabase = (): Promise<ReportResult> =>
    withCliDatabase({ url: opts.url, dataDir: opts.dataDir, migrated: true }, (db) => runReport(db, opts.name, range))
  if (opts.url || !(await isDataDirLocked(opts.dataDir))) return onDatabase()
  const monitor = await monitorOf(opts.dataDir)
  if (!monitor)
    throw new ConfigError(
      `the embedded database ${resolve(opts.dataDir)} is open in another dexrisk process that serves no API (no ${monitorFilePath(resolve(opts.dataDir))}): start the monitor with its API (dexrisk run), or stop that process and run the report again`,
      { context: { field: '--data-dir' } },
    )
  return reportFromMonitor(monitor, opts.name, range)
}

/** The running monitor's address and key (`src/api/monitor-file.ts` writes them), checked; undefined when there is none. */
async function monitorOf(dataDir: string): Promise<Pick<MonitorFile, 'api' | 'controlKey'> | undefined> {
  const file = monitorFilePath(resolve(dataDir))
  let found: MonitorFile | null
  try {
    found = await readMonitorFile(resolve(dataDir))
  } catch (err) {
    throw new ConfigError(`cannot read ${file}; a running monitor writes { "api": "http://127.0.0.1:PORT", "controlKey": "…" } there`, { cause: err })
  }
  if (found === null) return undefined
  const { api, controlKey } = found as Partial<Record<keyof MonitorFile, unknown>>
  if (typeof api !== 'string' || !URL.canParse(api)) throw new ConfigError(`${file}: api: not a URL`, { context: { field: 'api' } })
  if (typeof controlKey !== 'string' || controlKey === '') throw new ConfigError(`${file}: controlKey: missing`, { context: { field: 'controlKey' } })
  return { api, controlKey }
}

/** Asks the running monitor for the report: `GET <api>/v1/reports/<name>?account=&from=&to=`. */
async function reportFromMonitor(monitor: Pick<MonitorFile, 'api' | 'controlKey'>, name: string, range: ReportRange): Promise<ReportResult> {
  const url = new URL(`v1/reports/${encodeURIComponent(name)}`, monitor.api.endsWith('/') ? monitor.api : `${monitor.api}/`)
  url.searchParams.set('account', range.account)
  url.searchParams.set('from', range.from)
  url.searchParams.set('to', range.to)
  let res: Response
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${monitor.controlKey}`, accept: 'application/json' },
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    })
  } catch (err) {
    throw new RetryableError(`the running monitor's API at ${url.origin} did not answer (is it stopping or starting?)`, { cause: err })
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!res.ok) {
    const b = (body ?? {}) as { message?: unknown; error?: unknown }
    const why = typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : text.slice(0, 200)
    throw new BaseError(`report ${name}: the running monitor's API answered ${res.status}${why ? `: ${why}` : ''}`)
  }
  const r = (body ?? {}) as Partial<ReportResult>
  if (!Array.isArray(r.columns) || !r.columns.every((c) => typeof c === 'string') || !Array.isArray(r.rows))
    throw new BaseError(`report ${name}: the running monitor's API answered with something else than { columns, rows }`, { details: text.slice(0, 200) })
  return { columns: r.columns, rows: r.rows }
}
