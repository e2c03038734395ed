import type { RawLog } from '../../src/domain/log.ts'
import type { DexRef, PoolInfo } from '../../src/domain/types.ts'
import { priceFromReserves, toUnits } from '../../src/domain/price-math.ts'
import type { DecodeContext, Family, PoolLogResult } from '../../src/indexer/family.ts'
import { checkAmount, logDecodeError as decodeError, type AmountBound } from '../../src/indexer/log-decode-error.ts'
import { swapSides } from '../../src/indexer/pool-flows.ts'
import { addressWord, isHexData, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import { V2_PAIR_CREATED_TOPIC, V2_SWAP_TOPIC, V2_SYNC_TOPIC } from './abi.ts'

type Sync = { txHash: string; logIndex: number; reserve0: bigint; reserve1: bigint }

/**
 * A Uniswap V2 pair keeps its reserves as uint112 and reverts (`UniswapV2: OVERFLOW`) when a
 * balance would not fit one, so no Sync reserve and no Swap amount of a pair reaches 2^112: an
 * amount in is at most the balance after the swap, an amount out at most the reserve before it.
 */
export const V2_AMOUNT: AmountBound = { limit: 1n << 112n, name: 'below 2^112', why: "a Uniswap V2 pair's reserves are uint112" }

const SWAP_FIELDS = ['amount0In', 'amount1In', 'amount0Out', 'amount1Out'] as const

/**
 * Uniswap V2 and its forks. A pair emits Sync (reserves after the change) right before Swap, so a
 * Swap carries the reserves of the Sync at logIndex − 1 in the same transaction, and every Sync is
 * a price observation of token0 in token1 (mid price from reserves).
 */
export const uniswapV2: Family = {
  family: 'uniswap-v2',
  discovery: 'factory',
  poolCreatedTopic: V2_PAIR_CREATED_TOPIC,
  poolTopics: [V2_SWAP_TOPIC, V2_SYNC_TOPIC],

  decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo {
    const token0 = topicAddress(log.topics[1])
    const token1 = topicAddress(log.topics[2])
    if (!token0 || !token1 || !isHexData(log.data) || wordCount(log.data) !== 2)
      throw decodeError('undecodable PairCreated', log, chainId)
    return {
      chainId,
      dex,
      address: addressWord(log.data, 0),
      token0,
      token1,
      fee: null,
      createdBlock: log.blockNumber,
    }
  },

  decodePoolLog(log, pool, ctx, state): PoolLogResult {
    const topic0 = log.topics[0]
    if (topic0 === V2_SYNC_TOPIC) return decodeV2Sync(log, pool, ctx, state, { priced: true, bound: V2_AMOUNT })
    if (topic0 === V2_SWAP_TOPIC) return decodeV2Swap(log, pool, ctx, state, V2_AMOUNT)
    return {}
  },
}

/**
 * A Sync (two reserve words; V2's uint112 and Solidly's uint256 encode alike): kept in `state` for
 * the Swap that follows, and a price observation unless `priced` is false (a Solidly stable pool,
 * whose reserve ratio is not its price). A reserve at or above `bound` is no reserve of the pool:
 * the log is rejected.
 */
export function decodeV2Sync(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>, opts: { priced: boolean; bound: AmountBound }): PoolLogResult {
  if (log.topics.length !== 1 || !isHexData(log.data) || wordCount(log.data) !== 2)
    throw decodeError('undecodable Sync', log, ctx.chainId)
  const reserve0 = uintWord(log.data, 0)
  const reserve1 = uintWord(log.data, 1)
  checkAmount('Sync', 'reserve0', reserve0, opts.bound, log, ctx.chainId)
  checkAmount('Sync', 'reserve1', reserve1, opts.bound, log, ctx.chainId)
  state.set(pool.address, { txHash: log.transactionHash, logIndex: log.logIndex, reserve0, reserve1 } satisfies Sync)
  if (!opts.priced) return {}
  const d0 = ctx.token(pool.token0)?.decimals
  const d1 = ctx.token(pool.token1)?.decimals
  const time = ctx.blockTime(log.blockNumber)
  if (d0 == null || d1 == null || time === undefined || reserve0 === 0n || reserve1 === 0n) return {}
  return {
    price: {
      chainId: ctx.chainId,
      pool: pool.address,
      blockNumber: log.blockNumber,
      blockTime: time,
      txHash: log.transactionHash,
      logIndex: log.logIndex,
      base: pool.token0,
      quote: pool.token1,
      price: priceFromReserves(reserve0, reserve1, d0, d1),
      quoteDepth: toUnits(reserve1, d1),
    },
  }
}

/**
 * A Swap with sender and to as topics and amount0In, amount1In, amount0Out, amount1Out as data: V2's
 * and every Solidly generation's (Aerodrome moved `to` in the signature, not in the encoding).
 * Each amount must be within `bound` (the family's: what its pools can hold), or the log is
 * rejected naming the field.
 */
export function decodeV2Swap(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>, bound: AmountBound): PoolLogResult {
  const sender = topicAddress(log.topics[1])
  const to = topicAddress(log.topics[2])
  if (!sender || !to || log.topics.length !== 3 || !isHexData(log.data) || wordCount(log.data) !== 4)
    throw decodeError('undecodable Swap', log, ctx.chainId)
  SWAP_FIELDS.forEach((field, i) => checkAmount('Swap', field, uintWord(log.data, i), bound, log, ctx.chainId))
  // The pool's net flows: what it received on one side and paid on the other.
  const sides = swapSides(pool, uintWord(log.data, 0) - uintWord(log.data, 2), uintWord(log.data, 1) - uintWord(log.data, 3))
  if (!sides) return {}
  const { tokenIn, tokenOut, amountIn, amountOut } = sides
  const trader = ctx.txFrom(log.transactionHash)
  const blockTime = ctx.blockTime(log.blockNumber)
  if (!trader || blockTime === undefined)
    throw decodeError('no transaction sender or block time for Swap', log, ctx.chainId)
  const sync = state.get(pool.address) as Sync | undefined
  const reserves =
    sync && sync.txHash === log.transactionHash && sync.logIndex === log.logIndex - 1
      ? { reserve0: sync.reserve0, reserve1: sync.reserve1 }
      : {}
  return {
    swap: {
      chainId: ctx.chainId,
      dex: pool.dex,
      pool: pool.address,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      blockTime,
      txHash: log.transactionHash,
      logIndex: log.logIndex,
      trader,
      sender,
      recipient: to,
      tokenIn,
      tokenOut,
      amountIn,
      amountOut,
      decimalsIn: ctx.token(tokenIn)?.decimals ?? null,
      decimalsOut: ctx.token(tokenOut)?.decimals ?? null,
      ...reserves,
    },
  }
}
