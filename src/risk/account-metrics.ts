/**
 * Risk metrics of one account, recomputed on every batch: exposure, concentration, PnL, drawdown,
 * historical / parametric VaR and ES, trading velocity. Pure apart from the documented mutation of
 * `recordTrade`: the same positions, history, state and time give the same metrics to the bit
 * (positions are sorted, sums run in that order, no clock, no randomness).
 *
 * Definitions are docs/decisions.md, "Words"; the ones that need a choice are written where they are made.
 * Rounding, named: a bigint quantity becomes float64 in `toUnits` (relative error below 1e-15);
 * everything after that is float64.
 */
import { toUnits } from '../domain/price-math.ts'
import { ConfigError } from '../errors.ts'
import type { ReturnHistory } from './return-history.ts'
import { esOfSorted, parametricVar, varOfSorted } from './stats.ts'

/** One position of the account with what valuing it needs (decimals / price null: unpriced). */
export type MetricPosition = {
  chainId: number
  token: string
  asset: string
  quantity: bigint
  decimals: number | null
  priceUsd: number | null
  /** Signed average cost (workers/risk/position.ts): positive for a long, negative for a short. */
  costUsd: number
  realizedPnlUsd: number
  /** Some trade of the position had no USD value: its cost and PnL are incomplete. */
  unpricedCost: boolean
}

export type RiskOptions = {
  /** VaR horizon in seconds; must equal the history's. */
  horizonSeconds: number
  /** Returns in the VaR window; must equal the history's. */
  windowSize: number
  /** Fewest returns an asset needs for historical VaR; must equal the history's. */
  minHistory: number
  /** The two VaR / ES confidences, reported as the 95 and 99 fields: [0.95, 0.99]. */
  confidences: [number, number]
  /** Loss per horizon, as a fraction of |exposure|, charged for an asset with too little history (e.g. 0.25). */
  fallbackShock: number
}

/** Running figures of one sliding window ending at the state's clock. */
export type WindowSums = {
  /** Index in the trade deque of the first trade inside the window. */
  start: number
  /** USD volume of the priced trades inside the window. */
  volumeUsd: number
  /** How many trades inside the window have a USD value. */
  priced: number
}

/** What an account's metrics carry from one computation to the next. Plain JSON. */
export type AccountRiskState = {
  /** Peak equity, moved by external flows; null before the first computation. */
  peakEquityUsd: number | null
  maxDrawdownUsd: number
  /** null while the peak has never been positive. */
  maxDrawdownPct: number | null
  /** UTC day (floor(time / 86400)) of the last computation; null before the first. */
  day: number | null
  /** Total PnL when the current UTC day started. */
  dayStartPnlUsd: number
  /** Total PnL of the last computation: the start value of the next day. */
  lastTotalPnlUsd: number
  /** Time of the latest trade recorded; the windows below end there. null before the first trade. */
  clock: number | null
  /** Trades of the 24 h ending at `clock`, oldest first: block time and USD value (null: unpriced). */
  tradeTimes: number[]
  tradeUsd: (number | null)[]
  /** Sliding windows of 1 minute, 1 hour and 24 hours (VELOCITY_WINDOWS), in that order. */
  windows: [WindowSums, WindowSums, WindowSums]
}

export type TokenExposure = {
  chainId: number
  token: string
  asset: string
  /** Raw quantity (bigint) as a decimal string. */
  quantity: string
  /** The token's decimals (quantity / 10^decimals is the amount in units); null when unknown. */
  decimals: number | null
  priceUsd: number | null
  /** null when unpriced: never valued at 0. */
  valueUsd: number | null
  /** The cost basis is incomplete (a trade without a USD value), so is this token's PnL. */
  unpricedCost: boolean
}

