import type pg from 'pg'
import type { Address } from 'viem'
import { arrayLiteral } from '../../src/db/array-literal.ts'
import { combine, type Part } from '../../src/db/statement.ts'
import { pricesPart, swapsPart, type TradeRows } from '../../src/db/swap-rows.ts'
import { BatchError } from '../../src/errors.ts'
import type { BatchEffects, ShardState } from './apply-batch.ts'
import { emptyShardState, noteCost, positionKey, setWalletBalance, type WalletBalance } from './apply-batch.ts'
import type { Position } from './position.ts'
import { PriceCache, type ChainPricing, type PriceCacheJson, type PriceGuards } from './price-cache.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/**
 * Writes one batch's effects: swaps, trades, prices (shard 0 writes the prices every shard sees),
 * the price cache entries of the tokens the batch observed, position snapshots, current positions
 * and the checkpoint, as one statement (with `extra` parts, e.g. the batch's risk rows): atomic on
 * its own, so a batch is applied entirely or not at all, with or without a transaction around it.
 * Every insert is idempotent on its key.
 *
 * Measured on the embedded database (bench/pipeline.ts), a batch's cost is getting its parameters
 * into Postgres and the round trips: each row set is sent once, arrays as literals built here
 * rather than by pg's per-element escaping, and every row set of the batch in one statement
 * (src/db/statement.ts).
 */
export async function writeBatchEffects(db: Queryable, shard: number, e: BatchEffects, extra: readonly Part[] = [], trades: TradeRows = 'copy'): Promise<void> {
  const parts: Part[] = []
  if (e.swaps.length > 0) parts.push(swapsPart(shard, e, trades))
  if (shard === 0 && e.prices.length > 0) parts.push(pricesPart(e))
  if (e.prices.length > 0) parts.push(priceEntriesPart(shard, e))
  if (e.positions.length > 0) parts.push(positionsPart(shard, e))
  if (e.transfers.length > 0) parts.push(transfersPart(shard, e))
  if (e.walletBalancesGone.length > 0 || e.detached.some((d) => d.tokens.length > 0)) parts.push(detachedPart(shard, e))
  if (e.walletBalances.length > 0) parts.push(walletBalancesPart(shard, e))
  parts.push(checkpointPart(shard, e), ...extra)
  // The checkpoint moves only from the block this batch was computed against: if another consumer
  // of the shard moved it meanwhile (two workers for one shard during a rolling deploy), nothing
  // matched, and the statement raises (sql/0013_batch_fence.sql), undoing all it wrote, and the
  // shard stops, instead of writing positions computed from stale memory over newer ones.
  const fence = {
    ctes: `fence AS (SELECT CASE WHEN (SELECT count(*) FROM cp) = 1 THEN 1 ELSE dexrisk_checkpoint_moved($1, $2, $3) END AS moved)`,
    params: [shard, e.chainId, e.previousCheckpoint === null ? 'none' : e.previousCheckpoint.toString()],
  }
  try {
    await db.query(combine([...parts, fence], 'SELECT moved FROM fence'))
  } catch (err) {
    if ((err as { code?: unknown }).code !== CHECKPOINT_MOVED) throw err
    throw new BatchError('the checkpoint moved under this worker: is another consumer running this shard?', {
      context: { chainId: e.chainId, shard, block: e.fromBlock },
      details: `expected the checkpoint at ${e.previousCheckpoint ?? 'none'} before applying ${e.fromBlock}-${e.toBlock}`,
      cause: err,
    })
  }
}

/** SQLSTATE of dexrisk_checkpoint_moved (sql/0013_batch_fence.sql). */
const CHECKPOINT_MOVED = 'DXR01'

/** Whether a shard stopped because it lost the checkpoint fence (another consumer applied the batch first). */
export function isCheckpointMoved(err: unknown): boolean {
  return err instanceof BatchError && (err.cause as { code?: unknown } | undefined)?.code === CHECKPOINT_MOVED
}

/** Moves the shard's checkpoint (CTE `cp`: one row when it moved from the expected block). */
function checkpointPart(shard: number, e: BatchEffects): Part {
  const params = [shard, e.chainId, e.toBlock.toString(), e.toBlockHash]
  return e.previousCheckpoint === null
    ? {
        ctes: `cp AS (INSERT INTO checkpoints (shard, chain_id, last_block, last_block_hash, updated_at)
           VALUES ($1, $2, $3, $4, now()) ON CONFLICT (shard, chain_id) DO NOTHING RETURNING 1)`,
        params,
      }
    : {
        ctes: `cp AS (UPDATE checkpoints SET last_block = $3, last_block_hash = $4, updated_at = now()
           WHERE shard = $1 AND chain_id = $2 AND last_block = $5 RETURNING 1)`,
        params: [...params, e.previousCheckpoint.toString()],
      }
}

/**
 * The price cache as rows keyed by token: only the tokens this batch observed can have changed
 * (PriceCache.observe touches the base and quote of each observation), so only theirs are written,
 * and a token the cache no longer prices loses its row.
 */
function priceEntriesPart(shard: number, e: BatchEffects): Part {
  const tokens = [...new Set(e.prices.flatMap((p) => [p.base, p.quote]))].sort()
  const entries = tokens.map((t) => e.priceCache.tokenJSON(t))
  return {
    ctes: `pe AS (SELECT * FROM unnest($3::text[], $4::jsonb[]) AS u(tok, ent)),
     pe_gone AS (DELETE FROM price_entries p USING pe WHERE pe.ent IS NULL AND p.shard = $1 AND p.chain_id = $2 AND p.token = pe.tok),
     pe_in AS (
       INSERT INTO price_entries (shard, chain_id, token, entries)
       SELECT $1, $2, tok, ent FROM pe WHERE ent IS NOT NULL
       ON CONFLICT (shard, chain_id, token) DO UPDATE SET entries = EXCLUDED.entries
     )`,
    params: [shard, e.chainId, arrayLiteral(tokens), entries.map((x) => (x === null ? null : JSON.stringify(x)))],
  }
}

/** A snapshot of every position the batch changed, and the same rows upserted as current positions. */
function positionsPart(shard: number, e: BatchEffects): Part {
  const c = e.positions
  return {
    ctes: `po AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::float8[], $5::float8[], $6::bool[], $7::int8[], $8::float8[], $9::float8[])
         AS u(acc, tok, q, cost, pnl, unp, b, px, t)
     ), po_snap AS (
       INSERT INTO position_snapshots (time, account, shard, chain_id, token, block_number, quantity, cost_usd, realized_pnl_usd, price_usd)
       SELECT to_timestamp(t), acc, $10, $11, tok, b, q, cost, pnl, px
       FROM po
       ON CONFLICT DO NOTHING
     ), po_cur AS (
       INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, unpriced_cost, updated_block, updated_at)
       SELECT acc, $11, tok, $10, q, cost, pnl, unp, b, now()
       FROM po
       ON CONFLICT (account, chain_id, token) DO UPDATE
         SET quantity = EXCLUDED.quantity, cost_usd = EXCLUDED.cost_usd, realized_pnl_usd = EXCLUDED.realized_pnl_usd,
             unpriced_cost = EXCLUDED.unpriced_cost, updated_block = EXCLUDED.updated_block, shard = EXCLUDED.shard,
             updated_at = now()
     )`,
    params: [
      arrayLiteral(c.map((x) => x.account)),
      arrayLiteral(c.map((x) => x.token)),
      arrayLiteral(c.map((x) => x.position.quantity)),
      arrayLiteral(c.map((x) => x.position.costUsd)),
      arrayLiteral(c.map((x) => x.position.realizedPnlUsd)),
      arrayLiteral(c.map((x) => x.position.unpricedCost)),
      arrayLiteral(c.map((x) => x.position.updatedBlock)),
      arrayLiteral(c.map((x) => x.priceUsd)),
      arrayLiteral(c.map((x) => x.blockTime)),
      shard,
      e.chainId,
    ],
  }
}

function transfersPart(shard: number, e: BatchEffects): Part {
  const t = e.transfers
  return {
    ctes: `tf_in AS (
       INSERT INTO wallet_transfers (block_time, chain_id, block_number, tx_hash, log_index, wallet, account, shard, token,
         counterparty, kind, delta, amount_usd)
       SELECT to_timestamp(t), $2, b, tx, li, w, acc, $3, tok, cp, k, d, usd
       FROM unnest($1::float8[], $4::int8[], $5::text[], $6::int4[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
         $12::numeric[], $13::float8[]) AS u(t, b, tx, li, w, acc, tok, cp, k, d, usd)
       ON CONFLICT DO NOTHING
     )`,
    params: [
      arrayLiteral(t.map((x) => x.blockTime)),
      e.chainId,
      shard,
      arrayLiteral(t.map((x) => x.blockNumber)),
      arrayLiteral(t.map((x) => x.txHash)),
      arrayLiteral(t.map((x) => x.logIndex)),
      arrayLiteral(t.map((x) => x.wallet)),
      arrayLiteral(t.map((x) => x.account)),
      arrayLiteral(t.map((x) => x.token)),
      arrayLiteral(t.map((x) => x.counterparty)),
      arrayLiteral(t.map((x) => x.kind)),
      arrayLiteral(t.map((x) => x.delta)),
      arrayLiteral(t.map((x) => x.amountUsd)),
    ],
  }
}

function walletBalancesPart(shard: number, e: BatchEffects): Part {
  const w = e.walletBalances
  return {
    ctes: `wb_in AS (
       INSERT INTO wallet_balances (chain_id, wallet, token, account, shard, balance, block_number)
       SELECT $1, w, tok, acc, $2, bal, b FROM unnest($3::text[], $4::text[], $5::text[], $6::numeric[], $7::int8[]) AS u(w, tok, acc, bal, b)
       ON CONFLICT (chain_id, wallet, token, account) DO UPDATE
         SET balance = EXCLUDED.balance, block_number = EXCLUDED.block_number, shard = EXCLUDED.shard
     )`,
    params: [
      e.chainId,
      shard,
      arrayLiteral(w.map((x) => x.wallet)),
      arrayLiteral(w.map((x) => x.token)),
      arrayLiteral(w.map((x) => x.account)),
      arrayLiteral(w.map((x) => x.balance)),
      arrayLiteral(w.map((x) => x.block)),
    ],
  }
}

/**
 * Wallets detached from their accounts: the balances they stopped counting are deleted (this
 * shard's rows of that account only: the wallet's new account may already have its own), and each
 * detachment is recorded.
 */
function detachedPart(shard: number, e: BatchEffects): Part {
  const g = e.walletBalancesGone
  // A detachment that took nothing (the wallet held nothing this shard counted for that account) is not recorded.
  const d = e.detached.filter((x) => x.tokens.length > 0)
  return {
    ctes: `wb_gone AS (
       DELETE FROM wallet_balances x USING unnest($3::text[], $4::text[], $5::text[]) AS u(w, tok, acc)
       WHERE x.chain_id = $1 AND x.shard = $2 AND x.wallet = u.w AND x.token = u.tok AND x.account = u.acc
     ), wd_in AS (
       INSERT INTO wallet_detachments (chain_id, wallet, block_number, account, shard, tokens)
       SELECT $1, w, b, acc, $2, n FROM unnest($6::text[], $7::int8[], $8::text[], $9::int4[]) AS u(w, b, acc, n)
       ON CONFLICT (chain_id, wallet, block_number) DO NOTHING
     )`,
    params: [
      e.chainId,
      shard,
      arrayLiteral(g.map((x) => x.wallet)),
      arrayLiteral(g.map((x) => x.token)),
      arrayLiteral(g.map((x) => x.account)),
      arrayLiteral(d.map((x) => x.wallet)),
      arrayLiteral(d.map((x) => x.block)),
      arrayLiteral(d.map((x) => x.account)),
      arrayLiteral(d.map((x) => x.tokens.length)),
    ],
  }
}

/** Loads a shard's state (positions, checkpoints, price caches) as last committed. */
export async function loadShardState(
  db: Queryable,
  shard: number,
  pricingOf: (chainId: number) => ChainPricing,
  guards?: Partial<PriceGuards>,
): Promise<ShardState> {
  const state = emptyShardState(shard)
  const wb = await db.query<{ chain_id: number; wallet: string; token: string; account: string; balance: string; block_number: string }>(
    'SELECT chain_id, wallet, token, account, balance::text, block_number::text FROM wallet_balances WHERE shard = $1',
    [shard],
  )
  for (const r of wb.rows) {
    const b: WalletBalance = {
      chainId: r.chain_id,
      wallet: r.wallet as Address,
      token: r.token as Address,
      account: r.account,
      balance: BigInt(r.balance),
      block: BigInt(r.block_number),
    }
    setWalletBalance(state, b)
  }
  const cps = await db.query<{ chain_id: number; last_block: string }>('SELECT chain_id, last_block FROM checkpoints WHERE shard = $1', [shard])
  for (const r of cps.rows) {
    state.checkpoints.set(r.chain_id, BigInt(r.last_block))
    state.priceCaches.set(r.chain_id, await loadPriceCache(db, shard, r.chain_id, pricingOf(r.chain_id), guards))
  }
  const pos = await db.query<{
    account: string
    chain_id: number
    token: string
    quantity: string
    cost_usd: number
    realized_pnl_usd: number
    unpriced_cost: boolean
    updated_block: string
  }>(
    `SELECT account, chain_id, token, quantity::text, cost_usd, realized_pnl_usd, unpriced_cost, updated_block
     FROM positions WHERE shard = $1`,
    [shard],
  )
  // Positions last changed in the same block share one bigint for it (a shard may hold millions).
  const blocks = new Map<string, bigint>()
  const blockOf = (b: string): bigint => {
    let n = blocks.get(b)
    if (n === undefined) blocks.set(b, (n = BigInt(b)))
    return n
  }
  for (const r of pos.rows) {
    let m = state.positions.get(r.account)
    if (!m) state.positions.set(r.account, (m = new Map()))
    const p: Position = {
      quantity: BigInt(r.quantity),
      costUsd: r.cost_usd,
      realizedPnlUsd: r.realized_pnl_usd,
      unpricedCost: r.unpriced_cost,
      updatedBlock: blockOf(r.updated_block),
    }
    m.set(positionKey(r.chain_id, r.token as Address), p)
    noteCost(state.uncosted, r.chain_id, r.token as Address, r.account, p)
  }
  return state
}

/**
 * One chain's checkpoint of a shard, read when the shard meets a chain it has no checkpoint for in
 * memory (the indexer seeded it after this worker loaded its state): the gap check and the
 * checkpoint fence then work from the first batch on.
 */
export async function loadCheckpoint(
  db: Queryable,
  shard: number,
  chainId: number,
  pricing: ChainPricing,
  guards?: Partial<PriceGuards>,
): Promise<{ block: bigint; priceCache: PriceCache } | null> {
  const r = await db.query<{ last_block: string }>('SELECT last_block FROM checkpoints WHERE shard = $1 AND chain_id = $2', [shard, chainId])
  const row = r.rows[0]
  return row ? { block: BigInt(row.last_block), priceCache: await loadPriceCache(db, shard, chainId, pricing, guards) } : null
}

/** A shard's price cache of one chain, from its rows. */
async function loadPriceCache(db: Queryable, shard: number, chainId: number, pricing: ChainPricing, guards?: Partial<PriceGuards>): Promise<PriceCache> {
  const r = await db.query<{ token: string; entries: PriceCacheJson[string] }>('SELECT token, entries FROM price_entries WHERE shard = $1 AND chain_id = $2', [shard, chainId])
  return PriceCache.fromJSON(pricing, Object.fromEntries(r.rows.map((x) => [x.token, x.entries])), guards)
}
