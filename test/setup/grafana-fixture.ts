/**
 * Eight days of a small dexrisk deployment, written into the raw tables the way the product writes
 * them, for the Grafana dashboard tests: 3 chains, 7 dexes (uniswap-v2 / v3 families and their
 * forks), 4 accounts on 4 shards (three named, one auto-mode wallet), a swap and a price observation
 * per dex every 10 minutes, a risk snapshot per account every 15 minutes (metrics jsonb in the shape
 * workers/risk/risk-store.ts stores), positions and their snapshots, checkpoints per shard and
 * chain, rejected logs, rules, alerts with their webhook deliveries, and two halts (one lifted).
 *
 * Deterministic: every value is a function of time and index (no randomness, no clock), so a
 * failing panel fails the same way on every run. Every account has data in the last 6 hours.
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import type { AccountMetrics } from '../../src/risk/account-metrics.ts'
import { insertAlerts, resetHalt, setHalt } from '../../src/risk/rule-store.ts'
import { isIncomplete, METRIC_NAMES, type Alert, type RuleMetrics } from '../../src/risk/rules.ts'
import { storedMetrics } from '../../workers/risk/risk-store.ts'

export type GrafanaFixture = {
  /** Accounts as the dashboards know them (the auto-mode wallet's account is its address). */
  accounts: string[]
  chains: number[]
  /** What each table received, for the test's own checks. */
  rows: Record<string, number>
}

const HOUR = 3600
const DAY = 86_400
/** How far back the data reaches. */
export const FIXTURE_DAYS = 8

type Chain = { id: number; blockSeconds: number; blockAtAnchor: number; weth: string; usdc: string }
type Dex = { chainId: number; family: string; name: string; pool: string; base: string; quote: string; baseDecimals: number; quoteDecimals: number }
type Account = { name: string; source: 'config' | 'api' | null; shard: number; wallets: string[]; equity: number; assets: [string, number][] }

function address(label: string): string {
  return '0x' + createHash('sha256').update(label).digest('hex').slice(0, 40)
}
function hash32(label: string): string {
  return '0x' + createHash('sha256').update(label).digest('hex')
}

const CHAINS: Chain[] = [
  { id: 1, blockSeconds: 12, blockAtAnchor: 21_950_000, weth: address('1:WETH'), usdc: address('1:USDC') },
  { id: 8453, blockSeconds: 2, blockAtAnchor: 27_400_000, weth: address('8453:WETH'), usdc: address('8453:USDC') },
  { id: 42161, blockSeconds: 0.25, blockAtAnchor: 314_000_000, weth: address('42161:WETH'), usdc: address('42161:USDC') },
]
const ARB = address('42161:ARB')
/** A token whose decimals() reverts: held by the auto-mode account, never priced. */
const MEME = address('8453:MEME')

function chain(id: number): Chain {
  const c = CHAINS.find((x) => x.id === id)
  if (!c) throw new Error(`no chain ${id} in the fixture`)
  return c
}

function dex(chainId: number, family: string, name: string, base?: string): Dex {
  const c = chain(chainId)
  const b = base ?? c.weth
  const quote = base ? c.weth : c.usdc
  return { chainId, family, name, pool: address(`${chainId}:${name}:pool`), base: b, quote, baseDecimals: 18, quoteDecimals: base ? 18 : 6 }
}

const DEXES: Dex[] = [
  dex(1, 'uniswap-v3', 'uniswap-v3'),
  dex(1, 'uniswap-v2', 'uniswap-v2'),
  dex(1, 'uniswap-v2', 'sushiswap'),
  dex(8453, 'uniswap-v3', 'uniswap-v3'),
  dex(8453, 'uniswap-v3', 'pancakeswap-v3'),
  dex(42161, 'uniswap-v3', 'uniswap-v3'),
  dex(42161, 'uniswap-v2', 'sushiswap', ARB),
]

