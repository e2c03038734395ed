import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Redis as RedisClient } from 'ioredis'
import { Redis } from 'ioredis'
import type { Address } from 'viem'
import { NATIVE_TOKEN } from '../domain/types.ts'
import { createCommon, createLogger } from '../common.ts'
import { parseConfig } from '../config/load-config.ts'
import { startMonitor } from '../runtime/start-monitor.ts'
import { waitForCheckpoints } from '../runtime/wait-for-checkpoints.ts'
import { startAnvil } from '../world/anvil.ts'
import { blockNumberOf } from '../world/block-number.ts'
import { deployWorld } from '../world/deploy.ts'
import { fundTraders, readBalances, runRandomTraders } from '../world/traders.ts'
import { runWalletActivity } from '../world/wallet-activity.ts'
import { worldConfig } from '../world/world-config.ts'
import { startDemoRedis } from '../world/demo-redis.ts'
import { ConfigError } from '../errors.ts'
import type { AccountSummary } from '../read-model/keys.ts'
import { createApiKey } from '../api/key-store.ts'
import { formatRows } from './format-rows.ts'

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']

export type DemoOptions = {
  swapsPerChain: number
  traders: number
  shards: number
  dataDir: string
  seed: number
  /** The API's port (0: any free one). */
  apiPort: number
  /** After the check, keep the chains, monitor and dashboard running until Ctrl-C. */
  serve: boolean
  /**
   * A TimescaleDB server to write the demo into (`--database-url`). Default: the embedded database
   * in `dataDir`. DATABASE_URL is not read: the demo's throwaway chains never reach a database,
   * or its accounts and shard count, unless asked for by name.
   */
  databaseUrl?: string
  /** A Redis to run on (`--redis-url`), its keys deleted at the end. Default: a redis-server of its own (src/world/demo-redis.ts). */
  redisUrl?: string
}

