import type pg from 'pg'
import { loadReport } from './load-report.ts'
import { MissingReportParameterError } from './report-errors.ts'
import { assertRange, parseReportTime } from './report-params.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/** A report's answer: column names in the file's order, and one object per row keyed by them. */
export type ReportResult = { columns: string[]; rows: Record<string, unknown>[] }

/** Values of a report's psql variables by name. `from` and `to` are times (parseReportTime). */
export type ReportParams = Readonly<Record<string, string | Date | undefined>>

const TIME_PARAMETERS = new Set(['from', 'to'])

/**
 * Runs `sql/reports/<name>.sql` with its psql variables bound as parameters. Every variable the
 * file uses must be given (MissingReportParameterError; undefined and '' count as missing); `from`
 * and `to` must be times and `from` before `to` (BadReportTimeError); other given values are
 * ignored. Defaults (every account, the last 30 days) are the caller's: see resolveReportParams.
 *
 * Values come back as `pg` parses them with dexrisk's pool (timestamptz → Date, float8 → number,
 * int4 → number; reports cast counts to integer, so no bigint strings).
 */
export async function runReport(db: Queryable, name: string, params: ReportParams, opts: { dir?: string } = {}): Promise<ReportResult> {
  const report = await loadReport(name, opts)
  const values = report.parameters.map((p) => {
    const v = params[p]
    if (v === undefined || v === '') throw new MissingReportParameterError(name, p)
    return TIME_PARAMETERS.has(p) ? parseReportTime(name, p, v) : v instanceof Date ? v.toISOString() : v
  })
  const at = (p: string): string | undefined => values[report.parameters.indexOf(p)]
  const from = at('from')
  const to = at('to')
  if (from !== undefined && to !== undefined) assertRange(name, from, to)
  const r = await db.query({ text: report.text, values })
  return { columns: r.fields.map((f) => f.name), rows: r.rows as Record<string, unknown>[] }
}
