import type pg from 'pg'
import { HttpError } from './http-error.ts'
import type { PageQuery } from './schemas.ts'

/**
 * Keyset paging, newest first, over an account's rows of a hypertable: the cursor is the last
 * row's (time in microseconds, tie-breaking key columns), so a page never skips or repeats a row
 * while new rows arrive (they are newer than every cursor). `from`/`to` bound the time.
 */
export type PagedSpec = {
  /** A constant SQL fragment: the select list (must not use the alias `_k`). */
  select: string
  table: string
  timeColumn: string
  /** Tie-breakers after time, in order (text or integer columns; compared as text). */
  keyColumns: readonly string[]
}

export async function pagedQuery<Row extends Record<string, unknown>>(
  db: pg.Pool,
  spec: PagedSpec,
  account: string,
  page: PageQuery,
): Promise<{ items: Row[]; next: string | null }> {
  // Ajv reads "1e400" and "Infinity" as the number Infinity and lets it past `maximum`.
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_LIMIT)
    throw new HttpError(400, 'bad_request', `querystring.limit: a whole number from 1 to ${MAX_LIMIT}`)
  const params: unknown[] = [account]
  const where = ['account = $1']
  const from = page.from === undefined ? undefined : parseTime(page.from, 'from')
  const to = page.to === undefined ? undefined : parseTime(page.to, 'to')
  if (from !== undefined) where.push(`${spec.timeColumn} >= $${params.push(from)}`)
  if (to !== undefined) where.push(`${spec.timeColumn} < $${params.push(to)}`)
  if (page.cursor !== undefined) {
    const c = decodeCursor(page.cursor, spec.keyColumns.length)
    const t = `(timestamptz 'epoch' + $${params.push(c[0])}::bigint * interval '1 microsecond')`
    const keys = spec.keyColumns.map((k, i) => `$${params.push(c[i + 1])}::text`)
    where.push(`(${spec.timeColumn}, ${spec.keyColumns.map((k) => `${k}::text`).join(', ')}) < (${t}, ${keys.join(', ')})`)
  }
  const order = [spec.timeColumn, ...spec.keyColumns.map((k) => `${k}::text`)].map((c) => `${c} DESC`).join(', ')
  const keySelect = `json_build_array((extract(epoch FROM ${spec.timeColumn}) * 1000000)::bigint::text, ${spec.keyColumns.map((k) => `${k}::text`).join(', ')}) AS _k`
  const r = await db.query<Row & { _k: string[] }>(
    `SELECT ${spec.select}, ${keySelect} FROM ${spec.table} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${params.push(page.limit + 1)}`,
    params,
  )
  const more = r.rows.length > page.limit
  const rows = more ? r.rows.slice(0, page.limit) : r.rows
  const last = rows.at(-1)
  const items = rows.map(({ _k, ...rest }) => rest as unknown as Row)
  return { items, next: more && last ? Buffer.from(JSON.stringify(last._k)).toString('base64url') : null }
}

const MAX_LIMIT = 1000
/** A cursor's time, in microseconds since 1970: within 1970 to 9999 (what a timestamp column holds, with room). */
const MAX_CURSOR_US = 253_402_300_799_999_999n
/** A cursor's key: the text of a key column (a hash, an index, an address): no control character (a NUL), never longer. */
const CURSOR_KEY = /^[^\p{Cc}]{0,200}$/u

function parseTime(value: string, field: string): Date {
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) throw new HttpError(400, 'bad_request', `${field}: "${value}" is not a time (ISO 8601)`)
  return d
}

function decodeCursor(cursor: string, keys: number): string[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown
    if (
      Array.isArray(v) &&
      v.length === keys + 1 &&
      v.every((x) => typeof x === 'string' && CURSOR_KEY.test(x)) &&
      /^\d{1,18}$/.test(v[0] as string) &&
      BigInt(v[0] as string) <= MAX_CURSOR_US
    )
      return v as string[]
  } catch {
    // answered below
  }
  throw new HttpError(400, 'bad_request', 'cursor: not a cursor this API returned')
}
