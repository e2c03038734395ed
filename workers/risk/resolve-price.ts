import type { Address } from 'viem'
import type { PriceCache } from './price-cache.ts'

/** A token on a chain. */
export type ChainToken = { chainId: number; token: Address }

/** The cross-chain asset of a token (WETH on every chain → 'ETH'), or null when it belongs to none. */
export type AssetOf = (chainId: number, token: Address) => string | null

/**
 * An `AssetOf` that also lists each asset's tokens, sorted by chain id then address, so a lookup
 * reads only the tokens of one asset instead of every token of every cache.
 */
export type AssetIndex = AssetOf & { readonly tokensOf: (asset: string) => readonly ChainToken[] }

/** A USD price and where it was observed; `pool` null for a configured stablecoin (1 USD by config). */
export type ResolvedPrice = { priceUsd: number; source: { chainId: number; pool: Address | null; time: number } }

/**
 * Builds an AssetIndex from (chain, token, asset) triples, e.g. each chain's `assets` config.
 * Addresses are lowercased, as everywhere inside dexrisk.
 */
export function createAssetIndex(members: Iterable<ChainToken & { asset: string }>): AssetIndex {
  const byToken = new Map<string, string>()
  const byAsset = new Map<string, ChainToken[]>()
  for (const m of members) {
    const token = m.token.toLowerCase() as Address
    const key = tokenKey(m.chainId, token)
    if (byToken.has(key)) continue
    byToken.set(key, m.asset)
    let list = byAsset.get(m.asset)
    if (!list) byAsset.set(m.asset, (list = []))
    list.push({ chainId: m.chainId, token })
  }
  for (const list of byAsset.values()) list.sort(byChainThenToken)
  const assetOf = (chainId: number, token: Address): string | null => byToken.get(tokenKey(chainId, token.toLowerCase())) ?? null
  return Object.assign(assetOf, { tokensOf: (asset: string): readonly ChainToken[] => byAsset.get(asset) ?? [] })
}

/**
 * The USD price of a token at `now` (a block time, unix seconds): its own chain's price if fresh;
 * else the freshest fresh price of another token of the same asset (the same token on another
 * chain, or a bridged twin), ties broken by chain id then address so the answer is deterministic.
 * Each cache judges freshness by its own maxAgeSeconds. Null: unpriced everywhere.
 */
export function resolveUsd(
  caches: ReadonlyMap<number, PriceCache>,
  assetOf: AssetOf | AssetIndex,
  chainId: number,
  token: Address,
  now: number,
): ResolvedPrice | null {
  const own = caches.get(chainId)?.quote(token, now)
  if (own) return { priceUsd: own.usd, source: { chainId, pool: own.pool, time: own.time } }
  const asset = assetOf(chainId, token)
  if (asset === null) return null
  let best: { price: ResolvedPrice; at: ChainToken } | null = null
  for (const c of candidates(caches, assetOf, asset)) {
    if (c.chainId === chainId && c.token === token) continue
    const q = caches.get(c.chainId)?.quote(c.token, now)
    if (!q) continue
    if (best === null || q.time > best.price.source.time || (q.time === best.price.source.time && byChainThenToken(c, best.at) < 0))
      best = { price: { priceUsd: q.usd, source: { chainId: c.chainId, pool: q.pool, time: q.time } }, at: c }
  }
  return best?.price ?? null
}

/** The asset's tokens: from the index when there is one, else by asking `assetOf` about every token the caches know. */
function candidates(caches: ReadonlyMap<number, PriceCache>, assetOf: AssetOf | AssetIndex, asset: string): Iterable<ChainToken> {
  if ('tokensOf' in assetOf) return assetOf.tokensOf(asset)
  const out: ChainToken[] = []
  for (const [chainId, cache] of caches)
    for (const token of cache.tokens()) if (assetOf(chainId, token) === asset) out.push({ chainId, token })
  return out
}

function tokenKey(chainId: number, token: string): string {
  return `${chainId}:${token}`
}

function byChainThenToken(a: ChainToken, b: ChainToken): number {
  if (a.chainId !== b.chainId) return a.chainId - b.chainId
  return a.token < b.token ? -1 : a.token > b.token ? 1 : 0
}
