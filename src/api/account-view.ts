import type { Redis } from 'ioredis'
import type pg from 'pg'
import { shardOf } from '../queue/shard-of.ts'
import { getHalt, listAlerts } from '../risk/rule-store.ts'
import { alertToJson, type AlertJson } from '../risk/rules.ts'
import { accountKey, type AccountSummary } from '../read-model/keys.ts'

/** One point of an account's risk over time (a risk snapshot), as the dashboard charts it. */
export type HistoryPoint = {
  time: number
  equityUsd: number | null
  drawdownUsd: number | null
  drawdownPct: number | null
  var95Usd: number | null
  var99Usd: number | null
  totalPnlUsd: number | null
}

/** What a WebSocket client receives on connect, and again whenever it must resynchronise. */
export type AccountSnapshot = {
  type: 'snapshot'
  account: string
  summary: AccountSummary | null
  history: HistoryPoint[]
  alerts: AlertJson[]
  halted: boolean
}

/** The account's latest summary from the Redis read model (null before its first computation). */
export async function readSummary(redis: Redis, prefix: string, shards: number, account: string): Promise<AccountSummary | null> {
  const raw = await redis.get(accountKey(prefix, shardOf(account, shards), account))
  return raw === null ? null : (JSON.parse(raw) as AccountSummary)
}

/** The latest `points` risk snapshots of the account, oldest first. */
export async function readHistory(db: pg.Pool, account: string, points: number): Promise<HistoryPoint[]> {
  const r = await db.query<{ t: number; eq: number | null; dd: number | null; ddp: number | null; v95: number | null; v99: number | null; pnl: number | null }>(
    `SELECT extract(epoch FROM time)::float8 AS t, equity_usd AS eq, drawdown_usd AS dd, drawdown_pct AS ddp,
       var95_usd AS v95, var99_usd AS v99, total_pnl_usd AS pnl
     FROM risk_snapshots WHERE account = $1 ORDER BY time DESC, chain_id DESC, block_number DESC LIMIT $2`,
    [account, points],
  )
  return r.rows.reverse().map((x) => ({ time: x.t, equityUsd: x.eq, drawdownUsd: x.dd, drawdownPct: x.ddp, var95Usd: x.v95, var99Usd: x.v99, totalPnlUsd: x.pnl }))
}

/**
 * Builds account snapshots, sharing reads. One read runs per account at a time; connections that
 * arrive while it runs wait for the next one, which starts when it ends and serves them all. A
 * connection never joins a read that began before it was listening (that read could miss an update
 * the connection did not receive), and a thousand dashboards of one account reconnecting at once
 * cost two reads, not a thousand — which matters on the embedded database's single connection.
 */
export function createSnapshotReader(opts: { pool: pg.Pool; redis: Redis; prefix: string; shards: number; historyPoints: number }) {
  type Queued = { promise: Promise<AccountSnapshot>; resolve(s: AccountSnapshot): void; reject(err: unknown): void }
  const running = new Map<string, { next: Queued | null }>()
  const read = async (account: string): Promise<AccountSnapshot> => {
    const summary = await readSummary(opts.redis, opts.prefix, opts.shards, account)
    const history = await readHistory(opts.pool, account, opts.historyPoints)
    const alerts = await listAlerts(opts.pool, { account, limit: 50 })
    const halt = await getHalt(opts.pool, account)
    return { type: 'snapshot', account, summary, history, alerts: alerts.map(alertToJson), halted: halt?.halted ?? summary?.halted ?? false }
  }
  const start = (account: string): Promise<AccountSnapshot> => {
    const entry: { next: Queued | null } = { next: null }
    running.set(account, entry)
    const promise = read(account)
    const done = (): void => {
      const queued = entry.next
      if (queued === null) {
        running.delete(account)
        return
      }
      start(account).then(queued.resolve, queued.reject)
    }
    promise.then(done, done)
    return promise
  }
  /** The account's snapshot, read after the call (the caller is already listening for updates). */
  return (account: string): Promise<AccountSnapshot> => {
    const entry = running.get(account)
    if (!entry) return start(account)
    if (!entry.next) {
      let resolve!: Queued['resolve']
      let reject!: Queued['reject']
      const promise = new Promise<AccountSnapshot>((res, rej) => {
        resolve = res
        reject = rej
      })
      entry.next = { promise, resolve, reject }
    }
    return entry.next.promise
  }
}
