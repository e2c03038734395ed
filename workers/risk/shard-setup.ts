import type { Address } from 'viem'
import { chainList } from '../../src/config/load-config.ts'
import type { Config } from '../../src/config/schema.ts'
import type { RiskOptions } from '../../src/risk/account-metrics.ts'
import { listRules, type Queryable } from '../../src/risk/rule-store.ts'
import { DEFAULT_RULES, type Alert, type Rule } from '../../src/risk/rules.ts'
import type { TradeBatch } from '../../src/queue/batch.ts'
import { commitEffects, computeBatch, emptyShardState, type BatchEffects, type BatchOptions, type ShardState } from './apply-batch.ts'
import { PriceCache, type ChainPricing, type PriceGuards } from './price-cache.ts'
import { createAssetIndex, type AssetIndex } from './resolve-price.ts'
import { accountArmer, commitRisk, computeRisk, type AccountUpdate, type RiskContext, type RiskEffects, type RiskState } from './risk-engine.ts'
import { emptyRiskState } from './risk-store.ts'

/** What a shard's computation takes from the config: fixed for the life of a deployment. */
export type ShardSetup = {
  pricingOf: (chainId: number) => ChainPricing
  guards: PriceGuards
  newCache: (chainId: number) => PriceCache
  batchOptions: BatchOptions
  riskOptions: RiskOptions
  repriceIntervalSeconds: number
  repricePerBatch: number
  snapshotIntervalSeconds: number
  maxPriceAgeSeconds: number
  assets: AssetIndex
  wrappedNative: (chainId: number) => Address | undefined
}

export function shardSetup(config: Config): ShardSetup {
  const chains = chainList(config)
  const pricing = new Map<number, ChainPricing>(chains.map((c) => [c.id, { stablecoins: new Set(c.stablecoins), pivots: new Set(c.pivots) }]))
  const pricingOf = (chainId: number): ChainPricing => pricing.get(chainId) ?? { stablecoins: new Set(), pivots: new Set() }
  const guards = { ...config.pricing }
  const wrapped = new Map(chains.map((c) => [c.id, c.wrappedNative]))
  const wrappedNative = (chainId: number): Address | undefined => wrapped.get(chainId)
  return {
    pricingOf,
    guards,
    newCache: (chainId) => new PriceCache(pricingOf(chainId), undefined, guards),
    batchOptions: { mode: config.accounts === 'auto' ? 'auto' : 'named', wrappedNative },
    riskOptions: {
      horizonSeconds: config.risk.horizonSeconds,
      windowSize: config.risk.windowSize,
      minHistory: config.risk.minHistory,
      confidences: [...config.risk.confidences],
      fallbackShock: config.risk.fallbackShock,
    },
    repriceIntervalSeconds: config.risk.repriceIntervalSeconds,
    repricePerBatch: config.risk.repricePerBatch,
    snapshotIntervalSeconds: config.risk.snapshotIntervalSeconds,
    maxPriceAgeSeconds: config.pricing.maxAgeSeconds,
    assets: assetIndexOf(config),
    wrappedNative,
  }
}

export function riskContextOf(setup: ShardSetup, rules: readonly Rule[], decimals: ReadonlyMap<string, number | null>): RiskContext {
  return {
    options: setup.riskOptions,
    repriceIntervalSeconds: setup.repriceIntervalSeconds,
    repricePerBatch: setup.repricePerBatch,
    snapshotIntervalSeconds: setup.snapshotIntervalSeconds,
    maxPriceAgeSeconds: setup.maxPriceAgeSeconds,
    assets: setup.assets,
    wrappedNative: setup.wrappedNative,
    decimalsOf: (chainId, token) => decimals.get(`${chainId}:${token}`) ?? null,
    rules,
  }
}

/** The decimals a batch carries (with its swaps, transfers and readings), into the shard's token map. */
export function learnDecimals(decimals: Map<string, number | null>, batch: TradeBatch): void {
  for (const s of batch.swaps) {
    if (s.decimalsIn !== null) decimals.set(`${s.chainId}:${s.tokenIn}`, s.decimalsIn)
    if (s.decimalsOut !== null) decimals.set(`${s.chainId}:${s.tokenOut}`, s.decimalsOut)
  }
  for (const x of batch.transfers) if (x.decimals !== null) decimals.set(`${x.chainId}:${x.token}`, x.decimals)
  for (const x of batch.readings) if (x.decimals !== null) decimals.set(`${x.chainId}:${x.token}`, x.decimals)
}

