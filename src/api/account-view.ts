import type { RedisClient } from '../db/redis.ts'
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

/**
 * One position as the dashboard's table shows it: the positions row (average cost, realized PnL)
 * with the token's symbol and decimals from the `tokens` table (null when never read or unreadable).
 * `quantity` is the raw integer as a decimal string: the page uses cost and PnL only while it equals
 * the quantity of the summary it shows, so a cost is never paired with another block's position.
 */
export type PositionJson = {
  chainId: number
  token: string
  symbol: string | null
  decimals: number | null
  quantity: string
  costUsd: number
  realizedPnlUsd: number
  unpricedCost: boolean
}

/** Settings the dashboard explains the figures with (the live route adds them from config). */
export type RiskSettings = {
  /** Loss charged to an asset without enough return history, as a share of |exposure| (risk.fallbackShock). */
  fallbackShock: number
  /** Returns an asset needs before historical VaR uses it (risk.minHistory). */
  minHistory: number
}

/** What a WebSocket client receives on connect, and again whenever it must resynchronise. */
export type AccountSnapshot = {
  type: 'snapshot'
  account: string
  summary: AccountSummary | null
  history: HistoryPoint[]
  alerts: AlertJson[]
  halted: boolean
  positions: PositionJson[]
  risk?: RiskSettings
}

/** The answer to a live client's `{"type":"positions"}`: its account's positions now. */
export type PositionsMessage = { type: 'positions'; account: string; positions: PositionJson[] }

/** The account's latest summary from the Redis read model (null before its first computation). */
export async function readSummary(redis: RedisClient, prefix: string, shards: number, account: string): Promise<AccountSummary | null> {
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

/** The account's positions with their tokens' symbols and decimals, by chain and token. */
export async function readPositions(db: pg.Pool, account: string): Promise<PositionJson[]> {
  const r = await db.query<{ chain_id: number; token: string; symbol: string | null; decimals: number | null; quantity: string; cost_usd: number; realized_pnl_usd: number; unpriced_cost: boolean }>(
    `SELECT p.chain_id, p.token, t.symbol, t.decimals, p.quantity::text AS quantity, p.cost_usd, p.realized_pnl_usd, p.unpriced_cost
     FROM positions p LEFT JOIN tokens t ON t.chain_id = p.chain_id AND t.address = p.token
     WHERE p.account = $1 ORDER BY p.chain_id, p.token`,
    [account],
  )
  return r.rows.map((x) => ({
    chainId: x.chain_id,
    token: x.token,
    symbol: x.symbol,
    decimals: x.decimals,
    quantity: x.quantity,
    costUsd: x.cost_usd,
    realizedPnlUsd: x.realized_pnl_usd,
    unpricedCost: x.unpriced_cost,
  }))
}

/**
 * Builds account snapshots, sharing reads. One read runs per account at a time; connections that
 * arrive while it runs wait for the next one, which starts when it ends and serves them all. A
 * connection never joins a read that began before it was listening (that read could miss an update
 * the connection did not receive), and a thousand dashboards of one account reconnecting at once
 * cost two reads, not a thousand — which matters on the embedded database's single connection.
 */
export function createSnapshotReader(opts: { pool: pg.Pool; redis: RedisClient; prefix: string; shards: number; historyPoints: number }): (account: string) => Promise<AccountSnapshot> {
  return sharedReads(async (account) => {
    const summary = await readSummary(opts.redis, opts.prefix, opts.shards, account)
    const history = await readHistory(opts.pool, account, opts.historyPoints)
    const alerts = await listAlerts(opts.pool, { account, limit: 50 })
    const halt = await getHalt(opts.pool, account)
    const positions = await readPositions(opts.pool, account)
    return { type: 'snapshot', account, summary, history, alerts: alerts.map(alertToJson), halted: halt?.halted ?? summary?.halted ?? false, positions }
  })
}

/**
 * Reads positions for live clients that ask for them (after a trade changed a quantity), shared
 * as snapshots are: every dashboard of an account asks after the same update, and they cost two
 * reads, not one each.
 */
export function createPositionsReader(opts: { pool: pg.Pool }): (account: string) => Promise<PositionJson[]> {
  return sharedReads((account) => readPositions(opts.pool, account))
}

/**
 * `read` with one run per account at a time; callers that arrive while it runs share the next run,
 * which starts when it ends (a caller never gets a read that began before it asked).
 */
function sharedReads<T>(read: (account: string) => Promise<T>): (account: string) => Promise<T> {
  type Queued = { promise: Promise<T>; resolve(s: T): void; reject(err: unknown): void }
  const running = new Map<string, { next: Queued | null }>()
  const start = (account: string): Promise<T> => {
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
  /** The account's value, read after the call (a snapshot's caller is already listening for updates). */
  return (account: string): Promise<T> => {
    const entry = running.get(account)
    if (!entry) return start(account)
    if (!entry.next) {
      let resolve!: Queued['resolve']
      let reject!: Queued['reject']
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      entry.next = { promise, resolve, reject }
    }
    return entry.next.promise
  }
}
