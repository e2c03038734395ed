import type { Address } from 'viem'
import { CHAINLINK_USD } from '../../indexers/chainlink/abi.ts'
import type { PriceObservation } from '../../src/domain/types.ts'
import { ConfigError } from '../../src/errors.ts'

/** Pricing rules of one chain: stablecoins are 1 USD; pivots are priced only from stablecoins. */
export type ChainPricing = { stablecoins: ReadonlySet<Address>; pivots: ReadonlySet<Address> }

/**
 * Manipulation guards, after the Uniswap v3 subgraph's minimum-liquidity rule. Prices are float64
 * and so are these thresholds.
 */
export type PriceGuards = {
  /**
   * Least depth, in USD, of a pool on its pricing side (the stablecoin or pivot side) for one of
   * its observations to move a price. Default 50_000: below that a trade of a few thousand dollars
   * moves the pool's price by percents, so the price is the trader's to choose.
   */
  minDepthUsd: number
  /**
   * A price observed longer ago than this, at the `now` a caller passes (a block time), no longer
   * counts. Default 3_600 (one hour).
   */
  maxAgeSeconds: number
}

export const DEFAULT_PRICE_GUARDS: Readonly<PriceGuards> = Object.freeze({ minDepthUsd: 50_000, maxAgeSeconds: 3_600 })

/**
 * Pools kept per token, the deepest: enough to fall back on when the deepest goes stale, few
 * enough that a token's row (written whenever a batch observes the token) stays small.
 */
export const POOLS_PER_TOKEN = 3

/**
 * A token's last trusted price from one pool (or oracle): `ratio` units of `via` per token (via
 * null: USD per token). A token priced through a pivot keeps its ratio to the pivot, so its USD
 * price follows the pivot's (WETH falls, every token quoted in WETH falls with it) until its own
 * pool trades again.
 */
export type CachedPrice = {
  ratio: number
  via: Address | null
  block: bigint
  pool: Address
  /** Block time of the observation, unix seconds; 0 when read from the format that did not keep it. */
  time: number
  /** The pool's depth on the pricing side in USD when observed; null: unknown (old format, oracle). */
  depthUsd: number | null
  /** A Chainlink USD feed: trusted without a depth, and preferred to any pool while fresh. */
  oracle: boolean
}

/** A USD price and where it comes from; `pool` null for a configured stablecoin. */
export type UsdQuote = {
  usd: number
  pool: Address | null
  /** Block time of the oldest observation behind the price (the token's or its pivot's); a stablecoin's: `now`, or 0. */
  time: number
}

export type CachedPriceJson = { ratio: number; via: string | null; block: string; pool: string; time: number; depthUsd: number | null; oracle: boolean }

/** The format written before the guards (one pool per token, no time or depth): still read, so an older database loads. */
export type LegacyCachedPriceJson = { ratio: number; via: string | null; block: string; pool: string }

export type PriceCacheJson = Record<string, readonly CachedPriceJson[] | LegacyCachedPriceJson>

/**
 * The USD price cache of one shard for one chain: a pure function of the price observations it
 * was given, in order (docs/decisions.md 3); "now" is always a block time from the caller, never
 * the wall clock. A token takes a price from a pool only when the other side is a stablecoin, or a
 * pivot (and the token itself is not a pivot), and only when the pool is at least `minDepthUsd`
 * deep on that side, in the spirit of the Uniswap v3 subgraph's whitelist and minimum-liquidity
 * rules: a thin or freshly created pool cannot move a price. Each pool's latest trusted
 * observation is kept, and a token is priced from the deepest pool still fresh, not from
 * whichever traded last, so a shallow pool cannot override a deep one. A token with no trusted
 * fresh price is unpriced (null), never zero.
 */
export class PriceCache {
  /** token → its pools' latest trusted prices, best first. Arrays are replaced, never changed, so a clone shares them. */
  readonly prices: Map<Address, readonly CachedPrice[]>
  readonly guards: Readonly<PriceGuards>
  private readonly pricing: ChainPricing

  constructor(pricing: ChainPricing, prices?: Map<Address, readonly CachedPrice[]>, guards?: Partial<PriceGuards>) {
    this.pricing = pricing
    this.prices = prices ?? new Map()
    this.guards = checkGuards({ ...DEFAULT_PRICE_GUARDS, ...guards })
  }

