import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
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
import { ReturnHistory } from '../../src/risk/return-history.ts'

type PositionJson = Omit<MetricPosition, 'quantity'> & { quantity: string }
type Reference = {
  drawdown: { equity: number[]; flows: number[]; withFlows: { usd: number; pct: number; each: { drawdownUsd: number; drawdownPct: number | null }[] } }
  portfolio: {
    options: RiskOptions
    constantAssets: string[]
    observations: [string, number, number][]
    advanceTo: number
    cases: { name: string; positions: PositionJson[]; expected: Record<string, unknown> & { exposureByAsset: AccountMetrics['exposureByAsset'] } }[]
  }
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/risk/reference.json', import.meta.url), 'utf8')) as Reference

function expectRel(actual: number | null, expected: number, what: string): void {
  const ok = actual !== null && (expected === 0 ? actual === 0 : Math.abs(actual - expected) <= 1e-9 * Math.abs(expected))
  expect(ok, `${what}: ${actual} vs reference ${expected}`).toBe(true)
}

const options: RiskOptions = { horizonSeconds: 3600, windowSize: 250, minHistory: 30, confidences: [0.95, 0.99], fallbackShock: 0.25 }
const newHistory = (): ReturnHistory => new ReturnHistory({ ...options, constantAssets: new Set(['USD']) })

function referenceHistory(): ReturnHistory {
  const p = ref.portfolio
  const h = new ReturnHistory({ ...p.options, constantAssets: new Set(p.constantAssets) })
  for (const [asset, time, price] of p.observations) h.observe(asset, time, price)
  h.advanceTo(p.advanceTo)
  return h
}
const toPosition = (p: PositionJson): MetricPosition => ({ ...p, quantity: BigInt(p.quantity) })

function position(over: Partial<MetricPosition> & Pick<MetricPosition, 'asset' | 'quantity'>): MetricPosition {
  return { chainId: 1, token: `0x${over.asset.toLowerCase().padStart(40, '0')}`, decimals: 0, priceUsd: 1, costUsd: 0, realizedPnlUsd: 0, unpricedCost: false, ...over }
}

function compute(positions: readonly MetricPosition[], state: AccountRiskState, time: number, history = newHistory(), flowUsd = 0) {
  return computeAccountMetrics({ account: 'desk', time, positions, history, options, state, flowUsd })
}

const RATIO_FIELDS = ['grossExposureUsd', 'netExposureUsd', 'largestAssetShare', 'hhi', 'realizedPnlUsd', 'unrealizedPnlUsd']
const VAR_FIELDS = ['var95Usd', 'var99Usd', 'es95Usd', 'es99Usd', 'parametricVar95Usd', 'parametricVar99Usd']

describe('computeAccountMetrics against the Python reference', () => {
  for (const c of ref.portfolio.cases) {
    it(`matches every exposure, PnL and VaR / ES figure of the "${c.name}" portfolio to 1e-9`, () => {
      const { metrics: m } = compute(c.positions.map(toPosition), emptyAccountRiskState(), ref.portfolio.advanceTo, referenceHistory())
      const e = c.expected
      for (const f of [...RATIO_FIELDS, ...VAR_FIELDS]) expectRel(m[f as keyof AccountMetrics] as number, e[f] as number, f)
      expect(m.unpricedPositions).toBe(e.unpricedPositions)
      expect(m.historyLength).toBe(e.historyLength)
      expect(m.assetsWithoutHistory).toEqual(e.assetsWithoutHistory)
      expect(m.varMethod).toBe(e.varMethod)
      expect(m.exposureByAsset.map((a) => a.asset)).toEqual(e.exposureByAsset.map((a) => a.asset))
      m.exposureByAsset.forEach((a, i) => {
        expectRel(a.grossUsd, e.exposureByAsset[i]!.grossUsd, `${a.asset} gross`)
        expectRel(a.netUsd, e.exposureByAsset[i]!.netUsd, `${a.asset} net`)
      })
      expect(m.totalPnlUsd).toBe(m.realizedPnlUsd + m.unrealizedPnlUsd)
      expect(m.equityUsd).toBe(m.netExposureUsd)
    })
  }

  it('gives byte-identical output for the same input, whatever the order of the positions', () => {
    const c = ref.portfolio.cases[0]!
    const positions = c.positions.map(toPosition)
    const a = compute(positions, emptyAccountRiskState(), ref.portfolio.advanceTo, referenceHistory())
    const b = compute([...positions].reverse(), emptyAccountRiskState(), ref.portfolio.advanceTo, referenceHistory())
    const swapped = [...positions.slice(5), ...positions.slice(0, 5)]
    const d = compute(swapped, emptyAccountRiskState(), ref.portfolio.advanceTo, referenceHistory())
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
    expect(JSON.stringify(d)).toBe(JSON.stringify(a))
  })

  it('gives identical results after the state and the history go through JSON', () => {
    const c = ref.portfolio.cases[0]!
    const positions = c.positions.map(toPosition)
    const history = referenceHistory()
    let state = emptyAccountRiskState()
    for (const [t, usd] of [[ref.portfolio.advanceTo - 50, 100], [ref.portfolio.advanceTo - 10, null], [ref.portfolio.advanceTo, 2.5]] as const) recordTrade(state, t, usd)
    state = compute(positions, state, ref.portfolio.advanceTo, history).state
    const restoredState = JSON.parse(JSON.stringify(state)) as AccountRiskState
    const restoredHistory = ReturnHistory.fromJSON({ ...ref.portfolio.options, constantAssets: new Set(ref.portfolio.constantAssets) }, JSON.parse(JSON.stringify(history)))
    const later = ref.portfolio.advanceTo + 30
    const a = compute(positions.slice(1), recordTrade(cloneAccountRiskState(state), later, 7), later, history, -100)
    const b = compute(positions.slice(1), recordTrade(restoredState, later, 7), later, restoredHistory, -100)
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
  })
})

describe('exposure, concentration and PnL', () => {
  const ETH1 = position({ asset: 'ETH', chainId: 1, token: '0xe1', quantity: 2n * 10n ** 18n, decimals: 18, priceUsd: 2000, costUsd: 3000, realizedPnlUsd: 10 })
  const ETH10 = position({ asset: 'ETH', chainId: 10, token: '0xe2', quantity: -(10n ** 18n), decimals: 18, priceUsd: 2000, costUsd: -2100 })
  const USDC = position({ asset: 'USD', chainId: 1, token: '0xc1', quantity: 3000n * 10n ** 6n, decimals: 6, priceUsd: 1, costUsd: 3000, realizedPnlUsd: 5.5 })
  const MEME = position({ asset: 'MEME', chainId: 10, token: '0x99', quantity: 123456789012345678901234567n, decimals: 18, priceUsd: null, costUsd: 500, realizedPnlUsd: -1 })
  const NODEC = position({ asset: 'ODD', chainId: 1, token: '0x98', quantity: 5n, decimals: null, priceUsd: 3 })
  const CLOSED = position({ asset: 'ARB', chainId: 1, token: '0xa1', quantity: 0n, decimals: 18, priceUsd: null, realizedPnlUsd: 4 })

  it('values tokens as quantity / 10^decimals × price, sums gross and net by token, asset and chain', () => {
    const { metrics: m } = compute([ETH1, ETH10, USDC, CLOSED], emptyAccountRiskState(), 1000)
    expect(m.grossExposureUsd).toBe(9000)
    expect(m.netExposureUsd).toBe(5000)
    expect(m.equityUsd).toBe(5000)
    expect(m.exposureByToken).toEqual([
      { chainId: 1, token: '0xa1', asset: 'ARB', quantity: '0', decimals: 18, priceUsd: null, valueUsd: 0, unpricedCost: false },
      { chainId: 1, token: '0xe1', asset: 'ETH', quantity: '2000000000000000000', decimals: 18, priceUsd: 2000, valueUsd: 4000, unpricedCost: false },
      { chainId: 10, token: '0xe2', asset: 'ETH', quantity: '-1000000000000000000', decimals: 18, priceUsd: 2000, valueUsd: -2000, unpricedCost: false },
      { chainId: 1, token: '0xc1', asset: 'USD', quantity: '3000000000', decimals: 6, priceUsd: 1, valueUsd: 3000, unpricedCost: false },
    ])
    expect(m.exposureByAsset).toEqual([
      { asset: 'ARB', grossUsd: 0, netUsd: 0 },
      { asset: 'ETH', grossUsd: 6000, netUsd: 2000 },
      { asset: 'USD', grossUsd: 3000, netUsd: 3000 },
    ])
    expect(m.exposureByChain).toEqual([
      { chainId: 1, grossUsd: 7000, netUsd: 7000 },
      { chainId: 10, grossUsd: 2000, netUsd: -2000 },
    ])
    expect(m.largestAssetShare).toBe(6000 / 9000)
    expect(m.hhi).toBe(0 + (6000 / 9000) * (6000 / 9000) + (3000 / 9000) * (3000 / 9000))
    // (4000 − 3000) + (−2000 − (−2100)) + (3000 − 3000) + (0 − 0)
    expect(m.unrealizedPnlUsd).toBe(1100)
    expect(m.realizedPnlUsd).toBe(19.5)
    expect(m.totalPnlUsd).toBe(1119.5)
    expect(m.unpricedPositions).toBe(0)
  })

  it('counts and lists unpriced positions (no price, or no decimals) and leaves them out of every sum, never valued at 0', () => {
    const { metrics: m } = compute([ETH1, MEME, NODEC], emptyAccountRiskState(), 1000)
    expect(m.unpricedPositions).toBe(2)
    expect(m.unpricedTokens).toEqual([
      { chainId: 10, token: '0x99', quantity: '123456789012345678901234567' },
      { chainId: 1, token: '0x98', quantity: '5' },
    ])
    expect(m.exposureByToken.filter((t) => t.valueUsd === null).map((t) => t.asset)).toEqual(['MEME', 'ODD'])
    expect(m.grossExposureUsd).toBe(4000)
    expect(m.netExposureUsd).toBe(4000)
    expect(m.unrealizedPnlUsd).toBe(1000) // MEME's cost is not turned into a loss
    expect(m.realizedPnlUsd).toBe(9) // realized PnL is in USD already: it counts
    expect(m.largestAssetShare).toBe(1)
    expect(m.exposureByAsset.map((a) => a.asset)).toEqual(['ETH'])
  })

  it('has no concentration and zero VaR when nothing priced is held, and marks that VaR incomplete', () => {
    const { metrics: m } = compute([MEME], emptyAccountRiskState(), 1000)
    expect(m).toMatchObject({
      grossExposureUsd: 0,
      netExposureUsd: 0,
      largestAssetShare: null,
      hhi: null,
      var95Usd: 0,
      var99Usd: 0,
      es95Usd: 0,
      es99Usd: 0,
      parametricVar95Usd: 0,
      parametricVar99Usd: 0,
      varMethod: 'historical',
      historyLength: 0,
      assetsWithoutHistory: [],
      unpricedPositions: 1,
      varIncomplete: true,
    })
  })

  it('marks VaR incomplete exactly when some held position is unpriced, however much is priced', () => {
    expect(compute([MEME, USDC], emptyAccountRiskState(), 1000).metrics.varIncomplete).toBe(true)
    expect(compute([USDC], emptyAccountRiskState(), 1000).metrics.varIncomplete).toBe(false)
    expect(compute([{ ...MEME, quantity: 0n }, USDC], emptyAccountRiskState(), 1000).metrics.varIncomplete).toBe(false)
  })

  it('charges fallbackShock × |exposure| for an asset with too little history, and says so', () => {
    const { metrics: m } = compute([ETH1, ETH10], emptyAccountRiskState(), 1000)
    // ETH net exposure 2000, no history at all: 0.25 × 2000 on every figure.
    expect([m.var95Usd, m.var99Usd, m.es95Usd, m.es99Usd, m.parametricVar95Usd, m.parametricVar99Usd]).toEqual([500, 500, 500, 500, 500, 500])
    expect(m.varMethod).toBe('fallback')
    expect(m.assetsWithoutHistory).toEqual(['ETH'])
    expect(m.historyLength).toBe(0)
  })

  it('leaves an asset hedged to zero net exposure out of VaR, history or not', () => {
    const hedge = { ...ETH10, quantity: -(2n * 10n ** 18n) } // −4000 against ETH1's +4000
    const { metrics: m } = compute([ETH1, hedge], emptyAccountRiskState(), 1000)
    expect(m.grossExposureUsd).toBe(8000)
    expect(m.netExposureUsd).toBe(0)
    expect([m.var95Usd, m.es99Usd, m.parametricVar99Usd]).toEqual([0, 0, 0])
    expect(m.varMethod).toBe('historical')
    expect(m.assetsWithoutHistory).toEqual([])
  })

  it('passes an incomplete cost basis through to the token', () => {
    const { metrics: m } = compute([{ ...USDC, unpricedCost: true }], emptyAccountRiskState(), 1000)
    expect(m.exposureByToken[0]!.unpricedCost).toBe(true)
  })

  it('refuses options that disagree with the history, naming the field', () => {
    try {
      computeAccountMetrics({ account: 'desk', time: 1, positions: [], history: newHistory(), options: { ...options, windowSize: 100 }, state: emptyAccountRiskState(), flowUsd: 0 })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).context.field).toBe('windowSize')
    }
    expect(() => compute([], emptyAccountRiskState(), 1, newHistory())).not.toThrow()
    expect(() =>
      computeAccountMetrics({ account: 'desk', time: 1, positions: [], history: newHistory(), options: { ...options, confidences: [0.95, 1] }, state: emptyAccountRiskState(), flowUsd: 0 }),
    ).toThrow(/confidences\[1\]/)
  })
})

