import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApi, type BuiltApi } from '../../src/api/create-api.ts'
import { createApiKey } from '../../src/api/key-store.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { apiTestConfig } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

/**
 * Input an outside probe sent: each gets a 400 (or 403) that names what is wrong, never a 500 (a
 * 500 means a bug of ours), and never more than the key may see.
 */
const db = useEmbeddedDatabase()
const named = apiTestConfig({ prefix: uniquePrefix() })
const auto = apiTestConfig({ prefix: uniquePrefix(), accounts: 'auto' })
let api: BuiltApi
let autoApi: BuiltApi
const keys = { admin: '', alice: '' }
const ALICE_WALLET = '0x00000000000000000000000000000000000a11ce'

const as = (key: string) => ({ authorization: `Bearer ${key}` })

beforeAll(async () => {
  await syncConfigAccounts(db.pool(), named.accounts as Record<string, string[]>)
  keys.admin = (await createApiKey(db.pool(), { role: 'admin' })).key
  keys.alice = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
  const silent = { log: createLogger({ level: 'silent' }) }
  api = await buildApi({ common: createCommon(named, silent), pool: db.pool(), redisUrl: TEST_REDIS_URL })
  autoApi = await buildApi({ common: createCommon(auto, silent), pool: db.pool(), redisUrl: TEST_REDIS_URL })
})
afterAll(async () => {
  await api?.close()
  await autoApi?.close()
})

describe('account names', () => {
  it("refuses '*', a NUL byte and other malformed names on every route that takes an account", async () => {
    for (const name of ['*', 'a%00', '%2A', 'a b', 'all', 'x'.repeat(65)]) {
      for (const url of [`/v1/accounts/${name}`, `/v1/accounts/${name}/risk`, `/v1/accounts/${name}/history`, `/v1/accounts/${name}/trades`, `/v1/accounts/${name}/alerts`, `/v1/accounts/${name}/rules`]) {
        const r = await api.app.inject({ method: 'GET', url, headers: as(keys.admin) })
        expect({ url, status: r.statusCode }).toEqual({ url, status: 400 })
        expect(r.json<{ message: string }>().message).toMatch(/account/)
      }
    }
  })

  it('refuses them in the wallet, key-list and report routes too, with the report\'s own "*" for an admin only', async () => {
    const wallet = await api.app.inject({ method: 'DELETE', url: '/v1/accounts/a%00/wallets/0x00000000000000000000000000000000000a11ce', headers: as(keys.admin) })
    expect(wallet.statusCode).toBe(400)
    const badWallet = await api.app.inject({ method: 'DELETE', url: '/v1/accounts/alice/wallets/0xzz', headers: as(keys.admin) })
    expect(badWallet.json<{ message: string }>().message).toMatch(/^params\.wallet: must match pattern/)
    expect((await api.app.inject({ method: 'GET', url: '/v1/keys?account=*', headers: as(keys.admin) })).statusCode).toBe(400)
    expect((await api.app.inject({ method: 'DELETE', url: '/v1/keys/a%00', headers: as(keys.admin) })).statusCode).toBe(400)
    expect((await api.app.inject({ method: 'GET', url: '/v1/reports/var_drawdown_history?since=30d&account=a%00', headers: as(keys.admin) })).statusCode).toBe(400)
    expect((await api.app.inject({ method: 'GET', url: '/v1/reports/var_drawdown_history?since=30d&account=*', headers: as(keys.admin) })).statusCode).toBe(200)
    // An account key asking for every account is answered as for an account that does not exist.
    const own = await api.app.inject({ method: 'GET', url: '/v1/reports/var_drawdown_history?since=30d&account=*', headers: as(keys.alice) })
    expect(own.json()).toEqual({ error: 'not_found', message: 'no account "*"' })
  })

  it("an admin cannot mint a key for '*' or a name auto mode can never hold, nor create an account so named", async () => {
    const star = await autoApi.app.inject({ method: 'POST', url: '/v1/accounts/%2A/keys', headers: as(keys.admin), payload: {} })
    expect(star.statusCode).toBe(400)
    const notAWallet = await autoApi.app.inject({ method: 'POST', url: '/v1/accounts/desk/keys', headers: as(keys.admin), payload: {} })
    expect(notAWallet.statusCode).toBe(400)
    expect(notAWallet.json<{ message: string }>().message).toContain('auto')
    const wallet = await autoApi.app.inject({ method: 'POST', url: `/v1/accounts/${ALICE_WALLET}/keys`, headers: as(keys.admin), payload: {} })
    expect(wallet.statusCode).toBe(201)
    const created = await api.app.inject({ method: 'POST', url: '/v1/accounts', headers: as(keys.admin), payload: { name: '*', wallets: [] } })
    expect(created.statusCode).toBe(400)
    expect(created.json<{ message: string }>().message).toContain('name')
  })

  it("a key of an account stored as '*' (before names were checked) reads nothing: every account is not its to read", async () => {
    // The situation the probe left behind: such a key, made before names were checked.
    await expect(createApiKey(db.pool(), { role: 'account', account: '*' })).rejects.toThrow(/account name/)
    const { key, row } = await createApiKey(db.pool(), { role: 'account', account: 'alice' })
    await db.pool().query("UPDATE api_keys SET account = '*' WHERE id = $1", [row.id])
    const report = await api.app.inject({ method: 'GET', url: '/v1/reports/var_drawdown_history?since=30d', headers: as(key) })
    expect(report.statusCode).toBe(403)
    const me = await api.app.inject({ method: 'GET', url: '/v1/me', headers: as(key) })
    expect(me.statusCode).toBe(403)
  })
})

