import type pg from 'pg'
import { emptyAccountRiskState, recordTrade, type AccountMetrics, type RiskOptions } from '../../src/risk/account-metrics.ts'
import { ReturnHistory, type ReturnHistoryJson } from '../../src/risk/return-history.ts'
import { combine, type Part } from '../../src/db/statement.ts'
import { alertsPart, haltsPart, listHalted, loadShardRuleStates, ruleStatesPart } from '../../src/risk/rule-store.ts'
import type { BatchEffects } from './apply-batch.ts'
import type { RiskEffects, RiskState } from './risk-engine.ts'
import { CASH_ASSETS } from './cash-assets.ts'
import { emptySweep } from './reprice-plan.ts'
import { arrayLiteral } from '../../src/db/array-literal.ts'
import { TriggerIndex } from './trigger-index.ts'

type Queryable = Pick<pg.PoolClient, 'query'>


export function historyOptions(o: RiskOptions): ConstructorParameters<typeof ReturnHistory>[0] {
  return { horizonSeconds: o.horizonSeconds, windowSize: o.windowSize, minHistory: o.minHistory, constantAssets: CASH_ASSETS }
}

/** The risk state of a shard that has seen nothing yet. */
export function emptyRiskState(options: RiskOptions): RiskState {
  return {
    clock: null,
    chainTimes: new Map(),
    history: new ReturnHistory(historyOptions(options)),
    accounts: new Map(),
    lastComputed: new Map(),
    lastSnapshot: new Map(),
    ruleStates: new Map(),
    halted: new Set(),
    assetPrices: new Map(),
    repricedAt: new Map(),
    triggers: new TriggerIndex(),
    sweep: emptySweep(),
    dueNow: new Set(),
  }
}

/**
 * Writes one batch's risk effects, in the batch's transaction: a risk snapshot for each account
 * whose update asks for one (positions changed, an alert, or its snapshot interval passed), the
 * carried state of every account computed (one narrow row each), the return series that moved, the
 * shard's clock, alerts, rule states and halts. Rows are keyed by what changed, so a batch writes
 * in proportion to the accounts it recomputed, never the shard's whole state. Every write is
 * idempotent on its key, like the rest of the batch.
 */
export async function writeRiskEffects(db: Queryable, shard: number, e: BatchEffects, r: RiskEffects): Promise<void> {
  await db.query(combine(riskParts(shard, e, r), 'SELECT 1'))
}

