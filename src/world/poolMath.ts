import { concat, encodeAbiParameters, encodePacked, getCreate2Address, keccak256, numberToHex, type Address, type Hex } from 'viem'

/** Uniswap's token order: the lower address is token0. */
export function sortTokens(a: Address, b: Address): [Address, Address] {
  return BigInt(a) < BigInt(b) ? [a, b] : [b, a]
}

/** The CREATE2 address of a V2 pair, as UniswapV2Library.pairFor computes it. */
export function v2PairAddress(factory: Address, initCodeHash: Hex, a: Address, b: Address): Address {
  const [token0, token1] = sortTokens(a, b)
  return getCreate2Address({
    from: factory,
    salt: keccak256(encodePacked(['address', 'address'], [token0, token1])),
    bytecodeHash: initCodeHash,
  })
}

/** The CREATE2 address of a V3 pool, as v3-periphery's PoolAddress.computeAddress computes it. */
export function v3PoolAddress(factory: Address, initCodeHash: Hex, a: Address, b: Address, fee: number): Address {
  const [token0, token1] = sortTokens(a, b)
  return getCreate2Address({
    from: factory,
    salt: keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'address' }, { type: 'uint24' }], [token0, token1, fee])),
    bytecodeHash: initCodeHash,
  })
}

/** Floor square root of a non-negative bigint (Newton's method from above). */
export function sqrtBigInt(value: bigint): bigint {
  if (value < 0n) throw new RangeError('square root of a negative number')
  if (value < 2n) return value
  // 2^ceil(bits/2) is at least the root; from above, Newton's steps fall monotonically to the floor.
  let x = 1n << BigInt(Math.ceil(value.toString(2).length / 2))
  for (;;) {
    const y = (x + value / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/** sqrt(amount1 / amount0) in Q64.96: the V3 price at which the two raw amounts are worth the same. */
export function sqrtPriceX96(amount0: bigint, amount1: bigint): bigint {
  return sqrtBigInt((amount1 << 192n) / amount0)
}

const MIN_TICK = -887272
const MAX_TICK = 887272
const TICK_SPACING: Record<number, number> = { 100: 1, 500: 10, 3000: 60, 10000: 200 }

/** The widest usable tick range for a fee tier (a full-range position). */
export function fullRangeTicks(fee: number): { tickLower: number; tickUpper: number } {
  const spacing = TICK_SPACING[fee]
  if (spacing === undefined) throw new RangeError(`unknown V3 fee tier ${fee}`)
  return { tickLower: Math.ceil(MIN_TICK / spacing) * spacing, tickUpper: Math.floor(MAX_TICK / spacing) * spacing }
}

/** A V3 multi-hop path: token, fee, token, fee, token … (packed, 20 + 3 bytes per hop). */
export function encodeV3Path(tokens: readonly Address[], fees: readonly number[]): Hex {
  if (tokens.length !== fees.length + 1 || fees.length === 0)
    throw new RangeError(`a V3 path needs n tokens and n-1 fees, got ${tokens.length} and ${fees.length}`)
  const parts: Hex[] = []
  tokens.forEach((token, i) => {
    parts.push(token)
    const fee = fees[i]
    if (fee !== undefined) parts.push(numberToHex(fee, { size: 3 }))
  })
  return concat(parts)
}
