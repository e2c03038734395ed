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
import type { ReturnHistory, ReturnHistoryJson } from '../../src/risk/return-history.ts'
import { repriceBand } from '../../src/risk/reprice-band.ts'
import type { RuleStateRow } from '../../src/risk/rule-store.ts'
import { evaluate, evaluateAccount, INITIAL_RULE_STATE, rulesFor, type Alert, type HaltChange, type Rule, type RuleState } from '../../src/risk/rules.ts'
import { normalQuantile } from '../../src/risk/stats.ts'
import { positionKey, splitPositionKey, type BatchEffects, type PositionChange, type ShardState } from './apply-batch.ts'
import { emptyPosition, type Position } from './position.ts'
import type { PriceCache } from './price-cache.ts'
import { advanceSweep, planSweep, type Sweep } from './reprice-plan.ts'
import { CASH_ASSETS } from './cash-assets.ts'
import { resolveUsd, type AssetIndex } from './resolve-price.ts'
import type { TriggerIndex } from './trigger-index.ts'

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
  /** account → block time of its last computation (the sweep is rate-limited on it). */
  lastComputed: Map<string, number>
  /** account → block time of its last risk snapshot row (snapshots of repricing are rate-limited on it). */
  lastSnapshot: Map<string, number>
  ruleStates: Map<string, Record<string, RuleState>>
  halted: Set<string>
  /** asset → its latest closing USD price (the price bands are drawn around). */
  assetPrices: Map<string, number>
  /** asset → block time it was last repriced (the sweep recomputes holders repriced since their last computation). */
  repricedAt: Map<string, number>
  /** Each account's repricing band per asset held: a price leaving it recomputes the account at once. */
  triggers: TriggerIndex
  /** The bounded round over every account holding positions (reprice-plan.ts). */
  sweep: Sweep
  /** Accounts to recompute in the next batch whatever their prices do (a rule breached at start-up). */
  dueNow: Set<string>
}

/** What the risk engine needs besides state: fixed per deployment, except the rules. */
export type RiskContext = {
  options: RiskOptions
  repriceIntervalSeconds: number
  /** Most accounts the sweep recomputes in one batch. */
  repricePerBatch: number
  /** Least block time between two snapshot rows of an account that only repriced. */
  snapshotIntervalSeconds: number
  /** A price older than this is stale (pricing.maxAgeSeconds): an account not computed for as long is revisited. */
  maxPriceAgeSeconds: number
  /** Configured asset of a token (stablecoins → 'USD'); null for a token no config names. */
  assets: AssetIndex
  wrappedNative: (chainId: number) => Address | undefined
  decimalsOf: (chainId: number, token: Address) => number | null
  rules: readonly Rule[]
}

/**
 * One account's recomputation. `traded`: its trade window changed (the batch holds trades of it);
 * `snapshot`: it gets a risk snapshot row; `band` and `prices`: its repricing band and the asset
 * prices it is drawn around (armed once the batch commits).
 */
export type AccountUpdate = {
  account: string
  metrics: AccountMetrics
  state: AccountRiskState
  halted: boolean
  traded: boolean
  snapshot: boolean
  band: number
  prices: [asset: string, price: number][]
}

/** What one batch changes on the risk side; written in the batch's transaction, then committed to memory. */
export type RiskEffects = {
  time: number
  /** The batch's chain and its block time. */
  chainTime: { chainId: number; time: number }
  updates: AccountUpdate[]
  alerts: Alert[]
  ruleStates: RuleStateRow[]
  halts: HaltChange[]
  /** The return series that changed (observed, or a period closed), to persist; the history's open period. */
  history: { bucket: number | null; series: { asset: string; json: ReturnHistoryJson['assets'][string] }[] }
  /** asset → closing USD price of the assets this batch repriced. */
  repriced: Map<string, number>
  /** Where the sweep goes on from in the next batch. */
  sweepCursor: number
}

