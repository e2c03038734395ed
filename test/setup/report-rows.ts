import { createRandom } from '../../src/world/random.ts'
import type pg from 'pg'

/**
 * Realistic rows for the raw hypertables the aggregates and reports read (risk_snapshots, swaps,
 * alerts, prices), and the reports' expected rows computed here from those rows, in TypeScript,
 * independently of the SQL. Times are unix seconds. USD values are multiples of 0.25, so every sum
 * is exact in any order and a report can be compared with ===.
 */

export const HOUR = 3_600
export const DAY = 86_400
export const ACCOUNTS = ['alice', 'bob', 'carol'] as const

/** A UTC midnight `daysAgo` days before now: fixtures sit in the past, whatever the wall clock says. */
export function anchorDay(daysAgo = 10): number {
  return Math.floor(Date.now() / 1000 / DAY) * DAY - daysAgo * DAY
}

export type AssetExposure = { asset: string; grossUsd: number; netUsd: number }

export type RiskRow = {
  time: number
  account: string
  chainId: number
  block: number
  equity: number
  gross: number
  net: number
  las: number | null
  hhi: number | null
  realized: number
  unrealized: number
  total: number
  daily: number
  dd: number
  ddPct: number | null
  maxDd: number
  maxDdPct: number | null
  var95: number
  var99: number
  es95: number
  es99: number
  pvar95: number
  pvar99: number
  unpriced: number
  assets: AssetExposure[]
}

export type SwapRow = {
  time: number
  chainId: number
  block: number
  tx: string
  logIndex: number
  dexFamily: string
  dexName: string
  account: string | null
  usd: number | null
}

export type AlertRow = { time: number; account: string; ruleId: string; severity: 'warning' | 'critical'; state: 'firing' | 'resolved'; firedAt: number }

export type PriceRow = { time: number; chainId: number; block: number; tx: string; logIndex: number; base: string; quote: string; price: number }

/** The world's seeded generator (mulberry32), so fixtures are the same on every run. */
const random = (seed: number): (() => number) => createRandom(seed).next

/** A multiple of 0.25 in [0, n). */
const quarters = (rnd: () => number, n: number): number => Math.floor(rnd() * n * 4) / 4

/**
 * Risk snapshots of alice, bob and carol on `day` (days after `anchor`) at the given hours: three
 * per hour each (minutes 0, 10, 20 plus the account's index), alternating chains 1 and 8453; alice
 * gets a fourth at her last snapshot's very time on chain 8453, so (time, chain_id) decides her
 * close. Carol's hour 1 has no exposure: shares, HHI and drawdown % are NULL.
 */
export function riskRows(anchor: number, day: number, hours: readonly number[]): RiskRow[] {
  const rows: RiskRow[] = []
  for (const [ai, account] of ACCOUNTS.entries())
    for (const h of hours) {
      const rnd = random(1_000 * (ai + 1) + 100 * day + h)
      for (let k = 0; k < 3; k++) {
        const time = anchor + day * DAY + h * HOUR + (10 * k + ai) * 60
        const chainId = k % 2 === 0 ? 1 : 8453
        const block = (chainId === 1 ? 20_000_000 : 30_000_000) + (day * 24 + h) * 100 + k * 10 + ai
        rows.push(snapshot(rnd, { time, account, chainId, block, empty: account === 'carol' && h === 1 }))
        if (account === 'alice' && k === 2) rows.push(snapshot(rnd, { time, account, chainId: 8453, block: 30_000_000 + (day * 24 + h) * 100 + 99, empty: false }))
      }
    }
  return rows
}

