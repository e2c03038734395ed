import { UnrecoverableError, Worker, type Job } from 'bullmq'
import type pg from 'pg'
import { Webhook } from 'standardwebhooks'
import type { Common } from '../../src/common.ts'
import { ConfigError, errorLine } from '../../src/errors.ts'
import { bullConnection } from '../../src/queue/connection.ts'
import type { RedisTarget } from '../../src/db/redis.ts'
import { retry } from '../../src/retry.ts'
import { guardedPost, parseAllowList, redactUrl, WebhookUrlRefusedError, type Resolve } from './ssrf-guard.ts'
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  WEBHOOK_BACKOFF_TYPE,
  webhookBackoffDelay,
  webhookQueueName,
  type WebhookMessage,
} from './webhook-queue.ts'

export type WebhookOutcome = 'delivered' | 'retry' | 'dead' | 'refused'

export type WebhookWorkerOptions = {
  common: Common
  pool: pg.Pool
  /** One Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  /** SSRF allow-list: CIDRs ('10.1.0.0/16') or exact host names. Default: none (public unicast only). */
  allow?: string[]
  /** Bound on one POST, connect to response. Default 15 000 ms. */
  timeoutMs?: number
  /** Tries per delivery; the smaller of this and the job's own `attempts` applies. Default: the job's. */
  attempts?: number
  /** Backoff base, ms. Default 1 000. */
  backoffBaseMs?: number
  /** Backoff cap, ms. Default 300 000. */
  backoffCapMs?: number
  /** Source of the backoff jitter, in [0, 1). Default Math.random. */
  random?: () => number
  /** Deliveries in flight at once. Default 8. */
  concurrency?: number
  /** One call per try: exactly one outcome ('refused' is a dead letter refused by the SSRF guard). For metrics. */
  onOutcome?: (o: { endpointId: string; outcome: WebhookOutcome }) => void
  /** Host resolver for the SSRF guard. Default: the system's (tests stub DNS answers with it). */
  resolve?: Resolve
}

export type WebhookWorker = {
  /** Resolves when the worker is consuming. */
  ready(): Promise<void>
  /** Idempotent; waits for the deliveries in flight. */
  close(): Promise<void>
}

/** What a job returns: sent now, or found delivered already (a redelivered or re-enqueued event). */
export type WebhookJobResult = { result: 'delivered' | 'already-delivered'; status: number | null }

type DeadReason = 'refused' | 'rejected' | 'exhausted' | 'endpoint-missing' | 'endpoint-disabled'

/**
 * Delivers webhook jobs, Standard Webhooks style: the body `{ type, timestamp, data }` signed with
 * the endpoint's secret over `webhook-id.webhook-timestamp.body`. The header timestamp is the time
 * of the try (receivers refuse signatures older than 5 minutes; a retry is signed afresh), the
 * body's is the event's. 2xx is delivered; 4xx other than 408 and 429 is permanent; anything else
 * (5xx, 3xx, 408, 429, timeout, connection error) is retried with full-jitter backoff until the last
 * try, after which the job is dead: 'dead' in `webhook_deliveries`, kept in BullMQ's failed set.
 * A URL refused by the SSRF guard is dead at once, with no connection made.
 *
 * Delivery is at least once: a crash between the receiver's 2xx and the database write sends the
 * event again, with the same `webhook-id` for the receiver to dedupe on.
 */
