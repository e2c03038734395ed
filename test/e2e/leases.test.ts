import { Redis } from 'ioredis'
import type pg from 'pg'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createCommon } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { startLeasedWorkers } from '../../src/runtime/leased-workers.ts'
import { fairShare, leaseKeys, type ShardLeases } from '../../src/runtime/shard-leases.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { sleep } from '../../src/retry.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import type { RiskWorker } from '../../workers/risk/risk-worker.ts'
import { seriesOf } from '../metrics/metric-values.ts'
import { captureLog, type CapturedLog } from '../setup/capture-log.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { startTcpProxy } from '../setup/tcp-proxy.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { expectedPositions, headBlocks, startLocalWorlds, startTrading as startWorldTrading, storedPositions, type LocalWorlds, type Trading } from '../setup/worlds.ts'

const SHARDS = 4
/** Short, so that a dead member's shards move quickly; every wait below is for a state, never a pass condition on time. */
const LEASE_TTL_MS = 2_000
const ROUND_SWAPS = 10

let w: LocalWorlds

beforeAll(async () => {
  w = await startLocalWorlds({ traders: 4, chainIds: [17501, 17502] })
})
afterAll(async () => {
  await w?.stop()
})

/** alice … dave swap at random on both chains, round after round, until stopped. */
function startTrading(): Trading {
  let seed = 900
  return startWorldTrading(w, { traders: w.traders[0]!.length, roundSwaps: ROUND_SWAPS, seed: () => seed++ })
}

/**
 * The pool a member's workers use, which the test can sever: from then on every query fails, as a
 * killed process's connection would (a query already handed to the shared pool still runs, as a
 * statement already sent by a process killed after sending it does).
 */
