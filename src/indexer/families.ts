import { balancerV2 } from '../../indexers/balancer-v2/family.ts'
import { curve } from '../../indexers/curve/family.ts'
import { pancakeswapV3 } from '../../indexers/pancakeswap-v3/family.ts'
import { aerodrome, velodromeV1 } from '../../indexers/solidly/family.ts'
import { uniswapV2 } from '../../indexers/uniswap-v2/family.ts'
import { uniswapV3 } from '../../indexers/uniswap-v3/family.ts'
import { uniswapV4 } from '../../indexers/uniswap-v4/family.ts'
import type { DexFamily } from '../domain/types.ts'
import type { Family } from './family.ts'

/** Every DEX family dexrisk decodes, by name. */
export const families: Record<DexFamily, Family> = {
  'uniswap-v2': uniswapV2,
  'uniswap-v3': uniswapV3,
  'uniswap-v4': uniswapV4,
  'pancakeswap-v3': pancakeswapV3,
  'velodrome-v1': velodromeV1,
  aerodrome,
  curve,
  'balancer-v2': balancerV2,
}
