import type pg from 'pg'
import type { AccountMetrics, AccountRiskState, RiskOptions } from '../../src/risk/account-metrics.ts'
import { ReturnHistory, type ReturnHistoryJson } from '../../src/risk/return-history.ts'
import { insertAlerts, listHalted, loadRuleStates, saveRuleStates, setHalt } from '../../src/risk/rule-store.ts'
import type { BatchEffects } from './apply-batch.ts'
import type { RiskEffects, RiskState } from './risk-engine.ts'
import { arrayLiteral } from './store.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/** The assets whose returns are constant (stablecoins): their history is always full of zeros. */
export const CASH_ASSETS: ReadonlySet<string> = new Set(['USD'])

export function historyOptions(o: RiskOptions): ConstructorParameters<typeof ReturnHistory>[0] {
  return { horizonSeconds: o.horizonSeconds, windowSize: o.windowSize, minHistory: o.minHistory, constantAssets: CASH_ASSETS }
}

/** The risk state of a shard that has seen nothing yet. */
export function emptyRiskState(options: RiskOptions): RiskState {
  return { clock: null, chainTimes: new Map(), history: new ReturnHistory(historyOptions(options)), accounts: new Map(), lastComputed: new Map(), ruleStates: new Map(), halted: new Set() }
}

/**
 * Writes one batch's risk effects, in the batch's transaction: a risk snapshot per account
 * computed, the accounts' carried state, the shard's return history when it moved, alerts, rule
 * states and halts. Every write is idempotent on its key, like the rest of the batch.
 */
export async function writeRiskEffects(db: Queryable, shard: number, e: BatchEffects, r: RiskEffects, history: ReturnHistory): Promise<void> {
  if (r.updates.length > 0) {
    const u = r.updates
    const m = u.map((x) => x.metrics)
    await db.query(
      `WITH u AS (
         SELECT * FROM unnest($1::text[], $4::float8[], $5::float8[], $6::float8[], $7::int4[], $8::float8[], $9::float8[],
           $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::float8[],
           $17::float8[], $18::float8[], $19::float8[], $20::float8[], $21::float8[], $22::float8[], $23::float8[],
           $24::int4[], $25::float8[], $26::text[], $27::jsonb[], $28::jsonb[], $29::jsonb[])
           AS u(acc, eq, gross, net, unp, las, hhi, rp, up, tp, dp, dd, ddp, mdd, mddp, v95, v99, e95, e99, p95, p99,
             s24, vol24, vm, metrics, st, trd)
       ), snapshots_in AS (
         INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, gross_exposure_usd,
           net_exposure_usd, unpriced_positions, largest_asset_share, hhi, realized_pnl_usd, unrealized_pnl_usd,
           total_pnl_usd, daily_pnl_usd, drawdown_usd, drawdown_pct, max_drawdown_usd, max_drawdown_pct, var95_usd,
           var99_usd, es95_usd, es99_usd, parametric_var95_usd, parametric_var99_usd, swaps_24h, volume_24h_usd,
           var_method, metrics)
         SELECT to_timestamp($30), acc, $2, $3, $31, eq, gross, net, unp, las, hhi, rp, up, tp, dp, dd, ddp, mdd, mddp,
           v95, v99, e95, e99, p95, p99, s24, vol24, vm, metrics
         FROM u
         ON CONFLICT DO NOTHING
       )
       INSERT INTO account_risk_state (account, shard, state, trades, updated_at)
       SELECT acc, $2, st, trd, now() FROM u
       ON CONFLICT (account) DO UPDATE SET state = EXCLUDED.state, shard = EXCLUDED.shard,
         trades = COALESCE(EXCLUDED.trades, account_risk_state.trades), updated_at = now()`,
      [
        arrayLiteral(u.map((x) => x.account)),
        shard,
        e.chainId,
        arrayLiteral(m.map((x) => x.equityUsd)),
        arrayLiteral(m.map((x) => x.grossExposureUsd)),
        arrayLiteral(m.map((x) => x.netExposureUsd)),
        arrayLiteral(m.map((x) => x.unpricedPositions)),
        arrayLiteral(m.map((x) => x.largestAssetShare)),
        arrayLiteral(m.map((x) => x.hhi)),
        arrayLiteral(m.map((x) => x.realizedPnlUsd)),
        arrayLiteral(m.map((x) => x.unrealizedPnlUsd)),
        arrayLiteral(m.map((x) => x.totalPnlUsd)),
        arrayLiteral(m.map((x) => x.dailyPnlUsd)),
        arrayLiteral(m.map((x) => x.drawdownUsd)),
        arrayLiteral(m.map((x) => x.drawdownPct)),
        arrayLiteral(m.map((x) => x.maxDrawdownUsd)),
        arrayLiteral(m.map((x) => x.maxDrawdownPct)),
        arrayLiteral(m.map((x) => x.var95Usd)),
        arrayLiteral(m.map((x) => x.var99Usd)),
        arrayLiteral(m.map((x) => x.es95Usd)),
        arrayLiteral(m.map((x) => x.es99Usd)),
        arrayLiteral(m.map((x) => x.parametricVar95Usd)),
        arrayLiteral(m.map((x) => x.parametricVar99Usd)),
        arrayLiteral(m.map((x) => x.swaps24h)),
        arrayLiteral(m.map((x) => x.volume24hUsd)),
        arrayLiteral(m.map((x) => x.varMethod)),
        m.map((x) => JSON.stringify(storedMetrics(x))),
        u.map((x) => JSON.stringify({ state: { ...x.state, tradeTimes: [], tradeUsd: [] }, computedAt: r.time } satisfies StoredAccountRisk)),
        u.map((x) => (x.traded ? JSON.stringify({ tradeTimes: x.state.tradeTimes, tradeUsd: x.state.tradeUsd } satisfies StoredTrades) : null)),
        r.time,
        e.toBlock.toString(),
      ],
    )
  }
  // The history when it moved; the shard's clock always (a batch that recomputed nobody still moves it).
  const chainTime = JSON.stringify({ [r.chainTime.chainId]: r.chainTime.time })
  const upsert = (): Promise<unknown> =>
    db.query(
      `INSERT INTO return_history (shard, history, clock, chain_times, updated_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (shard) DO UPDATE SET history = EXCLUDED.history, clock = EXCLUDED.clock,
         chain_times = COALESCE(return_history.chain_times, '{}'::jsonb) || EXCLUDED.chain_times, updated_at = now()`,
      [shard, JSON.stringify(history.toJSON()), r.time, chainTime],
    )
  if (r.historyChanged) await upsert()
  else {
    const u = await db.query(
      `UPDATE return_history SET clock = $2, chain_times = COALESCE(chain_times, '{}'::jsonb) || $3::jsonb, updated_at = now() WHERE shard = $1`,
      [shard, r.time, chainTime],
    )
    if (u.rowCount === 0) await upsert()
  }
  await insertAlerts(db, r.alerts)
  await saveRuleStates(db, r.ruleStates)
  for (const h of r.halts) await setHalt(db, h)
}