function severablePool(pool: pg.Pool): { pool: pg.Pool; sever(): void } {
  let severed = false
  const dead = (): Promise<never> => Promise.reject(new Error('simulated kill: this worker process and its database connection are gone'))
  const proxy = new Proxy(pool, {
    get(target, prop) {
      if (severed && (prop === 'query' || prop === 'connect')) return dead
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  return { pool: proxy, sever: () => (severed = true) }
}

/**
 * A pool whose batch writes (the statements carrying the checkpoint fence) the test can hold back
 * and let go later: a member frozen mid-batch (a long GC pause) whose write reaches the database
 * after it wakes up. Every other query goes through.
 */
function gatedPool(pool: pg.Pool): { pool: pg.Pool; hold(): void; held(): number; release(): void } {
  let holding = false
  const held: (() => void)[] = []
  const isBatchWrite = (q: unknown): boolean => {
    const text = typeof q === 'string' ? q : (q as { text?: unknown } | undefined)?.text
    return typeof text === 'string' && text.includes('dexrisk_checkpoint_moved')
  }
  const proxy = new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query')
        return (...args: unknown[]) => {
          const run = () => (target.query as (...a: unknown[]) => Promise<unknown>)(...args)
          if (!holding || !isBatchWrite(args[0])) return run()
          return new Promise((resolve, reject) => held.push(() => void run().then(resolve, reject)))
        }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  return {
    pool: proxy,
    hold: () => (holding = true),
    held: () => held.length,
    release: () => {
      holding = false
      for (const go of held.splice(0)) go()
    },
  }
}

/** The members hold disjoint shard sets covering every shard, each its fair share, each shard's worker running. */
function converged(members: ShardLeases<RiskWorker>[]): boolean {
  const held = members.map((m) => m.held())
  const all = held.flat()
  if (all.length !== SHARDS || new Set(all).size !== SHARDS) return false
  const ids = members.map((m) => m.member)
  return members.every((m, i) => held[i]!.length === fairShare(SHARDS, ids, m.member) && m.workers().length === held[i]!.length)
}

async function checkpoints(pool: pg.Pool): Promise<Map<string, bigint>> {
  const r = await pool.query<{ shard: number; chain_id: number; last_block: string }>('SELECT shard, chain_id, last_block::text AS last_block FROM checkpoints')
  return new Map(r.rows.map((x) => [`${x.shard}|${x.chain_id}`, BigInt(x.last_block)]))
}

/** Swap events of the world's pools after the ready block, counted straight from the chain. */
async function onChainSwapCount(heads: Map<number, bigint>): Promise<number> {
  let n = 0
  for (const world of w.worlds) {
    const client = createPublicClient({ transport: http(world.rpcUrl) })
    const logs = (await client.request({
      method: 'eth_getLogs',
      params: [{ fromBlock: `0x${world.readyBlock.toString(16)}`, toBlock: `0x${heads.get(world.chainId)!.toString(16)}`, topics: [[V2_SWAP_TOPIC, V3_SWAP_TOPIC]] }],
    } as never)) as { address: string }[]
    const pools = new Set(world.pools.map((p) => p.address.toLowerCase()))
    n += logs.filter((l) => pools.has(l.address.toLowerCase())).length
  }
  return n
}

/** Positions equal the chains' balances to the wei, and every swap on chain is stored exactly once. */
async function expectExact(pool: pg.Pool, heads: Map<number, bigint>): Promise<void> {
  const stored = await storedPositions((q) => pool.query(q))
  const expected = await expectedPositions(w, heads)
  expect(expected.size).toBeGreaterThanOrEqual(16)
  expect(stored).toEqual(expected)
  const onChain = await onChainSwapCount(heads)
  expect(onChain).toBeGreaterThanOrEqual(ROUND_SWAPS * 3 * w.worlds.length)
  const swaps = await pool.query<{ n: string; keys: string; trades: string; tradeKeys: string }>(
    `SELECT count(*) AS n, (SELECT count(*) FROM (SELECT DISTINCT chain_id, tx_hash, log_index FROM swaps) d) AS keys,
       (SELECT count(*) FROM account_trades) AS trades,
       (SELECT count(*) FROM (SELECT DISTINCT chain_id, tx_hash, log_index FROM account_trades) t) AS "tradeKeys" FROM swaps`,
  )
  expect(swaps.rows[0]).toEqual({ n: String(onChain), keys: String(onChain), trades: String(onChain), tradeKeys: String(onChain) })
}

/** Waits until every shard has applied both chains up to `heads` (read from the database). */
async function caughtUp(pool: pg.Pool, heads: Map<number, bigint>): Promise<void> {
  await waitUntil(
    'every shard applies both chains up to the heads',
    async () => {
      const cps = await checkpoints(pool)
      return Array.from({ length: SHARDS }, (_, s) => s).every((s) => w.worlds.every((world) => (cps.get(`${s}|${world.chainId}`) ?? -1n) >= heads.get(world.chainId)!))
    },
    180_000,
  )
}

describe('worker processes with --shards auto, joining and dying mid-run', () => {
  it('ends with positions equal to the chain to the wei and no swap twice, after a member joins mid-run and another is killed (simulated in-process) mid-run', { timeout: 400_000 }, async () => {
    const db = await startEmbeddedDatabase()
    const prefix = uniquePrefix()
    const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
    input.queue = { ...input.queue, leaseTtlMs: LEASE_TTL_MS }
    // Small ranges: many batches per shard, so that the join and the kill fall between (or inside) batches.
    for (const c of Object.values(input.chains)) c.maxBlockRange = 4
    const config = parseConfig(input, {})
    const logs: Record<'a' | 'b' | 'c', CapturedLog> = { a: captureLog('info'), b: captureLog('info'), c: captureLog('info') }
    const applied = { a: 0, b: 0, c: 0 }
    // Member c reaches Redis through a proxy the test cuts, and the database through a pool it severs.
    const redisPort = Number(new URL(TEST_REDIS_URL).port || 6379)
    const proxy = await startTcpProxy({ host: new URL(TEST_REDIS_URL).hostname, port: redisPort })
    const commonA = createCommon(config, { log: logs.a.logger })
    const monitor = await startMonitor({ common: commonA, shards: 'auto', onBatchApplied: () => applied.a++ })
    const a = monitor.leases!
    const cPool = severablePool(monitor.pool)
    let b: ShardLeases<RiskWorker> | undefined
    let c: ShardLeases<RiskWorker> | undefined
    const trading = startTrading()
    try {
      c = startLeasedWorkers({
        common: createCommon(config, { log: logs.c.logger }),
        pool: cPool.pool,
        redisUrl: `redis://127.0.0.1:${proxy.port}`,
        member: 'member-c',
        onBatchApplied: () => applied.c++,
      })
      await waitUntil('members a and c share the shards', () => converged([a, c!]), 120_000)
      await waitUntil('a and c both apply batches', () => applied.a > 0 && applied.c > 0, 120_000)
      await trading.oneMoreRound()

      // A second worker process joins mid-run: it gets its share, handed over at batch boundaries.
      b = startLeasedWorkers({ common: createCommon(config, { log: logs.b.logger }), pool: monitor.pool, redisUrl: TEST_REDIS_URL, member: 'member-b', onBatchApplied: () => applied.b++ })
      await waitUntil('a, b and c share the shards', () => converged([a, b!, c!]), 120_000)
      await trading.oneMoreRound()
      await waitUntil('b applies batches', () => applied.b > 0, 120_000)

      // Member c is killed mid-run (simulated fault, in-process): it stops renewing its leases and
      // heartbeat without releasing anything, its Redis connections are cut and its database
      // connection severed; its workers are never closed. Only the lease expiry frees its shards.
      const cShards = c.held()
      expect(cShards.length).toBeGreaterThanOrEqual(1)
      const beforeKill = await checkpoints(monitor.pool)
      c.abandon()
      proxy.cut()
      cPool.sever()
      await waitUntil('a and b take over the killed member’s shards', () => converged([a, b!]), 120_000)
      for (const s of cShards) expect([...a.held(), ...b.held()]).toContain(s)

      await trading.oneMoreRound()
      await trading.stop()
      const heads = await headBlocks(w)
      // The kill was mid-run: each of c's shards had blocks left to apply after it.
      for (const s of cShards) for (const world of w.worlds) expect(beforeKill.get(`${s}|${world.chainId}`) ?? -1n).toBeLessThan(heads.get(world.chainId)!)
      await caughtUp(monitor.pool, heads)
      await expectExact(monitor.pool, heads)

      // What the survivors logged at error level or above can only be a checkpoint fence lost to
      // c's last batch (a worker then restarts from the database); nothing else stopped.
      for (const who of ['a', 'b'] as const) {
        const bad = logs[who].entries.filter((e) => e.level >= 50 && !/checkpoint moved under this worker/.test(String(e.err ?? '')))
        expect(bad, `${who}: ${JSON.stringify(bad)}`).toEqual([])
      }
      // Each member logged the shards it holds at every change; the last line is what it holds now,
      // and so does its gauge.
      for (const [who, m] of [['a', a], ['b', b]] as const) {
        const lines = logs[who].matching(/^shards held by this worker process changed$/, { member: m.member })
        expect(lines.at(-1)?.shards, who).toEqual(m.held())
      }
      expect(await seriesOf(commonA.metrics.registry, 'dexrisk_shard_lease_held')).toEqual(
        Object.fromEntries(Array.from({ length: SHARDS }, (_, s) => [`shard=${s}`, a.held().includes(s) ? 1 : 0])),
      )
    } catch (err) {
      for (const who of ['a', 'b', 'c'] as const) process.stderr.write(`member ${who} logged:\n${logs[who].entries.map((e) => JSON.stringify(e)).join('\n').slice(-4000)}\n`)
      throw err
    } finally {
      await trading.stop().catch(() => {})
      // The killed member's leftovers are closed with its network back, so nothing outlives the test.
      proxy.heal()
      await Promise.race([Promise.all((c?.workers() ?? []).map((x) => x.close())), sleep(10_000)])
      await b?.close()
      await monitor.close()
      await proxy.close()
      await db.stop()
      const redis = new Redis(TEST_REDIS_URL)
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
    }
  })

  it('refuses by the checkpoint fence the late batch write of a member frozen past its lease (a long GC pause, simulated in-process), and restarts every worker whose lease Redis lost; positions still equal the chain', { timeout: 400_000 }, async () => {
    const db = await startEmbeddedDatabase()
    const prefix = uniquePrefix()
    const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
    input.queue = { ...input.queue, leaseTtlMs: LEASE_TTL_MS }
    for (const c of Object.values(input.chains)) c.maxBlockRange = 4
    const config = parseConfig(input, {})
    const logs: Record<'a' | 'd', CapturedLog> = { a: captureLog('info'), d: captureLog('info') }
    const applied = { a: 0, d: 0 }
    const proxy = await startTcpProxy({ host: new URL(TEST_REDIS_URL).hostname, port: Number(new URL(TEST_REDIS_URL).port || 6379) })
    const redis = new Redis(TEST_REDIS_URL)
    const monitor = await startMonitor({ common: createCommon(config, { log: logs.a.logger }), shards: 'auto', onBatchApplied: () => applied.a++ })
    const a = monitor.leases!
    const gate = gatedPool(monitor.pool)
    let d: ShardLeases<RiskWorker> | undefined
    const trading = startTrading()
    try {
      d = startLeasedWorkers({ common: createCommon(config, { log: logs.d.logger }), pool: gate.pool, redisUrl: `redis://127.0.0.1:${proxy.port}`, member: 'member-d', onBatchApplied: () => applied.d++ })
      await waitUntil('members a and d share the shards', () => converged([a, d!]), 120_000)
      await waitUntil('a and d both apply batches', () => applied.a > 0 && applied.d > 0, 120_000)
      await trading.oneMoreRound()

      // Member d freezes in the middle of a batch: its write is held back, its Redis traffic (lease
      // renewals, heartbeats, BullMQ's job lock) stops. It is not killed: it will wake up.
      const dShards = d.held()
      gate.hold()
      await waitUntil('d has a batch write in hand', () => gate.held() >= 1, 120_000)
      proxy.cut()
      await waitUntil('a takes every shard once d’s leases expired', () => converged([a]), 120_000)
      await trading.oneMoreRound()
      // a has applied, on d's shards too, every block up to here: past the batch d holds.
      await caughtUp(monitor.pool, await headBlocks(w))
      gate.release()
      await waitUntil('d’s late write is refused by the checkpoint fence', () =>
        logs.d.matching(/^shard stopped/).some((e) => dShards.includes(e.shard as number) && /checkpoint moved under this worker/.test(String(e.err))),
      )
      // d had given the lease up: its worker is not restarted (only a lease holder's would be).
      expect(logs.d.matching(/^restarting the shard worker/)).toEqual([])
      expect(logs.d.matching(/^shard lease lost/).map((e) => e.shard).sort()).toEqual(dShards)

      // Redis loses the leases (as after a restart without persistence): a's workers stop, each at
      // its batch boundary, and a wins its shards again with fresh workers.
      const keys = leaseKeys(prefix)
      await redis.del(...Array.from({ length: SHARDS }, (_, s) => keys.shard(s)), keys.members)
      await waitUntil('a loses every lease and wins every shard again', () => logs.a.matching(/^shard lease lost/).length >= SHARDS && converged([a]), 120_000)

      await trading.oneMoreRound()
      await trading.stop()
      const heads = await headBlocks(w)
      await caughtUp(monitor.pool, heads)
      await expectExact(monitor.pool, heads)
      // a never lost the fence (d's write came after a had moved the checkpoint) and nothing stopped.
      expect(logs.a.entries.filter((e) => e.level >= 50)).toEqual([])
    } catch (err) {
      for (const who of ['a', 'd'] as const) process.stderr.write(`member ${who} logged:\n${logs[who].entries.map((e) => JSON.stringify(e)).join('\n').slice(-4000)}\n`)
      throw err
    } finally {
      await trading.stop().catch(() => {})
      const leaving = d?.close()
      gate.release()
      proxy.heal()
      await Promise.race([leaving, sleep(15_000)])
      await monitor.close()
      await proxy.close()
      await db.stop()
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
    }
  })
})
