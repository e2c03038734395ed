/**
 * End-to-end pipeline benchmark: real ABI-encoded Uniswap V2/V3 logs → decodeRange → routeRange +
 * BullMQ (createBatchPublisher, Redis at REDIS_URL or 127.0.0.1:6379) → one createRiskWorker per
 * shard in this process → writeBatchEffects into the embedded TimescaleDB (pool of one), as
 * `dexrisk run` does in embedded mode. Prints swaps/s end to end, decode-only swaps/s, per-batch
 * latency percentiles, a per-stage breakdown, and checks what was written.
 *
 *   npm run bench -- --swaps 200000 --shards 2
 *
 * A command that prints figures; never part of the tests.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type pg from 'pg'
import type { Address } from 'viem'
import { createCommon, createLogger } from '../src/common.ts'
import { parseConfig } from '../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { assertTimescale, createPool } from '../src/db/pool.ts'
import { connectRedis } from '../src/db/redis.ts'
import { createAccountResolver } from '../src/domain/accounts.ts'
import { decodeRange, type DecodedRange } from '../src/indexer/decode-range.ts'
import type { DecodeContext } from '../src/indexer/family.ts'
import { decodeBatch, encodeBatch, type EncodedBatch } from '../src/queue/batch.ts'
import { createBatchPublisher, routeRange } from '../src/queue/publisher.ts'
import { shardOf } from '../src/queue/shard-of.ts'
import { waitForCheckpoints } from '../src/runtime/wait-for-checkpoints.ts'
import { computeBatch, emptyShardState, type ShardState } from '../workers/risk/apply-batch.ts'
import { PriceCache } from '../workers/risk/price-cache.ts'
import { computeRisk, type RiskContext } from '../workers/risk/risk-engine.ts'
import { commitShardBatch } from '../workers/risk/shard-setup.ts'
import { emptyRiskState } from '../workers/risk/risk-store.ts'
import { createAssetIndex } from '../workers/risk/resolve-price.ts'
import { DEFAULT_RULES } from '../src/risk/rules.ts'
import { createRiskWorker, type BatchApplied, type RiskWorker } from '../workers/risk/risk-worker.ts'
import { startCpuProfile } from './cpu-profile.ts'
import { generateStream, type Stream } from './generate.ts'
import { fmt, percentile, sum } from './stats.ts'
import { deleteKeys } from './delete-keys.ts'

const CHAIN_ID = 1
const FIRST_BLOCK = 20_000_000n

const { values: args } = parseArgs({
  options: {
    swaps: { type: 'string', default: '200000' },
    shards: { type: 'string', default: '2' },
    pools: { type: 'string', default: '50' },
    wallets: { type: 'string', default: '2000' },
    'per-block': { type: 'string', default: '100' },
    'range-blocks': { type: 'string', default: '20' },
    window: { type: 'string', default: '2' },
    'data-dir': { type: 'string' },
    memory: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    sql: { type: 'boolean', default: false },
    preload: { type: 'string', default: '0' },
    crash: { type: 'string', default: 'LINK' },
    help: { type: 'boolean', default: false },
  },
})

if (args.help) {
  console.log(`npm run bench -- [options]
  --swaps N          swaps in the stream (default 200000)
  --shards N         shards, one worker each, all in this process (default 2)
  --pools N          pools over 10 tokens, V2 and V3 alternating (default 50)
  --wallets N        trader wallets, accounts: 'auto' (default 2000)
  --per-block N      swaps per block (default 100)
  --range-blocks N   blocks per range: one batch per shard per range (default 20)
  --window N         ranges in flight before the producer waits (default 2; 0: no limit)
  --data-dir DIR     embedded database folder (default: a fresh temp folder, removed after)
  --memory           embedded database in memory instead of a folder
  --seed N           stream seed (default 1)
  --preload N        accounts already holding the stream's crash token (and USDC) when it starts,
                     with prices known, as a running deployment holds them (default 0)
  --crash SYMBOL     the token whose price halves at three quarters of the stream ('none': no
                     crash); the bench counts the preloaded holders it alerts (default LINK)
  --sql              time every SQL statement the workers run, and print the total per statement
  --profile          sample the timed section with the V8 profiler and print time per stage
                     (the profiler itself slows the run by a few per cent)`)
  process.exit(0)
}

const int = (name: keyof typeof args): number => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: a whole number, got ${String(args[name])}`)
  return n
}
const opts = {
  swaps: int('swaps'),
  shards: int('shards'),
  pools: int('pools'),
  wallets: int('wallets'),
  perBlock: int('per-block'),
  rangeBlocks: int('range-blocks'),
  window: int('window'),
  seed: int('seed'),
  preload: int('preload'),
}
const out = (s = ''): void => void process.stdout.write(`${s}\n`)
const now = (): number => performance.now()

async function main(): Promise<number> {
  const cpu = cpus()
  out(`dexrisk pipeline bench — ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  out(`  ${fmt(opts.swaps)} swaps, ${opts.pools} pools, ${opts.wallets} wallets (accounts: auto), ${opts.perBlock} swaps/block, ${opts.rangeBlocks} blocks/range, ${opts.shards} shards, window ${opts.window || 'unbounded'}`)

  let t = now()
  const stream = generateStream({
    swaps: opts.swaps,
    pools: opts.pools,
    wallets: opts.wallets,
    swapsPerBlock: opts.perBlock,
    blocksPerRange: opts.rangeBlocks,
    firstBlock: FIRST_BLOCK,
    chainId: CHAIN_ID,
    seed: opts.seed,
    ...(args.crash === 'none' ? {} : { crash: { symbol: args.crash, atFraction: 0.75, factor: 0.5 } }),
  })
  out(`  generated ${fmt(stream.swaps)} swaps in ${fmt(stream.logs)} logs, ${stream.ranges.length} ranges (viem ABI encoder) in ${((now() - t) / 1000).toFixed(1)} s — not timed`)
  const ctx: DecodeContext = {
    chainId: CHAIN_ID,
    token: (a) => stream.tokens.get(a),
    txFrom: (h) => stream.txFrom.get(h),
    blockTime: (n) => stream.blockTime.get(n),
  }

  // Decode alone, over the same logs (also warms the decoder, as a running indexer would be).
  t = now()
  let decodedSwaps = 0
  for (const r of stream.ranges) {
    const d = decodeRange(r.logs, stream.pools, ctx)
    if (d.rejected.length > 0) throw new Error(`decoder rejected ${d.rejected.length} logs: ${d.rejected[0]!.error.message}`)
    decodedSwaps += d.swaps.length
  }
  const decodeOnlyMs = now() - t
  if (decodedSwaps !== stream.swaps) throw new Error(`decoded ${decodedSwaps} swaps, generated ${stream.swaps}`)

  if (args['data-dir'] && (await readdir(args['data-dir']).catch(() => [])).length > 0)
    throw new Error(`--data-dir ${args['data-dir']}: not empty; the bench checks what it wrote, so it needs a fresh folder`)
  const tmp = args.memory || args['data-dir'] ? undefined : await mkdtemp(join(tmpdir(), 'dexrisk-bench-'))
  const dataDir = args.memory ? undefined : (args['data-dir'] ?? tmp)
  const prefix = `dexrisk-bench-${process.pid}-${Date.now()}`
  const log = createLogger({ level: process.env.DEXRISK_LOG_LEVEL ?? 'warn' })
  // A TimescaleDB server when DATABASE_URL names one: a database of the bench's own on it, dropped
  // after; else the embedded database, as `dexrisk run` chooses.
  const server = process.env.DATABASE_URL ? await serverDatabase(process.env.DATABASE_URL, `dexrisk_bench_${process.pid}`, log) : undefined
  const embedded = server ? undefined : await startEmbeddedDatabase({ dataDir, log })
  const dbUrl = server?.url ?? embedded!.url
  const pool = createPool({ url: dbUrl, max: server ? Math.max(2, opts.shards + 1) : 1, log })
  out(`  database         ${server ? `TimescaleDB server (DATABASE_URL), database ${server.name}, pool of ${Math.max(2, opts.shards + 1)}` : `embedded (its own thread), ${dataDir ?? 'in memory'}, pool of one`}`)
  const sqlTimes = args.sql ? timeStatements(pool) : undefined
  const redis = await connectRedis({ url: process.env.REDIS_URL, startIfMissing: true, log })
  // Run in order: workers and publisher (added in front below), then the database, then Redis.
  const cleanups: (() => Promise<unknown>)[] = [
    () => pool.end(),
    async () => (server ? server.drop() : embedded!.stop()),
    async () => (tmp ? rm(tmp, { recursive: true, force: true }) : undefined),
    () => deleteKeys(redis.url, prefix),
    () => redis.stop(),
  ]
  try {
    await assertTimescale(pool, { log })
    await migrate(pool, { log })
    await seed(pool, stream, opts.shards)
    const rssBefore = process.memoryUsage().rss
    const heapBefore = heapAfterGc()
    const holders = opts.preload > 0 ? await preload(pool, stream, opts.preload, opts.shards) : undefined
    if (holders) out(`  preloaded ${fmt(opts.preload)} accounts, ${fmt(holders.positions.size)} positions, prices seeded in ${fmt(holders.ms)} ms — not timed`)

    const config = parseConfig(
      {
        chains: {
          bench: {
            id: CHAIN_ID,
            rpcUrls: ['http://127.0.0.1:8545'],
            dexes: [
              { family: 'uniswap-v2', factory: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f', startBlock: 0 },
              { family: 'uniswap-v3', factory: '0x1f98431c8ad98523631ae4a59f267346ea31f984', startBlock: 0 },
            ],
            stablecoins: stream.stablecoins,
            pivots: stream.pivots,
          },
        },
        accounts: 'auto',
        shards: opts.shards,
        database: { url: dbUrl },
        redis: { url: redis.url },
        queue: { prefix },
      },
      {},
    )
    const common = createCommon(config, { log })

    // Per (shard, range): when its range was handed to publish(), and when its transaction committed.
    const publishedAt = new Map<string, number>()
    const latencies: number[] = []
    const applied: (BatchApplied & { at: number })[] = []
    let lastCommit = 0
    let pending = 0
    let wake: (() => void) | undefined
    const onBatchApplied = (b: BatchApplied): void => {
      const at = now()
      const key = `${b.shard}:${b.fromBlock}`
      const sent = publishedAt.get(key)
      if (sent !== undefined) latencies.push(at - sent)
      applied.push({ ...b, at })
      lastCommit = at
      pending--
      wake?.()
    }
    // A shard that stops on a batch it cannot apply ends the run with its error.
    let fatal: Error | undefined
    let failRun: (err: Error) => void = () => {}
    const failed = new Promise<never>((_, reject) => (failRun = reject))
    failed.catch(() => {})
    const onFatal = (err: Error): void => {
      fatal ??= err
      failRun(err)
      wake?.()
    }
    const workers: RiskWorker[] = []
    cleanups.unshift(() => Promise.all(workers.map((w) => w.close())))
    t = now()
    for (let shard = 0; shard < opts.shards; shard++)
      workers.push(await createRiskWorker({ common, shard, pool, redisUrl: redis.url, onBatchApplied, onFatal }))
    await Promise.all(workers.map((w) => w.ready()))
    const rssLoaded = process.memoryUsage().rss
    const heapLoaded = heapAfterGc()
    if (holders) out(`  workers loaded and armed the preloaded accounts in ${fmt(now() - t)} ms — not timed`)
    const publisher = createBatchPublisher({ redisUrl: redis.url, prefix, shards: opts.shards, accounts: createAccountResolver('auto') })
    cleanups.unshift(() => publisher.close())
    await Promise.all(Array.from({ length: opts.shards }, (_, s) => publisher.queue(s).waitUntilReady()))

    // Timed: decode, route and enqueue every range; the workers consume in this same process.
    let decodeMs = 0
    let publishMs = 0
    const stopProfile = args.profile ? await startCpuProfile() : undefined
    const start = now()
    for (const r of stream.ranges) {
      while (opts.window > 0 && pending >= opts.window * opts.shards && !fatal) await new Promise<void>((resolve) => (wake = resolve))
      if (fatal) throw fatal
      let t0 = now()
      const d: DecodedRange = decodeRange(r.logs, stream.pools, ctx)
      decodeMs += now() - t0
      t0 = now()
      for (let s = 0; s < opts.shards; s++) publishedAt.set(`${s}:${r.fromBlock}`, t0)
      pending += opts.shards
      await publisher.publish({ chainId: CHAIN_ID, fromBlock: r.fromBlock, toBlock: r.toBlock, toBlockHash: r.toBlockHash, toBlockTime: stream.blockTime.get(r.toBlock) ?? null, swaps: d.swaps, prices: d.prices, generation: 1 })
      publishMs += now() - t0
    }
    const producedAt = now()
    await Promise.race([waitForCheckpoints(workers, new Map([[CHAIN_ID, stream.lastBlock]]), 30 * 60_000), failed])
    const elapsed = (lastCommit || now()) - start
    const profile = await stopProfile?.()

    const rssEnd = process.memoryUsage().rss
    const written = await counts(pool)
    const trades = await accountTrades(pool)
    const positionsOk = await checkPositions(pool, stream, holders?.positions)
    const crash = stream.crash ? await crashAlerts(pool, holders?.crossing ?? new Set()) : undefined
    const writeMs = applied.map((a) => a.writeMs)
    const swapsPerSec = stream.swaps / (elapsed / 1000)

    out()
    out(`end to end (decode → queue → workers → TimescaleDB, one process, ${server ? 'a TimescaleDB server' : 'embedded database, pool of one'})`)
    out(`  swaps            ${fmt(stream.swaps)}`)
    out(`  elapsed          ${(elapsed / 1000).toFixed(2)} s (producer done at ${((producedAt - start) / 1000).toFixed(2)} s)`)
    out(`  throughput       ${fmt(swapsPerSec)} swaps/s end to end`)
    out(`  decode only      ${fmt(stream.swaps / (decodeOnlyMs / 1000))} swaps/s (decodeRange over the same ${fmt(stream.logs)} logs, ${fmt(decodeOnlyMs)} ms)`)
    out(`  batches          ${applied.length} (${stream.ranges.length} ranges × ${opts.shards} shards), ~${fmt(stream.swaps / applied.length)} swaps each`)
    out(`  batch latency    p50 ${fmt(percentile(latencies, 50))} ms, p90 ${fmt(percentile(latencies, 90))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(Math.max(...latencies))} ms (publish() called → its statement committed)`)
    out(`  batch write      p50 ${fmt(percentile(writeMs, 50))} ms, p90 ${fmt(percentile(writeMs, 90))} ms, max ${fmt(Math.max(...writeMs))} ms (the batch's one statement, incl. waiting for a pool connection)`)
    const rows = sum(Object.values(written)) - (holders?.positions.size ?? 0)
    out(`  rows written     ${Object.entries(written).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}${holders ? ` (positions include the ${fmt(holders.positions.size)} preloaded)` : ''}`)
    out(`                   ${fmt(rows)} rows, ${(rows / stream.swaps).toFixed(2)} rows per swap, ${fmt(rows / (elapsed / 1000))} rows/s`)
    out(`  memory (RSS)     ${mib(rssBefore)} before the workers, ${mib(rssLoaded)} loaded, ${mib(rssEnd)} at the end${holders ? `; ${fmt((rssLoaded - rssBefore) / holders.positions.size)} bytes per preloaded position (loaded and armed, whole process)` : ''}`)
    if (heapBefore !== null && heapLoaded !== null)
      out(`  memory (heap)    ${mib(heapLoaded - heapBefore)} held after loading and arming (after a full GC)${holders ? `: ${fmt((heapLoaded - heapBefore) / holders.positions.size)} bytes per preloaded position, everything a shard keeps of its accounts included` : ''}`)
    if (crash && holders)
      out(`  crash            ${args.crash} halved at block ${stream.crash!.block}: ${fmt(crash.alerted)} of ${fmt(crash.expected)} preloaded holders it crosses alerted (default.drawdown), ${fmt(crash.unexpected)} others`)
    else if (stream.crash) out(`  crash            ${args.crash} halved at block ${stream.crash.block} (no preloaded holders to count)`)
    out()
    out('where the time goes (one main thread runs all of it; Redis is its own process)')
    const row = (name: string, ms: number, note = ''): void =>
      out(`  ${name.padEnd(66)} ${fmt(ms).padStart(7)} ms ${fmt((100 * ms) / elapsed).padStart(4)} %  ${note}`.trimEnd())
    row('decode, in the run', decodeMs, `${fmt(stream.swaps / (decodeMs / 1000))} swaps/s`)
    row('publish() awaited, in the run (route, encode, Redis round trips)', publishMs)
    // Embedded, the pool's one connection serializes the shards' statements; count the time one is in flight.
    const dbOpen = unionLength(applied.map((a) => [a.at - a.writeMs, a.at] as const))
    row('a batch statement in flight (wall time, other work interleaves)', dbOpen)
    if (profile) {
      out('  CPU profile of the timed section (--profile), by stage:')
      for (const [stage, ms] of profile) row(`  ${stage}`, ms)
    }
    if (sqlTimes) {
      out('  SQL statements (--sql; summed time from send to answer, first 72 characters):')
      for (const [sql, ms] of [...sqlTimes].sort((a, b) => b[1] - a[1]).slice(0, 12)) row(`  ${sql}`, ms)
    }
    out('  the in-process stages replayed apart on the same data, single-threaded:')
    for (const [name, ms] of Object.entries(stageCosts(stream, opts.shards))) row(`  ${name}`, ms, `${fmt(stream.swaps / (ms / 1000))} swaps/s`)
    out()
    const ok = written.swaps === stream.swaps && trades === stream.swaps && positionsOk.mismatches === 0 && (crash === undefined || (crash.alerted === crash.expected && crash.unexpected === 0))
    out(`check: count(*) FROM swaps = ${fmt(written.swaps)} (generated ${fmt(stream.swaps)}); account_trades ${fmt(trades)}; positions ${fmt(positionsOk.checked)} checked to the wei against the generated flows, ${positionsOk.mismatches} mismatches → ${ok ? 'OK' : 'FAILED'}`)
    return ok ? 0 : 1
  } finally {
    for (const c of cleanups) await c().catch((err: unknown) => out(`cleanup: ${String(err)}`))
  }
}

/**
 * A fresh database on a TimescaleDB server for the run (the bench checks every row it wrote, so it
 * needs an empty one), created through the server's URL and dropped at the end.
 */
