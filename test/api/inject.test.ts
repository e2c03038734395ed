import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApi, type BuiltApi } from '../../src/api/create-api.ts'
import { createApiKey } from '../../src/api/key-store.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { apiTestConfig } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const db = useEmbeddedDatabase()
const config = apiTestConfig({ prefix: uniquePrefix() })
let api: BuiltApi
const keys = { admin: '', alice: '' }

beforeAll(async () => {
  await syncConfigAccounts(db.pool(), config.accounts as Record<string, string[]>)
  keys.admin = (await createApiKey(db.pool(), { role: 'admin' })).key
  keys.alice = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
  api = await buildApi({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }), pool: db.pool(), redisUrl: TEST_REDIS_URL })
})
afterAll(async () => {
  await api?.close()
})

describe('the API built without listening', () => {
  it('answers app.inject on its routes: health, no key, an account key, an admin key', async () => {
    expect(api.app.server.listening).toBe(false)
    const health = await api.app.inject({ method: 'GET', url: '/health' })
    expect(health.statusCode).toBe(200)
    expect((await api.app.inject({ method: 'GET', url: '/v1/me' })).statusCode).toBe(401)
    const me = await api.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${keys.alice}` } })
    expect(me.statusCode).toBe(200)
    expect(me.json()).toMatchObject({ role: 'account', account: 'alice' })
    // alice's key sees bob exactly as an account that does not exist.
    const bob = await api.app.inject({ method: 'GET', url: '/v1/accounts/bob', headers: { authorization: `Bearer ${keys.alice}` } })
    const nobody = await api.app.inject({ method: 'GET', url: '/v1/accounts/nobody', headers: { authorization: `Bearer ${keys.alice}` } })
    expect([bob.statusCode, nobody.statusCode]).toEqual([404, 404])
    expect(bob.json()).toEqual({ ...nobody.json(), message: nobody.json<{ message: string }>().message.replace('nobody', 'bob') })
    const accounts = await api.app.inject({ method: 'GET', url: '/v1/accounts', headers: { authorization: `Bearer ${keys.admin}` } })
    expect(accounts.statusCode).toBe(200)
    expect(JSON.stringify(accounts.json())).toContain('"bob"')
  })
})
