import type { Family } from '../../src/indexer/family.ts'
import { createV3Family } from '../uniswap-v3/family.ts'
import { PANCAKE_V3_POOL_CREATED_TOPIC, PANCAKE_V3_SWAP_TOPIC, PANCAKE_V3_SWAP_WORDS } from './abi.ts'

/**
 * PancakeSwap V3 (BNB Chain, Ethereum and its other deployments): Uniswap V3's decoder with
 * PancakeSwap's own Swap topic and its seven-word data. The two protocol-fee words are checked for
 * length and not kept: the normalized swap has no field for them (amounts are the pool's net flows,
 * fees included).
 */
export const pancakeswapV3: Family = createV3Family({
  family: 'pancakeswap-v3',
  poolCreatedTopic: PANCAKE_V3_POOL_CREATED_TOPIC,
  swapTopic: PANCAKE_V3_SWAP_TOPIC,
  swapWords: PANCAKE_V3_SWAP_WORDS,
})
