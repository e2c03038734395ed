/** The Redis read model's names and shape: what the workers write and the API reads. */
import type { AccountMetrics } from '../risk/account-metrics.ts'

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
