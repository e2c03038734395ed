import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { leaseKeys } from '../../src/runtime/shard-leases.ts'
import { startDexrisk } from '../setup/cli.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'

const SHARDS = 3
const LEASE_TTL_MS = 1_500

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('dexrisk run --shards auto, as real processes', () => {
  it('a process killed with SIGKILL keeps its leases until they expire, then the next process takes every shard; SIGTERM releases them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dexrisk-shards-auto-'))
    dirs.push(dir)
    // The test serves the embedded database; one process at a time is its only client (see
    // docs/operations.md: two worker processes cannot share an embedded database).
    const db = await startEmbeddedDatabase()
    const prefix = uniquePrefix()
    const redis = new Redis(TEST_REDIS_URL)
    const keys = leaseKeys(prefix)
    const leases = async (): Promise<(string | null)[]> => redis.mget(Array.from({ length: SHARDS }, (_, s) => keys.shard(s)))
    const config = {
      chains: { idle: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f', startBlock: 1 }] } },
      shards: SHARDS,
      database: { url: db.url, poolMax: 1 },
      redis: { url: TEST_REDIS_URL },
      queue: { prefix, leaseTtlMs: LEASE_TTL_MS },
    }
    const file = join(dir, 'dexrisk.config.mjs')
    await writeFile(file, `export default ${JSON.stringify(config)}\n`)
    const args = ['run', '-c', file, '--no-indexers', '--no-api', '--shards', 'auto', '--metrics-port', '0']
    const env = { DEXRISK_LOG_LEVEL: 'info' }
    const first = startDexrisk(args, { env })
    let second: ReturnType<typeof startDexrisk> | undefined
    try {
      await first.waitFor('"shards":[0,1,2]')
      const owner = (await leases())[0]
      expect(owner).toMatch(new RegExp(`/${first.child.pid}/[0-9a-f]{8}$`))
      expect(await leases()).toEqual([owner, owner, owner])

      first.child.kill('SIGKILL')
      await first.exited
      // Killed: nothing was released; the leases still name it until they expire.
      expect(await leases()).toEqual([owner, owner, owner])

      second = startDexrisk(args, { env })
      await second.waitFor('"shards":[0,1,2]')
      const next = (await leases())[0]
      expect(next).toMatch(new RegExp(`/${second.child.pid}/[0-9a-f]{8}$`))
      expect(await leases()).toEqual([next, next, next])
      // It won each shard once: the killed process's leases had to expire first (they still named it when it started).
      const won = second.output().split('\n').filter((l) => l.includes('shard lease won'))
      expect(won).toHaveLength(SHARDS)
      expect(await redis.zrange(keys.members, '0', '-1')).toEqual([next])

      second.child.kill('SIGTERM')
      expect(await second.exited, second.output()).toBe(0)
      // A process that stops cleanly hands its shards back at once and leaves the member set.
      await waitUntil('the leases are released', async () => (await leases()).every((l) => l === null))
      expect(await redis.zrange(keys.members, '0', '-1')).toEqual([])
      expect(second.output()).toContain('left the shard leases')
    } catch (err) {
      process.stderr.write(`first:\n${first.output().slice(-3000)}\nsecond:\n${second?.output().slice(-3000) ?? ''}\n`)
      throw err
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL')
      if (second && second.child.exitCode === null) second.child.kill('SIGKILL')
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
      await db.stop()
    }
  })
})