function snapshot(rnd: () => number, at: { time: number; account: string; chainId: number; block: number; empty: boolean }): RiskRow {
  const eth = at.empty ? 0 : quarters(rnd, 4_000)
  const usd = at.empty ? 0 : quarters(rnd, 4_000)
  const gross = eth + usd
  const realized = quarters(rnd, 500) - 250
  const unrealized = quarters(rnd, 500) - 250
  const dd = quarters(rnd, 300)
  const var95 = quarters(rnd, 800)
  const var99 = var95 + quarters(rnd, 200)
  return {
    time: at.time,
    account: at.account,
    chainId: at.chainId,
    block: at.block,
    equity: gross,
    gross,
    net: gross,
    las: gross === 0 ? null : Math.max(eth, usd) / gross,
    hhi: gross === 0 ? null : (eth / gross) ** 2 + (usd / gross) ** 2,
    realized,
    unrealized,
    total: realized + unrealized,
    daily: quarters(rnd, 400) - 200,
    dd,
    ddPct: at.empty || gross + dd === 0 ? null : dd / (gross + dd),
    maxDd: quarters(rnd, 1_000),
    maxDdPct: quarters(rnd, 4) / 4,
    var95,
    var99,
    es95: var95 + quarters(rnd, 100),
    es99: var99 + quarters(rnd, 100),
    pvar95: quarters(rnd, 800),
    pvar99: quarters(rnd, 900),
    unpriced: Math.floor(rnd() * 3),
    assets: [
      { asset: 'ETH', grossUsd: eth, netUsd: eth },
      { asset: 'USD', grossUsd: usd, netUsd: usd },
    ],
  }
}

const DEXES = [
  { dexFamily: 'uniswap-v2', dexName: 'uniswap-v2' },
  { dexFamily: 'uniswap-v3', dexName: 'uniswap-v3' },
] as const

/**
 * Swaps number `from` … `to - 1` of `day`: over chains 1 and 8453 and two dexes on each, by alice,
 * bob or an unwatched trader (account NULL), one in five with no USD value. Swap i is at hour
 * 1 + 2i (minute i), so later numbers are later in the day.
 */
export function swapRows(anchor: number, day: number, from: number, to: number): SwapRow[] {
  const rows: SwapRow[] = []
  for (let i = from; i < to; i++) {
    const rnd = random(7_000 + day * 100 + i)
    const chainId = i % 2 === 0 ? 1 : 8453
    rows.push({
      time: anchor + day * DAY + (1 + 2 * i) * HOUR + i * 60,
      chainId,
      block: (chainId === 1 ? 20_000_000 : 30_000_000) + day * 10_000 + i,
      tx: `0x${day.toString(16).padStart(4, '0')}${i.toString(16).padStart(60, '0')}`,
      logIndex: i % 3,
      ...DEXES[Math.floor(i / 2) % 2]!,
      account: ['alice', 'bob', null][i % 3]!,
      usd: i % 5 === 4 ? null : quarters(rnd, 20_000) + 0.25,
    })
  }
  return rows
}

/** Alert events before (`part` 'before') or after ('after') the test's refresh; day 2 holds the later ones. */
export function alertRows(anchor: number, part: 'before' | 'after'): AlertRow[] {
  const t = (day: number, hour: number): number => anchor + day * DAY + hour * HOUR
  const fire = (account: string, ruleId: string, severity: AlertRow['severity'], at: number): AlertRow => ({ time: at, account, ruleId, severity, state: 'firing', firedAt: at })
  const resolve = (f: AlertRow, at: number): AlertRow => ({ ...f, time: at, state: 'resolved' })
  const aliceDd0 = fire('alice', 'default.drawdown', 'warning', t(0, 2))
  const aliceDd1 = fire('alice', 'default.drawdown', 'warning', t(1, 3))
  const bobDd0 = fire('bob', 'default.drawdown', 'warning', t(0, 5))
  if (part === 'before')
    return [aliceDd0, resolve(aliceDd0, t(0, 4)), aliceDd1, fire('alice', 'var99', 'critical', t(1, 10)), bobDd0, resolve(bobDd0, t(1, 1))]
  return [resolve(aliceDd1, t(2, 6)), fire('bob', 'var99', 'critical', t(2, 12)), fire('alice', 'default.drawdown-critical', 'critical', t(2, 7))]
}

/**
 * Price observations of WETH/USDC on chains 1 and 8453 over `hours` hours from `start`: several a
 * minute, some sharing a block time across two blocks and some sharing a block across log indexes,
 * so open and close depend on (block_time, block_number, log_index).
 */
