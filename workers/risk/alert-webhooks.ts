import { createHash } from 'node:crypto'
import type { Queue } from 'bullmq'
import type pg from 'pg'
import type { Logger } from 'pino'
import { errorLine } from '../../src/errors.ts'
import { shardOf } from '../../src/queue/shard-of.ts'
import { retry } from '../../src/retry.ts'
import { listAlerts } from '../../src/risk/rule-store.ts'
import { alertToJson, haltChangeToJson, type Alert, type HaltChange } from '../../src/risk/rules.ts'
import { endpointWants, listEndpoints, type WebhookEndpoint } from '../webhook/endpoint-store.ts'
import { enqueueWebhook } from '../webhook/webhook-queue.ts'

/** A shard's alerts and halts to the webhook queue: the worker's webhook subscriber. */
export type AlertWebhooks = {
  /** Enqueues a committed batch's alerts and halts for every endpoint that wants them. */
  send(events: { alerts: readonly Alert[]; halts: readonly HaltChange[] }): Promise<void>
  /** At start: the shard's latest alerts again (a crash between commit and enqueue would have lost them). */
  resendRecent(): Promise<void>
}

/** How long the endpoints read are used before reading them again (an endpoint added is used within it). */
const ENDPOINTS_CHECK_MS = 1_000
/** How many of the latest alerts a starting worker enqueues again. */
const RESEND_ALERTS = 1_000

export function createAlertWebhooks(opts: { pool: pg.Pool; shard: number; shards: number; webhooks: Queue; log: Logger; closing: () => boolean }): AlertWebhooks {
  const { pool, log } = opts
  let cache: { at: number; list: WebhookEndpoint[] } | undefined

  /**
   * A message id is derived from the event and the endpoint, so enqueueing it again (a retry here,
   * a replay, a resend at start) is one delivery. An event that cannot be enqueued is logged with
   * its id; it stays in the alerts table.
   */
  async function send(r: { alerts: readonly Alert[]; halts: readonly HaltChange[] }): Promise<void> {
    const events: { account: string; type: string; key: string; time: number; payload: Record<string, unknown> }[] = [
      ...r.alerts.map((a) => ({ account: a.account, type: `alert.${a.state}`, key: `${a.id}|${a.state}`, time: a.time, payload: alertToJson(a) as unknown as Record<string, unknown> })),
      ...r.halts.map((h) => ({ account: h.account, type: 'account.halted', key: `halt|${h.alertId}`, time: h.time, payload: haltChangeToJson(h) as unknown as Record<string, unknown> })),
    ]
    if (events.length === 0) return
    // The endpoints as read at most ENDPOINTS_CHECK_MS ago: a batch with alerts does not wait for the
    // database's one connection (embedded: held by the other shard's write) to read them again.
    let endpoints: WebhookEndpoint[]
    try {
      if (cache === undefined || Date.now() - cache.at >= ENDPOINTS_CHECK_MS)
        cache = { at: Date.now(), list: await retry(() => listEndpoints(pool), { retryable: () => !opts.closing(), maxDelayMs: 5_000 }) }
      endpoints = cache.list
    } catch (err) {
      log.error({ events: events.length, err: errorLine(err) }, 'webhooks not enqueued: endpoints unreadable; the events are in the alerts table')
      return
    }
    for (const ev of events) {
      try {
        await retry(
          async () => {
            for (const endpoint of endpoints.filter((e) => endpointWants(e, ev.account, ev.type))) {
              const id = `msg_${createHash('sha256').update(`${ev.key}|${endpoint.id}`).digest('hex').slice(0, 32)}`
              await enqueueWebhook(opts.webhooks, { id, endpointId: endpoint.id, type: ev.type, payload: ev.payload, timestamp: ev.time })
            }
          },
          {
            retryable: () => !opts.closing(),
            maxDelayMs: 5_000,
            onRetry: (err, attempt) => log.warn({ account: ev.account, event: ev.key, err: errorLine(err), attempt }, 'enqueueing a webhook failed, retrying'),
          },
        )
      } catch (err) {
        log.error({ account: ev.account, event: ev.key, err: errorLine(err) }, 'webhook not enqueued; the event is in the alerts table')
      }
    }
  }

  async function resendRecent(): Promise<void> {
    try {
      if ((await listEndpoints(pool)).length === 0) return
      const recent = (await listAlerts(pool, { limit: RESEND_ALERTS })).filter((a) => shardOf(a.account, opts.shards) === opts.shard)
      if (recent.length > 0) await send({ alerts: recent.reverse(), halts: [] })
    } catch (err) {
      log.warn({ err: errorLine(err) }, 'alerts of before the start not enqueued again for webhooks')
    }
  }

  return { send, resendRecent }
}
