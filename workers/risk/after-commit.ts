import type { Logger } from 'pino'
import { createRedisConnection, type RedisTarget } from '../../src/db/redis.ts'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import type { TradeBatch } from '../../src/queue/batch.ts'
import { retry } from '../../src/retry.ts'
import type { AlertWebhooks } from './alert-webhooks.ts'
import { publishSummaries, summariesOf } from './read-model.ts'
import type { ShardBatch } from './shard-setup.ts'

/**
 * What follows a committed batch, outside its statement: the log lines of what it changed, its
 * alerts and halts to the webhook queue, and its summaries to the read model in Redis. The
 * database already holds the truth; each of these is derived from the batch and may lag or be
 * redone, never change what was committed.
 */
export type AfterCommit = {
  run(batch: TradeBatch, computed: ShardBatch): Promise<void>
  close(): void
}

export function createAfterCommit(opts: {
  shard: number
  prefix: string
  redisUrl: RedisTarget
  log: Logger
  alertHooks: AlertWebhooks
  closing: () => boolean
}): AfterCommit {
  const { shard, prefix, log } = opts
  // Read-model writes fail after one reconnect attempt instead of queueing forever, so the retry
  // around them sees the outage and a shutdown during it does not hang.
  const redis = createRedisConnection(opts.redisUrl, { log, name: `dexrisk-read-model-${shard}`, options: { maxRetriesPerRequest: 1 } })
  return {
    async run(batch, { effects, risk }) {
      for (const u of effects.unexplained)
        if (u.token !== NATIVE_TOKEN && !u.opening)
          log.warn(
            { chain: batch.chainId, block: u.block.toString(), account: u.account, wallet: u.wallet, token: u.token, delta: u.delta.toString(), at: u.at },
            'token balance moved without a log: position set to the chain balance (a rebasing or fee-on-transfer token, or a missed log)',
          )
      for (const a of risk.alerts) log.info({ account: a.account, rule: a.ruleId, state: a.state, metric: a.metric, value: a.value, threshold: a.threshold }, 'alert')
      for (const h of risk.halts) log.error({ account: h.account, rule: h.ruleId, reason: h.reason }, 'account halted')
      await opts.alertHooks.send(risk)
      // The read model is derived state: if Redis is down the write retries; the database already holds the truth.
      const summaries = summariesOf(shard, effects, risk)
      await retry(() => publishSummaries(redis, prefix, { shard, chainId: batch.chainId, block: batch.toBlock }, summaries, risk), {
        retryable: () => !opts.closing(),
        maxDelayMs: 5_000,
        onRetry: (err, attempt) => log.warn({ err: String(err), attempt }, 'publishing read model: redis unavailable, retrying'),
      }).catch((err: unknown) => log.warn({ err: String(err) }, 'read model not updated'))
    },
    close: () => redis.disconnect(),
  }
}
