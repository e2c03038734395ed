import type pg from 'pg'
import type { Address } from 'viem'
import type { Logger } from 'pino'
import { accountsVersion, diffAccountDirectories, loadAccountDirectory, type AccountDirectory, type WalletOwner } from '../domain/account-directory.ts'
import { createAccountResolver, type AccountResolver } from '../domain/accounts.ts'

/**
 * The accounts one chain's indexer follows, and their changes at range boundaries. With named
 * accounts it follows the account directory in the database (the config's accounts and those the
 * API or CLI made): a change reaches the indexer at its next range, without a restart. In 'auto'
 * mode every trader is an account and there is nothing to follow.
 */
export type AccountFollower = {
  named: boolean
  /** Who a wallet's risk belongs to, as of the directory the next range is read with. */
  resolver(): AccountResolver
  /** Every watched wallet, sorted. */
  wallets(): readonly Address[]
  watches(wallet: Address): boolean
  /**
   * Takes in a change of the directory (checked at most every ACCOUNTS_CHECK_MS) and, after a
   * start or a move back, the wallets the shards still count for an account the directory no
   * longer gives them to. Call before reading a range. Returns true when the watched wallets changed.
   */
  beforeRange(): Promise<boolean>
  /**
   * The wallets whose opening balances a range from `fromBlock` carries, each with the tokens to
   * read besides the config's (those the shards counted for it under another account).
   */
  openingWallets(fromBlock: bigint): Map<Address, ReadonlySet<Address>>
  /** Wallets taken out of their accounts: detached by the next range, and by every range until one passes every shard. */
  detachments(): WalletOwner[]
  /** A range up to `toBlock` carrying `detachments()` is published. */
  published(toBlock: bigint): void
  /** The cursor moved back (a reorg, lost batches): compare the shards' wallets with the directory before the next range. */
  movedBack(): void
}

