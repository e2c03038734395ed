import type pg from 'pg'
import type { Logger } from 'pino'
import type { PublicClient } from 'viem'
import { blockAtTime } from '../chain/block-at-time.ts'
import type { ChainConfig } from '../config/schema.ts'
import { parseDuration } from '../reports/report-params.ts'

const deploymentKey = (chainId: number): string => `startBlock:${chainId}`

/** The block live following of a chain started at, as the first start resolved it (null: never started). */
export async function recordedStartBlock(pool: Pick<pg.Pool, 'query'>, chainId: number): Promise<bigint | null> {
  const r = await pool.query<{ value: string }>('SELECT value FROM deployment WHERE key = $1', [deploymentKey(chainId)])
  return r.rows[0] ? BigInt(r.rows[0].value) : null
}

/**
 * The first block live following indexes on this chain. A block number in the config is that
 * block. `'latest'` and a time before the head (`'-1h'`) are resolved the first time this database
 * follows the chain, against the chain's head then, and kept in `deployment` (key
 * `startBlock:<chain id>`): every later start, and the backfill's default end, see the same block,
 * however the head has moved. `'latest'` is the block after the confirmed head (head −
 * confirmations); a time is the first block at or after it, never past that same block.
 */
export async function resolveStartBlock(opts: {
  pool: Pick<pg.Pool, 'query'>
  client: PublicClient
  chain: Pick<ChainConfig, 'id' | 'name' | 'startBlock' | 'confirmations' | 'dexes'>
  log: Logger
}): Promise<bigint> {
  const { pool, client, chain } = opts
  if (typeof chain.startBlock === 'bigint') return chain.startBlock
  const kept = await recordedStartBlock(pool, chain.id)
  if (kept !== null) {
    // Said at every start, so a startBlock changed in the config since is not taken silently.
    opts.log.info({ startBlock: chain.startBlock, kept: kept.toString() }, "live following began at this block on this database's first start (kept); earlier blocks are the backfill's")
    return kept
  }
  // A database that followed the chain before the start was kept: it started where the default
  // then was, the lowest DEX startBlock; that is recorded, not today's head.
  const followed = await pool.query('SELECT 1 FROM checkpoints WHERE chain_id = $1 LIMIT 1', [chain.id])
  if ((followed.rowCount ?? 0) > 0) return record(chain.dexes.reduce((m, d) => (d.startBlock < m ? d.startBlock : m), chain.dexes[0]!.startBlock), 'as followed before')
  const head = await client.getBlock({ blockTag: 'latest' })
  const confirmed = head.number - BigInt(chain.confirmations ?? 0)
  const next = confirmed + 1n > 0n ? confirmed + 1n : 0n
  let start = next
  if (chain.startBlock !== 'latest') {
    // '-1h': the config checked its form; the duration is read as the reports read theirs.
    const time = Number(head.timestamp) - Math.floor(parseDuration(`chains.${chain.name}`, 'startBlock', chain.startBlock.slice(1)) / 1000)
    const at = await blockAtTime(client, time, head.number)
    if (at < start) start = at
  }
  return record(start, `head ${head.number}, ${chain.confirmations ?? 0} confirmations`)

  async function record(block: bigint, why: string): Promise<bigint> {
    // Two processes resolving at once keep the first one's block.
    await pool.query(`INSERT INTO deployment (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [deploymentKey(chain.id), block.toString()])
    const resolved = (await recordedStartBlock(pool, chain.id))!
    opts.log.info(
      { startBlock: chain.startBlock, resolved: resolved.toString(), why },
      "live following starts here (kept: later starts resume from the checkpoints; earlier blocks are the backfill's)",
    )
    return resolved
  }
}
