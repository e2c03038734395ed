import pg from 'pg'
import { BaseError } from '../errors.ts'
import { withCliDatabase } from './cli-database.ts'
import { formatRows } from './format-rows.ts'

const { DatabaseError } = pg

/**
 * Runs one SQL statement and prints its rows. With no URL it opens the embedded data folder itself,
 * which only works while no running monitor holds that folder (docs/decisions.md 6).
 */
export async function runSql(opts: { query: string; dataDir: string; url: string | undefined; format: 'table' | 'csv' | 'json' }): Promise<void> {
  await withCliDatabase({ url: opts.url, dataDir: opts.dataDir }, async (db) => {
    const r = await db.query(opts.query).catch((err: unknown) => {
      // The statement's own error (a typo, a missing function) is the user's to read, in one line.
      if (err instanceof DatabaseError)
        throw new BaseError(`${err.severity ?? 'ERROR'}: ${err.message}${err.hint ? ` (hint: ${err.hint})` : ''}`, { context: { field: 'query' } })
      throw err
    })
    process.stdout.write(formatRows(r.fields.map((f) => f.name), r.rows as Record<string, unknown>[], opts.format))
  })
}
