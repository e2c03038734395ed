import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/api/key-store.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import type { DbLogger } from '../../src/db/pool.ts'
import { createRedisConnection, describeRedis, type RedisTarget } from '../../src/db/redis.ts'
import { accountKey, checkpointKey, updatesChannel } from '../../src/read-model/keys.ts'
import { shardOf, shardQueueName } from '../../src/queue/shard-of.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { webhookQueueName } from '../../workers/webhook/webhook-queue.ts'
import { startRedisCluster, type LocalRedisCluster } from '../setup/redis-cluster.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { expectedPositions, headBlocks, startLocalWorlds, storedPositions, type LocalWorlds } from '../setup/worlds.ts'

const SHARDS = 3
let cluster: LocalRedisCluster
let w: LocalWorlds
let heads: Map<number, bigint>

beforeAll(async () => {
  ;[cluster, w] = await Promise.all([startRedisCluster(), startLocalWorlds({ traders: 6, chainIds: [17401, 17402] })])
  // One stream of swaps, traded once: both runs below index the same blocks.
  const runs = await Promise.all(w.worlds.map((world, i) => runRandomTraders(world, { traders: w.traders[i]!, swaps: 60, seed: 41 + i })))
  for (const r of runs) expect(r.swapsSent).toBe(60)
  heads = await headBlocks(w)
}, 180_000)
afterAll(async () => {
  await w?.stop()
  await cluster?.stop()
})

type Run = { positions: Map<string, bigint>; summaries: Map<string, string | null>; checkpoints: Record<string, string>[]; published: string[] }

/**
 * The real monitor, indexers and three risk workers (and the webhook worker) in this process, on
 * `redis`, over the two chains up to `heads`, with a fresh embedded database: the positions it
 * stored, each account's read-model summary and each shard's Redis checkpoint, read back through a
 * client of the same kind (`read`), and the accounts whose updates a subscriber of the factory
 * received. One request through the API (rate limit in Redis, summary from the read model) must
 * answer the same summary.
 */
async function runMonitor(redis: RedisTarget, prefix: string, read: () => Redis | Cluster): Promise<Run> {
  const db = await startEmbeddedDatabase()
  try {
    const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, queuePrefix: prefix })
    input.redis = typeof redis === 'string' ? { url: redis } : { cluster: [...redis.cluster] }
    input.api = { port: 0 }
    const config = parseConfig(input, {})
    // Pub/sub: on a cluster the workers publish inside their shard's MULTI, on the node of its slot,
    // and the subscriber listens on whichever node it picked.
    const sub = createRedisConnection(redis, { name: 'dexrisk-test-updates' })
    const published = new Set<string>()
    sub.on('message', (_channel: string, message: string) => published.add((JSON.parse(message) as { account: string }).account))
    await sub.subscribe(updatesChannel(prefix))
    let stopped: (err: Error) => void = () => {}
    const fatal = new Promise<never>((_, reject) => (stopped = reject))
    fatal.catch(() => {})
    const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }), api: true, onFatal: (err) => stopped(err) })
    try {
      expect(monitor.workers.map((x) => x.shard)).toEqual([0, 1, 2])
      await Promise.race([waitForCheckpoints(monitor.workers, heads, 180_000), fatal])
      const positions = await storedPositions((q) => monitor.pool.query(q))
      await waitUntil('every account was published', () => published.size === Object.keys(w.accounts).length)
      const client = read()
      try {
        const summaries = new Map<string, string | null>()
        for (const account of Object.keys(w.accounts)) summaries.set(account, await client.get(accountKey(prefix, shardOf(account, SHARDS), account)))
        const checkpoints = await Promise.all(Array.from({ length: SHARDS }, (_, s) => client.hgetall(checkpointKey(prefix, s))))
        // The API on the same Redis: its rate limit (a Lua script on one key) and its read of the summary.
        const account = Object.keys(w.accounts)[0]!
        const key = (await createApiKey(monitor.pool, { role: 'account', account })).key
        const res = await fetch(`${monitor.api!.url}/v1/accounts/${account}/risk`, { headers: { authorization: `Bearer ${key}` } })
        expect(res.status).toBe(200)
        expect(JSON.stringify(await res.json())).toBe(summaries.get(account))
        return { positions, summaries, checkpoints, published: [...published].sort() }
      } finally {
        client.disconnect()
      }
    } finally {
      await monitor.close()
      sub.disconnect()
    }
  } finally {
    await db.stop()
  }
}

/** node id → the keys of `prefix` stored on that master, read from each node itself. */
async function keysByNode(nodes: string[], prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const url of nodes) {
    const r = new Redis(url)
    try {
      const keys: string[] = []
      let cursor = '0'
      do {
        const [next, batch] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        cursor = next
        keys.push(...batch)
      } while (cursor !== '0')
      out.set(url, keys)
    } finally {
      r.disconnect()
    }
  }
  return out
}

