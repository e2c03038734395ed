import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import type pg from 'pg'
import { createCommon, createLogger } from '../common.ts'
import { loadConfig } from '../config/load-config.ts'
import { BaseError } from '../errors.ts'
import { parseShardList } from '../queue/shard-of.ts'
import { withCliDatabase } from './cli-database.ts'
import { runBackfillCommand, type BackfillFlags } from './backfill.ts'
import { runDemo } from './demo.ts'
import { runHaltReset, runHaltsList, runRuleDelete, runRuleSet, runRulesList, type Out, type OutputFormat, type RuleFlags } from './rules.ts'
import { runSql } from './sql.ts'
import { runReportCommand } from './report.ts'
import { listReportsSync } from '../reports/list-reports.ts'
import { runMonitor } from './run-monitor.ts'
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT, parseMetricsPort } from '../metrics/metrics-server.ts'
import { runKeyCreate, runKeyList, runKeyRevoke } from './keys.ts'
import { runAccountsSync } from './accounts.ts'
import { ConfigError } from '../errors.ts'
import { runWebhookAdd, runWebhookDelete, runWebhookList, type WebhookAddFlags } from './webhooks.ts'

const program = new Command()
  .name('dexrisk')
  .description('Multi-chain DEX exposure monitor: on-chain swaps → shard workers → TimescaleDB')
  // bin/dexrisk.js answers a lone --version before loading the sources; this covers it elsewhere in a command line.
  .version((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version)
  .showHelpAfterError()

const configOption = new Option('-c, --config <file>', 'config file (TypeScript or JavaScript, default export)').default('dexrisk.config.ts')
// Prometheus GET /metrics of run, worker and indexer processes; processes sharing a host need a port each.
const metricsPortOption = new Option('--metrics-port <n>', 'port of GET /metrics for Prometheus; 0 turns it off')
  .env('DEXRISK_METRICS_PORT')
  .default(DEFAULT_METRICS_PORT)
  .argParser((v) => parseMetricsPort(v))
const metricsHostOption = new Option('--metrics-host <host>', "interface /metrics listens on ('0.0.0.0' for a Prometheus on another host)")
  .env('DEXRISK_METRICS_HOST')
  .default(DEFAULT_METRICS_HOST)
type MetricsFlags = { metricsPort: number; metricsHost: string }
const metricsOf = (o: MetricsFlags) => ({ port: o.metricsPort, host: o.metricsHost })
/** --shards: a list or range, or 'auto' (leased: src/runtime/shard-leases.ts). */
const shardsOption = (spec: string, shards: number): number[] | 'auto' => (spec.trim() === 'auto' ? 'auto' : parseShardList(spec, shards))

program
  .command('run')
  .description('run indexers and risk workers in this process (the owner of an embedded database runs everything)')
  .addOption(configOption)
  .option('--shards <list>', "shards to run workers for, e.g. 0-3 or 1,3, or 'auto': a fair share leased among the processes running auto (default: all)")
  .option('--chains <names>', 'comma-separated chain names to index (default: all)')
  .option('--no-indexers', 'run no indexer')
  .option('--no-workers', 'run no risk worker')
  .option('--no-api', 'serve no API, WebSocket or dashboard')
  .addOption(metricsPortOption)
  .addOption(metricsHostOption)
  .action(async (o: { config: string; shards?: string; chains?: string; indexers: boolean; workers: boolean; api: boolean } & MetricsFlags) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), {
      shards: o.workers ? (o.shards ? shardsOption(o.shards, config.shards) : undefined) : [],
      chains: o.indexers ? o.chains?.split(',').map((s) => s.trim()) : [],
      api: o.api,
      metrics: metricsOf(o),
    })
  })

program
  .command('api')
  .description('serve the API, WebSocket and dashboard only (needs DATABASE_URL: an embedded database belongs to one process)')
  .addOption(configOption)
  .action(async (o: { config: string }) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: [], chains: [], api: true })
  })

program
  .command('worker')
  .description('run risk workers only (needs DATABASE_URL: an embedded database belongs to one process)')
  .addOption(configOption)
  .requiredOption('--shards <list>', "shards to run, e.g. 0-1, or 'auto': a fair share of them, leased through Redis, taken over from a process that leaves or dies")
  .addOption(metricsPortOption)
  .addOption(metricsHostOption)
  .action(async (o: { config: string; shards: string } & MetricsFlags) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: shardsOption(o.shards, config.shards), chains: [], metrics: metricsOf(o) })
  })