describe('drawdown', () => {
  /** Equity = the value of one 1-USD token position of `usd` units. */
  const holding = (usd: number): MetricPosition[] => [position({ asset: 'USD', quantity: BigInt(usd) })]

  it('does not count a withdrawal as a drawdown, but counts a loss after it against the lowered peak', () => {
    let state = emptyAccountRiskState()
    const steps: [number, number][] = [
      [1000, 0],
      [1200, 0], // new peak
      [1100, 0], // a loss of 100
      [400, -700], // 700 withdrawn: peak 1200 − 700 = 500, drawdown 100 still
      [500, 0], // recovered
      [450, 0], // 50 lost from 500
      [1450, 1000], // 1000 deposited: the peak rises with it to 1500
    ]
    const seen = steps.map(([equity, flow], i) => {
      const r = compute(holding(equity), state, 1000 + i, newHistory(), flow)
      state = r.state
      return [r.metrics.drawdownUsd, r.metrics.drawdownPct, r.metrics.maxDrawdownUsd, r.metrics.maxDrawdownPct]
    })
    expect(seen).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [100, 100 / 1200, 100, 100 / 1200],
      [100, 100 / 500, 100, 0.2],
      [0, 0, 100, 0.2],
      [50, 0.1, 100, 0.2],
      [50, 50 / 1500, 100, 0.2],
    ])
    expect(state.peakEquityUsd).toBe(1500)
  })

  it('follows the reference tracker point by point over 400 equity values with deposits and withdrawals', () => {
    const { equity, flows, withFlows } = ref.drawdown
    let state = emptyAccountRiskState()
    let last: AccountMetrics | undefined
    equity.forEach((e, i) => {
      // One unit of a token priced at the equity value: value = 1 × price, exactly.
      const r = compute([position({ asset: 'X', quantity: 1n, priceUsd: e })], state, 5000 + i, newHistory(), flows[i]!)
      state = r.state
      last = r.metrics
      const want = withFlows.each[i]!
      expect(Math.abs(r.metrics.drawdownUsd - want.drawdownUsd)).toBeLessThanOrEqual(1e-9 * Math.max(1, want.drawdownUsd))
      expectRel(r.metrics.drawdownPct, want.drawdownPct!, `pct ${i}`)
    })
    expectRel(last!.maxDrawdownUsd, withFlows.usd, 'max usd')
    expectRel(last!.maxDrawdownPct, withFlows.pct, 'max pct')
  })
})

