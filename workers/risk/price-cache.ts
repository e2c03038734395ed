import type { Address } from 'viem'
import type { PriceObservation } from '../../src/domain/types.ts'

/** Pricing rules of one chain: stablecoins are 1 USD; pivots are priced only from stablecoins. */
export type ChainPricing = { stablecoins: ReadonlySet<Address>; pivots: ReadonlySet<Address> }

export type CachedPrice = { usd: number; block: bigint; pool: Address }

/**
 * The USD price cache of one shard for one chain: a pure function of the price observations it
 * was given, in order (design.md decision 3). A token takes a price from a pool only when the
 * other side is a stablecoin, or a priced pivot (and the token itself is not a pivot), in the
 * spirit of the Uniswap v3 subgraph's whitelist.
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
    return this.prices.get(token)?.usd ?? null
  }

  /** Applies one observation: price = quote units per base unit. */
  observe(obs: PriceObservation): void {
    if (!(obs.price > 0) || !Number.isFinite(obs.price)) return
    const quoteUsd = this.sourceUsd(obs.quote, obs.base)
    if (quoteUsd !== null) this.set(obs.base, obs.price * quoteUsd, obs)
    const baseUsd = this.sourceUsd(obs.base, obs.quote)
    if (baseUsd !== null) this.set(obs.quote, baseUsd / obs.price, obs)
  }

  clone(): PriceCache {
    return new PriceCache(this.pricing, new Map(this.prices))
  }

  toJSON(): Record<string, { usd: number; block: string; pool: string }> {
    const out: Record<string, { usd: number; block: string; pool: string }> = {}
    for (const [token, p] of [...this.prices].sort(([a], [b]) => (a < b ? -1 : 1)))
      out[token] = { usd: p.usd, block: p.block.toString(), pool: p.pool }
    return out
  }

  static fromJSON(pricing: ChainPricing, json: Record<string, { usd: number; block: string; pool: string }>): PriceCache {
    const prices = new Map<Address, CachedPrice>()
    for (const [token, p] of Object.entries(json))
      prices.set(token as Address, { usd: p.usd, block: BigInt(p.block), pool: p.pool as Address })
    return new PriceCache(pricing, prices)
  }

  /** The USD price `source` lends to `target` in a pool, or null when it may not price it. */
  private sourceUsd(source: Address, target: Address): number | null {
    const { stablecoins, pivots } = this.pricing
    if (stablecoins.has(target)) return null
    if (stablecoins.has(source)) return 1
    if (pivots.has(source) && !pivots.has(target)) return this.prices.get(source)?.usd ?? null
    return null
  }

  private set(token: Address, usd: number, obs: PriceObservation): void {
    if (!(usd > 0) || !Number.isFinite(usd)) return
    this.prices.set(token, { usd, block: obs.blockNumber, pool: obs.pool })
  }
}