async function serverDatabase(url: string, name: string, log: ReturnType<typeof createLogger>): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = createPool({ url, max: 1, log })
  try {
    await assertTimescale(admin, { log })
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const u = new URL(url)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    name,
    async drop() {
      const a = createPool({ url, max: 1, log })
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await a.end()
      }
    },
  }
}

/** What the indexer would have stored before the first range: tokens, pools, each shard's checkpoint. */
async function seed(pool: pg.Pool, stream: Stream, shards: number): Promise<void> {
  const tokens = [...stream.tokens.values()]
  await pool.query(
    `INSERT INTO tokens (chain_id, address, decimals, symbol) SELECT $1, a, d, s FROM unnest($2::text[], $3::int4[], $4::text[]) AS u(a, d, s)`,
    [CHAIN_ID, tokens.map((t) => t.address), tokens.map((t) => t.decimals), tokens.map((t) => t.symbol)],
  )
  const pools = [...stream.pools.values()]
  await pool.query(
    `INSERT INTO pools (chain_id, address, dex_family, dex_name, token0, token1, fee, created_block)
     SELECT $1, a, f, n, t0, t1, fee, b FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[], $8::int8[]) AS u(a, f, n, t0, t1, fee, b)`,
    [
      CHAIN_ID,
      pools.map((p) => p.address),
      pools.map((p) => p.dex.family),
      pools.map((p) => p.dex.name),
      pools.map((p) => p.token0),
      pools.map((p) => p.token1),
      pools.map((p) => p.fee),
      pools.map((p) => p.createdBlock.toString()),
    ],
  )
  await pool.query(
    `INSERT INTO checkpoints (shard, chain_id, last_block) SELECT s, $1, $2 FROM generate_series(0, $3 - 1) AS s ON CONFLICT (shard, chain_id) DO NOTHING`,
    [CHAIN_ID, (FIRST_BLOCK - 1n).toString(), shards],
  )
}

