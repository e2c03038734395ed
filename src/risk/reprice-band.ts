/**
 * How far an account's asset prices can move before one of its rules could change state: the
 * repricing band. Every asset the account holds is watched at its price at the last computation,
 * p₀·(1 ± band); a price leaving the band recomputes the account at once, one inside it cannot
 * change any rule's state, so the account is left to the bounded sweep (workers/risk/reprice-plan.ts).
 *
 * The bound is first-order and conservative. With each asset's USD price moving by a relative
 * amount |rₐ| ≤ r, each position's value moves by at most |vₐ|·r, and every price-driven metric
 * M moves by at most r·S_M, where S_M is M's sensitivity (below). A rule whose next state change
 * needs M to move by d is safe while r·S_M < d, so band = min over rules of d / S_M. Because the
 * same band holds for every asset at once, several assets moving together within it are covered
 * too. Named bounds, per metric (gₐ = gross exposure to asset a, G = Σ gₐ over the assets whose
 * price can move: a stablecoin's exposure moves no metric):
 * - equity, net and gross exposure, unrealized / total / daily PnL, drawdown (USD), max drawdown
 *   (USD): S = G (a position's value moves by at most |vₐ|·r; the peak only rises with equity).
 * - drawdown %, max drawdown %: S = G / peak (peak > 0).
 * - VaR / ES, historical and parametric: S = Σ cₐ·gₐ with cₐ the asset's sensitivity: the larger
 *   of its largest absolute return in the window and z·σ (every scenario's PnL moves by at most
 *   Σ|Δvₐ|·max|rₐ|; the parametric norm by at most z·Σ|Δvₐ|·σₐ), or the fallback shock for an
 *   asset without history.
 * - largest asset share: each share moves by at most 2r/(1−r); HHI by at most ((1+r)/(1−r))² − 1.
 * - realized PnL, swap counts and volumes, unpriced positions: prices do not move them (trades,
 *   time and prices appearing or going stale do; those reach the account by other paths).
 * What a band cannot see is time: a return period closing, a UTC day turning, a price going stale,
 * a rule's cooldown ending. The sweep revisits every holder for those.
 */
import type { AccountMetrics } from './account-metrics.ts'
import type { MetricName, Rule, RuleState } from './rules.ts'
import { INITIAL_RULE_STATE } from './rules.ts'

/** What a band needs of the account beyond its metrics. */
export type BandInput = {
  metrics: AccountMetrics
  /** The rules that apply to the account (rulesFor), and its states by rule id. */
  rules: readonly Rule[]
  states: Readonly<Record<string, RuleState>>
  /** Peak equity after the computation (AccountRiskState.peakEquityUsd). */
  peakEquityUsd: number | null
  /** Sensitivity cₐ of an asset's VaR contribution per USD of exposure (see above). */
  varSensitivity: (asset: string) => number
  /** Assets whose USD price never moves (stablecoins' 'USD'): their exposure cannot move a metric. */
  constantAssets: ReadonlySet<string>
}

/** The relative price move (≥ 0) no rule of the account can change state within; Infinity: none can. */
export function repriceBand(input: BandInput): number {
  const { metrics, rules, states } = input
  let gross = 0
  let varS = 0
  for (const a of metrics.exposureByAsset) {
    if (input.constantAssets.has(a.asset)) continue
    gross += a.grossUsd
    varS += input.varSensitivity(a.asset) * a.grossUsd
  }
  if (!(gross > 0)) return Infinity
  let band = Infinity
  for (const rule of rules) {
    if (!rule.enabled) continue
    const value = (metrics as unknown as Record<MetricName, number | null>)[rule.metric]
    if (value === null || value === undefined || !Number.isFinite(value)) continue
    const d = margin(rule, states[rule.id] ?? INITIAL_RULE_STATE, value)
    if (d === Infinity) continue
    const r = bandFor(rule.metric, d, gross, varS, input.peakEquityUsd)
    if (r < band) band = r
  }
  return band
}

/**
 * How far the value must move for the rule's state to change: to the threshold while not
 * breached, to the resolution point while firing. A breach waiting out its cooldown changes
 * with time, not price: Infinity here, the sweep revisits it.
 */
function margin(rule: Rule, state: RuleState, value: number): number {
  if (state.status === 'firing') {
    const resolveAt = rule.op === 'above' ? rule.threshold - rule.hysteresis : rule.threshold + rule.hysteresis
    return Math.abs(value - resolveAt)
  }
  const breached = rule.op === 'above' ? value > rule.threshold : value < rule.threshold
  return breached ? Infinity : Math.abs(rule.threshold - value)
}

function bandFor(metric: MetricName, d: number, gross: number, varS: number, peak: number | null): number {
  switch (metric) {
    case 'equityUsd':
    case 'grossExposureUsd':
    case 'netExposureUsd':
    case 'unrealizedPnlUsd':
    case 'totalPnlUsd':
    case 'dailyPnlUsd':
    case 'drawdownUsd':
    case 'maxDrawdownUsd':
      return d / gross
    case 'drawdownPct':
    case 'maxDrawdownPct':
      return peak !== null && peak > 0 ? (d * peak) / gross : Infinity
    case 'var95Usd':
    case 'var99Usd':
    case 'es95Usd':
    case 'es99Usd':
    case 'parametricVar95Usd':
    case 'parametricVar99Usd':
      return varS > 0 ? d / varS : Infinity
    case 'largestAssetShare':
      return d / (2 + d)
    case 'hhi': {
      const s = Math.sqrt(1 + d)
      return (s - 1) / (s + 1)
    }
    case 'realizedPnlUsd':
    case 'unpricedPositions':
    case 'swaps1m':
    case 'swaps1h':
    case 'swaps24h':
    case 'volume1mUsd':
    case 'volume1hUsd':
    case 'volume24hUsd':
      return Infinity
  }
}
