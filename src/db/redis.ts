import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { ConfigError, RetryableError } from '../errors.ts'
import type { DbLogger } from './pool.ts'

const DEFAULT_URL = 'redis://127.0.0.1:6379'

/**
 * Finds the Redis to use (design.md decision 6): the given URL; else 127.0.0.1:6379 if it answers;
 * else a `redis-server` child process on a free port (stopped with us); else a one-line error
 * saying what to install.
 */
export async function connectRedis(opts: { url?: string; startIfMissing?: boolean; log?: DbLogger } = {}): Promise<{ url: string; stop(): Promise<void> }> {
  if (opts.url) {
    if (!(await ping(opts.url))) opts.log?.warn({ redis: opts.url }, 'Redis does not answer yet; queues will reconnect until it does')
    return { url: opts.url, stop: async () => {} }
  }
  if (await ping(DEFAULT_URL)) return { url: DEFAULT_URL, stop: async () => {} }
  if (opts.startIfMissing === false) throw new RetryableError(`no Redis answers at ${DEFAULT_URL}`)
  if (!hasRedisServer())
    throw new ConfigError('no Redis at 127.0.0.1:6379 and no redis-server to start: install it (apt-get install redis-server) or set REDIS_URL')
  const server = await startRedisServer()
  opts.log?.info({ redis: server.url }, 'started a redis-server child process (nothing answered on 127.0.0.1:6379)')
  return { url: server.url, stop: server.stop }
}

/** An ioredis client for dexrisk: retries forever with a capped backoff, logs instead of crashing. */
export function createRedisConnection(url: string, opts: { log?: DbLogger; options?: RedisOptions } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 3_000),
    ...opts.options,
  })
  redis.on('error', (err: Error) => opts.log?.warn({ err: err.message, redis: url }, 'redis connection error; reconnecting'))
  return redis
}

export type RedisServer = { url: string; port: number; stop(): Promise<void>; restart(): Promise<void> }

/** Starts a redis-server child process (no persistence) on a free or given port. */
export async function startRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort())
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const deadline = Date.now() + 10_000
    while (!(await ping(url))) {
      if (child.exitCode !== null) throw new ConfigError(`redis-server on port ${port} exited with code ${child.exitCode}`)
      if (Date.now() > deadline) throw new RetryableError(`redis-server on port ${port} did not answer within 10 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const kill = async (): Promise<void> => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const exited = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  process.once('exit', () => child?.kill('SIGKILL'))
  return {
    url,
    port,
    stop: kill,
    restart: async () => {
      await kill()
      await start()
    },
  }
}

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 })
  r.on('error', () => {})
  try {
    await r.connect()
    return (await r.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}
