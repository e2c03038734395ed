/**
 * The sweep: a round over every account of a shard that holds positions, a bounded slice per
 * batch, so that what price bands cannot see (a return period closing, a UTC day turning, a price
 * going stale, a rule's cooldown ending, prices drifting inside a band) still reaches every
 * holder. A batch visits at most VISITS_PER_RECOMPUTE × `limit` accounts and recomputes at most
 * `limit` of the due ones; the next batch goes on where it stopped. With fewer holders than that,
 * every due holder is recomputed in every batch.
 *
 * The order is the order accounts first got positions (at start: by name), so the round is a pure
 * function of the batches applied and a replay visits the same accounts.
 */
export type Sweep = {
  /** Accounts in round order: every account the shard has positions of (an account holding nothing is skipped). */
  order: string[]
  /** Index in `order` of the next account to visit. */
  cursor: number
}

/** How many accounts the sweep may look at for each one it may recompute. */
export const VISITS_PER_RECOMPUTE = 8

export function emptySweep(): Sweep {
  return { order: [], cursor: 0 }
}

/** The due accounts of this batch's slice, and where the next slice starts. Does not change `sweep`. */
export function planSweep(
  sweep: Sweep,
  opts: { limit: number; skip: ReadonlySet<string>; due: (account: string) => boolean },
): { accounts: string[]; cursor: number } {
  const n = sweep.order.length
  const accounts: string[] = []
  if (n === 0) return { accounts, cursor: 0 }
  const visits = Math.min(n, opts.limit * VISITS_PER_RECOMPUTE)
  let i = sweep.cursor % n
  for (let v = 0; v < visits && accounts.length < opts.limit; v++) {
    const account = sweep.order[i]!
    if (!opts.skip.has(account) && opts.due(account)) accounts.push(account)
    i = (i + 1) % n
  }
  return { accounts, cursor: i }
}

/** Moves the sweep on to `cursor` and appends accounts that got their first positions, in the order given. */
export function advanceSweep(sweep: Sweep, cursor: number, added: readonly string[]): void {
  sweep.cursor = cursor
  for (const a of added) sweep.order.push(a)
}
