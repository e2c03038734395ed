import { withTransaction } from '../db/pool.ts'
import { applyConfigAccounts, describeConfigAccountsPlan, planConfigAccounts } from '../domain/account-store.ts'
import type pg from 'pg'
import type { Out } from './rules.ts'

export type AccountsSyncOptions = {
  /** Print what would change and change nothing. */
  dryRun?: boolean
  /** Also remove the config accounts the config no longer names (never one with a live key, unless revokeKeys). */
  prune?: boolean
  /** With prune: revoke the keys of the accounts removed. */
  revokeKeys?: boolean
}

/**
 * `dexrisk accounts sync`: makes the database's config accounts match a config's named accounts,
 * printing each change first. Without --prune nothing is removed; no key is revoked without
 * --revoke-keys. Returns the lines printed.
 */
export async function runAccountsSync(db: pg.Pool, accounts: Readonly<Record<string, readonly string[]>>, opts: AccountsSyncOptions, out: Out): Promise<string[]> {
  const flags = { prune: opts.prune ?? false, revokeKeys: opts.revokeKeys ?? false }
  const plan = await planConfigAccounts(db, accounts)
  const lines = describeConfigAccountsPlan(plan, flags)
  if (lines.length === 0) {
    out('the database already has the config accounts: nothing to change')
    return lines
  }
  for (const line of lines) out(`${opts.dryRun ? 'would ' : ''}${line}`)
  if (opts.dryRun) return lines
  const done = await withTransaction(db, (tx) => applyConfigAccounts(tx, plan, flags))
  out(`done${done.removed.length > 0 ? `: removed ${done.removed.join(', ')}` : ''}${done.revokedKeys > 0 ? `, revoked ${done.revokedKeys} key(s)` : ''}`)
  return lines
}
