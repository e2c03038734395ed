import { readFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Queue } from 'bullmq'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommon, createLogger, type Common } from '../../../src/common.ts'
import { parseConfig } from '../../../src/config/load-config.ts'
import { defaultMigrationsDir } from '../../../src/db/migrate.ts'
import { createEndpoint, deleteEndpoint, endpointsFor, generateSecret, getEndpoint, listEndpoints } from '../../../workers/webhook/endpoint-store.ts'
import { parseAllowList, WebhookUrlRefusedError, type Resolve } from '../../../workers/webhook/ssrf-guard.ts'
import { createWebhookQueue, enqueueWebhook, webhookBackoffDelay, webhookQueueName, type WebhookMessage } from '../../../workers/webhook/webhook-queue.ts'
import { createWebhookWorker, type WebhookOutcome, type WebhookWorkerOptions } from '../../../workers/webhook/webhook-worker.ts'
import { useEmbeddedDatabase } from '../../setup/database.ts'
import { useRedisPrefix } from '../../setup/redis.ts'
import { waitUntil } from '../../setup/wait-until.ts'

const db = useEmbeddedDatabase()
const redis = useRedisPrefix()

/** The test receivers listen on 127.0.0.1; only this allow-list lets the guard reach them. */
const LOCAL = parseAllowList(['127.0.0.1/32'])

type Received = { headers: IncomingHttpHeaders; body: string }

/** A local webhook receiver: answers the n-th request (0-based) with `answer(n)`, 'hang' never answers. */
async function startReceiver(answer: (n: number) => number | 'hang'): Promise<{ url: string; port: number; requests: Received[]; close(): Promise<void> }> {
  const requests: Received[] = []
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const n = requests.length
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
      const status = answer(n)
      if (status === 'hang') return
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'boom' : 'ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function common(): Common {
  const config = parseConfig(
    {
      chains: { local: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: `0x${'11'.repeat(20)}`, startBlock: 0 }] } },
      queue: { prefix: redis.prefix },
    },
    {},
  )
  return createCommon(config, { log: createLogger({ level: 'silent' }) })
}

/** Queue, worker and receiver for one test, all closed after it; outcomes collected in order. */
async function setup(answer: (n: number) => number | 'hang', workerOpts: Partial<WebhookWorkerOptions> = {}) {
  const c = common()
  const rx = await startReceiver(answer)
  cleanups.push(() => rx.close())
  const queue = createWebhookQueue({ common: c, redisUrl: redis.url })
  cleanups.push(() => queue.close())
  const outcomes: WebhookOutcome[] = []
  const start = async () => {
    const worker = await createWebhookWorker({
      common: c,
      pool: db.pool(),
      redisUrl: redis.url,
      allow: ['127.0.0.1/32'],
      backoffBaseMs: 5,
      random: () => 0.5,
      onOutcome: (o) => outcomes.push(o.outcome),
      ...workerOpts,
    })
    cleanups.push(() => worker.close())
    await worker.ready()
    return worker
  }
  return { rx, queue, outcomes, start }
}

let seq = 0
function message(endpointId: string, over: Partial<WebhookMessage> = {}): WebhookMessage {
  return {
    id: `alert-${redis.prefix}-${++seq}.${endpointId}`,
    endpointId,
    type: 'alert.firing',
    payload: { account: 'desk', rule: 'gross-exposure', value: 1234.5, threshold: 1000 },
    timestamp: 1_700_000_000,
    ...over,
  }
}

type DeliveryRow = { status: string; dead_reason: string | null; attempts: number; last_status: number | null; last_error: string | null; delivered: boolean }

async function delivery(id: string): Promise<DeliveryRow | undefined> {
  const r = await db.pool().query<DeliveryRow>(
    'SELECT status, dead_reason, attempts, last_status, last_error, delivered_at IS NOT NULL AS delivered FROM webhook_deliveries WHERE id = $1',
    [id],
  )
  return r.rows[0]
}

async function stateIs(queue: Queue<WebhookMessage>, id: string, state: string): Promise<boolean> {
  return (await queue.getJobState(id)) === state
}

