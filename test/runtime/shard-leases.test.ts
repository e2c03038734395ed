import { afterEach, describe, expect, it } from 'vitest'
import { fairShare, leaseKeys, startShardLeases, type ShardControl, type ShardLeases } from '../../src/runtime/shard-leases.ts'
import { captureLog, type CapturedLog } from '../setup/capture-log.ts'
import { useRedisPrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'

const SHARDS = 4
/** Short, so that expiry is quick; the waits below are for states, never pass conditions on time. */
const TTL_MS = 1_000

const r = useRedisPrefix()

/** A stand-in for a shard's risk worker: records when it runs, so two at once on a shard show. */
type FakeWorker = { shard: number; member: string; open: boolean; close(): Promise<void> }

type Member = {
  name: string
  leases: ShardLeases<FakeWorker>
  logs: CapturedLog
  started: number[]
  closed: number[]
  running(): number[]
  /** The control each shard's latest worker was started with. */
  controls: Map<number, ShardControl>
}

let members: Member[] = []
/** Shard → the member whose worker runs it now (a crashed member's are dead: not counted). */
let live = new Map<number, string>()
/** Each time a worker started on a shard another member's worker still ran. */
let overlaps: string[] = []

afterEach(async () => {
  await Promise.all(members.map((m) => m.leases.close()))
  members = []
  live = new Map()
  overlaps = []
})

/** `hangOnClose`: shards whose first worker never finishes closing (its connections still down). */
function join(name: string, opts: { hangOnClose?: Set<number> } = {}): Member {
  const logs = captureLog('info')
  const started: number[] = []
  const closed: number[] = []
  const workers = new Set<FakeWorker>()
  const controls = new Map<number, ShardControl>()
  const leases = startShardLeases<FakeWorker>({
    redisUrl: r.url,
    prefix: r.prefix,
    shards: SHARDS,
    ttlMs: TTL_MS,
    log: logs.logger,
    member: name,
    start: async (shard, control) => {
      controls.set(shard, control)
      const other = live.get(shard)
      if (other !== undefined && other !== name) overlaps.push(`shard ${shard}: ${name} started while ${other} ran it`)
      live.set(shard, name)
      started.push(shard)
      const w: FakeWorker = {
        shard,
        member: name,
        open: true,
        close: async () => {
          if (opts.hangOnClose?.delete(shard)) return new Promise<void>(() => {})
          // A batch boundary takes a moment: the lease must outlive it.
          await new Promise((res) => setTimeout(res, 50))
          w.open = false
          workers.delete(w)
          closed.push(shard)
          if (live.get(shard) === name) live.delete(shard)
        },
      }
      workers.add(w)
      return w
    },
  })
  const m: Member = { name, leases, logs, started, closed, running: () => [...workers].filter((w) => w.open).map((w) => w.shard).sort(), controls }
  members.push(m)
  return m
}

/** A simulated crash (a SIGKILL in-process): the member stops renewing, its workers are dead. */
function crash(m: Member): void {
  m.leases.abandon()
  for (const [shard, who] of live) if (who === m.name) live.delete(shard)
  members = members.filter((x) => x !== m)
}

/** The live members hold disjoint shard sets covering every shard, each its fair share, each with its worker running. */
function converged(ms: Member[]): boolean {
  const held = ms.map((m) => m.leases.held())
  const all = held.flat().sort()
  if (all.length !== SHARDS || new Set(all).size !== SHARDS) return false
  const names = ms.map((m) => m.name)
  return ms.every((m, i) => held[i]!.length === fairShare(SHARDS, names, m.name) && m.running().join() === held[i]!.join() && m.leases.workers().length === held[i]!.length)
}

describe('fairShare', () => {
  it('splits the shards into floor and ceil of shards / members, the larger shares to the first members in order, adding up to the count', () => {
    expect(['a', 'b', 'c'].map((m) => fairShare(4, ['c', 'a', 'b'], m))).toEqual([2, 1, 1])
    expect(['a', 'b'].map((m) => fairShare(4, ['a', 'b'], m))).toEqual([2, 2])
    expect(fairShare(4, [], 'a')).toBe(4)
    expect(['a', 'b', 'c', 'd', 'e'].map((m) => fairShare(4, ['a', 'b', 'c', 'd', 'e'], m))).toEqual([1, 1, 1, 1, 0])
    for (let n = 1; n <= 9; n++) {
      const ms = Array.from({ length: n }, (_, i) => `m${i}`)
      expect(ms.reduce((s, m) => s + fairShare(16, ms, m), 0)).toBe(16)
    }
  })
})

describe('shard leases on the real Redis', () => {
  it('three members converge to disjoint shard sets that cover every shard, each its fair share, with keys under the queue prefix and the {lease} hash tag', async () => {
    const ms = ['m-a', 'm-b', 'm-c'].map((n) => join(n))
    await waitUntil('three members converge', () => converged(ms))
    expect(ms.map((m) => m.leases.held().length).sort()).toEqual([1, 1, 2])
    expect(overlaps).toEqual([])
    // Every lease is a key holding its member's id, and the member set lists the three.
    const keys = leaseKeys(r.prefix)
    for (const m of ms) for (const s of m.leases.held()) expect(await r.redis.get(keys.shard(s))).toBe(m.name)
    expect((await r.redis.zrange(keys.members, '0', '-1')).sort()).toEqual(['m-a', 'm-b', 'm-c'])
    expect(keys.members).toBe(`${r.prefix}:{lease}:members`)
    expect(keys.shard(3)).toBe(`${r.prefix}:{lease}:shard:3`)
    // A log line names the shards at each change.
    for (const m of ms) {
      const lines = m.logs.matching(/^shards held by this worker process changed$/, { member: m.name })
      expect(lines.at(-1)!.shards).toEqual(m.leases.held())
    }
  })

  it('a joining member gets its share: the old member closes those workers first, then releases their leases', async () => {
    const a = join('j-a')
    await waitUntil('the first member holds every shard', () => converged([a]))
    const b = join('j-b')
    await waitUntil('two members converge', () => converged([a, b]))
    expect(a.leases.held()).toHaveLength(2)
    expect(b.leases.held()).toHaveLength(2)
    // What b runs, a ran and closed (at its batch boundary) before b started it: never two at once.
    expect([...a.closed].sort()).toEqual(b.leases.held())
    expect(overlaps).toEqual([])
    expect(a.logs.matching(/^shard lease released$/).map((e) => e.shard).sort()).toEqual(b.leases.held())
  })

  it('a member that stops renewing (a simulated crash) loses its shards to the others once its leases expire', async () => {
    const [a, b, c] = ['k-a', 'k-b', 'k-c'].map((n) => join(n))
    await waitUntil('three members converge', () => converged([a!, b!, c!]))
    const lost = c!.leases.held()
    expect(lost.length).toBeGreaterThanOrEqual(1)
    crash(c!)
    await waitUntil('the two others take the crashed member’s shards', () => converged([a!, b!]))
    expect(a!.leases.held().length + b!.leases.held().length).toBe(SHARDS)
    for (const s of lost) expect([...a!.started, ...b!.started]).toContain(s)
    // The crashed member released nothing: its leases expired, and its member entry too.
    expect(c!.logs.matching(/^shard lease released$/)).toEqual([])
    expect(await r.redis.zrange(leaseKeys(r.prefix).members, '0', '-1')).not.toContain('k-c')
    expect(overlaps).toEqual([])
  })

  it('stops a worker whose lease vanished while it ran (Redis restarted empty), then wins the shard again with a fresh worker', async () => {
    const a = join('l-a')
    await waitUntil('the member holds every shard', () => converged([a]))
    const keys = leaseKeys(r.prefix)
    await r.redis.del(keys.shard(2))
    await waitUntil('the worker of the lost shard is closed and a new one started', () => a.closed.includes(2) && a.started.filter((s) => s === 2).length === 2 && converged([a]))
    expect(a.logs.matching(/^shard lease lost/, { shard: 2 })).toHaveLength(1)
    // All of them at once, as after a Redis restart with no persistence.
    await r.redis.del(...Array.from({ length: SHARDS }, (_, s) => keys.shard(s)), keys.members)
    await waitUntil('every worker is closed and started again', () => a.started.length === SHARDS + 1 + SHARDS && converged([a]))
    expect(a.closed.sort()).toEqual([0, 1, 2, 2, 3])
  })

  it('claims a shard again, after a bound and saying so, when the worker of its lost lease never finishes closing', async () => {
    const a = join('h-a', { hangOnClose: new Set([1]) })
    await waitUntil('the member holds every shard', () => converged([a]))
    await r.redis.del(leaseKeys(r.prefix).shard(1))
    await waitUntil('shard 1 is won again with a new worker', () => a.started.filter((s) => s === 1).length === 2 && a.leases.held().length === SHARDS && a.leases.workers().length === SHARDS, 30_000)
    expect(a.logs.matching(/^the worker of a lost lease has not closed yet/, { shard: 1 })).toHaveLength(1)
  })

  it('restarts a worker that asks for it (a lost checkpoint fence) under the lease it still holds: closed first, then started again', async () => {
    const a = join('r-a')
    await waitUntil('the member holds every shard', () => converged([a]))
    a.controls.get(1)!.restart('the checkpoint moved under this worker')
    await waitUntil('shard 1 is closed and started again', () => a.closed.includes(1) && a.started.filter((s) => s === 1).length === 2 && converged([a]))
    expect(a.closed).toEqual([1])
    expect(a.logs.matching(/^restarting the shard worker/, { shard: 1 })).toHaveLength(1)
    // The lease stayed this member's throughout: no other member could have taken it.
    expect(await r.redis.get(leaseKeys(r.prefix).shard(1))).toBe('r-a')
    expect(a.logs.matching(/^shard lease (lost|released)/)).toEqual([])
  })

  it('a member that leaves closes its workers, releases its leases and leaves the member set; the other takes over at once', async () => {
    const a = join('c-a')
    const b = join('c-b')
    await waitUntil('two members converge', () => converged([a, b]))
    const handed = b.leases.held()
    await b.leases.close()
    members = members.filter((m) => m !== b)
    expect(b.running()).toEqual([])
    expect(b.logs.matching(/^shard lease released$/).map((e) => e.shard).sort()).toEqual(handed)
    expect(await r.redis.zrange(leaseKeys(r.prefix).members, '0', '-1')).toEqual(['c-a'])
    await waitUntil('the remaining member holds every shard', () => converged([a]))
    expect(overlaps).toEqual([])
  })
})
