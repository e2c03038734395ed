import { ConfigError } from '../errors.ts'
import { covarianceMatrix } from './stats.ts'

export type ReturnHistoryOptions = {
  /** Length of one return period in seconds (the VaR horizon; 86400 for one day). */
  horizonSeconds: number
  /** Completed periods kept, and the most a VaR window uses (e.g. 250). */
  windowSize: number
  /** Fewest returns an asset needs to count as having history (≥ 2, ≤ windowSize). */
  minHistory: number
  /** Assets whose USD price never moves (e.g. 'USD'): full zero-return history, no observations needed. */
  constantAssets?: ReadonlySet<string>
}

/**
 * The aligned returns of some assets over the last `length` completed periods (oldest first).
 * The arrays are views into the history: read them before the next `observe` / `advanceTo`.
 */
export type ReturnWindow = {
  /** Assets with at least minHistory returns, in the order asked. */
  assets: string[]
  /** returns[i] belongs to assets[i]; every array has `length` entries. */
  returns: Float64Array[]
  /** The common length: the fewest returns among `assets` (windowSize when all are constant). */
  length: number
  /** Assets asked for that have fewer than minHistory returns, in the order asked. */
  lacking: string[]
}

/** Persisted form: only what the window needs (the last windowSize returns of each asset). */
export type ReturnHistoryJson = {
  /** The open period, floor(time / horizonSeconds); null before the first time seen. */
  bucket: number | null
  assets: Record<string, { close: number | null; pending: number | null; lastTime: number; returns: number[] }>
}

/** One asset's series. Returns sit in a ring, written twice (i and i + W) so any window is one slice. */
type Series = {
  /** Close of the last completed period it had a price in (carried forward); null before one. */
  close: number | null
  /** Last price seen in the open period; null if none yet. */
  pending: number | null
  /** Time of the last accepted observation; an older one is ignored. */
  lastTime: number
  /** Returns held (≤ windowSize); the newest is for the last completed period. */
  count: number
  ring: Float64Array
}

/**
 * Per-asset USD price history bucketed by the VaR horizon, shared by every account of a shard.
 * Period = floor(time / horizonSeconds); its close is the last price observed in it; a period with
 * no observation carries the previous close forward (a zero return); return_t = close_t /
 * close_{t−1} − 1. Every asset with a close gets a return for every completed period, so all
 * series end at the same period and windows line up without timestamps.
 *
 * Time is block time given by the caller and never goes backwards: an observation older than the
 * open period, or older than the asset's last observation, is ignored. Replaying observations
 * already applied therefore leaves the history as it was (a retried batch changes nothing).
 *
 * Mutable: the caller owns the order of calls. The covariance of a window is cached per asset list
 * until the next period closes, so a metrics call does not recompute it.
 */
export class ReturnHistory {
  readonly options: Readonly<ReturnHistoryOptions>
  private readonly series = new Map<string, Series>()
  private bucket: number | null = null
  private readonly zeros: Float64Array
  private readonly covariances = new Map<string, Float64Array>()
  /** Per-asset return statistics of the current window, cached until the next period closes. */
  private readonly stats = new Map<string, { maxAbs: number; std: number } | null>()
  /** Cached covariances kept at most (oldest dropped first); all are dropped when a period closes. */
  private static readonly MAX_CACHED_COVARIANCES = 4096

  constructor(options: ReturnHistoryOptions) {
    checkOptions(options)
    this.options = { ...options }
    this.zeros = new Float64Array(options.windowSize)
  }

  /** Records a USD price of `asset` at block time `time` (closing earlier periods first). */
  observe(asset: string, time: number, priceUsd: number): void {
    if (!(priceUsd > 0) || !Number.isFinite(priceUsd) || !Number.isFinite(time)) return
    if (this.options.constantAssets?.has(asset)) return
    this.advanceTo(time)
    if (Math.floor(time / this.options.horizonSeconds) < this.bucket!) return
    let s = this.series.get(asset)
    if (!s) {
      s = { close: null, pending: null, lastTime: time, count: 0, ring: new Float64Array(2 * this.options.windowSize) }
      this.series.set(asset, s)
    } else if (time < s.lastTime) return
    s.pending = priceUsd
    s.lastTime = time
  }

  /** Closes every period before the one containing `time`; an earlier time is ignored. */
  advanceTo(time: number): void {
    const next = Math.floor(time / this.options.horizonSeconds)
    if (!Number.isFinite(next)) return
    if (this.bucket === null) {
      this.bucket = next
      return
    }
    if (next <= this.bucket) return
    const closed = next - this.bucket
    for (const s of this.series.values()) this.close(s, this.bucket, closed)
    this.bucket = next
    this.covariances.clear()
    this.stats.clear()
  }

  /** Completed periods so far are those before this one; null before the first time seen. */
  get openBucket(): number | null {
    return this.bucket
  }

  /** Returns held for an asset (windowSize for a constant asset). */
  historyLength(asset: string): number {
    if (this.options.constantAssets?.has(asset)) return this.options.windowSize
    return this.series.get(asset)?.count ?? 0
  }

  /** The aligned returns of `assets` over the longest window they all have (at most windowSize). */
  window(assets: readonly string[]): ReturnWindow {
    const { windowSize: w, minHistory } = this.options
    const out: ReturnWindow = { assets: [], returns: [], length: w, lacking: [] }
    for (const a of assets) {
      const n = this.historyLength(a)
      if (n < minHistory) out.lacking.push(a)
      else {
        out.assets.push(a)
        if (n < out.length) out.length = n
      }
    }
    const len = out.length
    const end = this.bucket === null ? w : mod(this.bucket - 1, w) + w + 1
    for (const a of out.assets) {
      const s = this.options.constantAssets?.has(a) ? undefined : this.series.get(a)
      out.returns.push(s ? s.ring.subarray(end - len, end) : this.zeros.subarray(0, len))
    }
    return out
  }