program
  .command('indexer')
  .description('run chain indexers only (needs DATABASE_URL: an embedded database belongs to one process)')
  .addOption(configOption)
  .option('--chains <names>', 'comma-separated chain names (default: all)')
  .addOption(metricsPortOption)
  .addOption(metricsHostOption)
  .action(async (o: { config: string; chains?: string } & MetricsFlags) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: [], chains: o.chains?.split(',').map((s) => s.trim()), metrics: metricsOf(o) })
  })

program
  .command('migrate')
  .description('apply sql/ migrations (safe to run twice)')
  .addOption(configOption)
  .action(async (o: { config: string }) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: [], chains: [], exitWhenReady: true })
  })

program
  .command('sql')
  .description('run SQL against the database (DATABASE_URL, or the embedded data folder when no monitor holds it)')
  .argument('<query>', 'SQL text')
  .option('--data-dir <dir>', 'embedded database folder', '.dexrisk/db')
  .option('--format <format>', 'table, csv or json', 'table')
  .action(async (query: string, o: { dataDir: string; format: 'table' | 'csv' | 'json' }) => {
    await runSql({ query, dataDir: o.dataDir, url: process.env.DATABASE_URL, format: o.format })
  })

// The rules, halts and webhooks commands reach the database like `sql`: DATABASE_URL, or the
// embedded folder when no monitor holds it. Rules and halts changed here reach running workers
// through rulesVersion, with no restart.
const dataDirOption = new Option('--data-dir <dir>', 'embedded database folder (used when DATABASE_URL is unset)').default('.dexrisk/db')
const formatOption = new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table')
const stdout: Out = (line) => process.stdout.write(`${line}\n`)
const onDatabase = (o: { dataDir: string }, fn: (db: pg.Pool) => Promise<void>): Promise<void> =>
  withCliDatabase({ url: process.env.DATABASE_URL, dataDir: o.dataDir, migrated: true }, fn)

const rules = program.command('rules').description('alert and halt rules: built-in defaults and database rules')

rules
  .command('list')
  .description('list rules and where they come from; with --account, the rules that apply to it')
  .option('--account <name>', 'an account (default: every rule)')
  .addOption(formatOption)
  .addOption(dataDirOption)
  .action(async (o: { account?: string; format: OutputFormat; dataDir: string }) => {
    await onDatabase(o, (db) => runRulesList(db, { ...(o.account === undefined ? {} : { account: o.account }), format: o.format }, stdout))
  })

rules
  .command('set')
  .description('add or update a rule (id, account); fields not given keep their stored or built-in values')
  .option('--id <id>', 'rule id (or "id" in --json)')
  .option('--account <name>', "account (omitted or '': the default for every account)")
  .option('--metric <name>', 'metric, e.g. drawdownPct, var99Usd, dailyPnlUsd')
  .option('--op <op>', 'above or below')
  .option('--threshold <n>', 'threshold, in the metric\'s unit')
  .option('--severity <s>', 'info, warning or critical')
  .option('--cooldown <seconds>', 'seconds before the rule fires again')
  .option('--hysteresis <n>', 'how far back past the threshold before the alert resolves')
  .option('--action <action>', 'alert or halt')
  .option('--enabled <bool>', 'true or false')
  .option('--json <rule>', 'the rule (or part of it) as JSON; the flags override its fields')
  .addOption(dataDirOption)
  .action(async (o: RuleFlags & { dataDir: string }) => {
    const { dataDir, ...flags } = o
    await onDatabase({ dataDir }, async (db) => {
      await runRuleSet(db, flags, stdout)
    })
  })

rules
  .command('delete')
  .description('delete a database rule (a built-in one is disabled with rules set --enabled false)')
  .requiredOption('--id <id>', 'rule id')
  .option('--account <name>', 'account (omitted: the default rule of that id)')
  .addOption(dataDirOption)
  .action(async (o: { id: string; account?: string; dataDir: string }) => {
    await onDatabase(o, (db) => runRuleDelete(db, { id: o.id, ...(o.account === undefined ? {} : { account: o.account }) }, stdout))
  })

const halts = program.command('halts').description('accounts halted by a rule (the kill switch)')

