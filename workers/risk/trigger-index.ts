import FlatQueue from 'flatqueue'

/**
 * Each account's repricing band per asset it holds (src/risk/reprice-band.ts), ordered by price, so
 * a new closing price finds the accounts whose band it left in O(k log n) for k of them, never by
 * walking the holders of the asset. Per asset two heaps: the band's lower edges (largest first) and
 * its upper edges (smallest first).
 *
 * Entries are never removed in place: arming an account again bumps its generation, and an entry of
 * an older generation is skipped when it surfaces. The heaps are compacted once stale entries
 * outnumber live ones, so memory follows the armed accounts, not the number of armings. A
 * generation is kept modulo 2^20: an entry that survives 2^20 armings of its account could be
 * taken for live, which costs one needless recomputation, never a missed one.
 */
export class TriggerIndex {
  private readonly ids = new Map<string, number>()
  private readonly names: string[] = []
  private gens = new Uint32Array(1024)
  /** Live entries per account (both heaps), to count what an arming makes stale. */
  private counts = new Uint16Array(1024)
  private readonly heaps = new Map<string, { down: FlatQueue<number>; up: FlatQueue<number> }>()
  private live = 0
  private stale = 0

  /** Entries held, live and stale (for tests and the bench). */
  get size(): { live: number; stale: number } {
    return { live: this.live, stale: this.stale }
  }

  /**
   * Watches `account` on each asset at p₀·(1 ± band), replacing what it had. A band of Infinity
   * (no rule can change with prices), or no asset, leaves it unwatched.
   */
  arm(account: string, band: number, prices: Iterable<readonly [asset: string, price: number]>): void {
    const id = this.idOf(account)
    const gen = this.retire(id)
    if (!(band < Infinity) || !(band >= 0)) return
    const key = id * GEN_SPACE + gen
    let n = 0
    for (const [asset, price] of prices) {
      if (!(price > 0) || !Number.isFinite(price)) continue
      let h = this.heaps.get(asset)
      if (!h) this.heaps.set(asset, (h = { down: new FlatQueue<number>(), up: new FlatQueue<number>() }))
      // The lower edge is pushed negated: FlatQueue pops the smallest first.
      if (band < 1) h.down.push(key, -price * (1 - band))
      h.up.push(key, price * (1 + band))
      n += band < 1 ? 2 : 1
    }
    this.counts[id] = Math.min(n, 0xffff)
    this.live += n
  }

  /** Stops watching `account` (its positions are gone). */
  disarm(account: string): void {
    const id = this.ids.get(account)
    if (id !== undefined) this.retire(id)
  }

  /**
   * The accounts whose band `price` of `asset` left, removed from the index (the caller
   * recomputes and arms them again), in no particular order.
   */
  crossed(asset: string, price: number): string[] {
    const h = this.heaps.get(asset)
    if (!h || !(price > 0)) return []
    const out: string[] = []
    while (h.down.length > 0 && -h.down.peekValue()! >= price) this.take(h.down.pop()!, out)
    while (h.up.length > 0 && h.up.peekValue()! <= price) this.take(h.up.pop()!, out)
    if (this.stale > COMPACT_MIN && this.stale > this.live) this.compact()
    return out
  }

  private take(key: number, out: string[]): void {
    const id = Math.floor(key / GEN_SPACE)
    if (key % GEN_SPACE !== this.gens[id]) {
      this.stale--
      return
    }
    // Its other entries go stale now: it is recomputed and armed afresh.
    out.push(this.names[id]!)
    this.live--
    this.counts[id]!--
    this.retire(id)
  }

  /** Moves an account to a new generation; its entries so far become stale. Returns the generation. */
  private retire(id: number): number {
    const n = this.counts[id]!
    this.live -= n
    this.stale += n
    this.counts[id] = 0
    const gen = (this.gens[id]! + 1) % GEN_SPACE
    this.gens[id] = gen
    return gen
  }

  private idOf(account: string): number {
    let id = this.ids.get(account)
    if (id === undefined) {
      id = this.names.length
      this.names.push(account)
      this.ids.set(account, id)
      if (id >= this.gens.length) {
        const gens = new Uint32Array(this.gens.length * 2)
        gens.set(this.gens)
        this.gens = gens
        const counts = new Uint16Array(this.counts.length * 2)
        counts.set(this.counts)
        this.counts = counts
      }
    }
    return id
  }

  /** Rebuilds every heap with its live entries only. */
  private compact(): void {
    for (const [asset, h] of this.heaps) {
      const next = { down: liveOnly(h.down, this.gens), up: liveOnly(h.up, this.gens) }
      if (next.down.length === 0 && next.up.length === 0) this.heaps.delete(asset)
      else this.heaps.set(asset, next)
    }
    this.stale = 0
  }
}

const GEN_SPACE = 2 ** 20
const COMPACT_MIN = 100_000

function liveOnly(q: FlatQueue<number>, gens: Uint32Array): FlatQueue<number> {
  const out = new FlatQueue<number>()
  for (let i = 0; i < q.length; i++) {
    const key = q.ids[i]!
    if (key % GEN_SPACE === gens[Math.floor(key / GEN_SPACE)]) out.push(key, q.values[i]!)
  }
  return out
}
