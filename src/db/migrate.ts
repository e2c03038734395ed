import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { ConfigError } from '../errors.ts'
import { toDatabaseError, type DbLogger } from './pool.ts'

/** `<repo>/sql`, next to `src/`. */
export const defaultMigrationsDir = fileURLToPath(new URL('../../sql/', import.meta.url))

/** A first-lines comment that makes a file run statement by statement, outside a transaction. */
export const NO_TRANSACTION_MARKER = '-- dexrisk:no-transaction'

const FILE_PATTERN = /^(\d{4})_([A-Za-z0-9_-]+)\.sql$/
// Any constant: serializes concurrent migrate() calls (several processes starting against one server).
const ADVISORY_LOCK_KEY = 727_001_001

export type MigrationFile = {
  version: string
  name: string
  file: string
  sql: string
  checksum: string
  transactional: boolean
}

export type MigrateResult = {
  /** File names applied by this call, in order. */
  applied: string[]
  /** File names applied earlier (checksum unchanged). */
  skipped: string[]
}

/**
 * Applies `NNNN_name.sql` files in numeric order, each in its own transaction, and records them in
 * `dexrisk_migrations`. Already-applied files are skipped; an applied file whose content changed is
 * refused (ConfigError: migrations are never edited once landed). Running it twice is harmless.
 *
 * A file whose leading comments include `-- dexrisk:no-transaction` runs one statement at a time
 * outside a transaction (continuous aggregates, `CALL refresh_continuous_aggregate`): it must then
 * be idempotent on its own (`IF NOT EXISTS` …), since a failure halfway leaves it half applied.
 */
