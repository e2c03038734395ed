import type { Address } from 'viem'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import {
  cloneAccountRiskState,
  computeAccountMetrics,
  emptyAccountRiskState,
  recordTrade,
  type AccountMetrics,
  type AccountRiskState,
  type MetricPosition,
  type RiskOptions,
} from '../../src/risk/account-metrics.ts'
import type { ReturnHistory } from '../../src/risk/return-history.ts'
import type { RuleStateRow } from '../../src/risk/rule-store.ts'
import { evaluateAccount, type Alert, type HaltChange, type Rule, type RuleState } from '../../src/risk/rules.ts'
import { positionKey, type BatchEffects, type PositionChange, type ShardState } from './apply-batch.ts'
import { emptyPosition, type Position } from './position.ts'
import type { PriceCache } from './price-cache.ts'
import { resolveUsd, type AssetIndex } from './resolve-price.ts'

/** The risk side of a shard's state: carried from batch to batch, persisted with every batch. */
export type RiskState = {
  /** The shard's clock: the latest block time it has seen on any chain (never goes back). */
  clock: number | null
  /**
   * chainId → the latest block time applied on that chain. Prices of a chain are judged fresh or
   * stale against its own time, so a chain that backfills behind another is not all stale.
   */
  chainTimes: Map<number, number>
  /** Asset return history (per shard: a pure function of the shard's price stream). */
  history: ReturnHistory
  accounts: Map<string, AccountRiskState>
  /** account → block time of its last computation (repricing is rate-limited on it). */
  lastComputed: Map<string, number>
  ruleStates: Map<string, Record<string, RuleState>>
  halted: Set<string>
}

/** What the risk engine needs besides state: fixed per deployment, except the rules. */
export type RiskContext = {
  options: RiskOptions
  repriceIntervalSeconds: number
  /** Configured asset of a token (stablecoins → 'USD'); null for a token no config names. */
  assets: AssetIndex
  wrappedNative: (chainId: number) => Address | undefined
  decimalsOf: (chainId: number, token: Address) => number | null
  rules: readonly Rule[]
}

/** One account's recomputation; `traded`: its trade window changed (the batch holds trades of it). */
export type AccountUpdate = { account: string; metrics: AccountMetrics; state: AccountRiskState; halted: boolean; traded: boolean }

/** What one batch changes on the risk side; written in the batch's transaction, then committed to memory. */
export type RiskEffects = {
  time: number
  /** The batch's chain and its block time. */
  chainTime: { chainId: number; time: number }
  updates: AccountUpdate[]
  alerts: Alert[]
  ruleStates: RuleStateRow[]
  halts: HaltChange[]
  /** The history observed new prices: persist it. */
  historyChanged: boolean
}

/**
 * Recomputes the metrics of the accounts a batch touched (positions, trades, transfers) and of
 * the accounts holding an asset it repriced (at most once per repriceIntervalSeconds of block
 * time each), then evaluates their rules. Time is block time throughout, so a replay of the same
 * batches gives the same metrics and alerts (design.md decision 3).
 *
 * Pure except for `risk.history`, which takes the batch's closing prices in place: observing the
 * same prices again changes nothing, so a batch that is retried or replayed leaves it as it was.
 */
