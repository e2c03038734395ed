import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { ConfigError, RetryableError } from '../errors.ts'
import type { DbLogger } from './pool.ts'

const DEFAULT_URL = 'redis://127.0.0.1:6379'

/** A Redis Cluster, named by some of its nodes' URLs (`redis://[:password@]host:port`). */
export type RedisClusterTarget = { readonly cluster: readonly string[] }

/** Where Redis is: one server's redis:// URL, or a Redis Cluster. */
export type RedisTarget = string | RedisClusterTarget

/** A client of either: both have the same commands, MULTI and pub/sub. */
export type RedisClient = Redis | Cluster

export const isCluster = (target: RedisTarget): target is RedisClusterTarget => typeof target !== 'string'

/** A target fit for a log: passwords hidden, a cluster as `cluster(host:port, …)`. */
export function describeRedis(target: RedisTarget): string {
  return isCluster(target) ? `cluster(${target.cluster.map(redact).join(', ')})` : redact(target)
}

export type ConnectedRedis = {
  /** The Redis to use: what the caller named, or the URL found or started. */
  target: RedisTarget
  /** One Redis's URL; for a cluster its first node's (each client learns the others from it). */
  url: string
  /** Stops the redis-server child process when this call started one; otherwise does nothing. */
  stop(): Promise<void>
}

/**
 * Finds the Redis to use (docs/decisions.md 6):
 * - `cluster` given: that Redis Cluster (a warning when none of the nodes answers with
 *   cluster_state:ok yet; clients reconnect until it does);
 * - `url` given: use it (a warning when it does not answer yet; clients reconnect until it does);
 * - else 127.0.0.1:6379 when it answers;
 * - else, unless `startIfMissing` is false, a `redis-server` child process on a free port, with no
 *   persistence, stopped by `stop()` (and when this process exits);
 * - else a ConfigError saying what to install.
 */
export async function connectRedis(opts: { url?: string; cluster?: readonly string[]; startIfMissing?: boolean; log?: DbLogger } = {}): Promise<ConnectedRedis> {
  const log = opts.log
  if (opts.cluster && opts.cluster.length > 0) {
    // A cluster is never started here, and one node answering is enough: the client finds the rest.
    const target: RedisClusterTarget = { cluster: opts.cluster }
    const state = await probeCluster(opts.cluster)
    if (state !== 'up') log?.warn({ redis: describeRedis(target), state }, 'Redis Cluster does not answer yet; clients will reconnect until it does')
    return { target, url: opts.cluster[0]!, stop: async () => {} }
  }
  if (opts.url) {
    const state = await probe(opts.url)
    if (state !== 'up') log?.warn({ redis: redact(opts.url), state }, 'Redis does not answer yet; clients will reconnect until it does')
    return { target: opts.url, url: opts.url, stop: async () => {} }
  }
  const state = await probe(DEFAULT_URL)
  if (state === 'up') return { target: DEFAULT_URL, url: DEFAULT_URL, stop: async () => {} }
  if (state === 'auth')
    throw new ConfigError('the Redis at 127.0.0.1:6379 requires a password: set REDIS_URL=redis://:PASSWORD@127.0.0.1:6379')
  if (opts.startIfMissing === false) throw new RetryableError(`no Redis answers at ${DEFAULT_URL}`)
  const bin = findOnPath('redis-server')
  if (!bin)
    throw new ConfigError('no Redis answers on 127.0.0.1:6379 and there is no redis-server to start: install it (apt-get install redis-server) or set REDIS_URL')
  const server = await startRedisServer({ bin, log })
  log?.info({ redis: server.url, pid: server.pid }, 'nothing answered on 127.0.0.1:6379: started a redis-server child process')
  return { target: server.url, url: server.url, stop: server.stop }
}

export type CreateRedisConnectionOptions = {
  log?: DbLogger
  /** Shows up in CLIENT LIST. */
  name?: string
  /** Passed over the defaults below. */
  options?: RedisOptions
}

/**
 * An ioredis client of the target (a `Redis` for a URL, a `Cluster` for a cluster, the same
 * settings on each of its node connections) configured for BullMQ and for surviving a Redis restart:
 * - `maxRetriesPerRequest: null`: commands wait for the reconnection instead of failing (BullMQ
 *   workers require it; a producer that must fail fast passes `options: { enableOfflineQueue: false }`);
 * - `enableReadyCheck: true`: commands are sent once Redis has finished loading after a restart;
 * - reconnects forever, backoff 100 ms × attempt, capped at 3 s;
 * - a lost connection and its return are logged; errors are logged (a repeated message at most
 *   every 10 s), never thrown: a Redis restart does not crash the process.
 */