export async function migrate(pool: pg.Pool, opts: { dir?: string; log?: DbLogger } = {}): Promise<MigrateResult> {
  const dir = opts.dir ?? defaultMigrationsDir
  const log = opts.log
  const files = await readMigrations(dir)
  const result: MigrateResult = { applied: [], skipped: [] }

  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw toDatabaseError(err, pool)
  }
  let connectionError: Error | undefined
  const onError = (err: Error) => {
    connectionError = err
  }
  client.on('error', onError)
  let locked = false
  try {
    // Lock first: two processes creating the table at once on a fresh server can both pass
    // IF NOT EXISTS and one then fails on pg_type's unique index (23505).
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY])
    locked = true
    await client.query(`CREATE TABLE IF NOT EXISTS dexrisk_migrations (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)

    const done = await client.query<{ version: string; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM dexrisk_migrations ORDER BY version',
    )
    const applied = new Map(done.rows.map((r) => [r.version, r]))
    const known = new Set(files.map((f) => f.version))
    for (const row of done.rows)
      if (!known.has(row.version))
        log?.warn({ version: row.version, name: row.name, dir }, 'an applied migration has no file any more')
    const latest = done.rows.at(-1)?.version

    for (const m of files) {
      const previous = applied.get(m.version)
      if (previous) {
        if (previous.checksum !== m.checksum)
          throw new ConfigError(
            `migration ${m.file} changed after it was applied (checksum ${short(previous.checksum)} in the database, ${short(m.checksum)} on disk); migrations are never edited once landed: restore the file and add a new one`,
            { details: `directory ${dir}` },
          )
        result.skipped.push(m.file)
        continue
      }
      if (latest !== undefined && m.version < latest)
        log?.warn({ migration: m.file, latest }, 'applying a migration numbered below the latest applied one')
      const started = Date.now()
      try {
        if (m.transactional) await applyInTransaction(client, m)
        else await applyStatementByStatement(client, m)
      } catch (err) {
        if (err instanceof ConfigError) throw err
        const mapped = toDatabaseError(err, pool)
        if (mapped !== err) throw mapped
        throw new ConfigError(`migration ${m.file} failed`, { details: errorMessage(err), cause: err })
      }
      result.applied.push(m.file)
      log?.info({ migration: m.file, ms: Date.now() - started, transaction: m.transactional }, 'applied migration')
    }
    return result
  } finally {
    // The lock belongs to the session: if unlocking fails, end the connection rather than return a
    // locked one to the pool.
    if (locked && !connectionError)
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch((err: unknown) => {
        connectionError = err instanceof Error ? err : new Error(String(err))
      })
    client.removeListener('error', onError)
    client.release(connectionError)
  }
}

async function applyInTransaction(client: pg.PoolClient, m: MigrationFile): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query(m.sql)
    await record(client, m)
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
}

async function applyStatementByStatement(client: pg.PoolClient, m: MigrationFile): Promise<void> {
  const statements = splitSqlStatements(m.sql)
  for (const [i, statement] of statements.entries()) {
    try {
      await client.query(statement)
    } catch (err) {
      const head = statement.replace(/\s+/g, ' ').slice(0, 80)
      throw Object.assign(new Error(`statement ${i + 1} of ${statements.length} (${head}…): ${errorMessage(err)}`, { cause: err }), {
        code: (err as { code?: unknown }).code,
      })
    }
  }
  await record(client, m)
}

async function record(client: pg.PoolClient, m: MigrationFile): Promise<void> {
  await client.query(
    `INSERT INTO dexrisk_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at`,
    [m.version, m.name, m.checksum],
  )
}

/** Reads and orders the migration files of `dir` (top level only: `sql/reports/` is not a migration). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let entries: string[]
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)
  } catch (err) {
    throw new ConfigError(`cannot read the migrations directory ${dir}`, { cause: err })
  }
  const files: MigrationFile[] = []
  const seen = new Map<string, string>()
  for (const file of entries.sort()) {
    if (!file.endsWith('.sql')) continue
    const match = FILE_PATTERN.exec(file)
    if (!match) throw new ConfigError(`${join(dir, file)} is not named like a migration (NNNN_name.sql)`)
    const version = match[1] as string
    const other = seen.get(version)
    if (other) throw new ConfigError(`migrations ${other} and ${file} share the number ${version}`, { details: `directory ${dir}` })
    seen.set(version, file)
    // CRLF → LF so a checkout with autocrlf does not look like an edit.
    const sql = (await readFile(join(dir, file), 'utf8')).replace(/\r\n/g, '\n')
    files.push({
      version,
      name: match[2] as string,
      file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
      transactional: !hasNoTransactionMarker(sql),
    })
  }
  return files.sort((a, b) => Number(a.version) - Number(b.version))
}

function hasNoTransactionMarker(sql: string): boolean {
  for (const raw of sql.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    if (!line.startsWith('--')) return false
    if (line.toLowerCase().startsWith(NO_TRANSACTION_MARKER)) return true
  }
  return false
}

/**
 * Splits a SQL script into statements on top-level semicolons, respecting quotes ('…', E'…', "…"),
 * dollar quoting ($$ … $$, $tag$ … $tag$), line comments and nested block comments. Statements
 * that hold only comments and whitespace are dropped.
 */
export function splitSqlStatements(sql: string): string[] {
  const out: string[] = []
  let start = 0
  let i = 0
  let meaningful = false
  const n = sql.length
  const push = (end: number) => {
    const text = sql.slice(start, end).trim()
    if (meaningful && text) out.push(text)
    meaningful = false
  }
  while (i < n) {
    const c = sql[i] as string
    const next = sql[i + 1]
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i)
      i = eol === -1 ? n : eol + 1
    } else if (c === '/' && next === '*') {
      let depth = 1
      i += 2
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++
          i += 2
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--
          i += 2
        } else i++
      }
    } else if (c === "'") {
      const backslashes = i > 0 && /[eE]/.test(sql[i - 1] as string) && !/[\w$]/.test(sql[i - 2] ?? ' ')
      meaningful = true
      i++
      while (i < n) {
        if (backslashes && sql[i] === '\\') i += 2
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2
        else if (sql[i] === "'") {
          i++
          break
        } else i++
      }
    } else if (c === '"') {
      meaningful = true
      i++
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2
        else if (sql[i] === '"') {
          i++
          break
        } else i++
      }
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      const tag = /^\$([A-Za-z_][\w]*)?\$/.exec(sql.slice(i))
      meaningful = true
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length)
        i = end === -1 ? n : end + tag[0].length
      } else i++
    } else if (c === ';') {
      push(i)
      i++
      start = i
    } else {
      if (!/\s/.test(c)) meaningful = true
      i++
    }
  }
  push(n)
  return out
}

function short(checksum: string): string {
  return checksum.slice(0, 12)
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