describe('daily PnL', () => {
  const DAY = 86400
  const realized = (usd: number): MetricPosition[] => [position({ asset: 'USD', quantity: 0n, realizedPnlUsd: usd })]

  it('is measured from the first computation of the UTC day, and a new day starts from the previous computation’s total', () => {
    let state = emptyAccountRiskState()
    const run = (time: number, total: number): number => {
      const r = compute(realized(total), state, time)
      state = r.state
      return r.metrics.dailyPnlUsd
    }
    const d = 19_000 * DAY
    expect(run(d + 3600, 100)).toBe(0) // the first computation ever: the day starts here
    expect(run(d + 7200, 150)).toBe(50)
    expect(run(d + DAY - 1, 130)).toBe(30) // 23:59:59, still the same day
    expect(run(d + DAY, 170)).toBe(40) // 00:00:00 next day: from 130, the last total before midnight
    expect(run(d + DAY + 60, 160)).toBe(30)
    expect(run(d + 4 * DAY + 5, 100)).toBe(-60) // days without a computation: from the last total, 160
  })
})

describe('trading velocity', () => {
  const velocity = (state: AccountRiskState, time: number) => {
    const m = compute([], state, time).metrics
    return [m.swaps1m, m.volume1mUsd, m.swaps1h, m.volume1hUsd, m.swaps24h, m.volume24hUsd]
  }

  it('counts a trade in a window while it is younger than the window: exactly 60 s old is outside the 1-minute window', () => {
    const s = emptyAccountRiskState()
    recordTrade(s, 1000, 10)
    recordTrade(s, 1940, 20)
    recordTrade(s, 1941, null)
    recordTrade(s, 2000, 40)
    // At 2000 the 1-minute window is (1940, 2000]: 1940 is out, 1941 (unpriced) and 2000 are in.
    expect(velocity(s, 2000)).toEqual([2, 40, 4, 70, 4, 70])
    expect(velocity(s, 2001)).toEqual([1, 40, 4, 70, 4, 70])
    expect(velocity(s, 2059)).toEqual([1, 40, 4, 70, 4, 70])
    expect(velocity(s, 2060)).toEqual([0, 0, 4, 70, 4, 70])
    // 1 hour: the trade at 1000 leaves at exactly 4600.
    expect(velocity(s, 4599)).toEqual([0, 0, 4, 70, 4, 70])
    expect(velocity(s, 4600)).toEqual([0, 0, 3, 60, 4, 70])
    // 24 hours: the trade at 2000 leaves at exactly 88400.
    expect(velocity(s, 88399)).toEqual([0, 0, 0, 0, 1, 40])
    expect(velocity(s, 88400)).toEqual([0, 0, 0, 0, 0, 0])
  })

  it('reports volume null when a window has trades and none has a USD value', () => {
    const s = recordTrade(recordTrade(emptyAccountRiskState(), 500, 30), 5000, null)
    expect(velocity(s, 5000)).toEqual([1, null, 1, null, 2, 30])
  })

  it('moves the windows with each trade and keeps only the last 24 hours of trades', () => {
    const s = emptyAccountRiskState()
    for (const t of [100, 200, 4000, 90_000]) recordTrade(s, t, t / 100)
    expect(s.tradeTimes).toEqual([4000, 90_000]) // 100 and 200 are more than 24 h before 90,000
    expect(s.windows).toEqual([
      { start: 1, volumeUsd: 900, priced: 1 },
      { start: 1, volumeUsd: 900, priced: 1 },
      { start: 0, volumeUsd: 940, priced: 2 },
    ])
  })

  it('places a late trade (another chain’s batch) in time order and in the windows that still hold it', () => {
    const s = emptyAccountRiskState()
    recordTrade(s, 10_000, 1)
    recordTrade(s, 9_990, 2) // 10 s older: inside every window
    recordTrade(s, 9_000, 4) // older than a minute: 1 h and 24 h only
    recordTrade(s, 10_000 - 86_400, 8) // exactly 24 h older: ignored
    recordTrade(s, 10_000 - 60, 32) // exactly a minute older: 1 h and 24 h only
    expect(s.tradeTimes).toEqual([9_000, 9_940, 9_990, 10_000])
    // The stored 1-minute window starts at 9,990: the late trades at 9,000 and 9,940 are before it.
    expect(s.windows[0]).toEqual({ start: 2, volumeUsd: 3, priced: 2 })
    expect(velocity(s, 10_000)).toEqual([2, 3, 4, 39, 4, 39])
    recordTrade(s, 10_030, 16)
    expect(velocity(s, 10_050)).toEqual([2, 17, 5, 55, 5, 55])
  })

  it('starts an emptied window from an exact zero, so subtraction rounding does not linger', () => {
    const s = emptyAccountRiskState()
    recordTrade(s, 100, 0.1)
    recordTrade(s, 101, 0.2)
    recordTrade(s, 102, 0.3)
    recordTrade(s, 200, 0.7)
    expect(velocity(s, 200)).toEqual([1, 0.7, 4, 0.1 + 0.2 + 0.3 + 0.7, 4, 0.1 + 0.2 + 0.3 + 0.7])
  })

  it('recordTrade changes the state in place; computeAccountMetrics leaves its input state as it was', () => {
    const s = emptyAccountRiskState()
    expect(recordTrade(s, 100, 5)).toBe(s)
    const before = JSON.stringify(s)
    const { state: next } = compute([position({ asset: 'USD', quantity: 10n })], s, 200)
    expect(JSON.stringify(s)).toBe(before)
    expect(next).not.toBe(s)
    expect(next.peakEquityUsd).toBe(10)
    const copy = cloneAccountRiskState(next)
    recordTrade(copy, 300, 1)
    expect(next.tradeTimes).toEqual([100]) // the clone owns its deque
  })
})
