/**
 * Rows as an aligned text table, CSV (RFC 4180 quoting) or JSON. A table is for reading, so its
 * float columns are rounded by what the column's name says it holds (`tableDecimals`); CSV and
 * JSON keep every value as it came, for whatever reads them next.
 */
export function formatRows(columns: string[], rows: Record<string, unknown>[], format: 'table' | 'csv' | 'json'): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v))
  if (format === 'json') return `${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`
  if (format === 'csv') {
    const q = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
    return [columns.map(q).join(','), ...rows.map((r) => columns.map((c) => q(cell(r[c]))).join(','))].join('\n') + '\n'
  }
  const decimals = columns.map(tableDecimals)
  const tableCell = (v: unknown, i: number): string => (typeof v === 'number' && decimals[i] !== undefined ? rounded(v, decimals[i]) : cell(v))
  const table = [columns, ...rows.map((r) => columns.map((c, i) => tableCell(r[c], i)))]
  const widths = columns.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const line = (row: string[]): string => row.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n'
}

/**
 * Decimal places a table shows for a float column, by a word of its name: `usd` (USD amounts:
 * equity_usd, var99_max_usd, drawdown_usd_max) to the cent, 2; `share`, `hhi` and `pct` (fractions
 * of 1 in dexrisk: largest_asset_share, drawdown_pct 0.0512 = 5.12 %) to 4, a hundredth of a
 * percent. Other columns (quantities, prices, counts) are shown as they are: undefined.
 */
export function tableDecimals(column: string): number | undefined {
  const words = column.toLowerCase().split(/[^a-z0-9]+/)
  if (words.includes('usd')) return 2
  if (words.some((w) => w === 'share' || w === 'hhi' || w === 'pct')) return 4
  return undefined
}

/** `v` with `places` decimals; never "-0.00". Infinite and NaN values are written as they are. */
function rounded(v: number, places: number): string {
  if (!Number.isFinite(v)) return String(v)
  const s = v.toFixed(places)
  return Number(s) === 0 ? (0).toFixed(places) : s
}