export type AccountMetrics = {
  account: string
  time: number
  /** Mark-to-market of the priced positions (= netExposureUsd). */
  equityUsd: number
  grossExposureUsd: number
  netExposureUsd: number
  /** Positions with a non-zero quantity and no decimals or no price: excluded from every sum. */
  unpricedPositions: number
  /** Largest asset's share of gross exposure; null when gross is 0. */
  largestAssetShare: number | null
  /** Σ share² over assets; null when gross is 0. */
  hhi: number | null
  realizedPnlUsd: number
  /** Σ (value − cost) over priced positions. */
  unrealizedPnlUsd: number
  totalPnlUsd: number
  /** totalPnlUsd minus its value at the first computation of the UTC day. */
  dailyPnlUsd: number
  drawdownUsd: number
  drawdownPct: number | null
  maxDrawdownUsd: number
  maxDrawdownPct: number | null
  /** At confidences[0] and confidences[1]; positive = loss; the fallback add-on included. */
  var95Usd: number
  var99Usd: number
  es95Usd: number
  es99Usd: number
  parametricVar95Usd: number
  parametricVar99Usd: number
  /** Trades in the last 60 s / 3600 s / 86400 s: a trade at time t counts at time T when T − window < t ≤ T. */
  swaps1m: number
  swaps1h: number
  swaps24h: number
  /**
   * USD volume of those trades. A trade without a USD value adds nothing (the figure is then a
   * lower bound); null when the window has trades and none of them has a USD value.
   */
  volume1mUsd: number | null
  volume1hUsd: number | null
  volume24hUsd: number | null
  /** 'historical': every exposed asset has history; 'fallback': none has; 'mixed': some have. */
  varMethod: 'historical' | 'fallback' | 'mixed'
  /**
   * Some position with a non-zero quantity is unpriced, so VaR and ES leave it out: they are a lower
   * bound, never a figure to read as safe (rules on them fail closed: src/risk/rules.ts, evaluate).
   */
  varIncomplete: boolean
  /** Returns in the historical window (0 when no asset with exposure has history). */
  historyLength: number
  /** Assets with exposure and too little history, charged fallbackShock × |exposure|. */
  assetsWithoutHistory: string[]
  /** Sorted by asset, then chain id, then token. */
  exposureByToken: TokenExposure[]
  /** Sorted by asset. */
  exposureByAsset: { asset: string; grossUsd: number; netUsd: number }[]
  /** Sorted by chain id. */
  exposureByChain: { chainId: number; grossUsd: number; netUsd: number }[]
  unpricedTokens: { chainId: number; token: string; quantity: string }[]
}

/** Lengths of the velocity windows in seconds: 1 minute, 1 hour, 24 hours. */
export const VELOCITY_WINDOWS = [60, 3600, 86400] as const

const DAY_SECONDS = 86400

/**
 * The state of an account that has never traded. Its trade deque and windows are shared, frozen
 * objects (an account that only holds costs no arrays of its own: a shard may hold a million),
 * replaced by the state's own at its first recordTrade.
 */
export function emptyAccountRiskState(): AccountRiskState {
  return {
    peakEquityUsd: null,
    maxDrawdownUsd: 0,
    maxDrawdownPct: null,
    day: null,
    dayStartPnlUsd: 0,
    lastTotalPnlUsd: 0,
    clock: null,
    tradeTimes: NO_TRADE_TIMES as number[],
    tradeUsd: NO_TRADE_USD as (number | null)[],
    windows: NO_WINDOWS as AccountRiskState['windows'],
  }
}

function emptyWindow(): WindowSums {
  return { start: 0, volumeUsd: 0, priced: 0 }
}

const NO_TRADE_TIMES: readonly number[] = Object.freeze([])
const NO_TRADE_USD: readonly (number | null)[] = Object.freeze([])
const NO_WINDOWS = Object.freeze([Object.freeze(emptyWindow()), Object.freeze(emptyWindow()), Object.freeze(emptyWindow())])

/** A deep copy: what a batch computed on speculatively (before its database commit) starts from. */
export function cloneAccountRiskState(s: AccountRiskState): AccountRiskState {
  return {
    ...s,
    tradeTimes: [...s.tradeTimes],
    tradeUsd: [...s.tradeUsd],
    windows: [{ ...s.windows[0] }, { ...s.windows[1] }, { ...s.windows[2] }],
  }
}

/**
 * Records one trade (block time, USD value or null when unpriced) and returns the same state,
 * MODIFIED IN PLACE: the trade deque and its running sums change with every trade, and copying
 * them per trade would cost O(trades in 24 h). Clone first (cloneAccountRiskState) when the
 * original must survive, e.g. until a batch's database transaction commits.
 *
 * Windows advance to the latest trade time seen. A trade older than one already recorded (another
 * chain's batch arriving later) is inserted in time order and counted in the windows that still
 * contain it; one 24 h or more older than the latest is ignored.
 */
