import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { startRedisServer, type RedisServer } from '../../src/db/redis.ts'
import { runDexrisk, startDexrisk } from '../setup/cli.ts'

/** A small demo: two traders (the fewest its wallet moves need), a few swaps per chain. */
const SMALL = ['--swaps', '6', '--traders', '2', '--shards', '2']

let dir: string
/** A Redis the test owns, standing for the user's: the demo must leave no key in it. */
let userRedis: RedisServer
let redis: Redis

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dexrisk-demo-'))
  userRedis = await startRedisServer()
  redis = new Redis(userRedis.url)
})

afterAll(async () => {
  redis?.disconnect()
  await userRedis?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** Tables of the database at `url` (none: the demo never wrote there). */
async function tables(url: string): Promise<string[]> {
  const pool = createPool({ url, max: 1 })
  try {
    const r = await pool.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
    return r.rows.map((row) => row.name)
  } finally {
    await pool.end()
  }
}

describe('dexrisk demo', () => {
  it('names the default of --api-port once in --help', async () => {
    const r = await runDexrisk(['demo', '--help'])
    expect(r.code).toBe(0)
    const entry = r.stdout.slice(r.stdout.indexOf('--api-port'), r.stdout.indexOf('--serve'))
    expect(entry.replace(/\s+/g, ' ').trim()).toBe('--api-port <n> port of the API and dashboard (0: any free port, printed) (default: "0")')
  })

  it('with DATABASE_URL and REDIS_URL exported, writes to neither: its own data folder and its own redis-server', async () => {
    const server: EmbeddedDatabase = await startEmbeddedDatabase()
    try {
      const dataDir = join(dir, 'own')
      const r = await runDexrisk(['demo', ...SMALL, '--data-dir', dataDir], { env: { DATABASE_URL: server.url, REDIS_URL: userRedis.url } })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`embedded TimescaleDB in ${dataDir}; Redis: its own redis-server on port `)
      expect(r.stdout).toMatch(/all \d+ \(account, chain, token\) positions \(tokens and ether\) equal the on-chain balances, to the wei/)
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true)
      expect(await tables(server.url)).toEqual([])
      expect(await redis.dbsize()).toBe(0)
    } finally {
      await server.stop()
    }
  })

  it('with --database-url writes there and, run again on it, stops naming the chain and block it indexed; --redis-url keeps no key', async () => {
    const server: EmbeddedDatabase = await startEmbeddedDatabase()
    try {
      const args = ['demo', ...SMALL, '--database-url', server.url, '--redis-url', userRedis.url, '--data-dir', join(dir, 'unused')]
      const first = await runDexrisk(args)
      expect(first.stderr).toBe('')
      expect(first.code).toBe(0)
      expect(first.stdout).toContain(`TimescaleDB at 127.0.0.1:${server.port}/postgres (--database-url); Redis: ${userRedis.url} (keys under dexrisk-demo-`)
      expect(await tables(server.url)).toContain('swaps')
      expect(existsSync(join(dir, 'unused'))).toBe(false)
      expect(await redis.dbsize()).toBe(0)

      // Fresh anvil chains under the same chain ids: not the chains this database indexed.
      const second = await runDexrisk(args)
      expect(second.code).toBe(1)
      expect(second.stderr).toMatch(
        /^dexrisk: chain local-a \(id 17001\) is at block \d+, below block \d+ that this database has already indexed, and none of the blocks it kept is on the chain: it is not the chain that was indexed/,
      )
      expect(await redis.dbsize()).toBe(0)
    } finally {
      await server.stop()
    }
  })

  it('with --serve, says the data folder is held while it serves, and frees it at Ctrl-C', async () => {
    const dataDir = join(dir, 'serve')
    const serving = startDexrisk(['demo', ...SMALL, '--data-dir', dataDir, '--serve'])
    const { child, exited } = serving
    try {
      await serving.waitFor('Serving until Ctrl-C')
      const stdout = serving.output()
      expect(stdout).toContain(`Query what it wrote: while it serves, this process holds the data folder ${dataDir}; dexrisk report reaches it through the running monitor's API, dexrisk sql once the demo has stopped (Ctrl-C):`)
      expect(stdout).not.toContain('the data folder is free')
      // It is held indeed: a command that opens the folder itself is refused while it serves.
      const sql = await runDexrisk(['sql', '--data-dir', dataDir, 'SELECT 1 AS one'])
      expect(sql.code).toBe(1)
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      const after = await runDexrisk(['sql', '--data-dir', dataDir, 'SELECT 1 AS one'])
      expect(after).toEqual({ code: 0, stderr: '', stdout: 'one\n---\n1\n(1 row)\n' })
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