halts
  .command('list')
  .description('list halted accounts: why, when and by which rule')
  .addOption(formatOption)
  .addOption(dataDirOption)
  .action(async (o: { format: OutputFormat; dataDir: string }) => {
    await onDatabase(o, (db) => runHaltsList(db, { format: o.format }, stdout))
  })

halts
  .command('reset')
  .description("lift an account's halt, recording who did it")
  .argument('<account>', 'the halted account')
  .requiredOption('--by <name>', 'who resets the halt (kept with the record)')
  .addOption(dataDirOption)
  .action(async (account: string, o: { by: string; dataDir: string }) => {
    await onDatabase(o, (db) => runHaltReset(db, { account, by: o.by }, stdout))
  })

const webhooks = program.command('webhooks').description('webhook endpoints that receive signed alert events')

webhooks
  .command('add')
  .description('register an endpoint; its signing secret is printed this once')
  .requiredOption('--url <url>', 'http(s) URL of the receiver (private addresses are refused unless allowed)')
  .option('--account <name>', 'only this account\'s events (default: every account)')
  .option('--events <types>', 'comma-separated event types, e.g. alert.firing,alert.resolved (default: all)')
  .option('--allow <entries>', 'comma-separated CIDRs, addresses or host names the URL may reach despite the private-address guard')
  .addOption(dataDirOption)
  .action(async (o: WebhookAddFlags & { dataDir: string }) => {
    const { dataDir, ...flags } = o
    await onDatabase({ dataDir }, async (db) => {
      await runWebhookAdd(db, flags, stdout)
    })
  })

webhooks
  .command('list')
  .description('list endpoints (secrets masked); with --account, those that receive its events')
  .option('--account <name>', 'an account (default: every endpoint)')
  .addOption(formatOption)
  .addOption(dataDirOption)
  .action(async (o: { account?: string; format: OutputFormat; dataDir: string }) => {
    await onDatabase(o, (db) => runWebhookList(db, { ...(o.account === undefined ? {} : { account: o.account }), format: o.format }, stdout))
  })

webhooks
  .command('delete')
  .description('delete an endpoint (its delivery history stays)')
  .argument('<id>', 'endpoint id (ep_…)')
  .addOption(dataDirOption)
  .action(async (id: string, o: { dataDir: string }) => {
    await onDatabase(o, (db) => runWebhookDelete(db, { id }, stdout))
  })

const accounts = program.command('accounts').description("named accounts: the config's, and those created through the API")

accounts
  .command('sync')
  .description("make the database's config accounts match the config, printing each change first (a monitor starting with the config adds new ones itself; a running one follows every change at its next range)")
  .addOption(configOption)
  .addOption(dataDirOption)
  .option('--dry-run', 'print what would change, change nothing')
  .option('--prune', 'also remove config accounts the config no longer names (never one with a live key without --revoke-keys)')
  .option('--revoke-keys', 'with --prune: revoke the keys of the accounts removed')
  .action(async (o: { config: string; dataDir: string; dryRun?: boolean; prune?: boolean; revokeKeys?: boolean }) => {
    const config = await loadConfig(o.config)
    if (config.accounts === 'auto') throw new ConfigError("accounts: 'auto' — every trader wallet is its own account; there are no named accounts to sync", { context: { field: 'accounts' } })
    const named = config.accounts
    await onDatabase(o, async (db) => {
      await runAccountsSync(db, named, o, stdout)
    })
  })

const keys = program.command('keys').description('API keys: an admin key manages every account, an account key sees its account alone')

keys
  .command('create')
  .description('create a key and print it (this once: only its hash is stored)')
  .option('--admin', 'a key that manages every account')
  .option('--account <name>', 'a key that sees this account alone')
  .option('--label <text>', 'what the key is for')
  .addOption(configOption)
  .addOption(dataDirOption)
  .action(async (o: { admin?: boolean; account?: string; label?: string; config: string; dataDir: string }) => {
    const auto = await loadConfig(o.config).then(
      (c) => c.accounts === 'auto',
      () => false,
    )
    await onDatabase(o, async (db) => {
      await runKeyCreate(db, { ...o, auto }, stdout)
    })
  })

keys
  .command('list')
  .description('list keys (ids, roles, accounts; never the keys)')
  .option('--account <name>', "an account's keys only")
  .addOption(formatOption)
  .addOption(dataDirOption)
  .action(async (o: { account?: string; format: OutputFormat; dataDir: string }) => {
    await onDatabase(o, (db) => runKeyList(db, { ...(o.account === undefined ? {} : { account: o.account }), format: o.format }, stdout))
  })