/** The built-in default rules, overridden by the database's rules of the same id, plus every account's. */
export async function loadRules(db: Queryable): Promise<Rule[]> {
  const stored = await listRules(db)
  const ids = new Set(stored.filter((r) => r.account === null).map((r) => r.id))
  return [...DEFAULT_RULES.filter((r) => !ids.has(r.id)), ...stored]
}

/**
 * Which asset a token is: the chain's `assets` config, stablecoins as 'USD' unless named, so
 * WETH on every chain shares one price and one exposure line.
 */
export function assetIndexOf(config: Config): AssetIndex {
  const members: { chainId: number; token: Address; asset: string }[] = []
  for (const c of chainList(config)) {
    const named = new Map(Object.entries(c.assets).map(([t, a]) => [t.toLowerCase() as Address, a]))
    for (const s of c.stablecoins) if (!named.has(s)) named.set(s, 'USD')
    for (const [token, asset] of named) members.push({ chainId: c.id, token, asset })
  }
  return createAssetIndex(members)
}

/** What one batch changes in a shard: its positions and prices, and its risk. */
export type ShardBatch = { effects: BatchEffects; risk: RiskEffects }

/**
 * One batch through a shard's pure computation (the worker writes the result and then commits
 * it; a replay commits it at once): null when the batch is at or below the checkpoint. The
 * decimals the batch carries are learnt first, as the risk computation values with them.
 */
export function computeShardBatch(
  state: ShardState,
  risk: RiskState,
  batch: TradeBatch,
  setup: ShardSetup,
  rules: readonly Rule[],
  decimals: Map<string, number | null>,
): ShardBatch | null {
  learnDecimals(decimals, batch)
  const r = computeBatch(state, batch, setup.newCache, { ...setup.batchOptions, decimalsOf: (c, t) => decimals.get(`${c}:${t}`) })
  if (r.kind === 'skip') return null
  return { effects: r.effects, risk: computeRisk(state, risk, r.effects, riskContextOf(setup, rules, decimals)) }
}

/** Applies a computed batch to memory, once it is written (or at once, replaying). */
export function commitShardBatch(state: ShardState, risk: RiskState, b: ShardBatch): void {
  // Accounts with their first positions join the sweep, in the batch's order.
  const added = new Set<string>()
  for (const c of b.effects.positions) if (!state.positions.has(c.account)) added.add(c.account)
  commitEffects(state, b.effects)
  commitRisk(risk, b.risk, [...added])
}

/**
 * Runs a shard's batches, in the order it applied them, through the same pure computation the
 * worker runs, from empty state and without I/O: the snapshot rows and alerts a recorded run must
 * have written (docs/decisions.md 3). Same batches, same rules → byte-identical output.
 */
export function replayShard(
  config: Config,
  rules: readonly Rule[],
  shard: number,
  batches: readonly TradeBatch[],
): { snapshots: (AccountUpdate & { chainId: number; block: bigint; time: number })[]; alerts: Alert[] } {
  const setup = shardSetup(config)
  const state = emptyShardState(shard)
  const risk = emptyRiskState(setup.riskOptions)
  const decimals = new Map<string, number | null>()
  const out: ReturnType<typeof replayShard> = { snapshots: [], alerts: [] }
  for (const batch of batches) {
    const b = computeShardBatch(state, risk, batch, setup, rules, decimals)
    if (b === null) continue
    commitShardBatch(state, risk, b)
    for (const u of b.risk.updates) if (u.snapshot) out.snapshots.push({ ...u, chainId: batch.chainId, block: batch.toBlock, time: b.risk.time })
    out.alerts.push(...b.risk.alerts)
  }
  return out
}

/**
 * Arms every account a starting worker loaded: its metrics at the shard's clock, from the loaded
 * positions and prices, give its repricing band, so a price move that could change one of its
 * rules reaches it from the first batch on (otherwise it would wait for the sweep). A carried
 * state stays as committed; an account without one (positions loaded, never computed) takes its
 * peak at start. Nothing is written and no rule is evaluated here. An account with a rule already
 * breached, or firing and past its resolution point, is recomputed in the first batch. Costs one metrics computation per
 * account held, once, at start.
 */
export function armShard(state: ShardState, risk: RiskState, setup: ShardSetup, rules: readonly Rule[], decimals: ReadonlyMap<string, number | null>): { armed: number; due: number } {
  const arm = accountArmer(state, risk, riskContextOf(setup, rules, decimals), risk.clock ?? 0)
  let armed = 0
  const accounts = [...state.positions.keys()].sort()
  for (const account of accounts) {
    const r = arm(account)
    if (r === 'due') risk.dueNow.add(account)
    else if (r === 'armed') armed++
  }
  risk.sweep.order = accounts
  risk.sweep.cursor = 0
  return { armed, due: risk.dueNow.size }
}
