/** What the local world holds: its tokens with USD prices, and which pools pair them. */

export type TokenSpec = { symbol: string; name: string; decimals: number; priceUsd: number }

/** WETH is the real WETH9; the others are TestTokens. */
export const WETH_SPEC: TokenSpec = { symbol: 'WETH', name: 'Wrapped Ether', decimals: 18, priceUsd: 3000 }

export const TEST_TOKEN_SPECS: readonly TokenSpec[] = [
  { symbol: 'USDC', name: 'USD Coin', decimals: 6, priceUsd: 1 },
  { symbol: 'DAI', name: 'Dai Stablecoin', decimals: 18, priceUsd: 1 },
  { symbol: 'WBTC', name: 'Wrapped BTC', decimals: 8, priceUsd: 60_000 },
  { symbol: 'UNI', name: 'Uniswap', decimals: 18, priceUsd: 10 },
  { symbol: 'LINK', name: 'ChainLink Token', decimals: 18, priceUsd: 15 },
]

/** V2 pairs. Multi-hop routes run through WETH and USDC. */
export const V2_PAIR_SPECS: readonly (readonly [string, string])[] = [
  ['WETH', 'USDC'],
  ['WETH', 'DAI'],
  ['WBTC', 'WETH'],
  ['UNI', 'WETH'],
  ['LINK', 'USDC'],
]

/** V3 pools with their fee tier (hundredths of a basis point). Multi-hop routes run through USDC and WETH. */
export const V3_POOL_SPECS: readonly (readonly [string, string, number])[] = [
  ['WETH', 'USDC', 500],
  ['WBTC', 'USDC', 3000],
  ['UNI', 'WETH', 3000],
  ['DAI', 'USDC', 500],
]

/** USD value of each side of every pool (V3 positions are full range, so as deep as a V2 pair). */
export const POOL_SIDE_USD = 30_000_000

/** Raw amount of a token worth `usd` at its spec price (exact for the world's whole-dollar prices). */
export function amountForUsd(spec: TokenSpec, usd: number): bigint {
  return (BigInt(usd) * 10n ** BigInt(spec.decimals)) / BigInt(spec.priceUsd)
}
