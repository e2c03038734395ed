import type { Address, Hex, PublicClient } from 'viem'
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

/**
 * The result of decoding one pool log: a swap, a price observation, both, or neither. `reject`
 * names why a log the family recognises cannot be trusted as a trade (a V4 hook that can change
 * what the trader paid): the log goes to `rejected_logs` with that reason, and its price, if any,
 * is still used.
 */
export type PoolLogResult = { swap?: NormalizedSwap; price?: PriceObservation; reject?: string }

/**
 * How a family's pools are found:
 * - 'factory': each pool is its own contract, announced by a factory's creation event (`poolCreatedTopic`);
 * - 'singleton': one contract (V4 PoolManager, Balancer Vault) registers pools by id with
 *   `poolCreatedTopic` and emits every pool's events itself, the pool id as topics[1]; the config's
 *   `factory` is that contract, and a pool's `address` is its id;
 * - 'listed': pools are named in the config (`pools`), and `describePool` reads their coins from the chain.
 */
export type PoolDiscovery = 'factory' | 'singleton' | 'listed'

/**
 * One DEX family: how its pools are found, its pool events and their pure decoders. A decoder throws
 * DecodeError for a log it recognises by topic0 but cannot decode.
 */
export type Family = {
  family: DexFamily
  discovery: PoolDiscovery
  /** The factory's or singleton's pool-registration topic0; null for 'listed' families. */
  poolCreatedTopic: Hex | null
  poolTopics: readonly Hex[]
  /**
   * Decodes a pool-registration log (factory or singleton families). Null: a registration this
   * family does not follow (never a silent drop of a pool it could decode: it throws DecodeError).
   */
  decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo | null
  /**
   * 'listed' families: reads a configured pool's coins from the chain at `block`. `known` carries
   * what the config states (coins, underlying coins), which wins over what the chain says.
   */
  describePool?(client: PublicClient, pool: { address: Address; coins?: Address[]; underlying?: Address[] }, dex: DexRef, chainId: number, block: bigint): Promise<PoolInfo>
  /**
   * Decodes a pool log. `state` is per-range scratch space owned by the family (V2 keeps the last
   * Sync of a pool so its Swap carries the reserves).
   */
  decodePoolLog(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>): PoolLogResult
}