type Counts = Record<'swaps' | 'trades' | 'prices' | 'position_snapshots' | 'positions' | 'risk_snapshots' | 'account_risk' | 'alerts', number>

/** Rows of each table the run writes (in 'auto' mode `trades` stays empty: a trade is its swap row, marked). */
async function counts(pool: pg.Pool): Promise<Counts> {
  const tables: (keyof Counts)[] = ['swaps', 'trades', 'prices', 'position_snapshots', 'positions', 'risk_snapshots', 'account_risk', 'alerts']
  const r = await pool.query<Record<string, string>>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(', ')}`)
  return Object.fromEntries(Object.entries(r.rows[0]!).map(([k, v]) => [k, Number(v)])) as Counts
}

/** Every account's trades, in whichever form they were written (account_trades). */
async function accountTrades(pool: pg.Pool): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM account_trades')).rows[0]!.n)
}

/** Every (account, token) position equals the trader's generated net flow (or its preloaded holding), to the wei. */
async function checkPositions(pool: pg.Pool, stream: Stream, preloaded = new Map<string, bigint>()): Promise<{ checked: number; mismatches: number }> {
  const r = await pool.query<{ account: string; token: string; quantity: string }>('SELECT account, token, quantity::text FROM positions WHERE chain_id = $1', [CHAIN_ID])
  const held = new Map(r.rows.map((p) => [`${p.account}|${p.token}`, BigInt(p.quantity)]))
  const expected = new Map([...stream.expected, ...preloaded])
  let mismatches = 0
  for (const [key, q] of expected) if ((held.get(key) ?? 0n) !== q) mismatches++
  for (const key of held.keys()) if (!expected.has(key)) mismatches++
  return { checked: expected.size, mismatches }
}

/**
 * Accounts holding the crash token when the stream starts, as a running deployment holds them:
 * positions rows (each shard loads its own), and the price cache and each asset's latest price
 * at the stream's start prices (what a shard that had been following the chain would have). Holder
 * i holds 1,500 USD of the token, and USDC as a cushion: none (i % 100 = 0: drawdown 50% when the
 * token halves), 1,500 USD (i % 100 = 1: 25%), else 6,000 USD (10%). So the crash crosses the
 * default 20% drawdown rule for 2% of them, far from the threshold either way.
 */
async function preload(pool: pg.Pool, stream: Stream, n: number, shards: number): Promise<{ positions: Map<string, bigint>; crossing: Set<string>; ms: number }> {
  const started = now()
  const token = stream.crash?.token ?? [...stream.tokens.keys()].find((a) => !stream.stablecoins.includes(a) && !stream.pivots.includes(a))!
  const usdc = stream.stablecoins[0]!
  const raw = (a: Address, usd: number): bigint => BigInt(Math.round(usd / stream.startUsd.get(a)!)) * 10n ** BigInt(stream.tokens.get(a)!.decimals ?? 18)
  const positions = new Map<string, bigint>()
  const crossing = new Set<string>()
  const first = stream.blockTime.get(FIRST_BLOCK)!
  for (let from = 0; from < n; from += 50_000) {
    const rows: { account: string; token: Address; q: bigint; cost: number }[] = []
    for (let i = from; i < Math.min(n, from + 50_000); i++) {
      const account = holderAddress(i)
      const cushion = i % 100 === 0 ? 0 : i % 100 === 1 ? 1_500 : 6_000
      if (cushion < 3_000) crossing.add(account)
      rows.push({ account, token, q: raw(token, 1_500), cost: 1_500 })
      if (cushion > 0) rows.push({ account, token: usdc, q: raw(usdc, cushion), cost: cushion })
    }
    for (const r of rows) positions.set(`${r.account}|${r.token}`, r.q)
    await pool.query(
      `INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, unpriced_cost, updated_block, updated_at)
       SELECT acc, $1, tok, sh, q, c, 0, false, $2, now() FROM unnest($3::text[], $4::text[], $5::int4[], $6::numeric[], $7::float8[]) AS u(acc, tok, sh, q, c)`,
      [CHAIN_ID, (FIRST_BLOCK - 1n).toString(), rows.map((r) => r.account), rows.map((r) => r.token), rows.map((r) => shardOf(r.account, shards)), rows.map((r) => r.q.toString()), rows.map((r) => r.cost)],
    )
  }
  // Every shard's price cache and return history, as of the stream's start prices.
  const cache = new PriceCache({ stablecoins: new Set(stream.stablecoins), pivots: new Set(stream.pivots) })
  const priced = [...stream.tokens.keys()].filter((a) => a !== usdc)
  for (const [i, a] of priced.entries())
    cache.observe({ chainId: CHAIN_ID, pool: usdc, blockNumber: FIRST_BLOCK - 1n, blockTime: first - 12, txHash: `0x${i.toString(16).padStart(64, '0')}`, logIndex: i, base: a, quote: usdc, price: stream.startUsd.get(a)!, quoteDepth: 1e9 })
  for (let shard = 0; shard < shards; shard++) {
    await pool.query(
      `INSERT INTO price_entries (shard, chain_id, token, entries) SELECT $1, $2, t, e FROM unnest($3::text[], $4::jsonb[]) AS u(t, e)`,
      [shard, CHAIN_ID, priced, priced.map((a) => JSON.stringify(cache.tokenJSON(a)))],
    )
    await pool.query(`INSERT INTO return_history (shard, bucket, clock, chain_times) VALUES ($1, $2, $3, $4)`, [shard, Math.floor((first - 12) / 86_400), first - 12, JSON.stringify({ [CHAIN_ID]: first - 12 })])
    await pool.query(
      `INSERT INTO return_series (shard, asset, pending, last_time, returns) SELECT $1, a, p, $2, '{}' FROM unnest($3::text[], $4::float8[]) AS u(a, p)`,
      [shard, first - 12, priced.map((a) => `${CHAIN_ID}:${a}`), priced.map((a) => stream.startUsd.get(a)!)],
    )
  }
  return { positions, crossing, ms: now() - started }
}

const holderAddress = (i: number): string => `0x${(0xb0_0000_0000 + i).toString(16).padStart(40, '0')}`

/** Preloaded holders alerted by the drawdown rule: those the crash crosses, and any other. */
async function crashAlerts(pool: pg.Pool, crossing: ReadonlySet<string>): Promise<{ expected: number; alerted: number; unexpected: number }> {
  const r = await pool.query<{ account: string }>(`SELECT DISTINCT account FROM alerts WHERE rule_id = 'default.drawdown' AND state = 'firing' AND account LIKE $1`, [`${holderAddress(0).slice(0, 34)}%`])
  const alerted = r.rows.filter((x) => crossing.has(x.account)).length
  return { expected: crossing.size, alerted, unexpected: r.rows.length - alerted }
}

/** V8 heap in use after a full collection (null unless node runs with --expose-gc, as `npm run bench` does). */
function heapAfterGc(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) return null
  gc()
  return process.memoryUsage().heapUsed
}

const mib = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MiB`

