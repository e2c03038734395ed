import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Api } from '../../src/api/create-api.ts'
import { createApiKey } from '../../src/api/key-store.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { apiTestConfig, startTestApi, WALLETS } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const db = useEmbeddedDatabase()
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)
const config = apiTestConfig({ prefix, api: { rateLimitPerMinute: 1000 } })
let api: Api
let admin = ''
const CAROL = ['0x00000000000000000000000000000000000CA201', '0x00000000000000000000000000000000000ca202']

beforeAll(async () => {
  await syncConfigAccounts(db.pool(), config.accounts as Record<string, string[]>)
  admin = (await createApiKey(db.pool(), { role: 'admin' })).key
  api = await startTestApi({ config, pool: db.pool(), redisUrl: TEST_REDIS_URL })
})

afterAll(async () => {
  await api?.close()
  await cleanupPrefix(redis, prefix)
  await redis.quit()
})

const call = async (method: string, path: string, body?: unknown, key = admin) => {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) }
}

describe('managing accounts, keys and rules', () => {
  it('creates an account with its wallets, changes them, and deletes it with its keys', async () => {
    expect(await call('POST', '/v1/accounts', { name: 'carol', wallets: CAROL })).toEqual({
      status: 201,
      body: { name: 'carol', source: 'api', wallets: CAROL.map((w) => w.toLowerCase()).sort() },
    })
    expect(await call('POST', '/v1/accounts', { name: 'carol', wallets: [] })).toEqual({ status: 409, body: { error: 'conflict', message: 'account "carol" already exists' } })
    expect(await call('POST', '/v1/accounts/carol/wallets', { wallets: [WALLETS.bob] })).toEqual({
      status: 409,
      body: { error: 'conflict', message: `wallet ${WALLETS.bob} already belongs to account "bob"` },
    })
    expect((await call('DELETE', `/v1/accounts/carol/wallets/${CAROL[0]}`)).body).toEqual({ name: 'carol', source: 'api', wallets: [CAROL[1]] })
    expect((await call('PUT', '/v1/accounts/carol/wallets', { wallets: CAROL })).body!.wallets).toEqual(CAROL.map((w) => w.toLowerCase()).sort())
    const created = await call('POST', '/v1/accounts/carol/keys', {})
    const carolKey = created.body!.key as string
    expect((await call('GET', '/v1/accounts/carol', undefined, carolKey)).status).toBe(200)
    expect(await call('DELETE', '/v1/accounts/carol')).toEqual({ status: 204, body: null })
    expect((await call('GET', '/v1/keys?account=carol')).body!.keys).toEqual([expect.objectContaining({ id: created.body!.id, revokedAt: expect.any(String) })])
    expect(await call('GET', '/v1/accounts/carol')).toEqual({ status: 404, body: { error: 'not_found', message: 'no account "carol"' } })
  })

  it('removes a wallet whose balances the account follows, and moves the account directory version with it', async () => {
    expect((await call('POST', '/v1/accounts', { name: 'frank', wallets: CAROL })).status).toBe(201)
    const wallet = CAROL[0]!.toLowerCase()
    await db.pool().query(`INSERT INTO wallet_balances (chain_id, wallet, token, account, shard, balance, block_number) VALUES (1, $1, '0xtoken', 'frank', 0, 5, 10)`, [wallet])
    const version = async () => Number((await db.pool().query<{ v: string }>('SELECT version::text AS v FROM accounts_version')).rows[0]!.v)
    const before = await version()
    // The indexers detach it at their next range (test/e2e/accounts.test.ts): nothing is refused.
    expect(await call('DELETE', `/v1/accounts/frank/wallets/${wallet}`)).toEqual({ status: 200, body: { name: 'frank', source: 'api', wallets: [CAROL[1]!.toLowerCase()] } })
    expect(await version()).toBe(before + 1)
    expect(await call('PUT', '/v1/accounts/frank/wallets', { wallets: [CAROL[0]] })).toEqual({ status: 200, body: { name: 'frank', source: 'api', wallets: [wallet] } })
    expect(await version()).toBeGreaterThan(before + 1)
    expect(await call('DELETE', '/v1/accounts/frank')).toEqual({ status: 204, body: null })
    await db.pool().query(`DELETE FROM wallet_balances WHERE account = 'frank'`)
  })

  it('a refused change leaves nothing behind', async () => {
    expect((await call('POST', '/v1/accounts', { name: 'erin', wallets: [CAROL[0], WALLETS.bob] })).status).toBe(409)
    expect((await call('GET', '/v1/accounts/erin')).status).toBe(404)
    expect((await call('POST', '/v1/accounts', { name: 'erin', wallets: [CAROL[0]] })).status).toBe(201)
    expect((await call('PUT', '/v1/accounts/erin/wallets', { wallets: [CAROL[1], WALLETS.alice] })).status).toBe(409)
    expect((await call('GET', '/v1/accounts/erin')).body).toEqual({ name: 'erin', source: 'api', wallets: [CAROL[0]!.toLowerCase()] })
    expect(await call('DELETE', '/v1/accounts/erin')).toEqual({ status: 204, body: null })
  })

  it('refuses changes to an account the config declares, and bad input by field', async () => {
    expect(await call('POST', '/v1/accounts/alice/wallets', { wallets: CAROL })).toEqual({
      status: 409,
      body: { error: 'read_only', message: 'account "alice" is defined in the config; change it there' },
    })
    expect(await call('DELETE', '/v1/accounts/bob')).toEqual({ status: 409, body: { error: 'read_only', message: 'account "bob" is defined in the config; change it there' } })
    const bad = await call('POST', '/v1/accounts', { name: 'dave', wallets: ['0x1234'] })
    expect(bad.status).toBe(400)
    expect(bad.body!.message).toBe('body.wallets[0]: must match pattern "^0x[0-9a-fA-F]{40}$"')
    expect((await call('POST', '/v1/accounts', { name: 'has space', wallets: [] })).body).toEqual({
      error: 'bad_request',
      message: 'body.name: "has space" is not an account name: letters, digits and "_ . -", starting with a letter or a digit',
    })
  })

  it("gives an account its own rule, which its key then reads among the rules that apply to it", async () => {
    const saved = await call('PUT', '/v1/accounts/alice/rules/default.drawdown', { threshold: 0.05, severity: 'critical' })
    expect(saved.status).toBe(200)
    expect(saved.body).toMatchObject({ id: 'default.drawdown', account: 'alice', threshold: 0.05, severity: 'critical', source: 'database' })
    const aliceKey = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
    const rules = (await call('GET', '/v1/accounts/alice/rules', undefined, aliceKey)).body!.rules as { id: string; account: string | null; threshold: number; source: string }[]
    expect(rules.find((r) => r.id === 'default.drawdown')).toMatchObject({ account: 'alice', threshold: 0.05, source: 'database' })
    const bobRules = (await call('GET', '/v1/accounts/bob/rules')).body!.rules as { id: string; account: string | null }[]
    expect(bobRules.find((r) => r.id === 'default.drawdown')).toMatchObject({ account: null })
    expect((await call('PUT', '/v1/rules/no.metric', { op: 'above', threshold: 1 })).body).toEqual({ error: 'bad_request', message: 'rule no.metric: metric: Invalid option: expected one of "equityUsd"|"grossExposureUsd"|"netExposureUsd"|"unpricedPositions"|"largestAssetShare"|"hhi"|"realizedPnlUsd"|"unrealizedPnlUsd"|"totalPnlUsd"|"dailyPnlUsd"|"drawdownUsd"|"drawdownPct"|"maxDrawdownUsd"|"maxDrawdownPct"|"var95Usd"|"var99Usd"|"es95Usd"|"es99Usd"|"parametricVar95Usd"|"parametricVar99Usd"|"swaps1m"|"swaps1h"|"swaps24h"|"volume1mUsd"|"volume1hUsd"|"volume24hUsd"' })
    expect(await call('DELETE', '/v1/accounts/alice/rules/default.drawdown')).toEqual({ status: 204, body: null })
    expect(await call('DELETE', '/v1/rules/default.drawdown')).toEqual({ status: 409, body: { error: 'built_in', message: 'rule default.drawdown is built in and cannot be deleted; disable it (enabled: false)' } })
  })

  it('limits requests per key per minute, shared by every API process through Redis; a made-up key is counted before it is looked up', async () => {
    const limited = apiTestConfig({ prefix: uniquePrefix(), api: { rateLimitPerMinute: 5 } })
    // Counts the key lookups the API makes (the pool is the real one; this only watches it).
    let lookups = 0
    const pool = new Proxy(db.pool(), {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown
        return (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].includes('FROM api_keys WHERE hash')) lookups++
          return (target.query as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
    const a = await startTestApi({ config: limited, pool, redisUrl: TEST_REDIS_URL })
    const b = await startTestApi({ config: limited, pool, redisUrl: TEST_REDIS_URL })
    const key = (await createApiKey(db.pool(), { role: 'account', account: 'bob' })).key
    try {
      // A key not yet verified by a process counts against the address (no lookup before the
      // count); once verified, against the key. Two processes: two requests on the address.
      const statuses: number[] = []
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${(i % 2 ? a : b).url}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status)
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429])
      expect(lookups).toBe(2)
      // Another key has its own budget (its first request: the address's third).
      const other = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
      expect((await fetch(`${a.url}/v1/me`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200)
      // Made-up keys buy no budget of their own, and those over the address's budget cost no lookup.
      lookups = 0
      const madeUp: number[] = []
      for (let i = 0; i < 6; i++) madeUp.push((await fetch(`${b.url}/v1/me`, { headers: { authorization: `Bearer dxr_${'0'.repeat(11)}${i}_${'A'.repeat(43)}` } })).status)
      expect(madeUp).toEqual([401, 401, 429, 429, 429, 429])
      expect(lookups).toBe(2)
      // /ready reaches the database for anyone: it shares the address's budget.
      expect((await fetch(`${b.url}/ready`)).status).toBe(429)
      expect((await fetch(`${b.url}/health`)).status).toBe(200)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
