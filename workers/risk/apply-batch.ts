import type { Address } from 'viem'
import { NATIVE_TOKEN, type PriceObservation } from '../../src/domain/types.ts'
import { toUnits } from '../../src/domain/price-math.ts'
import { BatchError, BatchGapError } from '../../src/errors.ts'
import type { RoutedSwap, RoutedTransfer, TradeBatch } from '../../src/queue/batch.ts'
import { applyDelta, emptyPosition, type Position } from './position.ts'
import type { PriceCache } from './price-cache.ts'

/** In-memory state of one shard: the truth for current positions (docs/decisions.md 4). */
export type ShardState = {
  shard: number
  /** account → `${chainId}:${token}` → position */
  positions: Map<string, Map<string, Position>>
  /** chainId → last applied block */
  checkpoints: Map<number, bigint>
  /** chainId → price cache */
  priceCaches: Map<number, PriceCache>
  /** Named accounts: `${chainId}:${wallet}:${token}` → the wallet's balance as last applied. */
  walletBalances: Map<string, WalletBalance>
  /**
   * Named accounts: `${chainId}:${wallet}` → the tokens of walletBalances for that wallet, so that
   * detaching a wallet visits its own balances, never every balance of the shard.
   */
  walletTokens: Map<string, Set<Address>>
  /**
   * chainId → token → the accounts holding it with no cost booked yet (it came in before any
   * price): they take their cost at the token's first price. Kept so that a batch with prices
   * visits these positions of its chain only, never every position of the shard.
   */
  uncosted: Map<number, Map<Address, Set<string>>>
}

export function emptyShardState(shard: number): ShardState {
  return { shard, positions: new Map(), checkpoints: new Map(), priceCaches: new Map(), walletBalances: new Map(), walletTokens: new Map(), uncosted: new Map() }
}

/** Sets a wallet balance in the shard's state, keeping the wallet → tokens index. */
export function setWalletBalance(state: Pick<ShardState, 'walletBalances' | 'walletTokens'>, b: WalletBalance): void {
  state.walletBalances.set(walletBalanceKey(b.chainId, b.wallet, b.token), b)
  const w = `${b.chainId}:${b.wallet}`
  let tokens = state.walletTokens.get(w)
  if (!tokens) state.walletTokens.set(w, (tokens = new Set()))
  tokens.add(b.token)
}

/** Forgets a wallet balance (its wallet was detached from its account). */
function dropWalletBalance(state: Pick<ShardState, 'walletBalances' | 'walletTokens'>, chainId: number, wallet: Address, token: Address): void {
  state.walletBalances.delete(walletBalanceKey(chainId, wallet, token))
  const w = `${chainId}:${wallet}`
  const tokens = state.walletTokens.get(w)
  if (tokens?.delete(token) && tokens.size === 0) state.walletTokens.delete(w)
}

/** A watched wallet's balance of one token, as applied to its account's position. */
export type WalletBalance = { chainId: number; wallet: Address; token: Address; account: string; balance: bigint; block: bigint }

export const walletBalanceKey = (chainId: number, wallet: Address, token: Address): string => `${chainId}:${wallet}:${token}`

/**
 * How positions are kept. 'auto' (every trader is an account): from swap flows alone. 'named':
 * from watched wallets' balances (readings and logged transfers), so swaps only record trades and
 * volume — counting their flows as well would count every change twice.
 */
export type BatchOptions = {
  mode: 'auto' | 'named'
  wrappedNative?: (chainId: number) => Address | undefined
  /** Decimals of tokens the shard knows (null: `decimals()` fails; undefined: not known). */
  decimalsOf?: (chainId: number, token: Address) => number | null | undefined
}

export type PositionChange = { account: string; chainId: number; token: Address; position: Position; priceUsd: number | null; blockTime: number }

