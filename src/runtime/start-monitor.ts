import type pg from 'pg'
import type { Common } from '../common.ts'
import { chainList } from '../config/load-config.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../db/embedded.ts'
import { migrate } from '../db/migrate.ts'
import { startPolicyRunner, type PolicyRunner } from '../db/policy-runner.ts'
import { assertTimescale, createPool, withTransaction } from '../db/pool.ts'
import { connectRedis, createRedisConnection, type RedisTarget } from '../db/redis.ts'
import { createAccountResolver } from '../domain/accounts.ts'
import { applyConfigAccounts, describeConfigAccountsPlan, listAccounts, planConfigAccounts } from '../domain/account-store.ts'
import { createApi, type Api } from '../api/create-api.ts'
import { newControlKey, removeMonitorFile, writeMonitorFile } from '../api/monitor-file.ts'
import { createIndexer, type Indexer } from '../indexer/create-indexer.ts'
import { createBatchPublisher, type BatchPublisher } from '../queue/publisher.ts'
import { retry } from '../retry.ts'
import { BaseError, ConfigError, errorLine } from '../errors.ts'
import { writeChainStatus } from '../read-model/chain-status.ts'
import { followChain, type ChainFollower } from './chain-follower.ts'
import { createRiskWorker, type BatchApplied, type RiskWorker } from '../../workers/risk/risk-worker.ts'
import { createWebhookWorker, type WebhookWorker } from '../../workers/webhook/webhook-worker.ts'
import { startLeasedWorkers } from './leased-workers.ts'
import type { ShardLeases } from './shard-leases.ts'

export type MonitorOptions = {
  common: Common
  /**
   * Shards to run workers for. Default: all. [] runs none. 'auto': as many as this process's fair
   * share among the worker processes running 'auto', taken and handed over through Redis leases
   * (src/runtime/shard-leases.ts).
   */
  shards?: number[] | 'auto'
  /** Chain names to index. Default: all. [] runs no indexer. */
  chains?: string[]
  /** Per chain id, stop indexing after this block (tests, bounded runs). */
  untilBlocks?: Map<number, bigint>
  /**
   * Aborts the start-up (SIGINT while a chain's RPC does not answer yet): startMonitor closes what
   * it started, the data folder included, and rejects.
   */
  signal?: AbortSignal
  /**
   * Called when a part stops on an error it cannot retry (a shard's batch, an indexer's config).
   * Not for a leased shard (shards 'auto'): its process keeps the lease and runs on, so that the
   * batch is not adopted and stopped on by each process in turn (src/runtime/leased-workers.ts).
   */
  onFatal?: (err: Error) => void
  /** Called after each batch a shard committed (tests record the batches for replay; lag metrics). */
  onBatchApplied?: (info: BatchApplied) => void
  /** Run the webhook delivery worker here. Default: when this process runs risk workers. */
  webhooks?: boolean
  /** Serve the API (REST, WebSocket, dashboard) here, on config.api's host and port. Default false. */
  api?: boolean
}

export type Monitor = {
  pool: pg.Pool
  databaseUrl: string
  /** The Redis it runs on: one Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  embedded: EmbeddedDatabase | undefined
  indexers: Indexer[]
  /** The workers of fixed shards; with shards 'auto', see `leases`. */
  workers: RiskWorker[]
  /** With shards 'auto': the leases and the workers this process runs now. */
  leases: ShardLeases<RiskWorker> | undefined
  webhookWorker: WebhookWorker | undefined
  publisher: BatchPublisher | undefined
  api: Api | undefined
  /** Idempotent: stops indexers, drains workers, closes queues, the pool and the embedded database. */
  close(): Promise<void>
}

/**
 * Starts the parts of dexrisk this process runs, on one database and one Redis. With no database
 * URL the process owns an embedded TimescaleDB through a pool of one (docs/decisions.md 6).
 */
