import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { createEndpoint } from '../../workers/webhook/endpoint-store.ts'
import { parseAllowList } from '../../workers/webhook/ssrf-guard.ts'
import { createWebhookQueue, enqueueWebhook, type WebhookMessage } from '../../workers/webhook/webhook-queue.ts'
import { createWebhookWorker } from '../../workers/webhook/webhook-worker.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { useRedisPrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { seriesOf } from './metric-values.ts'

const db = useEmbeddedDatabase()
const redis = useRedisPrefix()
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A local receiver answering its n-th request (0-based) with answers[n] (the last one after that). */
async function receiver(answers: number[]): Promise<string> {
  let n = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(answers[Math.min(n++, answers.length - 1)]!).end())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
}

describe('webhook delivery metrics', () => {
  it('counts each try by outcome and times each POST made: a retry then delivered, a rejection, a refusal', async () => {
    const config = parseConfig(
      {
        chains: { local: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: `0x${'11'.repeat(20)}`, startBlock: 0 }] } },
        queue: { prefix: redis.prefix },
      },
      {},
    )
    const common = createCommon(config, { log: createLogger({ level: 'silent' }) })
    const pool = db.pool()
    const flaky = await createEndpoint(pool, { account: 'desk', url: await receiver([503, 200]) }, { allow: parseAllowList(['127.0.0.1/32']) })
    const rejecting = await createEndpoint(pool, { account: 'desk', url: await receiver([400]) }, { allow: parseAllowList(['127.0.0.1/32']) })
    // Registered under a wider allow-list than the worker's: the worker's guard refuses it, connecting nowhere.
    const private10 = await createEndpoint(pool, { account: 'desk', url: 'http://10.20.30.40/hook' }, { allow: parseAllowList(['10.0.0.0/8']) })

    const queue = createWebhookQueue({ common, redisUrl: redis.url })
    cleanups.push(() => queue.close())
    const messages = [flaky, rejecting, private10].map(
      (e, i): WebhookMessage => ({ id: `evt-${redis.prefix}-${i}.${e.id}`, endpointId: e.id, type: 'alert.firing', payload: { i }, timestamp: 1_700_000_000 }),
    )
    for (const m of messages) await enqueueWebhook(queue, m)
    const worker = await createWebhookWorker({ common, pool, redisUrl: redis.url, allow: ['127.0.0.1/32'], backoffBaseMs: 5, random: () => 0.5 })
    cleanups.push(() => worker.close())
    await worker.ready()
    await waitUntil('every delivery is final', async () => {
      const states = await Promise.all(messages.map((m) => queue.getJobState(m.id)))
      return states.join() === 'completed,failed,failed'
    })

    const { registry } = common.metrics
    expect(await seriesOf(registry, 'dexrisk_webhook_deliveries_total')).toEqual({ 'outcome=delivered': 1, 'outcome=retry': 1, 'outcome=dead': 1, 'outcome=refused': 1 })
    // A POST was made for every try but the refused one.
    expect(await seriesOf(registry, 'dexrisk_webhook_delivery_duration_seconds_count')).toEqual({ 'outcome=delivered': 1, 'outcome=retry': 1, 'outcome=dead': 1 })
  })
})
