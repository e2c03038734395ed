import type { RedisTarget } from '../db/redis.ts'
import type pg from 'pg'
import type { Common } from '../common.ts'
import { errorLine } from '../errors.ts'
import { createRiskWorker, type BatchApplied, type RiskWorker } from '../../workers/risk/risk-worker.ts'
import { isCheckpointMoved } from '../../workers/risk/store.ts'
import { startShardLeases, type ShardLeases } from './shard-leases.ts'

export type LeasedWorkersOptions = {
  common: Common
  pool: pg.Pool
  redisUrl: RedisTarget
  /** This member's id (default: host/pid/random). */
  member?: string
  /**
   * Called when a shard stops on a batch it cannot apply (other than a lost fence). The process
   * goes on with its other shards and keeps the stopped shard's lease, so that no other member
   * adopts the batch and stops in turn.
   */
  onShardStopped?: (shard: number, err: Error) => void
  onBatchApplied?: (info: BatchApplied) => void
  /** Called after every change of the shards this process runs. */
  onChange?: (held: number[]) => void
}

/**
 * Risk workers for the shards this process wins a lease on (`dexrisk worker --shards auto`): see
 * src/runtime/shard-leases.ts. A worker that loses the checkpoint fence under a lease it holds
 * (a previous owner's batch, in flight when its lease ran out, committed first) is started again:
 * it reloads the shard from the database and adopts the batch it stopped on, which is then
 * skipped as covered or applied. Any other stop is the operator's, as with fixed shards, but it does
 * not end the process: that would release the lease, and each member in turn would adopt the batch
 * and stop on it.
 */
export function startLeasedWorkers(opts: LeasedWorkersOptions): ShardLeases<RiskWorker> {
  const { common } = opts
  const gauge = common.metrics.worker.leaseHeld
  for (let s = 0; s < common.config.shards; s++) gauge.set({ shard: String(s) }, 0)
  // The workers' callbacks read `leases`: they run once a lease is won, after this returns.
  const leases: ShardLeases<RiskWorker> = startShardLeases<RiskWorker>({
    redisUrl: opts.redisUrl,
    prefix: common.config.queue.prefix,
    shards: common.config.shards,
    ttlMs: common.config.queue.leaseTtlMs,
    log: common.log,
    ...(opts.member === undefined ? {} : { member: opts.member }),
    start: (shard, control) =>
      createRiskWorker({
        common,
        shard,
        pool: opts.pool,
        redisUrl: opts.redisUrl,
        onBatchApplied: opts.onBatchApplied,
        onFatal: (err) => {
          if (isCheckpointMoved(err)) control.restart(errorLine(err))
          else {
            common.log.error(
              { shard, member: leases.member },
              'shard stopped: this process keeps its lease (so no other process adopts the batch and stops too) and runs its other shards; fix the cause, then restart this process',
            )
            opts.onShardStopped?.(shard, err)
          }
        },
      }),
    onChange: (held) => {
      for (let s = 0; s < common.config.shards; s++) gauge.set({ shard: String(s) }, held.includes(s) ? 1 : 0)
      opts.onChange?.(held)
    },
  })
  return leases
}
