import type { ReportResult } from './run-report.ts'

/**
 * A report as CSV (RFC 4180): a header line of column names, then one record per row, each line
 * ended by CRLF; a field holding a comma, a double quote, CR or LF is quoted, its quotes doubled.
 * NULL is an empty field; a time is ISO 8601 (UTC); a JSON value is its JSON text.
 */
export function reportToCsv(result: ReportResult): string {
  const lines = [result.columns.map(field), ...result.rows.map((row) => result.columns.map((c) => field(cell(row[c]))))]
  return lines.map((l) => `${l.join(',')}\r\n`).join('')
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function field(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
