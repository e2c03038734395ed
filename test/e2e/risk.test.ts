import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { createPublicClient, encodeDeployData, encodeFunctionData, getContractAddress, http, type Address, type Hex } from 'viem'
import { CHAINLINK_USD } from '../../indexers/chainlink/abi.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { worldArtifacts } from '../../src/world/artifacts.ts'
import { createSender, waitForReceipts } from '../../src/world/sender.ts'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import type { TradeBatch } from '../../src/queue/batch.ts'
import { shardOf } from '../../src/queue/shard-of.ts'
import { upsertRule } from '../../src/risk/rule-store.ts'
import { parseRule } from '../../src/risk/rules.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { accountKey, type AccountSummary } from '../../src/read-model/keys.ts'
import { storedMetrics } from '../../workers/risk/risk-store.ts'
import { loadRules, replayShard } from '../../workers/risk/shard-setup.ts'
import { createEndpoint } from '../../workers/webhook/endpoint-store.ts'
import { parseAllowList } from '../../workers/webhook/ssrf-guard.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { headBlocks, startLocalWorlds, type LocalWorlds } from '../setup/worlds.ts'

const SHARDS = 2
let w: LocalWorlds
let receiver: Server
const received: { headers: Record<string, string>; body: string }[] = []

beforeAll(async () => {
  w = await startLocalWorlds({ traders: 4 })
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve))
  await w?.stop()
})

const bigints = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v)

