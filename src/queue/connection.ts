import type { ConnectionOptions } from 'bullmq'

/** BullMQ connection options from a redis:// URL; BullMQ opens its own (blocking) connections. */
export function bullConnection(url: string): ConnectionOptions {
  const u = new URL(url)
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    // Reconnect forever with a capped backoff: a Redis restart pauses the pipeline, never ends it.
    retryStrategy: (times: number) => Math.min(200 * times, 5_000),
  }
}
