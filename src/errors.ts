/**
 * One error tree for dexrisk (after viem's BaseError): a short message, details that name the
 * chain / block / tx / account / config field concerned, and the cause.
 *
 * `RetryableError` marks faults that a retry can cure (RPC timeouts, Redis reconnects, a database
 * that is down for a while); everything else is fatal. Callers decide with `instanceof`.
 */
export type ErrorContext = {
  chainId?: number
  block?: bigint | number
  tx?: string
  logIndex?: number
  account?: string
  shard?: number
  field?: string
  token?: string
  pool?: string
}

export class BaseError extends Error {
  override name = 'BaseError'
  readonly shortMessage: string
  readonly context: ErrorContext
  readonly details: string | undefined

  constructor(shortMessage: string, opts: { context?: ErrorContext; details?: string; cause?: unknown } = {}) {
    const ctx = opts.context ?? {}
    const where = formatContext(ctx)
    const lines = [where ? `${shortMessage} (${where})` : shortMessage]
    if (opts.details) lines.push(`Details: ${opts.details}`)
    const causeMessage = opts.cause instanceof Error ? opts.cause.message : undefined
    if (causeMessage && causeMessage !== opts.details) lines.push(`Cause: ${firstLine(causeMessage)}`)
    super(lines.join('\n'), { cause: opts.cause })
    this.shortMessage = shortMessage
    this.context = ctx
    this.details = opts.details
  }
}

/** A fault that may pass: retry with backoff, never drop the work. */
export class RetryableError extends BaseError {
  override name = 'RetryableError'
}

/** Configuration that cannot run; the message names the field. */
export class ConfigError extends BaseError {
  override name = 'ConfigError'
}

/** A log that matched a known topic0 but could not be decoded. */
export class DecodeError extends BaseError {
  override name = 'DecodeError'
}

/** A batch that cannot be applied to a shard; the shard stops and the batch is kept. */
export class BatchError extends BaseError {
  override name = 'BatchError'
}

/**
 * A batch that starts after a gap: blocks before it never reached the shard (published batches lost
 * with the queue). Not applied, not dropped: set aside until the missing blocks are published again.
 */
export class BatchGapError extends BatchError {
  override name = 'BatchGapError'
}

export function formatContext(ctx: ErrorContext): string {
  const parts: string[] = []
  if (ctx.field !== undefined) parts.push(`field ${ctx.field}`)
  if (ctx.chainId !== undefined) parts.push(`chain ${ctx.chainId}`)
  if (ctx.block !== undefined) parts.push(`block ${ctx.block}`)
  if (ctx.tx !== undefined) parts.push(`tx ${ctx.tx}`)
  if (ctx.logIndex !== undefined) parts.push(`log ${ctx.logIndex}`)
  if (ctx.pool !== undefined) parts.push(`pool ${ctx.pool}`)
  if (ctx.token !== undefined) parts.push(`token ${ctx.token}`)
  if (ctx.account !== undefined) parts.push(`account ${ctx.account}`)
  if (ctx.shard !== undefined) parts.push(`shard ${ctx.shard}`)
  return parts.join(', ')
}

function firstLine(s: string): string {
  const i = s.indexOf('\n')
  return i === -1 ? s : s.slice(0, i)
}

/** The first line of an error's message (or of its string form), for one-line log fields. */
export function errorLine(err: unknown): string {
  return firstLine(err instanceof Error ? err.message : String(err))
}

/** node:net / dns codes of a connection that failed or dropped. */
const RETRYABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/**
 * Postgres SQLSTATEs worth a retry, by class: 08 connection exception, 53 insufficient resources
 * (53300 too_many_connections is also how the embedded server says it serves one connection at a
 * time), 57P operator intervention (admin / crash shutdown, cannot connect now, idle session
 * timeout; not 57P04 database_dropped, which does not pass), and single codes: 40001
 * serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available, 57014 query_canceled,
 * 25006 read_only_sql_transaction (a standby answering after a failover).
 */
export function isTransientSqlState(code: string): boolean {
  if (!/^[0-9A-Z]{5}$/.test(code)) return false
  if (code.startsWith('08') || code.startsWith('53')) return true
  if (code.startsWith('57P')) return code !== '57P04'
  return code === '40001' || code === '40P01' || code === '55P03' || code === '57014' || code === '25006'
}

/** True when an error from pg, ioredis, node:net or an RPC transport is worth a retry. */
export function isTransientError(err: unknown): boolean {
  if (err instanceof RetryableError) return true
  if (err instanceof BaseError) return false
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && (RETRYABLE_NODE_CODES.has(code) || isTransientSqlState(code))) return true
    const msg = e instanceof Error ? e.message : ''
    if (/Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded|socket hang up|Connection is closed|not connected/i.test(msg))
      return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
