import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq'
import type pg from 'pg'
import type { Common } from '../../src/common.ts'
import { onDatabase, withTransaction } from '../../src/db/pool.ts'
import type { RedisTarget } from '../../src/db/redis.ts'
import { BatchError, BatchGapError, errorLine, isTransientError } from '../../src/errors.ts'
import { decodeBatch, type EncodedBatch, type TradeBatch } from '../../src/queue/batch.ts'
import { bullConnection, openQueue } from '../../src/queue/connection.ts'
import { REWIND_JOB, type RewindJob } from '../../src/queue/publisher.ts'
import { shardQueueName } from '../../src/queue/shard-of.ts'
import { retry } from '../../src/retry.ts'
import { bullQueueDepthSource } from '../../src/metrics/queue-depth.ts'
import { createWebhookQueue } from '../webhook/webhook-queue.ts'
import { createAlertWebhooks } from './alert-webhooks.ts'
import { createShardMetrics } from './shard-metrics.ts'
import type { BatchEffects, ShardState } from './apply-batch.ts'
import { createAfterCommit } from './after-commit.ts'
import { adoptOrphans } from './orphans.ts'
import { createRulesFollower } from './rules-follower.ts'
import { loadRiskState, riskParts } from './risk-store.ts'
import { armShard, commitShardBatch, computeShardBatch, shardSetup } from './shard-setup.ts'
import { rewindChain } from './rewind.ts'
import { loadCheckpoint, loadShardState, writeBatchEffects } from './store.ts'

export type RiskWorkerOptions = {
  common: Common
  shard: number
  pool: pg.Pool
  /** One Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  /** Called once when the shard stops on a batch it cannot apply (the batch is kept as failed). */
  onFatal?: (err: Error) => void
  /** Called when a batch's transaction has committed (benchmarks, lag metrics). Default: none. */
  onBatchApplied?: (info: BatchApplied) => void
}

/** One applied batch: its range, what it wrote, and how long its transaction took. */
export type BatchApplied = {
  shard: number
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  swaps: number
  positions: number
  writeMs: number
  /** The batch as applied (a reference, not a copy: do not change it). */
  batch: TradeBatch
  /** Named accounts: balance changes no log explained, set to the chain's balance (ether, openings, corrections). */
  unexplained: BatchEffects['unexplained']
}

export type RiskWorker = {
  shard: number
  state(): ShardState
  /** Resolves when the worker is consuming. */
  ready(): Promise<void>
  /** Idempotent; waits for the batch in flight. */
  close(): Promise<void>
}

/**
 * The risk worker of one shard: the single consumer (concurrency 1) of its queue, so batches apply
 * in order. Each batch is written in one transaction together with the shard's checkpoint; batches
 * at or below the checkpoint are skipped, so redelivery never counts a swap twice (docs/decisions.md 2).
 */
