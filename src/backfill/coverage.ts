/** A closed block interval [from, to]. */
export type BlockSpan = { from: bigint; to: bigint }

/** Spans sorted and merged where they overlap or touch (pure). */
export function mergeSpans(spans: readonly BlockSpan[]): BlockSpan[] {
  const sorted = [...spans].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
  const out: BlockSpan[] = []
  for (const s of sorted) {
    const last = out.at(-1)
    if (last && s.from <= last.to + 1n) {
      if (s.to > last.to) last.to = s.to
    } else out.push({ ...s })
  }
  return out
}

/** The parts of `want` that `covered` does not cover, in order (pure). */
export function uncovered(want: BlockSpan, covered: readonly BlockSpan[]): BlockSpan[] {
  const gaps: BlockSpan[] = []
  let next = want.from
  for (const c of mergeSpans(covered)) {
    if (c.to < next) continue
    if (c.from > want.to) break
    if (c.from > next) gaps.push({ from: next, to: c.from - 1n })
    next = c.to + 1n
    if (next > want.to) break
  }
  if (next <= want.to) gaps.push({ from: next, to: want.to })
  return gaps
}

/**
 * Hands out block ranges over a list of spans for several concurrent readers, sized to the logs
 * they hold: after each range, the next size is what the range's density (logs per block) says
 * holds `targetLogs`, growing at most twofold a time (a sparse stretch says little about the next)
 * and never above `max`; a range the provider refused as too large (fetchLogs had to split it)
 * halves it. Ranges never cross a span's end, never overlap, and together cover every span exactly.
 */
export class RangePlanner {
  private spans: BlockSpan[]
  private size: bigint

  constructor(
    spans: readonly BlockSpan[],
    private readonly opts: { initial: number; max: number; targetLogs: number },
  ) {
    this.spans = spans.map((s) => ({ ...s }))
    this.size = BigInt(Math.max(1, Math.min(opts.initial, opts.max)))
  }

  /** The next range to read, or null when every span is handed out. */
  next(): BlockSpan | null {
    const span = this.spans[0]
    if (!span) return null
    const to = span.from + this.size - 1n < span.to ? span.from + this.size - 1n : span.to
    const range = { from: span.from, to }
    if (to === span.to) this.spans.shift()
    else span.from = to + 1n
    return range
  }

  /** What a finished range showed: its blocks, its log count, and whether the provider refused it whole. */
  observe(range: BlockSpan, logs: number, split: boolean): void {
    if (split) {
      this.size = this.size > 1n ? this.size / 2n : 1n
      return
    }
    const blocks = Number(range.to - range.from + 1n)
    const ideal = logs === 0 ? Infinity : Math.floor((this.opts.targetLogs * blocks) / logs)
    const next = Math.max(1, Math.min(ideal, Number(this.size) * 2, this.opts.max))
    this.size = BigInt(next)
  }

  /** The current range size, in blocks. */
  get rangeSize(): number {
    return Number(this.size)
  }
}
