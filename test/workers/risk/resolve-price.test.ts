import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { PriceObservation } from '../../../src/domain/types.ts'
import { PriceCache } from '../../../workers/risk/price-cache.ts'
import { createAssetIndex, resolveUsd, type AssetOf } from '../../../workers/risk/resolve-price.ts'

// WETH and native USDC on Ethereum (1), Optimism (10) and Arbitrum (42161).
const WETH = { 1: '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2', 10: '0x4200000000000000000000000000000000000006', 42161: '0x82af49447d8a07e3bd95bd0d56f35241523fbab1' } as const
const USDC = { 1: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48', 10: '0x0b2c639c533813f4aa9d7837caf62653d097ff85', 42161: '0xaf88d065e77c8cc2239327c5edb3a432268e5831' } as const
/** USDC.e, Arbitrum's bridged USDC: not a configured stablecoin there, but the USD asset. */
const USDC_E = '0xff970a61a04b1ca14834a43f5de4533ebddb5cc8' as Address
const ARB = '0x912ce59144191c1204e64559fe8253a0e49e6548' as Address
type Chain = keyof typeof WETH
const CHAINS: Chain[] = [1, 10, 42161]
const POOL = { 1: '0x00000000000000000000000000000000000000a1', 10: '0x00000000000000000000000000000000000000a2', 42161: '0x00000000000000000000000000000000000000a3' } as const

const T0 = 1_700_000_000
const index = createAssetIndex([
  ...CHAINS.map((chainId) => ({ chainId, token: WETH[chainId] as Address, asset: 'ETH' })),
  ...CHAINS.map((chainId) => ({ chainId, token: USDC[chainId] as Address, asset: 'USD' })),
  { chainId: 42161, token: USDC_E, asset: 'USD' },
])

/** A deep USDC pool pricing WETH at `usd` on `chainId`, observed at time `time`. */
function wethPrice(chainId: Chain, time: number, usd: number): PriceObservation {
  const txHash = `0x${time.toString(16).padStart(64, '0')}` as Hex
  return { chainId, pool: POOL[chainId], blockNumber: BigInt(time), blockTime: time, txHash, logIndex: 0, base: WETH[chainId], quote: USDC[chainId], price: usd, quoteDepth: 10_000_000 }
}

function caches(...observations: PriceObservation[]): Map<number, PriceCache> {
  const out = new Map<number, PriceCache>()
  for (const chainId of CHAINS) out.set(chainId, new PriceCache({ stablecoins: new Set([USDC[chainId]]), pivots: new Set([WETH[chainId]]) }))
  for (const o of observations) out.get(o.chainId)!.observe(o)
  return out
}

describe('resolveUsd', () => {
  it('prices WETH on a chain with no price of its own from the same asset on another chain', () => {
    const c = caches(wethPrice(1, T0, 2000))
    expect(c.get(10)!.usd(WETH[10], T0 + 60)).toBeNull()
    expect(resolveUsd(c, index, 10, WETH[10], T0 + 60)).toEqual({ priceUsd: 2000, source: { chainId: 1, pool: POOL[1], time: T0 } })
  })

  it('finds the same answer with a bare assetOf function, by asking it about every cached token', () => {
    const c = caches(wethPrice(1, T0, 2000))
    const assetOf: AssetOf = (chainId, token) => index(chainId, token)
    expect(resolveUsd(c, assetOf, 10, WETH[10], T0 + 60)).toEqual({ priceUsd: 2000, source: { chainId: 1, pool: POOL[1], time: T0 } })
  })

  it('prefers the token\'s own fresh price to a fresher one on another chain', () => {
    const c = caches(wethPrice(10, T0, 2010), wethPrice(1, T0 + 100, 2000))
    expect(resolveUsd(c, index, 10, WETH[10], T0 + 200)).toEqual({ priceUsd: 2010, source: { chainId: 10, pool: POOL[10], time: T0 } })
  })

  it('takes the freshest other chain when its own price is stale', () => {
    const c = caches(wethPrice(10, T0, 2010), wethPrice(1, T0 + 3_000, 2000), wethPrice(42161, T0 + 3_500, 2001))
    expect(resolveUsd(c, index, 10, WETH[10], T0 + 3_601)).toEqual({ priceUsd: 2001, source: { chainId: 42161, pool: POOL[42161], time: T0 + 3_500 } })
  })

  it('breaks a tie of freshness by the lower chain id', () => {
    const c = caches(wethPrice(42161, T0, 2001), wethPrice(1, T0, 2000))
    expect(resolveUsd(c, index, 10, WETH[10], T0)).toEqual({ priceUsd: 2000, source: { chainId: 1, pool: POOL[1], time: T0 } })
  })

  it('returns null when the asset is stale on every chain', () => {
    const c = caches(wethPrice(1, T0, 2000), wethPrice(10, T0 + 10, 2010), wethPrice(42161, T0 + 20, 2001))
    expect(resolveUsd(c, index, 10, WETH[10], T0 + 20 + 3_601)).toBeNull()
    expect(resolveUsd(c, index, 10, WETH[10], T0 + 3_611)).toEqual({ priceUsd: 2001, source: { chainId: 42161, pool: POOL[42161], time: T0 + 20 } })
  })

  it('returns null for a token of no asset with no price of its own', () => {
    const c = caches(wethPrice(1, T0, 2000))
    expect(resolveUsd(c, index, 42161, ARB, T0)).toBeNull()
  })

  it('prices a bridged stablecoin at 1 through a configured stablecoin of its asset', () => {
    const c = caches()
    expect(resolveUsd(c, index, 42161, USDC_E, T0)).toEqual({ priceUsd: 1, source: { chainId: 1, pool: null, time: T0 } })
  })

  it('indexes assets by lowercase address and lists them by chain then address', () => {
    const i = createAssetIndex([
      { chainId: 42161, token: '0xAF88d065e77c8cC2239327C5EDb3A432268e5831', asset: 'USD' },
      { chainId: 1, token: USDC[1], asset: 'USD' },
    ])
    expect(i(42161, USDC[42161])).toBe('USD')
    expect(i(42161, '0xAF88d065e77c8cC2239327C5EDb3A432268e5831')).toBe('USD')
    expect(i(10, USDC[10])).toBeNull()
    expect(i.tokensOf('USD')).toEqual([{ chainId: 1, token: USDC[1] }, { chainId: 42161, token: USDC[42161] }])
    expect(i.tokensOf('ETH')).toEqual([])
  })
})
