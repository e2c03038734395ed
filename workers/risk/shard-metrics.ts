import type { Common } from '../../src/common.ts'
import { chainList } from '../../src/config/load-config.ts'
import { SEVERITIES } from '../../src/metrics/create-metrics.ts'
import type { BatchEffects } from './apply-batch.ts'
import type { RiskEffects } from './risk-engine.ts'

/** A shard worker's Prometheus figures: the worker's metrics subscriber (labels: shard, chain, severity). */
export type ShardMetrics = {
  /** A batch committed: its last block and lag per chain, its trades, the alerts it fired. */
  applied(effects: BatchEffects, risk: RiskEffects): void
  /** The whole of a batch's handling took this long. */
  took(seconds: number): void
  /** A reorg moved the chain's applied block back. */
  rewound(chainId: number, toBlock: bigint): void
  /** The shard stopped on a batch it cannot apply. */
  stopped(): void
}

export function createShardMetrics(common: Common, shard: number, checkpoints: ReadonlyMap<number, bigint>): ShardMetrics {
  const metrics = common.metrics.worker
  const shardLabel = { shard: String(shard) }
  const chainNames = new Map(chainList(common.config).map((c) => [c.id, c.name]))
  const chainLabel = (chainId: number): string => chainNames.get(chainId) ?? String(chainId)
  // Every series present from the start, at zero, so a dashboard sees a shard before its first batch.
  metrics.stopped.set(shardLabel, 0)
  metrics.trades.inc(shardLabel, 0)
  for (const severity of SEVERITIES) metrics.alertsFired.inc({ ...shardLabel, severity }, 0)
  for (const [chainId, block] of checkpoints) metrics.appliedBlock.set({ ...shardLabel, chain: chainLabel(chainId) }, Number(block))
  return {
    applied(effects, risk) {
      const chain = chainLabel(effects.chainId)
      metrics.appliedBlock.set({ ...shardLabel, chain }, Number(effects.toBlock))
      if (effects.time !== null) metrics.batchLag.set({ ...shardLabel, chain }, Date.now() / 1000 - effects.time)
      let trades = 0
      for (const s of effects.swaps) if (s.account !== null) trades++
      if (trades > 0) metrics.trades.inc(shardLabel, trades)
      for (const a of risk.alerts) if (a.state === 'firing') metrics.alertsFired.inc({ ...shardLabel, severity: a.severity })
    },
    took(seconds) {
      metrics.batchDuration.observe(shardLabel, seconds)
    },
    rewound(chainId, toBlock) {
      metrics.appliedBlock.set({ ...shardLabel, chain: chainLabel(chainId) }, Number(toBlock))
    },
    stopped() {
      metrics.stopped.set(shardLabel, 1)
    },
  }
}
