import type { RedisClient } from '../../src/db/redis.ts'
import { accountKey, alertsChannel, checkpointKey, updatesChannel, type AccountSummary } from '../../src/read-model/keys.ts'
import { alertToJson, haltChangeToJson, type Alert, type HaltChange } from '../../src/risk/rules.ts'
import type { BatchEffects } from './apply-batch.ts'
import type { RiskEffects } from './risk-engine.ts'

/** The read-model summary of every account a batch recomputed. */
export function summariesOf(shard: number, e: Pick<BatchEffects, 'chainId' | 'toBlock'>, r: Pick<RiskEffects, 'updates' | 'time'>): AccountSummary[] {
  return r.updates.map((u) => ({ account: u.account, shard, chainId: e.chainId, block: e.toBlock.toString(), time: r.time, halted: u.halted, metrics: u.metrics }))
}

/** Writes the accounts' summaries and the shard's checkpoint, and publishes updates, alerts and halts. */
export async function publishSummaries(
  redis: RedisClient,
  prefix: string,
  checkpoint: { shard: number; chainId: number; block: bigint },
  summaries: AccountSummary[],
  events: { alerts: Alert[]; halts: HaltChange[] } = { alerts: [], halts: [] },
): Promise<void> {
  const tx = redis.multi()
  tx.hset(checkpointKey(prefix, checkpoint.shard), String(checkpoint.chainId), checkpoint.block.toString())
  for (const s of summaries) {
    const json = JSON.stringify(s)
    tx.set(accountKey(prefix, s.shard, s.account), json)
    tx.publish(updatesChannel(prefix), json)
  }
  for (const a of events.alerts) tx.publish(alertsChannel(prefix), JSON.stringify({ kind: 'alert', alert: alertToJson(a) }))
  for (const h of events.halts) tx.publish(alertsChannel(prefix), JSON.stringify({ kind: 'halt', halt: haltChangeToJson(h) }))
  await tx.exec()
}