/** What one batch changes; written to the database in one transaction, then applied to memory. */
export type BatchEffects = {
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: string | null
  /** Timestamp of toBlock (null: not carried by the job). */
  toBlockTime: number | null
  /** The batch's block time: toBlock's, else its last event's (null: neither). */
  time: number | null
  /** The checkpoint these effects were computed against (null: none yet); the write is fenced on it. */
  previousCheckpoint: bigint | null
  swaps: (RoutedSwap & { amountUsd: number | null })[]
  prices: PriceObservation[]
  positions: PositionChange[]
  priceCache: PriceCache
  /** Named accounts: logged balance changes applied, with their USD value at the time. */
  transfers: (RoutedTransfer & { amountUsd: number | null })[]
  /** Named accounts: wallet balances changed by this batch. */
  walletBalances: WalletBalance[]
  /** Named accounts: wallets detached from their accounts at `block`, with the tokens they stopped counting. */
  detached: { wallet: Address; account: string; block: bigint; tokens: Address[] }[]
  /** Named accounts: wallet balances the batch forgot (detached and not read again for the same account). */
  walletBalancesGone: { wallet: Address; token: Address; account: string }[]
  /**
   * Balance changes no log explained, each set to the chain's balance: opening balances, ether
   * (no logs), and corrections (a rebasing or fee-on-transfer token, or a log that was missed).
   */
  unexplained: { account: string; token: Address; wallet: Address; delta: bigint; at: 'before' | 'after'; block: bigint; opening: boolean }[]
}

export type ApplyResult = { kind: 'skip'; checkpoint: bigint } | { kind: 'apply'; effects: BatchEffects }

/**
 * The key of a (chain, token) position in an account's map. Interned: every account holding a token
 * shares one key string (a shard may hold a million accounts of the same few tokens).
 */
export function positionKey(chainId: number, token: Address): string {
  const key = `${chainId}:${token}`
  let k = KEYS.get(key)
  if (k === undefined) KEYS.set(key, (k = key))
  return k
}
const KEYS = new Map<string, string>()

/** The chain id and token of a positionKey. */
export function splitPositionKey(key: string): [number, Address] {
  const i = key.indexOf(':')
  return [Number(key.slice(0, i)), key.slice(i + 1) as Address]
}

/**
 * Computes the effects of a batch on a shard without changing the state (pure). A batch at or
 * below the checkpoint is skipped; a batch overlapping it applies only blocks above it; a batch
 * that leaves a gap after it is refused (a lost batch must never pass unnoticed).
 */
