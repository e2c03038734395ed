import type { Address, Hex } from 'viem'
import type { RawLog } from '../domain/log.ts'
import type { DexFamily, DexRef, NormalizedSwap, PoolInfo, PriceObservation, TokenInfo } from '../domain/types.ts'

/** What a family decoder needs besides the log itself; all of it fetched before decoding. */
export type DecodeContext = {
  chainId: number
  token(address: Address): TokenInfo | undefined
  /** Transaction sender by tx hash. */
  txFrom(txHash: Hex): Address | undefined
  /** Block timestamp (unix seconds) by block number. */
  blockTime(blockNumber: bigint): number | undefined
}

/** The result of decoding one pool log: a swap, a price observation, both, or neither. */
export type PoolLogResult = { swap?: NormalizedSwap; price?: PriceObservation }

/**
 * One DEX family: its factory event, its pool events and their pure decoders. A decoder throws
 * DecodeError for a log it recognises by topic0 but cannot decode.
 */
export type Family = {
  family: DexFamily
  poolCreatedTopic: Hex
  poolTopics: readonly Hex[]
  decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo
  /**
   * Decodes a pool log. `state` is per-range scratch space owned by the family (V2 keeps the last
   * Sync of a pool so its Swap carries the reserves).
   */
  decodePoolLog(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>): PoolLogResult
}
