import { isTransientError } from './errors.ts'

export type RetryOptions = {
  /** First delay, ms. Default 250. */
  initialDelayMs?: number
  /** Largest delay, ms. Default 30000. */
  maxDelayMs?: number
  /** Give up after this many attempts. Default: never (retry while the error is transient). */
  maxAttempts?: number
  /** Called before each wait. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  /** Stop retrying when this returns true (shutdown). */
  aborted?: () => boolean
  /** Stop retrying when this aborts, also in the middle of a wait (the last error is thrown). */
  signal?: AbortSignal
  /** Which errors to retry. Default: isTransientError. */
  retryable?: (err: unknown) => boolean
}

/**
 * Runs `fn` until it succeeds, retrying transient errors with exponential backoff and full jitter.
 * A fatal error is thrown at once; nothing is dropped on the way.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const initial = opts.initialDelayMs ?? 250
  const max = opts.maxDelayMs ?? 30_000
  const retryable = opts.retryable ?? isTransientError
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      if (!retryable(err) || opts.aborted?.() || opts.signal?.aborted || (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts)) throw err
      const cap = Math.min(max, initial * 2 ** (attempt - 1))
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2)
      opts.onRetry?.(err, attempt, delay)
      await sleep(delay, opts.signal)
      if (opts.signal?.aborted) throw err
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
