import { createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/api/key-store.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { startMonitor, type Monitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { expectedPositions, headBlocks, startLocalWorlds, storedPositions, type LocalWorlds } from '../setup/worlds.ts'
import { Redis } from 'ioredis'

let w: LocalWorlds
let db: EmbeddedDatabase
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)

beforeAll(async () => {
  w = await startLocalWorlds({ traders: 3, chainIds: [17201, 17202] })
  db = await startEmbeddedDatabase()
})
afterAll(async () => {
  await w?.stop()
  await db?.stop()
  await cleanupPrefix(redis, prefix)
  redis.disconnect()
})

/** A monitor of the worlds with only alice in the config, serving the API on a free port. */
async function monitorOf(): Promise<{ monitor: Monitor; caughtUp(): Promise<void> }> {
  const input = worldConfig(w.named, { accounts: { alice: [w.wallets[0]!] }, shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
  // One confirmation: see test/e2e/balances.test.ts (anvil's head-block reads while mining).
  for (const c of Object.values(input.chains)) c.confirmations = 1
  input.api = { port: 0 }
  const config = parseConfig(input, {})
  let stopped: (err: Error) => void = () => {}
  const fatal = new Promise<never>((_, reject) => (stopped = reject))
  fatal.catch(() => {})
  const monitor = await startMonitor({ common: createCommon(config, { log: createLogger() }), api: true, onFatal: (err) => stopped(err) })
  return {
    monitor,
    caughtUp: async () => {
      const heads = await headBlocks(w)
      await Promise.all(w.worlds.map((world) => createTestClient({ mode: 'anvil', transport: http(world.rpcUrl) }).mine({ blocks: 1 })))
      await Promise.race([waitForCheckpoints(monitor.workers, heads), fatal])
    },
  }
}

const trade = (seed: number) => Promise.all(w.worlds.map((world, i) => runRandomTraders(world, { traders: w.traders[i]!, swaps: 15, seed: seed + i })))

describe('accounts managed through the API', () => {
  it('an account created through the API is followed from the next start, its opening balances included', async () => {
    const first = await monitorOf()
    let admin: string
    try {
      await trade(11)
      await first.caughtUp()
      admin = (await createApiKey(first.monitor.pool, { role: 'admin' })).key
      const res = await fetch(`${first.monitor.api!.url}/v1/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'carol', wallets: [w.wallets[2]] }),
      })
      expect(res.status).toBe(201)
    } finally {
      await first.monitor.close()
    }
    // Carol trades while no monitor runs, then the next start follows her from where indexing resumes.
    await trade(21)
    const second = await monitorOf()
    try {
      await trade(31)
      await second.caughtUp()
      const heads = await headBlocks(w)
      const head = new Map([...heads].map(([chain, block]) => [chain, block - 1n]))
      const chain = await expectedPositions(w, head)
      const stored = await storedPositions((sql) => second.monitor.pool.query(sql))
      const of = (m: Map<string, bigint>, account: string) => [...m].filter(([k]) => k.startsWith(`${account}|`)).sort()
      // Carol's wallet was funded before indexing began: all of it is an opening balance.
      expect(of(stored, 'carol').length).toBeGreaterThan(4)
      expect(of(stored, 'carol')).toEqual(of(chain, 'carol'))
      expect(of(stored, 'alice')).toEqual(of(chain, 'alice'))
      // Bob is in no account: nothing of his is kept.
      expect(of(stored, 'bob')).toEqual([])
      const accounts = await second.monitor.pool.query<{ name: string; source: string }>('SELECT name, source FROM accounts ORDER BY name')
      expect(accounts.rows).toEqual([
        { name: 'alice', source: 'config' },
        { name: 'carol', source: 'api' },
      ])
    } finally {
      await second.monitor.close()
    }
  })
})
