import { toEventSelector } from 'viem'
import { V3_POOL_CREATED_TOPIC } from '../uniswap-v3/abi.ts'

/**
 * PancakeSwap V3 pool and factory events, as declared in pancakeswap/pancake-v3-contracts
 * (projects/v3-core/contracts/interfaces/pool/IPancakeV3PoolEvents.sol and
 * interfaces/IPancakeV3Factory.sol). The pool's Swap appends two protocol-fee words to Uniswap V3's
 * Swap, so its topic0 differs; the factory's PoolCreated has Uniswap V3's layout and topic0.
 */
export const pancakeswapV3Abi = [
  {
    type: 'event',
    name: 'Swap',
    inputs: [
      { name: 'sender', type: 'address', indexed: true },
      { name: 'recipient', type: 'address', indexed: true },
      { name: 'amount0', type: 'int256', indexed: false },
      { name: 'amount1', type: 'int256', indexed: false },
      { name: 'sqrtPriceX96', type: 'uint160', indexed: false },
      { name: 'liquidity', type: 'uint128', indexed: false },
      { name: 'tick', type: 'int24', indexed: false },
      { name: 'protocolFeesToken0', type: 'uint128', indexed: false },
      { name: 'protocolFeesToken1', type: 'uint128', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'PoolCreated',
    inputs: [
      { name: 'token0', type: 'address', indexed: true },
      { name: 'token1', type: 'address', indexed: true },
      { name: 'fee', type: 'uint24', indexed: true },
      { name: 'tickSpacing', type: 'int24', indexed: false },
      { name: 'pool', type: 'address', indexed: false },
    ],
  },
] as const

export const PANCAKE_V3_SWAP_TOPIC = toEventSelector(
  'Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)',
)
/** Uniswap V3's PoolCreated signature, so its topic0: pools are told apart by their factory. */
export const PANCAKE_V3_POOL_CREATED_TOPIC = V3_POOL_CREATED_TOPIC

/** Data words of a PancakeSwap V3 Swap: amount0, amount1, sqrtPriceX96, liquidity, tick, two protocol fees. */
export const PANCAKE_V3_SWAP_WORDS = 7
