import type { Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { DexFamily, DexRef, PoolInfo } from '../../src/domain/types.ts'
import { priceFromReserves, toUnits } from '../../src/domain/price-math.ts'
import type { DecodeContext, Family, PoolLogResult } from '../../src/indexer/family.ts'
import { logDecodeError as decodeError } from '../../src/indexer/log-decode-error.ts'
import { swapSides } from '../../src/indexer/pool-flows.ts'
import { addressWord, isHexData, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import {
  AERODROME_POOL_CREATED_TOPIC,
  AERODROME_SWAP_TOPIC,
  SOLIDLY_SYNC_TOPIC,
  VELODROME_V1_PAIR_CREATED_TOPIC,
  VELODROME_V1_SWAP_TOPIC,
} from './abi.ts'

type Sync = { txHash: string; logIndex: number; reserve0: bigint; reserve1: bigint }

/**
 * Solidly-style pools: Velodrome v1 ('velodrome-v1') and Aerodrome / Velodrome v2 ('aerodrome').
 * Both generations share the Swap data layout (amount0In, amount1In, amount0Out, amount1Out, with
 * sender and to as topics), Sync(uint256,uint256) right before Swap, and a factory event carrying
 * the pool's `stable` flag; they differ in the Swap and factory-event topic0s (indexers/solidly/abi.ts).
 *
 * Prices. A volatile pool is x·y = k: its reserve ratio is its marginal price, so its Sync is a
 * price observation exactly as in Uniswap V2. A stable pool is x³y + y³x = k: its reserve ratio is
 * not its price (a 60/40 USDC/USDT stable pool still quotes ≈1), so a stable pool gives no price
 * observation. Its swaps are decoded as swaps (with the reserves), and its tokens are priced by
 * the volatile pools, stablecoin config and oracles. A price from the swap's own amounts was
 * rejected: it is an execution price (fee and price impact included, any size from dust to a
 * manipulation), not the marginal price every other observation is, and the quote-depth guard has
 * no such number for it. A pool whose flag is unknown (stored before `pools.stable` existed) is
 * treated as stable: no price, fail closed.
 */
function solidlyFamily(opts: { family: DexFamily; swapTopic: Hex; poolCreatedTopic: Hex; poolCreatedName: string }): Family {
  const { swapTopic, poolCreatedName } = opts
  return {
    family: opts.family,
    poolCreatedTopic: opts.poolCreatedTopic,
    poolTopics: [swapTopic, SOLIDLY_SYNC_TOPIC],

    decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo {
      const token0 = topicAddress(log.topics[1])
      const token1 = topicAddress(log.topics[2])
      if (!token0 || !token1 || !isHexData(log.data)) throw decodeError(`undecodable ${poolCreatedName}`, log, chainId)
      // Same topic0, two layouts: `bool indexed stable` (Aerodrome, Velodrome v2, the later
      // Velodrome PairFactory) puts the flag in topics[3]; Velodrome v1's unindexed `bool stable`
      // is the first data word.
      let stable: boolean | undefined
      let address
      if (log.topics.length === 4 && wordCount(log.data) === 2) {
        stable = boolWord(topicWord(log.topics[3]))
        address = addressWord(log.data, 0)
      } else if (log.topics.length === 3 && wordCount(log.data) === 3) {
        stable = boolWord(uintWord(log.data, 0))
        address = addressWord(log.data, 1)
      }
      if (stable === undefined || address === undefined) throw decodeError(`undecodable ${poolCreatedName}`, log, chainId)
      return { chainId, dex, address, token0, token1, fee: null, stable, createdBlock: log.blockNumber }
    },

    decodePoolLog(log, pool, ctx, state): PoolLogResult {
      const topic0 = log.topics[0]
      if (topic0 === SOLIDLY_SYNC_TOPIC) return decodeSync(log, pool, ctx, state)
      if (topic0 === swapTopic) return decodeSwap(log, pool, ctx, state)
      return {}
    },
  }
}

/** Velodrome v1 pairs (Optimism). Its Swap topic0 is Uniswap V2's: the pool's family decides. */
export const velodromeV1: Family = solidlyFamily({
  family: 'velodrome-v1',
  swapTopic: VELODROME_V1_SWAP_TOPIC,
  poolCreatedTopic: VELODROME_V1_PAIR_CREATED_TOPIC,
  poolCreatedName: 'PairCreated',
})

/** Aerodrome (Base) and Velodrome v2 (Optimism) pools: the same contracts, one family. */
export const aerodrome: Family = solidlyFamily({
  family: 'aerodrome',
  swapTopic: AERODROME_SWAP_TOPIC,
  poolCreatedTopic: AERODROME_POOL_CREATED_TOPIC,
  poolCreatedName: 'PoolCreated',
})

/** An ABI bool: exactly 0 or 1, anything else is not a bool (undefined). */
function boolWord(word: bigint | undefined): boolean | undefined {
  return word === 0n ? false : word === 1n ? true : undefined
}

function topicWord(topic: Hex | undefined): bigint | undefined {
  return topic !== undefined && /^0x[0-9a-fA-F]{64}$/.test(topic) ? BigInt(topic) : undefined
}

function decodeSync(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>): PoolLogResult {
  if (log.topics.length !== 1 || !isHexData(log.data) || wordCount(log.data) !== 2)
    throw decodeError('undecodable Sync', log, ctx.chainId)
  const reserve0 = uintWord(log.data, 0)
  const reserve1 = uintWord(log.data, 1)
  state.set(pool.address, { txHash: log.transactionHash, logIndex: log.logIndex, reserve0, reserve1 } satisfies Sync)
  // Only a pool known to be volatile prices by reserves (see solidlyFamily).
  if (pool.stable !== false) return {}
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

function decodeSwap(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>): PoolLogResult {
  const sender = topicAddress(log.topics[1])
  const to = topicAddress(log.topics[2])
  if (!sender || !to || log.topics.length !== 3 || !isHexData(log.data) || wordCount(log.data) !== 4)
    throw decodeError('undecodable Swap', log, ctx.chainId)
  // The pool's net flows. amountIn is what the trader paid in, fee included (the pool moves the fee
  // out to its fees contract before Sync).
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