export function computeBatch(
  state: ShardState,
  batch: TradeBatch,
  newCache: (chainId: number) => PriceCache,
  options: BatchOptions = { mode: 'auto' },
): ApplyResult {
  const cp = state.checkpoints.get(batch.chainId)
  if (cp !== undefined && batch.toBlock <= cp) return { kind: 'skip', checkpoint: cp }
  if (cp !== undefined && batch.fromBlock > cp + 1n)
    throw new BatchGapError(`gap before batch: blocks ${cp + 1n}-${batch.fromBlock - 1n} were never applied`, {
      context: { chainId: batch.chainId, shard: state.shard, block: batch.fromBlock },
      details: `checkpoint is ${cp}; batch covers ${batch.fromBlock}-${batch.toBlock}`,
    })
  if (batch.shard !== state.shard)
    throw new BatchError(`batch for shard ${batch.shard} reached shard ${state.shard}`, {
      context: { chainId: batch.chainId, shard: state.shard, block: batch.fromBlock },
    })
  const after = cp ?? -1n
  const swaps = batch.swaps.filter((s) => s.blockNumber > after)
  const prices = batch.prices.filter((p) => p.blockNumber > after)
  const transfers = batch.transfers.filter((t) => t.blockNumber > after)
  // A batch overlapping the checkpoint: readings before its first block are not readings before the
  // blocks still to apply, so only the closing readings count (the difference is left at the end).
  const readings = batch.readings
  const overlapping = cp !== undefined && batch.fromBlock <= cp
  const cache = (state.priceCaches.get(batch.chainId) ?? newCache(batch.chainId)).clone()

  const staged = new Map<string, PositionChange>()
  const current = (account: string, token: Address): Position => {
    const key = `${account}|${token}`
    return staged.get(key)?.position ?? state.positions.get(account)?.get(positionKey(batch.chainId, token)) ?? emptyPosition()
  }
  const stage = (account: string, token: Address, position: Position, blockTime: number): void => {
    staged.set(`${account}|${token}`, { account, chainId: batch.chainId, token, position, priceUsd: null, blockTime })
  }

  const wrapped = options.wrappedNative?.(batch.chainId)
  const decimalsOf = (token: Address): number | null | undefined => (token === NATIVE_TOKEN ? 18 : options.decimalsOf?.(batch.chainId, token))
  // Prices are taken as of the event's block time: one older than the cache's maxAgeSeconds is stale.
  const usdOf = (token: Address, time: number, from: PriceCache = cache): number | null => from.usd(token === NATIVE_TOKEN && wrapped ? wrapped : token, time)
  const valueOf = (token: Address, amount: bigint, decimals: number | null | undefined, time: number, from: PriceCache = cache): number | null => {
    const p = usdOf(token, time, from)
    return p === null || decimals === null || decimals === undefined ? null : toUnits(amount < 0n ? -amount : amount, decimals) * p
  }

  const stagedBalances = new Map<string, WalletBalance>()
  /** Balances of detached wallets: gone from the state unless read again in this batch. */
  const removedBalances = new Map<string, WalletBalance>()
  const knownBalance = (key: string): WalletBalance | undefined => stagedBalances.get(key) ?? (removedBalances.has(key) ? undefined : state.walletBalances.get(key))
  const unexplained: BatchEffects['unexplained'] = []
  const balanceOf = (account: string, wallet: Address, token: Address): WalletBalance => {
    const key = walletBalanceKey(batch.chainId, wallet, token)
    return knownBalance(key) ?? { chainId: batch.chainId, wallet, token, account, balance: 0n, block: after }
  }
  /** Moves a wallet's balance by `delta`. */
  const moveWallet = (account: string, wallet: Address, token: Address, delta: bigint, block: bigint): void => {
    const b = balanceOf(account, wallet, token)
    stagedBalances.set(walletBalanceKey(batch.chainId, wallet, token), { ...b, account, balance: b.balance + delta, block })
  }
  /** Moves an account's position by `delta`, valued at `valueUsd`. */
  const movePosition = (account: string, token: Address, delta: bigint, valueUsd: number | null, block: bigint, blockTime: number): void => {
    if (delta !== 0n) stage(account, token, applyDelta(current(account, token), delta, valueUsd, block), blockTime)
  }
  /**
   * Sets wallets' balances to what the chain says, booking the differences as unexplained changes.
   * Differences are netted per (account, token) before they touch the position: ether moved
   * between two wallets of one account is no change of the account's position (and no PnL).
   */
  const settleAll = (at: 'before' | 'after', blockTime: number): void => {
    const net = new Map<string, { account: string; token: Address; delta: bigint; decimals: number | null; block: bigint }>()
    for (const r of readings) {
      const balance = at === 'before' ? r.before : r.after
      if (balance === null) continue
      const block = at === 'before' ? r.beforeBlock : r.afterBlock
      const key = walletBalanceKey(batch.chainId, r.wallet, r.token)
      const known = knownBalance(key)
      const delta = balance - (known?.balance ?? 0n)
      if (delta === 0n) {
        // Nothing moved; a pair seen the first time is remembered (a zero opening balance).
        if (!known) stagedBalances.set(key, { chainId: batch.chainId, wallet: r.wallet, token: r.token, account: r.account, balance, block })
        continue
      }
      unexplained.push({ account: r.account, token: r.token, wallet: r.wallet, delta, at, block, opening: known === undefined })
      moveWallet(r.account, r.wallet, r.token, delta, block)
      const k = `${r.account}|${r.token}`
      const n = net.get(k)
      if (n) n.delta += delta
      else net.set(k, { account: r.account, token: r.token, delta, decimals: r.decimals, block })
    }
    for (const n of net.values()) {
      // An opening balance usually comes before any price (the first range of a chain): it is valued
      // at the first price this batch gives its token, not left without a cost (which would book the
      // whole holding as profit once a price came).
      const value = valueOf(n.token, n.delta, n.decimals, blockTime) ?? (at === 'before' ? valueOf(n.token, n.delta, n.decimals, lastTime, closingCache()) : null)
      movePosition(n.account, n.token, n.delta, value, n.block, blockTime)
    }
  }
  /** The cache as it will be at the batch's end (every price of the batch observed), built once if needed. */
  let closing: PriceCache | undefined
  const closingCache = (): PriceCache => {
    if (!closing) {
      closing = cache.clone()
      for (const p of prices) closing.observe(p)
    }
    return closing
  }
  const lastEvent = [swaps.at(-1)?.blockTime, transfers.at(-1)?.blockTime, prices.at(-1)?.blockTime].filter((t): t is number => t !== undefined)
  const time = batch.toBlockTime ?? (lastEvent.length > 0 ? Math.max(...lastEvent) : null)
  const lastTime = time ?? 0
  const firstTime = swaps[0]?.blockTime ?? transfers[0]?.blockTime ?? prices[0]?.blockTime ?? lastTime

  // Wallets taken out of their accounts (removed, moved to another account, the account deleted):
  // from the first block still to apply, their balances no longer count. Each leaves its account's
  // positions as a transfer out would, at the value its token has then (so the account's total PnL
  // does not jump: what was unrealized is realized), and its balances are forgotten (a wallet added
  // again later starts from an opening balance). First, so that a wallet moved to another account
  // of this shard is opened for it by the readings below.
  const detached: BatchEffects['detached'] = []
  const detachBlock = after + 1n > batch.fromBlock ? after + 1n : batch.fromBlock
  for (const d of batch.detachments) {
    const tokens: Address[] = []
    for (const token of [...(state.walletTokens.get(`${batch.chainId}:${d.wallet}`) ?? [])].sort()) {
      const key = walletBalanceKey(batch.chainId, d.wallet, token)
      const b = knownBalance(key)
      if (!b || b.account !== d.account) continue
      removedBalances.set(key, b)
      tokens.push(token)
      movePosition(b.account, token, -b.balance, valueOf(token, b.balance, decimalsOf(token), firstTime), detachBlock, firstTime)
    }
    detached.push({ wallet: d.wallet, account: d.account, block: detachBlock, tokens })
  }

  // Balances before the range: an opening balance for a pair seen the first time, or the correction
  // of a change between ranges that no log showed.
  if (!overlapping) settleAll('before', firstTime)

  // A transfer between two wallets of one account moves both wallets and not the account.
  const legs = new Set(transfers.map((t) => `${t.txHash}:${t.logIndex}:${t.wallet}:${t.account}`))
  const internal = (t: RoutedTransfer): boolean => legs.has(`${t.txHash}:${t.logIndex}:${t.counterparty}:${t.account}`)

  const outSwaps: BatchEffects['swaps'] = []
  const outTransfers: BatchEffects['transfers'] = []
  let pi = 0
  let ti = 0
  const applyTransfersBefore = (limit: { blockNumber: bigint; logIndex: number } | null): void => {
    for (; ti < transfers.length && (limit === null || logBefore(transfers[ti]!, limit)); ti++) {
      const t = transfers[ti]!
      while (pi < prices.length && logBefore(prices[pi]!, t)) cache.observe(prices[pi++]!)
      const amountUsd = valueOf(t.token, t.delta, t.decimals, t.blockTime)
      outTransfers.push({ ...t, amountUsd })
      moveWallet(t.account, t.wallet, t.token, t.delta, t.blockNumber)
      if (!internal(t)) movePosition(t.account, t.token, t.delta, amountUsd, t.blockNumber, t.blockTime)
    }
  }
  for (const swap of swaps) {
    applyTransfersBefore(swap)
    // Prices up to and including this swap's log apply first: one ordered stream per chain.
    while (pi < prices.length && logBefore(prices[pi]!, swap)) cache.observe(prices[pi++]!)
    const amountUsd = swapUsd(swap, cache)
    outSwaps.push({ ...swap, amountUsd })
    if (swap.account === null || options.mode === 'named') continue
    const valueIn = amountUsd
    stage(swap.account, swap.tokenIn, applyDelta(current(swap.account, swap.tokenIn), -swap.amountIn, valueIn, swap.blockNumber), swap.blockTime)
    stage(swap.account, swap.tokenOut, applyDelta(current(swap.account, swap.tokenOut), swap.amountOut, amountUsd, swap.blockNumber), swap.blockTime)
  }
  applyTransfersBefore(null)
  while (pi < prices.length) cache.observe(prices[pi++]!)

  // Balances at the range's end: what logs did not show (ether, rebasing, fees taken silently).
  settleAll('after', lastTime)

  // A holding that came in with no price at all (an opening balance of a token no pool had priced
  // yet, a swap with no priced side) takes its cost at the first price its token gets, instead of
  // counting its whole value as profit from then on. Named rounding: cost at first price. Only the
  // positions waiting for a price are visited (state.uncosted), and only tokens the closing cache
  // prices: a price of a pivot can price tokens quoted in it, so every waiting token is asked.
  if (prices.length > 0) {
    const costAtFirstPrice = (account: string, token: Address): void => {
      const cur = current(account, token)
      if (!isUncosted(cur)) return
      const value = valueOf(token, cur.quantity, decimalsOf(token), lastTime)
      if (value !== null) stage(account, token, { ...cur, costUsd: cur.quantity < 0n ? -value : value, unpricedCost: false }, lastTime)
    }
    for (const [token, holders] of state.uncosted.get(batch.chainId) ?? []) {
      if (usdOf(token, lastTime) === null) continue
      for (const account of [...holders].sort()) costAtFirstPrice(account, token)
    }
    for (const c of [...staged.values()]) costAtFirstPrice(c.account, c.token)
  }

  const positions = [...staged.values()].map((c) => ({ ...c, priceUsd: usdOf(c.token, c.blockTime) }))
  return {
    kind: 'apply',
    effects: {
      chainId: batch.chainId,
      fromBlock: batch.fromBlock,
      toBlock: batch.toBlock,
      toBlockHash: batch.toBlockHash,
      toBlockTime: batch.toBlockTime,
      time,
      previousCheckpoint: cp ?? null,
      swaps: outSwaps,
      prices,
      positions,
      priceCache: cache,
      transfers: outTransfers,
      walletBalances: [...stagedBalances.values()],
      detached,
      walletBalancesGone: [...removedBalances]
        .filter(([key, b]) => stagedBalances.get(key)?.account !== b.account)
        .map(([, b]) => ({ wallet: b.wallet, token: b.token, account: b.account })),
      unexplained,
    },
  }
}