/**
 * Recomputes the metrics of the accounts a batch touched (positions, trades, transfers), of the
 * accounts whose repricing band a closing price of the batch left (the trigger index: only those
 * whose rules the move could change), and of a bounded slice of the sweep (every holder in turn,
 * at most `repricePerBatch` a batch, each at most once per repriceIntervalSeconds), then evaluates
 * their rules. What a batch costs follows its swaps and the accounts its price moves can affect,
 * never the number of accounts the shard holds. Time is block time throughout, so a replay of the
 * same batches gives the same metrics and alerts (docs/decisions.md 3).
 *
 * Pure except for `risk.history`, which takes the batch's closing prices in place (observing the
 * same prices again changes nothing), and `risk.triggers`, from which the crossed bands are taken
 * (a batch that is not committed leaves its worker to be restarted from the database).
 */
export function computeRisk(shard: ShardState, risk: RiskState, e: BatchEffects, ctx: RiskContext): RiskEffects {
  const time = Math.max(risk.clock ?? 0, e.time ?? 0)
  const chainTime = e.time ?? risk.chainTimes.get(e.chainId) ?? time
  const { assetOf, usdOf, metricPositions } = valuation(shard, risk, ctx, time, { chainId: e.chainId, time: chainTime, cache: e.priceCache })

  // The closing USD price of every asset this batch observed goes into the return history.
  const repriced = new Map<string, number>()
  const observed = new Set<Address>()
  for (const p of e.prices) observed.add(p.base).add(p.quote)
  for (const token of [...observed].sort()) {
    const asset = assetOf(e.chainId, token)
    const usd = usdOf(e.chainId, token)
    if (usd === null) continue
    risk.history.observe(asset, time, usd)
    repriced.set(asset, usd)
  }
  const bucketBefore = risk.history.openBucket
  risk.history.advanceTo(time)
  const periodClosed = bucketBefore !== risk.history.openBucket
  const history: RiskEffects['history'] = {
    bucket: risk.history.openBucket,
    series: (periodClosed ? risk.history.assetNames() : [...repriced.keys()].sort()).flatMap((asset) => {
      const json = risk.history.assetJSON(asset)
      return json ? [{ asset, json }] : []
    }),
  }

  const changes = new Map<string, PositionChange[]>()
  for (const c of e.positions) (changes.get(c.account) ?? changes.set(c.account, []).get(c.account)!).push(c)
  const touched = new Set<string>(changes.keys())
  for (const s of e.swaps) if (s.account !== null) touched.add(s.account)
  for (const t of e.transfers) touched.add(t.account)
  const affected = new Set(touched)
  // Accounts whose band a closing price left: a rule of theirs may change state now.
  for (const [asset, price] of repriced) for (const a of risk.triggers.crossed(asset, price)) affected.add(a)
  for (const a of risk.dueNow) affected.add(a)
  // The sweep: a bounded slice of every holder, for what bands cannot see (time, staleness, drift).
  const dayOf = (t: number): number => Math.floor(t / 86_400)
  const periodOf = (t: number): number => Math.floor(t / ctx.options.horizonSeconds)
  const repricedAt = (asset: string): number | undefined => (repriced.has(asset) ? time : risk.repricedAt.get(asset))
  const sweep = planSweep(risk.sweep, {
    limit: ctx.repricePerBatch,
    skip: affected,
    due: (account) => {
      const positions = shard.positions.get(account)
      if (!positions || positions.size === 0) return false
      const last = risk.lastComputed.get(account)
      if (last === undefined) return true
      if (time - last < ctx.repriceIntervalSeconds) return false
      if (time - last >= ctx.maxPriceAgeSeconds || periodOf(time) !== periodOf(last) || dayOf(time) !== dayOf(last)) return true
      for (const [key, p] of positions) {
        if (p.quantity === 0n) continue
        const [chain, token] = splitPositionKey(key)
        const at = repricedAt(assetOf(chain, token))
        if (at !== undefined && at >= last) return true
      }
      return false
    },
  })
  for (const a of sweep.accounts) affected.add(a)

  const swapsOf = new Map<string, { time: number; usd: number | null }[]>()
  for (const s of e.swaps) if (s.account !== null) (swapsOf.get(s.account) ?? swapsOf.set(s.account, []).get(s.account)!).push({ time: s.blockTime, usd: s.amountUsd })

  const varSensitivity = varSensitivityOf(risk.history, ctx.options)
  const referencePrice = (asset: string): number | undefined => repriced.get(asset) ?? risk.assetPrices.get(asset)

  const out: RiskEffects = {
    time,
    chainTime: { chainId: e.chainId, time: chainTime },
    updates: [],
    alerts: [],
    ruleStates: [],
    halts: [],
    history,
    repriced,
    sweepCursor: sweep.cursor,
  }
  const snapshotBucket = (t: number): number => (ctx.snapshotIntervalSeconds > 0 ? Math.floor(t / ctx.snapshotIntervalSeconds) : t)
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
    const positions = metricPositions(after)
    const trades = swapsOf.get(account) ?? []
    let state = risk.accounts.get(account) ?? emptyAccountRiskState()
    if (trades.length > 0) {
      state = cloneAccountRiskState(state)
      for (const t of trades) recordTrade(state, t.time, t.usd)
    }
    const r = computeAccountMetrics({ account, time, positions, history: risk.history, options: ctx.options, state, flowUsd })
    const halted = risk.halted.has(account)
    const previous = risk.ruleStates.get(account) ?? {}
    const evaluated = evaluateAccount({
      account,
      time,
      chainId: e.chainId,
      block: e.toBlock,
      metrics: r.metrics,
      rules: ctx.rules,
      states: previous,
      halted,
    })
    for (const [ruleId, st] of Object.entries(evaluated.states).sort(([a], [b]) => (a < b ? -1 : 1)))
      if (previous[ruleId] !== st) out.ruleStates.push({ account, ruleId, state: st })
    out.alerts.push(...evaluated.alerts)
    if (evaluated.halt) out.halts.push(evaluated.halt)
    const band = repriceBand({ metrics: r.metrics, rules: rulesFor(ctx.rules, account), states: evaluated.states, peakEquityUsd: r.state.peakEquityUsd, varSensitivity, constantAssets: CASH_ASSETS })
    const prices = bandPrices(r.metrics, referencePrice)
    const lastSnapshot = risk.lastSnapshot.get(account)
    const snapshot =
      touched.has(account) || evaluated.alerts.length > 0 || evaluated.halt !== null || lastSnapshot === undefined || snapshotBucket(lastSnapshot) !== snapshotBucket(time)
    out.updates.push({ account, metrics: r.metrics, state: r.state, halted: halted || evaluated.halt !== null, traded: trades.length > 0, snapshot, band, prices })
  }
  return out
}

