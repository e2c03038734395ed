import { describe, expect, it } from 'vitest'
import { computeAccountMetrics, emptyAccountRiskState, type MetricPosition, type RiskOptions } from '../../src/risk/account-metrics.ts'
import { repriceBand } from '../../src/risk/reprice-band.ts'
import { ReturnHistory } from '../../src/risk/return-history.ts'
import { parseRule, type Rule } from '../../src/risk/rules.ts'

const options: RiskOptions = { horizonSeconds: 86_400, windowSize: 30, minHistory: 2, confidences: [0.95, 0.99], fallbackShock: 0.25 }
const history = new ReturnHistory({ horizonSeconds: 86_400, windowSize: 30, minHistory: 2, constantAssets: new Set(['USD']) })
const T = 1_700_000_000

function position(asset: string, units: bigint, price: number): MetricPosition {
  return { chainId: 1, token: `0x${asset.toLowerCase().padStart(40, '0')}`, asset, quantity: units * 10n ** 18n, decimals: 18, priceUsd: price, costUsd: 0, realizedPnlUsd: 0, unpricedCost: false }
}

/** An account's metrics after its peak was set at `peakPrices` and prices moved to `prices`. */
function metricsAt(held: [string, bigint][], peakPrices: number[], prices: number[]) {
  const first = computeAccountMetrics({ account: 'a', time: T, positions: held.map(([a, q], i) => position(a, q, peakPrices[i]!)), history, options, state: emptyAccountRiskState(), flowUsd: 0 })
  return computeAccountMetrics({ account: 'a', time: T + 60, positions: held.map(([a, q], i) => position(a, q, prices[i]!)), history, options, state: first.state, flowUsd: 0 })
}

const drawdown = parseRule({ id: 'dd', metric: 'drawdownPct', op: 'above', threshold: 0.2, hysteresis: 0.05 })
const band = (m: ReturnType<typeof metricsAt>, rules: Rule[], states = {}): number =>
  repriceBand({ metrics: m.metrics, rules, states, peakEquityUsd: m.state.peakEquityUsd, varSensitivity: () => 0.25, constantAssets: new Set(['USD']) })

describe('repriceBand', () => {
  it('for a one-asset long and a drawdown rule is the move that reaches the threshold', () => {
    // 10 ETH peaked at 2000 (20,000 USD), now 1900: drawdown 5%, 15 points from 20%.
    const m = metricsAt([['ETH', 10n]], [2000], [1900])
    const r = band(m, [drawdown])
    // d·peak / gross = 0.15 · 20,000 / 19,000
    expect(r).toBeCloseTo((0.15 * 20_000) / 19_000, 12)
    // Moving by exactly the band from 1900 reaches the threshold: equity 19,000·(1 − r) = 16,000.
    expect(19_000 * (1 - r)).toBeCloseTo(16_000, 6)
  })

  it('is the narrowest of the rules, and a firing rule is measured to its resolution point', () => {
    const m = metricsAt([['ETH', 10n]], [2000], [1500]) // drawdown 25%: firing
    const firing = { dd: { status: 'firing' as const, lastFiredAt: T, lastResolvedAt: null } }
    // Resolution at 15%: 10 points of a 20,000 peak, over a gross of 15,000.
    expect(band(m, [drawdown], firing)).toBeCloseTo((0.1 * 20_000) / 15_000, 12)
    const gross = parseRule({ id: 'gross', metric: 'grossExposureUsd', op: 'above', threshold: 15_300 })
    expect(band(m, [drawdown, gross], firing)).toBeCloseTo(300 / 15_000, 12)
  })

  it('a breach waiting out its cooldown, rules on trade counts, and no exposure give no band', () => {
    const m = metricsAt([['ETH', 10n]], [2000], [1500])
    expect(band(m, [drawdown], { dd: { status: 'ok', lastFiredAt: T, lastResolvedAt: T + 1 } })).toBe(Infinity)
    expect(band(m, [parseRule({ id: 'fast', metric: 'swaps1m', op: 'above', threshold: 3 })])).toBe(Infinity)
    const empty = metricsAt([], [], [])
    expect(band(empty, [drawdown])).toBe(Infinity)
  })

  it('leaves a stablecoin cushion out of the moving exposure', () => {
    // 10 ETH (20,000) and 60,000 USD: a drawdown of 20% of 80,000 needs ETH to lose 16,000, 80%.
    const m = metricsAt([['ETH', 10n], ['USD', 60_000n]], [2000, 1], [2000, 1])
    expect(band(m, [drawdown])).toBeCloseTo(0.8, 12)
  })

  it('uses the VaR sensitivity of each asset for VaR rules', () => {
    const m = metricsAt([['ETH', 10n], ['BTC', 1n]], [2000, 60_000], [2000, 60_000])
    const rule = parseRule({ id: 'var', metric: 'var99Usd', op: 'above', threshold: 1_000_000 })
    const sens = (a: string): number => (a === 'ETH' ? 0.1 : 0.05)
    const r = repriceBand({ metrics: m.metrics, rules: [rule], states: {}, peakEquityUsd: m.state.peakEquityUsd, varSensitivity: sens, constantAssets: new Set(['USD']) })
    expect(r).toBeCloseTo((1_000_000 - m.metrics.var99Usd) / (0.1 * 20_000 + 0.05 * 60_000), 9)
  })

  it('is conservative: no move inside the band changes a drawdown rule on a two-asset account', () => {
    const m = metricsAt([['ETH', 10n], ['BTC', 1n]], [2000, 60_000], [1800, 57_000])
    const r = band(m, [drawdown])
    for (const [fe, fb] of [[1 - r, 1 - r], [1 - r, 1], [1, 1 - r], [1 + r, 1 - r]] as const) {
      const moved = metricsAt([['ETH', 10n], ['BTC', 1n]], [2000, 60_000], [1800 * fe * 0.999999 + 1800 * (1 - 0.999999), 57_000 * fb])
      expect(moved.metrics.drawdownPct!).toBeLessThanOrEqual(0.2 + 1e-12)
    }
  })
})