/** A batch's risk rows, as parts of the batch's one statement (src/db/statement.ts). */
export function riskParts(shard: number, e: BatchEffects, r: RiskEffects): Part[] {
  const parts: Part[] = []
  const snap = r.updates.filter((x) => x.snapshot)
  if (snap.length > 0) {
    const m = snap.map((x) => x.metrics)
    parts.push({
      ctes: `rsn_in AS (INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, gross_exposure_usd,
         net_exposure_usd, unpriced_positions, largest_asset_share, hhi, realized_pnl_usd, unrealized_pnl_usd,
         total_pnl_usd, daily_pnl_usd, drawdown_usd, drawdown_pct, max_drawdown_usd, max_drawdown_pct, var95_usd,
         var99_usd, es95_usd, es99_usd, parametric_var95_usd, parametric_var99_usd, swaps_24h, volume_24h_usd,
         var_method, metrics)
       SELECT to_timestamp($28), acc, $2, $3, $29, eq, gross, net, unp, las, hhi, rp, up, tp, dp, dd, ddp, mdd, mddp,
         v95, v99, e95, e99, p95, p99, s24, vol24, vm, metrics
       FROM unnest($1::text[], $4::float8[], $5::float8[], $6::float8[], $7::int4[], $8::float8[], $9::float8[],
         $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::float8[],
         $17::float8[], $18::float8[], $19::float8[], $20::float8[], $21::float8[], $22::float8[], $23::float8[],
         $24::int4[], $25::float8[], $26::text[], $27::jsonb[])
         AS u(acc, eq, gross, net, unp, las, hhi, rp, up, tp, dp, dd, ddp, mdd, mddp, v95, v99, e95, e99, p95, p99,
           s24, vol24, vm, metrics)
       ON CONFLICT DO NOTHING)`,
      params: [
        arrayLiteral(snap.map((x) => x.account)),
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
        r.time,
        e.toBlock.toString(),
      ],
    })
  }
  if (r.updates.length > 0) {
    const u = r.updates
    const st = u.map((x) => x.state)
    parts.push({
      ctes: `ar_in AS (INSERT INTO account_risk (account, shard, peak_equity_usd, max_drawdown_usd, max_drawdown_pct, day, day_start_pnl_usd,
         last_total_pnl_usd, trade_clock, computed_at, snapshot_at)
       SELECT acc, $2, pk, mdd, mddp, d, dsp, ltp, tc, $3::float8, CASE WHEN sn THEN $3::float8 END
       FROM unnest($1::text[], $4::float8[], $5::float8[], $6::float8[], $7::int4[], $8::float8[], $9::float8[], $10::float8[], $11::bool[])
         AS u(acc, pk, mdd, mddp, d, dsp, ltp, tc, sn)
       ON CONFLICT (account) DO UPDATE SET shard = EXCLUDED.shard, peak_equity_usd = EXCLUDED.peak_equity_usd,
         max_drawdown_usd = EXCLUDED.max_drawdown_usd, max_drawdown_pct = EXCLUDED.max_drawdown_pct, day = EXCLUDED.day,
         day_start_pnl_usd = EXCLUDED.day_start_pnl_usd, last_total_pnl_usd = EXCLUDED.last_total_pnl_usd,
         trade_clock = EXCLUDED.trade_clock, computed_at = EXCLUDED.computed_at,
         snapshot_at = COALESCE(EXCLUDED.snapshot_at, account_risk.snapshot_at))`,
      params: [
        arrayLiteral(u.map((x) => x.account)),
        shard,
        r.time,
        arrayLiteral(st.map((x) => x.peakEquityUsd)),
        arrayLiteral(st.map((x) => x.maxDrawdownUsd)),
        arrayLiteral(st.map((x) => x.maxDrawdownPct)),
        arrayLiteral(st.map((x) => x.day)),
        arrayLiteral(st.map((x) => x.dayStartPnlUsd)),
        arrayLiteral(st.map((x) => x.lastTotalPnlUsd)),
        arrayLiteral(st.map((x) => x.clock)),
        arrayLiteral(u.map((x) => x.snapshot)),
      ],
    })
  }
  if (r.history.series.length > 0) {
    const h = r.history.series
    parts.push({
      ctes: `ser_in AS (INSERT INTO return_series (shard, asset, close, pending, last_time, returns)
       SELECT $1, a, c, p, lt, string_to_array(rs, ',')::float8[]
       FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[], $6::text[]) AS u(a, c, p, lt, rs)
       ON CONFLICT (shard, asset) DO UPDATE SET close = EXCLUDED.close, pending = EXCLUDED.pending,
         last_time = EXCLUDED.last_time, returns = EXCLUDED.returns)`,
      params: [
        shard,
        arrayLiteral(h.map((x) => x.asset)),
        arrayLiteral(h.map((x) => x.json.close)),
        arrayLiteral(h.map((x) => x.json.pending)),
        arrayLiteral(h.map((x) => x.json.lastTime)),
        // float8 text output round-trips exactly (shortest representation), as does JS's String(number).
        arrayLiteral(h.map((x) => x.json.returns.join(','))),
      ],
    })
  }
  // The shard's clock, open period and chain times: one small row, every batch.
  parts.push({
    ctes: `rh_in AS (INSERT INTO return_history (shard, bucket, clock, chain_times, updated_at) VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (shard) DO UPDATE SET bucket = EXCLUDED.bucket, clock = EXCLUDED.clock,
       chain_times = COALESCE(return_history.chain_times, '{}'::jsonb) || EXCLUDED.chain_times, updated_at = now())`,
    params: [shard, r.history.bucket, r.time, JSON.stringify({ [r.chainTime.chainId]: r.chainTime.time })],
  })
  if (r.alerts.length > 0) parts.push(alertsPart(r.alerts))
  if (r.ruleStates.length > 0) parts.push(ruleStatesPart(r.ruleStates))
  if (r.halts.length > 0) parts.push(haltsPart(r.halts))
  return parts
}

/**
 * Loads a shard's risk state as last committed: the return history from its series, each account's
 * carried state, and its trade window rebuilt from the last 24 hours of `trades` (replayed in
 * block order through recordTrade, as the batches recorded them).
 */