export async function createWebhookWorker(opts: WebhookWorkerOptions): Promise<WebhookWorker> {
  const { common, pool } = opts
  const log = common.log.child({ worker: 'webhook' })
  const allow = parseAllowList(opts.allow ?? [])
  const timeoutMs = positive(opts.timeoutMs ?? 15_000, 'timeoutMs')
  const maxAttempts = opts.attempts === undefined ? Number.POSITIVE_INFINITY : whole(opts.attempts, 'attempts')
  const backoff = {
    baseMs: nonNegative(opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, 'backoffBaseMs'),
    capMs: nonNegative(opts.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS, 'backoffCapMs'),
    random: opts.random ?? Math.random,
  }
  const concurrency = whole(opts.concurrency ?? 8, 'concurrency')
  let closing = false

  /** Database steps retry while the database is down (like the risk worker): an outage does not eat delivery tries. */
  const db = <T>(fn: () => Promise<T>): Promise<T> =>
    retry(fn, {
      aborted: () => closing,
      maxDelayMs: 5_000,
      onRetry: (err, attempt, delay) => log.warn({ err: errorLine(err), attempt, delay }, 'webhook delivery: database unavailable, retrying'),
    })

  const { deliveries, deliveryDuration } = common.metrics.webhooks
  /** One outcome per try: dexrisk_webhook_deliveries_total, the POST's duration (when one was made), then onOutcome. */
  const emit = (endpointId: string, outcome: WebhookOutcome, postSeconds?: number): void => {
    deliveries.inc({ outcome })
    if (postSeconds !== undefined) deliveryDuration.observe({ outcome }, postSeconds)
    try {
      opts.onOutcome?.({ endpointId, outcome })
    } catch (err) {
      log.warn({ err: errorLine(err) }, 'onOutcome threw; ignored')
    }
  }

  const processor = async (job: Job<WebhookMessage>): Promise<WebhookJobResult> => {
    const msg = job.data
    const attempt = job.attemptsMade + 1
    const last = attempt >= Math.min(job.opts.attempts ?? 1, maxAttempts)
    const where = { delivery: msg.id, endpoint: msg.endpointId, attempt }

    const state = await db(() => openDelivery(pool, msg))
    if (state.status === 'delivered') return { result: 'already-delivered', status: state.lastStatus }

    /** Seconds the POST of this try took (undefined: no POST was made). */
    let postSeconds: number | undefined
    const dead = async (reason: DeadReason, status: number | null, error: string, outcome: 'dead' | 'refused'): Promise<never> => {
      await db(() => recordTry(pool, msg.id, { status: 'dead', deadReason: reason, httpStatus: status, error }))
      log.warn({ ...where, reason, status, err: error }, 'webhook delivery dead: kept in the failed set')
      emit(msg.endpointId, outcome, postSeconds)
      throw new UnrecoverableError(error)
    }

    const endpoint = await db(() => loadEndpoint(pool, msg.endpointId))
    if (!endpoint) return dead('endpoint-missing', null, `endpoint ${msg.endpointId} does not exist`, 'dead')
    if (!endpoint.enabled) return dead('endpoint-disabled', null, `endpoint ${msg.endpointId} is disabled`, 'dead')

    const body = JSON.stringify({ type: msg.type, timestamp: new Date(msg.timestamp * 1000).toISOString(), data: msg.payload })
    const now = new Date()
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'dexrisk-webhooks',
      'webhook-id': msg.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(endpoint.secret).sign(msg.id, now, body),
    }
    let status: number | null = null
    let error: string
    const posted = performance.now()
    try {
      const res = await guardedPost(endpoint.url, { body, headers, timeoutMs, allow, ...(opts.resolve ? { resolve: opts.resolve } : {}) })
      postSeconds = (performance.now() - posted) / 1000
      status = res.status
      error = `HTTP ${status}${res.body ? `: ${oneLine(res.body)}` : ''}`
    } catch (err) {
      if (err instanceof WebhookUrlRefusedError) return dead('refused', null, err.message, 'refused')
      postSeconds = (performance.now() - posted) / 1000
      error = errorLine(err)
    }

    if (status !== null && status >= 200 && status < 300) {
      await db(() => recordTry(pool, msg.id, { status: 'delivered', deadReason: null, httpStatus: status, error: null }))
      log.debug({ ...where, status }, 'webhook delivered')
      emit(msg.endpointId, 'delivered', postSeconds)
      return { result: 'delivered', status }
    }
    if (status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429) return dead('rejected', status, error, 'dead')
    if (last) return dead('exhausted', status, `${error} (try ${attempt}, the last)`, 'dead')
    await db(() => recordTry(pool, msg.id, { status: 'pending', deadReason: null, httpStatus: status, error }))
    log.debug({ ...where, status, err: error, url: safeUrl(endpoint.url) }, 'webhook try failed; retrying with backoff')
    emit(msg.endpointId, 'retry', postSeconds)
    throw new Error(error)
  }

  const worker = new Worker<WebhookMessage, WebhookJobResult>(webhookQueueName(), processor, {
    connection: bullConnection(opts.redisUrl),
    prefix: common.config.queue.prefix,
    concurrency,
    autorun: true,
    settings: {
      backoffStrategy: (attemptsMade, type) => {
        if (type !== WEBHOOK_BACKOFF_TYPE) throw new ConfigError(`webhook jobs use backoff '${WEBHOOK_BACKOFF_TYPE}', not '${type}'`)
        return webhookBackoffDelay(attemptsMade, backoff)
      },
    },
  })
  worker.on('error', (err) => {
    if (!closing) log.warn({ err: err.message }, 'webhook queue connection error')
  })

  let closed: Promise<void> | undefined
  return {
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: () =>
      (closed ??= (async () => {
        closing = true
        await worker.close()
        log.info('webhook worker closed')
      })()),
  }
}