describe('webhook worker', () => {
  it('delivers a signed event once: the signature verifies, and the same id enqueued again is not sent again', async () => {
    const t = await setup(() => 200)
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    expect(await enqueueWebhook(t.queue, msg)).toBe(msg.id)
    expect(await enqueueWebhook(t.queue, msg)).toBe(msg.id)
    expect(await t.queue.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 1, delayed: 0, active: 0 })

    await t.start()
    await waitUntil('the job completed', () => stateIs(t.queue, msg.id, 'completed'))
    expect(t.rx.requests).toHaveLength(1)
    const { headers, body } = t.rx.requests[0]!
    expect(headers['webhook-id']).toBe(msg.id)
    expect(headers['content-type']).toBe('application/json')
    const verified = new Webhook(endpoint.secret).verify(body, headers as Record<string, string>)
    expect(verified).toEqual({ type: 'alert.firing', timestamp: '2023-11-14T22:13:20.000Z', data: msg.payload })
    expect(() => new Webhook(generateSecret()).verify(body, headers as Record<string, string>)).toThrow('No matching signature found')
    expect(await delivery(msg.id)).toEqual({ status: 'delivered', dead_reason: null, attempts: 1, last_status: 200, last_error: null, delivered: true })

    // While the completed job exists, BullMQ adds nothing for the same id.
    await enqueueWebhook(t.queue, msg)
    expect(await t.queue.getJobCounts('wait', 'delayed', 'active')).toEqual({ wait: 0, delayed: 0, active: 0 })
    // Once it is gone, the recorded status stops a second send.
    await t.queue.remove(msg.id)
    await enqueueWebhook(t.queue, msg)
    await waitUntil('the re-enqueued job completed', () => stateIs(t.queue, msg.id, 'completed'))
    expect((await t.queue.getJob(msg.id))!.returnvalue).toEqual({ result: 'already-delivered', status: 200 })
    expect(t.rx.requests).toHaveLength(1)
    expect(t.outcomes).toEqual(['delivered'])
  })

  it('gives a receiver that answers 500 exactly `attempts` tries, then dead-letters the delivery: dead in the table, failed in BullMQ', async () => {
    const t = await setup(() => 500, { attempts: 3 })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job failed', () => stateIs(t.queue, msg.id, 'failed'))
    expect(t.rx.requests).toHaveLength(3)
    expect(t.rx.requests.map((r) => r.headers['webhook-id'])).toEqual([msg.id, msg.id, msg.id])
    expect(await delivery(msg.id)).toEqual({
      status: 'dead', dead_reason: 'exhausted', attempts: 3, last_status: 500, last_error: 'HTTP 500: boom (try 3, the last)', delivered: false,
    })
    const job = (await t.queue.getJob(msg.id))!
    expect([job.attemptsMade, job.failedReason]).toEqual([3, 'HTTP 500: boom (try 3, the last)'])
    expect(t.outcomes).toEqual(['retry', 'retry', 'dead'])
  })

  it('delivers on the third try a receiver that failed twice, every try signed with the same id', async () => {
    const t = await setup((n) => [503, 500][n] ?? 200, { attempts: 5 })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job completed', () => stateIs(t.queue, msg.id, 'completed'))
    expect(t.rx.requests).toHaveLength(3)
    for (const r of t.rx.requests) expect(new Webhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>)).toEqual({ type: 'alert.firing', timestamp: '2023-11-14T22:13:20.000Z', data: msg.payload })
    expect(await delivery(msg.id)).toEqual({ status: 'delivered', dead_reason: null, attempts: 3, last_status: 200, last_error: null, delivered: true })
    expect(t.outcomes).toEqual(['retry', 'retry', 'delivered'])
  })

  it('retries 429 and 408 but dead-letters another 4xx at once', async () => {
    const t = await setup((n) => [429, 408][n] ?? 410, { attempts: 8 })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job failed', () => stateIs(t.queue, msg.id, 'failed'))
    expect(t.rx.requests).toHaveLength(3)
    expect(await delivery(msg.id)).toEqual({ status: 'dead', dead_reason: 'rejected', attempts: 3, last_status: 410, last_error: 'HTTP 410: boom', delivered: false })
    expect((await t.queue.getJob(msg.id))!.attemptsMade).toBe(3)
    expect(t.outcomes).toEqual(['retry', 'retry', 'dead'])
  })

  it('counts a receiver that does not answer within timeoutMs as a failed try', async () => {
    const t = await setup(() => 'hang', { attempts: 2, timeoutMs: 200 })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job failed', () => stateIs(t.queue, msg.id, 'failed'))
    expect(t.rx.requests).toHaveLength(2)
    expect(await delivery(msg.id)).toEqual({
      status: 'dead', dead_reason: 'exhausted', attempts: 2, last_status: null,
      last_error: `webhook POST to ${t.rx.url} timed out after 200 ms (try 2, the last)`, delivered: false,
    })
  })

  it('schedules a retry with the injected jitter: a uniform share of the capped exponential delay', async () => {
    const t = await setup(() => 500, { attempts: 3, backoffBaseMs: 40_000, random: () => 0.25 })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job waits for its retry', () => stateIs(t.queue, msg.id, 'delayed'))
    expect((await t.queue.getJob(msg.id))!.delay).toBe(10_000)
    expect(t.outcomes).toEqual(['retry'])
  })

  it('dead-letters without connecting a job whose endpoint now resolves to loopback (created while it resolved publicly)', async () => {
    const answers: string[] = ['93.184.216.34']
    const resolve: Resolve = async () => [{ address: answers.shift() ?? '127.0.0.1', family: 4 }]
    // No allow-list: the receiver on 127.0.0.1 is what a rebound name would reach.
    const t = await setup(() => 200, { attempts: 5, allow: [], resolve })
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: `http://hooks.example:${t.rx.port}/hook` }, { resolve })
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job failed', () => stateIs(t.queue, msg.id, 'failed'))
    expect(t.rx.requests).toEqual([])
    const error = `webhook URL http://hooks.example:${t.rx.port}/hook refused: 127.0.0.1 is a loopback address (only public unicast addresses are allowed unless allow-listed)`
    expect(await delivery(msg.id)).toEqual({ status: 'dead', dead_reason: 'refused', attempts: 1, last_status: null, last_error: error, delivered: false })
    expect((await t.queue.getJob(msg.id))!.attemptsMade).toBe(1)
    expect(t.outcomes).toEqual(['refused'])
  })

  it('dead-letters a job whose endpoint was deleted', async () => {
    const t = await setup(() => 200)
    const endpoint = await createEndpoint(db.pool(), { account: 'desk', url: t.rx.url }, { allow: LOCAL })
    expect(await deleteEndpoint(db.pool(), endpoint.id)).toBe(true)
    const msg = message(endpoint.id)
    await enqueueWebhook(t.queue, msg)
    await t.start()
    await waitUntil('the job failed', () => stateIs(t.queue, msg.id, 'failed'))
    expect(t.rx.requests).toEqual([])
    expect(await delivery(msg.id)).toEqual({
      status: 'dead', dead_reason: 'endpoint-missing', attempts: 1, last_status: null, last_error: `endpoint ${endpoint.id} does not exist`, delivered: false,
    })
    expect(t.outcomes).toEqual(['dead'])
  })
})

