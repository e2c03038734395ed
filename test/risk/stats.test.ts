import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BaseError } from '../../src/errors.ts'
import {
  covarianceMatrix,
  esOfSorted,
  historicalEs,
  historicalVar,
  maxDrawdown,
  normalQuantile,
  parametricVar,
  quantileLinear,
  varOfSorted,
} from '../../src/risk/stats.ts'

/** Output of test/fixtures/risk/reference.py (numpy + empyrical's formulas + NormalDist). */
type Reference = {
  z: Record<string, number>
  quantile: { sorted: number[]; q: number[]; expectedPercentile: number[]; expectedQuantile: number[] }
  empyrical: { series: number[]; confidence: number; var: number; es: number }[]
  covariance: { series: number[][]; matrix: number[]; parametric: { exposures: number[]; confidence: number; var: number }[] }
  drawdown: { equity: number[]; flows: number[]; noFlows: { usd: number; pct: number }; withFlows: { usd: number; pct: number } }
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/risk/reference.json', import.meta.url), 'utf8')) as Reference

/** |actual − expected| ≤ 1e-9·|expected| (exact when expected is 0). */
function expectRel(actual: number, expected: number, what: string): void {
  const ok = expected === 0 ? actual === 0 : Math.abs(actual - expected) <= 1e-9 * Math.abs(expected)
  expect(ok, `${what}: ${actual} vs reference ${expected}`).toBe(true)
}

describe('quantileLinear', () => {
  it("equals numpy's np.quantile bit for bit, interpolation and ends included", () => {
    const { sorted, q, expectedQuantile } = ref.quantile
    expect(q.map((x) => quantileLinear(sorted, x))).toEqual(expectedQuantile)
  })

  it('equals np.percentile when given the percentile divided by 100, as numpy divides it', () => {
    const { sorted, q, expectedPercentile } = ref.quantile
    expect(q.map((x) => quantileLinear(sorted, (100 * x) / 100))).toEqual(expectedPercentile)
  })

  it('interpolates between the neighbours of the virtual index (n − 1)·q', () => {
    // n = 5: index 4·0.3 = 1.2 → 20% of the way from 10 to 20.
    expect(quantileLinear([0, 10, 20, 30, 40], 0.3)).toBe(12)
    expect(quantileLinear([0, 10, 20, 30, 40], 0.5)).toBe(20)
    expect(quantileLinear([7], 0.05)).toBe(7)
    expect(quantileLinear([], 0.05)).toBeNaN()
  })

  it('interpolates from the upper neighbour when the weight is ≥ 0.5, as numpy does (differs in the last bit)', () => {
    // np.quantile([0.7, 3.3], 0.8) = 2.7800000000000002; 0.7 + 2.6·0.8 would round to 2.7799999999999994.
    expect(quantileLinear([0.7, 3.3], 0.8)).toBe(2.7800000000000002)
    expect(quantileLinear([0.9, 3.3], 0.55)).toBe(2.2199999999999998)
  })
})

describe('historical VaR and ES (empyrical)', () => {
  it('match empyrical value_at_risk / conditional_value_at_risk on 12 fixed series (lengths 20 to 499, 95% and 99%)', () => {
    for (const c of ref.empyrical) {
      expectRel(historicalVar(c.series, c.confidence), c.var, `VaR ${c.confidence} n=${c.series.length}`)
      expectRel(historicalEs(c.series, c.confidence), c.es, `ES ${c.confidence} n=${c.series.length}`)
    }
  })

  it('on 20 returns −10…9: the 5% quantile lies 95% of the way from −10 to −9, and ES is the single worst return', () => {
    const r = Array.from({ length: 20 }, (_, i) => 9 - i) // 9 … −10, unsorted on purpose
    expect(historicalVar(r, 0.95)).toBeCloseTo(9.05, 12)
    expect(historicalVar(r, 0.99)).toBeCloseTo(9.81, 12) // index 19·0.01 = 0.19
    // cutoff index int(19·0.05) = 0: the mean of the one smallest return.
    expect(historicalEs(r, 0.95)).toBe(10)
    expect(historicalEs(r, 0.99)).toBe(10)
    expect(r[0]).toBe(9) // the input is not sorted in place
  })

  it('on 101 returns −50…50: ES averages the 6 worst (cutoff index int(100·0.05) = 5 is included)', () => {
    const r = Array.from({ length: 101 }, (_, i) => ((i * 37) % 101) - 50) // a permutation of −50…50
    expect(historicalEs(r, 0.95)).toBe(47.5) // (50 + 49 + 48 + 47 + 46 + 45) / 6
    expect(historicalVar(r, 0.95)).toBeCloseTo(45, 12)
    // int(100·(1 − 0.99)) = int(1.0000000000000009) = 1: the two worst.
    expect(historicalEs(r, 0.99)).toBe(49.5)
  })

  it('reports a gain at the tail quantile as a negative VaR, as empyrical does', () => {
    expect(historicalVar([1, 2, 3, 4, 5], 0.95)).toBeCloseTo(-1.2, 12)
  })

  it('gives the same figures from a presorted series through varOfSorted / esOfSorted', () => {
    const c = ref.empyrical[7]!
    const sorted = Float64Array.from(c.series).sort()
    expect(varOfSorted(sorted, c.confidence)).toBe(historicalVar(c.series, c.confidence))
    expect(esOfSorted(sorted, c.confidence)).toBe(historicalEs(c.series, c.confidence))
  })

  it('refuses a confidence outside (0, 1)', () => {
    expect(() => historicalVar([1, 2], 1)).toThrow(BaseError)
    expect(() => historicalEs([1, 2], 0)).toThrow(/strictly between 0 and 1/)
  })
})

describe('normalQuantile', () => {
  it("agrees with Python's NormalDist().inv_cdf to 1e-12 at 95% and 99%", () => {
    expect(Math.abs(normalQuantile(0.95) - ref.z['0.95']!)).toBeLessThan(1e-12)
    expect(Math.abs(normalQuantile(0.99) - ref.z['0.99']!)).toBeLessThan(1e-12)
    expect(Math.abs(normalQuantile(0.5))).toBeLessThan(1e-15)
  })

  it('refuses 0 and 1, where the quantile is infinite', () => {
    expect(() => normalQuantile(0)).toThrow(BaseError)
    expect(() => normalQuantile(1)).toThrow(BaseError)
  })
})

describe('covarianceMatrix', () => {
  it('equals np.cov (ddof 1) of 5 correlated series of 250 to 1e-9, and is exactly symmetric', () => {
    const cov = covarianceMatrix(ref.covariance.series.map((s) => Float64Array.from(s)))
    expect(cov.length).toBe(25)
    ref.covariance.matrix.forEach((m, i) => expectRel(cov[i]!, m, `cov[${i}]`))
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(cov[i * 5 + j]).toBe(cov[j * 5 + i])
  })

  it('computes a hand-checkable 2×2 case', () => {
    // x = 1,2,3 (mean 2), y = 2,4,9 (mean 5): var x = 1, var y = 13, cov = ((-1)(-3) + 0 + (1)(4)) / 2 = 3.5
    expect(Array.from(covarianceMatrix([Float64Array.of(1, 2, 3), Float64Array.of(2, 4, 9)]))).toEqual([1, 3.5, 3.5, 13])
  })

  it('refuses series of unequal length or shorter than 2', () => {
    expect(() => covarianceMatrix([Float64Array.of(1, 2, 3), Float64Array.of(1, 2)])).toThrow(/equal length/)
    expect(() => covarianceMatrix([Float64Array.of(1)])).toThrow(/at least 2/)
  })
})

describe('parametricVar', () => {
  it('equals z·√(eᵀΣe) computed with numpy and NormalDist to 1e-9', () => {
    const cov = Float64Array.from(ref.covariance.matrix)
    for (const p of ref.covariance.parametric) expectRel(parametricVar(Float64Array.from(p.exposures), cov, p.confidence), p.var, `parametric ${p.confidence}`)
  })

  it('is z times the USD standard deviation for one asset', () => {
    // σ = 2% per horizon on 1,000 USD: 20 USD.
    expect(parametricVar(Float64Array.of(1000), Float64Array.of(0.0004), 0.99)).toBeCloseTo(normalQuantile(0.99) * 20, 10)
  })

  it('refuses a covariance matrix of the wrong size', () => {
    expect(() => parametricVar(Float64Array.of(1, 2), Float64Array.of(1), 0.95)).toThrow(/does not match/)
  })
})

describe('maxDrawdown', () => {
  it('matches the reference on 400 equity points, without and with external flows', () => {
    const { equity, flows, noFlows, withFlows } = ref.drawdown
    const plain = maxDrawdown(equity)
    expectRel(plain.usd, noFlows.usd, 'usd')
    expectRel(plain.pct!, noFlows.pct, 'pct')
    const flowed = maxDrawdown(equity, flows)
    expectRel(flowed.usd, withFlows.usd, 'usd with flows')
    expectRel(flowed.pct!, withFlows.pct, 'pct with flows')
  })

  it('takes the largest fall from a running peak', () => {
    expect(maxDrawdown([100, 120, 90, 130, 65])).toEqual({ usd: 65, pct: 0.5 })
  })

  it('does not count a withdrawal as a drawdown: the peak moves down with it', () => {
    expect(maxDrawdown([100, 50], [0, -50])).toEqual({ usd: 0, pct: 0 })
    // Withdraw 50, then lose 10 of the 50 left: 10 USD, 20%.
    expect(maxDrawdown([100, 50, 40], [0, -50, 0])).toEqual({ usd: 10, pct: 0.2 })
  })

  it('has no percentage while the peak was never positive', () => {
    expect(maxDrawdown([-10, -30])).toEqual({ usd: 20, pct: null })
    expect(maxDrawdown([])).toEqual({ usd: 0, pct: null })
  })
})
