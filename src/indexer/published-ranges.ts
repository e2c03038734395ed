import type pg from 'pg'
import type { Address, Hex, PublicClient } from 'viem'
import type { Common } from '../common.ts'
import type { ChainConfig } from '../config/schema.ts'
import { withTransaction } from '../db/pool.ts'
import { ConfigError } from '../errors.ts'
import type { BatchPublisher } from '../queue/publisher.ts'

/*
 * What an indexer keeps of what it published, in the database: the shards' checkpoints it starts
 * from, the hashes of published range ends (how a reorg below the confirmations is seen and its
 * fork point found), the reorgs it rolled back, and, read back, what the shards committed.
 */

/** Creates each shard's checkpoint at the block before the start (once); returns the resume point. */
export async function seedCheckpoints(pool: pg.Pool, chainId: number, shards: number, before: bigint): Promise<bigint> {
  await pool.query(
    `INSERT INTO checkpoints (shard, chain_id, last_block) SELECT s, $1, $2 FROM generate_series(0, $3 - 1) AS s
     ON CONFLICT (shard, chain_id) DO NOTHING`,
    [chainId, before.toString(), shards],
  )
  const r = await pool.query<{ min: string }>('SELECT min(last_block)::text AS min FROM checkpoints WHERE chain_id = $1 AND shard < $2', [chainId, shards])
  return BigInt(r.rows[0]!.min)
}

/**
 * Refuses, at start, a chain that is not the one this database indexed (a local chain started
 * again under the same chain id, an RPC URL pointed elsewhere): waiting for it would wait forever,
 * and reading it would mix two histories. It is refused when it is shorter than the block already
 * published, or holds another block at that height, unless the oldest range end still kept is on
 * it: then the same chain's RPC is behind (the indexer waits for it), or the chain reorganised
 * while no indexer ran (the reorg rollback finds the fork point among the kept hashes).
 */
export async function assertSameHistory(client: PublicClient, pool: pg.Pool, chain: ChainConfig, cursor: bigint, cursorHash: Hex | null, log: Common['log']): Promise<void> {
  const head = await client.getBlockNumber()
  if (head >= cursor && (cursorHash === null || (await client.getBlock({ blockNumber: cursor })).hash === cursorHash)) return
  const oldest = await pool.query<{ block_number: string; block_hash: string }>(
    'SELECT block_number::text, block_hash FROM block_hashes WHERE chain_id = $1 ORDER BY block_number LIMIT 1',
    [chain.id],
  )
  const kept = oldest.rows[0]
  if (kept && BigInt(kept.block_number) <= head && (await client.getBlock({ blockNumber: BigInt(kept.block_number) })).hash === kept.block_hash) {
    if (head < cursor) log.warn({ head: head.toString(), indexed: cursor.toString() }, "the chain's RPC answers a head below the block already indexed; waiting for it to catch up")
    return
  }
  const what = `chain ${chain.name} (id ${chain.id})`
  const why =
    head < cursor
      ? `is at block ${head}, below block ${cursor} that this database has already indexed`
      : `holds another block ${cursor} than the one this database indexed (hash ${cursorHash})`
  throw new ConfigError(
    `${what} ${why}, and none of the blocks it kept is on the chain: it is not the chain that was indexed (a local chain started again?); index it into a fresh database (or data folder), or point chains.${chain.name}.rpcUrls at the chain this database indexed`,
    { context: { field: `chains.${chain.name}`, chainId: chain.id, block: cursor } },
  )
}

/** The hash a range ending at `block` was published with, if kept. */
export async function publishedHash(pool: pg.Pool, chainId: number, block: bigint): Promise<Hex | null> {
  const r = await pool.query<{ block_hash: string }>('SELECT block_hash FROM block_hashes WHERE chain_id = $1 AND block_number = $2', [chainId, block.toString()])
  return (r.rows[0]?.block_hash as Hex | undefined) ?? null
}

