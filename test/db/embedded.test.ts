import { spawnSync } from 'node:child_process'
import { access, chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool, withTransaction } from '../../src/db/pool.ts'
import { ConfigError, RetryableError } from '../../src/errors.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const database = useEmbeddedDatabase()

beforeAll(async () => {
  await database.pool().query('CREATE TABLE drops (id int PRIMARY KEY)')
  await database.endPool()
})

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {}) // these tests drop connections on purpose
  await client.connect()
  return client
}

function socketOf(client: pg.Client): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream
}

describe('startEmbeddedDatabase', () => {
  it('serves TimescaleDB on 127.0.0.1 at a free port, with the repo migrations applied', async () => {
    expect(database.url).toBe(`postgres://postgres@127.0.0.1:${database.db.port}/postgres`)
    expect(database.db.port).not.toBe(5432)
    expect(database.db.dataDir).toBeUndefined()
    const client = await connect(database.url)
    try {
      const ext = await client.query("SELECT extname FROM pg_extension WHERE extname = 'timescaledb'")
      expect(ext.rows).toEqual([{ extname: 'timescaledb' }])
      const migrations = await client.query("SELECT version FROM dexrisk_migrations WHERE version = '0001'")
      expect(migrations.rows).toEqual([{ version: '0001' }])
    } finally {
      await client.end()
    }
  })

  it('rolls back a transaction whose client disconnects, and serves the next client at once', async () => {
    const first = await connect(database.url)
    await first.query('BEGIN')
    await first.query('INSERT INTO drops VALUES (1)')
    socketOf(first).destroy()

    // Connect right away: the server may not have noticed the close yet; the connection waits its turn.
    const next = await connect(database.url)
    try {
      expect((await next.query('SELECT count(*) AS n FROM drops')).rows).toEqual([{ n: '0' }])
      await next.query('BEGIN')
      await next.query('INSERT INTO drops VALUES (1)')
      await next.query('COMMIT')
      expect((await next.query('SELECT id FROM drops')).rows).toEqual([{ id: 1 }])
      expect(await database.db.inTransaction()).toBe(false)
    } finally {
      await next.query('DELETE FROM drops')
      await next.end()
    }
  })

  it('rolls back and frees the connection when a client resets it (like a killed process)', async () => {
    const first = await connect(database.url)
    await first.query('BEGIN')
    await first.query('INSERT INTO drops VALUES (2)')
    socketOf(first).resetAndDestroy()

    const next = await connect(database.url)
    try {
      expect((await next.query('SELECT count(*) AS n FROM drops')).rows).toEqual([{ n: '0' }])
      await next.query('INSERT INTO drops VALUES (2)')
    } finally {
      await next.end()
    }
    const third = await connect(database.url)
    try {
      expect((await third.query('SELECT id FROM drops')).rows).toEqual([{ id: 2 }])
      await third.query('DELETE FROM drops')
    } finally {
      await third.end()
    }
  })

  it('suspend drops connections and refuses new ones as RetryableError; resume serves on the same port', async () => {
    const pool = createPool({ url: database.url, max: 1 })
    try {
      await withTransaction(pool, (c) => c.query('INSERT INTO drops VALUES (3)'))
      const port = database.db.port

      await database.db.suspend()
      const err = await withTransaction(pool, (c) => c.query('INSERT INTO drops VALUES (4)')).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RetryableError)
      expect((err as RetryableError).shortMessage).toMatch(new RegExp(`^database at 127\\.0\\.0\\.1:${port} (refused the connection|is unavailable)$`))

      await database.db.resume()
      expect(database.db.port).toBe(port)
      await withTransaction(pool, (c) => c.query('INSERT INTO drops VALUES (5)'))
      expect((await pool.query('SELECT id FROM drops ORDER BY id')).rows).toEqual([{ id: 3 }, { id: 5 }])
      await pool.query('DELETE FROM drops')
    } finally {
      await pool.end()
    }
  })

  it('rolls back a transaction open when the server is suspended', async () => {
    const pool = createPool({ url: database.url, max: 1 })
    try {
      const inFlight = withTransaction(pool, async (c) => {
        await c.query('INSERT INTO drops VALUES (6)')
        await database.db.suspend()
        await c.query('INSERT INTO drops VALUES (7)')
      })
      await expect(inFlight).rejects.toBeInstanceOf(RetryableError)
      await database.db.resume()
      expect((await pool.query('SELECT count(*) AS n FROM drops')).rows).toEqual([{ n: '0' }])
    } finally {
      await pool.end()
    }
  })
})