export async function loadRiskState(db: Queryable, shard: number, options: RiskOptions): Promise<RiskState> {
  const state = emptyRiskState(options)
  const h = await db.query<{ bucket: string | null; clock: number | null; chain_times: Record<string, number> | null }>(
    'SELECT bucket::text, clock, chain_times FROM return_history WHERE shard = $1',
    [shard],
  )
  const series = await db.query<{ asset: string; close: number | null; pending: number | null; last_time: number; returns: number[] }>(
    'SELECT asset, close, pending, last_time, returns FROM return_series WHERE shard = $1 ORDER BY asset',
    [shard],
  )
  const head = h.rows[0]
  if (head) {
    const json: ReturnHistoryJson = {
      bucket: head.bucket === null ? null : Number(head.bucket),
      assets: Object.fromEntries(series.rows.map((r) => [r.asset, { close: r.close, pending: r.pending, lastTime: r.last_time, returns: r.returns }])),
    }
    state.history = ReturnHistory.fromJSON(historyOptions(options), json)
    // Each asset's latest closing price is where the bands of the accounts armed at start are drawn.
    for (const r of series.rows) {
      const p = r.pending ?? r.close
      if (p !== null) state.assetPrices.set(r.asset, p)
    }
    state.chainTimes = new Map(Object.entries(head.chain_times ?? {}).map(([c, t]) => [Number(c), t]))
    state.clock = head.clock
  }
  const a = await db.query<{
    account: string
    peak_equity_usd: number | null
    max_drawdown_usd: number
    max_drawdown_pct: number | null
    day: number | null
    day_start_pnl_usd: number
    last_total_pnl_usd: number
    trade_clock: number | null
    computed_at: number
    snapshot_at: number | null
  }>(
    `SELECT account, peak_equity_usd, max_drawdown_usd, max_drawdown_pct, day, day_start_pnl_usd, last_total_pnl_usd,
       trade_clock, computed_at, snapshot_at
     FROM account_risk WHERE shard = $1 ORDER BY account`,
    [shard],
  )
  for (const r of a.rows) {
    const s = emptyAccountRiskState()
    s.peakEquityUsd = r.peak_equity_usd
    s.maxDrawdownUsd = r.max_drawdown_usd
    s.maxDrawdownPct = r.max_drawdown_pct
    s.day = r.day
    s.dayStartPnlUsd = r.day_start_pnl_usd
    s.lastTotalPnlUsd = r.last_total_pnl_usd
    state.accounts.set(r.account, s)
    state.lastComputed.set(r.account, r.computed_at)
    if (r.snapshot_at !== null) state.lastSnapshot.set(r.account, r.snapshot_at)
    if (state.clock === null || r.computed_at > state.clock) state.clock = r.computed_at
  }
  // The trade windows: what each account traded in the 24 hours before its trade clock.
  const clocks = new Map<string, number>()
  let earliest = Infinity
  for (const r of a.rows)
    if (r.trade_clock !== null) {
      clocks.set(r.account, r.trade_clock)
      if (r.trade_clock < earliest) earliest = r.trade_clock
    }
  if (clocks.size > 0) {
    // Trades more than a day before the shard's clock are outside every window a computation reads.
    const since = Math.max(earliest, state.clock ?? earliest) - 86_400
    const t = await db.query<{ account: string; t: number; usd: number | null }>(
      `SELECT account, extract(epoch FROM block_time)::float8 AS t, amount_usd AS usd FROM account_trades
       WHERE shard = $1 AND block_time > to_timestamp($2)
       ORDER BY block_time, chain_id, block_number, log_index, account`,
      [shard, since],
    )
    for (const r of t.rows) {
      const clock = clocks.get(r.account)
      const s = state.accounts.get(r.account)
      if (clock === undefined || s === undefined || r.t > clock || r.t <= clock - 86_400) continue
      recordTrade(s, r.t, r.usd)
    }
    // An account whose trades all aged out keeps its clock.
    for (const [account, clock] of clocks) {
      const s = state.accounts.get(account)!
      if (s.clock === null) s.clock = clock
    }
  }
  state.ruleStates = await loadShardRuleStates(db, shard)
  state.halted = new Set((await listHalted(db)).map((x) => x.account))
  return state
}
/**
 * The part of an account's metrics a risk snapshot keeps in its `metrics` JSON: what its columns do
 * not hold (exposure by asset and chain, unpriced tokens, the assets charged the fallback shock,
 * the shorter velocity windows). Every figure is stored once: measured with `npm run bench --
 * --sql`, the full metrics object as JSON was three quarters of a snapshot row's cost. Per-token
 * exposure lines are position_snapshots' history.
 */
export function storedMetrics(m: AccountMetrics): StoredMetrics {
  return {
    exposureByAsset: m.exposureByAsset,
    exposureByChain: m.exposureByChain,
    unpricedTokens: m.unpricedTokens,
    assetsWithoutHistory: m.assetsWithoutHistory,
    historyLength: m.historyLength,
    swaps1m: m.swaps1m,
    swaps1h: m.swaps1h,
    volume1mUsd: m.volume1mUsd,
    volume1hUsd: m.volume1hUsd,
  }
}

export type StoredMetrics = Pick<
  AccountMetrics,
  'exposureByAsset' | 'exposureByChain' | 'unpricedTokens' | 'assetsWithoutHistory' | 'historyLength' | 'swaps1m' | 'swaps1h' | 'volume1mUsd' | 'volume1hUsd'
>
