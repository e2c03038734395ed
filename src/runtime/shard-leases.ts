import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { createRedisConnection, describeRedis, type RedisClient, type RedisTarget } from '../db/redis.ts'
import { errorLine } from '../errors.ts'

/** What a member runs for a shard it holds: the shard's risk worker (tests pass stand-ins). */
export type LeasedShard = { close(): Promise<void> }

/** Given to `start` with each shard: the worker calls it to be started again (a checkpoint fence it lost). */
export type ShardControl = { restart(why: string): void }

export type ShardLeasesOptions<W extends LeasedShard> = {
  /** One Redis's URL, or a Redis Cluster (every lease key shares the `{lease}` slot). */
  redisUrl: RedisTarget
  /** The queue prefix (config.queue.prefix): the lease keys are `<prefix>:{lease}:…`. */
  prefix: string
  /** The deployment's shard count (config.shards): the fixed set of slots leased. */
  shards: number
  /** Lease and membership time to live (config.queue.leaseTtlMs). Renewed every ttl/4. */
  ttlMs: number
  log: Logger
  /** This member's id, unique among live members. Default: host/pid/random. */
  member?: string
  /** Starts the consumer of a shard this member just won (createRiskWorker). */
  start(shard: number, control: ShardControl): Promise<W>
  /** Called after every change of the shards this member runs, with them in order. */
  onChange?(held: number[]): void
}

export type ShardLeases<W extends LeasedShard> = {
  member: string
  /** Shards whose lease this member holds (a worker starting, running or closing to hand it over). */
  held(): number[]
  /** The workers running now, one per shard held. */
  workers(): W[]
  /**
   * Leaves: stops claiming, closes each worker (the batch in flight finishes) while still renewing
   * its lease, then releases it, and leaves the member set. Idempotent.
   */
  close(): Promise<void>
  /**
   * A crash, simulated in-process (tests): stops heartbeats and renewals at once and drops the
   * lease connection, releasing nothing and closing no worker, so the leases expire as a killed
   * process's would. The workers are the caller's to silence.
   */
  abandon(): void
}

type Entry<W> = {
  shard: number
  /**
   * starting: won, worker being created; running; draining: over this member's share (or leaving),
   * worker closing, lease still renewed, released once closed; lost: the lease is no longer ours
   * (expired, taken, Redis restarted empty), worker closing, never renewed or released by us.
   */
  state: 'starting' | 'running' | 'draining' | 'lost'
  /** Local monotonic time until which the lease is known to be ours (Redlock's validity time). */
  validUntil: number
  worker?: W
  /** Set while a worker is being started or closed: nothing else happens to the entry meanwhile. */
  busy?: Promise<void>
}

/** Renews a lease only if it is still ours (single-instance Redlock's compare-and-set). */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`
/** Deletes a lease only if it is still ours. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`
/**
 * Membership in one sorted set (member → expiry on Redis's clock): this member's entry pushed ttl
 * ahead, the expired ones removed, and the live ones returned. One key, so no SCAN over a Cluster.
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], now + ttl, ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ttl * 4)
return redis.call('ZRANGE', KEYS[1], 0, -1)`

/** How many TTLs a worker whose lease was lost may take to close before the shard may be claimed again. */
const LOST_CLOSE_TTLS = 3

/**
 * Lease keys. `{lease}` is a Redis Cluster hash tag: the member set and every shard's lease share a
 * slot, so MGET over the leases and the scripts work on a Cluster too.
 */
export const leaseKeys = (prefix: string) => ({
  members: `${prefix}:{lease}:members`,
  shard: (shard: number) => `${prefix}:{lease}:shard:${shard}`,
})

/**
 * A member's fair share of `shards` among the live `members`: floor or ceil of shards / members,
 * the larger shares to the first members in sorted order, so every member computes the same split
 * and the shares add up to the shard count.
 */
export function fairShare(shards: number, members: readonly string[], member: string): number {
  const sorted = [...new Set([...members, member])].sort()
  const rank = sorted.indexOf(member)
  return Math.floor(shards / sorted.length) + (rank < shards % sorted.length ? 1 : 0)
}

