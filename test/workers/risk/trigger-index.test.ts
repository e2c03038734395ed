import { describe, expect, it } from 'vitest'
import { TriggerIndex } from '../../../workers/risk/trigger-index.ts'

describe('TriggerIndex', () => {
  it('returns exactly the accounts whose band a price leaves, each once, and forgets them', () => {
    const t = new TriggerIndex()
    t.arm('a', 0.1, [['ETH', 2000]]) // [1800, 2200]
    t.arm('b', 0.2, [['ETH', 2000]]) // [1600, 2400]
    t.arm('c', 0.05, [['ETH', 2000], ['BTC', 60_000]]) // ETH [1900, 2100]
    expect(t.crossed('ETH', 1950)).toEqual([])
    expect(t.crossed('ETH', 1850).sort()).toEqual(['c'])
    // c's BTC entry went stale with it: it is recomputed and armed again by its caller.
    expect(t.crossed('BTC', 1)).toEqual([])
    expect(t.crossed('ETH', 1800).sort()).toEqual(['a'])
    expect(t.crossed('ETH', 2500).sort()).toEqual(['b'])
    expect(t.crossed('ETH', 1)).toEqual([])
    expect(t.size.live).toBe(0)
  })

  it('arming again replaces the band: the old edges never fire', () => {
    const t = new TriggerIndex()
    t.arm('a', 0.1, [['ETH', 2000]])
    t.arm('a', 0.1, [['ETH', 1000]]) // [900, 1100]
    expect(t.crossed('ETH', 1000)).toEqual([]) // under the old band's lower edge, inside the new band
    expect(t.crossed('ETH', 1150)).toEqual(['a'])
  })

  it('an infinite band, or disarming, watches nothing', () => {
    const t = new TriggerIndex()
    t.arm('a', Infinity, [['ETH', 2000]])
    t.arm('b', 0.1, [['ETH', 2000]])
    t.disarm('b')
    expect(t.crossed('ETH', 1)).toEqual([])
    expect(t.crossed('ETH', 1e9)).toEqual([])
  })

  it('a band of 1 or more has no lower edge (a price cannot fall below 0) and keeps its upper one', () => {
    const t = new TriggerIndex()
    t.arm('a', 1.5, [['ETH', 100]])
    expect(t.crossed('ETH', 0.001)).toEqual([])
    expect(t.crossed('ETH', 250)).toEqual(['a'])
  })

  it('compacts stale entries so memory follows the armed accounts, not the armings', () => {
    const t = new TriggerIndex()
    for (let round = 0; round < 3; round++) for (let i = 0; i < 60_000; i++) t.arm(`acc${i}`, 0.5, [['ETH', 2000]])
    expect(t.size.live).toBe(120_000)
    // A price that crosses nobody still triggers the compaction check.
    expect(t.crossed('ETH', 2000)).toEqual([])
    expect(t.size.stale).toBe(0)
    expect(t.crossed('ETH', 900)).toHaveLength(60_000)
  })
})