const AUTO_WALLET = address('auto-trader')
const ACCOUNTS: Account[] = [
  { name: 'treasury', source: 'config', shard: 0, wallets: [address('treasury-1'), address('treasury-2')], equity: 5_000_000, assets: [['ETH', 0.55], ['USD', 0.4], ['ARB', 0.05]] },
  { name: 'market-maker', source: 'config', shard: 1, wallets: [address('mm-1')], equity: 1_200_000, assets: [['ETH', 0.7], ['USD', 0.3]] },
  { name: 'arb-desk', source: 'api', shard: 2, wallets: [address('arb-1')], equity: 350_000, assets: [['ARB', 0.72], ['ETH', 0.18], ['USD', 0.1]] },
  // Auto mode: the trader wallet is its own account, absent from the accounts table.
  { name: AUTO_WALLET, source: null, shard: 3, wallets: [AUTO_WALLET], equity: 40_000, assets: [['ETH', 1]] },
]
const OUTSIDERS = [address('outsider-1'), address('outsider-2'), address('outsider-3')]

function ethPrice(t: number): number {
  return 3000 + 180 * Math.sin(t / (9 * HOUR)) + 40 * Math.sin(t / 1700)
}
function arbPriceInEth(t: number): number {
  return 0.00026 + 0.00002 * Math.sin(t / (5 * HOUR))
}
function blockAt(c: Chain, anchor: number, t: number): number {
  return c.blockAtAnchor - Math.ceil((anchor - t) / c.blockSeconds)
}
/** `units` of a token with `decimals`, as a raw integer string (6 significant decimals kept). */
function raw(units: number, decimals: number): string {
  const micro = BigInt(Math.round(units * 1e6))
  return decimals >= 6 ? (micro * 10n ** BigInt(decimals - 6)).toString() : (micro / 10n ** BigInt(6 - decimals)).toString()
}

/** Runs `insert` with the columns of `rows` in batches (the INSERT … SELECT FROM unnest shape). */
async function insertBatched<T>(rows: T[], size: number, insert: (batch: T[]) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size))
  return rows.length
}