export async function createRiskWorker(opts: RiskWorkerOptions): Promise<RiskWorker> {
  const { common, shard, pool } = opts
  const log = common.log.child({ shard })
  const prefix = common.config.queue.prefix
  const setup = shardSetup(common.config)
  const { pricingOf, guards } = setup
  // 'auto': every trader is an account, so its trade is its swap row, marked, not copied.
  const tradeRows = setup.batchOptions.mode === 'auto' ? 'mark' : 'copy'

  const state = await retry(() => loadShardState(pool, shard, pricingOf, guards), {
    onRetry: (err, attempt, delay) => log.warn({ err: String(err), attempt, delay }, 'loading shard state: database unavailable, retrying'),
  })
  const decimals = await loadDecimals(pool)
  const risk = await retry(() => loadRiskState(pool, shard, setup.riskOptions))
  const rules = await createRulesFollower(pool, log)
  const webhooks = createWebhookQueue({ common, redisUrl: opts.redisUrl, attempts: common.config.webhooks.attempts })
  const alertHooks = createAlertWebhooks({ pool, shard, shards: common.config.shards, webhooks, log, closing: () => closing })
  const armStarted = performance.now()
  const armed = armShard(state, risk, setup, rules.rules(), decimals)
  log.info(
    {
      accounts: state.positions.size,
      armed: armed.armed,
      due: armed.due,
      armMs: Math.round(performance.now() - armStarted),
      checkpoints: Object.fromEntries([...state.checkpoints].map(([c, b]) => [c, b.toString()])),
    },
    'shard state loaded',
  )

  let closing = false
  const afterCommit = createAfterCommit({ shard, prefix, redisUrl: opts.redisUrl, log, alertHooks, closing: () => closing })
  let fatal = false

  // Metrics: updated once per applied batch; the queue depth is read from BullMQ at scrape time.
  const metrics = createShardMetrics(common, shard, state.checkpoints)

  /** Applies one batch: effects computed, written with the checkpoint in one transaction, then kept in memory. */
  const apply = async (batch: TradeBatch): Promise<{ applied: boolean; swaps: number }> => {
    const started = performance.now()
    if (!state.checkpoints.has(batch.chainId)) {
      const cp = await retry(() => loadCheckpoint(pool, shard, batch.chainId, pricingOf(batch.chainId), guards), {
        aborted: () => closing,
        onRetry: (err, attempt, delay) => log.warn({ chain: batch.chainId, err: errorLine(err), attempt, delay }, 'loading the checkpoint: database unavailable, retrying'),
      })
      if (cp) {
        state.checkpoints.set(batch.chainId, cp.block)
        state.priceCaches.set(batch.chainId, cp.priceCache)
      }
    }
    await rules.refresh(risk)
    const computed = computeShardBatch(state, risk, batch, setup, rules.rules(), decimals)
    if (computed === null) {
      log.debug({ chain: batch.chainId, from: batch.fromBlock.toString(), to: batch.toBlock.toString() }, 'batch at or below checkpoint: skipped')
      return { applied: false, swaps: 0 }
    }
    const { effects, risk: riskEffects } = computed
    const writeStart = performance.now()
    // The batch's rows, its risk rows and the checkpoint: one statement, atomic on its own (no
    // BEGIN and COMMIT, each a round trip that waits for this thread to be free).
    await retry(() => onDatabase(pool, () => writeBatchEffects(pool, shard, effects, riskParts(shard, effects, riskEffects), tradeRows)), {
      aborted: () => closing,
      onRetry: (err, attempt, delay) =>
        log.warn({ chain: batch.chainId, block: batch.fromBlock.toString(), err: String(err), attempt, delay }, 'writing batch: database unavailable, retrying'),
    })
    const writeMs = performance.now() - writeStart
    commitShardBatch(state, risk, computed)
    metrics.applied(effects, riskEffects)
    opts.onBatchApplied?.({
      shard,
      chainId: batch.chainId,
      fromBlock: batch.fromBlock,
      toBlock: batch.toBlock,
      swaps: effects.swaps.length,
      positions: effects.positions.length,
      writeMs,
      batch,
      unexplained: effects.unexplained,
    })
    await afterCommit.run(batch, computed)
    log.debug({ chain: batch.chainId, from: batch.fromBlock.toString(), to: batch.toBlock.toString(), swaps: effects.swaps.length }, 'batch applied')
    metrics.took((performance.now() - started) / 1000)
    return { applied: true, swaps: effects.swaps.length }
  }

  /**
   * A rollback order from the indexer (a reorg deeper than the confirmations): the shard's rows of
   * the chain above the fork point go, its checkpoint moves back in the same transaction, and its
   * in-memory state is read again from what committed (workers/risk/rewind.ts says what is undone).
   */
  const rewind = async (order: RewindJob): Promise<{ applied: boolean; swaps: number }> => {
    const chainId = order.chainId
    const toBlock = BigInt(order.toBlock)
    const cp = state.checkpoints.get(chainId) ?? (await loadCheckpoint(pool, shard, chainId, pricingOf(chainId), guards))?.block
    if (cp === undefined || cp <= toBlock) {
      log.info({ chain: chainId, to: order.toBlock, checkpoint: cp?.toString() }, 'rewind: nothing applied above the fork point')
      return { applied: false, swaps: 0 }
    }
    const mode = setup.batchOptions.mode
    const removed = await retry(() => withTransaction(pool, (client) => rewindChain(client, { shard, chainId, toBlock, fromCheckpoint: cp, mode })), {
      aborted: () => closing,
      onRetry: (err, attempt, delay) => log.warn({ chain: chainId, err: String(err), attempt, delay }, 'rewind: database unavailable, retrying'),
    })
    const fresh = await retry(() => loadShardState(pool, shard, pricingOf, guards), { aborted: () => closing })
    state.positions = fresh.positions
    state.walletBalances = fresh.walletBalances
    state.walletTokens = fresh.walletTokens
    state.uncosted = fresh.uncosted
    state.checkpoints.set(chainId, toBlock)
    metrics.rewound(chainId, toBlock)
    log.warn({ chain: chainId, from: cp.toString(), to: order.toBlock, ...removed }, 'reorg: shard rolled back to the fork point')
    return { applied: true, swaps: -removed.swaps }
  }

  const processor = async (job: Job<EncodedBatch | RewindJob>, token?: string): Promise<{ applied: boolean; swaps: number }> => {
    try {
      if (job.name === REWIND_JOB) return await rewind(job.data as RewindJob)
      return await apply(decodeBatch(job.data as EncodedBatch))
    } catch (err) {
      if (err instanceof BatchGapError && token !== undefined) return setAside(job as Job<EncodedBatch>, token, err)
      throw stop(err as Error, job)
    }
  }

  /**
   * A batch after a gap: the blocks before it were published but never reached this shard (lost
   * with a Redis that restarted empty). It is neither applied nor dropped: it waits in the delayed
   * set, and the shard goes on with its queue, while the indexer (seeing this shard idle behind its
   * cursor) publishes the missing blocks again; then the batch applies, or is skipped as covered.
   */
  async function setAside(job: Job<EncodedBatch>, token: string, err: BatchGapError): Promise<never> {
    // Warned once per batch; its later returns (backing off from GAP_RETRY_MS up to GAP_RETRY_MAX_MS,
    // so thousands of set-aside batches during a long backfill do not spin the shard) are debug.
    const level = job.attemptsStarted <= 1 ? 'warn' : 'debug'
    log[level]({ job: job.id, chain: err.context.chainId, err: errorLine(err) }, 'batch after a gap set aside until the missing blocks are published again')
    const delay = Math.min(GAP_RETRY_MAX_MS, GAP_RETRY_MS * 2 ** Math.max(0, job.attemptsStarted - 1))
    await job.moveToDelayed(Date.now() + delay, token)
    throw new DelayedError()
  }

  function stop(err: Error, job: Job): Error {
    if (isTransientError(err)) return err
    fatal = true
    metrics.stopped()
    const message = err instanceof BatchError ? err.message : `batch cannot be applied: ${err.message}`
    log.fatal({ job: job.id, err: message }, 'shard stopped: the batch is kept in the failed set of its queue')
    void worker.pause(true)
    opts.onFatal?.(err)
    return new UnrecoverableError(message)
  }

  await adoptOrphans({ shard, redisUrl: opts.redisUrl, prefix, log, apply })
  await alertHooks.resendRecent()

  const worker = new Worker<EncodedBatch | RewindJob>(shardQueueName(shard), processor, {
    connection: bullConnection(opts.redisUrl),
    prefix,
    concurrency: 1,
    autorun: true,
    // The lock is renewed while a batch waits on a database that is down, so it can be short: a dead
    // worker's batch is back in the queue within about 20 s (and adopted at once by its successor).
    lockDuration: 15_000,
    stalledInterval: 5_000,
    maxStalledCount: 1_000,
    removeOnComplete: { count: 1_000 },
    // Failed batches are kept (BullMQ's default): a shard stops on one, and it waits there for an operator.
  })
  worker.on('error', (err) => {
    if (!closing) log.warn({ err: err.message }, 'queue connection error')
  })

  // dexrisk_queue_depth of this shard, read at scrape time through a queue opened on the first scrape.
  const depth = bullQueueDepthSource(() => {
    const q = openQueue(shardQueueName(shard), opts.redisUrl, { prefix })
    q.on('error', () => {}) // a scrape during a Redis outage leaves the shard out; the worker warns of the outage
    return q
  })
  const unwatchDepth = common.metrics.queue.watch(shard, depth.source)

  let closed: Promise<void> | undefined
  return {
    shard,
    state: () => state,
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: () =>
      (closed ??= (async () => {
        closing = true
        unwatchDepth()
        await worker.close()
        await webhooks.close()
        await depth.close()
        afterCommit.close()
        log.info({ fatal }, 'risk worker closed')
      })()),
  }
}



/** How long a batch after a gap waits before it is tried again. */
const GAP_RETRY_MS = 1_000
const GAP_RETRY_MAX_MS = 10_000

async function loadDecimals(pool: pg.Pool): Promise<Map<string, number | null>> {
  const r = await retry(() => pool.query<{ chain_id: number; address: string; decimals: number | null }>('SELECT chain_id, address, decimals FROM tokens'))
  return new Map(r.rows.map((t) => [`${t.chain_id}:${t.address}`, t.decimals]))
}
