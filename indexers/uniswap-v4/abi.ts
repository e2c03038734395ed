import { toEventSelector } from 'viem'

/**
 * Uniswap V4 PoolManager events, as declared in @uniswap/v4-core src/interfaces/IPoolManager.sol.
 * `PoolId` is bytes32, `Currency` and `IHooks` are addresses (currency zero: native ETH).
 */
export const uniswapV4Abi = [
  {
    type: 'event',
    name: 'Initialize',
    inputs: [
      { name: 'id', type: 'bytes32', indexed: true },
      { name: 'currency0', type: 'address', indexed: true },
      { name: 'currency1', type: 'address', indexed: true },
      { name: 'fee', type: 'uint24', indexed: false },
      { name: 'tickSpacing', type: 'int24', indexed: false },
      { name: 'hooks', type: 'address', indexed: false },
      { name: 'sqrtPriceX96', type: 'uint160', indexed: false },
      { name: 'tick', type: 'int24', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'Swap',
    inputs: [
      { name: 'id', type: 'bytes32', indexed: true },
      { name: 'sender', type: 'address', indexed: true },
      { name: 'amount0', type: 'int128', indexed: false },
      { name: 'amount1', type: 'int128', indexed: false },
      { name: 'sqrtPriceX96', type: 'uint160', indexed: false },
      { name: 'liquidity', type: 'uint128', indexed: false },
      { name: 'tick', type: 'int24', indexed: false },
      { name: 'fee', type: 'uint24', indexed: false },
    ],
  },
] as const

export const V4_INITIALIZE_TOPIC = toEventSelector('Initialize(bytes32,address,address,uint24,int24,address,uint160,int24)')
export const V4_SWAP_TOPIC = toEventSelector('Swap(bytes32,address,int128,int128,uint160,uint128,int24,uint24)')
/** Data words: Initialize (fee, tickSpacing, hooks, sqrtPriceX96, tick), Swap (amount0 … fee). */
export const V4_INITIALIZE_WORDS = 5
export const V4_SWAP_WORDS = 6

/** Hooks.sol permission flags, in the low 14 bits of the hook's address. */
export const BEFORE_SWAP_FLAG = 1n << 7n
export const AFTER_SWAP_FLAG = 1n << 6n
export const BEFORE_SWAP_RETURNS_DELTA_FLAG = 1n << 3n
export const AFTER_SWAP_RETURNS_DELTA_FLAG = 1n << 2n
/** LPFeeLibrary.DYNAMIC_FEE_FLAG: a pool key fee of exactly 0x800000 marks a dynamic-fee pool. */
export const DYNAMIC_FEE_FLAG = 0x800000
