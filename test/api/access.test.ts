import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, revokeApiKey } from '../../src/api/key-store.ts'
import type { Api } from '../../src/api/create-api.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import type { AccountMetrics } from '../../src/risk/account-metrics.ts'
import { type AccountSummary } from '../../src/read-model/keys.ts'
import { publishSummaries } from '../../workers/risk/read-model.ts'
import { writeChainStatus } from '../../src/read-model/chain-status.ts'
import { shardOf } from '../../src/queue/shard-of.ts'
import { apiTestConfig, openSocket, startTestApi, upgradeStatus, WALLETS } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { Redis } from 'ioredis'

const db = useEmbeddedDatabase()
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)
const config = apiTestConfig({ prefix })
let api: Api
const keys = { admin: '', alice: '', bob: '' }

/** A summary as a worker publishes it; the metrics carry what the tests read. */
function summary(account: string, equityUsd: number, time: number): AccountSummary {
  const metrics = { account, time, equityUsd, grossExposureUsd: equityUsd, netExposureUsd: equityUsd, exposureByToken: [], exposureByAsset: [], exposureByChain: [], unpricedTokens: [] }
  return { account, shard: shardOf(account, config.shards), chainId: 31337, block: String(time), time, halted: false, metrics: metrics as unknown as AccountMetrics }
}

async function seed(account: string, wallet: string, base: number): Promise<void> {
  const pool = db.pool()
  const shard = shardOf(account, config.shards)
  for (let i = 0; i < 5; i++) {
    await pool.query(
      `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, unpriced_positions, metrics)
       VALUES (to_timestamp($1), $2, $3, 31337, $4, $5, 0, '{}')`,
      [1_700_000_000 + i * 60, account, shard, 100 + i, base + i],
    )
    await pool.query(
      `INSERT INTO trades (block_time, account, shard, chain_id, block_number, tx_hash, log_index, wallet, pool, dex_name, token_in, token_out, amount_in, amount_out, amount_usd)
       VALUES (to_timestamp($1), $2, $3, 31337, $4, $5, 0, $6, '0xpool', 'uniswap-v2', '0xin', '0xout', $7, 1, 10)`,
      [1_700_000_000 + i * 60, account, shard, 100 + i, `0x${account}${i}`, wallet, `${base}00000000000000000000${i}`],
    )
  }
  await pool.query(
    `INSERT INTO alerts (time, id, state, account, rule_id, metric, op, threshold, hysteresis, severity, action, value, fired_at, chain_id, block_number, metrics)
     VALUES (to_timestamp(1700000100), $1, 'firing', $2, 'r1', 'equityUsd', 'above', 1, 0, 'warning', 'alert', $3, to_timestamp(1700000100), 31337, 102, '{}')`,
    [`r1:${account}:1700000100`, account, base],
  )
  await pool.query(
    `INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, updated_block) VALUES ($1, 31337, '0xtoken', $2, $3, 5, 0, 104)`,
    [account, shard, `${base}000000000000000000`],
  )
}

beforeAll(async () => {
  const pool = db.pool()
  await syncConfigAccounts(pool, config.accounts as Record<string, string[]>)
  keys.admin = (await createApiKey(pool, { role: 'admin' })).key
  keys.alice = (await createApiKey(pool, { role: 'account', account: 'alice' })).key
  keys.bob = (await createApiKey(pool, { role: 'account', account: 'bob' })).key
  await seed('alice', WALLETS.alice, 1000)
  await seed('bob', WALLETS.bob, 2000)
  await publishSummaries(redis, prefix, { shard: 0, chainId: 31337, block: 1n }, [summary('alice', 1234.5, 1_700_000_240), summary('bob', 9999, 1_700_000_240)])
  api = await startTestApi({ config, pool, redisUrl: TEST_REDIS_URL })
})

afterAll(async () => {
  await api?.close()
  await cleanupPrefix(redis, prefix)
  await redis.quit()
})

const call = async (method: string, path: string, key: string | undefined, body?: unknown) => {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) }
}

/** Every route that names an account, with a valid body where it takes one. */
const ACCOUNT_ROUTES: [string, (a: string) => string, unknown?][] = [
  ['GET', (a) => `/v1/accounts/${a}`],
  ['GET', (a) => `/v1/accounts/${a}/risk`],
  ['GET', (a) => `/v1/accounts/${a}/positions`],
  ['GET', (a) => `/v1/accounts/${a}/history`],
  ['GET', (a) => `/v1/accounts/${a}/trades`],
  ['GET', (a) => `/v1/accounts/${a}/alerts`],
  ['GET', (a) => `/v1/accounts/${a}/rules`],
  ['PUT', (a) => `/v1/accounts/${a}/rules/default.drawdown`, { threshold: 0.5 }],
  ['DELETE', (a) => `/v1/accounts/${a}/rules/default.drawdown`],
]