export function recordTrade(state: AccountRiskState, time: number, usd: number | null): AccountRiskState {
  if (!Number.isFinite(time)) return state
  if (state.tradeTimes === NO_TRADE_TIMES) {
    // The shared empty deque of emptyAccountRiskState: this state gets its own now.
    state.tradeTimes = []
    state.tradeUsd = []
    state.windows = [emptyWindow(), emptyWindow(), emptyWindow()]
  }
  const value = usd !== null && Number.isFinite(usd) ? usd : null
  if (state.clock === null || time > state.clock) advanceWindows(state, time)
  const clock = state.clock!
  if (time <= clock - DAY_SECONDS) return state
  const times = state.tradeTimes
  let at = times.length
  while (at > 0 && times[at - 1]! > time) at--
  times.splice(at, 0, time)
  state.tradeUsd.splice(at, 0, value)
  for (let k = 0; k < VELOCITY_WINDOWS.length; k++) {
    const w = state.windows[k]!
    if (time > clock - VELOCITY_WINDOWS[k]!) {
      // Inside: everything before `start` is older than the window, so the trade went in at or after it.
      if (value !== null) {
        w.volumeUsd += value
        w.priced++
      }
    } else {
      // Outside: it went in at or before `start`, pushing the window's first trade one place on.
      w.start++
    }
  }
  return state
}

/**
 * The account's metrics at block time `time`, and its next state. `state` is not modified; the
 * returned state is a new object that shares the trade deque with it (only recordTrade changes
 * the deque). `flowUsd` is the external flow since the last computation (deposits positive): the
 * drawdown peak moves with it, so moving funds out is not a loss. The caller advances `history`
 * to `time` first (history.advanceTo), so that the window ends at the last completed period.
 */
export function computeAccountMetrics(input: {
  account: string
  time: number
  positions: readonly MetricPosition[]
  history: ReturnHistory
  options: RiskOptions
  state: AccountRiskState
  flowUsd: number
}): { metrics: AccountMetrics; state: AccountRiskState } {
  const { account, time, history, options, state, flowUsd } = input
  checkRiskOptions(options, history)
  const positions = [...input.positions].sort(comparePositions)

  // Exposure, PnL and concentration, in (asset, chain, token) order.
  const exposureByToken: TokenExposure[] = []
  const exposureByAsset: AccountMetrics['exposureByAsset'] = []
  const byChain = new Map<number, { chainId: number; grossUsd: number; netUsd: number }>()
  const unpricedTokens: AccountMetrics['unpricedTokens'] = []
  let gross = 0
  let net = 0
  let realized = 0
  let unrealized = 0
  let current: { asset: string; grossUsd: number; netUsd: number } | undefined
  for (const p of positions) {
    const quantity = p.quantity.toString()
    realized += p.realizedPnlUsd
    // Nothing held needs no price: a closed position is worth exactly 0.
    const value = p.quantity === 0n ? 0 : p.priceUsd === null || p.decimals === null ? null : toUnits(p.quantity, p.decimals) * p.priceUsd
    exposureByToken.push({ chainId: p.chainId, token: p.token, asset: p.asset, quantity, decimals: p.decimals, priceUsd: p.priceUsd, valueUsd: value, unpricedCost: p.unpricedCost })
    if (value === null) {
      unpricedTokens.push({ chainId: p.chainId, token: p.token, quantity })
      continue
    }
    const abs = Math.abs(value)
    gross += abs
    net += value
    unrealized += value - p.costUsd
    if (current?.asset !== p.asset) exposureByAsset.push((current = { asset: p.asset, grossUsd: 0, netUsd: 0 }))
    current.grossUsd += abs
    current.netUsd += value
    let chain = byChain.get(p.chainId)
    if (!chain) byChain.set(p.chainId, (chain = { chainId: p.chainId, grossUsd: 0, netUsd: 0 }))
    chain.grossUsd += abs
    chain.netUsd += value
  }
  let largestAssetShare: number | null = null
  let hhi: number | null = null
  if (gross > 0) {
    largestAssetShare = 0
    hhi = 0
    for (const a of exposureByAsset) {
      const share = a.grossUsd / gross
      if (share > largestAssetShare) largestAssetShare = share
      hhi += share * share
    }
  }
  const total = realized + unrealized
  const equity = net

  // Daily PnL: the day's start value is the last total computed before the day changed.
  const day = Math.floor(time / DAY_SECONDS)
  let dayStart = state.dayStartPnlUsd
  let stateDay = state.day
  if (stateDay === null) {
    stateDay = day
    dayStart = total
  } else if (day > stateDay) {
    stateDay = day
    dayStart = state.lastTotalPnlUsd
  }

  // Drawdown: the peak follows external flows, then equity.
  const peak = state.peakEquityUsd === null ? equity : Math.max(state.peakEquityUsd + flowUsd, equity)
  const drawdownUsd = peak - equity
  const drawdownPct = peak > 0 ? drawdownUsd / peak : null
  const maxDrawdownUsd = Math.max(state.maxDrawdownUsd, drawdownUsd)
  const maxDrawdownPct = drawdownPct === null ? state.maxDrawdownPct : state.maxDrawdownPct === null ? drawdownPct : Math.max(state.maxDrawdownPct, drawdownPct)

  const risk = valueAtRisk(exposureByAsset, history, options)
  const velocity = VELOCITY_WINDOWS.map((_, k) => windowFigures(state, k, time))

  const metrics: AccountMetrics = {
    account,
    time,
    equityUsd: equity,
    grossExposureUsd: gross,
    netExposureUsd: net,
    unpricedPositions: unpricedTokens.length,
    largestAssetShare,
    hhi,
    realizedPnlUsd: realized,
    unrealizedPnlUsd: unrealized,
    totalPnlUsd: total,
    dailyPnlUsd: total - dayStart,
    drawdownUsd,
    drawdownPct,
    maxDrawdownUsd,
    maxDrawdownPct,
    var95Usd: risk.var[0],
    var99Usd: risk.var[1],
    es95Usd: risk.es[0],
    es99Usd: risk.es[1],
    parametricVar95Usd: risk.parametric[0],
    parametricVar99Usd: risk.parametric[1],
    swaps1m: velocity[0]!.swaps,
    swaps1h: velocity[1]!.swaps,
    swaps24h: velocity[2]!.swaps,
    volume1mUsd: velocity[0]!.volumeUsd,
    volume1hUsd: velocity[1]!.volumeUsd,
    volume24hUsd: velocity[2]!.volumeUsd,
    varMethod: risk.method,
    varIncomplete: unpricedTokens.length > 0,
    historyLength: risk.historyLength,
    assetsWithoutHistory: risk.lacking,
    exposureByToken,
    exposureByAsset,
    exposureByChain: [...byChain.values()].sort((a, b) => a.chainId - b.chainId),
    unpricedTokens,
  }
  const next: AccountRiskState = {
    ...state,
    peakEquityUsd: peak,
    maxDrawdownUsd,
    maxDrawdownPct,
    day: stateDay,
    dayStartPnlUsd: dayStart,
    lastTotalPnlUsd: total,
  }
  return { metrics, state: next }
}

