import { readFileSync } from 'node:fs'
import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  CURVE_ADD_LIQUIDITY_TOPICS,
  CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC,
  CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC,
  CURVE_NG_ADD_LIQUIDITY_TOPIC,
  CURVE_TOKEN_EXCHANGE_TOPIC,
  CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC,
  curveCryptoAbi,
  curveCryptoNgAbi,
  curveStableSwapAbi,
} from '../../indexers/curve/abi.ts'
import { curve } from '../../indexers/curve/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange, poolLogs, watchedTopics } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { families } from '../../src/indexer/families.ts'
import { encodeLog } from '../setup/logs.ts'

/** A fixture in test/fixtures/curve (see its `source`, `kind` and `note`). */
type Fixture = {
  source: string
  kind: string
  chainId: number
  pool: { address: Address; tokens: Address[]; underlying?: Address[] }
  tokens: { address: Address; symbol: string; decimals: number }[]
  txFrom: Address
  txFromIsPlaceholder?: boolean
  log: Omit<RawLog, 'blockNumber'> & { blockNumber: string }
  expected: { tokenIn: Address; tokenOut: Address; amountIn: string; amountOut: string; decimalsIn: number; decimalsOut: number; sender: Address; recipient: Address }
}

const fixture = (name: string): Fixture => JSON.parse(readFileSync(new URL(`../fixtures/curve/${name}.json`, import.meta.url), 'utf8')) as Fixture

const dex = { family: 'curve', name: 'curve' } as const
const poolOf = (f: Fixture): PoolInfo => ({
  chainId: f.chainId,
  dex,
  address: f.pool.address,
  token0: f.pool.tokens[0] as Address,
  token1: f.pool.tokens[1] as Address,
  fee: null,
  tokens: f.pool.tokens,
  ...(f.pool.underlying ? { underlying: f.pool.underlying } : {}),
  createdBlock: 0n,
})
const ctx = (chainId: number, tokens: TokenInfo[], txFrom: Map<Hex, Address>): DecodeContext => ({
  chainId,
  token: (a) => tokens.find((t) => t.address === a),
  txFrom: (h) => txFrom.get(h),
  blockTime: () => 1_692_000_000,
})
const fixtureCtx = (f: Fixture, log: RawLog) =>
  ctx(f.chainId, f.tokens.map((t) => ({ chainId: f.chainId, address: t.address, decimals: t.decimals, symbol: t.symbol })), new Map([[log.transactionHash, f.txFrom]]))
const rawLog = (f: Fixture): RawLog => ({ ...f.log, blockNumber: BigInt(f.log.blockNumber) })

// Synthetic pools for the encoder-built logs below.
const DAI = '0x6b175474e89094c44da98b954eedeac495271d0f' as Address
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7' as Address
const WBTC = '0x2260fac5e5542a773aa44fbcfedf7c193bc2c599' as Address
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const META_COIN = '0x00000000000000000000000000000000000000d1' as Address
const LP_3CRV = '0x6c3f90f043a72fa612cbac8115ee7e52bde6e490' as Address
const ROUTER = '0x99a58482bd75cbab83b27ec03ca68ff489b5788f' as Address
const TRADER = '0x1111111111111111111111111111111111111111' as Address
const PLAIN = '0x00000000000000000000000000000000000000c1' as Address
const META = '0x00000000000000000000000000000000000000c2' as Address
const CRYPTO = '0x00000000000000000000000000000000000000c3' as Address
const plainPool: PoolInfo = { chainId: 1, dex, address: PLAIN, token0: DAI, token1: USDC, fee: null, tokens: [DAI, USDC, USDT], createdBlock: 1n }
const metaPool: PoolInfo = { chainId: 1, dex, address: META, token0: META_COIN, token1: LP_3CRV, fee: null, tokens: [META_COIN, LP_3CRV], underlying: [META_COIN, DAI, USDC, USDT], createdBlock: 1n }
const cryptoPool: PoolInfo = { chainId: 1, dex, address: CRYPTO, token0: USDT, token1: WBTC, fee: null, tokens: [USDT, WBTC, WETH], createdBlock: 1n }
const tokenInfos: TokenInfo[] = [
  { chainId: 1, address: DAI, decimals: 18, symbol: 'DAI' },
  { chainId: 1, address: USDC, decimals: 6, symbol: 'USDC' },
  { chainId: 1, address: USDT, decimals: 6, symbol: 'USDT' },
  { chainId: 1, address: WBTC, decimals: 8, symbol: 'WBTC' },
  { chainId: 1, address: WETH, decimals: 18, symbol: 'WETH' },
]
const synthCtx = (...logs: RawLog[]) => ctx(1, tokenInfos, new Map(logs.map((l) => [l.transactionHash, TRADER])))

