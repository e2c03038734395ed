/**
 * Pool price math. Rounding, named: the bigint inputs are converted to float64 here (relative
 * error below 1e-15), and everything downstream of a price is float64.
 */

const Q96 = 2 ** 96

/** Uniswap V3/V4: price of token0 in token1 units from sqrtPriceX96, decimal-adjusted. */
export function priceFromSqrtX96(sqrtPriceX96: bigint, decimals0: number, decimals1: number): number {
  const r = Number(sqrtPriceX96) / Q96
  return r * r * 10 ** (decimals0 - decimals1)
}

/** Uniswap V2: price of token0 in token1 units from reserves, decimal-adjusted. */
export function priceFromReserves(reserve0: bigint, reserve1: bigint, decimals0: number, decimals1: number): number {
  if (reserve0 === 0n) return Number.NaN
  return (Number(reserve1) / Number(reserve0)) * 10 ** (decimals0 - decimals1)
}

/** A raw token amount in whole tokens (float64). */
export function toUnits(amount: bigint, decimals: number): number {
  return Number(amount) / 10 ** decimals
}
