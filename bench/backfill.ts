/**
 * Backfill throughput: a local anvil holding `--swaps-per-family` swaps of each of the eight
 * families (src/world/swap-storm.ts), read by runBackfill (the `dexrisk backfill` path) into the
 * embedded TimescaleDB. Prints swaps/s and blocks/s end to end, then the same read without the
 * database writes' share (fetch + decode only, from the per-range debug timings), and checks that
 * exactly every swap was written.
 *
 *   npm run bench:backfill -- --swaps-per-family 12500 --concurrency 4
 *
 * A command that prints figures; never part of the tests.
 */
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { Writable } from 'node:stream'
import pino from 'pino'
import { runBackfill } from '../src/backfill/run-backfill.ts'
import { createCommon } from '../src/common.ts'
import { chainList, parseConfig } from '../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../src/db/embedded.ts'
import { migrate } from '../src/db/migrate.ts'
import { createPool } from '../src/db/pool.ts'
import { startAnvil } from '../src/world/anvil.ts'
import { deploySwapStorm } from '../src/world/swap-storm.ts'

const { values: args } = parseArgs({
  options: {
    'swaps-per-family': { type: 'string', default: '12500' },
    concurrency: { type: 'string', default: '4' },
    range: { type: 'string', default: '2' },
  },
})
const perFamily = Number(args['swaps-per-family'])

const anvil = await startAnvil({ chainId: 17_601 })
const db = await startEmbeddedDatabase({})
const pool = createPool({ url: db.url, max: 1 })
try {
  await migrate(pool)
  const t0 = performance.now()
  const storm = await deploySwapStorm({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, swapsPerFamily: perFamily })
  const total = Object.values(storm.swaps).reduce((a, b) => a + b, 0)
  console.log(`chain: ${total} swaps (${perFamily} × ${Object.keys(storm.swaps).length} families) in blocks ${storm.firstBlock}–${storm.lastBlock}, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  // Per-range timings come from the backfill's debug log lines.
  const stages = { fetchMs: 0, decodeMs: 0, writeMs: 0 }
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.includes('backfill range written')) continue
        const r = JSON.parse(line) as typeof stages
        stages.fetchMs += r.fetchMs
        stages.decodeMs += r.decodeMs
        stages.writeMs += r.writeMs
      }
      done()
    },
  })
  const config = parseConfig(
    { chains: { storm: { id: storm.chainId, rpcUrls: [storm.rpcUrl], confirmations: 0, maxBlockRange: Number(args.range), dexes: storm.dexes } }, accounts: 'auto', shards: 4 },
    {},
  )
  const common = createCommon(config, { log: pino({ level: 'debug' }, sink) })
  const result = await runBackfill({ common, chain: chainList(config)[0]!, pool, fromBlock: storm.firstBlock, toBlock: storm.lastBlock, concurrency: Number(args.concurrency) })
  const seconds = result.elapsedMs / 1000
  const stored = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM swaps')
  console.log(`backfill: ${result.swaps} swaps, ${result.blocksRead} blocks in ${seconds.toFixed(2)} s → ${Math.round(result.swaps / seconds)} swaps/s, ${Math.round(result.blocksRead / seconds)} blocks/s`)
  console.log(`  ranges ${result.ranges}, splits ${result.splits}, retries ${result.retries}, concurrency ${args.concurrency}`)
  console.log(
    `  summed over ranges (they overlap when concurrent): eth_getLogs ${(stages.fetchMs / 1000).toFixed(2)} s, decode (pools, tokens, blocks) ${(stages.decodeMs / 1000).toFixed(2)} s, database writes ${(stages.writeMs / 1000).toFixed(2)} s`,
  )
  console.log(`  fetch + decode alone: ${Math.round(result.swaps / ((stages.fetchMs + stages.decodeMs) / 1000))} swaps/s; database writes alone: ${Math.round(result.swaps / (stages.writeMs / 1000))} rows/s`)
  console.log(`check: ${stored.rows[0]!.n} rows in swaps (expected ${total}) ${Number(stored.rows[0]!.n) === total && result.gaps.length === 0 ? 'OK' : 'MISMATCH'}`)
  console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
} finally {
  await pool.end()
  await db.stop()
  await anvil.stop()
}
