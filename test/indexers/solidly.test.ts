import { readFileSync } from 'node:fs'
import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  AERODROME_POOL_CREATED_TOPIC,
  AERODROME_SWAP_TOPIC,
  SOLIDLY_SYNC_TOPIC,
  VELODROME_V1_PAIR_CREATED_TOPIC,
  VELODROME_V1_SWAP_TOPIC,
  aerodromeAbi,
  velodromeV1Abi,
} from '../../indexers/solidly/abi.ts'
import { aerodrome, velodromeV1 } from '../../indexers/solidly/family.ts'
import { V2_SWAP_TOPIC, V2_SYNC_TOPIC, uniswapV2Abi } from '../../indexers/uniswap-v2/abi.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { DexFamily, PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange, poolLogs } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { families } from '../../src/indexer/families.ts'
import { encodeLog } from '../setup/logs.ts'

/** A fixture in test/fixtures/solidly (see its `source`, `kind` and `note`). */
type Fixture = {
  source: string
  kind: string
  chainId: number
  family: DexFamily
  pool: { address: Address; token0: Address; token1: Address; stable: boolean }
  tokens: { address: Address; symbol: string; decimals: number }[]
  txFrom: Address
  log: Omit<RawLog, 'blockNumber'> & { blockNumber: string }
  expected: { tokenIn: Address; tokenOut: Address; amountIn: string; amountOut: string; decimalsIn: number; decimalsOut: number; sender: Address; recipient: Address }
}

const fixture = (name: string): Fixture => JSON.parse(readFileSync(new URL(`../fixtures/solidly/${name}.json`, import.meta.url), 'utf8')) as Fixture

const ROUTER = '0xcf77a3ba9a5ca399b7c97c74d54e5b1beb874e43' as Address
const TRADER = '0x1111111111111111111111111111111111111111' as Address
const WETH = '0x4200000000000000000000000000000000000006' as Address
const USDC = '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913' as Address // 6 decimals, Base
const USDBC = '0xd9aaec86b65d86f6a7b5b1b0c42ffa531710b6ca' as Address // 6 decimals, Base
const VOLATILE = '0x00000000000000000000000000000000000000b1' as Address
const STABLE = '0x00000000000000000000000000000000000000b2' as Address
const V1_PAIR = '0x00000000000000000000000000000000000000b3' as Address
const V2_PAIR = '0x00000000000000000000000000000000000000b4' as Address
const AERO_FACTORY = '0x420dd381b31aef6683db6b902084cb0ffece40da' as Address
const V1_FACTORY = '0x25cbddb98b35ab1ff77413456b31ec81a6b6b746' as Address

const aeroDex = { family: 'aerodrome', name: 'aerodrome' } as const
const v1Dex = { family: 'velodrome-v1', name: 'velodrome-v1' } as const
const volatilePool: PoolInfo = { chainId: 8453, dex: aeroDex, address: VOLATILE, token0: WETH, token1: USDBC, fee: null, stable: false, createdBlock: 3_200_000n }
const stablePool: PoolInfo = { chainId: 8453, dex: aeroDex, address: STABLE, token0: USDC, token1: USDBC, fee: null, stable: true, createdBlock: 3_200_000n }
const v1Pool: PoolInfo = { chainId: 8453, dex: v1Dex, address: V1_PAIR, token0: WETH, token1: USDBC, fee: null, stable: false, createdBlock: 3_200_000n }
const v2Pool: PoolInfo = { chainId: 8453, dex: { family: 'uniswap-v2', name: 'uniswap-v2' }, address: V2_PAIR, token0: WETH, token1: USDBC, fee: null, createdBlock: 3_200_000n }

const baseTokens = new Map<Address, TokenInfo>([
  [WETH, { chainId: 8453, address: WETH, decimals: 18, symbol: 'WETH' }],
  [USDC, { chainId: 8453, address: USDC, decimals: 6, symbol: 'USDC' }],
  [USDBC, { chainId: 8453, address: USDBC, decimals: 6, symbol: 'USDbC' }],
])
const ctx = (chainId: number, tokens: Map<Address, TokenInfo>, txFrom: Map<Hex, Address>): DecodeContext => ({
  chainId,
  token: (a) => tokens.get(a),
  txFrom: (h) => txFrom.get(h),
  blockTime: () => 1_693_300_000,
})
const baseCtx = (...logs: RawLog[]) => ctx(8453, baseTokens, new Map(logs.map((l) => [l.transactionHash, TRADER])))