export async function createAccountFollower(opts: { pool: pg.Pool; chainId: number; named: boolean; log: Logger; checkMs?: number }): Promise<AccountFollower> {
  const { pool, chainId, named, log } = opts
  const checkMs = opts.checkMs ?? ACCOUNTS_CHECK_MS
  let directory: AccountDirectory = named ? await loadAccountDirectory(pool) : { version: 0, accounts: {} }
  let resolver = createAccountResolver(named ? directory.accounts : 'auto')
  let wallets = watchedWallets(directory.accounts)
  let walletSet = new Set(wallets)
  let checkedAt = Date.now()
  /**
   * The highest shard checkpoint of the chain when the cursor last moved (at start, a move back):
   * a shard that far ahead skips every range up to it whole, so what a range must bring every
   * shard (an opening, a detachment) goes with every range until one passes it.
   */
  let highWater = -1n
  /** Wallet → the last block whose ranges carry its opening balances (from its first range, and up to highWater). */
  const openedAt = new Map<Address, bigint>()
  /** Wallet → tokens its opening reads besides the config's: what the shards counted for it under another account. */
  const carried = new Map<Address, Set<Address>>()
  /** `${wallet}|${account}` → a wallet taken out of an account, and the block a range must pass to have reached every shard. */
  const detaching = new Map<string, { owner: WalletOwner; until: bigint | null }>()
  let reconcileDue = named

  const carry = (wallet: Address, token: Address): void => {
    let set = carried.get(wallet)
    if (!set) carried.set(wallet, (set = new Set()))
    set.add(token)
  }
  const detach = (owner: WalletOwner): void => {
    detaching.set(`${owner.wallet}|${owner.account}`, { owner, until: null })
  }

  /**
   * After a start or a move back: the highest shard checkpoint, and the wallets the shards count
   * for an account the directory does not give them to (detached next; a wallet the directory now
   * gives to another account is opened there with the tokens the shards counted for it).
   */
  async function reconcile(): Promise<void> {
    const [tracked, top] = await Promise.all([
      pool.query<{ wallet: Address; account: string; token: Address }>(
        'SELECT wallet, account, token FROM wallet_balances WHERE chain_id = $1 ORDER BY wallet, account, token',
        [chainId],
      ),
      pool.query<{ top: string | null }>('SELECT max(last_block)::text AS top FROM checkpoints WHERE chain_id = $1', [chainId]),
    ])
    highWater = top.rows[0]?.top === null || top.rows[0] === undefined ? -1n : BigInt(top.rows[0].top)
    const stale = new Map<string, WalletOwner>()
    for (const r of tracked.rows) {
      const now = resolver.accountOf(r.wallet)
      if (now === r.account) continue
      stale.set(`${r.wallet}|${r.account}`, { wallet: r.wallet, account: r.account })
      if (now !== null) carry(r.wallet, r.token)
    }
    for (const owner of stale.values()) detach(owner)
    // Openings already made go with every range up to the high water too (a shard ahead skips the first).
    for (const [w, at] of openedAt) if (at < highWater) openedAt.set(w, highWater)
    if (stale.size > 0) log.warn({ wallets: [...stale.values()] }, 'the shards count wallets their accounts no longer hold (removed while no indexer ran?): detached at the next range')
    reconcileDue = false
  }

  return {
    named,
    resolver: () => resolver,
    wallets: () => wallets,
    watches: (wallet) => walletSet.has(wallet),
    async beforeRange() {
      if (!named) return false
      if (reconcileDue) await reconcile()
      if (Date.now() - checkedAt < checkMs) return false
      checkedAt = Date.now()
      if ((await accountsVersion(pool)) === directory.version) return false
      const next = await loadAccountDirectory(pool)
      const { added, removed } = diffAccountDirectories(directory.accounts, next.accounts)
      directory = next
      if (added.length + removed.length === 0) return false
      for (const r of removed) {
        detach(r)
        openedAt.delete(r.wallet)
        carried.delete(r.wallet)
      }
      if (added.length > 0) {
        // Given back to the account it left before the detachment went out: nothing to detach.
        for (const a of added) detaching.delete(`${a.wallet}|${a.account}`)
        // A wallet that moved brings the tokens the shards counted for it, not only the config's.
        const known = await pool.query<{ wallet: Address; token: Address }>(
          'SELECT DISTINCT wallet, token FROM wallet_balances WHERE chain_id = $1 AND wallet = ANY($2::text[])',
          [chainId, added.map((a) => a.wallet)],
        )
        for (const r of known.rows) carry(r.wallet, r.token)
      }
      resolver = createAccountResolver(directory.accounts)
      wallets = watchedWallets(directory.accounts)
      walletSet = new Set(wallets)
      log.info({ version: directory.version, added, removed }, 'accounts changed: followed from the next range')
      return true
    },
    openingWallets(fromBlock) {
      const opening = new Map<Address, ReadonlySet<Address>>()
      for (const w of wallets) {
        if (!openedAt.has(w)) openedAt.set(w, fromBlock > highWater ? fromBlock : highWater)
        if (fromBlock <= openedAt.get(w)!) opening.set(w, carried.get(w) ?? new Set())
      }
      return opening
    },
    detachments: () => [...detaching.values()].map((d) => d.owner),
    published(toBlock) {
      for (const [key, d] of detaching) {
        d.until ??= highWater
        if (toBlock > d.until) detaching.delete(key)
      }
    },
    movedBack: () => {
      reconcileDue = named
    },
  }
}

/** How often, at most, an indexer checks whether accounts or their wallets changed. */
const ACCOUNTS_CHECK_MS = 1_000

/** Every wallet of every named account, lowercase and sorted. */
function watchedWallets(accounts: AccountDirectory['accounts']): Address[] {
  return [...new Set(Object.values(accounts).flat().map((w) => w.toLowerCase() as Address))].sort()
}
