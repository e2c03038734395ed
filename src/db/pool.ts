import pg from 'pg'
import { BaseError, ConfigError, RetryableError, isTransientError } from '../errors.ts'

/** The part of a pino logger the database code uses; pino's `Logger` fits. */
export type DbLogger = {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export type CreatePoolOptions = {
  /** postgres://user[:password]@host:port/database */
  url: string
  /** Pool size. Default 10; embedded mode must pass 1 (pglite-socket serves one connection at a time). */
  max?: number
  /** Default: 'dexrisk'. Shows up in pg_stat_activity. */
  applicationName?: string
  /** Default: 30 000 ms. */
  idleTimeoutMillis?: number
  /** Default: 10 000 ms. A server that accepts but never answers fails after this. */
  connectionTimeoutMillis?: number
  log?: DbLogger
}

const OID_INT8 = 20
const OID_NUMERIC = 1700

/**
 * Type parsing, pinned per pool so a global `pg.types.setTypeParser` elsewhere cannot change it:
 * - NUMERIC (token amounts, NUMERIC(78,0)) → string, exact to the wei; convert with `BigInt(s)`.
 * - INT8 / bigint (block numbers, counts, `count(*)`) → string; convert with `BigInt(s)` or `Number(s)`.
 * Everything else uses pg's defaults (timestamptz → Date, float8 → number, int4 → number …).
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID_NUMERIC || oid === OID_INT8) return (value: string) => value
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text')
  }) as pg.CustomTypesConfig['getTypeParser'],
}

/**
 * A `pg` pool for dexrisk. An error on an idle client (server restart, dropped socket) is logged and
 * the client discarded; it never crashes the process.
 */
export function createPool(opts: CreatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'dexrisk',
    idleTimeoutMillis: opts.idleTimeoutMillis ?? 30_000,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 10_000,
    types,
  })
  const where = describePool(pool)
  pool.on('error', (err) => {
    // The message only: pg-pool hangs the whole client on the error (err.client), which would flood the log line.
    opts.log?.warn({ err: errorMessage(err), db: where }, 'idle database connection failed; it is discarded and replaced on next use')
  })
  return pool
}

/** `host:port` (or socket path) of a pool, for error messages. Never includes the password. */
export function describePool(pool: pg.Pool): string {
  const o = pool.options
  if (o.connectionString) {
    try {
      const u = new URL(o.connectionString)
      const host = u.hostname || 'localhost'
      return `${host}:${u.port || '5432'}`
    } catch {
      // fall through to host/port
    }
  }
  return `${o.host ?? 'localhost'}:${o.port ?? 5432}`
}

function databaseName(pool: pg.Pool): string {
  const o = pool.options
  if (o.connectionString) {
    try {
      const name = new URL(o.connectionString).pathname.replace(/^\//, '')
      if (name) return decodeURIComponent(name)
    } catch {
      // fall through
    }
  }
  return o.database ?? 'postgres'
}

/**
 * Maps a database error: transient faults (connection refused/reset/terminated, admin shutdown,
 * serialization failure, deadlock) become `RetryableError` naming host:port; dexrisk errors and
 * everything else pass through unchanged (a pg `DatabaseError` keeps its SQLSTATE `code`).
 */
export function toDatabaseError(err: unknown, pool: pg.Pool): unknown {
  if (err instanceof BaseError) return err
  if (!isTransientError(err)) return err
  const where = describePool(pool)
  const code = errorCode(err)
  const short = code === 'ECONNREFUSED'
    ? `database at ${where} refused the connection`
    : `database at ${where} is unavailable`
  return new RetryableError(short, { details: errorMessage(err), cause: err })
}

/** Runs a database step; a connection failure becomes a RetryableError naming the database (`toDatabaseError`). */
export async function onDatabase<T>(pool: pg.Pool, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    throw toDatabaseError(err, pool)
  }
}

/**
 * Checks the pool's database has TimescaleDB and returns its version. Creates the extension when it
 * is available but not yet created. Throws `ConfigError` for a PostgreSQL without it (or wrong
 * credentials / database), `RetryableError` when the server cannot be reached.
 */
export async function assertTimescale(pool: pg.Pool, opts: { log?: DbLogger } = {}): Promise<string> {
  const where = describePool(pool)
  const installed = await queryOrThrow<{ extversion: string }>(pool, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
  const found = installed.rows[0]?.extversion
  if (found) return found

  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS timescaledb')
  } catch (err) {
    if (isTransientError(err)) throw toDatabaseError(err, pool)
    const version = await serverVersion(pool)
    const available = await pool
      .query<{ n: string }>("SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'timescaledb'")
      .then((r) => r.rows[0]?.n !== '0', () => false)
    const how = 'use the timescale/timescaledb image (docker compose up -d, see docker-compose.yml), or unset DATABASE_URL to run the embedded TimescaleDB'
    if (available)
      throw new ConfigError(
        `DATABASE_URL points at PostgreSQL ${version} (${where}, database ${databaseName(pool)}) where timescaledb is installed but could not be enabled; run CREATE EXTENSION timescaledb as a superuser (and add it to shared_preload_libraries), or ${how}`,
        { details: errorMessage(err), cause: err },
      )
    throw new ConfigError(
      `DATABASE_URL points at PostgreSQL ${version} (${where}) without the timescaledb extension; dexrisk needs TimescaleDB: ${how}`,
      { details: errorMessage(err), cause: err },
    )
  }
  const created = await queryOrThrow<{ extversion: string }>(pool, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
  const version = created.rows[0]?.extversion
  if (!version) throw new ConfigError(`CREATE EXTENSION timescaledb succeeded at ${where} but the extension is not listed in pg_extension`)
  opts.log?.info({ db: where, timescaledb: version }, 'created the timescaledb extension')
  return version
}

async function queryOrThrow<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql)
  } catch (err) {
    throw connectError(err, pool)
  }
}

/** Connection-time failures: unreachable → RetryableError; bad login / unknown database → ConfigError. */
function connectError(err: unknown, pool: pg.Pool): unknown {
  const where = describePool(pool)
  const code = errorCode(err)
  if (code === '28P01' || code === '28000')
    return new ConfigError(`DATABASE_URL: PostgreSQL at ${where} rejected the login`, { details: errorMessage(err), cause: err })
  if (code === '3D000')
    return new ConfigError(`DATABASE_URL: database ${databaseName(pool)} does not exist at ${where}`, { details: errorMessage(err), cause: err })
  return toDatabaseError(err, pool)
}

async function serverVersion(pool: pg.Pool): Promise<string> {
  try {
    const r = await pool.query<{ server_version: string }>('SHOW server_version')
    return r.rows[0]?.server_version.split(' ')[0] ?? 'unknown version'
  } catch {
    return 'unknown version'
  }
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled client; ROLLBACK when it throws. The client is
 * destroyed instead of returned when its connection failed (or ROLLBACK did). Transient errors
 * (see `isTransientError`) are rethrown as `RetryableError`; other errors pass through unchanged.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    throw connectError(err, pool)
  }
  // A checked-out client has no pool error listener: without this one, a dropped connection would be
  // an unhandled 'error' event and crash the process.
  let connectionError: Error | undefined
  const onError = (err: Error) => {
    connectionError = err
  }
  client.on('error', onError)
  let destroy: Error | undefined
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    if (connectionError) destroy = connectionError
    else {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackErr) {
        destroy = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))
      }
    }
    throw toDatabaseError(err, pool)
  } finally {
    client.removeListener('error', onError)
    client.release(destroy ?? connectionError)
  }
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorMessage).join('; ')
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name
  return String(err)
}