describe('enqueueWebhook', () => {
  it('refuses a message id BullMQ would refuse or mangle, naming it', async () => {
    const queue = createWebhookQueue({ common: common(), redisUrl: redis.url })
    cleanups.push(() => queue.close())
    expect(webhookQueueName()).toBe('{webhooks}')
    await expect(enqueueWebhook(queue, message('ep_x', { id: 'alert:1' }))).rejects.toThrow('webhook message id "alert:1" is not usable: 1 to 256 characters, no \':\', not only digits')
    await expect(enqueueWebhook(queue, message('ep_x', { id: '12345' }))).rejects.toThrow('webhook message id "12345" is not usable')
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 0 })
  })
})

describe('webhookBackoffDelay', () => {
  it('doubles from the base up to the cap, scaled by the jitter draw', () => {
    const at = (n: number, r: number) => webhookBackoffDelay(n, { baseMs: 1_000, capMs: 300_000, random: () => r })
    expect([1, 2, 3, 4, 9, 10, 40].map((n) => at(n, 0.5))).toEqual([500, 1_000, 2_000, 4_000, 128_000, 150_000, 150_000])
    expect([1, 5, 30].map((n) => at(n, 0))).toEqual([0, 0, 0])
    expect(at(30, 0.999_999)).toBe(299_999)
    expect(at(5_000, 0.5)).toBe(150_000)
  })

  it('stays within [0, cap] for every try and any draw, even a random source out of [0, 1)', () => {
    const draws = [0, 1e-9, 0.1, 0.5, 0.9, 0.999_999_999, 1, 1.5, -0.5, Number.NaN]
    for (let n = 1; n <= 64; n++)
      for (const r of draws) {
        const d = webhookBackoffDelay(n, { baseMs: 1_000, capMs: 300_000, random: () => r })
        expect(d >= 0 && d <= 300_000, `try ${n}, draw ${r}: ${d}`).toBe(true)
      }
  })
})

