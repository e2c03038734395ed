import type { Address } from 'viem'
import { BaseError } from '../errors.ts'
import type { Queryable } from '../risk/rule-store.ts'

/** Named accounts and their wallets (lowercase), as the database holds them at one version. */
export type AccountDirectory = { version: number; accounts: Record<string, Address[]> }

/** A wallet and the account it belongs to (or belonged to, for a wallet taken out of it). */
export type WalletOwner = { wallet: Address; account: string }

/**
 * The version of the account directory: bumped, with the change's commit, by every change of
 * `accounts` or `account_wallets` (sql/0016_account_directory.sql), whoever made it.
 */
export async function accountsVersion(db: Queryable): Promise<number> {
  const r = await db.query<{ version: string }>('SELECT version::text AS version FROM accounts_version')
  const row = r.rows[0]
  if (!row) throw new BaseError('accounts_version has no row: was sql/0016_account_directory.sql applied?')
  return Number(row.version)
}

/**
 * The directory as of one version: the version and the accounts in one statement, so they are one
 * snapshot (a change committed meanwhile is seen at the next poll, never half).
 */
export async function loadAccountDirectory(db: Queryable): Promise<AccountDirectory> {
  const r = await db.query<{ version: string | null; accounts: Record<string, string[]> }>(
    `SELECT (SELECT version::text FROM accounts_version) AS version,
            coalesce((SELECT json_object_agg(name, wallets) FROM (
              SELECT a.name, coalesce(array_agg(w.wallet ORDER BY w.wallet) FILTER (WHERE w.wallet IS NOT NULL), '{}') AS wallets
              FROM accounts a LEFT JOIN account_wallets w ON w.account = a.name GROUP BY a.name) x), '{}'::json) AS accounts`,
  )
  const row = r.rows[0]!
  if (row.version === null) throw new BaseError('accounts_version has no row: was sql/0016_account_directory.sql applied?')
  const accounts = Object.fromEntries(
    Object.entries(row.accounts)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, wallets]) => [name, wallets.map((w) => w.toLowerCase() as Address)]),
  )
  return { version: Number(row.version), accounts }
}

/**
 * What changed between two directories, wallet by wallet: `added` are wallets to follow from now on
 * (new, or moved to another account), `removed` are wallets whose old account stops counting them
 * (gone, or moved away). A wallet moved from one account to another is in both lists.
 */
export function diffAccountDirectories(before: Readonly<Record<string, readonly Address[]>>, after: Readonly<Record<string, readonly Address[]>>): { added: WalletOwner[]; removed: WalletOwner[] } {
  const owners = (d: Readonly<Record<string, readonly Address[]>>): Map<Address, string> =>
    new Map(Object.entries(d).flatMap(([account, wallets]) => wallets.map((w) => [w.toLowerCase() as Address, account] as const)))
  const was = owners(before)
  const now = owners(after)
  const added: WalletOwner[] = []
  const removed: WalletOwner[] = []
  for (const [wallet, account] of now) if (was.get(wallet) !== account) added.push({ wallet, account })
  for (const [wallet, account] of was) if (now.get(wallet) !== account) removed.push({ wallet, account })
  const order = (a: WalletOwner, b: WalletOwner): number => (a.wallet < b.wallet ? -1 : a.wallet > b.wallet ? 1 : 0)
  return { added: added.sort(order), removed: removed.sort(order) }
}