/** The later Velodrome PairFactory (velodrome-finance/contracts IPairFactory.sol) indexes `stable`. */
const indexedPairCreatedAbi = [
  {
    type: 'event',
    name: 'PairCreated',
    inputs: [
      { name: 'token0', type: 'address', indexed: true },
      { name: 'token1', type: 'address', indexed: true },
      { name: 'stable', type: 'bool', indexed: true },
      { name: 'pair', type: 'address', indexed: false },
      { name: '', type: 'uint256', indexed: false },
    ],
  },
] as const

const aeroSwap = (args: { amount0In: bigint; amount1In: bigint; amount0Out: bigint; amount1Out: bigint }, address: Address, extra: { logIndex?: number; txHash?: Hex; blockNumber?: bigint } = {}) =>
  encodeLog({ abi: aerodromeAbi, eventName: 'Swap', args: { sender: ROUTER, to: TRADER, ...args }, address, ...extra })

describe('solidly families (velodrome-v1, aerodrome)', () => {
  it('has the event selectors of the Solidly pools and factories', () => {
    // keccak256 of the signatures in velodrome-finance/v1, velodrome-finance/contracts and aerodrome-finance/contracts.
    expect(AERODROME_SWAP_TOPIC).toBe('0xb3e2773606abfd36b5bd91394b3a54d1398336c65005baf7bf7a05efeffaf75b')
    expect(SOLIDLY_SYNC_TOPIC).toBe('0xcf2aa50876cdfbb541206f89af0ee78d44a2abf8d328e37fa4917f982149848a')
    expect(AERODROME_POOL_CREATED_TOPIC).toBe('0x2128d88d14c80cb081c1252a5acff7a264671bf199ce226b53788fb26065005e')
    expect(VELODROME_V1_PAIR_CREATED_TOPIC).toBe('0xc4805696c66d7cf352fc1d6bb633ad5ee82f6cb577c453024b6e0eb8306c6fc9')
    // Velodrome v1 kept Uniswap V2's Swap; its Sync (uint256) is a different event from V2's (uint112).
    expect(VELODROME_V1_SWAP_TOPIC).toBe(V2_SWAP_TOPIC)
    expect(SOLIDLY_SYNC_TOPIC).not.toBe(V2_SYNC_TOPIC)
    expect(velodromeV1.poolTopics).toEqual([V2_SWAP_TOPIC, SOLIDLY_SYNC_TOPIC])
    expect(aerodrome.poolTopics).toEqual([AERODROME_SWAP_TOPIC, SOLIDLY_SYNC_TOPIC])
  })

  it('is registered under its family names', () => {
    expect(families['velodrome-v1']).toBe(velodromeV1)
    expect(families.aerodrome).toBe(aerodrome)
    expect(velodromeV1.family).toBe('velodrome-v1')
    expect(aerodrome.family).toBe('aerodrome')
  })

  describe.each(['aerodrome-swap-weth-in', 'aerodrome-swap-usdbc-in', 'velodrome-v1-swap-op-in'])('fixture %s', (name) => {
    it('decodes to the trade Dune recorded, to the wei', () => {
      const f = fixture(name)
      expect(f.source).toMatch(/^duneanalytics\/spellbook /)
      const log: RawLog = { ...f.log, blockNumber: BigInt(f.log.blockNumber) }
      const pool: PoolInfo = { chainId: f.chainId, dex: { family: f.family, name: f.family }, address: f.pool.address, token0: f.pool.token0, token1: f.pool.token1, fee: null, stable: f.pool.stable, createdBlock: 0n }
      const tokens = new Map(f.tokens.map((t) => [t.address, { chainId: f.chainId, address: t.address, decimals: t.decimals, symbol: t.symbol }]))
      const r = decodeRange([log], new Map([[pool.address, pool]]), ctx(f.chainId, tokens, new Map([[log.transactionHash, f.txFrom]])))
      expect(r.rejected).toEqual([])
      expect(r.prices).toEqual([])
      expect(r.swaps).toEqual([
        {
          chainId: f.chainId,
          dex: { family: f.family, name: f.family },
          pool: f.pool.address,
          blockNumber: BigInt(f.log.blockNumber),
          blockHash: f.log.blockHash,
          blockTime: 1_693_300_000,
          txHash: f.log.transactionHash,
          logIndex: f.log.logIndex,
          trader: f.txFrom,
          sender: f.expected.sender,
          recipient: f.expected.recipient,
          tokenIn: f.expected.tokenIn,
          tokenOut: f.expected.tokenOut,
          amountIn: BigInt(f.expected.amountIn),
          amountOut: BigInt(f.expected.amountOut),
          decimalsIn: f.expected.decimalsIn,
          decimalsOut: f.expected.decimalsOut,
        },
      ])
    })
  })

  it('tells Velodrome v1, Aerodrome and Uniswap V2 logs apart by topic0 and the pool family', () => {
    const amounts = { amount0In: 10n ** 17n, amount1In: 0n, amount0Out: 0n, amount1Out: 170_841_539n }
    const v1Args = { sender: ROUTER, to: TRADER, ...amounts }
    const aero = aeroSwap(amounts, VOLATILE, { logIndex: 1 })
    const v1 = encodeLog({ abi: velodromeV1Abi, eventName: 'Swap', args: v1Args, address: V1_PAIR, logIndex: 2 })
    const v2 = encodeLog({ abi: uniswapV2Abi, eventName: 'Swap', args: v1Args, address: V2_PAIR, logIndex: 3 })
    // Logs of one family's layout emitted by another family's pool (or a look-alike contract).
    const aeroSwapFromV1 = aeroSwap(amounts, V1_PAIR, { logIndex: 4 })
    const v2SyncFromV1 = encodeLog({ abi: uniswapV2Abi, eventName: 'Sync', args: { reserve0: 1n, reserve1: 1n }, address: V1_PAIR, logIndex: 5 })
    const solidlySyncFromV2 = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 1n, reserve1: 1n }, address: V2_PAIR, logIndex: 6 })
    const v1SwapFromAero = encodeLog({ abi: velodromeV1Abi, eventName: 'Swap', args: v1Args, address: VOLATILE, logIndex: 7 })

    expect(aero.topics[0]).toBe(AERODROME_SWAP_TOPIC)
    expect(v1.topics[0]).toBe(V2_SWAP_TOPIC)
    expect(v1.data).toBe(v2.data)
    // Same Swap topic0 and data for v1 and V2: the pool's family decides how it is read.
    expect(velodromeV1.decodePoolLog(aeroSwapFromV1, v1Pool, baseCtx(aeroSwapFromV1), new Map())).toEqual({})
    expect(aerodrome.decodePoolLog(v1SwapFromAero, volatilePool, baseCtx(v1SwapFromAero), new Map())).toEqual({})

    const pools = new Map([volatilePool, v1Pool, v2Pool].map((p) => [p.address, p]))
    const all = [aero, v1, v2, aeroSwapFromV1, v2SyncFromV1, solidlySyncFromV2, v1SwapFromAero]
    expect(poolLogs(all, pools)).toEqual([aero, v1, v2])
    const r = decodeRange(poolLogs(all, pools), pools, baseCtx(...all))
    expect(r.rejected).toEqual([])
    expect(r.swaps.map((s) => [s.dex.family, s.pool, s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([
      ['aerodrome', VOLATILE, WETH, 10n ** 17n, USDBC, 170_841_539n],
      ['velodrome-v1', V1_PAIR, WETH, 10n ** 17n, USDBC, 170_841_539n],
      ['uniswap-v2', V2_PAIR, WETH, 10n ** 17n, USDBC, 170_841_539n],
    ])
  })

  it('carries the Sync reserves onto the Swap and prices a volatile pool by its reserves (constructed logs)', () => {
    const sync = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 1_000n * 10n ** 18n, reserve1: 1_708_000_000_000n }, address: VOLATILE, logIndex: 15 })
    const swap = aeroSwap({ amount0In: 10n ** 17n, amount1In: 0n, amount0Out: 0n, amount1Out: 170_841_539n }, VOLATILE, { logIndex: 16, txHash: sync.transactionHash })
    const r = decodeRange([sync, swap], new Map([[VOLATILE, volatilePool]]), baseCtx(swap))
    expect(r.rejected).toEqual([])
    expect(r.swaps).toHaveLength(1)
    expect(r.swaps[0]).toMatchObject({ tokenIn: WETH, amountIn: 10n ** 17n, tokenOut: USDBC, amountOut: 170_841_539n, sender: ROUTER, recipient: TRADER, trader: TRADER })
    expect(r.swaps[0]!.reserve0).toBe(1_000n * 10n ** 18n)
    expect(r.swaps[0]!.reserve1).toBe(1_708_000_000_000n)
    expect(r.prices).toHaveLength(1)
    // 1,708,000 USDbC per 1,000 WETH: 1 WETH = 1708 USDbC.
    expect(r.prices[0]).toMatchObject({ pool: VOLATILE, base: WETH, quote: USDBC, logIndex: 15, quoteDepth: 1_708_000 })
    expect(r.prices[0]!.price).toBeCloseTo(1708, 9)
  })

  it('does not carry a Sync of another transaction or not right before the Swap', () => {
    const sync = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 5n, reserve1: 7n }, address: VOLATILE, logIndex: 3 })
    const swap = aeroSwap({ amount0In: 1n, amount1In: 0n, amount0Out: 0n, amount1Out: 1n }, VOLATILE, { logIndex: 5, txHash: sync.transactionHash })
    const r = decodeRange([sync, swap], new Map([[VOLATILE, volatilePool]]), baseCtx(swap))
    expect(r.swaps[0]!.reserve0).toBeUndefined()
    expect(r.swaps[0]!.reserve1).toBeUndefined()
  })

  it("decodes a stable pool's Swap with its reserves but gives no price observation", () => {
    const sync = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 6_000_000_000_000n, reserve1: 4_000_000_000_000n }, address: STABLE, logIndex: 8 })
    const swap = aeroSwap({ amount0In: 0n, amount1In: 1_000_000_000n, amount0Out: 999_512_345n, amount1Out: 0n }, STABLE, { logIndex: 9, txHash: sync.transactionHash })
    const r = decodeRange([sync, swap], new Map([[STABLE, stablePool]]), baseCtx(swap))
    expect(r.rejected).toEqual([])
    expect(r.prices).toEqual([])
    expect(r.swaps[0]).toMatchObject({ tokenIn: USDBC, amountIn: 1_000_000_000n, tokenOut: USDC, amountOut: 999_512_345n, reserve0: 6_000_000_000_000n, reserve1: 4_000_000_000_000n })
  })

  it('gives no price observation for a pool whose stable flag is unknown (stored before pools.stable existed)', () => {
    const { stable: _stable, ...unknown } = volatilePool
    const sync = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 10n ** 18n, reserve1: 1_708_000_000n }, address: VOLATILE, logIndex: 1 })
    expect(aerodrome.decodePoolLog(sync, unknown, baseCtx(sync), new Map())).toEqual({})
    expect(aerodrome.decodePoolLog(sync, volatilePool, baseCtx(sync), new Map()).price?.price).toBeCloseTo(1708, 9)
  })

  describe('factory events', () => {
    it.each([true, false])('decodes Aerodrome PoolCreated with stable = %s (indexed)', (stable) => {
      const log = encodeLog({ abi: aerodromeAbi, eventName: 'PoolCreated', args: { token0: WETH, token1: USDBC, stable, pool: VOLATILE, '': 42n }, address: AERO_FACTORY, blockNumber: 3_200_000n })
      expect(log.topics).toHaveLength(4)
      expect(aerodrome.decodePoolCreated(log, aeroDex, 8453)).toEqual({ ...volatilePool, stable })
    })

    it.each([true, false])('decodes Velodrome v1 PairCreated with stable = %s (in data)', (stable) => {
      const log = encodeLog({ abi: velodromeV1Abi, eventName: 'PairCreated', args: { token0: WETH, token1: USDBC, stable, pair: V1_PAIR, '': 7n }, address: V1_FACTORY, blockNumber: 3_200_000n })
      expect(log.topics).toHaveLength(3)
      expect(log.topics[0]).toBe(VELODROME_V1_PAIR_CREATED_TOPIC)
      expect(velodromeV1.decodePoolCreated(log, v1Dex, 8453)).toEqual({ ...v1Pool, stable })
    })

    it('decodes the later Velodrome PairCreated, same topic0 with stable indexed', () => {
      const log = encodeLog({ abi: indexedPairCreatedAbi, eventName: 'PairCreated', args: { token0: WETH, token1: USDBC, stable: true, pair: V1_PAIR, '': 7n }, address: V1_FACTORY, blockNumber: 3_200_000n })
      expect(log.topics[0]).toBe(VELODROME_V1_PAIR_CREATED_TOPIC)
      expect(log.topics).toHaveLength(4)
      expect(velodromeV1.decodePoolCreated(log, v1Dex, 8453)).toEqual({ ...v1Pool, stable: true })
    })
  })

  describe('malformed logs', () => {
    const where = (log: RawLog, chainId: number) => `(chain ${chainId}, block ${log.blockNumber}, tx ${log.transactionHash}, log ${log.logIndex}, pool ${log.address})`

    it('keeps an undecodable Swap as rejected with an error naming chain, block, tx and log', () => {
      const good = aeroSwap({ amount0In: 1n, amount1In: 0n, amount0Out: 0n, amount1Out: 1n }, VOLATILE, { blockNumber: 123n, logIndex: 9 })
      const bad = { ...good, data: good.data.slice(0, 2 + 64 * 3) as Hex }
      const r = decodeRange([bad], new Map([[VOLATILE, volatilePool]]), baseCtx(bad))
      expect(r.swaps).toEqual([])
      expect(r.rejected).toHaveLength(1)
      const err = r.rejected[0]!.error
      expect(err).toBeInstanceOf(DecodeError)
      expect(err.message.split('\n')[0]).toBe(`undecodable Swap ${where(bad, 8453)}`)
    })

    it('throws DecodeError for a Velodrome v1 Swap with a missing topic', () => {
      const good = encodeLog({ abi: velodromeV1Abi, eventName: 'Swap', args: { sender: ROUTER, to: TRADER, amount0In: 1n, amount1In: 0n, amount0Out: 0n, amount1Out: 1n }, address: V1_PAIR, blockNumber: 44_680_205n, logIndex: 7 })
      const bad = { ...good, topics: good.topics.slice(0, 2) }
      const err = catchError(() => velodromeV1.decodePoolLog(bad, { ...v1Pool, chainId: 10 }, { ...baseCtx(bad), chainId: 10 }, new Map()))
      expect(err).toBeInstanceOf(DecodeError)
      expect(err.message.split('\n')[0]).toBe(`undecodable Swap ${where(bad, 10)}`)
    })

    it('throws DecodeError for a Sync with non-hex or short data', () => {
      const good = encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 1n, reserve1: 2n }, address: VOLATILE, blockNumber: 77n, logIndex: 2 })
      for (const data of [`${good.data.slice(0, -1)}z`, good.data.slice(0, 66)] as Hex[]) {
        const bad = { ...good, data }
        const err = catchError(() => aerodrome.decodePoolLog(bad, volatilePool, baseCtx(bad), new Map()))
        expect(err).toBeInstanceOf(DecodeError)
        expect(err.message.split('\n')[0]).toBe(`undecodable Sync ${where(bad, 8453)}`)
      }
    })

    it('throws DecodeError for a PoolCreated whose stable topic is not a bool', () => {
      const good = encodeLog({ abi: aerodromeAbi, eventName: 'PoolCreated', args: { token0: WETH, token1: USDBC, stable: true, pool: VOLATILE, '': 1n }, address: AERO_FACTORY, blockNumber: 3_200_000n, logIndex: 4 })
      const bad = { ...good, topics: [...good.topics.slice(0, 3), `0x${'0'.repeat(63)}2`] as Hex[] }
      const err = catchError(() => aerodrome.decodePoolCreated(bad, aeroDex, 8453))
      expect(err).toBeInstanceOf(DecodeError)
      expect(err.message.split('\n')[0]).toBe(`undecodable PoolCreated (chain 8453, block 3200000, tx ${bad.transactionHash}, log 4, pool ${AERO_FACTORY})`)
    })

    it('throws DecodeError for a PairCreated with a missing data word', () => {
      const good = encodeLog({ abi: velodromeV1Abi, eventName: 'PairCreated', args: { token0: WETH, token1: USDBC, stable: false, pair: V1_PAIR, '': 1n }, address: V1_FACTORY, blockNumber: 3_200_000n, logIndex: 6 })
      const bad = { ...good, data: good.data.slice(0, 2 + 64 * 2) as Hex }
      const err = catchError(() => velodromeV1.decodePoolCreated(bad, v1Dex, 10))
      expect(err).toBeInstanceOf(DecodeError)
      expect(err.message.split('\n')[0]).toBe(`undecodable PairCreated (chain 10, block 3200000, tx ${bad.transactionHash}, log 6, pool ${V1_FACTORY})`)
    })
  })
})

