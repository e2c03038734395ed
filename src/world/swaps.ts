import { encodeFunctionData, maxUint256, type Address, type Hex } from 'viem'
import { v2RouterAbi, v3SwapRouterAbi } from './abis.ts'
import type { World, WorldPool } from './deploy.ts'
import { encodeV3Path } from './poolMath.ts'

/**
 * How a trader swaps, each through the real router:
 * - `v2-exact-in` / `v2-exact-in-multihop`: Router02.swapExactTokensForTokens, 2- / 3-token path
 * - `v2-exact-out` / `v2-exact-out-multihop`: Router02.swapTokensForExactTokens, 2- / 3-token path
 * - `v3-exact-in`: SwapRouter.exactInputSingle; `v3-exact-in-multihop`: exactInput
 * - `v3-exact-out`: SwapRouter.exactOutputSingle; `v3-exact-out-multihop`: exactOutput (path reversed)
 */
export type SwapKind =
  | 'v2-exact-in'
  | 'v2-exact-in-multihop'
  | 'v2-exact-out'
  | 'v2-exact-out-multihop'
  | 'v3-exact-in'
  | 'v3-exact-in-multihop'
  | 'v3-exact-out'
  | 'v3-exact-out-multihop'

export const SWAP_KINDS: readonly SwapKind[] = [
  'v2-exact-in',
  'v2-exact-in-multihop',
  'v2-exact-out',
  'v2-exact-out-multihop',
  'v3-exact-in',
  'v3-exact-in-multihop',
  'v3-exact-out',
  'v3-exact-out-multihop',
]

/** A way from tokens[0] to the last token through pools of one family (fees set for V3). */
export type Route = { family: WorldPool['family']; tokens: Address[]; fees: number[]; pools: WorldPool[] }

/** Every direct route (both directions of each pool) and every two-hop route of one family. */
export function buildRoutes(world: World): { direct: Route[]; multihop: Route[]; family: WorldPool['family'] }[] {
  return (['uniswap-v2', 'uniswap-v3'] as const).map((family) => {
    const pools = world.pools.filter((p) => p.family === family)
    const direct: Route[] = []
    const multihop: Route[] = []
    for (const p of pools) {
      direct.push(route(family, [p.token0, p.token1], [p]), route(family, [p.token1, p.token0], [p]))
      for (const q of pools) {
        if (q === p) continue
        for (const mid of [p.token0, p.token1]) {
          if (mid !== q.token0 && mid !== q.token1) continue
          const from = mid === p.token0 ? p.token1 : p.token0
          const to = mid === q.token0 ? q.token1 : q.token0
          if (from !== to) multihop.push(route(family, [from, mid, to], [p, q]))
        }
      }
    }
    return { family, direct, multihop }
  })
}

function route(family: WorldPool['family'], tokens: Address[], pools: WorldPool[]): Route {
  return { family, tokens, pools, fees: pools.map((p) => p.fee ?? 0) }
}

/** The family and hop count a swap kind needs. */
export function kindShape(kind: SwapKind): { family: WorldPool['family']; multihop: boolean; exactOut: boolean } {
  return {
    family: kind.startsWith('v2') ? 'uniswap-v2' : 'uniswap-v3',
    multihop: kind.endsWith('multihop'),
    exactOut: kind.includes('exact-out'),
  }
}

const DEADLINE = maxUint256

/**
 * Calldata of one swap through the world's routers. `amount` is the exact input, or for exact-out
 * kinds the exact output. No slippage bound (amountOutMin 0, amountInMax unlimited): prices here
 * move only by the world's own traders. Proceeds always go to `recipient`, never as native ETH.
 */
export function encodeSwap(world: World, opts: { kind: SwapKind; route: Route; amount: bigint; recipient: Address }): { to: Address; data: Hex } {
  const { kind, route, amount, recipient } = opts
  const tokenIn = route.tokens[0]
  const tokenOut = route.tokens[route.tokens.length - 1]
  const fee = route.fees[0]
  if (!tokenIn || !tokenOut || fee === undefined) throw new RangeError('a route needs at least two tokens')
  const shape = kindShape(kind)
  if (shape.family !== route.family || shape.multihop !== route.tokens.length > 2)
    throw new RangeError(`route ${route.tokens.join('→')} (${route.family}) does not fit a ${kind} swap`)
  if (route.family === 'uniswap-v2') {
    const data = shape.exactOut
      ? encodeFunctionData({ abi: v2RouterAbi, functionName: 'swapTokensForExactTokens', args: [amount, maxUint256, route.tokens, recipient, DEADLINE] })
      : encodeFunctionData({ abi: v2RouterAbi, functionName: 'swapExactTokensForTokens', args: [amount, 0n, route.tokens, recipient, DEADLINE] })
    return { to: world.v2.router, data }
  }
  const data = (() => {
    switch (kind) {
      case 'v3-exact-in':
        return encodeFunctionData({
          abi: v3SwapRouterAbi,
          functionName: 'exactInputSingle',
          args: [{ tokenIn, tokenOut, fee, recipient, deadline: DEADLINE, amountIn: amount, amountOutMinimum: 0n, sqrtPriceLimitX96: 0n }],
        })
      case 'v3-exact-out':
        return encodeFunctionData({
          abi: v3SwapRouterAbi,
          functionName: 'exactOutputSingle',
          args: [{ tokenIn, tokenOut, fee, recipient, deadline: DEADLINE, amountOut: amount, amountInMaximum: maxUint256, sqrtPriceLimitX96: 0n }],
        })
      case 'v3-exact-in-multihop':
        return encodeFunctionData({
          abi: v3SwapRouterAbi,
          functionName: 'exactInput',
          args: [{ path: encodeV3Path(route.tokens, route.fees), recipient, deadline: DEADLINE, amountIn: amount, amountOutMinimum: 0n }],
        })
      case 'v3-exact-out-multihop': {
        // exactOutput takes the path from the output token back to the input token.
        const path = encodeV3Path([...route.tokens].reverse(), [...route.fees].reverse())
        return encodeFunctionData({
          abi: v3SwapRouterAbi,
          functionName: 'exactOutput',
          args: [{ path, recipient, deadline: DEADLINE, amountOut: amount, amountInMaximum: maxUint256 }],
        })
      }
      default:
        throw new RangeError(`${kind} is not a V3 swap`)
    }
  })()
  return { to: world.v3.router, data }
}
