import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { CHAINLINK_USD } from '../../../indexers/chainlink/abi.ts'
import type { PriceObservation } from '../../../src/domain/types.ts'
import { ConfigError } from '../../../src/errors.ts'
import { POOLS_PER_TOKEN, PriceCache, type ChainPricing, type PriceCacheJson } from '../../../workers/risk/price-cache.ts'

// Mainnet addresses, so the sequences read like the real thing.
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const UNI = '0x1f9840a85d5af5bf1d1762f925bdaddc4201f984' as Address
/** Uniswap V2 USDC/WETH: token0 USDC, token1 WETH, so it quotes WETH per USDC. */
const DEEP = '0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc' as Address
const THIN = '0x00000000000000000000000000000000000007e1' as Address
const MID = '0x00000000000000000000000000000000000003d0' as Address
const UNI_WETH = '0xd3d2e2692501a5c9ca623199d38826e513033a17' as Address
const ETH_USD_AGGREGATOR = '0x37bc7498f4ff12c19678ee8fe19d713b87f6a9e6' as Address

const pricing: ChainPricing = { stablecoins: new Set([USDC]), pivots: new Set([WETH]) }
const T0 = 1_700_000_000
let seq = 0

/** An observation at block `block` (block time T0 + 12·block); `depth` in quote units. */
function obs(pool: Address, block: number, base: Address, quote: Address, price: number, depth: number | null): PriceObservation {
  seq++
  const txHash = `0x${seq.toString(16).padStart(64, '0')}` as Hex
  return { chainId: 1, pool, blockNumber: BigInt(block), blockTime: T0 + 12 * block, txHash, logIndex: seq, base, quote, price, quoteDepth: depth }
}
const at = (block: number): number => T0 + 12 * block

/** The deep pair quoting WETH at `usdPerWeth`, with 10,000 WETH (20M USD at 2000) on its WETH side. */
const deepWeth = (block: number, usdPerWeth: number): PriceObservation => obs(DEEP, block, USDC, WETH, 1 / usdPerWeth, 10_000)

function cacheOf(observations: PriceObservation[], guards?: ConstructorParameters<typeof PriceCache>[2]): PriceCache {
  const c = new PriceCache(pricing, undefined, guards)
  for (const o of observations) c.observe(o)
  return c
}

