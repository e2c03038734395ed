import { withCliDatabase } from './cli-database.ts'
import { formatRows } from './format-rows.ts'

/**
 * Runs one SQL statement and prints its rows. With no URL it opens the embedded data folder itself,
 * which only works while no running monitor holds that folder (design.md decision 6).
 */
export async function runSql(opts: { query: string; dataDir: string; url: string | undefined; format: 'table' | 'csv' | 'json' }): Promise<void> {
  await withCliDatabase({ url: opts.url, dataDir: opts.dataDir }, async (db) => {
    const r = await db.query(opts.query)
    process.stdout.write(formatRows(r.fields.map((f) => f.name), r.rows as Record<string, unknown>[], opts.format))
  })
}