export function createRedisConnection(url: string, opts?: CreateRedisConnectionOptions): Redis
export function createRedisConnection(target: RedisTarget, opts?: CreateRedisConnectionOptions): RedisClient
export function createRedisConnection(target: RedisTarget, opts: CreateRedisConnectionOptions = {}): RedisClient {
  const redis = isCluster(target)
    ? createCluster(target, {
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
        ...(opts.name === undefined ? {} : { connectionName: opts.name }),
        ...opts.options,
      }, (times) => Math.min(100 * times, 3_000))
    : new Redis(target, {
        maxRetriesPerRequest: null,
        enableReadyCheck: true,
        retryStrategy: (times) => Math.min(100 * times, 3_000),
        ...(opts.name === undefined ? {} : { connectionName: opts.name }),
        ...opts.options,
      })
  if (redis instanceof Cluster && typeof opts.options?.maxRetriesPerRequest === 'number') {
    // maxRetriesPerRequest bounds only a node's own queue: a command sent while the whole cluster
    // reconnects waits in the cluster's queue forever, and disconnect() does not end it. A client
    // that must fail fast (a finite maxRetriesPerRequest) queues only until the cluster first
    // answers; after that a command sent during an outage fails, and the caller's retry sees it.
    redis.once('ready', () => {
      redis.options.enableOfflineQueue = false
    })
  }
  const where = describeRedis(target)
  let last = ''
  let lastAt = 0
  let failing = false
  redis.on('reconnecting', () => {
    if (failing) return
    failing = true
    opts.log?.warn({ redis: where }, 'Redis connection lost; reconnecting')
  })
  // A cluster that is down alternates between messages ("Connection is closed.", "Failed to
  // refresh slots cache.", a node's ECONNREFUSED): each is held back for 10 s on its own.
  const seen = new Map<string, number>()
  const onError = (err: Error): void => {
    const now = Date.now()
    if (isCluster(target)) {
      const at = seen.get(err.message)
      if (at !== undefined && now - at < 10_000) return
      if (seen.size >= 50) seen.clear()
      seen.set(err.message, now)
    } else {
      if (err.message === last && now - lastAt < 10_000) return
      last = err.message
      lastAt = now
    }
    opts.log?.warn({ err: err.message, redis: where }, 'Redis connection error')
  }
  redis.on('error', onError)
  // A cluster reports one node's trouble apart from its own (a node down while others serve).
  if (isCluster(target)) redis.on('node error', onError)
  redis.on('ready', () => {
    if (!failing) return
    failing = false
    last = ''
    seen.clear()
    opts.log?.info({ redis: where }, 'Redis connection restored')
  })
  return redis
}

/**
 * An ioredis Cluster on the target's nodes. `redisOptions` apply to each node connection, the
 * cluster's credentials and TLS come from its first URL that has them (a cluster has one password),
 * and `retry` paces reconnecting when no node answers. Options that ioredis reads at the cluster
 * level (lazyConnect, enableOfflineQueue, enableReadyCheck) are passed there too.
 */
export function createCluster(target: RedisClusterTarget, redisOptions: RedisOptions, retry: (times: number) => number): Cluster {
  const urls = target.cluster.map((s) => new URL(s))
  const withAuth = urls.find((u) => u.username || u.password)
  const tls = urls.some((u) => u.protocol === 'rediss:')
  const options: ClusterOptions = {
    clusterRetryStrategy: retry,
    redisOptions: {
      ...(withAuth?.username ? { username: decodeURIComponent(withAuth.username) } : {}),
      ...(withAuth?.password ? { password: decodeURIComponent(withAuth.password) } : {}),
      ...(tls ? { tls: {} } : {}),
      ...redisOptions,
    },
    ...(redisOptions.lazyConnect === undefined ? {} : { lazyConnect: redisOptions.lazyConnect }),
    ...(redisOptions.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: redisOptions.enableOfflineQueue }),
    ...(redisOptions.enableReadyCheck === undefined ? {} : { enableReadyCheck: redisOptions.enableReadyCheck }),
  }
  return new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port) })),
    options,
  )
}