type DeliveryState = { status: 'pending' | 'delivered' | 'dead'; lastStatus: number | null }

/** Creates the delivery's row on its first try ('pending') and returns its state. */
async function openDelivery(pool: pg.Pool, msg: WebhookMessage): Promise<DeliveryState> {
  await pool.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, type, payload, event_at) VALUES ($1, $2, $3, $4, to_timestamp($5))
     ON CONFLICT (id) DO NOTHING`,
    [msg.id, msg.endpointId, msg.type, JSON.stringify(msg.payload), msg.timestamp],
  )
  const r = await pool.query<{ status: DeliveryState['status']; last_status: number | null }>('SELECT status, last_status FROM webhook_deliveries WHERE id = $1', [msg.id])
  const row = r.rows[0]
  return { status: row?.status ?? 'pending', lastStatus: row?.last_status ?? null }
}

async function loadEndpoint(pool: pg.Pool, id: string): Promise<{ url: string; secret: string; enabled: boolean } | null> {
  const r = await pool.query<{ url: string; secret: string; enabled: boolean }>('SELECT url, secret, enabled FROM webhook_endpoints WHERE id = $1', [id])
  return r.rows[0] ?? null
}

/** Records one try: attempts + 1, its HTTP status and error, and the status it leaves the delivery in. */
async function recordTry(
  pool: pg.Pool,
  id: string,
  t: { status: DeliveryState['status']; deadReason: DeadReason | null; httpStatus: number | null; error: string | null },
): Promise<void> {
  await pool.query(
    `UPDATE webhook_deliveries SET status = $2, dead_reason = $3, attempts = attempts + 1, last_status = $4, last_error = $5, updated_at = now(),
       delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
     WHERE id = $1`,
    [id, t.status, t.deadReason, t.httpStatus, t.error === null ? null : t.error.slice(0, 2_000)],
  )
}

function positive(n: number, field: string): number {
  if (!(Number.isFinite(n) && n > 0)) throw new ConfigError(`must be a positive number, got ${n}`, { context: { field } })
  return n
}

function whole(n: number, field: string): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(`must be a whole number of at least 1, got ${n}`, { context: { field } })
  return n
}

function nonNegative(n: number, field: string): number {
  if (!(Number.isFinite(n) && n >= 0)) throw new ConfigError(`must be zero or more, got ${n}`, { context: { field } })
  return n
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300)
}

function safeUrl(url: string): string {
  try {
    return redactUrl(new URL(url))
  } catch {
    return '(not a URL)'
  }
}
