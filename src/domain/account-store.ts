import { getAddress, isAddress, type Address } from 'viem'
import { BaseError } from '../errors.ts'
import { accountNameProblem } from './account-name.ts'
import type { Queryable } from '../risk/rule-store.ts'

/**
 * Named accounts and their wallets in the database. Functions that write more than one statement
 * run them on the `db` they are given: pass a transaction (withTransaction) so a refusal halfway
 * leaves nothing behind (the API does).
 * the config's accounts (source 'config',
 * rewritten at every start, read-only elsewhere) and those the API or CLI created ('api').
 */
export type StoredAccount = { name: string; source: 'config' | 'api'; wallets: Address[] }

/** A request on accounts that cannot be met: `reason` says which kind (the API maps it to a status). */
export class AccountStoreError extends BaseError {
  override name = 'AccountStoreError'
  readonly reason: 'not_found' | 'conflict' | 'read_only' | 'invalid'
  constructor(reason: AccountStoreError['reason'], message: string, account?: string) {
    super(message, account === undefined ? {} : { context: { account } })
    this.reason = reason
  }
}

/** Checks a named account's name (src/domain/account-name.ts); the error says what is wrong. */
export function assertAccountName(name: string): void {
  const problem = accountNameProblem(name, 'named')
  if (problem !== null) throw new AccountStoreError('invalid', `account name: ${problem}`)
}

/** Lowercase wallet addresses, deduplicated; a malformed one is refused by name. */
export function normalizeWallets(wallets: readonly string[], account?: string): Address[] {
  const out = new Set<Address>()
  for (const w of wallets) {
    if (!isAddress(w, { strict: false })) throw new AccountStoreError('invalid', `wallet "${w}" is not an address`, account)
    out.add(getAddress(w).toLowerCase() as Address)
  }
  return [...out].sort()
}

/**
 * What making the database's 'config' accounts equal a config's named accounts would change:
 * accounts to add, wallets to add or remove, and config accounts the config no longer names (with
 * their live keys). Reads only. An 'api' account of the same name, or a wallet an 'api' account
 * holds, is a conflict the operator resolves: refused with both names.
 */
export type ConfigAccountsPlan = {
  add: { name: string; wallets: string[] }[]
  wallets: { name: string; added: string[]; removed: string[] }[]
  gone: { name: string; liveKeys: number }[]
}

export async function planConfigAccounts(db: Queryable, accounts: Readonly<Record<string, readonly string[]>>): Promise<ConfigAccountsPlan> {
  const names = Object.keys(accounts).sort()
  const stored = await listAccounts(db)
  const byName = new Map(stored.map((a) => [a.name, a]))
  const owner = new Map(stored.flatMap((a) => a.wallets.map((w) => [w.toLowerCase(), a] as const)))
  const plan: ConfigAccountsPlan = { add: [], wallets: [], gone: [] }
  for (const name of names) {
    const wallets = normalizeWallets(accounts[name]!, name)
    const existing = byName.get(name)
    if (existing?.source === 'api') throw new AccountStoreError('conflict', `account "${name}" is in the config and was also created through the API; delete one of them`, name)
    for (const w of wallets) {
      const other = owner.get(w)
      if (other && other.name !== name && other.source === 'api')
        throw new AccountStoreError('conflict', `wallet ${w} of config account "${name}" belongs to account "${other.name}" (created through the API)`, name)
    }
    if (!existing) {
      plan.add.push({ name, wallets })
      continue
    }
    const had = new Set(existing.wallets.map((w) => w.toLowerCase()))
    const added = wallets.filter((w) => !had.has(w))
    const kept = new Set<string>(wallets)
    const removed = [...had].filter((w) => !kept.has(w)).sort()
    if (added.length + removed.length > 0) plan.wallets.push({ name, added, removed })
  }
  const gone = stored.filter((a) => a.source === 'config' && !names.includes(a.name)).map((a) => a.name)
  if (gone.length > 0) {
    const keys = await db.query<{ account: string; n: number }>(
      'SELECT account, count(*)::int AS n FROM api_keys WHERE revoked_at IS NULL AND account = ANY($1::text[]) GROUP BY account',
      [gone],
    )
    const live = new Map(keys.rows.map((r) => [r.account, r.n]))
    plan.gone = gone.map((name) => ({ name, liveKeys: live.get(name) ?? 0 }))
  }
  return plan
}

