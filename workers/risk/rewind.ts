import type pg from 'pg'

import { BatchError } from '../../src/errors.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/** What a rewind removed, for the log line and the tests. */
export type RewindResult = { swaps: number; trades: number; transfers: number; snapshots: number; prices: number; positionsReversed: number }

/**
 * Rolls one chain of one shard back to `toBlock` after a reorg deeper than the confirmations, in the
 * caller's transaction: the shard's swaps, trades, wallet transfers and position snapshots of that
 * chain above `toBlock` are deleted (shard 0 also deletes the chain's prices, which it alone
 * writes), and the checkpoint moves back to `toBlock` (only from `fromCheckpoint`: the same fence
 * as a batch). The blocks after `toBlock` are then published again from the canonical chain.
 *
 * Positions: with named accounts they are the wallets' balances, and the first range published
 * again carries every tracked (wallet, token) balance at `toBlock`, which sets them back exactly;
 * nothing is reversed here. In 'auto' mode positions are the sum of swaps, so each orphaned swap's
 * quantities are reversed (tokenIn back, tokenOut out). Named limits: the reversal restores
 * quantities exactly, not the cost basis and realized PnL those swaps moved; risk snapshots and
 * alerts written meanwhile stay (they are what the monitor showed at the time), and the price
 * cache keeps the orphaned blocks' last prices until newer ones replace them.
 */
export async function rewindChain(
  db: Queryable,
  opts: { shard: number; chainId: number; toBlock: bigint; fromCheckpoint: bigint; mode: 'auto' | 'named' },
): Promise<RewindResult> {
  const { shard, chainId } = opts
  const to = opts.toBlock.toString()
  const moved = await db.query(
    'UPDATE checkpoints SET last_block = $3, last_block_hash = NULL, updated_at = now() WHERE shard = $1 AND chain_id = $2 AND last_block = $4',
    [shard, chainId, to, opts.fromCheckpoint.toString()],
  )
  if (moved.rowCount !== 1)
    throw new BatchError(`checkpoint of shard ${shard}, chain ${chainId} is not at ${opts.fromCheckpoint}: is another consumer running this shard?`, {
      context: { chainId, shard, block: opts.toBlock },
    })

  let positionsReversed = 0
  if (opts.mode === 'auto') {
    const r = await db.query(
      `WITH gone AS (
         SELECT account, token_in, token_out, amount_in, amount_out FROM swaps
         WHERE chain_id = $1 AND shard = $2 AND block_number > $3 AND account IS NOT NULL
       ), deltas AS (
         SELECT account, token, sum(d) AS d FROM (
           SELECT account, token_in AS token, amount_in AS d FROM gone
           UNION ALL SELECT account, token_out, -amount_out FROM gone
         ) x GROUP BY account, token
       )
       UPDATE positions p SET quantity = p.quantity + deltas.d, updated_block = $3, updated_at = now()
       FROM deltas WHERE p.account = deltas.account AND p.chain_id = $1 AND p.token = deltas.token`,
      [chainId, shard, to],
    )
    positionsReversed = r.rowCount ?? 0
  }
  const del = async (sql: string): Promise<number> => (await db.query(sql, [chainId, shard, to])).rowCount ?? 0
  const swaps = await del('DELETE FROM swaps WHERE chain_id = $1 AND shard = $2 AND block_number > $3')
  const trades = await del('DELETE FROM trades WHERE chain_id = $1 AND shard = $2 AND block_number > $3')
  const transfers = await del('DELETE FROM wallet_transfers WHERE chain_id = $1 AND shard = $2 AND block_number > $3')
  const snapshots = await del('DELETE FROM position_snapshots WHERE chain_id = $1 AND shard = $2 AND block_number > $3')
  const prices = shard === 0 ? (await db.query('DELETE FROM prices WHERE chain_id = $1 AND block_number > $2', [chainId, to])).rowCount ?? 0 : 0
  return { swaps, trades, transfers, snapshots, prices, positionsReversed }
}
