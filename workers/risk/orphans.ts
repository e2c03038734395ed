import type { Logger } from 'pino'
import type { RedisTarget } from '../../src/db/redis.ts'
import { BatchError } from '../../src/errors.ts'
import { decodeBatch, type EncodedBatch, type TradeBatch } from '../../src/queue/batch.ts'
import { openQueue } from '../../src/queue/connection.ts'
import { REWIND_JOB } from '../../src/queue/publisher.ts'
import { shardQueueName } from '../../src/queue/shard-of.ts'
import { retry } from '../../src/retry.ts'

/**
 * A shard has one consumer, so a batch left 'active' when its worker starts belongs to a dead
 * predecessor (killed mid-batch: its transaction rolled back), and a 'failed' one was left by a
 * shutdown during a database outage or by a fatal error. BullMQ would hand an active one back only
 * once its lock expires, after the batches queued behind it, which would then see a gap. Their data
 * is all that is needed: `apply` them now, in block order; a redelivery is skipped by the checkpoint.
 * A failed batch that is applied (or already covered) is removed; one that still cannot be applied
 * stays where it is, and the gap check sets the batches after it aside (fail closed).
 */
export async function adoptOrphans(opts: {
  shard: number
  redisUrl: RedisTarget
  prefix: string
  log: Logger
  apply: (batch: TradeBatch) => Promise<{ applied: boolean }>
}): Promise<void> {
  const { log } = opts
  const queue = openQueue<EncodedBatch>(shardQueueName(opts.shard), opts.redisUrl, { prefix: opts.prefix })
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'))
  try {
    const [active, failed] = await retry(() => Promise.all([queue.getJobs(['active']), queue.getJobs(['failed'])]), { maxDelayMs: 5_000 })
    const orphans = [...active.map((job) => ({ job, failed: false })), ...failed.map((job) => ({ job, failed: true }))]
      // A rewind left active or failed is published again by the indexer with its range (it rewinds from its checkpoint).
      .filter((o) => o.job?.data && o.job.name !== REWIND_JOB)
      .map((o) => ({ ...o, batch: decodeBatch(o.job.data) }))
    orphans.sort((a, b) => a.batch.chainId - b.batch.chainId || (a.batch.fromBlock < b.batch.fromBlock ? -1 : a.batch.fromBlock > b.batch.fromBlock ? 1 : 0))
    for (const o of orphans) {
      try {
        const r = await opts.apply(o.batch)
        log.info({ job: o.job.id, chain: o.batch.chainId, applied: r.applied, was: o.failed ? 'failed' : 'active' }, 'adopted a batch left by a previous worker')
        if (o.failed) await o.job.remove()
      } catch (err) {
        if (!(err instanceof BatchError)) throw err
        log.warn({ job: o.job.id, err: err.message }, 'batch left by a previous worker cannot be applied yet; kept')
      }
    }
  } finally {
    await queue.close()
  }
}