/** The plan as lines a person reads before it is applied (empty when nothing changes). */
export function describeConfigAccountsPlan(plan: ConfigAccountsPlan, opts: { prune: boolean; revokeKeys: boolean }): string[] {
  const lines: string[] = []
  for (const a of plan.add) lines.push(`add account ${a.name} with ${a.wallets.length} wallet(s): ${a.wallets.join(', ')}`)
  for (const w of plan.wallets) {
    if (w.added.length > 0) lines.push(`account ${w.name}: add wallet(s) ${w.added.join(', ')}`)
    if (w.removed.length > 0) lines.push(`account ${w.name}: remove wallet(s) ${w.removed.join(', ')}`)
  }
  for (const g of plan.gone) {
    const keys = g.liveKeys === 0 ? 'no live key' : `${g.liveKeys} live key(s)`
    if (!opts.prune) lines.push(`keep account ${g.name}: no longer in the config (${keys}); remove it with \`dexrisk accounts sync --prune\``)
    else if (g.liveKeys > 0 && !opts.revokeKeys) lines.push(`keep account ${g.name}: no longer in the config, but it has ${keys}; add --revoke-keys to revoke them and remove it`)
    else lines.push(`remove account ${g.name} (no longer in the config)${g.liveKeys > 0 ? `, revoking its ${keys}` : ''}`)
  }
  return lines
}

/**
 * Applies a plan: adds accounts and wallets, removes wallets; with `prune`, removes the config
 * accounts the config no longer names, but never one with a live key unless `revokeKeys` says to
 * revoke them (a key left to a removed name would see a later account of that name). Run it in a
 * transaction; returns the accounts removed and the keys revoked.
 */
export async function applyConfigAccounts(
  db: Queryable,
  plan: ConfigAccountsPlan,
  opts: { prune: boolean; revokeKeys: boolean },
): Promise<{ removed: string[]; revokedKeys: number }> {
  for (const a of plan.add) {
    await db.query(`INSERT INTO accounts (name, source) VALUES ($1, 'config') ON CONFLICT (name) DO NOTHING`, [a.name])
    await db.query('INSERT INTO account_wallets (wallet, account) SELECT unnest($1::text[]), $2 ON CONFLICT (wallet) DO NOTHING', [a.wallets, a.name])
  }
  for (const w of plan.wallets) {
    if (w.removed.length > 0) await db.query('DELETE FROM account_wallets WHERE account = $1 AND wallet = ANY($2::text[])', [w.name, w.removed])
    if (w.added.length > 0)
      await db.query(
        `INSERT INTO account_wallets (wallet, account) SELECT unnest($1::text[]), $2
         ON CONFLICT (wallet) DO UPDATE SET account = EXCLUDED.account
         WHERE account_wallets.account IN (SELECT name FROM accounts WHERE source = 'config')`,
        [w.added, w.name],
      )
  }
  const removable = opts.prune ? plan.gone.filter((g) => g.liveKeys === 0 || opts.revokeKeys).map((g) => g.name) : []
  if (removable.length === 0) return { removed: [], revokedKeys: 0 }
  const revoked = await db.query(`UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND account = ANY($1::text[])`, [removable])
  await db.query(`DELETE FROM accounts WHERE source = 'config' AND name = ANY($1::text[])`, [removable])
  return { removed: removable, revokedKeys: revoked.rowCount ?? 0 }
}

/**
 * Adds the config's named accounts and brings their wallets to the config's; removes nothing and
 * revokes nothing (that is `dexrisk accounts sync --prune [--revoke-keys]`). Returns the plan applied.
 */
export async function syncConfigAccounts(db: Queryable, accounts: Readonly<Record<string, readonly string[]>>): Promise<ConfigAccountsPlan> {
  const plan = await planConfigAccounts(db, accounts)
  await applyConfigAccounts(db, plan, { prune: false, revokeKeys: false })
  return plan
}