/**
 * Checks risk options (and that they agree with the history they are used with); the message
 * names the field. Cheap enough to run on every computation.
 */
export function checkRiskOptions(options: RiskOptions, history?: ReturnHistory): void {
  for (const [i, c] of options.confidences.entries())
    if (!(c > 0 && c < 1)) throw new ConfigError('a VaR confidence must be strictly between 0 and 1', { context: { field: `confidences[${i}]` }, details: `got ${c}` })
  if (!(options.fallbackShock >= 0) || !Number.isFinite(options.fallbackShock))
    throw new ConfigError('fallbackShock must be a loss fraction ≥ 0', { context: { field: 'fallbackShock' }, details: `got ${options.fallbackShock}` })
  if (!history) return
  for (const field of ['horizonSeconds', 'windowSize', 'minHistory'] as const)
    if (options[field] !== history.options[field])
      throw new ConfigError(`risk options and return history disagree on ${field}`, {
        context: { field },
        details: `options ${options[field]}, history ${history.options[field]}`,
      })
}

type RiskFigures = {
  var: [number, number]
  es: [number, number]
  parametric: [number, number]
  method: AccountMetrics['varMethod']
  historyLength: number
  lacking: string[]
}

/** Reused between calls: the scenario PnL of the window, sorted in place. */
let scenarios = new Float64Array(0)

/**
 * Historical scenario PnL_t = Σ e_a·r_{a,t} over the aligned window for assets with history (e_a =
 * net USD exposure to the asset, assets in name order); empyrical VaR / ES of it; parametric
 * z·√(eᵀΣe) with the history's cached Σ. Each asset without history adds fallbackShock·|e_a| to
 * every figure (a conservative stand-in, and varMethod says it was used).
 */
