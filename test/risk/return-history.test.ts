import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
import { ReturnHistory, type ReturnHistoryOptions } from '../../src/risk/return-history.ts'
import { covarianceMatrix } from '../../src/risk/stats.ts'

type Reference = {
  portfolio: {
    options: { horizonSeconds: number; windowSize: number; minHistory: number }
    constantAssets: string[]
    observations: [string, number, number][]
    advanceTo: number
    returnCounts: Record<string, number>
    lastReturns: Record<string, number[]>
  }
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/risk/reference.json', import.meta.url), 'utf8')) as Reference

const H = 100 // seconds per period in the hand-made cases
const small = (over: Partial<ReturnHistoryOptions> = {}): ReturnHistory => new ReturnHistory({ horizonSeconds: H, windowSize: 4, minHistory: 2, ...over })
const arr = (a: Float64Array | undefined): number[] => Array.from(a ?? [])

describe('ReturnHistory', () => {
  it('closes a period at its last price and returns close / previous close − 1', () => {
    const h = small()
    h.observe('ETH', 0, 100)
    h.observe('ETH', 50, 110) // the close of period 0
    h.observe('ETH', 120, 99)
    h.observe('ETH', 199, 121) // the close of period 1
    h.observe('ETH', 205, 130) // opens period 2, closing period 1
    expect(h.historyLength('ETH')).toBe(1)
    h.advanceTo(300)
    const w = h.window(['ETH'])
    expect(w.length).toBe(2)
    expect(arr(w.returns[0])).toEqual([121 / 110 - 1, 130 / 121 - 1])
  })

  it('carries the close forward through periods without an observation (zero returns)', () => {
    const h = small()
    h.observe('ETH', 10, 100)
    h.observe('ETH', 110, 120)
    h.advanceTo(450) // periods 2 and 3 had no observation; period 4 is open
    expect(arr(h.window(['ETH']).returns[0])).toEqual([0.19999999999999996, 0, 0])
    expect(0.19999999999999996).toBe(120 / 100 - 1)
  })

  it('keeps only the last windowSize returns, and a gap longer than the window leaves a window of zeros', () => {
    const h = small()
    for (let p = 0; p < 7; p++) h.observe('ETH', p * H, 100 + p)
    h.advanceTo(7 * H)
    expect(arr(h.window(['ETH']).returns[0])).toEqual([103 / 102 - 1, 104 / 103 - 1, 105 / 104 - 1, 106 / 105 - 1])
    h.observe('ETH', 1_000_000 * H, 300) // a million empty periods: no loop over them
    expect(arr(h.window(['ETH']).returns[0])).toEqual([0, 0, 0, 0])
    h.advanceTo(1_000_001 * H)
    expect(arr(h.window(['ETH']).returns[0])).toEqual([0, 0, 0, 300 / 106 - 1])
  })

  it('ignores times older than the open period or than the asset’s last observation, so a replay changes nothing', () => {
    const h = small()
    const feed = (): void => {
      h.observe('ETH', 10, 100)
      h.observe('ETH', 150, 105)
      h.observe('BTC', 160, 50)
      h.observe('ETH', 230, 111)
      h.observe('ETH', 230, 112) // same time: the later call wins
    }
    feed()
    const before = JSON.stringify(h)
    feed() // a retried batch: every observation again, in order
    expect(JSON.stringify(h)).toBe(before)
    h.advanceTo(120) // backwards: ignored
    h.observe('ETH', 220, 1) // inside the open period, but older than ETH's last observation
    expect(JSON.stringify(h)).toBe(before)
    h.advanceTo(300)
    expect(arr(h.window(['ETH']).returns[0])).toEqual([105 / 100 - 1, 112 / 105 - 1])
  })

  it('aligns a window on the shortest history and reports assets below minHistory as lacking', () => {
    const h = small({ minHistory: 2 })
    const close = (p: number): number => 100 * (1 + p / 10)
    for (let p = 0; p < 6; p++) {
      h.observe('ETH', p * H, close(p))
      if (p >= 3) h.observe('SOL', p * H, 10 + p)
    }
    h.observe('NEW', 5 * H, 1)
    h.advanceTo(6 * H)
    const w = h.window(['ETH', 'NEW', 'SOL', 'NONE'])
    expect(w.assets).toEqual(['ETH', 'SOL'])
    expect(w.lacking).toEqual(['NEW', 'NONE'])
    expect(w.length).toBe(2) // SOL: closes in periods 3, 4, 5 → 2 returns
    expect(arr(w.returns[0])).toEqual([close(4) / close(3) - 1, close(5) / close(4) - 1])
    expect(arr(w.returns[1])).toEqual([14 / 13 - 1, 15 / 14 - 1])
  })

  it('gives constant assets a full window of zero returns without any observation', () => {
    const h = small({ constantAssets: new Set(['USD']) })
    h.observe('USD', 10, 1.01) // ignored: a constant asset does not move
    expect(h.historyLength('USD')).toBe(4)
    const w = h.window(['USD'])
    expect(w).toMatchObject({ assets: ['USD'], length: 4, lacking: [] })
    expect(arr(w.returns[0])).toEqual([0, 0, 0, 0])
    expect(JSON.stringify(h.toJSON().assets)).toBe('{}')
  })

  it('rebuilds the returns the Python reference computes from the same observations (bucketed, carried forward)', () => {
    const p = ref.portfolio
    const h = new ReturnHistory({ ...p.options, constantAssets: new Set(p.constantAssets) })
    for (const [asset, time, price] of p.observations) h.observe(asset, time, price)
    h.advanceTo(p.advanceTo)
    for (const [asset, count] of Object.entries(p.returnCounts)) {
      expect(h.historyLength(asset), asset).toBe(count)
      const w = h.window([asset])
      const last = p.lastReturns[asset]!
      const mine = w.assets.length ? arr(w.returns[0]).slice(-last.length) : []
      if (count >= p.options.minHistory) expect(mine, asset).toEqual(last) // same division: bit-identical
    }
  })

  it('caches a window’s covariance until the next period closes', () => {
    const h = small()
    for (let p = 0; p < 6; p++) {
      h.observe('ETH', p * H, 100 + p * p)
      h.observe('BTC', p * H + 1, 50 - p)
    }
    h.advanceTo(6 * H)
    const w = h.window(['BTC', 'ETH'])
    const cov = h.covariance(w)
    expect(Array.from(cov)).toEqual(Array.from(covarianceMatrix(w.returns)))
    expect(h.covariance(h.window(['BTC', 'ETH']))).toBe(cov) // the same array: not recomputed
    h.observe('ETH', 6 * H + 5, 140) // inside the open period: the window has not changed
    expect(h.covariance(h.window(['BTC', 'ETH']))).toBe(cov)
    h.advanceTo(7 * H)
    const w2 = h.window(['BTC', 'ETH'])
    const cov2 = h.covariance(w2)
    expect(cov2).not.toBe(cov)
    expect(Array.from(cov2)).toEqual(Array.from(covarianceMatrix(w2.returns)))
  })

  it('round-trips through JSON to the same windows, covariance and future returns', () => {
    const p = ref.portfolio
    const options = { ...p.options, constantAssets: new Set(p.constantAssets) }
    const h = new ReturnHistory(options)
    const half = Math.floor(p.observations.length / 2)
    for (const [asset, time, price] of p.observations.slice(0, half)) h.observe(asset, time, price)
    const copy = ReturnHistory.fromJSON(options, JSON.parse(JSON.stringify(h)))
    expect(JSON.stringify(copy)).toBe(JSON.stringify(h))
    for (const x of [h, copy]) {
      for (const [asset, time, price] of p.observations.slice(half)) x.observe(asset, time, price)
      x.advanceTo(p.advanceTo)
    }
    const assets = ['BTC', 'ETH', 'LINK', 'NEW', 'SOL', 'USD']
    const [a, b] = [h.window(assets), copy.window(assets)]
    expect(b.assets).toEqual(a.assets)
    expect(b.returns.map(arr)).toEqual(a.returns.map(arr))
    expect(Array.from(copy.covariance(b))).toEqual(Array.from(h.covariance(a)))
    // Only what the window needs is kept: at most windowSize returns per asset.
    const json = h.toJSON()
    expect(Math.max(...Object.values(json.assets).map((x) => x.returns.length))).toBe(p.options.windowSize)
  })

  it('refuses options it cannot work with, naming the field', () => {
    expect(() => small({ horizonSeconds: 0 })).toThrow(ConfigError)
    expect(() => small({ windowSize: 1 })).toThrow(/windowSize/)
    try {
      small({ minHistory: 5 })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).context.field).toBe('minHistory')
    }
  })
})