export type RedisServer = {
  url: string
  port: number
  /** pid of the current child process. */
  readonly pid: number | undefined
  /** SIGTERM (SIGKILL after 3 s), waits for the exit. Idempotent. */
  stop(): Promise<void>
  /** Kills the child (SIGKILL, like a crash) and starts a fresh one on the same port. */
  restart(): Promise<void>
}

const children = new Set<ChildProcess>()
let exitHookInstalled = false

/**
 * Starts a `redis-server` child process on 127.0.0.1 (a free port unless `port` is given), with no
 * persistence (`--save "" --appendonly no`), and resolves once it answers PING.
 */
export async function startRedisServer(opts: { port?: number; bin?: string; log?: DbLogger } = {}): Promise<RedisServer> {
  const bin = opts.bin ?? findOnPath('redis-server')
  if (!bin) throw new ConfigError('no redis-server on PATH: install it (apt-get install redis-server) or set REDIS_URL')
  const port = opts.port ?? (await freePort())
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    const c = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = c
    track(c)
    let output = ''
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-2_000)
    }
    c.stdout?.on('data', keep)
    c.stderr?.on('data', keep)
    let spawnError: Error | undefined
    c.once('error', (err) => {
      spawnError = err
    })
    const deadline = Date.now() + 10_000
    while ((await probe(url)) !== 'up') {
      const failed = spawnError ?? (c.exitCode !== null || c.signalCode !== null ? new Error(lastLine(output)) : undefined)
      if (failed) {
        child = undefined
        throw new ConfigError(`redis-server on port ${port} did not start`, { details: failed.message || `exit code ${c.exitCode}`, cause: failed })
      }
      if (Date.now() > deadline) {
        await kill(c, 'SIGKILL')
        child = undefined
        throw new RetryableError(`redis-server on port ${port} did not answer PING within 10 s`, { details: lastLine(output) })
      }
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  await start()
  return {
    url,
    port,
    get pid() {
      return child?.pid
    },
    stop: async () => {
      const c = child
      child = undefined
      if (c) await kill(c, 'SIGTERM')
    },
    restart: async () => {
      const c = child
      child = undefined
      if (c) await kill(c, 'SIGKILL')
      await start()
      opts.log?.info({ redis: url }, 'redis-server restarted')
    },
  }
}

function track(c: ChildProcess): void {
  children.add(c)
  c.once('exit', () => children.delete(c))
  if (exitHookInstalled) return
  exitHookInstalled = true
  // A child redis-server never outlives this process.
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL')
  })
}

async function kill(c: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise<void>((r) => c.once('exit', () => r()))
  c.kill(signal)
  const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => c.kill('SIGKILL'), 3_000)
  await exited
  if (timer) clearTimeout(timer)
}

/** 'up' when PING answers PONG, 'auth' when Redis answers but wants a password, else 'down'. */
async function probe(url: string): Promise<'up' | 'auth' | 'down'> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, enableReadyCheck: false, enableOfflineQueue: false })
  r.on('error', () => {})
  try {
    await r.connect()
    return (await r.ping()) === 'PONG' ? 'up' : 'down'
  } catch (err) {
    return /NOAUTH|WRONGPASS|invalid password|Authentication required/i.test(err instanceof Error ? err.message : '') ? 'auth' : 'down'
  } finally {
    r.disconnect()
  }
}

/** 'up' when a node answers and reports cluster_state:ok, 'auth' when one wants a password, else 'down'. */
async function probeCluster(nodes: readonly string[]): Promise<'up' | 'auth' | 'down'> {
  let auth = false
  for (const node of nodes) {
    const r = new Redis(node, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, enableReadyCheck: false, enableOfflineQueue: false })
    r.on('error', () => {})
    try {
      await r.connect()
      const info = String(await r.call('CLUSTER', 'INFO'))
      if (/cluster_state:ok/.test(info)) return 'up'
    } catch (err) {
      if (/NOAUTH|WRONGPASS|invalid password|Authentication required/i.test(err instanceof Error ? err.message : '')) auth = true
    } finally {
      r.disconnect()
    }
  }
  return auth ? 'auth' : 'down'
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
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

/** A redis:// URL fit for a log: its user and password hidden. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@')
}

function lastLine(output: string): string {
  const lines = output.trim().split('\n')
  return lines.at(-1)?.trim() ?? ''
}