export async function listAccounts(db: Queryable, only?: string): Promise<StoredAccount[]> {
  const r = await db.query<{ name: string; source: 'config' | 'api'; wallets: string[] | null }>(
    `SELECT a.name, a.source, array_remove(array_agg(w.wallet ORDER BY w.wallet), NULL) AS wallets
     FROM accounts a LEFT JOIN account_wallets w ON w.account = a.name
     WHERE ($1::text IS NULL OR a.name = $1)
     GROUP BY a.name, a.source ORDER BY a.name`,
    [only ?? null],
  )
  return r.rows.map((row) => ({ name: row.name, source: row.source, wallets: (row.wallets ?? []) as Address[] }))
}

export async function getAccount(db: Queryable, name: string): Promise<StoredAccount> {
  const [found] = await listAccounts(db, name)
  if (!found) throw new AccountStoreError('not_found', `no account "${name}"`, name)
  return found
}

/** Creates an 'api' account with its wallets (a wallet held by another account is a conflict). */
export async function createAccount(db: Queryable, name: string, wallets: readonly string[]): Promise<StoredAccount> {
  assertAccountName(name)
  const normalized = normalizeWallets(wallets, name)
  const r = await db.query(`INSERT INTO accounts (name, source) VALUES ($1, 'api') ON CONFLICT (name) DO NOTHING`, [name])
  if ((r.rowCount ?? 0) === 0) throw new AccountStoreError('conflict', `account "${name}" already exists`, name)
  await addWallets(db, name, normalized)
  return getAccount(db, name)
}

/**
 * Replaces an 'api' account's wallets. A wallet taken out is detached by the indexers at their next
 * range: from there its balances no longer count in the account's positions.
 */
export async function setWallets(db: Queryable, name: string, wallets: readonly string[]): Promise<StoredAccount> {
  await writable(db, name)
  const normalized = normalizeWallets(wallets, name)
  await db.query('DELETE FROM account_wallets WHERE account = $1 AND NOT (wallet = ANY($2::text[]))', [name, normalized])
  await addWallets(db, name, normalized)
  return getAccount(db, name)
}

/**
 * Adds wallets to an 'api' account; wallets it already has are fine, another account's are a
 * conflict — also when another request took one between the check and the insert (the insert
 * then inserts fewer rows than it was given, and the caller's transaction is rolled back).
 */
export async function addWallets(db: Queryable, name: string, wallets: readonly string[]): Promise<StoredAccount> {
  await writable(db, name)
  const normalized = normalizeWallets(wallets, name)
  const taken = await db.query<{ wallet: string; account: string }>('SELECT wallet, account FROM account_wallets WHERE wallet = ANY($1::text[]) AND account <> $2', [normalized, name])
  if (taken.rows[0]) throw new AccountStoreError('conflict', `wallet ${taken.rows[0].wallet} already belongs to account "${taken.rows[0].account}"`, name)
  const fresh = await db.query<{ wallet: string }>('SELECT unnest($1::text[]) AS wallet EXCEPT SELECT wallet FROM account_wallets WHERE account = $2', [normalized, name])
  const inserted = await db.query('INSERT INTO account_wallets (wallet, account) SELECT unnest($1::text[]), $2 ON CONFLICT (wallet) DO NOTHING', [fresh.rows.map((r) => r.wallet), name])
  if ((inserted.rowCount ?? 0) < fresh.rows.length) throw new AccountStoreError('conflict', `a wallet of ${JSON.stringify(wallets)} was just given to another account`, name)
  await db.query('UPDATE accounts SET updated_at = now() WHERE name = $1', [name])
  return getAccount(db, name)
}

export async function removeWallet(db: Queryable, name: string, wallet: string): Promise<StoredAccount> {
  await writable(db, name)
  const [w] = normalizeWallets([wallet], name)
  const r = await db.query('DELETE FROM account_wallets WHERE account = $1 AND wallet = $2', [name, w])
  if ((r.rowCount ?? 0) === 0) throw new AccountStoreError('not_found', `account "${name}" has no wallet ${w}`, name)
  return getAccount(db, name)
}

/** Deletes an 'api' account and its wallets (its history stays in the hypertables). */
export async function deleteAccount(db: Queryable, name: string): Promise<void> {
  await writable(db, name)
  await db.query('DELETE FROM accounts WHERE name = $1', [name])
}

async function writable(db: Queryable, name: string): Promise<void> {
  const account = await getAccount(db, name)
  if (account.source === 'config') throw new AccountStoreError('read_only', `account "${name}" is defined in the config; change it there`, name)
}
