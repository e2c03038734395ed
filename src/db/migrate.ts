import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { ConfigError } from '../errors.ts'
import { withTransaction, type DbLogger } from './pool.ts'

const DEFAULT_DIR = fileURLToPath(new URL('../../sql/', import.meta.url))
const NO_TRANSACTION = '-- dexrisk:no-transaction'

/**
 * Applies `NNNN_name.sql` files in numeric order, each once, each in its own transaction (unless
 * its first line is `-- dexrisk:no-transaction`, for statements such as continuous aggregates that
 * cannot run in one; such a file must be idempotent by itself). Applied files are recorded with a
 * checksum; an applied file that changed is refused: migrations are never edited once landed.
 */
export async function migrate(pool: pg.Pool, opts: { dir?: string; log?: DbLogger } = {}): Promise<{ applied: string[]; skipped: string[] }> {
  const dir = opts.dir ?? DEFAULT_DIR
  await pool.query(`CREATE TABLE IF NOT EXISTS dexrisk_migrations (
    version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort()
  const done = new Map(
    (await pool.query<{ version: string; checksum: string }>('SELECT version, checksum FROM dexrisk_migrations')).rows.map((r) => [r.version, r.checksum]),
  )
  const applied: string[] = []
  const skipped: string[] = []
  for (const file of files) {
    const version = file.slice(0, 4)
    const sql = await readFile(join(dir, file), 'utf8')
    const checksum = createHash('sha256').update(sql).digest('hex')
    const prev = done.get(version)
    if (prev !== undefined) {
      if (prev !== checksum)
        throw new ConfigError(`migration ${file} changed after it was applied; migrations are never edited once landed: add a new one`, {
          context: { field: `sql/${file}` },
        })
      skipped.push(file)
      continue
    }
    const record = (q: Pick<pg.PoolClient, 'query'>) =>
      q.query('INSERT INTO dexrisk_migrations (version, name, checksum) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [version, file, checksum])
    try {
      if (sql.startsWith(NO_TRANSACTION)) {
        await pool.query(sql)
        await record(pool)
      } else {
        await withTransaction(pool, async (client) => {
          await client.query(sql)
          await record(client)
        })
      }
    } catch (err) {
      throw new ConfigError(`migration ${file} failed`, { context: { field: `sql/${file}` }, cause: err })
    }
    opts.log?.info({ migration: file }, 'migration applied')
    applied.push(file)
  }
  return { applied, skipped }
}
