import type { Address } from 'viem'
import type { PriceObservation } from '../../src/domain/types.ts'

/** Pricing rules of one chain: stablecoins are 1 USD; pivots are priced only from stablecoins. */
export type ChainPricing = { stablecoins: ReadonlySet<Address>; pivots: ReadonlySet<Address> }

/**
 * A token's last price: `ratio` units of `via` per token (via null: USD per token). A token priced
 * through a pivot keeps its ratio to the pivot, so its USD price follows the pivot's (WETH falls,
 * every token quoted in WETH falls with it) until its own pool trades again.
 */
export type CachedPrice = { ratio: number; via: Address | null; block: bigint; pool: Address }

type CachedPriceJson = { ratio: number; via: string | null; block: string; pool: string }

/**
 * The USD price cache of one shard for one chain: a pure function of the price observations it
 * was given, in order (design.md decision 3). A token takes a price from a pool only when the
 * other side is a stablecoin, or a pivot (and the token itself is not a pivot), in the spirit of
 * the Uniswap v3 subgraph's whitelist. Manipulation guards (minimum liquidity, deepest pool) are
 * the risk-engine issue's.
 */
export class PriceCache {
  readonly prices: Map<Address, CachedPrice>
  private readonly pricing: ChainPricing

  constructor(pricing: ChainPricing, prices?: Map<Address, CachedPrice>) {
    this.pricing = pricing
    this.prices = prices ?? new Map()
  }

  usd(token: Address): number | null {
    if (this.pricing.stablecoins.has(token)) return 1
    const p = this.prices.get(token)
    if (!p) return null
    if (p.via === null) return p.ratio
    const viaUsd = p.via === token ? null : this.usd(p.via)
    return viaUsd === null ? null : p.ratio * viaUsd
  }

  /** How trustworthy a token's USD value is: 0 stablecoin, 1 pivot, 2 any other token. */
  rank(token: Address): number {
    return this.pricing.stablecoins.has(token) ? 0 : this.pricing.pivots.has(token) ? 1 : 2
  }

  /** Applies one observation: price = quote units per base unit. */
  observe(obs: PriceObservation): void {
    if (!(obs.price > 0) || !Number.isFinite(obs.price)) return
    const viaQuote = this.source(obs.quote, obs.base)
    if (viaQuote !== undefined) this.set(obs.base, obs.price, viaQuote, obs)
    const viaBase = this.source(obs.base, obs.quote)
    if (viaBase !== undefined) this.set(obs.quote, 1 / obs.price, viaBase, obs)
  }

  clone(): PriceCache {
    return new PriceCache(this.pricing, new Map(this.prices))
  }

  toJSON(): Record<string, CachedPriceJson> {
    const out: Record<string, CachedPriceJson> = {}
    for (const [token, p] of [...this.prices].sort(([a], [b]) => (a < b ? -1 : 1)))
      out[token] = { ratio: p.ratio, via: p.via, block: p.block.toString(), pool: p.pool }
    return out
  }

  static fromJSON(pricing: ChainPricing, json: Record<string, CachedPriceJson>): PriceCache {
    const prices = new Map<Address, CachedPrice>()
    for (const [token, p] of Object.entries(json))
      prices.set(token as Address, { ratio: p.ratio, via: p.via as Address | null, block: BigInt(p.block), pool: p.pool as Address })
    return new PriceCache(pricing, prices)
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

  private set(token: Address, ratio: number, via: Address | null, obs: PriceObservation): void {
    if (!(ratio > 0) || !Number.isFinite(ratio)) return
    this.prices.set(token, { ratio, via, block: obs.blockNumber, pool: obs.pool })
  }
}