describe('PriceCache', () => {
  it('keeps the deep pool price when a thin pool trades WETH at ten times it', () => {
    const c = cacheOf([
      deepWeth(100, 2000),
      obs(UNI_WETH, 101, UNI, WETH, 0.004, 500), // 500 WETH = 1M USD deep: UNI = 8 USD
      // A pool created a block ago with 1,000 USDC in it: someone buys WETH there at 20,000.
      obs(THIN, 102, WETH, USDC, 20_000, 1_000),
    ])
    expect(c.usd(WETH, at(102))).toBe(2000)
    expect(c.usd(UNI, at(102))).toBe(8)
    expect(c.quote(WETH, at(102))).toEqual({ usd: 2000, pool: DEEP, time: at(100) })
  })

  it('never prices a token from a pool below the minimum depth, on either side of the pool', () => {
    // WETH side of a USDC/WETH pair: 24 WETH at 0.0005 WETH per USDC = 48,000 USD of USDC side.
    expect(cacheOf([obs(DEEP, 100, USDC, WETH, 0.0005, 24)]).usd(WETH)).toBeNull()
    expect(cacheOf([obs(DEEP, 100, USDC, WETH, 0.0005, 26)]).usd(WETH)).toBe(2000)
    // A UNI/WETH pool valued through WETH: 20 WETH = 40,000 USD is too thin, 30 WETH = 60,000 USD is enough.
    expect(cacheOf([deepWeth(100, 2000), obs(UNI_WETH, 101, UNI, WETH, 0.004, 20)]).usd(UNI)).toBeNull()
    expect(cacheOf([deepWeth(100, 2000), obs(UNI_WETH, 101, UNI, WETH, 0.004, 30)]).usd(UNI)).toBe(8)
    // The minimum itself passes.
    expect(cacheOf([obs(MID, 100, WETH, USDC, 2000, 50_000)]).usd(WETH)).toBe(2000)
    expect(cacheOf([obs(MID, 100, WETH, USDC, 2000, 49_999.99)]).usd(WETH)).toBeNull()
  })

  it('does not price from an observation without a depth, nor value a depth through an unpriced pivot', () => {
    expect(cacheOf([obs(MID, 100, WETH, USDC, 2000, null)]).usd(WETH)).toBeNull()
    expect(cacheOf([obs(UNI_WETH, 100, UNI, WETH, 0.004, 1_000_000)]).usd(UNI)).toBeNull()
  })

  it('prices a token from the deeper of two pools whichever traded last', () => {
    const mid = (block: number, usdPerWeth: number): PriceObservation => obs(MID, block, WETH, USDC, usdPerWeth, 200_000)
    const c = cacheOf([deepWeth(100, 2000), mid(101, 2100)])
    expect(c.usd(WETH, at(101))).toBe(2000)
    c.observe(mid(102, 2105))
    expect(c.usd(WETH, at(102))).toBe(2000)
    c.observe(deepWeth(103, 2010))
    // The pair quotes WETH per USDC (1/2010); its inverse in float64 is 2010.0000000000002.
    expect(c.usd(WETH, at(103))).toBe(2010.0000000000002)
    // In the other order too: the shallow pool's earlier price gives way to the deep pool's.
    expect(cacheOf([mid(100, 2100), deepWeth(101, 2000)]).usd(WETH, at(101))).toBe(2000)
  })

  it('falls back to the next deepest pool when the deepest goes stale', () => {
    const c = cacheOf([deepWeth(100, 2000), obs(MID, 350, WETH, USDC, 2100, 200_000)])
    // 3,600 s = 300 blocks of 12 s: the deep pool's price (block 100) is stale at block 401.
    expect(c.usd(WETH, at(400))).toBe(2000)
    expect(c.usd(WETH, at(401))).toBe(2100)
    expect(c.quote(WETH, at(401))).toEqual({ usd: 2100, pool: MID, time: at(350) })
  })

  it('withdraws a pool\'s price when its latest observation is below the minimum depth', () => {
    const c = cacheOf([deepWeth(100, 2000), obs(MID, 101, WETH, USDC, 2100, 200_000)])
    // The deep pair is drained to 10 WETH and trades at 2,500: it no longer prices WETH, nor keeps its old price.
    c.observe(obs(DEEP, 102, USDC, WETH, 1 / 2500, 10))
    expect(c.usd(WETH, at(102))).toBe(2100)
    c.observe(obs(MID, 103, WETH, USDC, 2600, 1_000))
    expect(c.usd(WETH, at(103))).toBeNull()
  })

  it('keeps only the deepest few pools of a token', () => {
    const pools = [1, 2, 3, 4, 5].map((i) => `0x${i.toString(16).padStart(40, '0')}` as Address)
    const c = cacheOf(pools.map((p, i) => obs(p, 100 + i, WETH, USDC, 2000 + i, 100_000 * (i + 1))))
    expect(POOLS_PER_TOKEN).toBe(3)
    expect(c.prices.get(WETH)!.map((e) => [e.pool, e.depthUsd])).toEqual([
      [pools[4], 500_000],
      [pools[3], 400_000],
      [pools[2], 300_000],
    ])
    expect(c.usd(WETH)).toBe(2004)
  })

  it('ages a price out after maxAgeSeconds at the caller\'s now, and never without a now', () => {
    const c = cacheOf([deepWeth(100, 2000)])
    expect(c.usd(WETH, at(100) + 3_600)).toBe(2000)
    expect(c.usd(WETH, at(100) + 3_601)).toBeNull()
    expect(c.usd(WETH)).toBe(2000)
    const strict = cacheOf([deepWeth(100, 2000)], { maxAgeSeconds: 60 })
    expect(strict.usd(WETH, at(100) + 61)).toBeNull()
  })

  it('lets a token priced through WETH go stale when WETH does', () => {
    const c = cacheOf([deepWeth(100, 2000), obs(UNI_WETH, 350, UNI, WETH, 0.004, 500)])
    expect(c.usd(UNI, at(400))).toBe(8)
    // UNI's own price is 51 blocks old at block 401, but the WETH price it goes through is 301 blocks old.
    expect(c.usd(UNI, at(401))).toBeNull()
    expect(c.quote(UNI, at(400))).toEqual({ usd: 8, pool: UNI_WETH, time: at(100) })
  })

  it('leaves a token with no trustworthy price unpriced: null, never 0', () => {
    const c = cacheOf([deepWeth(100, 2000), obs(UNI_WETH, 101, UNI, WETH, 0.004, 1)])
    const NEVER_SEEN = '0x000000000000000000000000000000000000dead' as Address
    for (const token of [UNI, NEVER_SEEN]) {
      expect(c.usd(token)).toBeNull()
      expect(c.usd(token, at(101))).toBeNull()
      expect(c.quote(token, at(101))).toBeNull()
    }
    expect(c.usd(USDC, at(101))).toBe(1)
  })

  it('prices a token from a Chainlink USD observation without a depth, ahead of pools while fresh', () => {
    const oracle = (block: number, usd: number): PriceObservation => obs(ETH_USD_AGGREGATOR, block, WETH, CHAINLINK_USD, usd, null)
    const c = cacheOf([oracle(100, 1319.90865773)])
    expect(c.usd(WETH, at(100))).toBe(1319.90865773)
    expect(c.usd(CHAINLINK_USD)).toBeNull()
    // A deep pool trades later: the fresh oracle still prices WETH, and values the UNI pool's WETH side.
    c.observe(deepWeth(101, 1320))
    c.observe(obs(UNI_WETH, 102, UNI, WETH, 0.004, 500))
    expect(c.quote(WETH, at(102))).toEqual({ usd: 1319.90865773, pool: ETH_USD_AGGREGATOR, time: at(100) })
    expect(c.usd(UNI, at(102))).toBe(0.004 * 1319.90865773)
    // Once the oracle is stale, the deep pool prices WETH.
    expect(c.usd(WETH, at(401))).toBe(1320)
  })

  it('round-trips through JSON exactly', () => {
    const c = cacheOf([
      obs(ETH_USD_AGGREGATOR, 99, WETH, CHAINLINK_USD, 1999.5, null),
      deepWeth(100, 2000),
      obs(MID, 101, WETH, USDC, 2001.25, 123_456.789),
      obs(UNI_WETH, 102, UNI, WETH, 0.004, 500),
    ])
    const text = JSON.stringify(c.toJSON())
    const back = PriceCache.fromJSON(pricing, JSON.parse(text) as PriceCacheJson)
    expect(JSON.stringify(back.toJSON())).toBe(text)
    expect(back.prices).toEqual(c.prices)
    for (const token of [WETH, UNI]) expect(back.quote(token, at(102))).toEqual(c.quote(token, at(102)))
  })

  it('reads the format written before the guards as time 0 and depth unknown', () => {
    const legacy: PriceCacheJson = {
      [UNI]: { ratio: 0.004, via: WETH, block: '101', pool: UNI_WETH },
      [WETH]: { ratio: 3000, via: null, block: '100', pool: DEEP },
    }
    const c = PriceCache.fromJSON(pricing, legacy)
    expect(c.prices.get(WETH)).toEqual([{ ratio: 3000, via: null, block: 100n, pool: DEEP, time: 0, depthUsd: null, oracle: false }])
    // Old callers (no now) see the old prices; with a now they are stale.
    expect(c.usd(WETH)).toBe(3000)
    expect(c.usd(UNI)).toBe(0.004 * 3000)
    expect(c.usd(WETH, at(100))).toBeNull()
    // The first trusted observation drops the old price: at its block time, time 0 is long stale.
    c.observe(obs(MID, 102, WETH, USDC, 2000, 60_000))
    expect(c.usd(WETH)).toBe(2000)
    expect(c.prices.get(WETH)!.map((e) => e.pool)).toEqual([MID])
  })

  it('is a pure function of its observations: same input, same JSON, across a restart too', () => {
    const run = (): PriceObservation[] => {
      seq = 0
      const out: PriceObservation[] = []
      for (let b = 100; b < 1_000; b += 7) {
        out.push(deepWeth(b, 2000 + (b % 13)))
        out.push(obs(MID, b + 1, WETH, USDC, 2001 + (b % 5), 40_000 + 1_000 * (b % 30)))
        out.push(obs(THIN, b + 2, WETH, USDC, 20_000, 1_000))
        out.push(obs(UNI_WETH, b + 3, UNI, WETH, 0.004 + (b % 3) / 10_000, b % 2 === 0 ? 500 : 5))
        if (b % 3 === 0) out.push(obs(ETH_USD_AGGREGATOR, b + 4, WETH, CHAINLINK_USD, 1999 + (b % 7) / 8, null))
      }
      return out
    }
    const a = run()
    const once = JSON.stringify(cacheOf(a).toJSON())
    expect(JSON.stringify(cacheOf(run()).toJSON())).toBe(once)
    // Stopped halfway, saved, loaded, and continued from a clone: the same cache.
    const half = Math.floor(a.length / 2)
    const saved = JSON.stringify(cacheOf(a.slice(0, half)).toJSON())
    const resumed = PriceCache.fromJSON(pricing, JSON.parse(saved) as PriceCacheJson).clone()
    for (const o of a.slice(half)) resumed.observe(o)
    expect(JSON.stringify(resumed.toJSON())).toBe(once)
  })

  it('refuses guards that cannot work, naming the field', () => {
    expect(() => new PriceCache(pricing, undefined, { minDepthUsd: -1 })).toThrow(ConfigError)
    expect(() => new PriceCache(pricing, undefined, { minDepthUsd: -1 })).toThrow(/field priceGuards\.minDepthUsd/)
    expect(() => new PriceCache(pricing, undefined, { maxAgeSeconds: 0 })).toThrow(/field priceGuards\.maxAgeSeconds/)
    expect(new PriceCache(pricing).guards).toEqual({ minDepthUsd: 50_000, maxAgeSeconds: 3_600 })
  })
})
