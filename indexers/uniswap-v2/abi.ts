import { toEventSelector } from 'viem'

/** Uniswap V2 pair and factory events (identical in SushiSwap, PancakeSwap V2 and other forks). */
export const uniswapV2Abi = [
  {
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
    type: 'event',
    name: 'Sync',
    inputs: [
      { name: 'reserve0', type: 'uint112', indexed: false },
      { name: 'reserve1', type: 'uint112', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'PairCreated',
    inputs: [
      { name: 'token0', type: 'address', indexed: true },
      { name: 'token1', type: 'address', indexed: true },
      { name: 'pair', type: 'address', indexed: false },
      { name: '', type: 'uint256', indexed: false },
    ],
  },
] as const

export const V2_SWAP_TOPIC = toEventSelector('Swap(address,uint256,uint256,uint256,uint256,address)')
export const V2_SYNC_TOPIC = toEventSelector('Sync(uint112,uint112)')
export const V2_PAIR_CREATED_TOPIC = toEventSelector('PairCreated(address,address,address,uint256)')
