import type { Address, Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { DexFamily, DexRef, NormalizedSwap, PoolInfo, PriceObservation } from '../../src/domain/types.ts'
import { priceFromSqrtX96, toUnits } from '../../src/domain/price-math.ts'
import type { DecodeContext, Family, PoolLogResult } from '../../src/indexer/family.ts'
import { logDecodeError as decodeError } from '../../src/indexer/log-decode-error.ts'
import { swapSides } from '../../src/indexer/pool-flows.ts'
import { addressWord, intWord, isHexData, smallIntWord, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import { V3_POOL_CREATED_TOPIC, V3_SWAP_TOPIC } from './abi.ts'

/**
 * What tells one V3-layout family from another: its name, its factory's pool-creation topic and its
 * pool's Swap topic and data length. The Swap's first five data words are Uniswap V3's (amount0,
 * amount1, sqrtPriceX96, liquidity, tick); a fork may append words (PancakeSwap V3: its two
 * protocol fees), which are checked for length and not read.
 */
export type V3FamilyOptions = { family: DexFamily; poolCreatedTopic: Hex; swapTopic: Hex; swapWords: number }

/**
 * A concentrated-liquidity family with Uniswap V3's factory and Swap layout. Swap amounts are
 * signed from the pool's side: positive = the pool received that token. Every Swap is also a
 * price observation (sqrtPriceX96 after the swap).
 */
export function createV3Family({ family, poolCreatedTopic, swapTopic, swapWords }: V3FamilyOptions): Family {
  return {
    family,
    discovery: 'factory',
    poolCreatedTopic,
    poolTopics: [swapTopic],

    decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo {
      const token0 = topicAddress(log.topics[1])
      const token1 = topicAddress(log.topics[2])
      const feeTopic = log.topics[3]
      if (!token0 || !token1 || !feeTopic || !isHexData(log.data) || wordCount(log.data) !== 2)
        throw decodeError('undecodable PoolCreated', log, chainId)
      return {
        chainId,
        dex,
        address: addressWord(log.data, 1),
        token0,
        token1,
        fee: Number(BigInt(feeTopic)),
        createdBlock: log.blockNumber,
      }
    },

    decodePoolLog(log, pool, ctx): PoolLogResult {
      if (log.topics[0] !== swapTopic) return {}
      const sender = topicAddress(log.topics[1])
      const recipient = topicAddress(log.topics[2])
      if (!sender || !recipient || log.topics.length !== 3 || !isHexData(log.data) || wordCount(log.data) !== swapWords)
        throw decodeError('undecodable Swap', log, ctx.chainId)
      const amount0 = intWord(log.data, 0)
      const amount1 = intWord(log.data, 1)
      const impossible = impossibleSwapFlows(amount0, amount1, { amount0, amount1 }, V3_DELTA)
      if (impossible !== null) throw decodeError(`Swap ${impossible}`, log, ctx.chainId)
      const sqrtPriceX96 = uintWord(log.data, 2)
      const liquidity = uintWord(log.data, 3)
      const tick = smallIntWord(log.data, 4)
      const blockTime = ctx.blockTime(log.blockNumber)
      const d0 = ctx.token(pool.token0)?.decimals ?? null
      const d1 = ctx.token(pool.token1)?.decimals ?? null
      if (blockTime === undefined) throw decodeError('no block time for Swap', log, ctx.chainId)

      const price = concentratedPrice(log, pool, ctx.chainId, { blockTime, sqrtPriceX96, liquidity, d0, d1 })

      // Nothing received by the pool: no trade (a zero-amount swap), but still a price.
      const swap = concentratedTrade(log, pool, ctx, { sender, recipient, net0: amount0, net1: amount1, sqrtPriceX96, liquidity, tick, blockTime, d0, d1 })
      if (swap) return { price, swap }
      return price ? { price } : {}
    },
  }
}

/** The range of a concentrated-liquidity Swap's amount: `min` ≤ amount ≤ `max`, as `name` says. */
export type DeltaRange = { min: bigint; max: bigint; name: string }

/**
 * A V3 pool's Swap amounts are int256, each made from a uint256 below 2^255 (SafeCast.toInt256)
 * or its negation: −2^255, the one int256 that is neither, is no amount of a pool (a uint256 word
 * of 2^255 read as int256).
 */
export const V3_DELTA: DeltaRange = { min: -(1n << 255n) + 1n, max: (1n << 255n) - 1n, name: 'an int256 above -2^255' }

/**
 * Why a concentrated-liquidity Swap's amounts are not a swap any pool made, or null. `net0`/`net1`
 * are the pool's side (positive: the pool received that token), `stated` the event's own words
 * (V3: the same; V4: the swapper's side) for the message. A swap takes one token in and pays the
 * other out: the pool receives a positive amount of exactly one token and pays zero or more of the
 * other (an exact-input swap of dust pays nothing). Receiving both, paying both, or paying without
 * receiving is none. Both zero is a swap that moved only the price (through ticks without
 * liquidity): not a trade, not impossible.
 */
export function impossibleSwapFlows(net0: bigint, net1: bigint, stated: { amount0: bigint; amount1: bigint }, range: DeltaRange): string | null {
  for (const field of ['amount0', 'amount1'] as const) {
    const v = stated[field]
    if (v < range.min || v > range.max) return `${field} ${v} is out of range: not ${range.name}`
  }
  const amounts = `amount0 ${stated.amount0} and amount1 ${stated.amount1}`
  if (net0 > 0n && net1 > 0n) return `${amounts}: the pool received both tokens, a swap pays one out`
  if (net0 < 0n && net1 < 0n) return `${amounts}: the pool paid both tokens, a swap takes one in`
  if ((net0 < 0n && net1 === 0n) || (net1 < 0n && net0 === 0n)) return `${amounts}: the pool paid a token and received nothing`
  return null
}

/** Uniswap V3 and its exact forks (same events, same topics: SushiSwap V3 …). */
export const uniswapV3: Family = createV3Family({
  family: 'uniswap-v3',
  poolCreatedTopic: V3_POOL_CREATED_TOPIC,
  swapTopic: V3_SWAP_TOPIC,
  swapWords: 5,
})

/**
 * The trade of a concentrated-liquidity Swap (V3, its forks, V4) from the pool's signed net flows
 * (positive: the pool received that token) and its state after the swap; null when the pool
 * received nothing (not a trade). The trader is the transaction sender.
 */
export function concentratedTrade(
  log: RawLog,
  pool: PoolInfo,
  ctx: DecodeContext,
  s: {
    sender: Address
    recipient: Address
    net0: bigint
    net1: bigint
    sqrtPriceX96: bigint
    liquidity: bigint
    tick: number
    blockTime: number
    d0: number | null
    d1: number | null
  },
): NormalizedSwap | null {
  const sides = swapSides(pool, s.net0, s.net1)
  if (!sides) return null
  const { tokenIn, tokenOut, amountIn, amountOut } = sides
  const trader = ctx.txFrom(log.transactionHash)
  if (!trader) throw decodeError('no transaction sender for Swap', log, ctx.chainId)
  return {
    chainId: ctx.chainId,
    dex: pool.dex,
    pool: pool.address,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    blockTime: s.blockTime,
    txHash: log.transactionHash,
    logIndex: log.logIndex,
    trader,
    sender: s.sender,
    recipient: s.recipient,
    tokenIn,
    tokenOut,
    amountIn,
    amountOut,
    decimalsIn: tokenIn === pool.token0 ? s.d0 : s.d1,
    decimalsOut: tokenOut === pool.token0 ? s.d0 : s.d1,
    sqrtPriceX96: s.sqrtPriceX96,
    liquidity: s.liquidity,
    tick: s.tick,
  }
}

/**
 * The price observation of a concentrated-liquidity pool after a swap (V3, its forks, V4):
 * token1 per token0 from sqrtPriceX96, with the in-range depth below. A pool with no liquidity in
 * range moves its price for free (a zero-amount swap to any price limit): it prices nothing, nor
 * does a pool whose decimals are unknown.
 */
export function concentratedPrice(
  log: RawLog,
  pool: PoolInfo,
  chainId: number,
  s: { blockTime: number; sqrtPriceX96: bigint; liquidity: bigint; d0: number | null; d1: number | null },
): PriceObservation | undefined {
  if (s.d0 === null || s.d1 === null || s.sqrtPriceX96 === 0n || s.liquidity === 0n) return undefined
  return {
    chainId,
    pool: pool.address,
    blockNumber: log.blockNumber,
    blockTime: s.blockTime,
    txHash: log.transactionHash,
    logIndex: log.logIndex,
    base: pool.token0,
    quote: pool.token1,
    price: priceFromSqrtX96(s.sqrtPriceX96, s.d0, s.d1),
    quoteDepth: inRangeToken1(s.liquidity, s.sqrtPriceX96, s.d1),
  }
}

/**
 * The pool's depth in token1 for the price guards: the virtual reserve of token1 at the current
 * price, y = L·√P = liquidity · sqrtPriceX96 / 2^96 (raw units, floored), in whole tokens, from
 * the Swap event alone (no balance read). A small trade moves the price as it would in a V2 pair
 * with these virtual reserves. Concentrated liquidity can leave the range: only the positions in
 * range at this tick count, so the figure falls when a trade pushes the price out of them, and
 * positions just outside are not counted. Known limit: a narrow position's virtual reserve is far
 * larger than the tokens it holds (a position one tick wide holds at most about 1/20,000 of it), so this
 * measures price impact near the current price, not money at stake; the Uniswap v3 subgraph
 * measures a pool by its token balances instead. Rounding, named: the floored bigint is converted
 * to float64 by `toUnits`.
 */
function inRangeToken1(liquidity: bigint, sqrtPriceX96: bigint, decimals1: number): number {
  return toUnits((liquidity * sqrtPriceX96) >> 96n, decimals1)
}