describe('paged routes', () => {
  it('limit 1e400, Infinity or 10.5 is a 400 naming limit', async () => {
    for (const limit of ['1e400', 'Infinity', '10.5', '-1', '1001']) {
      const r = await api.app.inject({ method: 'GET', url: `/v1/accounts/alice/history?limit=${limit}`, headers: as(keys.alice) })
      expect({ limit, status: r.statusCode }).toEqual({ limit, status: 400 })
      expect(r.json<{ message: string }>().message).toContain('limit')
    }
  })

  it('a cursor with an out-of-range time or a NUL byte is a 400 naming the cursor', async () => {
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    for (const c of [cursor(['9223372036854775807', '1', '2']), cursor(['-9223372036854775808', '1', '2']), cursor(['1700000000000000', '1\u0000', '2'])]) {
      const r = await api.app.inject({ method: 'GET', url: `/v1/accounts/alice/history?cursor=${c}`, headers: as(keys.alice) })
      expect(r.statusCode).toBe(400)
      expect(r.json<{ message: string }>().message).toContain('cursor')
    }
  })

  it('from/to beyond what a timestamp holds is a 400 naming the field', async () => {
    const r = await api.app.inject({ method: 'GET', url: '/v1/accounts/alice/history?from=275760-09-13T00:00:00Z', headers: as(keys.alice) })
    expect(r.statusCode).toBe(400)
  })
})

describe('rule bodies', () => {
  const put = (body: unknown) => api.app.inject({ method: 'PUT', url: '/v1/accounts/alice/rules/probe', headers: as(keys.admin), payload: body as object })
  const base = { metric: 'var99Usd', op: 'above', threshold: 1000 }

  it('takes exactly its schema: null, an array or an unknown field is a 400 naming the field, never coerced', async () => {
    for (const [body, field] of [
      [{ ...base, threshold: null }, 'threshold'],
      [{ ...base, threshold: [1] }, 'threshold'],
      [{ ...base, threshold: '5' }, 'threshold'],
      [{ ...base, thresold: 5 }, 'thresold'],
      [{ ...base, enabled: 'true' }, 'enabled'],
      [{ ...base, cooldownSeconds: 2147483648 }, 'cooldownSeconds'],
      [{ ...base, hysteresis: null }, 'hysteresis'],
    ] as const) {
      const r = await put(body)
      expect({ field, status: r.statusCode }).toEqual({ field, status: 400 })
      expect(r.json<{ message: string }>().message).toContain(field)
    }
    const rules = await db.pool().query("SELECT id FROM rules WHERE id = 'probe'")
    expect(rules.rowCount).toBe(0)
  })

  it('a cooldown of 2^31 − 1 seconds is stored as given', async () => {
    const r = await put({ ...base, cooldownSeconds: 2147483647 })
    expect(r.statusCode).toBe(200)
    const row = await db.pool().query<{ cooldown_seconds: number }>("SELECT cooldown_seconds FROM rules WHERE id = 'probe' AND account = 'alice'")
    expect(row.rows[0]!.cooldown_seconds).toBe(2147483647)
  })

  it('a key body takes exactly its schema too', async () => {
    const hook = await api.app.inject({ method: 'POST', url: '/v1/accounts/alice/keys', headers: as(keys.admin), payload: { label: 'x', role: 'admin' } })
    expect(hook.statusCode).toBe(400)
    expect(hook.json<{ message: string }>().message).toContain('role')
  })
})
