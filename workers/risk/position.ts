/**
 * A position (account × token) by average cost. quantity is exact (bigint); cost and PnL are
 * float64 USD. costUsd is signed: positive for a long (what was paid), negative for a short (what
 * was received). Rounding, named: the fraction of a position closed is a float64 ratio of bigints.
 */
export type Position = {
  quantity: bigint
  costUsd: number
  realizedPnlUsd: number
  /** Some change to this position had no USD value: costUsd and PnL are incomplete. */
  unpricedCost: boolean
  updatedBlock: bigint
}

export function emptyPosition(): Position {
  return { quantity: 0n, costUsd: 0, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 0n }
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x)
const sign = (x: bigint): number => (x < 0n ? -1 : x > 0n ? 1 : 0)

/**
 * Applies a quantity change worth `valueUsd` (the USD value of |delta|, null if unpriced) and
 * returns the new position; the input is not modified.
 */
export function applyDelta(pos: Position, delta: bigint, valueUsd: number | null, block: bigint): Position {
  if (delta === 0n) return { ...pos, updatedBlock: block }
  const value = valueUsd ?? 0
  const next: Position = {
    quantity: pos.quantity + delta,
    costUsd: pos.costUsd,
    realizedPnlUsd: pos.realizedPnlUsd,
    unpricedCost: pos.unpricedCost || valueUsd === null,
    updatedBlock: block,
  }
  const q = pos.quantity
  if (q === 0n || sign(q) === sign(delta)) {
    next.costUsd += sign(delta) * value
    return next
  }
  // Reducing (and maybe flipping) the position.
  const closed = abs(delta) < abs(q) ? abs(delta) : abs(q)
  const closedShareOfPosition = Number(closed) / Number(abs(q))
  const closedShareOfDelta = Number(closed) / Number(abs(delta))
  const costClosed = pos.costUsd * closedShareOfPosition
  const valueClosed = value * closedShareOfDelta
  // With no USD value for the trade nothing is realized (that would book the whole cost as a loss):
  // the closed cost leaves the position and the position stays flagged as unpriced.
  if (valueUsd !== null) next.realizedPnlUsd += sign(q) * valueClosed - costClosed
  next.costUsd = pos.costUsd - costClosed
  if (abs(delta) > abs(q)) {
    // Flipped: the remainder opens a position on the other side at this trade's price.
    next.costUsd = sign(delta) * (value - valueClosed)
  } else if (next.quantity === 0n) {
    next.costUsd = 0
  }
  return next
}