/**
 * Leases the deployment's shards to the live worker processes (docs/operations.md, "Worker
 * processes with --shards auto"). Each shard has one lease key, `SET NX PX ttl` to win it, renewed
 * every ttl/4 by a compare-and-set script; a member heartbeats in a sorted set and takes its fair
 * share. Over its share (a member joined) it closes a shard's worker, at a batch boundary, and only
 * then releases the lease; under it (a member left or died, its leases expired) it claims free
 * shards and starts their workers, which adopt what the predecessor left (adoptOrphans). A lease
 * this member cannot confirm in time is treated as lost and its worker closed before the lease
 * expires; a batch still in flight then is what the checkpoint fence guards.
 */
export function startShardLeases<W extends LeasedShard>(opts: ShardLeasesOptions<W>): ShardLeases<W> {
  const { prefix, shards, ttlMs } = opts
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shard leases: shards must be a positive integer, got ${shards}`)
  const member = opts.member ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`
  const keys = leaseKeys(prefix)
  const interval = Math.max(50, Math.floor(ttlMs / 4))
  // Redlock's clock drift allowance: the lease is taken as ours for ttl − drift after a renewal was sent.
  const drift = Math.round(ttlMs * 0.01) + 2
  const log = opts.log.child({ member })
  // Commands fail rather than queue while Redis is away: a renewal that cannot be confirmed in
  // time must count as failed, not arrive late.
  const redis: RedisClient = createRedisConnection(opts.redisUrl, {
    log,
    name: 'dexrisk-leases',
    options: { maxRetriesPerRequest: 1, commandTimeout: interval, enableOfflineQueue: false },
  })
  const entries = new Map<number, Entry<W>>()
  /** Shards this member may not claim before the given time (a worker that failed to start). */
  const cooldown = new Map<number, number>()
  let leaving = false
  let abandoned = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let ticking: Promise<void> = Promise.resolve()
  let lastReported = ''
  let lastMembers = 0
  let lastTarget = 0
  let redisWarnedAt = 0

  const heldShards = (): number[] => [...entries.values()].filter((e) => e.state !== 'lost').map((e) => e.shard).sort((a, b) => a - b)
  const report = (): void => {
    const running = [...entries.values()].filter((e) => e.state === 'running').map((e) => e.shard).sort((a, b) => a - b)
    const line = running.join(',')
    if (line === lastReported) return
    lastReported = line
    log.info({ shards: running, members: lastMembers, share: lastTarget }, 'shards held by this worker process changed')
    opts.onChange?.(running)
  }
  const redisFailed = (what: string, err: unknown): void => {
    if (abandoned) return
    const now = Date.now()
    if (now - redisWarnedAt < 5_000) return
    redisWarnedAt = now
    log.warn({ err: errorLine(err), redis: describeRedis(opts.redisUrl) }, `shard leases: ${what} failed; a lease not renewed in time is given up`)
  }

  /** Runs `step` on the entry, one step at a time per entry. */
  const onEntry = (e: Entry<W>, step: () => Promise<void>): void => {
    const run = (e.busy ?? Promise.resolve()).then(step).catch((err: unknown) => log.error({ shard: e.shard, err: errorLine(err) }, 'shard leases: step failed'))
    e.busy = run
    void run.finally(() => {
      if (e.busy === run) e.busy = undefined
    })
  }

  const closeWorker = async (e: Entry<W>): Promise<void> => {
    const w = e.worker
    e.worker = undefined
    report()
    if (w) await w.close().catch((err: unknown) => log.warn({ shard: e.shard, err: errorLine(err) }, 'closing the shard worker failed'))
  }

  /** The lease is gone (or cannot be confirmed in time): the worker stops now; the entry goes once it has. */
  const lose = (e: Entry<W>, why: string): void => {
    if (e.state === 'lost') return
    e.state = 'lost'
    log.warn({ shard: e.shard, why }, 'shard lease lost: closing its worker (a batch still in flight meets the checkpoint fence)')
    onEntry(e, async () => {
      // A close that hangs (its Redis connections still down) must not keep this member from
      // running the shard again for good, which with one member would leave it unrun: after a
      // bound the close goes on in the background and the shard may be claimed again.
      let timer: ReturnType<typeof setTimeout> | undefined
      const bound = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), LOST_CLOSE_TTLS * ttlMs)))
      const closing = closeWorker(e)
      if ((await Promise.race([closing.then(() => 'closed' as const), bound])) === 'late')
        log.warn({ shard: e.shard, waitedMs: LOST_CLOSE_TTLS * ttlMs }, 'the worker of a lost lease has not closed yet; the shard may be claimed again meanwhile (the checkpoint fence guards the overlap)')
      clearTimeout(timer)
      entries.delete(e.shard)
      report()
    })
  }

  /** Over the share, or leaving: close the worker at a batch boundary, then release the lease. */
  const drain = (e: Entry<W>, why: string): void => {
    if (e.state !== 'running' && e.state !== 'starting') return
    e.state = 'draining'
    log.info({ shard: e.shard, why }, 'handing a shard over: closing its worker, then releasing the lease')
    onEntry(e, async () => {
      await closeWorker(e)
      if (e.state === 'draining') {
        await redis.eval(RELEASE, 1, keys.shard(e.shard), member).catch((err: unknown) => redisFailed('releasing a lease', err))
        entries.delete(e.shard)
        log.info({ shard: e.shard }, 'shard lease released')
      }
      report()
    })
  }

  const startWorker = (e: Entry<W>): void => {
    onEntry(e, async () => {
      let restarts = 0
      const control: ShardControl = {
        restart: (why) => {
          // While starting too: the step runs once the start has finished.
          if (e.state !== 'running' && e.state !== 'starting') return
          // Backs off when it keeps happening (another consumer that is no member, e.g. a process
          // started with fixed --shards next to the auto ones, keeps moving the checkpoint).
          const delay = Math.min(ttlMs, 100 * 2 ** restarts++)
          log.warn({ shard: e.shard, why, delayMs: delay }, 'restarting the shard worker: it reloads its state from the database and adopts the batch it stopped on')
          onEntry(e, async () => {
            await closeWorker(e)
            await new Promise((res) => setTimeout(res, delay))
            if (e.state === 'running') await launch()
          })
        },
      }
      const launch = async (): Promise<void> => {
        try {
          const w = await opts.start(e.shard, control)
          if (e.state === 'starting' || e.state === 'running') {
            e.worker = w
            e.state = 'running'
          } else await w.close()
        } catch (err) {
          log.warn({ shard: e.shard, err: errorLine(err) }, 'the shard worker did not start: lease released, tried again later')
          cooldown.set(e.shard, performance.now() + ttlMs)
          if (e.state !== 'lost') await redis.eval(RELEASE, 1, keys.shard(e.shard), member).catch((err2: unknown) => redisFailed('releasing a lease', err2))
          entries.delete(e.shard)
        }
        report()
      }
      await launch()
    })
  }

  const tick = async (): Promise<void> => {
    if (abandoned) return
    // Not connected yet (start-up) with nothing held: nothing to renew, nothing to warn about.
    if (redis.status !== 'ready' && entries.size === 0) return
    const sent = performance.now()
    // Renew every lease still ours (a draining one too: its worker may be finishing a batch).
    const renewing = [...entries.values()].filter((e) => e.state !== 'lost')
    const renewed = await Promise.all(
      renewing.map((e) =>
        redis.eval(RENEW, 1, keys.shard(e.shard), member, String(ttlMs)).then(
          (r) => (Number(r) === 1 ? 'ok' : 'gone'),
          (err: unknown) => {
            redisFailed('renewing a lease', err)
            return 'unknown' as const
          },
        ),
      ),
    )
    if (abandoned) return
    const now = performance.now()
    renewing.forEach((e, i) => {
      if (e.state === 'lost') return
      if (renewed[i] === 'ok') e.validUntil = sent + ttlMs - drift
      else if (renewed[i] === 'gone') lose(e, 'the lease key is no longer this member’s (it expired, or Redis lost it)')
      // Unconfirmed: given up while still valid, so the worker stops before another member can win it.
      else if (now + interval >= e.validUntil) lose(e, 'the lease could not be renewed in time')
    })
    const members = await redis.eval(HEARTBEAT, 1, keys.members, member, String(ttlMs), leaving ? '0' : '1').then(
      (r) => r as string[],
      (err: unknown) => {
        redisFailed('the membership heartbeat', err)
        return undefined
      },
    )
    if (members === undefined || abandoned) return
    const target = leaving ? 0 : fairShare(shards, members, member)
    lastMembers = leaving ? members.length : new Set([...members, member]).size
    lastTarget = target
    const owned = [...entries.values()].filter((e) => e.state === 'running' || e.state === 'starting')
    if (owned.length > target) {
      // The highest-numbered running shards go first; a starting one only when nothing else is left.
      const surplus = owned.sort((a, b) => (a.state === b.state ? b.shard - a.shard : a.state === 'running' ? -1 : 1)).slice(0, owned.length - target)
      for (const e of surplus) drain(e, leaving ? 'this worker process is leaving' : `over this member's share of ${target} (${lastMembers} members)`)
    } else if (owned.length < target) {
      const values = await redis.mget(Array.from({ length: shards }, (_, s) => keys.shard(s))).catch((err: unknown) => {
        redisFailed('reading the leases', err)
        return undefined
      })
      if (values === undefined || abandoned || leaving) return
      // Members start looking at different shards, so that they seldom race for the same one.
      const rank = [...new Set([...members, member])].sort().indexOf(member)
      const first = Math.floor((rank * shards) / lastMembers)
      let want = target - owned.length
      for (let i = 0; i < shards && want > 0; i++) {
        const shard = (first + i) % shards
        if (values[shard] !== null || entries.has(shard) || (cooldown.get(shard) ?? 0) > performance.now()) continue
        const claimSent = performance.now()
        const won = await redis.set(keys.shard(shard), member, 'PX', ttlMs, 'NX').catch((err: unknown) => {
          redisFailed('claiming a lease', err)
          return null
        })
        if (won !== 'OK' || abandoned) continue
        want--
        const e: Entry<W> = { shard, state: 'starting', validUntil: claimSent + ttlMs - drift }
        entries.set(shard, e)
        if (leaving) {
          drain(e, 'this worker process is leaving')
          continue
        }
        log.info({ shard, share: target, members: lastMembers }, 'shard lease won: starting its worker')
        startWorker(e)
      }
    }
  }

  const loop = (): void => {
    if (abandoned) return
    ticking = tick()
      .catch((err: unknown) => log.error({ err: errorLine(err) }, 'shard leases: tick failed'))
      .finally(() => {
        // Until the connection is first ready (nothing held), look again soon rather than a quarter TTL later.
        if (!abandoned && !(leaving && entries.size === 0)) timer = setTimeout(loop, redis.status === 'ready' || entries.size > 0 ? interval : 100)
      })
  }
  loop()

  let closed: Promise<void> | undefined
  return {
    member,
    held: heldShards,
    workers: () => [...entries.values()].flatMap((e) => (e.state === 'running' && e.worker ? [e.worker] : [])),
    close: () =>
      (closed ??= (async () => {
        if (abandoned) return
        leaving = true
        for (const e of entries.values()) drain(e, 'this worker process is leaving')
        // The loop keeps renewing the draining leases until every worker has closed and released
        // (a claim a tick had in flight is drained too: it sees `leaving`).
        const settled = async (): Promise<void> => {
          do {
            await ticking
            await Promise.all([...entries.values()].map((e) => e.busy))
            if (entries.size > 0) await new Promise((r) => setTimeout(r, 10))
          } while (entries.size > 0)
        }
        await settled()
        clearTimeout(timer)
        await settled()
        await redis.eval(HEARTBEAT, 1, keys.members, member, String(ttlMs), '0').catch((err: unknown) => redisFailed('leaving the member set', err))
        redis.disconnect()
        log.info('left the shard leases: every worker closed, every lease released')
      })()),
    abandon: () => {
      abandoned = true
      clearTimeout(timer)
      redis.disconnect()
    },
  }
}
