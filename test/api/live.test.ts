import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Api } from '../../src/api/create-api.ts'
import { createApiKey } from '../../src/api/key-store.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { shardOf } from '../../src/queue/shard-of.ts'
import type { AccountMetrics } from '../../src/risk/account-metrics.ts'
import { type AccountSummary } from '../../src/read-model/keys.ts'
import { publishSummaries } from '../../workers/risk/read-model.ts'
import { apiTestConfig, openSocket, startTestApi } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'

const db = useEmbeddedDatabase()
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)
// A small buffer limit, so a client that stops reading falls behind after a few messages.
const config = apiTestConfig({ prefix, api: { wsMaxBufferedBytes: 64 * 1024 } })
const apis: Api[] = []
let key = ''

const summary = (equityUsd: number, padding = 0): AccountSummary => ({
  account: 'alice',
  shard: shardOf('alice', config.shards),
  chainId: 31337,
  block: String(equityUsd),
  time: 1_700_000_000 + equityUsd,
  halted: false,
  metrics: { account: 'alice', time: 1_700_000_000 + equityUsd, equityUsd, exposureByToken: [], padding: 'x'.repeat(padding) } as unknown as AccountMetrics,
})
const publish = (s: AccountSummary) => publishSummaries(redis, prefix, { shard: s.shard, chainId: 31337, block: BigInt(s.block) }, [s])

beforeAll(async () => {
  await syncConfigAccounts(db.pool(), config.accounts as Record<string, string[]>)
  key = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
  apis.push(await startTestApi({ config, pool: db.pool(), redisUrl: TEST_REDIS_URL }))
  apis.push(await startTestApi({ config, pool: db.pool(), redisUrl: TEST_REDIS_URL }))
})

afterAll(async () => {
  for (const a of apis) await a.close()
  await cleanupPrefix(redis, prefix)
  await redis.quit()
})

const wsUrl = (api: Api) => `${api.url.replace('http', 'ws')}/v1/accounts/alice/ws?key=${key}`

describe('live updates', () => {
  it('two API processes each deliver every update of the account to their clients, in order', async () => {
    const a = await openSocket(wsUrl(apis[0]!))
    const b = await openSocket(wsUrl(apis[1]!))
    expect((await a.next()).type).toBe('snapshot')
    expect((await b.next()).type).toBe('snapshot')
    for (let i = 1; i <= 20; i++) await publish(summary(i))
    for (const s of [a, b]) {
      const got: number[] = []
      for (let i = 1; i <= 20; i++) {
        const m = await s.next()
        expect(m.type).toBe('update')
        got.push(((m.summary as AccountSummary).metrics as { equityUsd: number }).equityUsd)
      }
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    }
    await a.close()
    await b.close()
  })

  it('a client that stops reading is skipped without slowing another, then resynchronised with a snapshot', async () => {
    const fast = await openSocket(wsUrl(apis[0]!))
    const slow = await openSocket(wsUrl(apis[0]!))
    expect((await fast.next()).type).toBe('snapshot')
    expect((await slow.next()).type).toBe('snapshot')
    // The slow client stops reading its TCP socket: the server's send buffer for it fills up.
    const raw = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    raw.pause()
    const N = 200
    for (let i = 1; i <= N; i++) await publish(summary(1000 + i, 50_000))
    const got: number[] = []
    for (let i = 1; i <= N; i++) got.push((((await fast.next()).summary as AccountSummary).metrics as { equityUsd: number }).equityUsd)
    expect(got).toEqual(Array.from({ length: N }, (_, i) => 1001 + i))
    await waitUntil('the server to count dropped messages for the slow client', () => apis[0]!.hub.dropped > 0, 30_000)

    raw.resume()
    // It receives what was already in flight, then a snapshot that carries the latest summary.
    let last: Record<string, unknown>
    do last = await slow.next(30_000)
    while (last.type !== 'snapshot')
    expect(((last.summary as AccountSummary).metrics as { equityUsd: number }).equityUsd).toBe(1000 + N)
    await fast.close()
    await slow.close()
  })
})