function catchError(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

/** One ABI word of `v` (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')

describe('solidly amounts no pool can produce', () => {
  const swapWith = (amounts: [bigint, bigint, bigint, bigint], address: Address, logIndex: number): RawLog => ({
    ...aeroSwap({ amount0In: 0n, amount1In: 0n, amount0Out: 0n, amount1Out: 0n }, address, { logIndex }),
    data: `0x${amounts.map(word).join('')}`,
  })
  const where = (l: RawLog) => `(chain 8453, block 100, tx ${l.transactionHash}, log ${l.logIndex}, pool ${l.address})`
  const WHY = "a Solidly stable pool squares its 18-decimal balances, and no real token's supply reaches it"

  it('rejects Swap amounts of 2^255, 2^256 − 1 and 2^128 into rejected, naming the field and its value', () => {
    const a = swapWith([2n ** 255n, 0n, 0n, 1_000n], VOLATILE, 1)
    const b = swapWith([0n, 1_000_000n, 2n ** 256n - 1n, 0n], STABLE, 2)
    const c = swapWith([2n ** 128n, 0n, 0n, 1n], VOLATILE, 3)
    const r = decodeRange([a, b, c], new Map([[VOLATILE, volatilePool], [STABLE, stablePool]]), baseCtx(a, b, c))
    expect(r.swaps).toEqual([])
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `Swap amount0In 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^128 (${WHY}) ${where(a)}`,
      `Swap amount0Out 115792089237316195423570985008687907853269984665640564039457584007913129639935 is out of range: not below 2^128 (${WHY}) ${where(b)}`,
      `Swap amount0In 340282366920938463463374607431768211456 is out of range: not below 2^128 (${WHY}) ${where(c)}`,
    ])
  })

  it('decodes 2^128 − 1 in, and rejects a Sync reserve of 2^255 with no price', () => {
    const edge = swapWith([2n ** 128n - 1n, 0n, 0n, 7n], VOLATILE, 1)
    const sync: RawLog = { ...encodeLog({ abi: aerodromeAbi, eventName: 'Sync', args: { reserve0: 1n, reserve1: 1n }, address: VOLATILE, logIndex: 2 }), data: `0x${word(2n ** 255n)}${word(10n ** 18n)}` }
    const r = decodeRange([edge, sync], new Map([[VOLATILE, volatilePool]]), baseCtx(edge, sync))
    expect(r.swaps.map((s) => [s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([[WETH, 340282366920938463463374607431768211455n, USDBC, 7n]])
    expect(r.prices).toEqual([])
    expect(r.rejected.map((x) => x.error.shortMessage)).toEqual([
      `Sync reserve0 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^128 (${WHY})`,
    ])
  })
})