/**
 * The whole of dexrisk on one machine: two anvil chains running the real Uniswap V2 and V3
 * contracts, traders swapping through the real routers (direct and multi-hop), indexers, shard
 * workers and the embedded TimescaleDB; a summary that updates as it runs; at the end, every
 * account's positions checked against balanceOf on both chains, and how to query what was written.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const out = (s = ''): boolean => process.stdout.write(`${s}\n`)
  // Two at least: the wallet moves send between the desk's wallets.
  if (!(opts.traders >= 2 && opts.traders <= NAMES.length)) throw new ConfigError(`--traders: 2 to ${NAMES.length}`, { context: { field: '--traders' } })
  const dataDir = resolve(opts.dataDir)
  if (!opts.databaseUrl) await rm(dataDir, { recursive: true, force: true })

  out('dexrisk demo: starting two local chains (anvil) and deploying Uniswap V2 + V3 from their npm artifacts …')
  const anvils = await Promise.all([startAnvil({ chainId: 17001 }), startAnvil({ chainId: 17002 })])
  const stops: (() => Promise<unknown>)[] = [() => Promise.all(anvils.map((a) => a.stop()))]
  try {
    const deployed = await Promise.all(anvils.map((a, i) => deployWorld({ rpcUrl: a.rpcUrl, chainId: a.chainId, seed: opts.seed + i })))
    const traders = await Promise.all(deployed.map((w) => fundTraders(w, opts.traders)))
    // Index from the first block after funding: the funded balances are the accounts' opening balances.
    const worlds = await Promise.all(deployed.map(async (w) => ({ ...w, readyBlock: (await blockNumberOf(w.rpcUrl)) + 1n })))
    const named = worlds.map((world, i) => ({ name: i === 0 ? 'local-a' : 'local-b', world }))
    const wallets = traders[0]!.map((t) => t.address.toLowerCase() as Address)
    const accounts = Object.fromEntries(wallets.map((w, i) => [NAMES[i]!, [w]]))
    const prefix = `dexrisk-demo-${process.pid}-${Date.now()}`
    const log = createLogger({ level: process.env.DEXRISK_LOG_LEVEL ?? 'warn' })
    const demoRedis = await startDemoRedis({ ...(opts.redisUrl ? { url: opts.redisUrl } : {}), prefix, log })
    stops.unshift(() => demoRedis.close())
    const input = worldConfig(named, {
      accounts,
      shards: opts.shards,
      dataDir,
      queuePrefix: prefix,
      redisUrl: demoRedis.url,
      ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
    })
    // A demo lasts seconds of block time: returns over 5-second buckets give historical VaR something to chew on.
    input.risk = { horizonSeconds: 5, windowSize: 60, minHistory: 3 }
    input.api = { port: opts.apiPort }
    // No environment overrides (DATABASE_URL, REDIS_URL, DEXRISK_*): the demo's flags say where it runs.
    const config = parseConfig(input, {})
    const common = createCommon(config, { log })
    for (const { name, world } of named)
      out(`  ${name} (chain ${world.chainId}) at ${world.rpcUrl}: ${world.pools.length} pools, indexing from block ${world.readyBlock}`)
    out(`  accounts: ${Object.entries(accounts).map(([n, [w]]) => `${n}=${w}`).join(', ')}`)

    // A part that stops on an error it cannot retry (an indexer refusing its chain) ends the demo.
    let fatal: ((err: Error) => void) | undefined
    const failed = new Promise<never>((_, reject) => (fatal = reject))
    failed.catch(() => {})
    const monitor = await startMonitor({ common, api: true, onFatal: (err) => fatal?.(err) })
    stops.unshift(() => monitor.close())
    const database = opts.databaseUrl ? `TimescaleDB at ${describeUrl(opts.databaseUrl)} (--database-url)` : `embedded TimescaleDB in ${dataDir}`
    out(`  ${database}; Redis: ${demoRedis.where}; ${opts.shards} shards`)
    const apiUrl = monitor.api!.url
    const firstAccount = Object.keys(accounts)[0]!
    const accountKey = (await createApiKey(monitor.pool, { role: 'account', account: firstAccount }, 'demo dashboard')).key
    const adminKey = (await createApiKey(monitor.pool, { role: 'admin' }, 'demo')).key
    out(`  dashboard of ${firstAccount}: ${apiUrl}/dashboard/?key=${accountKey}`)
    out(`  API: ${apiUrl}/docs (admin key ${adminKey})`)
    out()
    out(`Trading: ${opts.swapsPerChain} swaps per chain through the real routers (V2/V3, direct and multi-hop), and`)
    out(`${walletSteps(opts.swapsPerChain)} wallet moves per chain (transfers between the desk's wallets and out, wraps, unwraps, ether swaps) …`)
    // The demo's own Redis (never a cluster): its summary SCANs and MGETs keys of several shards.
    const redis = new Redis(demoRedis.url, { maxRetriesPerRequest: 3 })
    stops.unshift(async () => redis.disconnect())
    const started = Date.now()
    const symbols = new Map(worlds.flatMap((w) => [...w.tokens.map((t) => [`${w.chainId}:${t.address.toLowerCase()}`, t.symbol] as const), [`${w.chainId}:${NATIVE_TOKEN}`, 'ETH'] as const]))
    const show = (): Promise<void> => printSummary(redis, prefix, out, started, (chainId, token) => symbols.get(`${chainId}:${token}`) ?? token.slice(0, 10))
    const ticker = setInterval(() => void show(), 2_000)
    stops.unshift(async () => clearInterval(ticker))
    // Per chain one after the other: the same wallets send both, and each runner counts its own nonces.
    const trading = Promise.all(
      worlds.map(async (w, i) => {
        await runRandomTraders(w, { traders: traders[i]!, swaps: opts.swapsPerChain, seed: opts.seed + 100 * i })
        await runWalletActivity(w, { traders: traders[i]!, steps: walletSteps(opts.swapsPerChain), seed: opts.seed + 100 * i + 1, outsider: OUTSIDER })
      }),
    )
    await Promise.race([trading, failed])
    const heads = new Map(await Promise.all(worlds.map(async (w, i) => [w.chainId, await blockNumberOf(anvils[i]!.rpcUrl)] as const)))
    await Promise.race([waitForCheckpoints(monitor.workers, heads), failed])
    clearInterval(ticker)
    await show()

    out('Checking every position against the chains (balanceOf and eth_getBalance at the last block) …')
    const end = await Promise.all(worlds.map((w, i) => readBalances(w, wallets, heads.get(w.chainId)!, { ether: true }).then((b) => [i, b] as const)))
    const r = await monitor.pool.query<{ account: string; chain_id: number; token: string; quantity: string }>('SELECT account, chain_id, token, quantity::text FROM positions')
    const held = new Map(r.rows.map((p) => [`${p.account}|${p.chain_id}|${p.token}`, BigInt(p.quantity)]))
    let checked = 0
    const mismatches: string[] = []
    for (const [i, balances] of end) {
      const world = worlds[i]!
      wallets.forEach((wallet, wi) => {
        const expected = [
          ...world.tokens.map((t) => ({ symbol: t.symbol, token: t.address.toLowerCase(), balance: balances.get(wallet)?.get(t.address) ?? 0n })),
          { symbol: 'ETH', token: NATIVE_TOKEN as string, balance: balances.get(wallet)?.get(NATIVE_TOKEN) ?? 0n },
        ]
        for (const x of expected) {
          const q = held.get(`${NAMES[wi]}|${world.chainId}|${x.token}`) ?? 0n
          checked++
          if (x.balance !== q) mismatches.push(`${NAMES[wi]} ${x.symbol} on ${world.chainId}: chain ${x.balance}, dexrisk ${q}`)
        }
      })
    }
    out(mismatches.length === 0 ? `  all ${checked} (account, chain, token) positions (tokens and ether) equal the on-chain balances, to the wei` : `  MISMATCH:\n  ${mismatches.join('\n  ')}`)
    const counts = await monitor.pool.query<{ swaps: string; trades: string; prices: string; transfers: string; snapshots: string; alerts: string }>(
      `SELECT (SELECT count(*) FROM swaps) AS swaps, (SELECT count(*) FROM account_trades) AS trades, (SELECT count(*) FROM prices) AS prices,
         (SELECT count(*) FROM wallet_transfers) AS transfers, (SELECT count(*) FROM risk_snapshots) AS snapshots, (SELECT count(*) FROM alerts) AS alerts`,
    )
    const c = counts.rows[0]!
    out(`  written: ${c.swaps} swaps, ${c.trades} trades, ${c.prices} price observations, ${c.transfers} wallet transfers, ${c.snapshots} risk snapshots, ${c.alerts} alerts`)
    out()
    out(queryHeading(opts))
    const where = opts.databaseUrl ? '' : ` --data-dir ${opts.dataDir}`
    out(`  npx dexrisk sql${where} "SELECT p.account, p.chain_id, t.symbol, p.quantity, t.decimals, round(p.cost_usd::numeric, 2) AS cost_usd FROM positions p JOIN tokens t ON t.chain_id = p.chain_id AND t.address = p.token ORDER BY 1, 2, 3"`)
    out(`  npx dexrisk sql${where} "SELECT account, time, rule_id, state, round(value::numeric) AS value, threshold FROM alerts ORDER BY time"`)
    out(`  npx dexrisk sql${where} "SELECT time_bucket('1 minute', block_time) AS minute, dex_name, count(*), round(sum(amount_usd)::numeric) AS volume_usd FROM swaps GROUP BY 1, 2 ORDER BY 1"`)
    out(`  npx dexrisk report var_drawdown_history${where} --since 1d      (also: daily_pnl, exposure_history, top_concentrations, alerts_summary, dex_volume)`)
    if (!opts.serve) out('Run it with --serve to keep the chains, the monitor and the dashboard running after the check.')
    if (mismatches.length > 0) process.exitCode = 1
    if (opts.serve) {
      out()
      out(`Serving until Ctrl-C: dashboard ${apiUrl}/dashboard/?key=${accountKey}`)
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop())
        process.once('SIGTERM', () => resolveStop())
      })
    }
  } finally {
    for (const stop of stops) await stop().catch(() => {})
  }
}

/** What the commands after the check can reach, and when. */
function queryHeading(opts: DemoOptions): string {
  if (opts.databaseUrl) return 'Query what it wrote (with DATABASE_URL set to the --database-url given):'
  if (opts.serve)
    return `Query what it wrote: while it serves, this process holds the data folder ${resolve(opts.dataDir)}; dexrisk report reaches it through the running monitor's API, dexrisk sql once the demo has stopped (Ctrl-C):`
  return 'Query what it wrote, once the demo has exited (it frees the data folder then):'
}