/**
 * CPU cost of each in-process stage, replayed apart on the same stream: what the producer does
 * (decode, route, encode to the job's JSON) and what a worker does before and after its
 * transaction (parse the job, compute effects, build the read-model summaries).
 */
function stageCosts(stream: Stream, shards: number): Record<string, number> {
  const ctx: DecodeContext = {
    chainId: CHAIN_ID,
    token: (a) => stream.tokens.get(a),
    txFrom: (h) => stream.txFrom.get(h),
    blockTime: (n) => stream.blockTime.get(n),
  }
  const accounts = createAccountResolver('auto')
  const pricing = { stablecoins: new Set(stream.stablecoins), pivots: new Set(stream.pivots) }
  const states: ShardState[] = Array.from({ length: shards }, (_, shard) => ({ ...emptyShardState(shard), checkpoints: new Map([[CHAIN_ID, FIRST_BLOCK - 1n]]) }))
  const decimals = new Map([...stream.tokens.values()].map((t) => [`${CHAIN_ID}:${t.address}`, t.decimals]))
  const riskOptions = { horizonSeconds: 86_400, windowSize: 250, minHistory: 20, confidences: [0.95, 0.99] as [number, number], fallbackShock: 0.25 }
  const risks = states.map(() => emptyRiskState(riskOptions))
  const riskContext: RiskContext = {
    options: riskOptions,
    repriceIntervalSeconds: 60,
    repricePerBatch: 500,
    snapshotIntervalSeconds: 300,
    maxPriceAgeSeconds: 3600,
    assets: createAssetIndex(stream.stablecoins.map((token) => ({ chainId: CHAIN_ID, token, asset: 'USD' }))),
    wrappedNative: () => undefined,
    decimalsOf: (c, tok) => decimals.get(`${c}:${tok}`) ?? null,
    rules: DEFAULT_RULES,
  }
  const ms = { decode: 0, route: 0, 'encode + JSON.stringify': 0, 'JSON.parse + decodeBatch': 0, computeBatch: 0, 'risk metrics + rules': 0 }
  for (const r of stream.ranges) {
    let t = now()
    const d = decodeRange(r.logs, stream.pools, ctx)
    ms.decode += now() - t
    t = now()
    const batches = routeRange({ chainId: CHAIN_ID, fromBlock: r.fromBlock, toBlock: r.toBlock, toBlockHash: r.toBlockHash, toBlockTime: stream.blockTime.get(r.toBlock) ?? null, swaps: d.swaps, prices: d.prices }, shards, accounts)
    ms.route += now() - t
    t = now()
    const jobs = batches.map((b) => JSON.stringify(encodeBatch(b)))
    ms['encode + JSON.stringify'] += now() - t
    for (const [shard, json] of jobs.entries()) {
      t = now()
      const batch = decodeBatch(JSON.parse(json) as EncodedBatch)
      ms['JSON.parse + decodeBatch'] += now() - t
      t = now()
      const state = states[shard]!
      const res = computeBatch(state, batch, () => new PriceCache(pricing))
      if (res.kind !== 'apply') throw new Error('stage replay: batch skipped')
      ms.computeBatch += now() - t
      t = now()
      // Risk is computed against the state before the batch (its flows are the difference).
      const r = computeRisk(state, risks[shard]!, res.effects, riskContext)
      commitShardBatch(state, risks[shard]!, { effects: res.effects, risk: r })
      for (const u of r.updates) JSON.stringify(u.metrics)
      ms['risk metrics + rules'] += now() - t
    }
  }
  return ms
}

/** Wraps the pool's clients so every statement's time is summed by its text (bench only). */
function timeStatements(pool: pg.Pool): Map<string, number> {
  const times = new Map<string, number>()
  const wrapped = new WeakSet<pg.PoolClient>()
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return
    wrapped.add(client)
    const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>
    ;(client as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = async (...a: unknown[]) => {
      const t = now()
      try {
        return await query(...a)
      } finally {
        const key = String(typeof a[0] === 'string' ? a[0] : (a[0] as { text?: string }).text).replace(/\s+/g, ' ').slice(0, 72)
        times.set(key, (times.get(key) ?? 0) + now() - t)
      }
    }
  })
  return times
}

/** Total length covered by a set of [start, end] intervals. */
function unionLength(intervals: (readonly [number, number])[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0])
  let total = 0
  let end = -Infinity
  for (const [a, b] of sorted) {
    if (b <= end) continue
    total += b - Math.max(a, end)
    end = b
  }
  return total
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
    process.exit(1)
  },
)
