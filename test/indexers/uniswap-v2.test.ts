import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { V2_PAIR_CREATED_TOPIC, V2_SWAP_TOPIC, V2_SYNC_TOPIC, uniswapV2Abi } from '../../indexers/uniswap-v2/abi.ts'
import { uniswapV2 } from '../../indexers/uniswap-v2/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { encodeLog } from '../setup/logs.ts'

const PAIR = '0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc' as Address // USDC/WETH on mainnet
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const ROUTER = '0x7a250d5630b4cf539739df2c5dacb4c659f2488d' as Address
const TRADER = '0x1111111111111111111111111111111111111111' as Address
const pool: PoolInfo = { chainId: 1, dex: { family: 'uniswap-v2', name: 'uniswap-v2' }, address: PAIR, token0: USDC, token1: WETH, fee: null, createdBlock: 10008355n }
const tokens = new Map<Address, TokenInfo>([
  [USDC, { chainId: 1, address: USDC, decimals: 6, symbol: 'USDC' }],
  [WETH, { chainId: 1, address: WETH, decimals: 18, symbol: 'WETH' }],
])
const ctx = (txFrom: Map<Hex, Address>): DecodeContext => ({ chainId: 1, token: (a) => tokens.get(a), txFrom: (h) => txFrom.get(h), blockTime: () => 1_700_000_000 })

