import { Queue, type ConnectionOptions, type QueueOptions } from 'bullmq'
import { Cluster } from 'ioredis'
import { createCluster, isCluster, type RedisTarget } from '../db/redis.ts'

/**
 * BullMQ's connection to the target.
 *
 * One Redis: connection options from its redis:// URL; BullMQ opens its own (blocking) connections
 * and closes them.
 *
 * A Redis Cluster: BullMQ builds clients from options only for one Redis, so it is given an ioredis
 * Cluster instance, created lazy (it connects only if used). A Worker duplicates it for its main and
 * its blocking connection (BullMQ's rule: a blocking consumer never shares the caller's client) and
 * closes those; a Queue uses the instance itself and leaves it open, so queues are made with
 * `openQueue`, which closes it with the queue. `maxRetriesPerRequest: null` on every node
 * connection, as BullMQ requires of workers. Queue names carry the hash tags (`trades-{N}`,
 * `{webhooks}`), so each queue's keys share a slot, as BullMQ's Lua scripts need.
 */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  if (isCluster(target))
    // Reconnect forever with a capped backoff, as below.
    return createCluster(target, { maxRetriesPerRequest: null, lazyConnect: true }, (times: number) => Math.min(200 * times, 5_000))
  const u = new URL(target)
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

/**
 * A BullMQ Queue (producer, or reader of a queue's jobs) on the target. On a cluster its `close()`
 * also closes the Cluster client it was given, which BullMQ leaves open; on one Redis it is a plain
 * `new Queue`.
 */
export function openQueue<T = unknown>(name: string, target: RedisTarget, opts: Omit<QueueOptions, 'connection'> = {}): Queue<T> {
  const connection = bullConnection(target)
  const queue = new Queue<T>(name, { ...opts, connection })
  if (connection instanceof Cluster) {
    const close = queue.close.bind(queue)
    queue.close = () => close().finally(() => connection.disconnect())
  }
  return queue
}