  /** USD per token; null when unpriced, or when every price of it (or of its pivot) is older than maxAgeSeconds at `now`. No `now`: no age check. */
  usd(token: Address, now?: number): number | null {
    return this.quote(token, now)?.usd ?? null
  }

  /** The USD price of a token with its source: the fresh oracle, else the deepest fresh pool whose pivot is priced. */
  quote(token: Address, now?: number): UsdQuote | null {
    if (this.pricing.stablecoins.has(token)) return { usd: 1, pool: null, time: now ?? 0 }
    const entries = this.prices.get(token)
    if (!entries) return null
    const oldest = now === undefined ? -Infinity : now - this.guards.maxAgeSeconds
    for (const e of entries) {
      if (e.time < oldest) continue
      if (e.via === null) return { usd: e.ratio, pool: e.pool, time: e.time }
      const via = e.via === token ? null : this.quote(e.via, now)
      if (via !== null) return { usd: e.ratio * via.usd, pool: e.pool, time: Math.min(e.time, via.time) }
    }
    return null
  }

  /** Every token this cache can price: its stablecoins and the tokens it holds a price of. */
  tokens(): Address[] {
    return [...new Set([...this.pricing.stablecoins, ...this.prices.keys()])]
  }

  /** How trustworthy a token's USD value is: 0 stablecoin, 1 pivot, 2 any other token. */
  rank(token: Address): number {
    return this.pricing.stablecoins.has(token) ? 0 : this.pricing.pivots.has(token) ? 1 : 2
  }

  /**
   * Applies one observation: price = quote units per base unit. A pool observation moves a price
   * only when its depth on the pricing side, valued in USD at the observation's block time, is at
   * least minDepthUsd; one that is not (or has no depth, or whose pivot has no fresh price to value
   * the depth with) withdraws that pool's earlier price of the token, as its depth is no longer
   * known to be there. An observation quoted in Chainlink's USD denomination is an oracle price.
   */
  observe(obs: PriceObservation): void {
    if (!(obs.price > 0) || !Number.isFinite(obs.price)) return
    if (obs.quote === CHAINLINK_USD) {
      if (!this.pricing.stablecoins.has(obs.base)) this.put(obs.base, entry(obs, obs.price, null, null, true), obs)
      return
    }
    const viaQuote = this.source(obs.quote, obs.base)
    if (viaQuote !== undefined) {
      const depth = obs.quoteDepth === null ? null : this.sideUsd(obs.quote, obs.quoteDepth, obs.blockTime)
      this.offer(obs.base, obs.price, viaQuote, depth, obs)
    }
    const viaBase = this.source(obs.base, obs.quote)
    if (viaBase !== undefined) {
      const depth = obs.quoteDepth === null ? null : this.sideUsd(obs.base, obs.quoteDepth / obs.price, obs.blockTime)
      this.offer(obs.quote, 1 / obs.price, viaBase, depth, obs)
    }
  }

  clone(): PriceCache {
    return new PriceCache(this.pricing, new Map(this.prices), this.guards)
  }

  toJSON(): Record<string, CachedPriceJson[]> {
    const out: Record<string, CachedPriceJson[]> = {}
    for (const token of [...this.prices.keys()].sort()) out[token] = this.tokenJSON(token)!
    return out
  }

  /** One token's entries in `toJSON`'s form (null: the cache holds no price of it). */
  tokenJSON(token: Address): CachedPriceJson[] | null {
    const entries = this.prices.get(token)
    return entries ? entries.map((p) => ({ ratio: p.ratio, via: p.via, block: p.block.toString(), pool: p.pool, time: p.time, depthUsd: p.depthUsd, oracle: p.oracle })) : null
  }

  /** Reads `toJSON`'s output, or the older one-pool-per-token format (time 0, depth unknown). */
  static fromJSON(pricing: ChainPricing, json: PriceCacheJson, guards?: Partial<PriceGuards>): PriceCache {
    const prices = new Map<Address, readonly CachedPrice[]>()
    for (const [token, value] of Object.entries(json)) {
      const entries = isEntryList(value)
        ? value.map((p) => ({ ...readCommon(p), time: p.time, depthUsd: p.depthUsd, oracle: p.oracle }))
        : [{ ...readCommon(value), time: 0, depthUsd: null, oracle: false }]
      if (entries.length > 0) prices.set(token as Address, entries.sort(preference))
    }
    return new PriceCache(pricing, prices, guards)
  }