describe('the risk engine, end to end on two local chains', () => {
  it('fires rules once, halts an account, delivers signed webhooks, and replays to identical snapshots and alerts', async () => {
    const db = await startEmbeddedDatabase()
    const prefix = uniquePrefix()
    const redis = new Redis(TEST_REDIS_URL)
    try {
      const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
      // Block time on anvil is wall time: a 5 s horizon gives the return history a few buckets in a run.
      input.risk = { horizonSeconds: 5, windowSize: 50, minHistory: 2, repriceIntervalSeconds: 0 }
      input.webhooks = { allow: ['127.0.0.1/32'], backoffBaseMs: 100 }
      const config = parseConfig(input, {})

      // Rules and the endpoint exist before the first batch, so the replay below sees the same rules.
      const setupPool = createPool({ url: db.url, max: 1 })
      const port = (receiver.address() as AddressInfo).port
      let secret: string
      try {
        await migrate(setupPool)
        await upsertRule(setupPool, parseRule({ id: 'alice.exposure', account: 'alice', metric: 'grossExposureUsd', op: 'above', threshold: 1, cooldownSeconds: 3600 }))
        await upsertRule(setupPool, parseRule({ id: 'bob.overtrading', account: 'bob', metric: 'swaps1h', op: 'above', threshold: 2, severity: 'critical', action: 'halt' }))
        const endpoint = await createEndpoint(setupPool, { account: null, url: `http://127.0.0.1:${port}/hook` }, { allow: parseAllowList(['127.0.0.1/32']) })
        secret = endpoint.secret
      } finally {
        await setupPool.end()
      }

      const applied = new Map<number, TradeBatch[]>(Array.from({ length: SHARDS }, (_, s) => [s, []]))
      const monitor = await startMonitor({
        common: createCommon(config, { log: createLogger({ level: 'silent' }) }),
        onBatchApplied: (info) => applied.get(info.shard)!.push(info.batch),
      })
      try {
        await Promise.all(w.worlds.map((world, i) => runRandomTraders(world, { traders: w.traders[i]!, swaps: 40, seed: 31 + i })))
        await waitForCheckpoints(monitor.workers, await headBlocks(w))
        const pool = monitor.pool

        // alice's rule: crossed at her first computation, then held for the rest of the run: one firing.
        const alice = await pool.query<{ state: string; value: number; metrics: { grossExposureUsd: number } }>(
          "SELECT state, value, metrics FROM alerts WHERE rule_id = 'alice.exposure'",
        )
        expect(alice.rows).toHaveLength(1)
        expect(alice.rows[0]!.state).toBe('firing')
        expect(alice.rows[0]!.value).toBeGreaterThan(1)
        expect(alice.rows[0]!.value).toBe(alice.rows[0]!.metrics.grossExposureUsd)

        // bob's halt rule: halted, kept in the database and shown in the read model.
        const halt = await pool.query<{ halted: boolean; rule_id: string }>("SELECT halted, rule_id FROM account_halts WHERE account = 'bob'")
        expect(halt.rows).toEqual([{ halted: true, rule_id: 'bob.overtrading' }])
        const bob = JSON.parse((await redis.get(accountKey(prefix, shardOf('bob', SHARDS), 'bob')))!) as AccountSummary
        expect(bob.halted).toBe(true)
        expect(bob.metrics.swaps1h).toBeGreaterThan(2)

        // Every alert and the halt reached the receiver once, signed.
        const alerts = await pool.query<{ id: string; state: string }>('SELECT id, state FROM alerts ORDER BY time, id, state')
        const expectedEvents = alerts.rows.length + 1
        await waitUntil('every webhook delivered', () => received.length >= expectedEvents)
        const hook = new Webhook(secret)
        const bodies = received.map((r) => hook.verify(r.body, r.headers) as { type: string; data: { id?: string; state?: string; account: string } })
        const keys = bodies.map((b) => (b.type === 'account.halted' ? `halt:${b.data.account}` : `${b.data.id}|${b.data.state}`)).sort()
        expect(keys).toEqual([...alerts.rows.map((a) => `${a.id}|${a.state}`), 'halt:bob'].sort())
        expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(expectedEvents)

        // A replay of the batches each shard applied, twice, from empty state: byte-identical, and
        // equal to what the live workers wrote.
        const rules = await loadRules(pool)
        const replay = (): string => JSON.stringify([...applied].map(([s, batches]) => replayShard(config, rules, s, batches)), bigints)
        const first = replay()
        expect(replay()).toBe(first)
        const replayed = [...applied].map(([s, batches]) => replayShard(config, rules, s, batches))
        const stored = await pool.query<{ account: string; chain_id: number; block_number: string; metrics: unknown; figures: unknown[] }>(
          `SELECT account, chain_id, block_number::text, metrics,
             json_build_array(equity_usd, gross_exposure_usd, net_exposure_usd, unpriced_positions, total_pnl_usd, drawdown_pct, var95_usd, var99_usd,
               es99_usd, parametric_var99_usd, swaps_24h, volume_24h_usd, var_method) AS figures
           FROM risk_snapshots`,
        )
        const storedByKey = new Map(stored.rows.map((r) => [`${r.account}|${r.chain_id}|${r.block_number}`, { metrics: r.metrics, figures: r.figures }]))
        const figures = (m: AccountSummary['metrics']): unknown[] =>
          JSON.parse(
            JSON.stringify([m.equityUsd, m.grossExposureUsd, m.netExposureUsd, m.unpricedPositions, m.totalPnlUsd, m.drawdownPct, m.var95Usd, m.var99Usd, m.es99Usd, m.parametricVar99Usd, m.swaps24h, m.volume24hUsd, m.varMethod]),
          ) as unknown[]
        const replayedSnapshots = replayed.flatMap((r) => r.snapshots)
        expect(replayedSnapshots.length).toBe(stored.rows.length)
        // At least one snapshot per account and chain (every account holds tokens on both).
        expect(replayedSnapshots.length).toBeGreaterThanOrEqual(8)
        for (const s of replayedSnapshots)
          expect(storedByKey.get(`${s.account}|${s.chainId}|${s.block}`)).toEqual({ metrics: JSON.parse(JSON.stringify(storedMetrics(s.metrics))), figures: figures(s.metrics) })
        const replayedAlerts = replayed.flatMap((r) => r.alerts).map((a) => `${a.id}|${a.state}`).sort()
        expect(replayedAlerts).toEqual(alerts.rows.map((a) => `${a.id}|${a.state}`).sort())
      } finally {
        await monitor.close()
      }
    } finally {
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
      await db.stop()
    }
  })

  it('prices a token from a Chainlink feed (AnswerUpdated of its aggregator) over its pools while the answer is fresh', async () => {
    const db = await startEmbeddedDatabase()
    const prefix = uniquePrefix()
    const redis = new Redis(TEST_REDIS_URL)
    try {
      const world = w.worlds[0]!
      const uni = world.tokens.find((t) => t.symbol === 'UNI')!.address.toLowerCase() as Address
      const aggregator = await deployTestAggregator(world.rpcUrl, world.chainId, 8)
      const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
      input.risk = { repriceIntervalSeconds: 0 }
      input.chains[w.named[0]!.name]!.chainlinkFeeds = [{ aggregator, token: uni, decimals: 8 }]
      const config = parseConfig(input, {})
      const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }) })
      try {
        const answerTx = await setAnswer(world.rpcUrl, world.chainId, aggregator, 123_456_789_000n) // 1,234.56789 USD
        await waitForCheckpoints(monitor.workers, await headBlocks(w))
        const prices = await monitor.pool.query<{ pool: string; base: string; quote: string; price: number; tx_hash: string }>(
          'SELECT pool, base, quote, price, tx_hash FROM prices WHERE chain_id = $1 AND pool = $2',
          [world.chainId, aggregator],
        )
        expect(prices.rows).toEqual([{ pool: aggregator, base: uni, quote: CHAINLINK_USD, price: 1234.56789, tx_hash: answerTx }])
        // alice holds UNI from the start: her exposure now values it at the oracle's answer.
        const alice = JSON.parse((await redis.get(accountKey(prefix, shardOf('alice', SHARDS), 'alice')))!) as AccountSummary
        const line = alice.metrics.exposureByToken.find((x) => x.chainId === world.chainId && x.token === uni)!
        expect(line.priceUsd).toBe(1234.56789)
      } finally {
        await monitor.close()
      }
    } finally {
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
      await db.stop()
    }
  })
})

/** Deploys a TestAggregator (src/world/contracts) from anvil account 0. */
async function deployTestAggregator(rpcUrl: string, chainId: number, decimals: number): Promise<Address> {
  const client = createPublicClient({ transport: http(rpcUrl) })
  const account = anvilAccount(0)
  const sender = await createSender({ client, account, chainId })
  const art = worldArtifacts().testAggregator
  const address = getContractAddress({ from: account.address, nonce: BigInt(sender.nextNonce()) })
  const [receipt] = await waitForReceipts(client, [await sender.send({ data: encodeDeployData({ abi: art.abi, bytecode: art.bytecode, args: [decimals] }), gas: 1_000_000n })])
  expect(receipt!.status).toBe('success')
  return address.toLowerCase() as Address
}

async function setAnswer(rpcUrl: string, chainId: number, aggregator: Address, answer: bigint): Promise<Hex> {
  const client = createPublicClient({ transport: http(rpcUrl) })
  const sender = await createSender({ client, account: anvilAccount(0), chainId })
  const art = worldArtifacts().testAggregator
  const [receipt] = await waitForReceipts(client, [await sender.send({ to: aggregator, data: encodeFunctionData({ abi: art.abi, functionName: 'setAnswer', args: [answer] }), gas: 200_000n })])
  expect(receipt!.status).toBe('success')
  return receipt!.transactionHash
}
