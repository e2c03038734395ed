import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { V3_POOL_CREATED_TOPIC, V3_SWAP_TOPIC, uniswapV3Abi } from '../../indexers/uniswap-v3/abi.ts'
import { uniswapV3 } from '../../indexers/uniswap-v3/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { decodeRange } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { encodeLog } from '../setup/logs.ts'

const POOL = '0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640' as Address // USDC/WETH 0.05% on mainnet
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const ROUTER = '0xe592427a0aece92de3edee1f18e0157c05861564' as Address
const TRADER = '0x2222222222222222222222222222222222222222' as Address
const pool: PoolInfo = { chainId: 1, dex: { family: 'uniswap-v3', name: 'uniswap-v3' }, address: POOL, token0: USDC, token1: WETH, fee: 500, createdBlock: 12376729n }
const tokens = new Map<Address, TokenInfo>([
  [USDC, { chainId: 1, address: USDC, decimals: 6, symbol: 'USDC' }],
  [WETH, { chainId: 1, address: WETH, decimals: 18, symbol: 'WETH' }],
])
const ctx = (txFrom: Map<Hex, Address>): DecodeContext => ({ chainId: 1, token: (a) => tokens.get(a), txFrom: (h) => txFrom.get(h), blockTime: () => 1_700_000_000 })

describe('uniswap-v3 family', () => {
  it('has the event selectors of the Uniswap V3 pool and factory', () => {
    expect(V3_SWAP_TOPIC).toBe('0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67')
    expect(V3_POOL_CREATED_TOPIC).toBe('0x783cca1c0412dd0d695e784568c96da2e9c22ff989357a2e8b1d9b2b4e6b7118')
  })

  it('decodes PoolCreated with its fee', () => {
    const log = encodeLog({ abi: uniswapV3Abi, eventName: 'PoolCreated', args: { token0: USDC, token1: WETH, fee: 500, tickSpacing: 10, pool: POOL }, address: '0x1f98431c8ad98523631ae4a59f267346ea31f984', blockNumber: 12376729n })
    expect(uniswapV3.decodePoolCreated(log, pool.dex, 1)).toEqual(pool)
  })

  it('decodes a Swap with signed amounts from the pool side, and its sqrtPriceX96 price', () => {
    // Pool receives 1 WETH (amount1 > 0) and pays 2,999.5 USDC (amount0 < 0); negative tick.
    const sqrtPriceX96 = 1446501726624926496477173928077148n // ≈ 3000 USDC per WETH
    const swap = encodeLog({
      abi: uniswapV3Abi,
      eventName: 'Swap',
      args: { sender: ROUTER, recipient: TRADER, amount0: -2_999_500_000n, amount1: 10n ** 18n, sqrtPriceX96, liquidity: 12_345_678_901_234_567n, tick: -195_000 },
      address: POOL,
      logIndex: 7,
    })
    const r = decodeRange([swap], new Map([[POOL, pool]]), ctx(new Map([[swap.transactionHash, TRADER]])))
    expect(r.swaps).toHaveLength(1)
    expect(r.swaps[0]).toMatchObject({
      tokenIn: WETH,
      amountIn: 10n ** 18n,
      tokenOut: USDC,
      amountOut: 2_999_500_000n,
      decimalsIn: 18,
      decimalsOut: 6,
      sqrtPriceX96,
      liquidity: 12_345_678_901_234_567n,
      tick: -195_000,
      trader: TRADER,
      sender: ROUTER,
      recipient: TRADER,
    })
    const p = r.prices[0]!
    expect(p.base).toBe(USDC)
    expect(p.quote).toBe(WETH)
    // (sqrtPriceX96 / 2^96)^2 · 10^(6−18) computed exactly with Python's Fraction: 1/3000 WETH per USDC
    // (3000 USDC per WETH), to the float's precision.
    expect(p.price).toBeCloseTo(1 / 3000, 18)
    expect(1 / p.price).toBeCloseTo(3000, 9)
    // Depth: token1's in-range virtual reserve L·sqrtPriceX96 / 2^96 = 225400227397392204085 wei
    // (floored; Python: (L * s) >> 96), in WETH: 225.4002273973922 (the exact Fraction rounds to the same float).
    expect(p.quoteDepth).toBe(225.4002273973922)
  })

  it('takes no price from a swap in a pool without liquidity (free to push to any price)', () => {
    const swap = encodeLog({
      abi: uniswapV3Abi,
      eventName: 'Swap',
      args: { sender: ROUTER, recipient: TRADER, amount0: 0n, amount1: 0n, sqrtPriceX96: 2n ** 150n, liquidity: 0n, tick: 500_000 },
      address: POOL,
    })
    const r = decodeRange([swap], new Map([[POOL, pool]]), ctx(new Map([[swap.transactionHash, TRADER]])))
    expect(r.prices).toEqual([])
    expect(r.swaps).toEqual([])
  })
})


