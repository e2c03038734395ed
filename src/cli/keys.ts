import { ConfigError } from '../errors.ts'
import { createApiKey, listApiKeys, revokeApiKey } from '../api/key-store.ts'
import { accountNameProblem } from '../domain/account-name.ts'
import { getAccount } from '../domain/account-store.ts'
import type { Queryable } from '../risk/rule-store.ts'
import { formatRows } from './format-rows.ts'
import type { Out, OutputFormat } from './rules.ts'

/**
 * `dexrisk keys …`: API keys. A key is printed once, when it is created; only its SHA-256 is
 * stored. An admin key manages every account; an account key sees that account alone.
 */
export async function runKeyCreate(db: Queryable, opts: { admin?: boolean; account?: string; label?: string; auto: boolean }, out: Out): Promise<string> {
  if (opts.admin === (opts.account !== undefined))
    throw new ConfigError('say whose key it is: --admin, or --account <name>', { context: { field: opts.admin ? '--account' : '--admin' } })
  if (opts.account !== undefined && opts.auto) {
    const problem = accountNameProblem(opts.account, 'auto')
    if (problem !== null) throw new ConfigError(`--account: ${problem}`, { context: { field: '--account' } })
  }
  if (opts.account !== undefined && !opts.auto) await getAccount(db, opts.account)
  const { key, row } = await createApiKey(db, opts.account === undefined ? { role: 'admin' } : { role: 'account', account: opts.account }, opts.label)
  out(`created ${row.role} key ${row.id}${row.account ? ` for account ${row.account}` : ''}; it is shown this once:`)
  out(key)
  return key
}

export async function runKeyList(db: Queryable, opts: { account?: string; format?: OutputFormat }, out: Out): Promise<void> {
  const rows = (await listApiKeys(db, opts.account)).map((k) => ({ id: k.id, role: k.role, account: k.account, label: k.label, created_at: k.createdAt, revoked_at: k.revokedAt }))
  const text = formatRows(['id', 'role', 'account', 'label', 'created_at', 'revoked_at'], rows, opts.format ?? 'table')
  for (const line of text.replace(/\n$/, '').split('\n')) out(line)
}

export async function runKeyRevoke(db: Queryable, id: string, out: Out): Promise<void> {
  if (!(await revokeApiKey(db, id))) throw new ConfigError(`no live key ${id}`, { context: { field: '<id>' } })
  out(`revoked key ${id}`)
}