export function priceRows(start: number, hours: number): PriceRow[] {
  const rows: PriceRow[] = []
  for (const chainId of [1, 8453]) {
    const rnd = random(9_000 + chainId)
    let block = chainId === 1 ? 20_000_000 : 30_000_000
    for (let m = 0; m < hours * 60; m += 7) {
      const time = start + m * 60
      // block b at time, block b+1 at the same time (two blocks, one timestamp), block b+2 a few seconds later
      for (const [dt, db, logs] of [
        [0, 0, 2],
        [0, 1, 1],
        [12, 2, 3],
      ] as const) {
        for (let li = logs - 1; li >= 0; li--)
          rows.push({ time: time + dt, chainId, block: block + db, tx: `0x${(block + db).toString(16)}${li}`, logIndex: 5 + li * 3, base: '0xweth', quote: '0xusdc', price: 2_000 + quarters(rnd, 400) })
      }
      block += 3
    }
  }
  return rows
}

// Writes ------------------------------------------------------------------------------------------

type Queryable = Pick<pg.PoolClient, 'query'>

export async function insertRiskRows(db: Queryable, rows: readonly RiskRow[]): Promise<void> {
  await db.query(
    `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, gross_exposure_usd, net_exposure_usd,
       unpriced_positions, largest_asset_share, hhi, realized_pnl_usd, unrealized_pnl_usd, total_pnl_usd, daily_pnl_usd,
       drawdown_usd, drawdown_pct, max_drawdown_usd, max_drawdown_pct, var95_usd, var99_usd, es95_usd, es99_usd,
       parametric_var95_usd, parametric_var99_usd, var_method, metrics)
     SELECT to_timestamp(r."time"), r.account, 0, r."chainId", r.block, r.equity, r.gross, r.net, r.unpriced, r.las, r.hhi,
       r.realized, r.unrealized, r.total, r.daily, r.dd, r."ddPct", r."maxDd", r."maxDdPct", r.var95, r.var99, r.es95, r.es99,
       r.pvar95, r.pvar99, 'historical', jsonb_build_object('exposureByAsset', r.assets)
     FROM jsonb_to_recordset($1::jsonb) AS r("time" float8, account text, "chainId" int, block bigint, equity float8, gross float8,
       net float8, unpriced int, las float8, hhi float8, realized float8, unrealized float8, total float8, daily float8, dd float8,
       "ddPct" float8, "maxDd" float8, "maxDdPct" float8, var95 float8, var99 float8, es95 float8, es99 float8, pvar95 float8,
       pvar99 float8, assets jsonb)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  )
}

export async function insertSwapRows(db: Queryable, rows: readonly SwapRow[]): Promise<void> {
  await db.query(
    `INSERT INTO swaps (block_time, chain_id, block_number, block_hash, tx_hash, log_index, dex_family, dex_name, pool, trader,
       sender, recipient, token_in, token_out, amount_in, amount_out, decimals_in, decimals_out, amount_usd, account, shard)
     SELECT to_timestamp(r."time"), r."chainId", r.block, '0xb' || r.block, r.tx, r."logIndex", r."dexFamily", r."dexName",
       '0xpool' || r."dexName", coalesce(r.account, '0xstranger'), '0xrouter', '0xrouter', '0xweth', '0xusdc',
       1000000000000000000, 2000000000, 18, 6, r.usd, r.account, 0
     FROM jsonb_to_recordset($1::jsonb) AS r("time" float8, "chainId" int, block bigint, tx text, "logIndex" int, "dexFamily" text,
       "dexName" text, account text, usd float8)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  )
}

export async function insertAlertRows(db: Queryable, rows: readonly AlertRow[]): Promise<void> {
  await db.query(
    `INSERT INTO alerts (time, id, state, account, rule_id, metric, op, threshold, hysteresis, severity, action, value, fired_at,
       chain_id, block_number, metrics)
     SELECT to_timestamp(r."time"), r."ruleId" || ':' || r.account || ':' || r."firedAt"::bigint, r.state, r.account, r."ruleId",
       'drawdownPct', 'above', 0.2, 0.05, r.severity, 'alert', 0.25, to_timestamp(r."firedAt"), 1, 20000000, '{}'::jsonb
     FROM jsonb_to_recordset($1::jsonb) AS r("time" float8, account text, "ruleId" text, severity text, state text, "firedAt" float8)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  )
}

export async function insertPriceRows(db: Queryable, rows: readonly PriceRow[]): Promise<void> {
  await db.query(
    `INSERT INTO prices (block_time, chain_id, block_number, tx_hash, log_index, pool, base, quote, price, quote_depth)
     SELECT to_timestamp(r."time"), r."chainId", r.block, r.tx, r."logIndex", '0xpool', r.base, r.quote, r.price, NULL
     FROM jsonb_to_recordset($1::jsonb) AS r("time" float8, "chainId" int, block bigint, tx text, "logIndex" int, base text,
       quote text, price float8)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  )
}

