import type { Redis } from 'ioredis'
import { toUnits } from '../../src/domain/price-math.ts'
import type { ShardState } from './apply-batch.ts'

/** Current view of one account, as the API and dashboards read it from Redis. */
export type AccountSummary = {
  account: string
  shard: number
  updatedAt: number
  positions: { chainId: number; token: string; quantity: string; priceUsd: number | null; valueUsd: number | null; costUsd: number; realizedPnlUsd: number }[]
  grossExposureUsd: number
  netExposureUsd: number
  /** Positions with no trustworthy price (fail closed: counted, never valued at zero). */
  unpricedPositions: number
}

export const accountKey = (prefix: string, shard: number, account: string): string => `${prefix}:account:{${shard}}:${account}`
export const updatesChannel = (prefix: string): string => `${prefix}:updates`
/** Hash of chain id → last applied block of a shard: lag monitoring and tests read it. */
export const checkpointKey = (prefix: string, shard: number): string => `${prefix}:checkpoint:{${shard}}`

/** Builds an account's summary from shard state; decimals come from the caller's token cache. */
export function summarizeAccount(
  state: ShardState,
  account: string,
  decimalsOf: (chainId: number, token: string) => number | null,
  now: number,
): AccountSummary {
  const positions: AccountSummary['positions'] = []
  let gross = 0
  let net = 0
  let unpriced = 0
  for (const [key, p] of state.positions.get(account) ?? []) {
    if (p.quantity === 0n && p.costUsd === 0) continue
    const [chain, token] = key.split(':') as [string, string]
    const chainId = Number(chain)
    const price = state.priceCaches.get(chainId)?.usd(token as `0x${string}`) ?? null
    const decimals = decimalsOf(chainId, token)
    const value = price !== null && decimals !== null ? toUnits(p.quantity, decimals) * price : null
    if (value === null) {
      if (p.quantity !== 0n) unpriced++
    } else {
      gross += Math.abs(value)
      net += value
    }
    positions.push({ chainId, token, quantity: p.quantity.toString(), priceUsd: price, valueUsd: value, costUsd: p.costUsd, realizedPnlUsd: p.realizedPnlUsd })
  }
  positions.sort((a, b) => Math.abs(b.valueUsd ?? 0) - Math.abs(a.valueUsd ?? 0) || (a.token < b.token ? -1 : 1))
  return { account, shard: state.shard, updatedAt: now, positions, grossExposureUsd: gross, netExposureUsd: net, unpricedPositions: unpriced }
}

/** Writes the accounts' summaries and the shard's checkpoint, and publishes one update per account. */
export async function publishSummaries(
  redis: Redis,
  prefix: string,
  checkpoint: { shard: number; chainId: number; block: bigint },
  summaries: AccountSummary[],
): Promise<void> {
  const tx = redis.multi()
  tx.hset(checkpointKey(prefix, checkpoint.shard), String(checkpoint.chainId), checkpoint.block.toString())
  for (const s of summaries) {
    const json = JSON.stringify(s)
    tx.set(accountKey(prefix, s.shard, s.account), json)
    tx.publish(updatesChannel(prefix), json)
  }
  await tx.exec()
}
