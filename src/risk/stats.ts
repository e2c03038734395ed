/**
 * Pure numeric functions of the risk engine. Historical VaR and expected shortfall follow
 * empyrical's `value_at_risk` / `conditional_value_at_risk` to the operation (same quantile
 * interpolation, same cutoff index), so a value here matches a numpy/empyrical computation on the
 * same series; test/fixtures/risk/reference.py is that computation. Losses are returned as positive
 * numbers (empyrical returns the quantile of returns, a negative number for a loss).
 */
import jStat from 'jstat'
import { BaseError } from '../errors.ts'

/**
 * numpy's default (`method='linear'`) quantile of an ascending array, q in [0, 1]: the virtual
 * index (n − 1)·q, interpolated between its neighbours exactly as numpy's `_lerp` does (from the
 * upper neighbour when the weight is ≥ 0.5), so the result is bit-for-bit numpy's. NaN when empty.
 */
export function quantileLinear(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  const index = (n - 1) * q
  if (index >= n - 1) return sorted[n - 1]!
  if (index <= 0) return sorted[0]!
  const below = Math.floor(index)
  const gamma = index - below
  const a = sorted[below]!
  const b = sorted[below + 1]!
  const diff = b - a
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma
}

/**
 * The fraction empyrical passes to `np.percentile`: `100 * (1 - confidence)`, divided by 100 as
 * numpy does. Written out so the float rounding is numpy's (1 − 0.95 is 0.050000000000000044).
 */
const tailFraction = (confidence: number): number => (100 * (1 - confidence)) / 100

/** Historical VaR of an ascending series: `-np.percentile(r, 100 * (1 - confidence))`. */
export function varOfSorted(sorted: ArrayLike<number>, confidence: number): number {
  checkConfidence(confidence)
  return -quantileLinear(sorted, tailFraction(confidence)) + 0
}

/**
 * Expected shortfall of an ascending series, empyrical's way: the mean of the
 * `int((n - 1) * (1 - confidence)) + 1` smallest values, negated. (empyrical partitions; the
 * smallest k values of a sorted array are the same values.) NaN when empty.
 */
export function esOfSorted(sorted: ArrayLike<number>, confidence: number): number {
  checkConfidence(confidence)
  const n = sorted.length
  if (n === 0) return Number.NaN
  const cutoff = Math.trunc((n - 1) * (1 - confidence))
  let sum = 0
  for (let i = 0; i <= cutoff; i++) sum += sorted[i]!
  return -(sum / (cutoff + 1)) + 0
}

/** empyrical `value_at_risk(pnl, 1 - confidence)`, as a positive loss. The input is not modified. */
export function historicalVar(pnl: ArrayLike<number>, confidence: number): number {
  return varOfSorted(Float64Array.from(pnl).sort(), confidence)
}

/** empyrical `conditional_value_at_risk(pnl, 1 - confidence)`, as a positive loss. The input is not modified. */
export function historicalEs(pnl: ArrayLike<number>, confidence: number): number {
  return esOfSorted(Float64Array.from(pnl).sort(), confidence)
}

/** Standard normal quantile (jStat's erfc inverse; within ~1e-15 of Python's NormalDist().inv_cdf). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new BaseError('normal quantile needs a probability strictly between 0 and 1', { details: `got ${p}` })
  return jStat.normal.inv(p, 0, 1)
}

/**
 * Sample covariance (ddof = 1, like `np.cov(rows)`) of equally long series, row-major n×n. Rows are
 * centred on their mean first (two passes), which keeps small variances accurate.
 */
export function covarianceMatrix(series: readonly Float64Array[]): Float64Array {
  const n = series.length
  const out = new Float64Array(n * n)
  if (n === 0) return out
  const len = series[0]!.length
  if (len < 2) throw new BaseError('covariance needs at least 2 observations per series', { details: `got ${len}` })
  const centred: Float64Array[] = []
  for (let i = 0; i < n; i++) {
    const s = series[i]!
    if (s.length !== len) throw new BaseError('covariance needs series of equal length', { details: `series 0 has ${len}, series ${i} has ${s.length}` })
    let sum = 0
    for (let t = 0; t < len; t++) sum += s[t]!
    const mean = sum / len
    const c = new Float64Array(len)
    for (let t = 0; t < len; t++) c[t] = s[t]! - mean
    centred.push(c)
  }
  // numpy multiplies by the reciprocal of (len - 1) rather than dividing.
  const scale = 1 / (len - 1)
  for (let i = 0; i < n; i++) {
    const a = centred[i]!
    for (let j = i; j < n; j++) {
      const b = centred[j]!
      let dot = 0
      for (let t = 0; t < len; t++) dot += a[t]! * b[t]!
      out[i * n + j] = out[j * n + i] = dot * scale
    }
  }
  return out
}

/**
 * Parametric (variance-covariance) VaR of a portfolio with USD `exposures` to assets whose
 * horizon returns have covariance `cov` (row-major n×n): z_confidence · √(eᵀΣe). A quadratic form
 * that rounds below zero (a singular Σ) counts as zero.
 */
export function parametricVar(exposures: Float64Array, cov: Float64Array, confidence: number): number {
  const n = exposures.length
  if (cov.length !== n * n) throw new BaseError('covariance matrix does not match the exposures', { details: `${n} exposures, ${cov.length} covariance entries` })
  let quad = 0
  for (let i = 0; i < n; i++) {
    const ei = exposures[i]!
    if (ei === 0) continue
    let row = 0
    for (let j = 0; j < n; j++) row += cov[i * n + j]! * exposures[j]!
    quad += ei * row
  }
  return normalQuantile(confidence) * Math.sqrt(quad > 0 ? quad : 0)
}

/**
 * Largest drawdown of an equity series: usd = max over t of (peak_t − equity_t), pct = max of that
 * over peak_t where peak_t > 0 (null if the peak was never positive). With `flows` (external flow
 * into the account just before point t; deposits positive) the peak moves with the flow, so a
 * withdrawal is not a loss: peak_t = max(peak_{t−1} + flow_t, equity_t). This is the reference
 * for the running tracker in account-metrics.ts, which applies the same rule one point at a time.
 */
export function maxDrawdown(equity: ArrayLike<number>, flows?: ArrayLike<number>): { usd: number; pct: number | null } {
  let peak = Number.NaN
  let usd = 0
  let pct: number | null = null
  for (let t = 0; t < equity.length; t++) {
    const e = equity[t]!
    peak = t === 0 ? e : Math.max(peak + (flows?.[t] ?? 0), e)
    const dd = peak - e
    if (dd > usd) usd = dd
    if (peak > 0 && (pct === null || dd / peak > pct)) pct = dd / peak
  }
  return { usd, pct }
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new BaseError('confidence must be strictly between 0 and 1', { details: `got ${confidence}` })
}