describe('Redis Cluster', () => {
  it('three shard workers on a real 3-node cluster end with the positions of a run on one Redis, and of the chains, to the wei', async () => {
    const clusterPrefix = uniquePrefix()
    const plainPrefix = uniquePrefix()
    const target = { cluster: cluster.nodes }
    const onCluster = await runMonitor(target, clusterPrefix, () => new Cluster(cluster.nodes.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) }))))

    // The keys really are spread: each shard's queue, read model and checkpoint on the node that
    // owns its hash tag's slot, and the shards' queues on more than one node.
    const byNode = await keysByNode(cluster.nodes, clusterPrefix)
    const nodeOf = (key: string): string => [...byNode].find(([, keys]) => keys.includes(key))?.[0] ?? 'nowhere'
    const queueNodes = Array.from({ length: SHARDS }, (_, s) => nodeOf(`${clusterPrefix}:${shardQueueName(s)}:meta`))
    expect(queueNodes).not.toContain('nowhere')
    expect(new Set(queueNodes).size).toBeGreaterThan(1)
    for (let s = 0; s < SHARDS; s++) expect(nodeOf(checkpointKey(clusterPrefix, s))).toBe(queueNodes[s])
    expect(nodeOf(`${clusterPrefix}:${webhookQueueName()}:meta`)).not.toBe('nowhere')
    expect([...byNode.values()].filter((keys) => keys.length > 0).length).toBeGreaterThan(1)

    const plain = await runMonitor(TEST_REDIS_URL, plainPrefix, () => new Redis(TEST_REDIS_URL))
    const redis = new Redis(TEST_REDIS_URL)
    await cleanupPrefix(redis, plainPrefix)
    redis.disconnect()

    const chain = await expectedPositions(w, heads)
    expect(chain.size).toBeGreaterThanOrEqual(20)
    expect(onCluster.positions).toEqual(plain.positions)
    expect(onCluster.positions).toEqual(chain)
    // The read model the API serves: a summary of every account, holding the same quantities (its
    // other figures depend on the order the two chains' batches interleaved, which no two runs share),
    // and the same checkpoints.
    expect([...onCluster.summaries.values()].every((s) => s !== null)).toBe(true)
    const held = (summaries: Map<string, string | null>) =>
      new Map(
        [...summaries].map(([account, json]) => [
          account,
          (JSON.parse(json!) as { metrics: { exposureByToken: { chainId: number; token: string; quantity: string }[] } }).metrics.exposureByToken
            .map((t) => `${t.chainId}|${t.token}|${t.quantity}`)
            .sort(),
        ]),
      )
    expect(held(onCluster.summaries)).toEqual(held(plain.summaries))
    expect([...held(onCluster.summaries).values()].every((tokens) => tokens.length > 4)).toBe(true)
    expect(onCluster.checkpoints).toEqual(plain.checkpoints)
    expect(onCluster.published).toEqual(Object.keys(w.accounts).sort())
    expect(onCluster.published).toEqual(plain.published)
    const wanted = Object.fromEntries([...heads].map(([chainId, block]) => [String(chainId), block.toString()]))
    for (const cp of onCluster.checkpoints) expect(cp).toEqual(wanted)
  }, 600_000)

  it('a client of the factory on the cluster logs its nodes with the password hidden, and MULTI of one shard runs on one node', async () => {
    expect(describeRedis({ cluster: ['redis://:secret@127.0.0.1:7000', 'redis://127.0.0.1:7001'] })).toBe('cluster(redis://***@127.0.0.1:7000, redis://127.0.0.1:7001)')
    const prefix = uniquePrefix()
    const client = createRedisConnection({ cluster: cluster.nodes }, { name: 'dexrisk-test' })
    try {
      expect(client).toBeInstanceOf(Cluster)
      const tx = client.multi()
      tx.hset(checkpointKey(prefix, 1), '1', '7')
      tx.set(accountKey(prefix, 1, 'alice'), '{}')
      tx.publish(`${prefix}:updates`, '{}')
      const results = await tx.exec()
      expect(results?.every(([err]) => err === null)).toBe(true)
      // Keys of two shards in one MULTI are refused by the cluster: why each MULTI is one shard's.
      const cross = client.multi()
      cross.set(accountKey(prefix, 0, 'a'), '1')
      cross.set(accountKey(prefix, 1, 'b'), '1')
      await expect(cross.exec()).rejects.toThrow(/CROSSSLOT|slot/i)
    } finally {
      client.disconnect()
    }
  })

  it('on a cluster that goes away, a fail-fast client errors instead of waiting, and the log is throttled with the password hidden', async () => {
    const password = 'not-in-any-log'
    const own = await startRedisCluster({ password })
    const lines: { msg: string; obj: Record<string, unknown> }[] = []
    const record = (obj: object, msg?: string): void => void lines.push({ msg: msg ?? '', obj: obj as Record<string, unknown> })
    const log: DbLogger = { warn: record, info: record, error: record }
    // As the risk worker's read-model client: maxRetriesPerRequest 1.
    const client = createRedisConnection({ cluster: own.nodes }, { log, name: 'dexrisk-test', options: { maxRetriesPerRequest: 1 } })
    try {
      await client.set('k:{0}', '1')
      expect(await client.get('k:{0}')).toBe('1')
      await own.stop()
      const started = Date.now()
      // Commands during the outage fail (the caller's retry sees it), none waits for the cluster.
      for (let i = 0; i < 5; i++) {
        await expect(client.set('k:{0}', '2')).rejects.toThrow()
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      expect(Date.now() - started).toBeLessThan(15_000)
      expect(lines.some((l) => l.msg === 'Redis connection lost; reconnecting')).toBe(true)
      const errors = lines.filter((l) => l.msg === 'Redis connection error')
      // Each message at most once per 10 s, however often the cluster retries.
      const messages = errors.map((l) => String(l.obj.err))
      expect(new Set(messages).size).toBe(messages.length)
      expect(JSON.stringify(lines)).not.toContain(password)
      expect(String(errors[0]?.obj.redis)).toContain('redis://***@127.0.0.1:')
    } finally {
      client.disconnect()
      await own.stop()
    }
  })
})