/** host:port/database of a database URL, never its password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`
  } catch {
    return 'the --database-url given'
  }
}

/** Wallet moves per chain: a fifth of the swaps, at least the seven kinds once. */
const walletSteps = (swaps: number): number => Math.max(7, Math.round(swaps / 5))

/** An address outside every account: transfers to it leave the desk. */
const OUTSIDER = '0x000000000000000000000000000000000000dEaD' as Address

async function printSummary(
  redis: RedisClient,
  prefix: string,
  out: (s?: string) => void,
  started: number,
  symbolOf: (chainId: number, token: string) => string,
): Promise<void> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:account:*`, 'COUNT', 500)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  if (keys.length === 0) return
  const summaries = (await redis.mget(keys)).filter((s): s is string => s !== null).map((s) => JSON.parse(s) as AccountSummary)
  summaries.sort((a, b) => (a.account < b.account ? -1 : 1))
  const usd = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  out(`— ${((Date.now() - started) / 1000).toFixed(0)} s —`)
  out(
    formatRows(
      ['account', 'positions', 'equity_usd', 'gross_usd', 'var99_usd', 'es99_usd', 'var_method', 'pnl_usd', 'drawdown_usd', 'unpriced', 'largest position (usd)', 'halted'],
      summaries.map((s) => {
        const m = s.metrics
        const top = [...m.exposureByToken].sort((a, b) => Math.abs(b.valueUsd ?? 0) - Math.abs(a.valueUsd ?? 0))[0]
        return {
          account: s.account,
          positions: m.exposureByToken.filter((p) => p.quantity !== '0').length,
          equity_usd: usd(m.equityUsd),
          gross_usd: usd(m.grossExposureUsd),
          var99_usd: usd(m.var99Usd),
          es99_usd: usd(m.es99Usd),
          var_method: m.varMethod,
          pnl_usd: usd(m.totalPnlUsd),
          drawdown_usd: usd(m.drawdownUsd),
          unpriced: m.unpricedPositions,
          'largest position (usd)': top ? `${symbolOf(top.chainId, top.token)}@${top.chainId} ${usd(top.valueUsd ?? 0)}` : '',
          halted: s.halted ? 'HALTED' : '',
        }
      }),
      'table',
    ),
  )
}