describe('endpoint store', () => {
  it('refuses a private, link-local or loopback URL at creation, storing nothing', async () => {
    const before = (await listEndpoints(db.pool())).length
    for (const [url, address] of [
      ['http://10.0.0.1/hook', '10.0.0.1'],
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ] as const) {
      const err = await createEndpoint(db.pool(), { account: 'desk', url }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WebhookUrlRefusedError)
      expect((err as WebhookUrlRefusedError).address).toBe(address)
      expect((err as Error).message).toContain(`webhook URL ${url} refused: ${address} is a`)
    }
    const local = await createEndpoint(db.pool(), { account: 'desk', url: 'http://localhost:8080/hook' }).catch((e: unknown) => e)
    expect(local).toBeInstanceOf(WebhookUrlRefusedError)
    expect((local as WebhookUrlRefusedError).range).toBe('loopback')
    expect((await listEndpoints(db.pool())).length).toBe(before)
  })

  it('finds the enabled endpoints of an account and event type, its own and the ones for every account', async () => {
    const account = `acct-${redis.prefix}`
    const mk = (a: string | null, eventTypes?: string[]) =>
      createEndpoint(db.pool(), { account: a, url: 'https://93.184.216.34/hook', ...(eventTypes ? { eventTypes } : {}) })
    const own = await mk(account)
    const firingOnly = await mk(account, ['alert.firing'])
    const global = await mk(null, ['alert.firing', 'alert.resolved'])
    const other = await mk(`other-${redis.prefix}`)
    const disabled = await mk(account)
    await db.pool().query('UPDATE webhook_endpoints SET enabled = false WHERE id = $1', [disabled.id])
    cleanups.push(async () => {
      for (const e of [own, firingOnly, global, other, disabled]) await deleteEndpoint(db.pool(), e.id)
    })

    const ids = async (type: string) => (await endpointsFor(db.pool(), account, type)).map((e) => e.id).filter((id) => [own, firingOnly, global, other, disabled].some((e) => e.id === id))
    expect(new Set(await ids('alert.firing'))).toEqual(new Set([own.id, firingOnly.id, global.id]))
    expect(new Set(await ids('alert.resolved'))).toEqual(new Set([own.id, global.id]))
    expect(await ids('position.changed')).toEqual([own.id])
    expect((await listEndpoints(db.pool(), account)).map((e) => e.id)).toEqual([own.id, firingOnly.id, disabled.id])
    expect(own.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(Buffer.from(own.secret.slice(6), 'base64')).toHaveLength(24)
    expect(await getEndpoint(db.pool(), firingOnly.id)).toEqual({ ...firingOnly })
    expect(firingOnly.eventTypes).toEqual(['alert.firing'])
    expect(own.eventTypes).toBeNull()
    expect(await deleteEndpoint(db.pool(), other.id)).toBe(true)
    expect(await deleteEndpoint(db.pool(), other.id)).toBe(false)
  })

  it('refuses a secret that is not whsec_ + base64 of at least 16 bytes', async () => {
    await expect(createEndpoint(db.pool(), { account: null, url: 'https://93.184.216.34/hook', secret: 'hunter2' })).rejects.toThrow(
      "a webhook secret is 'whsec_' followed by the base64 of at least 16 bytes",
    )
  })
})

describe('0004_webhooks.sql', () => {
  it('runs twice without harm', async () => {
    const sql = await readFile(join(defaultMigrationsDir, '0004_webhooks.sql'), 'utf8')
    await db.pool().query(sql)
    await db.pool().query(sql)
    const r = await db.pool().query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_name IN ('webhook_endpoints', 'webhook_deliveries') ORDER BY 1",
    )
    expect(r.rows.map((x) => x.table_name)).toEqual(['webhook_deliveries', 'webhook_endpoints'])
  })
})
