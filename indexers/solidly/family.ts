import type { Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { DexFamily, DexRef, PoolInfo } from '../../src/domain/types.ts'
import type { Family, PoolLogResult } from '../../src/indexer/family.ts'
import { logDecodeError as decodeError, type AmountBound } from '../../src/indexer/log-decode-error.ts'
import { addressWord, isHexData, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import { decodeV2Swap, decodeV2Sync } from '../uniswap-v2/family.ts'
import {
  AERODROME_POOL_CREATED_TOPIC,
  AERODROME_SWAP_TOPIC,
  SOLIDLY_SYNC_TOPIC,
  VELODROME_V1_PAIR_CREATED_TOPIC,
  VELODROME_V1_SWAP_TOPIC,
} from './abi.ts'

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
/**
 * What a Solidly pool's Sync reserves and Swap amounts can be. Unlike Uniswap V2, Solidly pools keep
 * their reserves as uint256 (Velodrome v1 `Pair`, Aerodrome `Pool`), so the bound comes from the
 * pools' arithmetic, not a storage type: a stable pool's invariant squares each balance scaled to
 * 18 decimals (`_x * _x` in Solidity 0.8's checked arithmetic, which reverts from 2^128 on); a
 * volatile pool's `x * y` must fit 256 bits, so a reserve at 2^128 or more leaves the other side
 * below 2^128. dexrisk takes 2^128 for both kinds: 3.4·10^20 whole tokens of an 18-decimal token,
 * beyond any real token's supply.
 */
export const SOLIDLY_AMOUNT: AmountBound = { limit: 1n << 128n, name: 'below 2^128', why: "a Solidly stable pool squares its 18-decimal balances, and no real token's supply reaches it" }

function solidlyFamily(opts: { family: DexFamily; swapTopic: Hex; poolCreatedTopic: Hex; poolCreatedName: string }): Family {
  const { swapTopic, poolCreatedName } = opts
  return {
    family: opts.family,
    discovery: 'factory',
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
      // Only a pool known to be volatile prices by reserves (see above). The pool moves the fee out
      // (to its fees contract) before Sync, so amountIn is what the trader paid, fee included.
      if (topic0 === SOLIDLY_SYNC_TOPIC) return decodeV2Sync(log, pool, ctx, state, { priced: pool.stable === false, bound: SOLIDLY_AMOUNT })
      if (topic0 === swapTopic) return decodeV2Swap(log, pool, ctx, state, SOLIDLY_AMOUNT)
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