  /**
   * What `source` lends `target` in a pool: null for a USD price (source is a stablecoin), the
   * source itself for a price through a pivot, undefined when it may not price the target.
   */
  private source(source: Address, target: Address): Address | null | undefined {
    const { stablecoins, pivots } = this.pricing
    if (stablecoins.has(target)) return undefined
    if (stablecoins.has(source)) return null
    if (pivots.has(source) && !pivots.has(target)) return source
    return undefined
  }

  /** USD value of `units` of the pricing side's token at `time`; null when that token has no fresh price. */
  private sideUsd(token: Address, units: number, time: number): number | null {
    const usd = this.usd(token, time)
    return usd === null ? null : units * usd
  }

  private offer(token: Address, ratio: number, via: Address | null, depthUsd: number | null, obs: PriceObservation): void {
    if (!(ratio > 0) || !Number.isFinite(ratio)) return
    const deep = depthUsd !== null && Number.isFinite(depthUsd) && depthUsd >= this.guards.minDepthUsd
    this.put(token, deep ? entry(obs, ratio, via, depthUsd, false) : null, obs)
  }

  /**
   * Replaces the pool's price of the token with `next` (null: withdraws it), drops the token's
   * prices already stale at this observation's time, and keeps the best POOLS_PER_TOKEN.
   */
  private put(token: Address, next: CachedPrice | null, obs: PriceObservation): void {
    const current = this.prices.get(token) ?? []
    const horizon = obs.blockTime - this.guards.maxAgeSeconds
    if (next === null && !current.some((e) => e.pool === obs.pool || e.time < horizon)) return
    const kept = current.filter((e) => e.pool !== obs.pool && e.time >= horizon)
    if (next !== null) kept.push(next)
    kept.sort(preference)
    if (kept.length > POOLS_PER_TOKEN) kept.length = POOLS_PER_TOKEN
    if (kept.length === 0) this.prices.delete(token)
    else this.prices.set(token, kept)
  }
}

function entry(obs: PriceObservation, ratio: number, via: Address | null, depthUsd: number | null, oracle: boolean): CachedPrice {
  return { ratio, via, block: obs.blockNumber, pool: obs.pool, time: obs.blockTime, depthUsd, oracle }
}

/** Best first: oracles, then deeper pools (unknown depth last), then later blocks, then pool address: a total order, so the cache is deterministic. */
function preference(a: CachedPrice, b: CachedPrice): number {
  if (a.oracle !== b.oracle) return a.oracle ? -1 : 1
  const da = a.depthUsd ?? -1
  const db = b.depthUsd ?? -1
  if (da !== db) return db - da
  if (a.block !== b.block) return a.block > b.block ? -1 : 1
  return a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0
}

function checkGuards(g: PriceGuards): PriceGuards {
  if (!(Number.isFinite(g.minDepthUsd) && g.minDepthUsd >= 0))
    throw new ConfigError('minimum pool depth must be a finite number of USD, 0 or more', { context: { field: 'priceGuards.minDepthUsd' }, details: `got ${g.minDepthUsd}` })
  if (!(Number.isFinite(g.maxAgeSeconds) && g.maxAgeSeconds > 0))
    throw new ConfigError('maximum price age must be a finite number of seconds above 0', { context: { field: 'priceGuards.maxAgeSeconds' }, details: `got ${g.maxAgeSeconds}` })
  return Object.freeze({ minDepthUsd: g.minDepthUsd, maxAgeSeconds: g.maxAgeSeconds })
}

function isEntryList(v: readonly CachedPriceJson[] | LegacyCachedPriceJson): v is readonly CachedPriceJson[] {
  return Array.isArray(v)
}

function readCommon(p: LegacyCachedPriceJson): Pick<CachedPrice, 'ratio' | 'via' | 'block' | 'pool'> {
  return { ratio: p.ratio, via: p.via as Address | null, block: BigInt(p.block), pool: p.pool as Address }
}
