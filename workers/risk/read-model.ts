import type { Redis } from 'ioredis'
import type { AccountMetrics } from '../../src/risk/account-metrics.ts'
import { alertToJson, haltChangeToJson, type Alert, type HaltChange } from '../../src/risk/rules.ts'

/** Current view of one account, as the API and dashboards read it from Redis. */
export type AccountSummary = {
  account: string
  shard: number
  /** The batch that produced it: chain, last block, block time (unix seconds). */
  chainId: number
  block: string
  time: number
  /** The kill switch: set by a 'halt' rule, lifted only by an explicit reset. */
  halted: boolean
  metrics: AccountMetrics
}

export const accountKey = (prefix: string, shard: number, account: string): string => `${prefix}:account:{${shard}}:${account}`
/** Pub/sub channel of account summaries (one message per account recomputed). */
export const updatesChannel = (prefix: string): string => `${prefix}:updates`
/** Pub/sub channel of alerts and halts: `{ kind: 'alert', alert }` or `{ kind: 'halt', halt }`. */
export const alertsChannel = (prefix: string): string => `${prefix}:alerts`
/** Hash of chain id → last applied block of a shard: lag monitoring and tests read it. */
export const checkpointKey = (prefix: string, shard: number): string => `${prefix}:checkpoint:{${shard}}`

/** Writes the accounts' summaries and the shard's checkpoint, and publishes updates, alerts and halts. */
export async function publishSummaries(
  redis: Redis,
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