describe('API access', () => {
  it("an account key reads its own account on every read route", async () => {
    expect((await call('GET', '/v1/me', keys.alice)).body).toEqual({ keyId: expect.stringMatching(/^[0-9a-f]{12}$/), role: 'account', account: 'alice' })
    expect((await call('GET', '/v1/accounts', keys.alice)).body).toEqual({ accounts: [{ name: 'alice', source: 'config', wallets: [WALLETS.alice] }] })
    expect((await call('GET', '/v1/accounts/alice', keys.alice)).body).toEqual({ name: 'alice', source: 'config', wallets: [WALLETS.alice] })
    const risk = await call('GET', '/v1/accounts/alice/risk', keys.alice)
    expect(risk.status).toBe(200)
    expect((risk.body!.metrics as { equityUsd: number }).equityUsd).toBe(1234.5)
    const positions = await call('GET', '/v1/accounts/alice/positions', keys.alice)
    expect(positions.body).toEqual({
      positions: [{ chainId: 31337, token: '0xtoken', asset: null, quantity: '1000000000000000000000', costUsd: 5, realizedPnlUsd: 0, unpricedCost: false, priceUsd: null, valueUsd: null, updatedBlock: '104' }],
    })
    const trades = await call('GET', '/v1/accounts/alice/trades?limit=10', keys.alice)
    expect((trades.body!.items as { amountIn: string }[]).map((t) => t.amountIn)).toEqual([4, 3, 2, 1, 0].map((i) => `100000000000000000000000${i}`))
    const alerts = await call('GET', '/v1/accounts/alice/alerts', keys.alice)
    expect((alerts.body!.items as { id: string; value: number }[]).map((a) => [a.id, a.value])).toEqual([['r1:alice:1700000100', 1000]])
  })

  it('an account key gets, for any other account, exactly the answer a missing account gets', async () => {
    for (const [method, path, body] of ACCOUNT_ROUTES) {
      for (const other of ['bob', 'nobody', WALLETS.bob, 'Alice']) {
        const r = await call(method, path(other), keys.alice, body)
        expect([method, path(other), r.status, r.body]).toEqual([method, path(other), 404, { error: 'not_found', message: `no account "${other}"` }])
      }
    }
    // The answer does not tell a real account from a guess.
    const real = await call('GET', '/v1/accounts/bob/history', keys.alice)
    const guess = await call('GET', '/v1/accounts/nobody/history', keys.alice)
    expect(real.body!.message).toBe('no account "bob"')
    expect(guess.body!.message).toBe('no account "nobody"')
  })

  it('an account key manages nothing: accounts, keys and rules need an admin key', async () => {
    const forbidden = { error: 'forbidden', message: 'this needs an admin key' }
    expect(await call('POST', '/v1/accounts', keys.alice, { name: 'eve', wallets: [] })).toEqual({ status: 403, body: forbidden })
    expect(await call('GET', '/v1/keys', keys.alice)).toEqual({ status: 403, body: forbidden })
    expect(await call('PUT', '/v1/accounts/alice/rules/default.drawdown', keys.alice, { threshold: 0.9 })).toEqual({ status: 403, body: forbidden })
    expect(await call('PUT', '/v1/rules/default.drawdown', keys.alice, { threshold: 0.9 })).toEqual({ status: 403, body: forbidden })
    expect(await call('POST', '/v1/accounts/bob/keys', keys.alice, {})).toEqual({ status: 403, body: forbidden })
    expect(await call('DELETE', '/v1/keys/000000000000', keys.alice)).toEqual({ status: 403, body: forbidden })
  })

  it('refuses a request with no key, a malformed key, an unknown key and a revoked key alike', async () => {
    const unknown = { error: 'unauthorized', message: 'unknown or revoked API key' }
    expect((await call('GET', '/v1/accounts/alice/risk', undefined)).status).toBe(401)
    expect(await call('GET', '/v1/accounts/alice/risk', 'not-a-key')).toEqual({ status: 401, body: unknown })
    expect(await call('GET', '/v1/accounts/alice/risk', `dxr_000000000000_${'A'.repeat(43)}`)).toEqual({ status: 401, body: unknown })
    const { key, row } = await createApiKey(db.pool(), { role: 'account', account: 'alice' })
    expect(await revokeApiKey(db.pool(), row.id)).toBe(true)
    expect(await call('GET', '/v1/accounts/alice/risk', key)).toEqual({ status: 401, body: unknown })
    // A key in the query string counts on WebSocket routes only (it would end up in access logs).
    expect((await call('GET', `/v1/accounts/alice/risk?key=${keys.alice}`, undefined)).status).toBe(401)
    expect((await call('GET', `/v1/accounts/alice/trades?x=/ws&key=${keys.alice}`, undefined)).status).toBe(401)
    // The router decodes %-escapes: /%761/… is /v1/… and needs a key as much.
    expect(await call('GET', '/%761/accounts/alice/risk', undefined)).toEqual({ status: 401, body: { error: 'unauthorized', message: 'an API key is required: Authorization: Bearer <key>' } })
    expect((await call('GET', '/v%31/reports', undefined)).status).toBe(401)
  })

  it('an admin key reads every account and stores only the hash of the keys it creates', async () => {
    expect((await call('GET', '/v1/accounts', keys.admin)).body).toEqual({
      accounts: [
        { name: 'alice', source: 'config', wallets: [WALLETS.alice] },
        { name: 'bob', source: 'config', wallets: [WALLETS.bob] },
      ],
    })
    expect(((await call('GET', '/v1/accounts/bob/risk', keys.admin)).body!.metrics as { equityUsd: number }).equityUsd).toBe(9999)
    const created = await call('POST', '/v1/accounts/bob/keys', keys.admin, { label: 'desk screen' })
    expect(created.status).toBe(201)
    const key = created.body!.key as string
    const secret = key.slice('dxr_'.length + 13)
    expect(secret).toHaveLength(43)
    const stored = await db.pool().query<{ hash: string }>('SELECT hash FROM api_keys WHERE id = $1', [created.body!.id])
    expect(stored.rows[0]!.hash).toBe(createHash('sha256').update(key).digest('hex'))
    expect(JSON.stringify((await db.pool().query('SELECT * FROM api_keys')).rows)).not.toContain(secret)
    expect((await call('GET', '/v1/me', key)).body).toMatchObject({ role: 'account', account: 'bob' })
  })

  it("pages an account's history newest first, without a gap or a repeat", async () => {
    const times: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = `/v1/accounts/alice/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const page = await call('GET', q, keys.alice)
      expect(page.status).toBe(200)
      times.push(...(page.body!.items as { time: string }[]).map((x) => new Date(x.time).toISOString()))
      cursor = page.body!.next as string | null
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(times).toEqual([4, 3, 2, 1, 0].map((i) => new Date((1_700_000_000 + i * 60) * 1000).toISOString()))
    const bounded = await call('GET', `/v1/accounts/alice/history?from=${new Date(1_700_000_060_000).toISOString()}&to=${new Date(1_700_000_180_000).toISOString()}`, keys.alice)
    expect((bounded.body!.items as { equityUsd: number }[]).map((x) => x.equityUsd)).toEqual([1002, 1001])
    expect((await call('GET', '/v1/accounts/alice/history?cursor=bm9wZQ', keys.alice)).body).toEqual({ error: 'bad_request', message: 'cursor: not a cursor this API returned' })
    const huge = Buffer.from(JSON.stringify(['99999999999999999999', '1', '1'])).toString('base64url')
    expect(await call('GET', `/v1/accounts/alice/history?cursor=${huge}`, keys.alice)).toEqual({ status: 400, body: { error: 'bad_request', message: 'cursor: not a cursor this API returned' } })
  })

  it('the WebSocket refuses other accounts, then sends its own account a snapshot and only its updates', async () => {
    const ws = (a: string, key: string) => `${api.url.replace('http', 'ws')}/v1/accounts/${a}/ws?key=${key}`
    expect(await upgradeStatus(ws('bob', keys.alice))).toBe(404)
    expect(await upgradeStatus(ws('nobody', keys.alice))).toBe(404)
    expect(await upgradeStatus(ws('alice', 'nope'))).toBe(401)
    expect(await upgradeStatus(`${api.url.replace('http', 'ws')}/v1/accounts/bob/ws`, { authorization: `Bearer ${keys.alice}` })).toBe(404)

    const socket = await openSocket(ws('alice', keys.alice))
    const snapshot = await socket.next()
    expect(snapshot.type).toBe('snapshot')
    expect(snapshot.account).toBe('alice')
    expect(((snapshot.summary as AccountSummary).metrics as { equityUsd: number }).equityUsd).toBe(1234.5)
    expect((snapshot.history as { equityUsd: number }[]).map((h) => h.equityUsd)).toEqual([1000, 1001, 1002, 1003, 1004])
    expect((snapshot.alerts as { id: string }[]).map((a) => a.id)).toEqual(['r1:alice:1700000100'])
    expect(snapshot.halted).toBe(false)

    await publishSummaries(redis, prefix, { shard: 0, chainId: 31337, block: 2n }, [summary('bob', 1, 1_700_000_300)])
    await publishSummaries(redis, prefix, { shard: 0, chainId: 31337, block: 2n }, [summary('alice', 777, 1_700_000_300)])
    const update = await socket.next()
    expect(update.type).toBe('update')
    expect(((update.summary as AccountSummary).metrics as { equityUsd: number }).equityUsd).toBe(777)
    expect((update.summary as AccountSummary).account).toBe('alice')
    await socket.close()
  })

  it('closes an open WebSocket once its key is revoked', async () => {
    const { key, row } = await createApiKey(db.pool(), { role: 'account', account: 'alice' })
    const socket = await openSocket(`${api.url.replace('http', 'ws')}/v1/accounts/alice/ws?key=${key}`)
    expect((await socket.next()).type).toBe('snapshot')
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)))
    await revokeApiKey(db.pool(), row.id)
    expect(await closed).toBe(1008)
  })

  it('runs a report for an account key on its own account only, and for an admin on any', async () => {
    const q = 'from=2023-11-14&to=2023-11-16'
    const own = await call('GET', `/v1/reports/daily_pnl?${q}`, keys.alice)
    expect(own.status).toBe(200)
    expect((own.body!.rows as { account: string; equity_close_usd: number; snapshots: number }[]).map((r) => [r.account, r.equity_close_usd, r.snapshots])).toEqual([['alice', 1004, 5]])
    expect(await call('GET', `/v1/reports/daily_pnl?${q}&account=bob`, keys.alice)).toEqual({ status: 404, body: { error: 'not_found', message: 'no account "bob"' } })
    expect(await call('GET', `/v1/reports/daily_pnl?${q}&account=*`, keys.alice)).toEqual({ status: 404, body: { error: 'not_found', message: 'no account "*"' } })
    const all = await call('GET', `/v1/reports/daily_pnl?${q}`, keys.admin)
    expect((all.body!.rows as { account: string; equity_close_usd: number }[]).map((r) => [r.account, r.equity_close_usd])).toEqual([
      ['alice', 1004],
      ['bob', 2004],
    ])
    expect(await call('GET', '/v1/reports/nope', keys.admin)).toEqual({
      status: 404,
      body: { error: 'not_found', message: 'unknown report "nope"; the reports are: alerts_summary, daily_pnl, dex_volume, exposure_history, top_concentrations, var_drawdown_history' },
    })
    expect((await call('GET', '/v1/reports/daily_pnl?from=yesterday', keys.admin)).status).toBe(400)
    expect(await call('GET', '/v1/reports/daily_pnl?since=104000000d', keys.admin)).toEqual({
      status: 400,
      body: { error: 'bad_request', message: 'report daily_pnl: since: reaches before any time this can express (104000000 days)' },
    })
  })

  it('serves an OpenAPI document of the routes, and health without a key', async () => {
    const doc = (await (await fetch(`${api.url}/docs/json`)).json()) as { paths: Record<string, unknown> }
    for (const p of ['/v1/accounts', '/v1/accounts/{account}/risk', '/v1/accounts/{account}/history', '/v1/accounts/{account}/rules/{id}', '/v1/keys/{id}'])
      expect(Object.keys(doc.paths)).toContain(p)
    expect(await (await fetch(`${api.url}/health`)).json()).toEqual({ status: 'ok' })
    const ready = async () => {
      const res = await fetch(`${api.url}/ready`)
      return { status: res.status, body: (await res.json()) as unknown }
    }
    // The config names a chain no process follows here: degraded, the chain named.
    const up = { database: { ok: true }, redis: { ok: true } }
    expect(await ready()).toEqual({ status: 200, body: { status: 'degraded', ...up, chains: { local: { ok: false, state: 'unreported', error: 'no process reports following it' } } } })
    // What an indexer in another process reports through Redis.
    const status = { chain: 'local', chainId: 31337, state: 'following' as const, block: '42', at: new Date().toISOString() }
    await writeChainStatus(redis, prefix, status)
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready', ...up, chains: { local: { ok: true, state: 'following', block: '42' } } } })
    // A report its process stopped renewing is nobody's.
    const old = new Date(Date.now() - 60_000).toISOString()
    await writeChainStatus(redis, prefix, { ...status, at: old })
    expect(await ready()).toEqual({ status: 200, body: { status: 'degraded', ...up, chains: { local: { ok: false, state: 'unreported', error: `no report since ${old}: the process that followed it is gone` } } } })
    const metrics = await fetch(`${api.url}/metrics`)
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await metrics.text()
    expect(text).toContain('dexrisk_api_ws_connections 0\n')
    expect(text).toMatch(/dexrisk_api_request_duration_seconds_count\{route="\/v1\/accounts\/:account\/history",method="GET",status="2xx"\} 4\n/)
  })
})
