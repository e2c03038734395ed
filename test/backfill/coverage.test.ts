import { describe, expect, it } from 'vitest'
import { mergeSpans, RangePlanner, uncovered, type BlockSpan } from '../../src/backfill/coverage.ts'

const s = (from: number, to: number): BlockSpan => ({ from: BigInt(from), to: BigInt(to) })

describe('backfill coverage', () => {
  it('merges overlapping and touching spans, keeps apart the others', () => {
    expect(mergeSpans([s(10, 20), s(1, 5), s(6, 8), s(21, 21), s(30, 40), s(35, 36)])).toEqual([s(1, 8), s(10, 21), s(30, 40)])
  })

  it('finds exactly the blocks no span covers', () => {
    expect(uncovered(s(1, 100), [])).toEqual([s(1, 100)])
    expect(uncovered(s(1, 100), [s(1, 100)])).toEqual([])
    expect(uncovered(s(1, 100), [s(0, 10), s(20, 30), s(31, 40), s(90, 200)])).toEqual([s(11, 19), s(41, 89)])
    expect(uncovered(s(50, 60), [s(1, 10), s(70, 80)])).toEqual([s(50, 60)])
    expect(uncovered(s(5, 5), [s(5, 5)])).toEqual([])
  })

  it('hands out ranges that cover every span exactly once, sized to the density of the last, growing at most twofold', () => {
    const planner = new RangePlanner([s(1, 100), s(201, 205)], { initial: 10, max: 40, targetLogs: 100 })
    const got: BlockSpan[] = []
    const sizes: number[] = []
    // empty → double; 10 logs in 20 blocks → double (ideal 200); split → halve; 400 logs in 20 blocks → 5; 100 in 5 → 5
    const answers: [number, boolean][] = [[0, false], [10, false], [0, true], [400, false], [100, false]]
    for (let i = 0; ; i++) {
      const r = planner.next()
      if (!r) break
      got.push(r)
      const [logs, split] = answers[i] ?? [0, false]
      planner.observe(r, logs, split)
      sizes.push(planner.rangeSize)
    }
    expect(got.slice(0, 6)).toEqual([s(1, 10), s(11, 30), s(31, 70), s(71, 90), s(91, 95), s(96, 100)])
    expect(sizes.slice(0, 5)).toEqual([20, 40, 20, 5, 5])
    expect(mergeSpans(got)).toEqual([s(1, 100), s(201, 205)])
    expect(got.reduce((n, r) => n + Number(r.to - r.from + 1n), 0)).toBe(105)
  })
})