// Expected report rows, computed from the fixture ---------------------------------------------------

export type Range = { account: string; from: number; to: number }

const date = (t: number): Date => new Date(t * 1000)
const inAccount = (range: Range, account: string): boolean => range.account === '*' || account === range.account

/** Rows grouped by key, in key order (keys compared as tuples of numbers and strings). */
function groups<T, K extends (number | string)[]>(rows: readonly T[], key: (r: T) => K): [K, T[]][] {
  const map = new Map<string, [K, T[]]>()
  for (const r of rows) {
    const k = key(r)
    const id = JSON.stringify(k)
    const g = map.get(id)
    if (g) g[1].push(r)
    else map.set(id, [k, [r]])
  }
  return [...map.values()].sort((a, b) => compareTuples(a[0], b[0]))
}

function compareTuples(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x !== y) return typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1
  }
  return 0
}

/** Snapshots in TimescaleDB's first/last order: (time, chain_id, block_number). */
const snapshotOrder = (a: RiskRow, b: RiskRow): number => compareTuples([a.time, a.chainId, a.block], [b.time, b.chainId, b.block])
const maxOf = (xs: (number | null)[]): number | null => xs.reduce<number | null>((m, x) => (x === null ? m : m === null || x > m ? x : m), null)
const minOf = (xs: (number | null)[]): number | null => xs.reduce<number | null>((m, x) => (x === null ? m : m === null || x < m ? x : m), null)

/** Snapshots of the range's accounts grouped by (bucket start, account), each group in snapshot order. */
function riskBuckets(rows: readonly RiskRow[], range: Range, width: number): { bucket: number; account: string; s: RiskRow[] }[] {
  const picked = rows.filter((r) => inAccount(range, r.account))
  return groups(picked, (r) => [Math.floor(r.time / width) * width, r.account] as [number, string])
    .filter(([[bucket]]) => bucket >= range.from && bucket < range.to)
    .map(([[bucket, account], s]) => ({ bucket, account, s: [...s].sort(snapshotOrder) }))
}

export function expectedDailyPnl(rows: readonly RiskRow[], range: Range): Record<string, unknown>[] {
  return riskBuckets(rows, range, DAY).map(({ bucket, account, s }) => ({
    day: date(bucket),
    account,
    daily_pnl_usd: s.at(-1)!.daily,
    total_pnl_usd: s.at(-1)!.total,
    realized_pnl_usd: s.at(-1)!.realized,
    unrealized_pnl_usd: s.at(-1)!.unrealized,
    equity_open_usd: s[0]!.equity,
    equity_high_usd: maxOf(s.map((r) => r.equity)),
    equity_low_usd: minOf(s.map((r) => r.equity)),
    equity_close_usd: s.at(-1)!.equity,
    snapshots: s.length,
  }))
}

export function expectedExposureHistory(rows: readonly RiskRow[], range: Range): Record<string, unknown>[] {
  return riskBuckets(rows, range, HOUR).map(({ bucket, account, s }) => ({
    hour: date(bucket),
    account,
    gross_exposure_usd: s.at(-1)!.gross,
    net_exposure_usd: s.at(-1)!.net,
    equity_usd: s.at(-1)!.equity,
    equity_high_usd: maxOf(s.map((r) => r.equity)),
    equity_low_usd: minOf(s.map((r) => r.equity)),
    largest_asset_share: s.at(-1)!.las,
    hhi: s.at(-1)!.hhi,
    unpriced_positions_max: maxOf(s.map((r) => r.unpriced)),
    snapshots: s.length,
  }))
}

export function expectedVarDrawdownHistory(rows: readonly RiskRow[], range: Range): Record<string, unknown>[] {
  return riskBuckets(rows, range, HOUR).map(({ bucket, account, s }) => {
    const last = s.at(-1)!
    return {
      hour: date(bucket),
      account,
      var95_usd: last.var95,
      var99_usd: last.var99,
      es95_usd: last.es95,
      es99_usd: last.es99,
      var95_max_usd: maxOf(s.map((r) => r.var95)),
      var99_max_usd: maxOf(s.map((r) => r.var99)),
      drawdown_usd: last.dd,
      drawdown_usd_max: maxOf(s.map((r) => r.dd)),
      drawdown_pct: last.ddPct,
      drawdown_pct_max: maxOf(s.map((r) => r.ddPct)),
      max_drawdown_usd: last.maxDd,
      max_drawdown_pct: last.maxDdPct,
      var_incomplete: s.some((r) => r.unpriced > 0),
    }
  })
}