const exchange = (args: { sold_id: bigint; tokens_sold: bigint; bought_id: bigint; tokens_bought: bigint }, address: Address = PLAIN, logIndex = 0) =>
  encodeLog({ abi: curveStableSwapAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, ...args }, address, logIndex })
const exchangeUnderlying = (args: { sold_id: bigint; tokens_sold: bigint; bought_id: bigint; tokens_bought: bigint }, address: Address = META) =>
  encodeLog({ abi: curveStableSwapAbi, eventName: 'TokenExchangeUnderlying', args: { buyer: ROUTER, ...args }, address })

const decodeOne = (log: RawLog, pool: PoolInfo) => curve.decodePoolLog(log, pool, synthCtx(log), new Map())
const decodeErrorOf = (fn: () => unknown): DecodeError => {
  try {
    fn()
  } catch (err) {
    if (err instanceof DecodeError) return err
    throw err
  }
  throw new Error('expected a DecodeError')
}

describe('curve family', () => {
  it("has the event selectors of Curve's pools", () => {
    // keccak256 of the signatures in curvefi/curve-contract (StableSwap3Pool.vy, StableSwapGUSD.vy),
    // curvefi/curve-crypto-contract (CurveCryptoSwap.vy) and curvefi/tricrypto-ng (CurveTricryptoOptimizedWETH.vy).
    expect(CURVE_TOKEN_EXCHANGE_TOPIC).toBe('0x8b3e96f2b889fa771c53c981b40daf005f63f637f1869f707052d15a3dd97140')
    expect(CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC).toBe('0xd013ca23e77a65003c2c659c5442c00c805371b7fc1ebd4c206c41d1536bd90b')
    expect(CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC).toBe('0xb2e76ae99761dc136e598d4a629bb347eccb9532a5f8bbd72e18467c3c34cc98')
    expect(CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC).toBe('0x143f1f8e861fbdeddd5b46e844b7d3ac7b86a122f36e8c463859ee6811b1f29c')
    // AddLiquidity of 2-, 3- and 4-coin StableSwap pools (3pool's is the 3-coin one): a metapool's base pool deposit.
    expect([...CURVE_ADD_LIQUIDITY_TOPICS]).toEqual([
      [2, '0x26f55a85081d24974e85c6c00045d0f0453991e95873f52bff0d21af4079a768'],
      [3, '0x423f6495a08fc652425cf4ed0d1f9e37e571d9b9529b1c1c23cce780b2e7df0d'],
      [4, '0x3f1915775e0c9a38a57a7bb7f1f9005f486fb904e1f84aa215364d567319a58d'],
    ])
    expect(curve.poolTopics).toEqual([
      CURVE_TOKEN_EXCHANGE_TOPIC,
      CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC,
      CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC,
      CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC,
      ...CURVE_ADD_LIQUIDITY_TOPICS.values(),
      CURVE_NG_ADD_LIQUIDITY_TOPIC,
    ])
    for (const t of curve.poolTopics) expect(watchedTopics()).toContain(t)
  })

  it("is registered as a 'listed' family with no pool-creation event", () => {
    expect(families.curve).toBe(curve)
    expect(curve.discovery).toBe('listed')
    expect(curve.poolCreatedTopic).toBeNull()
    expect(curve.describePool).toBeTypeOf('function')
    const log = exchange({ sold_id: 0n, tokens_sold: 1n, bought_id: 1n, tokens_bought: 1n })
    expect(curve.decodePoolCreated(log, dex, 1)).toBeNull()
  })

  describe.each([
    '3pool-token-exchange-dai-usdt',
    'bean-3crv-token-exchange-underlying-bean-dai',
    'tricrypto-ng-token-exchange-weth-wbtc',
  ])('mainnet fixture %s', (name) => {
    it('decodes the verbatim log to the trade the receipt shows, to the wei, with no price', () => {
      const f = fixture(name)
      expect(f.kind).toMatch(/^verbatim mainnet log/)
      expect(f.source).toMatch(/^(RSS3-Network\/Node|BeanstalkFarms\/Beanstalk-Py) /)
      const log = rawLog(f)
      const pool = poolOf(f)
      expect(poolLogs([log], new Map([[pool.address, pool]]))).toEqual([log])
      const r = decodeRange([log], new Map([[pool.address, pool]]), fixtureCtx(f, log))
      expect(r.rejected).toEqual([])
      expect(r.prices).toEqual([])
      expect(r.swaps).toEqual([
        {
          chainId: 1,
          dex,
          pool: pool.address,
          blockNumber: BigInt(f.log.blockNumber),
          blockHash: f.log.blockHash,
          blockTime: 1_692_000_000,
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

  it('hand-checks the 3pool fixture: 500,655.57 DAI in, 501,236.44 USDT out', () => {
    const f = fixture('3pool-token-exchange-dai-usdt')
    const swap = curve.decodePoolLog(rawLog(f), poolOf(f), fixtureCtx(f, rawLog(f)), new Map()).swap
    // data words: sold_id 0 (coins(0) = DAI), tokens_sold 0x6a0497ce94801c179d99,
    // bought_id 2 (coins(2) = USDT), tokens_bought 0x74b40525e1.
    expect(swap?.tokenIn).toBe(DAI)
    expect(swap?.tokenOut).toBe(USDT)
    // 0x6a0497ce94801c179d99 = 500655573004300108406169 (= 500,655.573004… DAI at 18 decimals)
    expect(swap?.amountIn).toBe(500_655_573_004_300_108_406_169n)
    // 0x74b40525e1 = 501236442593 (= 501,236.442593 USDT at 6 decimals)
    expect(swap?.amountOut).toBe(501_236_442_593n)
    // The trader called the pool himself: buyer = tx.from.
    expect(swap?.sender).toBe(f.txFrom)
  })

  it('hand-checks the metapool fixture: TokenExchangeUnderlying ids index the underlying coins', () => {
    const f = fixture('bean-3crv-token-exchange-underlying-bean-dai')
    expect(f.txFromIsPlaceholder).toBe(true)
    const swap = curve.decodePoolLog(rawLog(f), poolOf(f), fixtureCtx(f, rawLog(f)), new Map()).swap
    // sold_id 0 -> underlying[0] = BEAN (= coins(0) of the metapool); bought_id 1 -> underlying[1]
    // = DAI (base pool coins(0)), not coins(1) = 3CRV.
    expect(swap?.tokenIn).toBe(f.pool.underlying?.[0])
    expect(swap?.tokenOut).toBe(DAI)
    expect(swap?.tokenOut).not.toBe(f.pool.tokens[1])
    // 0x38878cd20 = 15174520096 (15,174.520096 BEAN, 6 decimals); 0x2ecb6e36d49d9092984 = 13811343064233302108548 (≈13,811.34 DAI)
    expect(swap?.amountIn).toBe(15_174_520_096n)
    expect(swap?.amountOut).toBe(13_811_343_064_233_302_108_548n)
    expect(swap?.sender).toBe('0x0000000000007f150bd6f54c40a34d7c3d5e9f56')
  })

  it('hand-checks the tricrypto-ng fixture: 2 WETH in, 0.1252089 WBTC out, buyer is the router', () => {
    const f = fixture('tricrypto-ng-token-exchange-weth-wbtc')
    const swap = curve.decodePoolLog(rawLog(f), poolOf(f), fixtureCtx(f, rawLog(f)), new Map()).swap
    // sold_id 2 = WETH, tokens_sold 0x1bc16d674ec80000 = 2e18; bought_id 1 = WBTC, tokens_bought 0xbf0dba = 12520890 (0.12520890 WBTC).
    expect(swap?.tokenIn).toBe(WETH)
    expect(swap?.tokenOut).toBe(WBTC)
    expect(swap?.amountIn).toBe(2n * 10n ** 18n)
    expect(swap?.amountOut).toBe(12_520_890n)
    // buyer = the Registry Exchange (the pool's msg.sender); trader = tx.from.
    expect(swap?.sender).toBe(ROUTER)
    expect(swap?.recipient).toBe(ROUTER)
    expect(swap?.trader).toBe('0x78d72460de403cb1650bbd0476256539d61b25b2')
  })

  it('decodes every layout, built with viem, into the coins its ids name', () => {
    const plain = exchange({ sold_id: 2n, tokens_sold: 1_000_000n, bought_id: 1n, tokens_bought: 999_000n })
    expect(decodeOne(plain, plainPool).swap).toMatchObject({ tokenIn: USDT, tokenOut: USDC, amountIn: 1_000_000n, amountOut: 999_000n, sender: ROUTER, recipient: ROUTER, trader: TRADER, decimalsIn: 6, decimalsOut: 6 })

    // Underlying id 0 is the metapool's own coin (no decimals known), id 3 USDT (base pool coins(2)).
    const under = exchangeUnderlying({ sold_id: 0n, tokens_sold: 4_900_000_000_000_000_000n, bought_id: 3n, tokens_bought: 5_000_000n })
    expect(decodeOne(under, metaPool).swap).toMatchObject({ tokenIn: META_COIN, tokenOut: USDT, amountIn: 4_900_000_000_000_000_000n, amountOut: 5_000_000n, decimalsIn: null, decimalsOut: 6 })

    const crypto = encodeLog({ abi: curveCryptoAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, sold_id: 0n, tokens_sold: 30_000_000_000n, bought_id: 1n, tokens_bought: 100_000_000n }, address: CRYPTO })
    expect(crypto.topics[0]).toBe(CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC)
    expect(decodeOne(crypto, cryptoPool).swap).toMatchObject({ tokenIn: USDT, tokenOut: WBTC, amountIn: 30_000_000_000n, amountOut: 100_000_000n })

    const ng = encodeLog({ abi: curveCryptoNgAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, sold_id: 1n, tokens_sold: 100_000_000n, bought_id: 2n, tokens_bought: 15n * 10n ** 18n, fee: 1234n, packed_price_scale: 99n }, address: CRYPTO })
    expect(decodeOne(ng, cryptoPool).swap).toMatchObject({ tokenIn: WBTC, tokenOut: WETH, amountIn: 100_000_000n, amountOut: 15n * 10n ** 18n })
    // No layout gives a price observation.
    for (const [log, pool] of [[plain, plainPool], [under, metaPool], [crypto, cryptoPool], [ng, cryptoPool]] as const) expect(decodeOne(log, pool).price).toBeUndefined()
  })

  it('falls back to token0/token1 for a pool stored without `tokens`', () => {
    const twoCoin: PoolInfo = { chainId: 1, dex, address: PLAIN, token0: DAI, token1: USDC, fee: null, createdBlock: 1n }
    expect(decodeOne(exchange({ sold_id: 1n, tokens_sold: 7n, bought_id: 0n, tokens_bought: 6n }), twoCoin).swap).toMatchObject({ tokenIn: USDC, tokenOut: DAI })
    const err = decodeErrorOf(() => decodeOne(exchange({ sold_id: 2n, tokens_sold: 7n, bought_id: 0n, tokens_bought: 6n }), twoCoin))
    expect(err.shortMessage).toBe("TokenExchange sold_id 2 is outside the pool's 2 coins")
  })

  it('throws a DecodeError naming an id outside the pool, with chain, block, tx, log index and pool', () => {
    const sold = exchange({ sold_id: 3n, tokens_sold: 1n, bought_id: 0n, tokens_bought: 1n }, PLAIN, 7)
    const err = decodeErrorOf(() => decodeOne(sold, plainPool))
    expect(err.shortMessage).toBe("TokenExchange sold_id 3 is outside the pool's 3 coins")
    expect(err.context).toEqual({ chainId: 1, block: 100n, tx: sold.transactionHash, logIndex: 7, pool: PLAIN })

    const negative = exchange({ sold_id: 0n, tokens_sold: 1n, bought_id: -1n, tokens_bought: 1n })
    expect(decodeErrorOf(() => decodeOne(negative, plainPool)).shortMessage).toBe("TokenExchange bought_id -1 is outside the pool's 3 coins")

    const under = exchangeUnderlying({ sold_id: 4n, tokens_sold: 1n, bought_id: 0n, tokens_bought: 1n })
    expect(decodeErrorOf(() => decodeOne(under, metaPool)).shortMessage).toBe("TokenExchangeUnderlying sold_id 4 is outside the pool's 4 underlying coins")

    const crypto = encodeLog({ abi: curveCryptoAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, sold_id: 0n, tokens_sold: 1n, bought_id: 2n ** 200n, tokens_bought: 1n }, address: CRYPTO })
    expect(decodeErrorOf(() => decodeOne(crypto, cryptoPool)).shortMessage).toBe(`TokenExchange (crypto) bought_id ${2n ** 200n} is outside the pool's 3 coins`)
  })

  it('throws for TokenExchangeUnderlying from a pool whose underlying coins are unknown', () => {
    const under = exchangeUnderlying({ sold_id: 0n, tokens_sold: 1n, bought_id: 1n, tokens_bought: 1n }, PLAIN)
    expect(decodeErrorOf(() => decodeOne(under, plainPool)).shortMessage).toMatch(/^TokenExchangeUnderlying from a pool with no underlying coins known/)
  })

  it('throws for a malformed log, a same-coin exchange and an unknown transaction sender; keeps them in rejected', () => {
    const good = exchange({ sold_id: 0n, tokens_sold: 10n, bought_id: 1n, tokens_bought: 9n })
    const short: RawLog = { ...good, data: good.data.slice(0, 2 + 64 * 3) as Hex, logIndex: 1 }
    const extraTopic: RawLog = { ...good, topics: [...good.topics, good.topics[1] as Hex], logIndex: 2 }
    const same = exchange({ sold_id: 1n, tokens_sold: 10n, bought_id: 1n, tokens_bought: 9n }, PLAIN, 3)
    // A crypto-ng topic0 with the 4-word layout of the older crypto pools.
    const ngShort: RawLog = { ...encodeLog({ abi: curveCryptoAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, sold_id: 0n, tokens_sold: 1n, bought_id: 1n, tokens_bought: 1n }, address: CRYPTO, logIndex: 4 }), topics: [CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC, good.topics[1] as Hex] }
    expect(decodeErrorOf(() => decodeOne(short, plainPool)).shortMessage).toBe('undecodable TokenExchange')
    expect(decodeErrorOf(() => decodeOne(extraTopic, plainPool)).shortMessage).toBe('undecodable TokenExchange')
    expect(decodeErrorOf(() => decodeOne(same, plainPool)).shortMessage).toBe('TokenExchange sells and buys the same coin (id 1)')
    expect(decodeErrorOf(() => decodeOne(ngShort, cryptoPool)).shortMessage).toBe('undecodable TokenExchange (crypto-ng)')
    const noSender = decodeErrorOf(() => curve.decodePoolLog(good, plainPool, ctx(1, tokenInfos, new Map()), new Map()))
    expect(noSender.shortMessage).toBe('no transaction sender or block time for TokenExchange')
    // decodeRange keeps every one of them, with its reason, and still decodes the good log.
    const r = decodeRange([good, short, extraTopic, same], new Map([[PLAIN, plainPool]]), synthCtx(good))
    expect(r.swaps.map((s) => s.logIndex)).toEqual([0])
    expect(r.rejected.map((x) => [x.log.logIndex, x.error.shortMessage])).toEqual([
      [1, 'undecodable TokenExchange'],
      [2, 'undecodable TokenExchange'],
      [3, 'TokenExchange sells and buys the same coin (id 1)'],
    ])
  })

  it('gives nothing for a zero exchange and for a topic it does not know', () => {
    expect(decodeOne(exchange({ sold_id: 0n, tokens_sold: 0n, bought_id: 1n, tokens_bought: 0n }), plainPool)).toEqual({})
    const other: RawLog = { ...exchange({ sold_id: 0n, tokens_sold: 1n, bought_id: 1n, tokens_bought: 1n }), topics: ['0x' + '11'.repeat(32) as Hex] }
    expect(decodeOne(other, plainPool)).toEqual({})
  })
})

/** One ABI word of `v` (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')

describe('curve amounts no pool can produce', () => {
  const WHY = "a Curve pool's invariant squares its 18-decimal balances"
  const at = (l: RawLog) => `(chain 1, block 100, tx ${l.transactionHash}, log ${l.logIndex}, pool ${l.address})`

  it('rejects tokens_sold or tokens_bought of 2^255, 2^256 − 1 and 2^128 into rejected, naming the event, field and value', () => {
    const withAmounts = (sold: bigint, bought: bigint, logIndex: number): RawLog => {
      const l = exchange({ sold_id: 0n, tokens_sold: 1n, bought_id: 2n, tokens_bought: 1n }, PLAIN, logIndex)
      return { ...l, data: `0x${word(0n)}${word(sold)}${word(2n)}${word(bought)}` }
    }
    const a = withAmounts(2n ** 255n, 1_000_000n, 1)
    const b = withAmounts(10n ** 18n, 2n ** 256n - 1n, 2)
    const c = withAmounts(2n ** 128n, 1n, 3)
    const edge = withAmounts(2n ** 128n - 1n, 2n ** 128n - 1n, 4)
    const crypto: RawLog = {
      ...encodeLog({ abi: curveCryptoAbi, eventName: 'TokenExchange', args: { buyer: ROUTER, sold_id: 0n, tokens_sold: 1n, bought_id: 1n, tokens_bought: 1n }, address: CRYPTO, logIndex: 5 }),
      data: `0x${word(0n)}${word(2n ** 255n)}${word(1n)}${word(1n)}`,
    }
    const r = decodeRange([a, b, c, edge, crypto], new Map([[PLAIN, plainPool], [CRYPTO, cryptoPool]]), synthCtx(a, b, c, edge, crypto))
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `TokenExchange tokens_sold 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^128 (${WHY}) ${at(a)}`,
      `TokenExchange tokens_bought 115792089237316195423570985008687907853269984665640564039457584007913129639935 is out of range: not below 2^128 (${WHY}) ${at(b)}`,
      `TokenExchange tokens_sold 340282366920938463463374607431768211456 is out of range: not below 2^128 (${WHY}) ${at(c)}`,
      `TokenExchange (crypto) tokens_sold 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^128 (${WHY}) ${at(crypto)}`,
    ])
    expect(r.swaps.map((s) => [s.logIndex, s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([[4, DAI, 340282366920938463463374607431768211455n, USDT, 340282366920938463463374607431768211455n]])
  })
})

/** A 3-coin StableSwap pool's AddLiquidity (curvefi/curve-contract StableSwap3Pool.vy). */
const addLiquidityAbi = [
  {
    type: 'event',
    name: 'AddLiquidity',
    inputs: [
      { name: 'provider', type: 'address', indexed: true },
      { name: 'token_amounts', type: 'uint256[3]', indexed: false },
      { name: 'fees', type: 'uint256[3]', indexed: false },
      { name: 'invariant', type: 'uint256', indexed: false },
      { name: 'token_supply', type: 'uint256', indexed: false },
    ],
  },
] as const

describe("curve metapool selling a base coin for its own coin (curve-factory templates log the base LP amount)", () => {
  const BASE = '0x00000000000000000000000000000000000000c4' as Address
  const basePool: PoolInfo = { chainId: 1, dex, address: BASE, token0: DAI, token1: USDC, fee: null, tokens: [DAI, USDC, USDT], createdBlock: 1n }
  const pools = new Map([[BASE, basePool], [META, metaPool]])
  const TX = `0x${'ab'.repeat(32)}` as Hex
  // 5 USDT sold; the base pool mints 4.901960784313725490 LP for it (at a virtual price of 1.02),
  // which is what the template logs as tokens_sold: 10^12 / 1.02 times the USDT sold.
  const USDT_SOLD = 5_000_000n
  const LP_MINTED = 4_901_960_784_313_725_490n
  const deposit = (amounts: readonly [bigint, bigint, bigint], logIndex: number, extra: { provider?: Address; txHash?: Hex } = {}) =>
    encodeLog({ abi: addLiquidityAbi, eventName: 'AddLiquidity', args: { provider: extra.provider ?? META, token_amounts: amounts, fees: [0n, 0n, 0n], invariant: 10n ** 24n, token_supply: 10n ** 24n }, address: BASE, logIndex, txHash: extra.txHash ?? TX })
  const sale = (args: { sold_id: bigint; tokens_sold: bigint; bought_id: bigint; tokens_bought: bigint }, logIndex: number, txHash: Hex = TX) =>
    encodeLog({ abi: curveStableSwapAbi, eventName: 'TokenExchangeUnderlying', args: { buyer: ROUTER, ...args }, address: META, logIndex, txHash })
  const lines = (r: ReturnType<typeof decodeRange>) => r.rejected.map((x) => x.error.message.split('\n')[0])
  const at = (l: RawLog) => `(chain 1, block 100, tx ${l.transactionHash}, log ${l.logIndex}, pool ${META})`
  const CASE = `TokenExchangeUnderlying sells base coin 3 for the metapool's coin 0: tokens_sold ${LP_MINTED} can be the base pool's LP amount (curve-factory metapools since Vyper 0.2.14 log that)`

  it("takes the amount sold from the base pool's AddLiquidity by the metapool, to the wei, not tokens_sold", () => {
    const d = deposit([0n, 0n, USDT_SOLD], 3)
    expect(d.topics[0]).toBe(CURVE_ADD_LIQUIDITY_TOPICS.get(3))
    const s = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 4_800_000_000_000_000_000n }, 6)
    const r = decodeRange([d, s], pools, synthCtx(s))
    expect(r.rejected).toEqual([])
    expect(r.prices).toEqual([])
    expect(r.swaps).toHaveLength(1)
    expect(r.swaps[0]).toMatchObject({ pool: META, logIndex: 6, tokenIn: USDT, amountIn: USDT_SOLD, decimalsIn: 6, tokenOut: META_COIN, amountOut: 4_800_000_000_000_000_000n })
  })

  it('rejects the sale, naming the case, when no deposit by the metapool precedes it in the transaction', () => {
    const s = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 1n }, 6)
    const otherTx = deposit([0n, 0n, USDT_SOLD], 2, { txHash: `0x${'cd'.repeat(32)}` })
    const otherProvider = deposit([0n, 0n, USDT_SOLD], 3, { provider: ROUTER })
    const after = deposit([0n, 0n, USDT_SOLD], 7)
    const reason = `${CASE}, and no AddLiquidity by this pool into its base pool precedes it in the transaction to give the amount sold (list the base pool as a curve pool) ${at(s)}`
    const r = decodeRange([otherTx, otherProvider, s, after], pools, synthCtx(s))
    expect(r.swaps).toEqual([])
    expect(lines(r)).toEqual([reason])
    // The base pool not listed: its AddLiquidity never reaches the decoder.
    const alone = decodeRange([deposit([0n, 0n, USDT_SOLD], 3), s], new Map([[META, metaPool]]), synthCtx(s))
    expect(alone.swaps).toEqual([])
    expect(lines(alone)).toEqual([reason])
  })

  it('rejects the sale when the deposit is of other coins; each deposit serves one sale', () => {
    const wrongCoin = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 1n }, 6)
    const r = decodeRange([deposit([0n, USDT_SOLD, 0n], 3), wrongCoin], pools, synthCtx(wrongCoin))
    expect(lines(r)).toEqual([
      `${CASE}, and the AddLiquidity by this pool at log 3 of ${BASE} deposits [0, 5000000, 0], not base coin 2 alone of 3 ${at(wrongCoin)}`,
    ])
    const first = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 1n }, 6)
    const second = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 1n }, 9)
    const twice = decodeRange([deposit([0n, 0n, USDT_SOLD], 3), first, second], pools, synthCtx(first))
    expect(twice.swaps.map((x) => [x.logIndex, x.amountIn])).toEqual([[6, USDT_SOLD]])
    expect(twice.rejected.map((x) => x.log.logIndex)).toEqual([9])
  })

  it('keeps tokens_sold where every template logs the amount sold: the own coin sold, base coin for base coin, a lending pool', () => {
    const own = sale({ sold_id: 0n, tokens_sold: 10n ** 18n, bought_id: 2n, tokens_bought: 990_000n }, 1)
    const baseToBase = sale({ sold_id: 1n, tokens_sold: 10n ** 18n, bought_id: 3n, tokens_bought: 999_000n }, 2)
    const lending: PoolInfo = { chainId: 1, dex, address: META, token0: LP_3CRV, token1: WETH, fee: null, tokens: [LP_3CRV, WETH], underlying: [DAI, USDC], createdBlock: 1n }
    const lendingSale = sale({ sold_id: 1n, tokens_sold: 7_000_000n, bought_id: 0n, tokens_bought: 7n * 10n ** 18n }, 3)
    const r = decodeRange([own, baseToBase], pools, synthCtx(own))
    expect(r.rejected).toEqual([])
    expect(r.swaps.map((x) => [x.tokenIn, x.amountIn, x.tokenOut, x.amountOut])).toEqual([
      [META_COIN, 10n ** 18n, USDC, 990_000n],
      [DAI, 10n ** 18n, USDT, 999_000n],
    ])
    expect(decodeRange([lendingSale], new Map([[META, lending]]), synthCtx(lendingSale)).swaps.map((x) => [x.tokenIn, x.amountIn])).toEqual([[USDC, 7_000_000n]])
  })

  it("counts a base coin for base coin exchange once: the base pool's TokenExchange by the metapool is the trade", () => {
    const inBase = encodeLog({ abi: curveStableSwapAbi, eventName: 'TokenExchange', args: { buyer: META, sold_id: 0n, tokens_sold: 10n ** 18n, bought_id: 2n, tokens_bought: 999_000n }, address: BASE, logIndex: 2, txHash: TX })
    const viaMeta = sale({ sold_id: 1n, tokens_sold: 10n ** 18n, bought_id: 3n, tokens_bought: 999_000n }, 5)
    const r = decodeRange([inBase, viaMeta], pools, synthCtx(viaMeta))
    expect(r.swaps.map((x) => [x.pool, x.logIndex, x.tokenIn, x.amountIn, x.tokenOut, x.amountOut, x.sender])).toEqual([[BASE, 2, DAI, 10n ** 18n, USDT, 999_000n, META]])
    expect(lines(r)).toEqual([
      `TokenExchangeUnderlying of base coin 1 for base coin 3 is the base pool's TokenExchange at log 2 of ${BASE} (buyer: this pool), decoded there as the trade ${at(viaMeta)}`,
    ])
    // The base pool not listed: the metapool's event is the trade.
    const alone = decodeRange([inBase, viaMeta], new Map([[META, metaPool]]), synthCtx(viaMeta))
    expect(alone.rejected).toEqual([])
    expect(alone.swaps.map((x) => [x.pool, x.tokenIn, x.amountIn, x.tokenOut, x.amountOut])).toEqual([[META, DAI, 10n ** 18n, USDT, 999_000n]])
    // Another amount sold, or another buyer: not the same exchange.
    const other = decodeRange([inBase, sale({ sold_id: 1n, tokens_sold: 2n * 10n ** 18n, bought_id: 3n, tokens_bought: 1_998_000n }, 5)], pools, synthCtx(viaMeta))
    expect(other.swaps.map((x) => x.pool)).toEqual([BASE, META])
    expect(other.rejected).toEqual([])
  })

  it("reads a stableswap-ng base pool's AddLiquidity (dynamic arrays) too", () => {
    const ngAbi = [{ ...addLiquidityAbi[0], inputs: addLiquidityAbi[0].inputs.map((i) => (i.type === 'uint256[3]' ? { ...i, type: 'uint256[]' } : i)) }] as const
    const d = encodeLog({ abi: ngAbi, eventName: 'AddLiquidity', args: { provider: META, token_amounts: [0n, 0n, USDT_SOLD], fees: [1n, 2n, 3n], invariant: 10n ** 24n, token_supply: 10n ** 24n }, address: BASE, logIndex: 3, txHash: TX })
    expect(d.topics[0]).toBe(CURVE_NG_ADD_LIQUIDITY_TOPIC)
    expect(CURVE_NG_ADD_LIQUIDITY_TOPIC).toBe('0x189c623b666b1b45b83d7178f39b8c087cb09774317ca2f53c2d3c3726f222a2')
    const s = sale({ sold_id: 3n, tokens_sold: LP_MINTED, bought_id: 0n, tokens_bought: 1n }, 6)
    const r = decodeRange([d, s], pools, synthCtx(s))
    expect(r.rejected).toEqual([])
    expect(r.swaps.map((x) => [x.tokenIn, x.amountIn])).toEqual([[USDT, USDT_SOLD]])
    // Arrays of different lengths: not what the pool's encoder writes.
    const skewed: RawLog = { ...d, logIndex: 4, data: `${d.data.slice(0, 2 + 64 * 8)}${(2n).toString(16).padStart(64, '0')}${d.data.slice(2 + 64 * 9)}` as Hex }
    expect(lines(decodeRange([skewed], pools, synthCtx(skewed)))).toEqual([`undecodable AddLiquidity (chain 1, block 100, tx ${TX}, log 4, pool ${BASE})`])
  })

  it('keeps an undecodable AddLiquidity as rejected, and takes neither a trade nor a price from a good one', () => {
    const good = deposit([1n, 2n, 3n], 1)
    const short: RawLog = { ...deposit([1n, 2n, 3n], 2), data: good.data.slice(0, 2 + 64 * 7) as Hex }
    const r = decodeRange([good, short], pools, synthCtx(good))
    expect(r.swaps).toEqual([])
    expect(r.prices).toEqual([])
    expect(lines(r)).toEqual([`undecodable AddLiquidity (chain 1, block 100, tx ${TX}, log 2, pool ${BASE})`])
  })
})