  /**
   * Covariance (ddof 1) of a window's returns, row-major in the order of `window.assets`. Cached
   * by asset list until the next period closes, so it is computed once per period per list.
   */
  covariance(window: ReturnWindow): Float64Array {
    const key = window.assets.join('\u0000')
    let cov = this.covariances.get(key)
    if (cov) return cov
    cov = covarianceMatrix(window.returns)
    if (this.covariances.size >= ReturnHistory.MAX_CACHED_COVARIANCES) this.covariances.delete(this.covariances.keys().next().value!)
    this.covariances.set(key, cov)
    return cov
  }

  /**
   * The largest absolute return and the sample standard deviation of an asset's window; null when
   * it has fewer than minHistory returns (a constant asset: zeros). Cached until a period closes.
   */
  returnStats(asset: string): { maxAbs: number; std: number } | null {
    let s = this.stats.get(asset)
    if (s !== undefined) return s
    const w = this.window([asset])
    if (w.assets.length === 0) s = null
    else {
      const r = w.returns[0]!
      let maxAbs = 0
      let mean = 0
      for (let i = 0; i < r.length; i++) {
        const a = Math.abs(r[i]!)
        if (a > maxAbs) maxAbs = a
        mean += r[i]!
      }
      mean /= r.length
      let ss = 0
      for (let i = 0; i < r.length; i++) ss += (r[i]! - mean) ** 2
      s = { maxAbs, std: r.length > 1 ? Math.sqrt(ss / (r.length - 1)) : 0 }
    }
    this.stats.set(asset, s)
    return s
  }

  /** The assets with a series (constant assets have none), sorted. */
  assetNames(): string[] {
    return [...this.series.keys()].sort()
  }

  /** One asset's series in the persisted form (null: no series); what `fromJSON` reads back. */
  assetJSON(name: string): ReturnHistoryJson['assets'][string] | null {
    const s = this.series.get(name)
    if (!s) return null
    const w = this.options.windowSize
    const end = this.bucket === null ? w : mod(this.bucket - 1, w) + w + 1
    return { close: s.close, pending: s.pending, lastTime: s.lastTime, returns: Array.from(s.ring.subarray(end - s.count, end)) }
  }

  toJSON(): ReturnHistoryJson {
    const assets: ReturnHistoryJson['assets'] = {}
    for (const name of this.assetNames()) assets[name] = this.assetJSON(name)!
    return { bucket: this.bucket, assets }
  }

  static fromJSON(options: ReturnHistoryOptions, json: ReturnHistoryJson): ReturnHistory {
    const h = new ReturnHistory(options)
    const w = options.windowSize
    h.bucket = json.bucket
    for (const [name, a] of Object.entries(json.assets)) {
      const s: Series = { close: a.close, pending: a.pending, lastTime: a.lastTime, count: 0, ring: new Float64Array(2 * w) }
      // Only the newest windowSize returns matter (a history saved with a larger window keeps its tail).
      const returns = a.returns.slice(-w)
      if (h.bucket !== null) returns.forEach((r, i) => write(s, h.bucket! - returns.length + i, r, w))
      s.count = returns.length
      h.series.set(name, s)
    }
    return h
  }

  /** Closes `closed` periods starting at `first`: the first with its pending price, the rest carried forward. */
  private close(s: Series, first: number, closed: number): void {
    const w = this.options.windowSize
    if (s.pending !== null) {
      if (s.close !== null) push(s, first, s.pending / s.close - 1, w)
      s.close = s.pending
      s.pending = null
    } else if (s.close !== null) push(s, first, 0, w)
    if (s.close === null || closed === 1) return
    // The periods after the first had no observation: zero returns, at most a whole ring of them.
    const gap = closed - 1
    if (gap >= w) {
      s.ring.fill(0)
      s.count = w
      return
    }
    for (let b = first + 1; b < first + closed; b++) push(s, b, 0, w)
  }
}

function push(s: Series, bucket: number, r: number, w: number): void {
  write(s, bucket, r, w)
  if (s.count < w) s.count++
}

function write(s: Series, bucket: number, r: number, w: number): void {
  const i = mod(bucket, w)
  s.ring[i] = r
  s.ring[i + w] = r
}

const mod = (a: number, m: number): number => ((a % m) + m) % m

function checkOptions(o: ReturnHistoryOptions): void {
  if (!(o.horizonSeconds > 0) || !Number.isFinite(o.horizonSeconds))
    throw new ConfigError('horizonSeconds must be a positive number of seconds', { context: { field: 'horizonSeconds' }, details: `got ${o.horizonSeconds}` })
  if (!Number.isInteger(o.windowSize) || o.windowSize < 2)
    throw new ConfigError('windowSize must be a whole number of periods, at least 2', { context: { field: 'windowSize' }, details: `got ${o.windowSize}` })
  if (!Number.isInteger(o.minHistory) || o.minHistory < 2 || o.minHistory > o.windowSize)
    throw new ConfigError('minHistory must be a whole number between 2 and windowSize', {
      context: { field: 'minHistory' },
      details: `got ${o.minHistory} with windowSize ${o.windowSize}`,
    })
}
