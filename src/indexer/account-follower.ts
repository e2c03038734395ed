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
  /** The wallets whose opening balances a range from `fromBlock` carries (first read by this process there or later). */
  openingWallets(fromBlock: bigint): Set<Address>
  /** Wallets taken out of their accounts since the last range published: detached at the next one. */
  detachments(): WalletOwner[]
  /** The range carrying `detachments()` is published. */
  published(): void
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
  /** Wallet → the first block its balances were read from by this process. */
  const openedAt = new Map<Address, bigint>()
  /** Wallets taken out of their accounts, detached at the next range published. */
  const detaching = new Map<Address, WalletOwner>()
  let reconcileDue = named

  /** Wallets the shards count for an account the directory does not give them to: detached next. */
  async function reconcile(): Promise<void> {
    const tracked = await pool.query<{ wallet: Address; account: string }>(
      'SELECT DISTINCT wallet, account FROM wallet_balances WHERE chain_id = $1 ORDER BY wallet, account',
      [chainId],
    )
    const stale = tracked.rows.filter((r) => resolver.accountOf(r.wallet) !== r.account)
    for (const r of stale) detaching.set(r.wallet, { wallet: r.wallet, account: r.account })
    if (stale.length > 0) log.warn({ wallets: stale }, 'the shards count wallets their accounts no longer hold (removed while no indexer ran?): detached at the next range')
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
        detaching.set(r.wallet, r)
        openedAt.delete(r.wallet)
      }
      resolver = createAccountResolver(directory.accounts)
      wallets = watchedWallets(directory.accounts)
      walletSet = new Set(wallets)
      log.info({ version: directory.version, added, removed }, 'accounts changed: followed from the next range')
      return true
    },
    openingWallets(fromBlock) {
      const opening = new Set<Address>()
      for (const w of wallets) {
        if (!openedAt.has(w)) openedAt.set(w, fromBlock)
        if (fromBlock <= openedAt.get(w)!) opening.add(w)
      }
      return opening
    },
    detachments: () => [...detaching.values()],
    published: () => detaching.clear(),
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