export function expectedTopConcentrations(rows: readonly RiskRow[], range: Range): Record<string, unknown>[] {
  const byAccount = groups(riskBuckets(rows, range, HOUR), (b) => [b.account] as [string])
  const out = byAccount.map(([[account], hours]) => {
    const all = hours.flatMap((h) => h.s)
    const last = hours.at(-1)!.s.at(-1)!
    const largest = [...last.assets].sort((a, b) => b.grossUsd - a.grossUsd || (a.asset < b.asset ? -1 : 1))[0]!
    return {
      account,
      largest_asset_share_max: maxOf(all.map((r) => r.las)),
      hhi_max: maxOf(all.map((r) => r.hhi)),
      largest_asset_share: last.las,
      hhi: last.hhi,
      gross_exposure_usd: last.gross,
      largest_asset: largest.asset,
      largest_asset_gross_usd: largest.grossUsd,
      last_snapshot_at: date(last.time),
    }
  })
  const desc = (x: unknown, y: unknown): number => (x === y ? 0 : x === null ? 1 : y === null ? -1 : (y as number) - (x as number))
  return out.sort((a, b) => desc(a.largest_asset_share_max, b.largest_asset_share_max) || desc(a.hhi_max, b.hhi_max) || (a.account < b.account ? -1 : 1))
}

export function expectedAlertsSummary(rows: readonly AlertRow[], range: Range): Record<string, unknown>[] {
  const picked = rows.filter((r) => inAccount(range, r.account) && Math.floor(r.time / DAY) * DAY >= range.from && Math.floor(r.time / DAY) * DAY < range.to)
  return groups(picked, (r) => [r.account, r.ruleId, r.severity] as [string, string, string]).map(([[account, ruleId, severity], a]) => {
    const days = [...new Set(a.map((r) => Math.floor(r.time / DAY) * DAY))].sort((x, y) => x - y)
    return {
      account,
      rule_id: ruleId,
      severity,
      fired: a.filter((r) => r.state === 'firing').length,
      resolved: a.filter((r) => r.state === 'resolved').length,
      days: days.length,
      first_day: date(days[0]!),
      last_day: date(days.at(-1)!),
    }
  })
}

export function expectedDexVolume(rows: readonly SwapRow[], range: Range): Record<string, unknown>[] {
  const picked = rows.filter((r) => (range.account === '*' ? true : r.account === range.account))
  return groups(picked, (r) => [Math.floor(r.time / DAY) * DAY, r.chainId, r.dexFamily, r.dexName] as [number, number, string, string])
    .filter(([[day]]) => day >= range.from && day < range.to)
    .map(([[day, chainId, dexFamily, dexName], s]) => {
      const priced = s.filter((r) => r.usd !== null)
      return {
        day: date(day),
        chain_id: chainId,
        dex_family: dexFamily,
        dex_name: dexName,
        swaps: s.length,
        priced_swaps: priced.length,
        volume_usd: priced.length === 0 ? null : priced.reduce((sum, r) => sum + r.usd!, 0),
      }
    })
}

/** OHLC candles of `width` seconds computed from raw price rows, ties broken by (block_time, block_number, log_index). */
export function expectedCandles(rows: readonly PriceRow[], width: number): Record<string, unknown>[] {
  return groups(rows, (r) => [Math.floor(r.time / width) * width, r.chainId, r.base, r.quote] as [number, number, string, string]).map(([[bucket, chainId, base, quote], p]) => {
    const s = [...p].sort((a, b) => compareTuples([a.time, a.block, a.logIndex], [b.time, b.block, b.logIndex]))
    return {
      bucket: date(bucket),
      chain_id: chainId,
      base,
      quote,
      open: s[0]!.price,
      high: maxOf(s.map((r) => r.price)),
      low: minOf(s.map((r) => r.price)),
      close: s.at(-1)!.price,
      observations: String(s.length),
    }
  })
}