/** Applies committed effects to the in-memory state. */
export function commitEffects(state: ShardState, e: BatchEffects): void {
  for (const c of e.positions) {
    let m = state.positions.get(c.account)
    if (!m) state.positions.set(c.account, (m = new Map()))
    m.set(positionKey(c.chainId, c.token), c.position)
    noteCost(state.uncosted, c.chainId, c.token, c.account, c.position)
  }
  for (const g of e.walletBalancesGone) dropWalletBalance(state, e.chainId, g.wallet, g.token)
  for (const b of e.walletBalances) setWalletBalance(state, b)
  state.checkpoints.set(e.chainId, e.toBlock)
  state.priceCaches.set(e.chainId, e.priceCache)
}

/** Keeps the uncosted index in step with one position. */
export function noteCost(uncosted: ShardState['uncosted'], chainId: number, token: Address, account: string, p: Position): void {
  let tokens = uncosted.get(chainId)
  if (isUncosted(p)) {
    if (!tokens) uncosted.set(chainId, (tokens = new Map()))
    let holders = tokens.get(token)
    if (!holders) tokens.set(token, (holders = new Set()))
    holders.add(account)
  } else {
    const holders = tokens?.get(token)
    if (holders?.delete(account) && holders.size === 0) tokens!.delete(token)
  }
}

/** A position that only ever moved without a USD value: no cost booked, nothing realized. */
function isUncosted(p: Position): boolean {
  return p.unpricedCost && p.quantity !== 0n && p.costUsd === 0 && p.realizedPnlUsd === 0
}

/** `a` is at or before `b` in the chain's (block, log index) order. */
function logBefore(a: { blockNumber: bigint; logIndex: number }, b: { blockNumber: bigint; logIndex: number }): boolean {
  return a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex <= b.logIndex)
}

/**
 * USD value of a swap (Dune's amount_usd), from its most trustworthy side: a stablecoin side (its
 * amount is the value, whatever the pool's marginal price after the trade), then a pivot side, then
 * the bought side, then the sold side.
 */
function swapUsd(s: RoutedSwap, cache: PriceCache): number | null {
  const sides = [
    { token: s.tokenOut, amount: s.amountOut, decimals: s.decimalsOut },
    { token: s.tokenIn, amount: s.amountIn, decimals: s.decimalsIn },
  ].sort((a, b) => cache.rank(a.token) - cache.rank(b.token))
  for (const side of sides) {
    const p = cache.usd(side.token, s.blockTime)
    if (p !== null && side.decimals !== null) return toUnits(side.amount, side.decimals) * p
  }
  return null
}
