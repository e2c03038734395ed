import { startEmbeddedDatabase } from '../db/embedded.ts'
import { createPool } from '../db/pool.ts'
import { formatRows } from './format-rows.ts'

/**
 * Runs one SQL statement and prints its rows. With no URL it opens the embedded data folder itself,
 * which only works while no running monitor holds that folder (design.md decision 6).
 */
export async function runSql(opts: { query: string; dataDir: string; url: string | undefined; format: 'table' | 'csv' | 'json' }): Promise<void> {
  const embedded = opts.url ? undefined : await startEmbeddedDatabase({ dataDir: opts.dataDir })
  const pool = createPool({ url: opts.url ?? embedded!.url, max: 1 })
  try {
    const r = await pool.query(opts.query)
    process.stdout.write(formatRows(r.fields.map((f) => f.name), r.rows as Record<string, unknown>[], opts.format))
  } finally {
    await pool.end()
    await embedded?.stop()
  }
}
