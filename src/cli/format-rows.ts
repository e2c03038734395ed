/** Rows as an aligned text table, CSV (RFC 4180 quoting) or JSON. */
export function formatRows(columns: string[], rows: Record<string, unknown>[], format: 'table' | 'csv' | 'json'): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v))
  if (format === 'json') return `${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`
  if (format === 'csv') {
    const q = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
    return [columns.map(q).join(','), ...rows.map((r) => columns.map((c) => q(cell(r[c]))).join(','))].join('\n') + '\n'
  }
  const table = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))]
  const widths = columns.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  const line = (row: string[]): string => row.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n') + '\n'
}