describe('startEmbeddedDatabase with a data folder', () => {
  let dir: string
  let held: EmbeddedDatabase | undefined
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dexrisk-embedded-'))
  })
  afterAll(async () => {
    await held?.stop()
    await rm(dir, { recursive: true, force: true })
    await rm(`${join(dir, 'data')}.lock`, { recursive: true, force: true })
  })

  it('creates the folder, keeps the data across a restart, and refuses a second open in this process', async () => {
    const dataDir = join(dir, 'data')
    const first = await startEmbeddedDatabase({ dataDir, connectionWaitMs: 200 })
    held = first
    expect(first.dataDir).toBe(dataDir)
    let client = await connect(first.url)
    await client.query('CREATE TABLE kept (amount numeric(78,0))')
    await client.query("INSERT INTO kept VALUES ('115792089237316195423570985008687907853269984665640564039457584007913129639935')")

    // One connection at a time: a second client waits connectionWaitMs, then gets a clear refusal.
    const refused = await connect(first.url).catch((e: unknown) => e)
    expect((refused as { code?: string }).code).toBe('53300')
    expect((refused as Error).message).toMatch(/serves one connection at a time/)
    await client.end()

    await expect(startEmbeddedDatabase({ dataDir })).rejects.toBeInstanceOf(ConfigError)
    await first.stop()
    await first.stop() // idempotent
    held = undefined

    const second = await startEmbeddedDatabase({ dataDir })
    held = second
    client = await connect(second.url)
    try {
      expect((await client.query('SELECT amount FROM kept')).rows).toEqual([
        { amount: '115792089237316195423570985008687907853269984665640564039457584007913129639935' },
      ])
    } finally {
      await client.end()
    }
    await second.stop()
    held = undefined
  })
})

describe('startEmbeddedDatabase in a folder it cannot write', () => {
  /**
   * A read-only folder, made as this machine allows: a read-only bind mount when running as root
   * (root writes through file modes), else a folder without write permission.
   */
  async function readOnlyFolder(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'dexrisk-readonly-'))
    if (process.getuid?.() !== 0) {
      await chmod(dir, 0o555)
      return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
    }
    const r = spawnSync('mount', ['--bind', '-o', 'ro', dir, dir])
    if (r.status !== 0) throw new Error(`cannot make a read-only folder here (mount --bind -o ro as root): ${r.stderr.toString().trim()}`)
    return {
      dir,
      cleanup: async () => {
        spawnSync('umount', [dir])
        await rm(dir, { recursive: true, force: true })
      },
    }
  }

  it('says the folder is not writable, naming it, and leaves no lock behind', async () => {
    const { dir, cleanup } = await readOnlyFolder()
    try {
      const err = (await startEmbeddedDatabase({ dataDir: dir }).catch((e: unknown) => e)) as Error
      expect(err).toBeInstanceOf(ConfigError)
      expect(err.message).toMatch(new RegExp(`^the embedded database folder ${dir} is not writable \\((EROFS|EACCES)\\): choose another with database.dataDir or DEXRISK_DATA_DIR`))
      await expect(access(`${dir}.lock`)).rejects.toThrow(/ENOENT/)
    } finally {
      await cleanup()
    }
  })
})
