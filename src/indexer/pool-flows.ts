import type { Address } from 'viem'
import type { PoolInfo } from '../domain/types.ts'

export type SwapSides = { tokenIn: Address; tokenOut: Address; amountIn: bigint; amountOut: bigint }

/**
 * Which way a swap went, from the pool's signed net flows (positive: the pool received that
 * token). Null when the pool received nothing (not a trade: a donation, a flash repayment with a
 * surplus on both sides, a zero swap).
 */
export function swapSides(pool: PoolInfo, net0: bigint, net1: bigint): SwapSides | null {
  if (net0 > 0n && net1 <= 0n) return { tokenIn: pool.token0, tokenOut: pool.token1, amountIn: net0, amountOut: -net1 }
  if (net1 > 0n && net0 <= 0n) return { tokenIn: pool.token1, tokenOut: pool.token0, amountIn: net1, amountOut: -net0 }
  return null
}
