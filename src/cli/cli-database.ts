import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type pg from 'pg'
import { ConfigError } from '../errors.ts'
import { startEmbeddedDatabase } from '../db/embedded.ts'
import { defaultMigrationsDir, readMigrations } from '../db/migrate.ts'
import { createPool, describePool, toDatabaseError } from '../db/pool.ts'

export type CliDatabaseOptions = {
  /** A TimescaleDB server (DATABASE_URL). Unset: the embedded database in `dataDir`. */
  url: string | undefined
  /** The embedded database folder. It must exist: a command never creates an empty database. */
  dataDir: string
  /**
   * Refuse, before `fn` runs, a database that lacks one of the repo's `sql/` migrations, with a
   * message saying how to apply them; without this a command on dexrisk's tables would fail on
   * the first missing table with a bare "relation does not exist". Default false (`dexrisk sql`
   * runs on any database).
   */
  migrated?: boolean
}

/**
 * Gives a one-shot command the database: the server at `url`, or else the embedded data folder,
 * opened here for the command's duration. The embedded folder belongs to one process at a time
 * (docs/decisions.md 6), so this works only while no monitor holds it; otherwise the folder's lock
 * refuses it with a ConfigError saying so. Database faults reach the caller as dexrisk errors
 * (`toDatabaseError`), so the CLI prints them as one message.
 */
export async function withCliDatabase<T>(opts: CliDatabaseOptions, fn: (db: pg.Pool) => Promise<T>): Promise<T> {
  if (!opts.url) await assertDataDirExists(opts.dataDir)
  const embedded = opts.url ? undefined : await startEmbeddedDatabase({ dataDir: opts.dataDir })
  // max 1: the embedded server serves one connection at a time, and a command needs no more.
  const pool = createPool({ url: opts.url ?? embedded!.url, max: 1 })
  try {
    if (opts.migrated) await assertMigrated(pool, opts.url ? `at ${describePool(pool)}` : `in ${resolve(opts.dataDir)}`)
    return await fn(pool)
  } catch (err) {
    throw toDatabaseError(err, pool)
  } finally {
    await pool.end()
    await embedded?.stop()
  }
}

async function assertDataDirExists(dataDir: string): Promise<void> {
  const found = await stat(dataDir).then(
    (s) => s.isDirectory(),
    () => false,
  )
  if (!found)
    throw new ConfigError(
      `no embedded database in ${resolve(dataDir)}: pass the folder the monitor uses with --data-dir, or set DATABASE_URL for a TimescaleDB server`,
      { context: { field: '--data-dir' } },
    )
}

async function assertMigrated(pool: pg.Pool, where: string): Promise<void> {
  const files = await readMigrations(defaultMigrationsDir)
  const table = await pool.query<{ found: boolean }>("SELECT to_regclass('dexrisk_migrations') IS NOT NULL AS found")
  const applied = new Set(table.rows[0]?.found ? (await pool.query<{ version: string }>('SELECT version FROM dexrisk_migrations')).rows.map((r) => r.version) : [])
  const missing = files.filter((f) => !applied.has(f.version)).map((f) => f.file)
  if (missing.length > 0)
    throw new ConfigError(`the database ${where} lacks migration${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: apply them with dexrisk migrate (or start the monitor once)`)
}