keys
  .command('revoke')
  .description('revoke a key (refused by running APIs within 5 s)')
  .argument('<id>', 'key id (the part after dxr_)')
  .addOption(dataDirOption)
  .action(async (id: string, o: { dataDir: string }) => {
    await onDatabase(o, (db) => runKeyRevoke(db, id, stdout))
  })

program
  .command('backfill')
  .description("read past blocks' swaps and prices into the database through the live indexer's decode path; resumable, idempotent")
  .addOption(configOption)
  .option('--chain <name>', 'chain to backfill (default: the only one configured)')
  .option('--dex <names...>', 'configured DEX names to read (default: every DEX of the chain)')
  .option('--from <block>', 'first block')
  .option('--since <duration>', 'first block by age instead of --from, e.g. 30d, 12h')
  .option('--to <block>', "last block (default: the block before live following starts, else the confirmed head)")
  .option('--concurrency <n>', 'block ranges read at once', '4')
  .option('--rps <n>', 'JSON-RPC calls per second at most (default: no limit)')
  .option('--range <blocks>', "first eth_getLogs range; it adapts (default: the chain's maxBlockRange)")
  .option('--redo', 'read again blocks earlier runs covered (nothing is written twice)')
  .option('--no-progress', 'no progress bar')
  .action(async (o: { config: string } & BackfillFlags) => {
    const config = await loadConfig(o.config)
    const result = await runBackfillCommand(createCommon(config), o, stdout)
    if (result.gaps.length > 0) process.exitCode = result.interrupted ? 130 : 1
  })

program
  .command('report')
  .description('run a SQL report of sql/reports (the same files psql runs): on DATABASE_URL, the embedded folder, or through the running monitor')
  .argument('<name>', `report: ${listReportsSync().join(', ')}`)
  .option('--account <name>', "an account, or '*' for every account (default: every account)")
  .option('--from <time>', 'start, inclusive: 2026-01-01, 2026-01-01T12:00, or with an offset (+02:00); UTC without one (default: --to minus --since)')
  .option('--to <time>', 'end, exclusive, same forms (default: now)')
  .option('--since <duration>', 'without --from, how far back from --to: e.g. 30d, 12h, 90m, 2w (default: 30d)')
  .addOption(formatOption)
  .addOption(dataDirOption)
  .action(async (name: string, o: { account?: string; from?: string; to?: string; since?: string; format: OutputFormat; dataDir: string }) => {
    await runReportCommand({ name, ...o, url: process.env.DATABASE_URL }, (text) => process.stdout.write(text))
  })

program
  .command('demo')
  .description('two local anvil chains with the real Uniswap V2/V3 contracts, simulated traders, and the whole pipeline on an embedded database of its own')
  .option('--swaps <n>', 'swaps per chain', '500')
  .option('--traders <n>', 'traders (accounts)', '4')
  .option('--shards <n>', 'shard count', '2')
  .option('--data-dir <dir>', 'embedded database folder (emptied at start)', '.dexrisk/demo')
  .option('--seed <n>', 'random seed', '7')
  .option('--api-port <n>', 'port of the API and dashboard (0: any free port, printed)', '0')
  .option('--serve', 'after the check, keep everything running (dashboard, API) until Ctrl-C')
  .option('--database-url <url>', 'write into this TimescaleDB server instead of the embedded folder (DATABASE_URL is not read)')
  .option('--redis-url <url>', 'run on this Redis, deleting its keys at the end (default: a redis-server of its own; REDIS_URL is not read)')
  .action(async (o: { swaps: string; traders: string; shards: string; dataDir: string; seed: string; apiPort: string; serve?: boolean; databaseUrl?: string; redisUrl?: string }) => {
    await runDemo({
      ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
      ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}),
      swapsPerChain: Number(o.swaps),
      traders: Number(o.traders),
      shards: Number(o.shards),
      dataDir: o.dataDir,
      seed: Number(o.seed),
      apiPort: Number(o.apiPort),
      serve: o.serve ?? false,
    })
  })

program.parseAsync(process.argv).catch((err: unknown) => {
  const log = createLogger()
  if (err instanceof BaseError) {
    process.stderr.write(`dexrisk: ${err.message}\n`)
  } else {
    log.fatal({ err }, 'dexrisk stopped')
  }
  process.exitCode = 1
})