/** Loads a shard's risk state as last committed. */
export async function loadRiskState(db: Queryable, shard: number, options: RiskOptions): Promise<RiskState> {
  const h = await db.query<{ history: ReturnHistoryJson; clock: number | null; chain_times: Record<string, number> | null }>(
    'SELECT history, clock, chain_times FROM return_history WHERE shard = $1',
    [shard],
  )
  const history = h.rows[0] ? ReturnHistory.fromJSON(historyOptions(options), h.rows[0].history) : new ReturnHistory(historyOptions(options))
  const a = await db.query<{ account: string; state: StoredAccountRisk; trades: StoredTrades | null }>(
    'SELECT account, state, trades FROM account_risk_state WHERE shard = $1 ORDER BY account',
    [shard],
  )
  const accounts = new Map(a.rows.map((r) => [r.account, { ...r.state.state, tradeTimes: r.trades?.tradeTimes ?? [], tradeUsd: r.trades?.tradeUsd ?? [] }]))
  const lastComputed = new Map(a.rows.map((r) => [r.account, r.state.computedAt]))
  let clock: number | null = h.rows[0]?.clock ?? null
  for (const t of lastComputed.values()) if (clock === null || t > clock) clock = t
  return {
    clock,
    chainTimes: new Map(Object.entries(h.rows[0]?.chain_times ?? {}).map(([c, t]) => [Number(c), t])),
    history,
    accounts,
    lastComputed,
    ruleStates: await loadRuleStates(db, [...accounts.keys()]),
    halted: new Set((await listHalted(db)).map((x) => x.account)),
  }
}

/** An account's carried risk state (trade window apart) and the block time it was computed at. */
type StoredAccountRisk = { state: AccountRiskState; computedAt: number }
/** An account's trades of the last 24 hours (AccountRiskState's deque), written when it changes. */
type StoredTrades = Pick<AccountRiskState, 'tradeTimes' | 'tradeUsd'>

/**
 * The metrics kept in a risk snapshot: all but the per-token exposure lines, whose history is
 * position_snapshots' (a snapshot per account and batch would otherwise repeat every token).
 */
export function storedMetrics(m: AccountMetrics): Omit<AccountMetrics, 'exposureByToken'> {
  const { exposureByToken: _, ...rest } = m
  return rest
}