function valueAtRisk(byAsset: readonly { asset: string; netUsd: number }[], history: ReturnHistory, options: RiskOptions): RiskFigures {
  const exposed = byAsset.filter((a) => a.netUsd !== 0)
  const window = history.window(exposed.map((a) => a.asset))
  const exposureOf = new Map(exposed.map((a) => [a.asset, a.netUsd]))
  let addOn = 0
  for (const a of window.lacking) addOn += options.fallbackShock * Math.abs(exposureOf.get(a)!)
  const out: RiskFigures = {
    var: [addOn, addOn],
    es: [addOn, addOn],
    parametric: [addOn, addOn],
    method: window.lacking.length === 0 ? 'historical' : window.assets.length === 0 ? 'fallback' : 'mixed',
    historyLength: window.assets.length === 0 ? 0 : window.length,
    lacking: window.lacking,
  }
  if (window.assets.length === 0) return out

  const n = window.assets.length
  const len = window.length
  const e = new Float64Array(n)
  for (let i = 0; i < n; i++) e[i] = exposureOf.get(window.assets[i]!)!
  if (scenarios.length !== len) scenarios = new Float64Array(len)
  const pnl = scenarios
  pnl.fill(0)
  // Four assets per pass over the scenarios. JavaScript adds left to right, so each pnl[t] is
  // still ((pnl + e0·r0) + e1·r1) + …, asset by asset in name order: the same bits as one pass
  // per asset, in about half the time (fewer loads and stores of pnl).
  const rs = window.returns
  let i = 0
  for (; i + 4 <= n; i += 4) {
    const [r0, r1, r2, r3] = [rs[i]!, rs[i + 1]!, rs[i + 2]!, rs[i + 3]!]
    const [e0, e1, e2, e3] = [e[i]!, e[i + 1]!, e[i + 2]!, e[i + 3]!]
    for (let t = 0; t < len; t++) pnl[t] = pnl[t]! + e0 * r0[t]! + e1 * r1[t]! + e2 * r2[t]! + e3 * r3[t]!
  }
  for (; i < n; i++) {
    const r = rs[i]!
    const ei = e[i]!
    for (let t = 0; t < len; t++) pnl[t]! += ei * r[t]!
  }
  pnl.sort()
  const cov = history.covariance(window)
  for (let k = 0; k < 2; k++) {
    const c = options.confidences[k]!
    out.var[k] = varOfSorted(pnl, c) + addOn
    out.es[k] = esOfSorted(pnl, c) + addOn
    out.parametric[k] = parametricVar(e, cov, c) + addOn
  }
  return out
}

/** Swaps and volume of window k at `time`, from the running sums, without changing the state. */
function windowFigures(state: AccountRiskState, k: number, time: number): { swaps: number; volumeUsd: number | null } {
  if (state.clock === null) return { swaps: 0, volumeUsd: 0 }
  const w = state.windows[k]!
  const times = state.tradeTimes
  const cutoff = Math.max(time, state.clock) - VELOCITY_WINDOWS[k]!
  let start = w.start
  let volume = w.volumeUsd
  let priced = w.priced
  for (; start < times.length && times[start]! <= cutoff; start++) {
    const u = state.tradeUsd[start]!
    if (u !== null) {
      volume -= u
      priced--
    }
  }
  const swaps = times.length - start
  if (swaps === 0) return { swaps: 0, volumeUsd: 0 }
  return { swaps, volumeUsd: priced === 0 ? null : volume }
}

/** Moves the clock to `time`: trades that left a window leave its sums; trades older than 24 h are dropped. */
function advanceWindows(state: AccountRiskState, time: number): void {
  state.clock = time
  const times = state.tradeTimes
  for (let k = 0; k < VELOCITY_WINDOWS.length; k++) {
    const w = state.windows[k]!
    const cutoff = time - VELOCITY_WINDOWS[k]!
    for (; w.start < times.length && times[w.start]! <= cutoff; w.start++) {
      const u = state.tradeUsd[w.start]!
      if (u !== null) {
        w.volumeUsd -= u
        w.priced--
      }
    }
    // An empty window restarts from an exact zero, so subtraction rounding cannot linger.
    if (w.start === times.length) {
      w.volumeUsd = 0
      w.priced = 0
    }
  }
  // The 24 h window starts earliest: everything before it is gone for good.
  const drop = state.windows[2].start
  if (drop > 0) {
    times.splice(0, drop)
    state.tradeUsd.splice(0, drop)
    for (const w of state.windows) w.start -= drop
  }
}


function comparePositions(a: MetricPosition, b: MetricPosition): number {
  if (a.asset !== b.asset) return a.asset < b.asset ? -1 : 1
  if (a.chainId !== b.chainId) return a.chainId - b.chainId
  return a.token < b.token ? -1 : a.token > b.token ? 1 : 0
}