/** Keeps the hash of a published range's last block; forgets those more than KEPT_HASH_BLOCKS behind. */
export async function recordHash(pool: pg.Pool, chainId: number, block: bigint, hash: Hex): Promise<void> {
  await pool.query(
    `WITH pruned AS (DELETE FROM block_hashes WHERE chain_id = $1 AND block_number < $2::int8 - $4::int8)
     INSERT INTO block_hashes (chain_id, block_number, block_hash) VALUES ($1, $2, $3)
     ON CONFLICT (chain_id, block_number) DO UPDATE SET block_hash = EXCLUDED.block_hash`,
    [chainId, block.toString(), hash, KEPT_HASH_BLOCKS],
  )
}

/** How far behind the cursor published block hashes are kept: the deepest reorg that can be rolled back. */
const KEPT_HASH_BLOCKS = 4096

/** Fork point of a reorg: the latest published range end the chain still holds (found: false when none kept is). */
export async function findFork(pool: pg.Pool, client: PublicClient, chainId: number, cursor: bigint): Promise<{ found: true; block: bigint; hash: Hex } | { found: false; kept: number }> {
  const kept = await pool.query<{ block_number: string; block_hash: string }>(
    'SELECT block_number::text, block_hash FROM block_hashes WHERE chain_id = $1 AND block_number <= $2 ORDER BY block_number DESC',
    [chainId, cursor.toString()],
  )
  for (const row of kept.rows) {
    const b = await client.getBlock({ blockNumber: BigInt(row.block_number) })
    if (b.hash === row.block_hash) return { found: true, block: BigInt(row.block_number), hash: row.block_hash as Hex }
  }
  return { found: false, kept: kept.rows.length }
}

/** Records a reorg rolled back (chain_reorgs: the operational alert) and forgets the hashes above its fork point. */
export async function recordReorg(
  pool: pg.Pool,
  r: { chainId: number; fork: bigint; publishedTo: bigint; orphaned: Hex; canonical: Hex; confirmations: number },
): Promise<void> {
  await withTransaction(pool, async (c) => {
    await c.query(
      `INSERT INTO chain_reorgs (chain_id, fork_block, published_to, depth, orphaned_hash, canonical_hash, confirmations)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [r.chainId, r.fork.toString(), r.publishedTo.toString(), Number(r.publishedTo - r.fork), r.orphaned, r.canonical, r.confirmations],
    )
    await c.query('DELETE FROM block_hashes WHERE chain_id = $1 AND block_number > $2', [r.chainId, r.fork.toString()])
  })
}

/** Every (wallet, token) pair the shards count on a chain. */
export async function trackedPairs(pool: pg.Pool, chainId: number): Promise<Map<Address, Set<Address>>> {
  const tracked = await pool.query<{ wallet: Address; token: Address }>('SELECT DISTINCT wallet, token FROM wallet_balances WHERE chain_id = $1', [chainId])
  const pairs = new Map<Address, Set<Address>>()
  for (const r of tracked.rows) {
    let set = pairs.get(r.wallet)
    if (!set) pairs.set(r.wallet, (set = new Set()))
    set.add(r.token)
  }
  return pairs
}

/**
 * Shards whose queue holds nothing they could apply while their checkpoint for the chain is behind
 * `cursor`: what was published to them after that checkpoint was lost. The queue is read before
 * the checkpoint: a shard with nothing waiting or active has committed every batch it will ever
 * apply, so its checkpoint then shows exactly what was lost.
 */
export async function shardsBehind(publisher: BatchPublisher, pool: pg.Pool, chainId: number, shards: number, cursor: bigint): Promise<{ shard: number; checkpoint: bigint }[]> {
  const pending = await Promise.all(Array.from({ length: shards }, (_, s) => publisher.queue(s).getJobCountByTypes('wait', 'active', 'prioritized')))
  const r = await pool.query<{ shard: number; last_block: string }>('SELECT shard, last_block::text FROM checkpoints WHERE chain_id = $1 AND shard < $2', [chainId, shards])
  return r.rows.filter((c) => pending[c.shard] === 0 && BigInt(c.last_block) < cursor).map((c) => ({ shard: c.shard, checkpoint: BigInt(c.last_block) }))
}
