import { createHash, randomBytes } from 'node:crypto'
import type { Queryable } from '../risk/rule-store.ts'
import { accountNameProblem } from '../domain/account-name.ts'
import { AccountStoreError } from '../domain/account-store.ts'

/** Who a request acts for: an admin (every account) or one account alone. */
export type Principal = { keyId: string; role: 'admin' } | { keyId: string; role: 'account'; account: string }

export type ApiKeyRow = {
  id: string
  role: 'admin' | 'account'
  account: string | null
  label: string | null
  createdAt: Date
  revokedAt: Date | null
}

/** Keys look like `dxr_<id>_<secret>`: the id is public (lists, logs), the secret is 32 random bytes. */
const KEY_PATTERN = /^dxr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex')

/** True when `key` has the shape of a dexrisk key (checked before any database lookup). */
export const isKeyShaped = (key: string): boolean => KEY_PATTERN.test(key)

/** Creates a key and returns it once, in full; only its hash is stored. */
export async function createApiKey(db: Queryable, opts: { role: 'admin' } | { role: 'account'; account: string }, label?: string): Promise<{ key: string; row: ApiKeyRow }> {
  const id = randomBytes(6).toString('hex')
  const key = `dxr_${id}_${randomBytes(32).toString('base64url')}`
  const account = opts.role === 'account' ? opts.account : null
  const problem = account === null ? null : accountNameProblem(account)
  if (problem !== null) throw new AccountStoreError('invalid', `a key's account: ${problem}`, account!)
  const r = await db.query<KeyDbRow>(
    `INSERT INTO api_keys (id, hash, role, account, label) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, role, account, label, created_at, revoked_at`,
    [id, hashKey(key), opts.role, account, label ?? null],
  )
  return { key, row: toRow(r.rows[0]!) }
}

/** The principal of a presented key, or null when it is unknown or revoked. */
export async function principalOf(db: Queryable, key: string): Promise<Principal | null> {
  if (!isKeyShaped(key)) return null
  const r = await db.query<KeyDbRow>('SELECT id, role, account, label, created_at, revoked_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hashKey(key)])
  const row = r.rows[0]
  if (!row) return null
  return row.role === 'admin' ? { keyId: row.id, role: 'admin' } : { keyId: row.id, role: 'account', account: row.account! }
}

export async function listApiKeys(db: Queryable, account?: string): Promise<ApiKeyRow[]> {
  const r = await db.query<KeyDbRow>(
    `SELECT id, role, account, label, created_at, revoked_at FROM api_keys
     WHERE ($1::text IS NULL OR account = $1) ORDER BY created_at, id`,
    [account ?? null],
  )
  return r.rows.map(toRow)
}

/** Revokes a key by id; false when no live key has that id. */
export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])
  return (r.rowCount ?? 0) > 0
}

/** Revokes every key of an account (the account was deleted). */
export async function revokeAccountKeys(db: Queryable, account: string): Promise<number> {
  const r = await db.query('UPDATE api_keys SET revoked_at = now() WHERE account = $1 AND revoked_at IS NULL', [account])
  return r.rowCount ?? 0
}

type KeyDbRow = { id: string; role: 'admin' | 'account'; account: string | null; label: string | null; created_at: Date; revoked_at: Date | null }

const toRow = (r: KeyDbRow): ApiKeyRow => ({ id: r.id, role: r.role, account: r.account, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at })
