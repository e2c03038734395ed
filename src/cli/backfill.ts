import cliProgress from 'cli-progress'
import { runBackfill, type BackfillProgress, type BackfillResult } from '../backfill/run-backfill.ts'
import { blockAtTime } from '../chain/block-at-time.ts'
import { resolveStartBlock } from '../indexer/start-block.ts'
import { createChainClient } from '../chain/create-chain-client.ts'
import type { Common } from '../common.ts'
import { chainList } from '../config/load-config.ts'
import type { ChainConfig } from '../config/schema.ts'
import { startEmbeddedDatabase } from '../db/embedded.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { ConfigError } from '../errors.ts'
import { parseDuration } from '../reports/report-params.ts'

export type BackfillFlags = {
  chain?: string
  dex?: string[]
  from?: string
  to?: string
  since?: string
  concurrency: string
  rps?: string
  range?: string
  redo?: boolean
  progress: boolean
}

/**
 * `dexrisk backfill`: the swaps and prices of past blocks, written where the live indexer writes
 * them. Its span is `--from`/`--since` to `--to`; `--to` defaults to the block before live
 * following starts (the chain's startBlock) so that the two meet without a gap or an overlap, or to
 * the chain's confirmed head when the span starts at or after that block. Prints a progress bar on
 * stderr (blocks/s, swaps/s, ETA) and a summary on stdout; exit code 1 if a block stays uncovered.
 * SIGINT stops it after the ranges being read (resume: the same command again).
 */
export async function runBackfillCommand(common: Common, flags: BackfillFlags, out: (line: string) => void): Promise<BackfillResult> {
  const chain = pickChain(common, flags.chain)
  const client = createChainClient(chain, common, flags.rps ? { requestsPerSecond: positive(flags.rps, '--rps') } : {})
  const head = await client.getBlockNumber({ cacheTime: 0 })
  const confirmed = head - BigInt(chain.confirmations)
  let from: bigint
  if (flags.from !== undefined) from = block(flags.from, '--from')
  else if (flags.since !== undefined) from = await blockAtTime(client, Math.floor((Date.now() - parseDuration('backfill', 'since', flags.since)) / 1000), head)
  else throw new ConfigError('say where the backfill starts: --from <block> or --since <30d|12h|…>', { context: { field: '--from' } })
  const toFlag = flags.to !== undefined ? block(flags.to, '--to') : undefined
  if (toFlag !== undefined && toFlag > confirmed)
    throw new ConfigError(`--to ${toFlag} is past the chain's confirmed head ${confirmed} (head ${head}, ${chain.confirmations} confirmations)`, { context: { field: '--to' } })

  const embedded = common.config.database.url ? undefined : await startEmbeddedDatabase({ dataDir: common.config.database.dataDir, log: common.log })
  const pool = createPool({ url: common.config.database.url ?? embedded!.url, max: embedded ? 1 : common.config.database.poolMax, log: common.log })
  const controller = new AbortController()
  const onSigint = (): void => {
    if (!controller.signal.aborted) process.stderr.write('\nstopping after the ranges being read; run the same command again to resume\n')
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  const bar = flags.progress ? progressBar() : undefined
  try {
    await migrate(pool, { log: common.log })
    // Where live following starts (resolved and kept here if no monitor has started yet, so that
    // one started later begins right after this backfill's last block).
    const liveStart = await resolveStartBlock({ pool, client, chain, log: common.log })
    const to = toFlag ?? (from < liveStart ? min(liveStart - 1n, confirmed) : confirmed)
    out(`backfill ${chain.name} (chain ${chain.id}) blocks ${from}–${to}${flags.dex?.length ? `, dexes ${flags.dex.join(', ')}` : ''}`)
    bar?.start(Number(to - from + 1n), 0, { bps: '0', sps: '0', size: '-' })
    const result = await runBackfill({
      common,
      chain,
      pool,
      client,
      fromBlock: from,
      toBlock: to,
      dexes: flags.dex,
      concurrency: positive(flags.concurrency, '--concurrency'),
      initialRange: flags.range ? positive(flags.range, '--range') : undefined,
      redo: flags.redo,
      signal: controller.signal,
      onProgress: (p) => bar?.update(p.blocksDone, rates(p)),
    })
    bar?.update(result.blocksDone, rates(result))
    bar?.stop()
    const seconds = result.elapsedMs / 1000
    out(
      `${result.swaps} swaps and ${result.prices} prices from ${result.blocksRead} blocks in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.blocksRead / Math.max(seconds, 1e-9))} blocks/s, ${Math.round(result.swaps / Math.max(seconds, 1e-9))} swaps/s); ` +
        `${result.skippedBlocks} blocks already covered; ${result.retries} retries, ${result.splits} ranges split; ${result.rejected} logs rejected`,
    )
    if (result.gaps.length === 0) out(`checked: every block ${from}–${to} is covered, none skipped`)
    else
      out(
        `${result.interrupted ? 'interrupted' : 'NOT COVERED'}: ${result.gaps.map((g) => `${g.from}–${g.to}`).join(', ')}` +
          `${result.interrupted ? ' (run the same command again to resume)' : ''}`,
      )
    return result
  } finally {
    bar?.stop()
    process.off('SIGINT', onSigint)
    await pool.end()
    await embedded?.stop()
  }
}

function pickChain(common: Common, name: string | undefined): ChainConfig {
  const chains = chainList(common.config)
  if (name === undefined) {
    if (chains.length === 1) return chains[0]!
    throw new ConfigError(`several chains are configured (${chains.map((c) => c.name).join(', ')}): pick one with --chain`, { context: { field: '--chain' } })
  }
  const chain = chains.find((c) => c.name === name)
  if (!chain) throw new ConfigError(`no chain named "${name}" (configured: ${chains.map((c) => c.name).join(', ')})`, { context: { field: '--chain' } })
  return chain
}

function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {value}/{total} blocks | {bps} blocks/s | {sps} swaps/s | range {size} | ETA {eta_formatted}',
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
      etaBuffer: 50,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  )
}

function rates(p: BackfillProgress): { bps: string; sps: string; size: string } {
  const s = Math.max(p.elapsedMs / 1000, 1e-9)
  return { bps: Math.round(p.blocksRead / s).toString(), sps: Math.round(p.swaps / s).toString(), size: p.rangeSize.toString() }
}

function block(text: string, field: string): bigint {
  if (!/^\d+$/.test(text)) throw new ConfigError(`${field} wants a block number, got "${text}"`, { context: { field } })
  return BigInt(text)
}

function positive(text: string, field: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${field} wants a positive whole number, got "${text}"`, { context: { field } })
  return n
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
