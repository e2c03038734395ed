import { createServer, type Server } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertTimescale, createPool, withTransaction } from '../../src/db/pool.ts'
import { ConfigError, RetryableError } from '../../src/errors.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { startPlainPostgres, startRefusingPostgres } from '../setup/plain-postgres.ts'

const database = useEmbeddedDatabase({ migrate: false })

async function closedPort(): Promise<number> {
  const s: Server = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

describe('createPool', () => {
  it('returns NUMERIC(78,0) and int8 columns as exact strings', async () => {
    const r = await database.pool().query(
      "SELECT (2::numeric ^ 256 - 1)::numeric(78,0) AS max_uint, 9007199254740993::int8 AS big, count(*) AS n, 1.5::float8 AS f, 7::int4 AS i FROM (VALUES (1), (2)) v",
    )
    expect(r.rows).toEqual([
      { max_uint: '115792089237316195423570985008687907853269984665640564039457584007913129639935', big: '9007199254740993', n: '2', f: 1.5, i: 7 },
    ])
  })

  it('keeps its parsing when someone changes pg.types globally', async () => {
    const before = pg.types.getTypeParser(20, 'text')
    pg.types.setTypeParser(20, (v: string) => Number(v))
    try {
      const r = await database.pool().query('SELECT 9007199254740993::int8 AS big')
      expect(r.rows[0]).toEqual({ big: '9007199254740993' })
    } finally {
      pg.types.setTypeParser(20, before)
    }
  })

  it('logs an idle client error instead of crashing the process', async () => {
    const warnings: string[] = []
    const log = { info: () => {}, error: () => {}, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? '') }
    await database.endPool() // the embedded database serves one connection: this test's pool takes it
    const pool = createPool({ url: database.url, max: 1, log })
    try {
      await pool.query('SELECT 1')
      // The server drops the idle connection: pg emits 'error' on the idle client.
      await database.db.suspend()
      await database.db.resume()
      await expect.poll(() => warnings.length, { timeout: 30_000 }).toBe(1)
      expect(warnings[0]).toMatch(/idle database connection failed/)
      expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
    } finally {
      await pool.end()
    }
  })
})

describe('assertTimescale', () => {
  it('returns the timescaledb version of the embedded database', async () => {
    expect(await assertTimescale(database.pool())).toMatch(/^2\.\d+\.\d+/)
  })

  it('refuses a plain PostgreSQL with a message that says what to do', async () => {
    // A PostgreSQL of the test's own where timescaledb is not available, whatever this machine has installed.
    const plain = await startPlainPostgres()
    const pool = createPool({ url: plain.url, max: 1 })
    try {
      const err = await assertTimescale(pool).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).shortMessage).toBe(
        `DATABASE_URL points at PostgreSQL ${plain.version} (127.0.0.1:${plain.port}) without the timescaledb extension; dexrisk needs TimescaleDB: use the timescale/timescaledb image (docker compose up -d, see docker-compose.yml), or unset DATABASE_URL to run the embedded TimescaleDB`,
      )
    } finally {
      await pool.end()
      await plain.stop()
    }
  })

  it('names host:port in a RetryableError when the connection is refused', async () => {
    const port = await closedPort()
    const pool = createPool({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, max: 1 })
    try {
      const err = await assertTimescale(pool).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RetryableError)
      expect((err as RetryableError).shortMessage).toBe(`database at 127.0.0.1:${port} refused the connection`)
    } finally {
      await pool.end()
    }
  })

  it('reports an unknown database as a ConfigError', async () => {
    // A server of the test's own that answers the login as PostgreSQL does for a missing database.
    const server = await startRefusingPostgres('3D000', 'database "dexrisk_no_such_db" does not exist')
    const pool = createPool({ url: `postgres://postgres@127.0.0.1:${server.port}/dexrisk_no_such_db`, max: 1 })
    try {
      const err = await assertTimescale(pool).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).shortMessage).toBe(`DATABASE_URL: database dexrisk_no_such_db does not exist at 127.0.0.1:${server.port}`)
    } finally {
      await pool.end()
      await server.stop()
    }
  })
})

describe('withTransaction', () => {
  beforeAll(async () => {
    await database.pool().query('CREATE TABLE tx_rows (id int PRIMARY KEY, note text)')
  })
  afterAll(async () => {
    await database.pool().query('DROP TABLE IF EXISTS tx_rows')
  })

  it('commits what fn wrote and returns its result', async () => {
    const result = await withTransaction(database.pool(), async (c) => {
      await c.query("INSERT INTO tx_rows VALUES (1, 'kept')")
      return 'done'
    })
    expect(result).toBe('done')
    expect((await database.pool().query('SELECT id, note FROM tx_rows WHERE id = 1')).rows).toEqual([{ id: 1, note: 'kept' }])
  })

  it('rolls back when fn throws, rethrows the error unchanged, and frees the client', async () => {
    const boom = new Error('boom')
    await expect(
      withTransaction(database.pool(), async (c) => {
        await c.query("INSERT INTO tx_rows VALUES (2, 'gone')")
        throw boom
      }),
    ).rejects.toBe(boom)
    expect((await database.pool().query('SELECT count(*)::int AS n FROM tx_rows WHERE id = 2')).rows).toEqual([{ n: 0 }])
    // The client went back to the pool: nothing waits, every open client is idle.
    expect(database.pool().waitingCount).toBe(0)
    expect(database.pool().idleCount).toBe(database.pool().totalCount)
  })

  it('passes a database error (not transient) through with its SQLSTATE', async () => {
    const err = await withTransaction(database.pool(), async (c) => {
      await c.query("INSERT INTO tx_rows VALUES (1, 'duplicate')")
    }).catch((e: unknown) => e)
    expect(err).not.toBeInstanceOf(RetryableError)
    expect((err as { code?: string }).code).toBe('23505')
  })
})