/** One ABI word of `v`, two's complement for a negative value (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')
const TWO_255 = 57896044618658097711785492504343953926634992332820282019728792003956564819968n
const MAX_UINT256 = 115792089237316195423570985008687907853269984665640564039457584007913129639935n
const SQRT_3000 = 1446501726624926496477173928077148n

describe('uniswap-v3 amounts no pool can produce', () => {
  /** A Swap with these raw amount words (as a probe crafts them) and a real price, liquidity and tick after it. */
  const swapWith = (amount0: bigint, amount1: bigint, logIndex: number): RawLog => ({
    ...encodeLog({ abi: uniswapV3Abi, eventName: 'Swap', args: { sender: ROUTER, recipient: TRADER, amount0: 0n, amount1: 0n, sqrtPriceX96: SQRT_3000, liquidity: 10n ** 18n, tick: -195_000 }, address: POOL, logIndex }),
    data: `0x${[amount0, amount1, SQRT_3000, 10n ** 18n, -195_000n].map(word).join('')}`,
  })
  const decode = (...logs: RawLog[]) => decodeRange(logs, new Map([[POOL, pool]]), ctx(new Map(logs.map((l) => [l.transactionHash, TRADER]))))
  const where = (l: RawLog) => `(chain 1, block 100, tx ${l.transactionHash}, log ${l.logIndex}, pool ${POOL})`

  it("rejects the words 2^255 and 2^256 − 1 (as int256: -2^255 and -1) into rejected instead of dropping the log silently", () => {
    const probe = swapWith(TWO_255, MAX_UINT256, 3)
    const r = decode(probe)
    // Before: no swap, no rejection, and a price taken from the log: the trade vanished silently.
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `Swap amount0 -57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not an int256 above -2^255 ${where(probe)}`,
    ])
    expect(r.rejected[0]?.log).toBe(probe)
    expect(r.swaps).toEqual([])
    expect(r.prices).toEqual([])
  })

  it('rejects a pool paying 2^255 of a token for a real amount in', () => {
    const probe = swapWith(TWO_255, 10n ** 18n, 4)
    const r = decode(probe)
    expect(r.swaps).toEqual([])
    expect(r.rejected.map((x) => x.error.shortMessage)).toEqual([
      'Swap amount0 -57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not an int256 above -2^255',
    ])
  })

  it('rejects flows no swap has: both in, both out (2^256 − 1 = -1 and -2,999.5 USDC), out with nothing in', () => {
    const bothIn = swapWith(3_000_000_000n, 10n ** 18n, 5)
    const bothOut = swapWith(-2_999_500_000n, MAX_UINT256, 6)
    const outOnly = swapWith(0n, -(10n ** 18n), 7)
    const r = decode(bothIn, bothOut, outOnly)
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `Swap amount0 3000000000 and amount1 1000000000000000000: the pool received both tokens, a swap pays one out ${where(bothIn)}`,
      `Swap amount0 -2999500000 and amount1 -1: the pool paid both tokens, a swap takes one in ${where(bothOut)}`,
      `Swap amount0 0 and amount1 -1000000000000000000: the pool paid a token and received nothing ${where(outOnly)}`,
    ])
    expect(r.swaps).toEqual([])
    expect(r.prices).toEqual([])
  })

  it('still decodes a dust swap that paid nothing out, and the largest amounts an int256 cast gives', () => {
    const dust = swapWith(1n, 0n, 8)
    const edge = swapWith(TWO_255 - 1n, -(TWO_255 - 1n), 9)
    const r = decode(dust, edge)
    expect(r.rejected).toEqual([])
    expect(r.swaps.map((s) => [s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([
      [USDC, 1n, WETH, 0n],
      [USDC, TWO_255 - 1n, WETH, TWO_255 - 1n],
    ])
  })
})
