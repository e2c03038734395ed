import type { Address } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import { NATIVE_TOKEN, type DexRef, type PoolInfo } from '../../src/domain/types.ts'
import type { Family, PoolLogResult } from '../../src/indexer/family.ts'
import { concentratedPrice, concentratedTrade, impossibleSwapFlows, type DeltaRange } from '../uniswap-v3/family.ts'
import { logDecodeError as decodeError } from '../../src/indexer/log-decode-error.ts'
import { addressWord, intWord, isHexData, smallIntWord, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import {
  AFTER_SWAP_RETURNS_DELTA_FLAG,
  BEFORE_SWAP_RETURNS_DELTA_FLAG,
  V4_INITIALIZE_TOPIC,
  V4_INITIALIZE_WORDS,
  V4_SWAP_TOPIC,
  V4_SWAP_WORDS,
} from './abi.ts'

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'
/** A V4 Swap's amounts are a BalanceDelta's two int128 halves (SafeCast.toInt128 in Pool.swap). */
const V4_DELTA: DeltaRange = { min: -(1n << 127n), max: (1n << 127n) - 1n, name: 'an int128' }

/** A V4 currency as a dexrisk token: address zero (native ETH) is NATIVE_TOKEN. */
function v4Currency(currency: Address): Address {
  return currency === ZERO_ADDRESS ? NATIVE_TOKEN : currency
}

/**
 * Why a hook makes a pool's Swap events untrustworthy as trades, or null when it does not.
 * Hooks.sol reads a hook's permissions from the low 14 bits of its address: with
 * BEFORE_SWAP_RETURNS_DELTA (bit 3) or AFTER_SWAP_RETURNS_DELTA (bit 2) the hook returns a delta
 * that PoolManager adds to the swapper's own (`beforeSwap` can take over part or all of the
 * specified amount before the pool swaps, `afterSwap` can charge or pay the unspecified currency
 * after it), so what the swapper paid and received is not the Swap event's amounts (which are the
 * pool's own swap only: the event is emitted before `afterSwap`). Other hook permissions cannot
 * change a swap's amounts.
 */
export function deltaReturningHookReason(hooks: Address): string | null {
  const bits = BigInt(hooks)
  const flags: string[] = []
  if (bits & BEFORE_SWAP_RETURNS_DELTA_FLAG) flags.push('BEFORE_SWAP_RETURNS_DELTA')
  if (bits & AFTER_SWAP_RETURNS_DELTA_FLAG) flags.push('AFTER_SWAP_RETURNS_DELTA')
  if (!flags.length) return null
  return `uniswap-v4 hook ${hooks} has ${flags.join(' and ')}: it can change what the swapper paid and received, so the Swap amounts are not the trade`
}

/**
 * Uniswap V4: one PoolManager (the config's `factory`) holds every pool and emits its events; a
 * pool is its PoolId (keccak256 of the pool key), the events' topics[1].
 *
 * `Initialize(id, currency0, currency1, fee, tickSpacing, hooks, sqrtPriceX96, tick)` registers a
 * pool. `fee` is the pool key's raw uint24: a static LP fee in hundredths of a bip, or exactly
 * 0x800000 (8388608, LPFeeLibrary.DYNAMIC_FEE_FLAG) for a dynamic-fee pool whose hook sets the fee
 * (each Swap's own `fee` word then carries the fee charged). It is kept raw, so `fee` of a V4 pool
 * is not a fee rate when it equals 0x800000.
 *
 * `Swap(id, sender, amount0, amount1, sqrtPriceX96, liquidity, tick, fee)`: amount0/amount1 are
 * the swap's BalanceDelta, the swapper's side (PoolManager._swap emits `delta.amount0()`; negative:
 * the swapper owes the pool, i.e. the pool received). That is the opposite of V3's pool-side sign
 * (IPoolManager's NatSpec says "delta of the pool", which the code contradicts), so the decoder
 * negates both before `swapSides`. `sender` is the contract that called `swap` (a router): the
 * event names no recipient, so the recipient is that sender. Every Swap with liquidity in range is
 * a price observation like V3's (sqrtPriceX96 after the swap, V3's in-range depth).
 */
export const uniswapV4: Family = {
  family: 'uniswap-v4',
  discovery: 'singleton',
  poolCreatedTopic: V4_INITIALIZE_TOPIC,
  poolTopics: [V4_SWAP_TOPIC],

  decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo {
    const id = log.topics[1]
    const currency0 = topicAddress(log.topics[2])
    const currency1 = topicAddress(log.topics[3])
    if (log.topics[0] !== V4_INITIALIZE_TOPIC || log.topics.length !== 4 || id === undefined || id.length !== 66 || !currency0 || !currency1)
      throw decodeError('undecodable Initialize', log, chainId)
    if (!isHexData(log.data) || wordCount(log.data) !== V4_INITIALIZE_WORDS) throw decodeError('undecodable Initialize', log, chainId)
    const fee = uintWord(log.data, 0)
    const tickSpacing = intWord(log.data, 1)
    if (fee >= 1n << 24n || tickSpacing < -(1n << 23n) || tickSpacing >= 1n << 23n || BigInt(`0x${log.data.slice(2 + 2 * 64, 2 + 2 * 64 + 24)}`) !== 0n)
      throw decodeError('undecodable Initialize: a word out of its type range', log, chainId)
    return {
      chainId,
      dex,
      address: id.toLowerCase() as Address,
      token0: v4Currency(currency0),
      token1: v4Currency(currency1),
      fee: Number(fee),
      singleton: log.address.toLowerCase() as Address,
      hooks: addressWord(log.data, 2),
      tickSpacing: Number(tickSpacing),
      createdBlock: log.blockNumber,
    }
  },

  decodePoolLog(log, pool, ctx): PoolLogResult {
    if (log.topics[0] !== V4_SWAP_TOPIC) return {}
    const sender = topicAddress(log.topics[2])
    if (!sender || log.topics.length !== 3 || log.topics[1]?.toLowerCase() !== pool.address || !isHexData(log.data) || wordCount(log.data) !== V4_SWAP_WORDS)
      throw decodeError('undecodable Swap', log, ctx.chainId)
    const amount0 = intWord(log.data, 0)
    const amount1 = intWord(log.data, 1)
    // Swapper-side deltas (negative: the swapper paid the pool) checked on the pool's side.
    const impossible = impossibleSwapFlows(-amount0, -amount1, { amount0, amount1 }, V4_DELTA)
    if (impossible !== null) throw decodeError(`Swap ${impossible}`, log, ctx.chainId)
    if (pool.hooks === undefined) throw decodeError('uniswap-v4 pool without a hooks address', log, ctx.chainId)
    const sqrtPriceX96 = uintWord(log.data, 2)
    const liquidity = uintWord(log.data, 3)
    const tick = smallIntWord(log.data, 4)
    const blockTime = ctx.blockTime(log.blockNumber)
    if (blockTime === undefined) throw decodeError('no block time for Swap', log, ctx.chainId)
    const d0 = ctx.token(pool.token0)?.decimals ?? null
    const d1 = ctx.token(pool.token1)?.decimals ?? null

    const price = concentratedPrice(log, pool, ctx.chainId, { blockTime, sqrtPriceX96, liquidity, d0, d1 })

    // The pool's price is its own whatever the hook does; the amounts are not the trade's.
    const hookReason = deltaReturningHookReason(pool.hooks)
    if (hookReason !== null) return price ? { price, reject: hookReason } : { reject: hookReason }

    // Swapper-side deltas to the pool's side: positive = the pool received that currency. The
    // event names no recipient: the sender (the contract that called the PoolManager) is it.
    const swap = concentratedTrade(log, pool, ctx, { sender, recipient: sender, net0: -amount0, net1: -amount1, sqrtPriceX96, liquidity, tick, blockTime, d0, d1 })
    if (swap) return { price, swap }
    return price ? { price } : {}
  },
}