describe('uniswap-v2 family', () => {
  it('has the event selectors of the Uniswap V2 pair and factory', () => {
    expect(V2_SWAP_TOPIC).toBe('0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822')
    expect(V2_SYNC_TOPIC).toBe('0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1')
    expect(V2_PAIR_CREATED_TOPIC).toBe('0x0d3648bd0f6ba80134a33ba9275ac585d9d315f0ad8355cddefde31afa28d0e9')
  })

  it('decodes PairCreated into a pool with its tokens', () => {
    const log = encodeLog({ abi: uniswapV2Abi, eventName: 'PairCreated', args: { token0: USDC, token1: WETH, pair: PAIR, '': 2n }, address: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f', blockNumber: 10008355n })
    const p = uniswapV2.decodePoolCreated(log, pool.dex, 1)
    expect(p).toEqual({ ...pool })
  })

  it('decodes Sync + Swap into a swap carrying the reserves and a reserve price, to the wei', () => {
    const sync = encodeLog({ abi: uniswapV2Abi, eventName: 'Sync', args: { reserve0: 30_000_000_000_000n, reserve1: 10_000n * 10n ** 18n }, address: PAIR, logIndex: 4 })
    const swap = encodeLog({
      abi: uniswapV2Abi,
      eventName: 'Swap',
      args: { sender: ROUTER, amount0In: 3_000_123_456n, amount1In: 0n, amount0Out: 0n, amount1Out: 999_999_999_999_999_999n, to: TRADER },
      address: PAIR,
      logIndex: 5,
      txHash: sync.transactionHash,
    })
    const r = decodeRange([sync, swap], new Map([[PAIR, pool]]), ctx(new Map([[swap.transactionHash, TRADER]])))
    expect(r.rejected).toEqual([])
    expect(r.swaps).toHaveLength(1)
    const s = r.swaps[0]!
    expect(s.tokenIn).toBe(USDC)
    expect(s.tokenOut).toBe(WETH)
    expect(s.amountIn).toBe(3_000_123_456n)
    expect(s.amountOut).toBe(999_999_999_999_999_999n)
    expect(s.trader).toBe(TRADER)
    expect(s.sender).toBe(ROUTER)
    expect(s.recipient).toBe(TRADER)
    expect(s.reserve0).toBe(30_000_000_000_000n)
    expect(s.reserve1).toBe(10_000n * 10n ** 18n)
    expect(s.decimalsIn).toBe(6)
    expect(s.decimalsOut).toBe(18)
    expect(r.prices).toHaveLength(1)
    // 10,000 WETH per 30,000,000 USDC: 1 USDC = 1/3000 WETH.
    expect(r.prices[0]!.base).toBe(USDC)
    expect(r.prices[0]!.quote).toBe(WETH)
    expect(r.prices[0]!.price).toBeCloseTo(1 / 3000, 15)
    expect(r.prices[0]!.quoteDepth).toBe(10_000)
  })

  it('takes the pool side from net flows when a swap both receives and pays a token', () => {
    const swap = encodeLog({
      abi: uniswapV2Abi,
      eventName: 'Swap',
      args: { sender: ROUTER, amount0In: 500n, amount1In: 7n, amount0Out: 0n, amount1Out: 100n, to: TRADER },
      address: PAIR,
    })
    const r = decodeRange([swap], new Map([[PAIR, pool]]), ctx(new Map([[swap.transactionHash, TRADER]])))
    expect(r.swaps[0]).toMatchObject({ tokenIn: USDC, amountIn: 500n, tokenOut: WETH, amountOut: 93n })
  })

  it('keeps an undecodable Swap as rejected with an error naming chain, block, tx and log', () => {
    const good = encodeLog({ abi: uniswapV2Abi, eventName: 'Swap', args: { sender: ROUTER, amount0In: 1n, amount1In: 0n, amount0Out: 0n, amount1Out: 1n, to: TRADER }, address: PAIR, blockNumber: 123n, logIndex: 9 })
    const bad = { ...good, data: good.data.slice(0, 2 + 64 * 3) as Hex }
    const r = decodeRange([bad], new Map([[PAIR, pool]]), ctx(new Map([[bad.transactionHash, TRADER]])))
    expect(r.swaps).toEqual([])
    expect(r.rejected).toHaveLength(1)
    const err = r.rejected[0]!.error
    expect(err).toBeInstanceOf(DecodeError)
    expect(err.message.split('\n')[0]).toBe(`undecodable Swap (chain 1, block 123, tx ${bad.transactionHash}, log 9, pool ${PAIR})`)
  })
})

/** One ABI word of `v`, two's complement for a negative value (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')
const TWO_255 = 57896044618658097711785492504343953926634992332820282019728792003956564819968n
const MAX_UINT256 = 115792089237316195423570985008687907853269984665640564039457584007913129639935n

describe('uniswap-v2 amounts no pair can hold', () => {
  /** A Swap whose four data words are `amounts` (amount0In, amount1In, amount0Out, amount1Out), as a probe would craft it. */
  const swapWith = (amounts: [bigint, bigint, bigint, bigint], logIndex: number): RawLog => ({
    ...encodeLog({ abi: uniswapV2Abi, eventName: 'Swap', args: { sender: ROUTER, amount0In: 0n, amount1In: 0n, amount0Out: 0n, amount1Out: 0n, to: TRADER }, address: PAIR, logIndex }),
    data: `0x${amounts.map(word).join('')}`,
  })
  const firstLines = (r: ReturnType<typeof decodeRange>) => r.rejected.map((x) => x.error.message.split('\n')[0])

  it('rejects a Swap amount of 2^255, 2^256 − 1 or 2^112 into rejected, naming chain, block, tx, log, pool, the field and its value', () => {
    const a = swapWith([TWO_255, 0n, 0n, 1_000n], 5)
    const b = swapWith([1_000n, 0n, 0n, MAX_UINT256], 6)
    const c = swapWith([0n, 2n ** 112n, 1n, 0n], 7)
    const r = decodeRange([a, b, c], new Map([[PAIR, pool]]), ctx(new Map([a, b, c].map((l) => [l.transactionHash, TRADER]))))
    expect(r.swaps).toEqual([])
    expect(r.prices).toEqual([])
    expect(firstLines(r)).toEqual([
      `Swap amount0In 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^112 (a Uniswap V2 pair's reserves are uint112) (chain 1, block 100, tx ${a.transactionHash}, log 5, pool ${PAIR})`,
      `Swap amount1Out 115792089237316195423570985008687907853269984665640564039457584007913129639935 is out of range: not below 2^112 (a Uniswap V2 pair's reserves are uint112) (chain 1, block 100, tx ${b.transactionHash}, log 6, pool ${PAIR})`,
      `Swap amount1In 5192296858534827628530496329220096 is out of range: not below 2^112 (a Uniswap V2 pair's reserves are uint112) (chain 1, block 100, tx ${c.transactionHash}, log 7, pool ${PAIR})`,
    ])
    expect(r.rejected.map((x) => x.log)).toEqual([a, b, c])
  })

  it('decodes amounts of 2^112 − 1, the largest a uint112 reserve holds', () => {
    const s = swapWith([2n ** 112n - 1n, 0n, 0n, 2n ** 112n - 2n], 5)
    const r = decodeRange([s], new Map([[PAIR, pool]]), ctx(new Map([[s.transactionHash, TRADER]])))
    expect(r.rejected).toEqual([])
    expect(r.swaps[0]).toMatchObject({ tokenIn: USDC, amountIn: 5192296858534827628530496329220095n, tokenOut: WETH, amountOut: 5192296858534827628530496329220094n })
  })

  it('rejects a Sync reserve of 2^255 (no uint112), and takes no price from it', () => {
    const sync: RawLog = { ...encodeLog({ abi: uniswapV2Abi, eventName: 'Sync', args: { reserve0: 1n, reserve1: 1n }, address: PAIR, logIndex: 4 }), data: `0x${word(10n ** 12n)}${word(TWO_255)}` }
    const r = decodeRange([sync], new Map([[PAIR, pool]]), ctx(new Map()))
    expect(r.prices).toEqual([])
    expect(firstLines(r)).toEqual([
      `Sync reserve1 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^112 (a Uniswap V2 pair's reserves are uint112) (chain 1, block 100, tx ${sync.transactionHash}, log 4, pool ${PAIR})`,
    ])
  })
})
