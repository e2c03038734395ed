import { toEventSelector } from 'viem'
import { V2_SWAP_TOPIC } from '../uniswap-v2/abi.ts'

/**
 * Solidly-style pools (x·y volatile and x³y+y³x stable pools from one factory), verified against
 * the protocols' own sources:
 * - Velodrome v1 (Optimism): velodrome-finance/v1 contracts/Pair.sol and
 *   contracts/factories/PairFactory.sol.
 * - Velodrome v2 (Optimism) and Aerodrome (Base, a fork of it): velodrome-finance/contracts
 *   contracts/interfaces/IPool.sol and contracts/interfaces/factories/IPoolFactory.sol;
 *   aerodrome-finance/contracts contracts/interfaces/IPool.sol.
 *
 * Both pool generations emit Sync after updating reserves and Swap right after it, with the fee
 * already moved out of the pool (to PairFees / PoolFees): Sync holds the reserves after the swap.
 */

/** Velodrome v1 pair and factory events. */
export const velodromeV1Abi = [
  {
    // Same signature as Uniswap V2's Swap, so the same topic0: the pool's family decides.
    type: 'event',
    name: 'Swap',
    inputs: [
      { name: 'sender', type: 'address', indexed: true },
      { name: 'amount0In', type: 'uint256', indexed: false },
      { name: 'amount1In', type: 'uint256', indexed: false },
      { name: 'amount0Out', type: 'uint256', indexed: false },
      { name: 'amount1Out', type: 'uint256', indexed: false },
      { name: 'to', type: 'address', indexed: true },
    ],
  },
  {
    // uint256 reserves (V2: uint112), so a different topic0 from V2's Sync.
    type: 'event',
    name: 'Sync',
    inputs: [
      { name: 'reserve0', type: 'uint256', indexed: false },
      { name: 'reserve1', type: 'uint256', indexed: false },
    ],
  },
  {
    // `stable` is not indexed in the v1 factory (velodrome-finance/v1 PairFactory.sol).
    type: 'event',
    name: 'PairCreated',
    inputs: [
      { name: 'token0', type: 'address', indexed: true },
      { name: 'token1', type: 'address', indexed: true },
      { name: 'stable', type: 'bool', indexed: false },
      { name: 'pair', type: 'address', indexed: false },
      { name: '', type: 'uint256', indexed: false },
    ],
  },
] as const

/** Aerodrome and Velodrome v2 pool and factory events. */
export const aerodromeAbi = [
  {
    // `to` is the second argument: same fields as V2, different signature and topic0.
    type: 'event',
    name: 'Swap',
    inputs: [
      { name: 'sender', type: 'address', indexed: true },
      { name: 'to', type: 'address', indexed: true },
      { name: 'amount0In', type: 'uint256', indexed: false },
      { name: 'amount1In', type: 'uint256', indexed: false },
      { name: 'amount0Out', type: 'uint256', indexed: false },
      { name: 'amount1Out', type: 'uint256', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'Sync',
    inputs: [
      { name: 'reserve0', type: 'uint256', indexed: false },
      { name: 'reserve1', type: 'uint256', indexed: false },
    ],
  },
  {
    // `stable` is indexed here (a topic), unlike Velodrome v1's PairCreated.
    type: 'event',
    name: 'PoolCreated',
    inputs: [
      { name: 'token0', type: 'address', indexed: true },
      { name: 'token1', type: 'address', indexed: true },
      { name: 'stable', type: 'bool', indexed: true },
      { name: 'pool', type: 'address', indexed: false },
      { name: '', type: 'uint256', indexed: false },
    ],
  },
] as const

/** Velodrome v1 kept V2's Swap signature, so its topic0 is V2's: the pool's family decides. */
export const VELODROME_V1_SWAP_TOPIC = V2_SWAP_TOPIC
/** Sync(uint256,uint256): Velodrome v1, Velodrome v2 and Aerodrome alike. */
export const SOLIDLY_SYNC_TOPIC = toEventSelector('Sync(uint256,uint256)')
export const VELODROME_V1_PAIR_CREATED_TOPIC = toEventSelector('PairCreated(address,address,bool,address,uint256)')
export const AERODROME_SWAP_TOPIC = toEventSelector('Swap(address,address,uint256,uint256,uint256,uint256)')
export const AERODROME_POOL_CREATED_TOPIC = toEventSelector('PoolCreated(address,address,bool,address,uint256)')