export function computeRisk(shard: ShardState, risk: RiskState, e: BatchEffects, ctx: RiskContext): RiskEffects {
  const time = Math.max(risk.clock ?? 0, e.time ?? 0)
  const caches = new Map<number, PriceCache>(shard.priceCaches)
  caches.set(e.chainId, e.priceCache)
  const priceToken = (chainId: number, token: Address): Address => (token === NATIVE_TOKEN ? (ctx.wrappedNative(chainId) ?? token) : token)
  const assetOf = (chainId: number, token: Address): string => {
    const t = priceToken(chainId, token)
    return ctx.assets(chainId, t) ?? `${chainId}:${t}`
  }
  const chainTime = e.time ?? risk.chainTimes.get(e.chainId) ?? time
  const nowOn = (chainId: number): number => (chainId === e.chainId ? chainTime : (risk.chainTimes.get(chainId) ?? time))
  const usdOf = (chainId: number, token: Address): number | null =>
    resolveUsd(caches, ctx.assets, chainId, priceToken(chainId, token), nowOn(chainId))?.priceUsd ?? null

  // The closing USD price of every asset this batch observed goes into the return history.
  const repriced = new Set<string>()
  const observed = new Set<Address>()
  for (const p of e.prices) observed.add(p.base).add(p.quote)
  for (const token of [...observed].sort()) {
    const asset = assetOf(e.chainId, token)
    const usd = usdOf(e.chainId, token)
    if (usd === null) continue
    risk.history.observe(asset, time, usd)
    repriced.add(asset)
  }
  risk.history.advanceTo(time)

  const changes = new Map<string, PositionChange[]>()
  for (const c of e.positions) (changes.get(c.account) ?? changes.set(c.account, []).get(c.account)!).push(c)
  const touched = new Set<string>(changes.keys())
  for (const s of e.swaps) if (s.account !== null) touched.add(s.account)
  for (const t of e.transfers) touched.add(t.account)
  const affected = new Set(touched)
  if (repriced.size > 0)
    for (const [account, positions] of shard.positions) {
      if (affected.has(account)) continue
      const last = risk.lastComputed.get(account)
      if (last !== undefined && time - last < ctx.repriceIntervalSeconds) continue
      for (const [key, p] of positions) {
        if (p.quantity === 0n) continue
        const [chain, token] = splitKey(key)
        if (repriced.has(assetOf(chain, token))) {
          affected.add(account)
          break
        }
      }
    }

  const swapsOf = new Map<string, { time: number; usd: number | null }[]>()
  for (const s of e.swaps) if (s.account !== null) (swapsOf.get(s.account) ?? swapsOf.set(s.account, []).get(s.account)!).push({ time: s.blockTime, usd: s.amountUsd })

  const out: RiskEffects = { time, chainTime: { chainId: e.chainId, time: chainTime }, updates: [], alerts: [], ruleStates: [], halts: [], historyChanged: repriced.size > 0 }
  for (const account of [...affected].sort()) {
    const before = shard.positions.get(account) ?? new Map<string, Position>()
    const after = new Map(before)
    let flowUsd = 0
    for (const c of changes.get(account) ?? []) {
      const key = positionKey(c.chainId, c.token)
      const prev = before.get(key) ?? emptyPosition()
      // Cost booked minus PnL realized is value that came in or went out (deposits positive);
      // a trade nets to zero, a transfer in or out of the account does not.
      flowUsd += c.position.costUsd - prev.costUsd - (c.position.realizedPnlUsd - prev.realizedPnlUsd)
      after.set(key, c.position)
    }
    const positions: MetricPosition[] = []
    for (const [key, p] of after) {
      const [chainId, token] = splitKey(key)
      positions.push({
        chainId,
        token,
        asset: assetOf(chainId, token),
        quantity: p.quantity,
        decimals: token === NATIVE_TOKEN ? 18 : ctx.decimalsOf(chainId, token),
        priceUsd: usdOf(chainId, token),
        costUsd: p.costUsd,
        realizedPnlUsd: p.realizedPnlUsd,
        unpricedCost: p.unpricedCost,
      })
    }
    const trades = swapsOf.get(account) ?? []
    let state = risk.accounts.get(account) ?? emptyAccountRiskState()
    if (trades.length > 0) {
      state = cloneAccountRiskState(state)
      for (const t of trades) recordTrade(state, t.time, t.usd)
    }
    const r = computeAccountMetrics({ account, time, positions, history: risk.history, options: ctx.options, state, flowUsd })
    const halted = risk.halted.has(account)
    const evaluated = evaluateAccount({
      account,
      time,
      chainId: e.chainId,
      block: e.toBlock,
      metrics: r.metrics,
      rules: ctx.rules,
      states: risk.ruleStates.get(account) ?? {},
      halted,
    })
    const previous = risk.ruleStates.get(account) ?? {}
    for (const [ruleId, st] of Object.entries(evaluated.states).sort(([a], [b]) => (a < b ? -1 : 1)))
      if (previous[ruleId] !== st) out.ruleStates.push({ account, ruleId, state: st })
    out.alerts.push(...evaluated.alerts)
    if (evaluated.halt) out.halts.push(evaluated.halt)
    out.updates.push({ account, metrics: r.metrics, state: r.state, halted: halted || evaluated.halt !== null, traded: trades.length > 0 })
  }
  return out
}

/** Applies committed risk effects to memory. */
export function commitRisk(risk: RiskState, r: RiskEffects): void {
  risk.clock = r.time
  risk.chainTimes.set(r.chainTime.chainId, r.chainTime.time)
  for (const u of r.updates) {
    risk.accounts.set(u.account, u.state)
    risk.lastComputed.set(u.account, r.time)
    if (u.halted) risk.halted.add(u.account)
  }
  for (const s of r.ruleStates) {
    const states = risk.ruleStates.get(s.account) ?? {}
    risk.ruleStates.set(s.account, { ...states, [s.ruleId]: s.state })
  }
}

function splitKey(key: string): [number, Address] {
  const i = key.indexOf(':')
  return [Number(key.slice(0, i)), key.slice(i + 1) as Address]
}