/** Writes the fixture. `anchor` is the latest instant of the data (unix seconds): the dashboards' "now". */
export async function seedGrafanaFixture(pool: pg.Pool, anchor: number): Promise<GrafanaFixture> {
  const rows: Record<string, number> = {}
  const start = anchor - FIXTURE_DAYS * DAY

  // --- reference tables ---------------------------------------------------------------------
  const tokens: [number, string, number | null, string | null, string | null][] = []
  for (const c of CHAINS) tokens.push([c.id, c.weth, 18, 'WETH', null], [c.id, c.usdc, 6, 'USDC', null])
  tokens.push([42161, ARB, 18, 'ARB', null], [8453, MEME, null, null, 'decimals() reverted'])
  await pool.query(
    `INSERT INTO tokens (chain_id, address, decimals, symbol, error) SELECT * FROM unnest($1::int4[], $2::text[], $3::int4[], $4::text[], $5::text[])`,
    [tokens.map((t) => t[0]), tokens.map((t) => t[1]), tokens.map((t) => t[2]), tokens.map((t) => t[3]), tokens.map((t) => t[4])],
  )
  rows.tokens = tokens.length
  await pool.query(
    `INSERT INTO pools (chain_id, address, dex_family, dex_name, token0, token1, fee, created_block)
     SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[], $8::int8[])`,
    [
      DEXES.map((d) => d.chainId),
      DEXES.map((d) => d.pool),
      DEXES.map((d) => d.family),
      DEXES.map((d) => d.name),
      DEXES.map((d) => d.base),
      DEXES.map((d) => d.quote),
      DEXES.map((d) => (d.family === 'uniswap-v3' ? 500 : null)),
      DEXES.map((d) => blockAt(chain(d.chainId), anchor, start - 30 * DAY)),
    ],
  )
  rows.pools = DEXES.length
  await pool.query(`INSERT INTO deployment (key, value) VALUES ('shards', '4')`)
  const named = ACCOUNTS.filter((a) => a.source !== null)
  await pool.query(`INSERT INTO accounts (name, source) SELECT * FROM unnest($1::text[], $2::text[])`, [named.map((a) => a.name), named.map((a) => a.source)])
  await pool.query(`INSERT INTO account_wallets (wallet, account) SELECT * FROM unnest($1::text[], $2::text[])`, [
    named.flatMap((a) => a.wallets),
    named.flatMap((a) => a.wallets.map(() => a.name)),
  ])
  rows.accounts = named.length

  // --- swaps, trades and price observations: one per dex every 10 minutes ----------------------
  type Swap = { t: number; d: Dex; i: number; block: number; trader: string; account: string | null; shard: number; amountIn: string; amountOut: string; tokenIn: string; tokenOut: string; decIn: number; decOut: number; usd: number | null; price: number }
  const swaps: Swap[] = []
  const wallets = ACCOUNTS.flatMap((a) => a.wallets.map((w) => ({ wallet: w, account: a })))
  let n = 0
  for (let t = start + 600; t <= anchor; t += 600) {
    for (const [k, d] of DEXES.entries()) {
      const at = t - k * 13 // dexes a few seconds apart
      const c = chain(d.chainId)
      const eth = ethPrice(at)
      const price = d.base === ARB ? arbPriceInEth(at) : eth // base in quote units
      const usd = 500 + ((n * 7919) % 24_000)
      const baseUnits = d.base === ARB ? usd / (price * eth) : usd / eth
      const quoteUnits = d.base === ARB ? usd / eth : usd
      const sell = n % 2 === 0 // sells base for quote
      const who = n % 3 === 0 ? wallets[n % wallets.length]! : { wallet: OUTSIDERS[n % OUTSIDERS.length]!, account: null }
      swaps.push({
        t: at,
        d,
        i: n,
        block: blockAt(c, anchor, at),
        trader: who.wallet,
        account: who.account?.name ?? null,
        shard: who.account?.shard ?? n % 4,
        tokenIn: sell ? d.base : d.quote,
        tokenOut: sell ? d.quote : d.base,
        decIn: sell ? d.baseDecimals : d.quoteDecimals,
        decOut: sell ? d.quoteDecimals : d.baseDecimals,
        amountIn: raw(sell ? baseUnits : quoteUnits, sell ? d.baseDecimals : d.quoteDecimals),
        amountOut: raw(sell ? quoteUnits : baseUnits, sell ? d.quoteDecimals : d.baseDecimals),
        // Every ninth swap has no trustworthy price: unpriced, never zero.
        usd: (n + k) % 9 === 0 ? null : usd,
        price,
      })
      n++
    }
  }
  rows.swaps = await insertBatched(swaps, 2000, (b) =>
    pool.query(
      `INSERT INTO swaps (block_time, chain_id, block_number, block_hash, tx_hash, log_index, dex_family, dex_name, pool, trader,
         sender, recipient, token_in, token_out, amount_in, amount_out, decimals_in, decimals_out, amount_usd, account, shard)
       SELECT to_timestamp(t), c, b, bh, tx, 3, fam, dn, p, tr, '0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad', tr, ti, tout, ai, ao, di, dout, usd, acc, sh
       FROM unnest($1::float8[], $2::int4[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
         $10::text[], $11::text[], $12::numeric[], $13::numeric[], $14::int4[], $15::int4[], $16::float8[], $17::text[], $18::int4[])
         AS u(t, c, b, bh, tx, fam, dn, p, tr, ti, tout, ai, ao, di, dout, usd, acc, sh)`,
      [
        b.map((s) => s.t),
        b.map((s) => s.d.chainId),
        b.map((s) => s.block),
        b.map((s) => hash32(`block:${s.d.chainId}:${s.block}`)),
        b.map((s) => hash32(`tx:${s.i}`)),
        b.map((s) => s.d.family),
        b.map((s) => s.d.name),
        b.map((s) => s.d.pool),
        b.map((s) => s.trader),
        b.map((s) => s.tokenIn),
        b.map((s) => s.tokenOut),
        b.map((s) => s.amountIn),
        b.map((s) => s.amountOut),
        b.map((s) => s.decIn),
        b.map((s) => s.decOut),
        b.map((s) => s.usd),
        b.map((s) => s.account),
        b.map((s) => s.shard),
      ],
    ),
  )
  const traded = swaps.filter((s) => s.account !== null)
  rows.trades = await insertBatched(traded, 2000, (b) =>
    pool.query(
      `INSERT INTO trades (block_time, account, shard, chain_id, block_number, tx_hash, log_index, wallet, pool, dex_name, token_in, token_out, amount_in, amount_out, amount_usd)
       SELECT to_timestamp(t), acc, sh, c, bn, tx, 3, w, p, dn, ti, tout, ai, ao, usd
       FROM unnest($1::float8[], $2::text[], $3::int4[], $4::int4[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
         $11::text[], $12::numeric[], $13::numeric[], $14::float8[]) AS u(t, acc, sh, c, bn, tx, w, p, dn, ti, tout, ai, ao, usd)`,
      [
        b.map((s) => s.t),
        b.map((s) => s.account),
        b.map((s) => s.shard),
        b.map((s) => s.d.chainId),
        b.map((s) => s.block),
        b.map((s) => hash32(`tx:${s.i}`)),
        b.map((s) => s.trader),
        b.map((s) => s.d.pool),
        b.map((s) => s.d.name),
        b.map((s) => s.tokenIn),
        b.map((s) => s.tokenOut),
        b.map((s) => s.amountIn),
        b.map((s) => s.amountOut),
        b.map((s) => s.usd),
      ],
    ),
  )
  // The pool's price after each swap (same transaction and log), as the indexers record it.
  rows.prices = await insertBatched(swaps, 2000, (b) =>
    pool.query(
      `INSERT INTO prices (block_time, chain_id, block_number, tx_hash, log_index, pool, base, quote, price, quote_depth)
       SELECT to_timestamp(t), c, bn, tx, 3, p, base, quote, price, depth
       FROM unnest($1::float8[], $2::int4[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::float8[])
         AS u(t, c, bn, tx, p, base, quote, price, depth)`,
      [
        b.map((s) => s.t),
        b.map((s) => s.d.chainId),
        b.map((s) => s.block),
        b.map((s) => hash32(`tx:${s.i}`)),
        b.map((s) => s.d.pool),
        b.map((s) => s.d.base),
        b.map((s) => s.d.quote),
        b.map((s) => s.price),
        b.map((s) => 2_000_000 + (s.i % 50) * 10_000),
      ],
    ),
  )

  // --- risk snapshots: every account every 15 minutes -------------------------------------------
  type Snapshot = { metrics: AccountMetrics; shard: number; chainId: number; block: number }
  const snapshots: Snapshot[] = []
  const latest = new Map<string, AccountMetrics>()
  for (const [ai, a] of ACCOUNTS.entries()) {
    let peak: number | null = null
    let maxDd = 0
    let maxDdPct: number | null = null
    let day: number | null = null
    let dayStart = 0
    let lastTotal = 0
    for (let t = start + 900, k = 0; t <= anchor; t += 900, k++) {
      const swing = 1 + 0.035 * Math.sin(t / (11 * HOUR) + ai) + 0.01 * Math.sin(t / 2300)
      const gross = a.equity * swing
      const exposureByAsset = [...a.assets]
        .sort((x, y) => x[0].localeCompare(y[0]))
        .map(([asset, share]) => ({ asset, grossUsd: gross * share, netUsd: gross * share * (asset === 'USD' && a.name === 'market-maker' ? -1 : 1) }))
      const net = exposureByAsset.reduce((s, x) => s + x.netUsd, 0)
      const equity = net
      const shares = exposureByAsset.map((x) => x.grossUsd / gross)
      const realized = 12.5 * k * (ai + 1)
      const unrealized = equity - a.equity * 0.98
      const total = realized + unrealized
      const d = Math.floor(t / DAY)
      if (day === null || d > day) {
        dayStart = day === null ? total : lastTotal
        day = d
      }
      lastTotal = total
      peak = peak === null ? equity : Math.max(peak, equity)
      const dd = peak - equity
      const ddPct = peak > 0 ? dd / peak : null
      maxDd = Math.max(maxDd, dd)
      maxDdPct = ddPct === null ? maxDdPct : maxDdPct === null ? ddPct : Math.max(maxDdPct, ddPct)
      const chainId = CHAINS[k % CHAINS.length]!.id
      const unpriced = a.name === AUTO_WALLET ? [{ chainId: 8453, token: MEME, quantity: '4200000000000000000000000' }] : []
      const metrics: AccountMetrics = {
        account: a.name,
        time: t,
        equityUsd: equity,
        grossExposureUsd: gross,
        netExposureUsd: net,
        unpricedPositions: unpriced.length,
        varIncomplete: unpriced.length > 0,
        largestAssetShare: Math.max(...shares),
        hhi: shares.reduce((s, x) => s + x * x, 0),
        realizedPnlUsd: realized,
        unrealizedPnlUsd: unrealized,
        totalPnlUsd: total,
        dailyPnlUsd: total - dayStart,
        drawdownUsd: dd,
        drawdownPct: ddPct,
        maxDrawdownUsd: maxDd,
        maxDrawdownPct: maxDdPct,
        var95Usd: gross * (0.041 + 0.004 * Math.sin(t / DAY)),
        var99Usd: gross * (0.066 + 0.006 * Math.sin(t / DAY)),
        es95Usd: gross * 0.058,
        es99Usd: gross * 0.087,
        parametricVar95Usd: gross * 0.039,
        parametricVar99Usd: gross * 0.055,
        swaps1m: k % 3 === 0 ? 1 : 0,
        swaps1h: 4 + (k % 5),
        swaps24h: 96 + (k % 17),
        volume1mUsd: k % 3 === 0 ? 2500 : 0,
        volume1hUsd: 11_000 + 250 * (k % 5),
        volume24hUsd: 260_000 + 1000 * (k % 17),
        varMethod: a.name === 'arb-desk' ? 'mixed' : 'historical',
        historyLength: 250,
        assetsWithoutHistory: a.name === 'arb-desk' ? ['ARB'] : [],
        exposureByToken: [],
        exposureByAsset,
        exposureByChain: CHAINS.map((c, ci) => ({ chainId: c.id, grossUsd: gross * [0.5, 0.3, 0.2][ci]!, netUsd: net * [0.5, 0.3, 0.2][ci]! })),
        unpricedTokens: unpriced,
      }
      snapshots.push({ metrics, shard: a.shard, chainId, block: blockAt(chain(chainId), anchor, t) })
      latest.set(a.name, metrics)
    }
  }
  rows.risk_snapshots = await insertBatched(snapshots, 500, (b) =>
    pool.query(
      `INSERT INTO risk_snapshots (time, account, shard, chain_id, block_number, equity_usd, gross_exposure_usd, net_exposure_usd,
         unpriced_positions, largest_asset_share, hhi, realized_pnl_usd, unrealized_pnl_usd, total_pnl_usd, daily_pnl_usd,
         drawdown_usd, drawdown_pct, max_drawdown_usd, max_drawdown_pct, var95_usd, var99_usd, es95_usd, es99_usd,
         parametric_var95_usd, parametric_var99_usd, swaps_24h, volume_24h_usd, var_method, metrics)
       SELECT to_timestamp(t), acc, sh, c, bn, (m->>'equityUsd')::float8, (m->>'grossExposureUsd')::float8, (m->>'netExposureUsd')::float8,
         (m->>'unpricedPositions')::int4, (m->>'largestAssetShare')::float8, (m->>'hhi')::float8, (m->>'realizedPnlUsd')::float8,
         (m->>'unrealizedPnlUsd')::float8, (m->>'totalPnlUsd')::float8, (m->>'dailyPnlUsd')::float8, (m->>'drawdownUsd')::float8,
         (m->>'drawdownPct')::float8, (m->>'maxDrawdownUsd')::float8, (m->>'maxDrawdownPct')::float8, (m->>'var95Usd')::float8,
         (m->>'var99Usd')::float8, (m->>'es95Usd')::float8, (m->>'es99Usd')::float8, (m->>'parametricVar95Usd')::float8,
         (m->>'parametricVar99Usd')::float8, (m->>'swaps24h')::int4, (m->>'volume24hUsd')::float8, m->>'varMethod', sm
       FROM unnest($1::float8[], $2::text[], $3::int4[], $4::int4[], $5::int8[], $6::jsonb[], $7::jsonb[]) AS u(t, acc, sh, c, bn, m, sm)`,
      [
        b.map((s) => s.metrics.time),
        b.map((s) => s.metrics.account),
        b.map((s) => s.shard),
        b.map((s) => s.chainId),
        b.map((s) => s.block),
        b.map((s) => JSON.stringify(s.metrics)),
        b.map((s) => JSON.stringify(storedMetrics(s.metrics))),
      ],
    ),
  )
  await pool.query(
    `INSERT INTO account_risk (account, shard, peak_equity_usd, max_drawdown_usd, day_start_pnl_usd, last_total_pnl_usd, computed_at, snapshot_at)
     SELECT acc, sh, pk, 0, 0, 0, $4, $4 FROM unnest($1::text[], $2::int4[], $3::float8[]) AS u(acc, sh, pk)`,
    [ACCOUNTS.map((a) => a.name), ACCOUNTS.map((a) => a.shard), ACCOUNTS.map((a) => a.equity), anchor],
  )

  // --- positions (current) and their snapshots every 6 hours ---------------------------------------
  type Position = { account: Account; chainId: number; token: string; decimals: number | null; units: number; cost: number; realized: number; price: (t: number) => number | null }
  const positions: Position[] = []
  for (const a of ACCOUNTS) {
    for (const [asset, share] of a.assets) {
      const c = asset === 'ARB' ? chain(42161) : a.shard % 2 === 0 ? chain(1) : chain(8453)
      const token = asset === 'ETH' ? c.weth : asset === 'USD' ? c.usdc : ARB
      const price = (t: number) => (asset === 'ETH' ? ethPrice(t) : asset === 'USD' ? 1 : arbPriceInEth(t) * ethPrice(t))
      const value = a.equity * share
      positions.push({ account: a, chainId: c.id, token, decimals: asset === 'USD' ? 6 : 18, units: value / price(anchor), cost: value * 0.98, realized: value * 0.004, price })
    }
    if (a.name === AUTO_WALLET) positions.push({ account: a, chainId: 8453, token: MEME, decimals: null, units: 4_200_000, cost: 900, realized: 0, price: () => null })
  }
  const lastBlock = (chainId: number) => chain(chainId).blockAtAnchor
  await pool.query(
    `INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, unpriced_cost, updated_block, updated_at)
     SELECT acc, c, tok, sh, q, cost, rp, false, bn, to_timestamp($9)
     FROM unnest($1::text[], $2::int4[], $3::text[], $4::int4[], $5::numeric[], $6::float8[], $7::float8[], $8::int8[]) AS u(acc, c, tok, sh, q, cost, rp, bn)`,
    [
      positions.map((p) => p.account.name),
      positions.map((p) => p.chainId),
      positions.map((p) => p.token),
      positions.map((p) => p.account.shard),
      positions.map((p) => raw(p.units, p.decimals ?? 18)),
      positions.map((p) => p.cost),
      positions.map((p) => p.realized),
      positions.map((p) => lastBlock(p.chainId)),
      anchor,
    ],
  )
  rows.positions = positions.length
  const positionSnapshots = positions.flatMap((p) => {
    const out: { p: Position; t: number }[] = []
    for (let t = start + 6 * HOUR; t <= anchor; t += 6 * HOUR) out.push({ p, t })
    return out
  })
  rows.position_snapshots = await insertBatched(positionSnapshots, 2000, (b) =>
    pool.query(
      `INSERT INTO position_snapshots (time, account, shard, chain_id, token, block_number, quantity, cost_usd, realized_pnl_usd, price_usd)
       SELECT to_timestamp(t), acc, sh, c, tok, bn, q, cost, rp, price
       FROM unnest($1::float8[], $2::text[], $3::int4[], $4::int4[], $5::text[], $6::int8[], $7::numeric[], $8::float8[], $9::float8[], $10::float8[])
         AS u(t, acc, sh, c, tok, bn, q, cost, rp, price)`,
      [
        b.map((x) => x.t),
        b.map((x) => x.p.account.name),
        b.map((x) => x.p.account.shard),
        b.map((x) => x.p.chainId),
        b.map((x) => x.p.token),
        b.map((x) => blockAt(chain(x.p.chainId), anchor, x.t)),
        b.map((x) => raw(x.p.units, x.p.decimals ?? 18)),
        b.map((x) => x.p.cost),
        b.map((x) => x.p.realized),
        b.map((x) => x.p.price(x.t)),
      ],
    ),
  )

  // --- checkpoints: every shard on every chain, shard 3 lagging ---------------------------------------
  const checkpoints = [0, 1, 2, 3].flatMap((shard) => CHAINS.map((c) => ({ shard, c, block: c.blockAtAnchor - (shard === 3 ? 40 : shard) })))
  await pool.query(
    `INSERT INTO checkpoints (shard, chain_id, last_block, last_block_hash, updated_at)
     SELECT sh, c, b, h, to_timestamp(t) FROM unnest($1::int4[], $2::int4[], $3::int8[], $4::text[], $5::float8[]) AS u(sh, c, b, h, t)`,
    [
      checkpoints.map((x) => x.shard),
      checkpoints.map((x) => x.c.id),
      checkpoints.map((x) => x.block),
      checkpoints.map((x) => hash32(`block:${x.c.id}:${x.block}`)),
      checkpoints.map((x) => anchor - (x.shard === 3 ? 480 : 2 + x.shard)),
    ],
  )
  rows.checkpoints = checkpoints.length

  // --- rejected logs: kept, never dropped ----------------------------------------------------------
  const rejected: [number, number, string][] = [
    [1, anchor - 3 * DAY, 'Swap data is 64 bytes, expected 128 (uniswap-v3 Swap)'],
    [1, anchor - 2 * DAY - 5 * HOUR, 'Swap data is 64 bytes, expected 128 (uniswap-v3 Swap)'],
    [8453, anchor - 20 * HOUR, 'amount0In and amount1In both zero (uniswap-v2 Swap)'],
    [1, anchor - 5 * HOUR, 'Swap data is 64 bytes, expected 128 (uniswap-v3 Swap)'],
    [42161, anchor - 2 * HOUR, 'amount0In and amount1In both zero (uniswap-v2 Swap)'],
    [42161, anchor - 25 * 60, 'topic count 2, expected 3 (uniswap-v2 Swap)'],
  ]
  await pool.query(
    `INSERT INTO rejected_logs (chain_id, block_number, block_hash, tx_hash, log_index, address, topics, data, reason, seen_at)
     SELECT c, b, bh, tx, 7, a, ARRAY['0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67'], '0x', r, to_timestamp(t)
     FROM unnest($1::int4[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[]) AS u(c, b, bh, tx, a, r, t)`,
    [
      rejected.map((r) => r[0]),
      rejected.map((r) => blockAt(chain(r[0]), anchor, r[1])),
      rejected.map((r) => hash32(`block:${r[0]}:${r[1]}`)),
      rejected.map((r, i) => hash32(`rejected:${i}`)),
      rejected.map((r) => DEXES.find((d) => d.chainId === r[0])!.pool),
      rejected.map((r) => r[2]),
      rejected.map((r) => r[1]),
    ],
  )
  rows.rejected_logs = rejected.length

  // --- rules, alerts (through the product's writer), halts, webhook deliveries ---------------------
  await pool.query(
    `INSERT INTO rules (id, account, metric, op, threshold, severity, cooldown_seconds, hysteresis, action) VALUES
       ('var99-limit', '', 'var99Usd', 'above', 60000, 'warning', 300, 1000, 'alert'),
       ('drawdown-pct', '', 'drawdownPct', 'above', 0.02, 'critical', 300, 0.005, 'alert'),
       ('gross-kill', 'arb-desk', 'grossExposureUsd', 'above', 340000, 'critical', 300, 0, 'halt'),
       ('gross-kill', 'market-maker', 'grossExposureUsd', 'above', 1200000, 'critical', 300, 0, 'halt'),
       ('unpriced-positions', '', 'unpricedPositions', 'above', 0, 'info', 300, 0, 'alert')`,
  )
  const alerts: Alert[] = []
  const rule = {
    'var99-limit': { metric: 'var99Usd', op: 'above', threshold: 60_000, hysteresis: 1000, severity: 'warning', action: 'alert' },
    'drawdown-pct': { metric: 'drawdownPct', op: 'above', threshold: 0.02, hysteresis: 0.005, severity: 'critical', action: 'alert' },
    'gross-kill': { metric: 'grossExposureUsd', op: 'above', threshold: 340_000, hysteresis: 0, severity: 'critical', action: 'halt' },
    'unpriced-positions': { metric: 'unpricedPositions', op: 'above', threshold: 0, hysteresis: 0, severity: 'info', action: 'alert' },
  } as const
  const event = (account: Account, ruleId: keyof typeof rule, firedAt: number, resolvedAt: number | null) => {
    const r = rule[ruleId]
    for (const [state, time] of [['firing', firedAt], ['resolved', resolvedAt]] as const) {
      if (time === null) continue
      const m = metricsNear(account.name, time)
      const rm = Object.fromEntries(METRIC_NAMES.map((name) => [name, m[name]])) as RuleMetrics
      const chainId = CHAINS[Math.floor(firedAt / 60) % 3]!.id
      alerts.push({
        id: `${ruleId}:${account.name}:${firedAt}`,
        account: account.name,
        ruleId,
        metric: r.metric,
        op: r.op,
        threshold: r.threshold,
        hysteresis: r.hysteresis,
        severity: r.severity,
        action: r.action,
        state,
        value: rm[r.metric] ?? 0,
        incomplete: isIncomplete(r.metric, rm),
        time,
        firedAt,
        chainId,
        block: BigInt(blockAt(chain(chainId), anchor, time)),
        metrics: rm,
      })
    }
  }
  const metricsNear = (account: string, t: number): AccountMetrics => {
    const found = snapshots.filter((s) => s.metrics.account === account && s.metrics.time <= t).at(-1) ?? snapshots.find((s) => s.metrics.account === account)
    if (!found) throw new Error(`no snapshot of ${account}`)
    return found.metrics
  }
  const [treasury, mm, arbDesk, auto] = ACCOUNTS as [Account, Account, Account, Account]
  // Older history: one VaR breach per account, resolved after 3 hours.
  for (const [i, a] of ACCOUNTS.entries()) event(a, 'var99-limit', anchor - 5 * DAY + i * HOUR, anchor - 5 * DAY + i * HOUR + 3 * HOUR)
  // market-maker tripped its kill switch 4 days ago; someone reset it.
  event(mm, 'gross-kill', anchor - 4 * DAY, anchor - 4 * DAY + 2 * HOUR)
  // Last hours: every account has an alert; three are still firing.
  event(treasury, 'drawdown-pct', anchor - 2 * HOUR, anchor - HOUR)
  event(mm, 'drawdown-pct', anchor - 100 * 60, null)
  event(arbDesk, 'gross-kill', anchor - 3 * HOUR, null)
  event(auto, 'unpriced-positions', anchor - 4 * HOUR, null)
  alerts.sort((x, y) => x.time - y.time)
  rows.alerts = await insertAlerts(pool, alerts)

  const halt = (a: Alert) => ({ account: a.account, ruleId: a.ruleId, alertId: a.id, reason: `${a.metric} ${a.value} ${a.op} ${a.threshold} (rule ${a.ruleId})`, time: a.time, chainId: a.chainId, block: a.block })
  const halts = alerts.filter((a) => a.action === 'halt' && a.state === 'firing')
  for (const h of halts) await setHalt(pool, halt(h))
  await resetHalt(pool, mm.name, 'ops@risk-desk')
  rows.account_halts = halts.length

  await pool.query(`INSERT INTO webhook_endpoints (id, account, url, secret) VALUES ('ep-risk-desk', NULL, 'https://hooks.example.com/dexrisk', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`)
  const deliveries = alerts.map((a, i) => {
    const status = a.account === AUTO_WALLET && a.state === 'firing' ? 'dead' : a.ruleId === 'drawdown-pct' && a.account === mm.name ? 'pending' : 'delivered'
    return { a, i, status }
  })
  await pool.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, type, payload, event_at, status, dead_reason, attempts, last_status, last_error, created_at, updated_at, delivered_at)
     SELECT id, 'ep-risk-desk', ty, p, to_timestamp(t), st,
       CASE st WHEN 'dead' THEN 'rejected' END,
       CASE st WHEN 'delivered' THEN 1 WHEN 'dead' THEN 1 ELSE 3 END,
       CASE st WHEN 'delivered' THEN 200 WHEN 'dead' THEN 410 END,
       CASE st WHEN 'dead' THEN 'HTTP 410 Gone' WHEN 'pending' THEN 'timeout after 10000 ms' END,
       to_timestamp(t + 1), to_timestamp(t + 2), CASE st WHEN 'delivered' THEN to_timestamp(t + 2) END
     FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::float8[], $5::text[]) AS u(id, ty, p, t, st)`,
    [
      deliveries.map((d) => `msg_${hash32(`delivery:${d.i}`).slice(2, 26)}`),
      deliveries.map((d) => `alert.${d.a.state}`),
      deliveries.map((d) => JSON.stringify({ type: `alert.${d.a.state}`, timestamp: new Date(d.a.time * 1000).toISOString(), data: { ...d.a, block: d.a.block.toString() } })),
      deliveries.map((d) => d.a.time),
      deliveries.map((d) => d.status),
    ],
  )
  rows.webhook_deliveries = deliveries.length

  return { accounts: ACCOUNTS.map((a) => a.name), chains: CHAINS.map((c) => c.id), rows }
}