export async function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const { common } = opts
  const { config, log } = common
  const embedded = config.database.url ? undefined : await startEmbeddedDatabase({ dataDir: config.database.dataDir, log })
  const databaseUrl = config.database.url ?? embedded!.url
  const pool = createPool({ url: databaseUrl, max: embedded ? 1 : config.database.poolMax, log })
  const redis = await connectRedis({ url: config.redis.url, cluster: config.redis.cluster, startIfMissing: true, log })
  const parts: {
    closeStatus?: () => void
    indexers: Indexer[]
    workers: RiskWorker[]
    leases?: ShardLeases<RiskWorker>
    publisher?: BatchPublisher
    webhooks?: WebhookWorker
    api?: Api
    policies?: PolicyRunner
  } = { indexers: [], workers: [] }
  const close = async (): Promise<void> => {
    await parts.policies?.close()
    if (parts.api && embedded?.dataDir) await removeMonitorFile(embedded.dataDir).catch(() => {})
    await parts.api?.close()
    await Promise.all(parts.indexers.map((i) => i.close()))
    parts.closeStatus?.()
    await parts.publisher?.close()
    await Promise.all([...parts.workers.map((w) => w.close()), parts.leases?.close()])
    await parts.webhooks?.close()
    await pool.end().catch(() => {})
    await redis.stop()
    await embedded?.stop()
  }
  try {
    // A database that is down for a while at start (a server restarting, the previous owner of an
    // embedded database still being rolled back) is waited for; a wrong one is refused at once.
    await retry(() => assertTimescale(pool, { log }), {
      onRetry: (err, attempt, delay) => log.warn({ err: errorLine(err), attempt, delay }, 'database unavailable at start, retrying'),
    })
    const { applied } = await migrate(pool, { log })
    if (applied.length > 0) log.info({ applied }, 'migrations applied')
    // No background worker runs TimescaleDB's policies in embedded mode: this process does.
    if (embedded) parts.policies = startPolicyRunner({ pool, log })
    await assertShardCount(pool, config.shards)

    // Named accounts: the config's and those the API created. Only the process that ingests (runs
    // indexers) writes the config's accounts, and it only adds: an API, worker or migrate started
    // with a stale config changes nothing, and no start removes an account or revokes a key (that
    // is `dexrisk accounts sync --prune --revoke-keys`, which shows what it will change).
    const ingests = (opts.chains ?? Object.keys(config.chains)).length > 0
    if (config.accounts !== 'auto') {
      const plan = await planConfigAccounts(pool, config.accounts)
      const lines = describeConfigAccountsPlan(plan, { prune: false, revokeKeys: false })
      if (ingests && plan.add.length + plan.wallets.length > 0) {
        await withTransaction(pool, (tx) => applyConfigAccounts(tx, plan, { prune: false, revokeKeys: false }))
        log.info({ changes: lines.filter((l) => !l.startsWith('keep ')) }, 'config accounts written to the database')
      } else if (!ingests && plan.add.length + plan.wallets.length > 0)
        log.warn({ differences: lines }, 'the config names accounts or wallets the database does not have: the ingesting process or `dexrisk accounts sync` writes them; this process follows the database')
      for (const line of lines.filter((l) => l.startsWith('keep '))) log.warn(line)
    }
    const accountsNow = config.accounts === 'auto' ? 'auto' : Object.fromEntries((await listAccounts(pool)).map((a) => [a.name, a.wallets]))
    const run: Common = { ...common, config: { ...config, accounts: accountsNow } }
    const accounts = createAccountResolver(accountsNow)
    if (accounts.mode === 'auto')
      log.warn(
        "accounts: 'auto' — every trader is its own account and positions follow swap flows only (no opening balances, transfers or ether); name accounts and their wallets for positions equal to on-chain balances",
      )
    const chainNames = opts.chains ?? Object.keys(config.chains)
    if (chainNames.length > 0) {
      parts.publisher = createBatchPublisher({
        redisUrl: redis.target,
        prefix: config.queue.prefix,
        shards: config.shards,
        accounts,
        onError: (err) => log.warn({ err: err.message }, 'queue connection error (publisher)'),
      })
      // Each chain starts on its own, in the background: one whose RPC does not answer keeps
      // retrying (its status, in Redis for /ready, says why) while the others, the workers and the
      // API run. One that stops on an error a retry cannot cure stops alone; when every chain of
      // this process has stopped, there is nothing left to ingest: the monitor stops (onFatal).
      const statusRedis = createRedisConnection(redis.target, { log, name: 'dexrisk-chain-status', options: { maxRetriesPerRequest: 1 } })
      parts.closeStatus = () => statusRedis.disconnect()
      const followers: ChainFollower[] = []
      let allStopped = false
      for (const chain of chainList(config).filter((c) => chainNames.includes(c.name))) {
        const follower = followChain({
          chain,
          log,
          publish: (status) => writeChainStatus(statusRedis, config.queue.prefix, status),
          ...(opts.signal ? { signal: opts.signal } : {}),
          start: (signal, onProblem) =>
            createIndexer({
              common: run,
              chain,
              pool,
              publisher: parts.publisher!,
              untilBlock: opts.untilBlocks?.get(chain.id),
              signal,
              onProblem,
            }),
        })
        follower.done.catch(() => {
          if (allStopped || !followers.every((f) => f.status().state === 'stopped')) return
          allStopped = true
          const errors = followers.map((f) => f.done.catch((err: unknown) => err as Error))
          void Promise.all(errors).then((all) => {
            const stopped = all.filter((e): e is Error => e instanceof Error)
            // One line each, in the config's order: what to fix on every chain.
            opts.onFatal?.(stopped.length === 1 ? stopped[0]! : new BaseError(stopped.map((e) => e.message.split('\n')[0]!).join('\n')))
          })
        })
        followers.push(follower)
        parts.indexers.push(follower)
      }
    }
    const shards = opts.shards === 'auto' ? [] : (opts.shards ?? Array.from({ length: config.shards }, (_, i) => i))
    if (opts.shards === 'auto') parts.leases = startLeasedWorkers({ common: run, pool, redisUrl: redis.target, onBatchApplied: opts.onBatchApplied })
    for (const shard of shards) {
      parts.workers.push(await createRiskWorker({ common: run, shard, pool, redisUrl: redis.target, onFatal: opts.onFatal, onBatchApplied: opts.onBatchApplied }))
    }
    if (opts.webhooks ?? (shards.length > 0 || parts.leases !== undefined)) {
      const w = config.webhooks
      parts.webhooks = await createWebhookWorker({
        common: run,
        pool,
        redisUrl: redis.target,
        allow: w.allow,
        attempts: w.attempts,
        backoffBaseMs: w.backoffBaseMs,
        timeoutMs: w.timeoutMs,
      })
    }
    await Promise.all([...parts.workers.map((w) => w.ready()), parts.webhooks?.ready()])
    if (opts.api) {
      // The control key lets `dexrisk report` and other commands reach this process while it owns
      // the embedded database; with a server database they connect to it themselves.
      const controlKey = embedded?.dataDir ? newControlKey() : undefined
      parts.api = await createApi({ common: run, pool, redisUrl: redis.target, ...(controlKey ? { controlKey } : {}) })
      if (controlKey && embedded?.dataDir) await writeMonitorFile(embedded.dataDir, { api: parts.api.url, controlKey, pid: process.pid })
    }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
  let closed: Promise<void> | undefined
  return {
    pool,
    databaseUrl,
    redisUrl: redis.target,
    embedded,
    indexers: parts.indexers,
    workers: parts.workers,
    leases: parts.leases,
    webhookWorker: parts.webhooks,
    publisher: parts.publisher,
    api: parts.api,
    close: () => (closed ??= close()),
  }
}

/**
 * The shard count is fixed per deployment: an account's positions live on shard hash % count, so
 * another count would load every moved account as empty. The first start records it; a start with
 * a different count is refused.
 */
async function assertShardCount(pool: pg.Pool, shards: number): Promise<void> {
  await pool.query(`INSERT INTO deployment (key, value) VALUES ('shards', $1) ON CONFLICT (key) DO NOTHING`, [String(shards)])
  const r = await pool.query<{ value: string }>(`SELECT value FROM deployment WHERE key = 'shards'`)
  const stored = Number(r.rows[0]!.value)
  if (stored !== shards)
    throw new ConfigError(
      `this database was set up with ${stored} shards and the config asks for ${shards}; accounts live on a shard by hash, so the count cannot change under existing data (set shards: ${stored}, or DEXRISK_SHARDS=${stored})`,
      { context: { field: 'shards' } },
    )
}
