import { createPublicClient, createTestClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import { recordedStartBlock, resolveStartBlock } from '../../src/indexer/start-block.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { fundTraders, runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'

let anvil: AnvilInstance
let world: World
let traders: Awaited<ReturnType<typeof fundTraders>>
let db: EmbeddedDatabase
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)
const log = createLogger({ level: 'silent' })

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17601 })
  const deployed = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, seed: 13 })
  traders = await fundTraders(deployed, 3)
  // A minute between blocks from here on: times before the head map to known blocks.
  await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).request({ method: 'anvil_mine', params: ['0x3c', '0x3c'] } as never)
  world = { ...deployed, readyBlock: await blockNumberOf(anvil.rpcUrl) }
  db = await startEmbeddedDatabase()
  const pool = createPool({ url: db.url, max: 1 })
  await migrate(pool)
  await pool.end()
})
afterAll(async () => {
  await anvil?.stop()
  await db?.stop()
  await cleanupPrefix(redis, prefix)
  redis.disconnect()
})

const dexes = [{ family: 'uniswap-v2' as const, factory: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f' as const, startBlock: 7n }]

describe('where live following starts', () => {
  it("resolves 'latest' and a time before the head once, keeps them, and leaves a block number as it is", async () => {
    const pool = createPool({ url: db.url, max: 1 })
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    try {
      const head = await client.getBlock({ blockTag: 'latest' })
      expect(await resolveStartBlock({ pool, client, chain: { id: 1, name: 'a', startBlock: 123n, confirmations: 2, dexes }, log })).toBe(123n)
      expect(await recordedStartBlock(pool, 1)).toBeNull()

      // 'latest': the block after the confirmed head, the same after the head moved on.
      const latest = { id: 2, name: 'b', startBlock: 'latest' as const, confirmations: 2, dexes }
      expect(await resolveStartBlock({ pool, client, chain: latest, log })).toBe(head.number - 1n)
      await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 5 })
      expect(await resolveStartBlock({ pool, client, chain: latest, log })).toBe(head.number - 1n)
      expect(await recordedStartBlock(pool, 2)).toBe(head.number - 1n)

      // '-10m': the first block at or after ten minutes before the head, found here by walking back.
      const now = await client.getBlock({ blockTag: 'latest' })
      const target = Number(now.timestamp) - 600
      let first = now.number
      while (first > 0n && Number((await client.getBlock({ blockNumber: first - 1n })).timestamp) >= target) first--
      expect(first).toBeLessThan(now.number - 5n)
      expect(await resolveStartBlock({ pool, client, chain: { id: 3, name: 'c', startBlock: '-10m', confirmations: 0, dexes }, log })).toBe(first)

      // A database that followed the chain before the start was kept: the default of that time.
      await pool.query(`INSERT INTO checkpoints (shard, chain_id, last_block) VALUES (0, 4, 50)`)
      expect(await resolveStartBlock({ pool, client, chain: { id: 4, name: 'd', startBlock: 'latest', confirmations: 0, dexes }, log })).toBe(7n)
    } finally {
      await pool.end()
    }
  })

  it("a monitor started at 'latest' indexes the swaps after its start, none before", async () => {
    await runRandomTraders(world, { traders, swaps: 5, seed: 1 })
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
    input.chains.live!.startBlock = 'latest'
    input.chains.live!.confirmations = 0
    const headAtStart = await blockNumberOf(anvil.rpcUrl)
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log }) })
    try {
      await waitUntil('the indexer to start', () => monitor.indexers[0]!.cursor() >= 0n)
      expect(await recordedStartBlock(monitor.pool, world.chainId)).toBe(headAtStart + 1n)
      const after = await runRandomTraders(world, { traders, swaps: 7, seed: 2 })
      await waitForCheckpoints(monitor.workers, new Map([[world.chainId, await blockNumberOf(anvil.rpcUrl)]]))
      const rows = await monitor.pool.query<{ n: number; first: string }>('SELECT count(*)::int AS n, min(block_number)::text AS first FROM swaps WHERE chain_id = $1', [world.chainId])
      expect(rows.rows[0]!.n).toBe(after.swaps.reduce((n, s) => n + s.path.length - 1, 0))
      expect(BigInt(rows.rows[0]!.first)).toBeGreaterThan(headAtStart)
    } finally {
      await monitor.close()
    }
  })
})
