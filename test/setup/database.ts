import type pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'

export type TestDatabase = {
  /** postgres://postgres@127.0.0.1:PORT/postgres of the file's embedded database. */
  readonly url: string
  /**
   * The file's pool (max 1, as embedded mode requires), created on first use, ended in afterAll.
   * It holds the database's one connection while idle: a test that opens its own client or pool
   * calls `endPool()` first.
   */
  pool(): pg.Pool
  /** Ends the file's pool; the next `pool()` creates a fresh one. */
  endPool(): Promise<void>
  /** The embedded database itself (suspend/resume for fault tests, db for direct PGlite access). */
  readonly db: EmbeddedDatabase
}

/**
 * Gives a vitest file one in-memory embedded TimescaleDB (started in beforeAll, stopped in
 * afterAll), migrated with the repo's `sql/` unless `migrate: false`. Read the fields inside tests
 * or hooks, not at module level: they exist once beforeAll has run.
 */
export function useEmbeddedDatabase(opts: { migrate?: boolean; migrationsDir?: string } = {}): TestDatabase {
  let embedded: EmbeddedDatabase | undefined
  let pool: pg.Pool | undefined

  beforeAll(async () => {
    embedded = await startEmbeddedDatabase({})
    if (opts.migrate === false) return
    const migrating = createPool({ url: embedded.url, max: 1 })
    try {
      await migrate(migrating, opts.migrationsDir === undefined ? {} : { dir: opts.migrationsDir })
    } finally {
      await migrating.end()
    }
  })

  afterAll(async () => {
    await pool?.end().catch(() => {})
    await embedded?.stop()
  })

  const started = (): EmbeddedDatabase => {
    if (!embedded) throw new Error('useEmbeddedDatabase: the database starts in beforeAll; use it inside a test or hook')
    return embedded
  }
  return {
    get url() {
      return started().url
    },
    pool: () => (pool ??= createPool({ url: started().url, max: 1 })),
    endPool: async () => {
      const p = pool
      pool = undefined
      await p?.end()
    },
    get db() {
      return started()
    },
  }
}
