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
import { readBalances } from '../../src/world/traders.ts'
import { sleep } from '../../src/retry.ts'

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

  it('follows accounts added, wallets removed and wallets given to another account through the API, without a restart', async () => {
    // Runs after the test above: alice (config) and carol (API) exist; bob's wallet is in no account.
    const { monitor, caughtUp } = await monitorOf()
    const pool = monitor.pool
    const q = <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) => pool.query<T>(sql, params).then((r) => r.rows)
    /** Mines a block on each chain until `done` holds: the indexers follow a change at a range boundary. */
    const until = async (what: string, done: () => Promise<boolean>) => {
      for (let i = 0; i < 300; i++) {
        if (await done()) return
        await Promise.all(w.worlds.map((world) => createTestClient({ mode: 'anvil', transport: http(world.rpcUrl) }).mine({ blocks: 1 })))
        await sleep(200)
      }
      throw new Error(`timed out waiting for ${what}`)
    }
    const both = (rows: { n: number }[]) => rows.length === 2
    const bobWallet = w.wallets[1]!
    const carolWallet = w.wallets[2]!
    try {
      const admin = (await createApiKey(pool, { role: 'admin' })).key
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${monitor.api!.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        })
      await trade(41)
      await caughtUp()

      // Bob becomes an account while the monitor runs, and carol's wallet leaves hers.
      expect((await call('POST', '/v1/accounts', { name: 'bob', wallets: [bobWallet] })).status).toBe(201)
      expect((await call('DELETE', `/v1/accounts/carol/wallets/${carolWallet}`)).status).toBe(200)
      await until('bob followed and carol detached on both chains', async () => {
        const bob = await q<{ n: number }>(`SELECT chain_id, count(*)::int AS n FROM wallet_balances WHERE account = 'bob' GROUP BY chain_id`)
        const gone = await q<{ n: number }>(`SELECT chain_id, count(*)::int AS n FROM wallet_detachments WHERE wallet = $1 AND account = 'carol' GROUP BY chain_id`, [carolWallet])
        return both(bob) && both(gone)
      })
      await trade(51)
      await caughtUp()

      // Carol's wallet, detached at block B of each chain: her positions are the wallet's balances up
      // to B − 1, to the wei, and nothing from B on, though the wallet kept trading.
      const detachedAt = new Map(
        (await q<{ chain_id: number; block_number: string }>('SELECT chain_id, block_number::text FROM wallet_detachments WHERE wallet = $1', [carolWallet])).map((r) => [r.chain_id, BigInt(r.block_number)]),
      )
      expect([...detachedAt.keys()].sort()).toEqual(w.worlds.map((x) => x.chainId).sort())
      for (const world of w.worlds) {
        const b = detachedAt.get(world.chainId)!
        const onChain = (await readBalances(world, [carolWallet], b - 1n, { ether: true })).get(carolWallet)!
        const counted = await q<{ token: string; quantity: string }>(
          `SELECT DISTINCT ON (token) token, quantity::text FROM position_snapshots
           WHERE account = 'carol' AND chain_id = $1 AND block_number < $2 ORDER BY token, block_number DESC, time DESC`,
          [world.chainId, b.toString()],
        )
        const nonZero = (m: [string, bigint][]) => m.filter(([, v]) => v !== 0n).sort()
        expect(nonZero(counted.map((r) => [r.token, BigInt(r.quantity)]))).toEqual(nonZero([...onChain].map(([t, v]) => [t.toLowerCase(), v])))
        expect(nonZero(counted.map((r) => [r.token, BigInt(r.quantity)])).length).toBeGreaterThan(2)
        const later = await q<{ n: number }>(`SELECT count(*)::int AS n FROM position_snapshots WHERE account = 'carol' AND chain_id = $1 AND block_number > $2`, [world.chainId, b.toString()])
        expect(later[0]!.n).toBe(0)
      }
      const carolNow = await q<{ quantity: string }>(`SELECT quantity::text FROM positions WHERE account = 'carol'`)
      expect(carolNow.length).toBeGreaterThan(0)
      expect(carolNow.every((r) => r.quantity === '0')).toBe(true)
      expect(await q(`SELECT * FROM wallet_balances WHERE wallet = $1`, [carolWallet])).toEqual([])

      // Bob: every holding, his opening balances included, equal to the chain at the head.
      const heads = await headBlocks(w)
      const at = new Map([...heads].map(([chain, block]) => [chain, block - 1n]))
      const chain = await expectedPositions(w, at)
      const stored = await storedPositions((sql) => pool.query(sql))
      const of = (m: Map<string, bigint>, account: string) => [...m].filter(([k]) => k.startsWith(`${account}|`)).sort()
      expect(of(stored, 'bob').length).toBeGreaterThan(4)
      expect(of(stored, 'bob')).toEqual(of(chain, 'bob'))
      expect(of(stored, 'alice')).toEqual(of(chain, 'alice'))

      // Carol's old wallet given to a new account: opened there from its balances, to the wei.
      expect((await call('POST', '/v1/accounts', { name: 'erin', wallets: [carolWallet] })).status).toBe(201)
      await until('erin followed on both chains', async () =>
        both(await q<{ n: number }>(`SELECT chain_id, count(*)::int AS n FROM wallet_balances WHERE account = 'erin' GROUP BY chain_id`)),
      )
      await trade(61)
      await caughtUp()
      const heads2 = await headBlocks(w)
      const chain2 = await expectedPositions(w, new Map([...heads2].map(([c, block]) => [c, block - 1n])))
      const stored2 = await storedPositions((sql) => pool.query(sql))
      const asErin = of(chain2, 'carol').map(([k, v]) => [k.replace(/^carol\|/, 'erin|'), v] as [string, bigint])
      expect(of(stored2, 'erin')).toEqual(asErin)
      expect(of(stored2, 'carol')).toEqual([])
      expect(of(stored2, 'bob')).toEqual(of(chain2, 'bob'))
      expect(of(stored2, 'alice')).toEqual(of(chain2, 'alice'))
    } finally {
      await monitor.close()
    }
  })
})
