import { readFileSync } from 'node:fs'
import { decodeEventLog, encodeAbiParameters, encodeEventTopics, getAddress, keccak256, type Address, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { V4_INITIALIZE_TOPIC, V4_SWAP_TOPIC, uniswapV4Abi } from '../../indexers/uniswap-v4/abi.ts'
import { deltaReturningHookReason, uniswapV4 } from '../../indexers/uniswap-v4/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { NATIVE_TOKEN, type PoolInfo, type TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange, discoverPools, poolLogs } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'

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
  source: string
  chainId: number
  txFrom: Address
  pool: { id: Hex; poolManager: Address; currency0: Address; currency1: { address: Address; decimals: number }; fee: number; tickSpacing: number; hooks: Address }
  log: FixtureLog
  decoded: Record<'sender' | 'amount0' | 'amount1' | 'sqrtPriceX96' | 'liquidity', string> & { tick: number; fee: number }
}
type InitializeFixture = {
  rebuilt: string
  chainId: number
  log: FixtureLog
  decoded: { id: Hex; currency0: Address; currency1: Address; fee: number; tickSpacing: number; hooks: Address; sqrtPriceX96: string; tick: number }
}

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/uniswap-v4/${name}`, import.meta.url), 'utf8')) as T
const swapFx = fixture<SwapFixture>('swap-mainnet-eth-usdt.json')
const initFx = fixture<InitializeFixture>('initialize-mainnet-eth-usdt.json')

/** The fixture's log as a RawLog; the rebuilt Initialize has no real block or tx, so fill-ins stand for them. */
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
const PM = swapFx.pool.poolManager
const POOL_ID = swapFx.pool.id as Address
const USDT = swapFx.pool.currency1.address
const dex = { family: 'uniswap-v4', name: 'uniswap-v4' } as const
const ZERO = '0x0000000000000000000000000000000000000000' as Address
const pool: PoolInfo = {
  chainId: CHAIN,
  dex,
  address: POOL_ID,
  token0: NATIVE_TOKEN,
  token1: USDT,
  fee: 500,
  singleton: PM,
  hooks: ZERO,
  tickSpacing: 10,
  createdBlock: 1n,
}
const tokens = new Map<Address, TokenInfo>([
  [NATIVE_TOKEN, { chainId: CHAIN, address: NATIVE_TOKEN, decimals: 18, symbol: 'ETH' }],
  [USDT, { chainId: CHAIN, address: USDT, decimals: 6, symbol: 'USDT' }],
])
const BLOCK_TIME = 1_748_000_000 // a stand-in: the block's timestamp is not in the log
const ctx: DecodeContext = { chainId: CHAIN, token: (a) => tokens.get(a), txFrom: () => swapFx.txFrom, blockTime: () => BLOCK_TIME }
const swapLog = rawLog(swapFx.log)
const initLog = rawLog(initFx.log)

describe('uniswap-v4 topics and pool id', () => {
  it('takes topic0s from IPoolManager.sol signatures', () => {
    expect(V4_SWAP_TOPIC).toBe('0x40e9cecb9f5f1f1c5b9c97dec2917b7ee92e57ba5563708daca94dd84ad7112f')
    expect(V4_INITIALIZE_TOPIC).toBe('0xdd466e674ea557f56295e2d0218a125ea4b4f0f6f3307b95f85e6110838d6438')
    expect(swapFx.log.topics[0]).toBe(V4_SWAP_TOPIC)
    expect(uniswapV4.poolCreatedTopic).toBe(V4_INITIALIZE_TOPIC)
    expect(uniswapV4.poolTopics).toEqual([V4_SWAP_TOPIC])
    expect(uniswapV4.discovery).toBe('singleton')
  })

  it('the real pool id is keccak256 of the ETH/USDT 500/10 no-hook pool key', () => {
    const key = encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'uint24' }, { type: 'int24' }, { type: 'address' }],
      [ZERO, USDT, 500, 10, ZERO],
    )
    expect(keccak256(key)).toBe(swapFx.pool.id)
  })
})

describe('uniswap-v4 Initialize (rebuilt from the real pool key)', () => {
  it('decodes to a singleton pool keyed by pool id, native ETH as NATIVE_TOKEN', () => {
    expect(initFx.rebuilt).toMatch(/initial sqrtPriceX96 and tick are NOT known/)
    expect(uniswapV4.decodePoolCreated(initLog, dex, CHAIN)).toEqual({ ...pool, createdBlock: 1n })
  })

  it('is discovered by discoverPools from the PoolManager and routes the real Swap to it', () => {
    const pools = discoverPools([initLog], new Map([[PM, { dex, family: uniswapV4 }]]), CHAIN)
    expect(pools).toEqual([pool])
    const registry = new Map(pools.map((p) => [p.address, p]))
    const singletons = new Set([PM])
    expect(poolLogs([swapLog], registry, singletons)).toEqual([swapLog])
    const r = decodeRange([swapLog], registry, ctx, singletons)
    expect(r.rejected).toEqual([])
    expect(r.swaps.map((s) => [s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([[NATIVE_TOKEN, 100_000_000_000_000n, USDT, 255_622n]])
  })

  it('keeps a dynamic-fee pool key fee raw (0x800000) and a hook address', () => {
    const hooks = '0x00000000000000000000000000000000000000c0' as Address // BEFORE_SWAP | AFTER_SWAP, no delta bits
    const log: RawLog = {
      ...initLog,
      data: encodeAbiParameters(
        [{ type: 'uint24' }, { type: 'int24' }, { type: 'address' }, { type: 'uint160' }, { type: 'int24' }],
        [0x800000, 60, hooks, 2n ** 96n, 0],
      ),
    }
    const p = uniswapV4.decodePoolCreated(log, dex, CHAIN)
    expect(p?.fee).toBe(8_388_608)
    expect(p?.hooks).toBe(hooks)
    expect(p?.tickSpacing).toBe(60)
  })

  it('throws with context on a malformed Initialize', () => {
    const short: RawLog = { ...initLog, data: initLog.data.slice(0, 2 + 4 * 64) as Hex }
    const noCurrency: RawLog = { ...initLog, topics: initLog.topics.slice(0, 3) }
    const badFee: RawLog = { ...initLog, data: `0x${'f'.repeat(64)}${initLog.data.slice(66)}` }
    for (const bad of [short, noCurrency, badFee]) {
      let err: unknown
      try {
        uniswapV4.decodePoolCreated(bad, dex, CHAIN)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(DecodeError)
      expect((err as DecodeError).message).toMatch(/undecodable Initialize/)
      expect((err as DecodeError).context).toMatchObject({ chainId: CHAIN, block: 1n, logIndex: 0, pool: PM })
    }
  })
})

describe('uniswap-v4 Swap (real mainnet log)', () => {
  it('viem decodes the fixture to the hand-checked words', () => {
    const d = decodeEventLog({ abi: uniswapV4Abi, topics: swapFx.log.topics as [Hex, ...Hex[]], data: swapFx.log.data })
    expect(d.eventName).toBe('Swap')
    expect(d.args).toEqual({
      id: POOL_ID,
      sender: getAddress(swapFx.decoded.sender),
      amount0: BigInt(swapFx.decoded.amount0),
      amount1: BigInt(swapFx.decoded.amount1),
      sqrtPriceX96: BigInt(swapFx.decoded.sqrtPriceX96),
      liquidity: BigInt(swapFx.decoded.liquidity),
      tick: swapFx.decoded.tick,
      fee: swapFx.decoded.fee,
    })
  })

  it('turns swapper-side deltas into the pool side: the pool received ETH and paid USDT', () => {
    const r = uniswapV4.decodePoolLog(swapLog, pool, ctx, new Map())
    // amount0 = 0xffff…a50cef85c000 = -0x5af3107a4000 = -100000000000000 (the swapper paid 0.0001 ETH);
    // amount1 = 0x3e686 = +255622 (the swapper received 0.255622 USDT, the receipt's USDT Transfer).
    expect(r.reject).toBeUndefined()
    expect(r.swap).toEqual({
      chainId: 1,
      dex,
      pool: POOL_ID,
      blockNumber: 22_570_228n,
      blockHash: swapFx.log.blockHash,
      blockTime: BLOCK_TIME,
      txHash: swapFx.log.transactionHash,
      logIndex: 492,
      trader: '0x67d0df6735122f4f9758f9ee54ed233746681a7f',
      sender: '0x66a9893cc07d91d95644aedd05d03f95e1dba8af',
      recipient: '0x66a9893cc07d91d95644aedd05d03f95e1dba8af',
      tokenIn: NATIVE_TOKEN,
      tokenOut: USDT,
      amountIn: 100_000_000_000_000n,
      amountOut: 255_622n,
      decimalsIn: 18,
      decimalsOut: 6,
      sqrtPriceX96: 4_006_710_854_150_722_187_648_637n,
      liquidity: 1_230_893_874_400_455_117n,
      tick: -197_853,
    })
    // Price: (sqrtP / 2^96)^2 · 10^(18-6) = 2557.507… USDT per ETH; 255622 / 10^6 / 0.0001 = 2556.22
    // USDT per ETH paid (the 0.05% fee and the move across the trade in between).
    expect(r.price?.base).toBe(NATIVE_TOKEN)
    expect(r.price?.quote).toBe(USDT)
    expect(r.price?.price).toBeCloseTo(2557.5070383625, 8)
    // Depth: liquidity · sqrtP >> 96 = 62248519848986 raw USDT = 62248519.848986 USDT.
    expect(r.price?.quoteDepth).toBeCloseTo(62_248_519.848986, 6)
  })

  it('the other direction: a swapper receiving ETH for USDT has tokenIn USDT', () => {
    const flipped: RawLog = {
      ...swapLog,
      data: encodeAbiParameters(
        [{ type: 'int128' }, { type: 'int128' }, { type: 'uint160' }, { type: 'uint128' }, { type: 'int24' }, { type: 'uint24' }],
        [100_000_000_000_000n, -255_622n, 4_006_710_854_150_722_187_648_637n, 1_230_893_874_400_455_117n, -197_853, 500],
      ),
    }
    const s = uniswapV4.decodePoolLog(flipped, pool, ctx, new Map()).swap
    expect([s?.tokenIn, s?.amountIn, s?.tokenOut, s?.amountOut]).toEqual([USDT, 255_622n, NATIVE_TOKEN, 100_000_000_000_000n])
  })

  it('a pool whose hook has a *_RETURNS_DELTA permission gives the price and a reject, no swap', () => {
    for (const [hooks, flag] of [
      ['0x0000000000000000000000000000000000000088', 'BEFORE_SWAP_RETURNS_DELTA'], // bits 7 and 3
      ['0x0000000000000000000000000000000000000044', 'AFTER_SWAP_RETURNS_DELTA'], // bits 6 and 2
    ] as const) {
      const r = uniswapV4.decodePoolLog(swapLog, { ...pool, hooks }, ctx, new Map())
      expect(r.swap).toBeUndefined()
      expect(r.price?.price).toBeCloseTo(2557.5070383625, 8)
      expect(r.reject).toBe(`uniswap-v4 hook ${hooks} has ${flag}: it can change what the swapper paid and received, so the Swap amounts are not the trade`)
    }
    // BEFORE_SWAP | AFTER_SWAP without the delta bits, and every other non-swap-delta bit: a normal swap.
    expect(deltaReturningHookReason('0x00000000000000000000000000000000000033f3')).toBeNull()
    const plain = uniswapV4.decodePoolLog(swapLog, { ...pool, hooks: '0x00000000000000000000000000000000000000c0' }, ctx, new Map())
    expect(plain.swap?.amountOut).toBe(255_622n)
    expect(plain.reject).toBeUndefined()
  })

  it('the delta-hook reject reaches rejected_logs through decodeRange, the price kept', () => {
    const hooked = { ...pool, hooks: '0x0000000000000000000000000000000000000088' as Address }
    const r = decodeRange([swapLog], new Map([[POOL_ID, hooked]]), ctx, new Set([PM]))
    expect(r.swaps).toEqual([])
    expect(r.prices).toHaveLength(1)
    expect(r.rejected.map((x) => x.error.message)).toEqual([expect.stringMatching(/BEFORE_SWAP_RETURNS_DELTA/)])
    // The rejected log names the pool by id and the PoolManager that emitted it.
    expect(r.rejected[0]!.error.context.pool).toBe(`${POOL_ID} of ${swapLog.address}`)
  })

  it('no decimals: a swap but no price', () => {
    const noDec: DecodeContext = { ...ctx, token: () => undefined }
    const r = uniswapV4.decodePoolLog(swapLog, pool, noDec, new Map())
    expect(r.price).toBeUndefined()
    expect(r.swap?.decimalsIn).toBeNull()
  })

  it('throws with context on malformed Swaps and missing context', () => {
    const cases: [RawLog, PoolInfo, DecodeContext, RegExp][] = [
      [{ ...swapLog, data: swapLog.data.slice(0, 2 + 5 * 64) as Hex }, pool, ctx, /undecodable Swap/],
      [{ ...swapLog, data: `${swapLog.data}00` as Hex }, pool, ctx, /undecodable Swap/],
      [{ ...swapLog, topics: swapLog.topics.slice(0, 2) }, pool, ctx, /undecodable Swap/],
      [{ ...swapLog, topics: [swapLog.topics[0]!, `0x${'ab'.repeat(32)}`, swapLog.topics[2]!] }, pool, ctx, /undecodable Swap/],
      // amount0 = 2^127: outside int128.
      [{ ...swapLog, data: `0x${(1n << 127n).toString(16).padStart(64, '0')}${swapLog.data.slice(66)}` }, pool, ctx, /int128/],
      [swapLog, { ...pool, hooks: undefined }, ctx, /without a hooks address/],
      [swapLog, pool, { ...ctx, txFrom: () => undefined }, /no transaction sender/],
      [swapLog, pool, { ...ctx, blockTime: () => undefined }, /no block time/],
    ]
    for (const [log, p, c, msg] of cases) {
      let err: unknown
      try {
        uniswapV4.decodePoolLog(log, p, c, new Map())
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(DecodeError)
      expect((err as DecodeError).message).toMatch(msg)
      expect((err as DecodeError).context).toMatchObject({ chainId: 1, block: 22_570_228n, tx: swapFx.log.transactionHash, logIndex: 492, pool: PM })
    }
  })

  it('ignores a log with another topic0', () => {
    const other: RawLog = { ...swapLog, topics: [encodeEventTopics({ abi: uniswapV4Abi, eventName: 'Initialize' })[0]!, ...swapLog.topics.slice(1)] }
    expect(uniswapV4.decodePoolLog(other, pool, ctx, new Map())).toEqual({})
  })
})

/** One ABI word of `v`, two's complement for a negative value (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')

describe('uniswap-v4 amounts no pool can produce', () => {
  /** The real Swap with its two delta words replaced (swapper side: negative = the swapper paid). */
  const swapWith = (amount0: bigint, amount1: bigint): RawLog => ({ ...swapLog, data: `0x${word(amount0)}${word(amount1)}${swapLog.data.slice(2 + 2 * 64)}` })
  const where = `(chain 1, block 22570228, tx ${swapFx.log.transactionHash}, log 492, pool ${POOL_ID} of ${PM})`
  const rejectedBy = (log: RawLog) => {
    const r = decodeRange([log], new Map([[POOL_ID, pool]]), ctx, new Set([PM]))
    expect(r.swaps).toEqual([])
    expect(r.prices).toEqual([])
    return r.rejected.map((x) => x.error.message.split('\n')[0])
  }

  it('rejects the words 2^255 and 2^256 − 1 as amounts outside int128 or paying both, naming the field and value', () => {
    expect(rejectedBy(swapWith(2n ** 255n, -255_622n))).toEqual([
      `Swap amount0 -57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not an int128 ${where}`,
    ])
    // 2^256 − 1 is int128 -1 (the swapper paid 1 wei of ETH); with the USDT side also paid by the swapper: the pool received both.
    expect(rejectedBy(swapWith(2n ** 256n - 1n, -255_622n))).toEqual([
      `Swap amount0 -1 and amount1 -255622: the pool received both tokens, a swap pays one out ${where}`,
    ])
    expect(rejectedBy(swapWith(2n ** 127n, -255_622n))).toEqual([
      `Swap amount0 170141183460469231731687303715884105728 is out of range: not an int128 ${where}`,
    ])
  })

  it('rejects a swapper receiving both currencies, or receiving one for nothing', () => {
    expect(rejectedBy(swapWith(100_000_000_000_000n, 255_622n))).toEqual([
      `Swap amount0 100000000000000 and amount1 255622: the pool paid both tokens, a swap takes one in ${where}`,
    ])
    expect(rejectedBy(swapWith(0n, 255_622n))).toEqual([
      `Swap amount0 0 and amount1 255622: the pool paid a token and received nothing ${where}`,
    ])
  })
})
