import { Command, Option } from 'commander'
import { createCommon, createLogger } from '../common.ts'
import { loadConfig } from '../config/load-config.ts'
import { BaseError } from '../errors.ts'
import { parseShardList } from '../queue/shard-of.ts'
import { runDemo } from './demo.ts'
import { runSql } from './sql.ts'
import { runMonitor } from './run-monitor.ts'

const program = new Command()
  .name('dexrisk')
  .description('Multi-chain DEX exposure monitor: on-chain swaps → shard workers → TimescaleDB')
  .showHelpAfterError()

const configOption = new Option('-c, --config <file>', 'config file (TypeScript or JavaScript, default export)').default('dexrisk.config.ts')

program
  .command('run')
  .description('run indexers and risk workers in this process (the owner of an embedded database runs everything)')
  .addOption(configOption)
  .option('--shards <list>', 'shards to run workers for, e.g. 0-3 or 1,3 (default: all)')
  .option('--chains <names>', 'comma-separated chain names to index (default: all)')
  .option('--no-indexers', 'run no indexer')
  .option('--no-workers', 'run no risk worker')
  .action(async (o: { config: string; shards?: string; chains?: string; indexers: boolean; workers: boolean }) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), {
      shards: o.workers ? (o.shards ? parseShardList(o.shards, config.shards) : undefined) : [],
      chains: o.indexers ? o.chains?.split(',').map((s) => s.trim()) : [],
    })
  })

program
  .command('worker')
  .description('run risk workers only (needs DATABASE_URL: an embedded database belongs to one process)')
  .addOption(configOption)
  .requiredOption('--shards <list>', 'shards to run, e.g. 0-1')
  .action(async (o: { config: string; shards: string }) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: parseShardList(o.shards, config.shards), chains: [] })
  })

program
  .command('indexer')
  .description('run chain indexers only (needs DATABASE_URL: an embedded database belongs to one process)')
  .addOption(configOption)
  .option('--chains <names>', 'comma-separated chain names (default: all)')
  .action(async (o: { config: string; chains?: string }) => {
    const config = await loadConfig(o.config)
    await runMonitor(createCommon(config), { shards: [], chains: o.chains?.split(',').map((s) => s.trim()) })
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

program
  .command('demo')
  .description('two local anvil chains with the real Uniswap V2/V3 contracts, simulated traders, and the whole pipeline on the embedded database')
  .option('--swaps <n>', 'swaps per chain', '500')
  .option('--traders <n>', 'traders (accounts)', '4')
  .option('--shards <n>', 'shard count', '2')
  .option('--data-dir <dir>', 'embedded database folder (emptied at start)', '.dexrisk/demo')
  .option('--seed <n>', 'random seed', '7')
  .action(async (o: { swaps: string; traders: string; shards: string; dataDir: string; seed: string }) => {
    await runDemo({ swapsPerChain: Number(o.swaps), traders: Number(o.traders), shards: Number(o.shards), dataDir: o.dataDir, seed: Number(o.seed) })
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
