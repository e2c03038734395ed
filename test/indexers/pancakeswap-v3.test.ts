import { readFileSync } from 'node:fs'
import { decodeEventLog, encodeEventTopics, getAddress, type Address, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  PANCAKE_V3_POOL_CREATED_TOPIC,
  PANCAKE_V3_SWAP_TOPIC,
  PANCAKE_V3_SWAP_WORDS,
  pancakeswapV3Abi,
} from '../../indexers/pancakeswap-v3/abi.ts'
import { pancakeswapV3 } from '../../indexers/pancakeswap-v3/family.ts'
import { V3_POOL_CREATED_TOPIC, V3_SWAP_TOPIC, uniswapV3Abi } from '../../indexers/uniswap-v3/abi.ts'
import { uniswapV3 } from '../../indexers/uniswap-v3/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange, poolLogs } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { families } from '../../src/indexer/families.ts'
import { encodeLog } from '../setup/logs.ts'

type FixtureLog = {
  address: Address
  topics: Hex[]
  data: Hex
  blockNumber: string | null
  blockHash: Hex | null
  transactionHash: Hex | null
  transactionIndex: number | null
  logIndex: number | null
}
type SwapFixture = {
  kind: 'real'
  source: string
  chainId: number
  pool: { address: Address; factory: Address; token0: { address: Address; decimals: number }; token1: { address: Address; decimals: number }; fee: number }
  log: FixtureLog
  decoded: Record<'sender' | 'recipient' | 'amount0' | 'amount1' | 'sqrtPriceX96' | 'liquidity' | 'protocolFeesToken0' | 'protocolFeesToken1', string> & { tick: number }
  normalized: { tokenIn: Address; amountIn: string; tokenOut: Address; amountOut: string; quoteDepthWei: string }
}
type PoolCreatedFixture = {
  kind: 'constructed'
  chainId: number
  log: FixtureLog
  decoded: { token0: Address; token1: Address; fee: number; tickSpacing: number; pool: Address }
}

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/pancakeswap-v3/${name}`, import.meta.url), 'utf8')) as T
const swapFx = fixture<SwapFixture>('swap-bsc-usdt-wbnb.json')
const createdFx = fixture<PoolCreatedFixture>('pool-created-bsc-usdt-wbnb.json')

/** The fixture's log as a RawLog; the constructed PoolCreated has no real block or tx, so fill-ins stand for them. */
function rawLog(l: FixtureLog): RawLog {
  return {
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: BigInt(l.blockNumber ?? 1),
    blockHash: l.blockHash ?? `0x${'0'.repeat(64)}`,
    transactionHash: l.transactionHash ?? `0x${'0'.repeat(64)}`,
    transactionIndex: l.transactionIndex ?? 0,
    logIndex: l.logIndex ?? 0,
  }
}

const CHAIN = swapFx.chainId
const POOL = swapFx.pool.address
const USDT = swapFx.pool.token0.address
const WBNB = swapFx.pool.token1.address
const dex = { family: 'pancakeswap-v3', name: 'pancakeswap-v3' } as const
const pool: PoolInfo = { chainId: CHAIN, dex, address: POOL, token0: USDT, token1: WBNB, fee: 100, createdBlock: 1n }
const tokens = new Map<Address, TokenInfo>([
  [USDT, { chainId: CHAIN, address: USDT, decimals: 18, symbol: 'USDT' }],
  [WBNB, { chainId: CHAIN, address: WBNB, decimals: 18, symbol: 'WBNB' }],
])
// The transaction's sender is not in the log (it comes from the block): a stand-in, not fixture data.
const TRADER = '0x2222222222222222222222222222222222222222' as Address
const BLOCK_TIME = 1_790_000_000
const ctx: DecodeContext = { chainId: CHAIN, token: (a) => tokens.get(a), txFrom: () => TRADER, blockTime: () => BLOCK_TIME }
const swapLog = rawLog(swapFx.log)

/** Runs `f`, expecting a DecodeError, and returns it. */
function decodeErrorOf(f: () => unknown): DecodeError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError)
    return e as DecodeError
  }
  throw new Error('expected a DecodeError, nothing was thrown')
}

describe('pancakeswap-v3 family', () => {
  it('has the selectors of the PancakeSwap V3 Swap and PoolCreated signatures', () => {
    expect(PANCAKE_V3_SWAP_TOPIC).toBe('0x19b47279256b2a23a1665c810c8d55a1758940ee09377d4f8d26497a3577dc83')
    expect(encodeEventTopics({ abi: pancakeswapV3Abi, eventName: 'Swap' })[0]).toBe(PANCAKE_V3_SWAP_TOPIC)
    // The factory event is Uniswap V3's, byte for byte; the Swap is not.
    expect(PANCAKE_V3_POOL_CREATED_TOPIC).toBe(V3_POOL_CREATED_TOPIC)
    expect(PANCAKE_V3_SWAP_TOPIC).not.toBe(V3_SWAP_TOPIC)
    expect(pancakeswapV3.poolTopics).toEqual([PANCAKE_V3_SWAP_TOPIC])
    expect(families['pancakeswap-v3']).toBe(pancakeswapV3)
  })

  it('the real BSC fixture decodes with viem to its hand-checked values, protocol fees included', () => {
    expect(swapFx.log.topics[0]).toBe(PANCAKE_V3_SWAP_TOPIC)
    expect((swapFx.log.data.length - 2) / 64).toBe(PANCAKE_V3_SWAP_WORDS)
    const { eventName, args } = decodeEventLog({ abi: pancakeswapV3Abi, eventName: 'Swap', topics: swapFx.log.topics as [Hex, ...Hex[]], data: swapFx.log.data })
    expect(eventName).toBe('Swap')
    expect(args).toEqual({
      sender: getAddress('0x7eded5ce04fd9bb6d125a0a470cc3ffcd972e182'),
      recipient: getAddress('0x7eded5ce04fd9bb6d125a0a470cc3ffcd972e182'),
      amount0: 2_291_588_381_489_685_660n,
      amount1: -3_897_477_319_171_741n,
      sqrtPriceX96: 3_267_569_145_006_787_006_069_833_585n,
      liquidity: 3_707_016_957_626_484_905_606_276n,
      tick: -63_769,
      protocolFeesToken0: 75_622_416_589_159n,
      protocolFeesToken1: 0n,
    })
    const d = swapFx.decoded
    expect([args.amount0, args.amount1, args.sqrtPriceX96, args.liquidity, args.protocolFeesToken0, args.protocolFeesToken1]).toEqual(
      [d.amount0, d.amount1, d.sqrtPriceX96, d.liquidity, d.protocolFeesToken0, d.protocolFeesToken1].map(BigInt),
    )
    expect(args.tick).toBe(d.tick)
    // The 0.01% fee tier with PancakeSwap's 33% protocol share: 0.0033% of the amount in, to the wei.
    expect(args.protocolFeesToken0).toBe((args.amount0 * 33n) / 1_000_000n)
  })

  it('decodes the real BSC Swap: USDT in, WBNB out, to the wei, with the pool state after it', () => {
    const r = decodeRange([swapLog], new Map([[POOL, pool]]), ctx)
    expect(r.rejected).toEqual([])
    expect(r.swaps).toEqual([
      {
        chainId: 56,
        dex,
        pool: POOL,
        blockNumber: 105_495_649n,
        blockHash: '0x7c92e97f57ff8f490095730746b0b90a7c9e035bcf94c800f50b56fb18986e97',
        blockTime: BLOCK_TIME,
        txHash: '0x858761c0e4a61c32c5f6bd133496217fa5eda316337b23d88702fea10bb95111',
        logIndex: 329,
        trader: TRADER,
        sender: '0x7eded5ce04fd9bb6d125a0a470cc3ffcd972e182',
        recipient: '0x7eded5ce04fd9bb6d125a0a470cc3ffcd972e182',
        // amount0 > 0: the pool received USDT; amount1 < 0: it paid WBNB.
        tokenIn: USDT,
        tokenOut: WBNB,
        amountIn: 2_291_588_381_489_685_660n,
        amountOut: 3_897_477_319_171_741n,
        decimalsIn: 18,
        decimalsOut: 18,
        sqrtPriceX96: 3_267_569_145_006_787_006_069_833_585n,
        liquidity: 3_707_016_957_626_484_905_606_276n,
        tick: -63_769,
      },
    ])
    expect(r.swaps[0]).toMatchObject({ tokenIn: swapFx.normalized.tokenIn, tokenOut: swapFx.normalized.tokenOut, amountIn: BigInt(swapFx.normalized.amountIn), amountOut: BigInt(swapFx.normalized.amountOut) })
    const p = r.prices[0]!
    expect(r.prices).toHaveLength(1)
    expect(p).toMatchObject({ chainId: 56, pool: POOL, base: USDT, quote: WBNB, blockNumber: 105_495_649n, logIndex: 329 })
    // (sqrtPriceX96 / 2^96)^2 with Python's Fraction: 0.0017009455266926085 WBNB per USDT (≈ 587.908 USDT per WBNB).
    expect(p.price).toBeCloseTo(0.0017009455266926085, 15)
    // L · sqrtPriceX96 >> 96 = 152886724194523711331535 wei of WBNB (Python), in whole WBNB.
    expect(p.quoteDepth).toBe(Number(BigInt(swapFx.normalized.quoteDepthWei)) / 1e18)
  })

  it('decodes PoolCreated from the factory (constructed log, real pool facts)', () => {
    expect(createdFx.kind).toBe('constructed')
    const log = rawLog(createdFx.log)
    expect(pancakeswapV3.decodePoolCreated(log, dex, CHAIN)).toEqual({
      chainId: 56,
      dex,
      address: createdFx.decoded.pool,
      token0: createdFx.decoded.token0,
      token1: createdFx.decoded.token1,
      fee: 100,
      createdBlock: 1n,
    })
    // An independent encoder gives the fixture's bytes.
    const encoded = encodeLog({ abi: pancakeswapV3Abi, eventName: 'PoolCreated', args: createdFx.decoded, address: createdFx.log.address })
    expect(encoded.topics).toEqual(createdFx.log.topics)
    expect(encoded.data).toBe(createdFx.log.data)
  })

  it('does not decode a Uniswap V3 Swap, and Uniswap V3 does not decode a PancakeSwap V3 Swap', () => {
    const uniSwap = encodeLog({
      abi: uniswapV3Abi,
      eventName: 'Swap',
      args: { sender: TRADER, recipient: TRADER, amount0: 10n ** 18n, amount1: -(10n ** 15n), sqrtPriceX96: 2n ** 96n, liquidity: 10n ** 20n, tick: 0 },
      address: POOL,
    })
    expect(pancakeswapV3.decodePoolLog(uniSwap, pool, ctx, new Map())).toEqual({})
    expect(poolLogs([uniSwap], new Map([[POOL, pool]]))).toEqual([])
    expect(decodeRange([uniSwap], new Map([[POOL, pool]]), ctx)).toEqual({ swaps: [], prices: [], rejected: [] })

    const uniPool: PoolInfo = { ...pool, dex: { family: 'uniswap-v3', name: 'uniswap-v3' } }
    expect(uniswapV3.decodePoolLog(swapLog, uniPool, ctx, new Map())).toEqual({})
    expect(poolLogs([swapLog], new Map([[POOL, uniPool]]))).toEqual([])
  })

  describe('malformed Swap logs throw a DecodeError naming chain, block, tx and log index', () => {
    const cases: [string, RawLog][] = [
      ["Uniswap V3's 5 words", { ...swapLog, data: swapLog.data.slice(0, 2 + 5 * 64) as Hex }],
      ['6 words', { ...swapLog, data: swapLog.data.slice(0, 2 + 6 * 64) as Hex }],
      ['8 words', { ...swapLog, data: `${swapLog.data}${'0'.repeat(64)}` }],
      ['no data', { ...swapLog, data: '0x' }],
      ['a partial word', { ...swapLog, data: swapLog.data.slice(0, -2) as Hex }],
      ['non-hex data', { ...swapLog, data: `${swapLog.data.slice(0, -1)}z` as Hex }],
      ['no recipient topic', { ...swapLog, topics: swapLog.topics.slice(0, 2) }],
      ['no indexed topics', { ...swapLog, topics: swapLog.topics.slice(0, 1) }],
      ['an extra topic', { ...swapLog, topics: [...swapLog.topics, swapLog.topics[1]!] }],
      ['a short sender topic', { ...swapLog, topics: [swapLog.topics[0]!, '0x1234', swapLog.topics[2]!] }],
    ]
    it.each(cases)('%s', (_, log) => {
      const err = decodeErrorOf(() => pancakeswapV3.decodePoolLog(log, pool, ctx, new Map()))
      expect(err.shortMessage).toBe('undecodable Swap')
      expect(err.context).toMatchObject({ chainId: 56, block: 105_495_649n, tx: swapFx.log.transactionHash, logIndex: 329, pool: POOL })
      expect(err.message).toContain('chain 56')
      expect(err.message).toContain('block 105495649')
      expect(err.message).toContain(`tx ${swapFx.log.transactionHash}`)
      expect(err.message).toContain('log 329')
    })

    it('keeps the malformed log with its reason when decoding a range, never dropping it', () => {
      const bad = { ...swapLog, data: swapLog.data.slice(0, 2 + 5 * 64) as Hex }
      const r = decodeRange([bad], new Map([[POOL, pool]]), ctx)
      expect(r.swaps).toEqual([])
      expect(r.rejected).toHaveLength(1)
      expect(r.rejected[0]!.error).toBeInstanceOf(DecodeError)
      expect(r.rejected[0]!.log).toBe(bad)
    })
  })

  it('a malformed PoolCreated throws a DecodeError naming the chain, block and tx', () => {
    const log = { ...rawLog(createdFx.log), blockNumber: 7n, transactionHash: `0x${'ab'.repeat(32)}` as Hex, logIndex: 3 }
    for (const bad of [{ ...log, topics: log.topics.slice(0, 3) }, { ...log, data: log.data.slice(0, 66) as Hex }]) {
      const err = decodeErrorOf(() => pancakeswapV3.decodePoolCreated(bad, dex, CHAIN))
      expect(err.shortMessage).toBe('undecodable PoolCreated')
      expect(err.context).toMatchObject({ chainId: 56, block: 7n, tx: log.transactionHash, logIndex: 3 })
    }
  })
})
