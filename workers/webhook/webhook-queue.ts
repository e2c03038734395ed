import type { Queue } from 'bullmq'
import type { Common } from '../../src/common.ts'
import { BaseError, ConfigError } from '../../src/errors.ts'
import { openQueue } from '../../src/queue/connection.ts'
import type { RedisTarget } from '../../src/db/redis.ts'

/**
 * One webhook event for one endpoint. `id` is deterministic (e.g. `${alertId}.${endpointId}`): it is
 * the Standard Webhooks `webhook-id` (receivers dedupe on it), the BullMQ job id (a re-enqueue of
 * the same event while its job exists adds nothing) and the key of its `webhook_deliveries` row
 * (a delivered event is never sent again).
 */
export type WebhookMessage = {
  id: string
  endpointId: string
  /** Event type, e.g. 'alert.firing'. */
  type: string
  payload: Record<string, unknown>
  /** When the event happened, unix seconds; sent as the body's `timestamp`. */
  timestamp: number
}

/**
 * Tries per delivery unless told otherwise. With the default backoff the 7 waits are at most
 * 1+2+…+64 s, so the last try comes within about 2 minutes of the first (half that on average).
 */
export const DEFAULT_WEBHOOK_ATTEMPTS = 8
/** Backoff base and cap, ms: the n-th retry waits a uniform random time in [0, min(cap, base·2ⁿ⁻¹)). */
export const DEFAULT_BACKOFF_BASE_MS = 1_000
export const DEFAULT_BACKOFF_CAP_MS = 5 * 60_000
/** BullMQ backoff type of webhook jobs; the webhook worker supplies the strategy. */
export const WEBHOOK_BACKOFF_TYPE = 'webhook-full-jitter'

/**
 * The queue's name. The braces are a Redis Cluster hash tag, so all of the queue's keys share a
 * slot (docs/decisions.md 9); '-' and braces, never ':', which BullMQ reserves.
 */
export function webhookQueueName(): string {
  return '{webhooks}'
}

export type CreateWebhookQueueOptions = {
  common: Common
  /** One Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  /** Tries per delivery. Default DEFAULT_WEBHOOK_ATTEMPTS (8). */
  attempts?: number
}

/**
 * The webhook queue (producer side). Completed jobs are kept a week (up to 10 000) so a re-enqueue
 * of a delivered event is a no-op in BullMQ too; failed jobs are kept: they are the dead letters,
 * retried by an operator with BullMQ's `job.retry()`.
 */
export function createWebhookQueue(opts: CreateWebhookQueueOptions): Queue<WebhookMessage> {
  const attempts = opts.attempts ?? DEFAULT_WEBHOOK_ATTEMPTS
  if (!Number.isInteger(attempts) || attempts < 1) throw new ConfigError(`must be a whole number of at least 1, got ${attempts}`, { context: { field: 'attempts' } })
  const queue = openQueue<WebhookMessage>(webhookQueueName(), opts.redisUrl, {
    prefix: opts.common.config.queue.prefix,
    defaultJobOptions: {
      attempts,
      backoff: { type: WEBHOOK_BACKOFF_TYPE },
      removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
      removeOnFail: false,
    },
  })
  queue.on('error', (err) => opts.common.log.warn({ err: err.message }, 'webhook queue connection error'))
  return queue
}

/**
 * Adds one delivery; returns its job id (= msg.id). The same id while its job exists (waiting,
 * delayed, active, completed within retention, or dead in the failed set) adds nothing.
 */
export async function enqueueWebhook(queue: Queue<WebhookMessage>, msg: WebhookMessage, opts: { attempts?: number } = {}): Promise<string> {
  assertMessage(msg)
  const job = await queue.add(msg.type, msg, { jobId: msg.id, ...(opts.attempts === undefined ? {} : { attempts: opts.attempts }) })
  return job.id ?? msg.id
}

/**
 * Delay before the retry that follows try number `attemptsMade`: exponential (base·2ⁿ⁻¹, capped)
 * with full jitter, a uniform draw in [0, cap) (AWS's "full jitter"): receivers that failed
 * together do not get their retries back in one burst.
 */
export function webhookBackoffDelay(attemptsMade: number, opts: { baseMs?: number; capMs?: number; random?: () => number } = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS
  const cap = opts.capMs ?? DEFAULT_BACKOFF_CAP_MS
  const random = opts.random ?? Math.random
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attemptsMade - 1))
  // A draw outside [0, 1] is clamped, and a NaN one waits the whole ceiling: never a NaN or negative delay.
  const draw = random()
  const r = Number.isNaN(draw) ? 1 : Math.min(Math.max(draw, 0), 1)
  return Math.floor(r * ceiling)
}

/** BullMQ refuses ':' and integer-like job ids; an id that would be mangled is refused here, naming it. */
function assertMessage(msg: WebhookMessage): void {
  if (typeof msg.id !== 'string' || msg.id.length === 0 || msg.id.length > 256 || msg.id.includes(':') || /^\d+$/.test(msg.id))
    throw new BaseError(`webhook message id ${JSON.stringify(msg.id)} is not usable: 1 to 256 characters, no ':', not only digits`)
  if (!msg.endpointId) throw new BaseError(`webhook message ${msg.id} has no endpointId`)
  if (!msg.type) throw new BaseError(`webhook message ${msg.id} has no type`)
  if (!Number.isFinite(msg.timestamp)) throw new BaseError(`webhook message ${msg.id} has no timestamp (unix seconds)`)
}