/**
 * How a shard values positions at `time`: each token's asset and USD price (its own chain's cache,
 * else a fresh price of the same asset elsewhere), the batch's chain judged at its own block time
 * with the batch's cache.
 */
function valuation(shard: ShardState, risk: RiskState, ctx: RiskContext, time: number, batch?: { chainId: number; time: number; cache: PriceCache }) {
  const caches = new Map<number, PriceCache>(shard.priceCaches)
  if (batch) caches.set(batch.chainId, batch.cache)
  const priceToken = (chainId: number, token: Address): Address => (token === NATIVE_TOKEN ? (ctx.wrappedNative(chainId) ?? token) : token)
  const assetOf = (chainId: number, token: Address): string => {
    const t = priceToken(chainId, token)
    return ctx.assets(chainId, t) ?? `${chainId}:${t}`
  }
  const nowOn = (chainId: number): number => (chainId === batch?.chainId ? batch.time : (risk.chainTimes.get(chainId) ?? time))
  const usdOf = (chainId: number, token: Address): number | null =>
    resolveUsd(caches, ctx.assets, chainId, priceToken(chainId, token), nowOn(chainId))?.priceUsd ?? null
  const metricPositions = (held: ReadonlyMap<string, Position>): MetricPosition[] => {
    const out: MetricPosition[] = []
    for (const [key, p] of held) {
      const [chainId, token] = splitPositionKey(key)
      out.push({
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
    return out
  }
  return { assetOf, usdOf, metricPositions }
}

/** Per-asset VaR sensitivity for repricing bands (src/risk/reprice-band.ts): max(largest |return|, z·σ), or the fallback shock. */
function varSensitivityOf(history: ReturnHistory, options: RiskOptions): (asset: string) => number {
  const z = normalQuantile(Math.max(...options.confidences))
  return (asset) => {
    const st = history.returnStats(asset)
    return st === null ? options.fallbackShock : Math.max(st.maxAbs, z * st.std)
  }
}

/** The reference price of every asset the account is exposed to whose price can move: what its band is drawn around. */
function bandPrices(metrics: AccountMetrics, referencePrice: (asset: string) => number | undefined): [string, number][] {
  const prices: [string, number][] = []
  for (const a of metrics.exposureByAsset) {
    const p = a.grossUsd > 0 && !CASH_ASSETS.has(a.asset) ? referencePrice(a.asset) : undefined
    if (p !== undefined) prices.push([a.asset, p])
  }
  return prices
}

/**
 * Arms the accounts a worker loaded at start (workers/risk/shard-setup.ts armShard), one call per
 * account, valuing them all at `time` with the same prices: an account's metrics from its loaded
 * positions give its band. Its carried state is kept as committed; an account with none takes the
 * state this computation gives (its peak at start). 'due': one of its rules would change state now
 * (fire, or resolve), so it is recomputed, with its rules evaluated, in the first batch instead.
 */
export function accountArmer(shard: ShardState, risk: RiskState, ctx: RiskContext, time: number): (account: string) => 'armed' | 'due' | 'empty' {
  const { metricPositions } = valuation(shard, risk, ctx, time)
  const varSensitivity = varSensitivityOf(risk.history, ctx.options)
  const referencePrice = (asset: string): number | undefined => risk.assetPrices.get(asset)
  return (account) => {
    const held = shard.positions.get(account)
    if (!held || held.size === 0) return 'empty'
    const stored = risk.accounts.get(account)
    const r = computeAccountMetrics({ account, time, positions: metricPositions(held), history: risk.history, options: ctx.options, state: stored ?? emptyAccountRiskState(), flowUsd: 0 })
    // A carried state stays as committed (a restart must not move a peak a computation did not); an
    // account that has none (its positions were loaded, never computed) starts from this one.
    if (stored === undefined) risk.accounts.set(account, r.state)
    const rules = rulesFor(ctx.rules, account)
    const states = risk.ruleStates.get(account) ?? {}
    for (const rule of rules) {
      if (!rule.enabled) continue
      const value = (r.metrics as unknown as Record<string, number | null>)[rule.metric] ?? null
      if (evaluate(rule, states[rule.id] ?? INITIAL_RULE_STATE, value, time).event !== null) return 'due'
    }
    const band = repriceBand({ metrics: r.metrics, rules, states, peakEquityUsd: r.state.peakEquityUsd, varSensitivity, constantAssets: CASH_ASSETS })
    risk.triggers.arm(account, band, bandPrices(r.metrics, referencePrice))
    return 'armed'
  }
}

/** Applies committed risk effects to memory; `added`: accounts that got their first positions (they join the sweep). */
export function commitRisk(risk: RiskState, r: RiskEffects, added: readonly string[] = []): void {
  risk.clock = r.time
  risk.chainTimes.set(r.chainTime.chainId, r.chainTime.time)
  for (const [asset, price] of r.repriced) {
    risk.assetPrices.set(asset, price)
    risk.repricedAt.set(asset, r.time)
  }
  advanceSweep(risk.sweep, r.sweepCursor, added)
  risk.dueNow.clear()
  for (const u of r.updates) {
    risk.accounts.set(u.account, u.state)
    risk.lastComputed.set(u.account, r.time)
    if (u.snapshot) risk.lastSnapshot.set(u.account, r.time)
    if (u.halted) risk.halted.add(u.account)
    risk.triggers.arm(u.account, u.band, u.prices)
  }
  for (const s of r.ruleStates) {
    const states = risk.ruleStates.get(s.account) ?? {}
    risk.ruleStates.set(s.account, { ...states, [s.ruleId]: s.state })
  }
}
