/**
 * The rows of swaps, their trades and price observations: what a shard writes with a batch, and
 * what the backfill writes for history (its swaps make no trades).
 */
import type pg from 'pg'
import type { PriceObservation } from '../domain/types.ts'
import type { RoutedSwap } from '../queue/batch.ts'
import { arrayLiteral } from './array-literal.ts'
import { combine, type Part } from './statement.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/** The swaps of a range, each with its USD value (Dune's amount_usd; null when unpriced). */
export type SwapRows = { chainId: number; swaps: readonly (RoutedSwap & { amountUsd: number | null })[] }
/** The price observations of a range. */
export type PriceRows = { chainId: number; prices: readonly PriceObservation[] }

/**
 * How a swap of an account is recorded as its trade: 'copy' also into `trades` (named accounts),
 * 'mark' by the swap row's is_trade (accounts: 'auto', where every trader is an account: one row
 * per swap, not two), 'none' not at all (the backfill writes history's swaps only: an account's
 * trades are what its shard applied). `account_trades` reads both forms (sql/0014).
 */
export type TradeRows = 'copy' | 'mark' | 'none'

/** Every swap into `swaps`, and the trades of watched accounts (account not null) as `trades` says. */
export async function insertSwapsAndTrades(db: Queryable, shard: number, e: SwapRows, trades: TradeRows = 'copy'): Promise<void> {
  await db.query(combine([swapsPart(shard, e, trades)], 'SELECT 1'))
}

export function swapsPart(shard: number, e: SwapRows, trades: TradeRows = 'copy'): Part {
  const s = e.swaps
  return {
    ctes: `sw AS (
       SELECT to_timestamp(t) AS bt, b, bh, tx, li, df, dn, pl, tr, se, re, ti, tou, ai, ao, di, dout, usd, sp, lq, tk, r0, r1, acc
       FROM unnest($1::float8[], $4::int8[], $5::text[], $6::text[], $7::int4[], $8::text[], $9::text[], $10::text[],
         $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::numeric[], $17::numeric[], $18::int4[],
         $19::int4[], $20::float8[], $21::numeric[], $22::numeric[], $23::int4[], $24::numeric[], $25::numeric[], $26::text[])
         AS u(t, b, bh, tx, li, df, dn, pl, tr, se, re, ti, tou, ai, ao, di, dout, usd, sp, lq, tk, r0, r1, acc)
     ), sw_in AS (
       INSERT INTO swaps (block_time, chain_id, block_number, block_hash, tx_hash, log_index, dex_family, dex_name,
         pool, trader, sender, recipient, token_in, token_out, amount_in, amount_out, decimals_in, decimals_out,
         amount_usd, sqrt_price_x96, liquidity, tick, reserve0, reserve1, account, shard, is_trade)
       SELECT bt, $2, b, bh, tx, li, df, dn, pl, tr, se, re, ti, tou, ai, ao, di, dout, usd, sp, lq, tk, r0, r1, acc, $3,
         CASE WHEN acc IS NOT NULL AND $28::bool THEN true END
       FROM sw
       ON CONFLICT DO NOTHING
     ), sw_trades AS (
       INSERT INTO trades (block_time, account, shard, chain_id, block_number, tx_hash, log_index, wallet, pool, dex_name,
         token_in, token_out, amount_in, amount_out, amount_usd)
       SELECT bt, acc, $3, $2, b, tx, li, tr, pl, dn, ti, tou, ai, ao, usd
       FROM sw WHERE acc IS NOT NULL AND $27::bool
       ON CONFLICT DO NOTHING
     )`,
    params: [
      arrayLiteral(s.map((x) => x.blockTime)),
      e.chainId,
      shard,
      arrayLiteral(s.map((x) => x.blockNumber)),
      arrayLiteral(s.map((x) => x.blockHash)),
      arrayLiteral(s.map((x) => x.txHash)),
      arrayLiteral(s.map((x) => x.logIndex)),
      arrayLiteral(s.map((x) => x.dex.family)),
      arrayLiteral(s.map((x) => x.dex.name)),
      arrayLiteral(s.map((x) => x.pool)),
      arrayLiteral(s.map((x) => x.trader)),
      arrayLiteral(s.map((x) => x.sender)),
      arrayLiteral(s.map((x) => x.recipient)),
      arrayLiteral(s.map((x) => x.tokenIn)),
      arrayLiteral(s.map((x) => x.tokenOut)),
      arrayLiteral(s.map((x) => x.amountIn)),
      arrayLiteral(s.map((x) => x.amountOut)),
      arrayLiteral(s.map((x) => x.decimalsIn)),
      arrayLiteral(s.map((x) => x.decimalsOut)),
      arrayLiteral(s.map((x) => x.amountUsd)),
      arrayLiteral(s.map((x) => x.sqrtPriceX96)),
      arrayLiteral(s.map((x) => x.liquidity)),
      arrayLiteral(s.map((x) => x.tick)),
      arrayLiteral(s.map((x) => x.reserve0)),
      arrayLiteral(s.map((x) => x.reserve1)),
      arrayLiteral(s.map((x) => x.account)),
      trades === 'copy',
      trades === 'mark',
    ],
  }
}

export async function insertPrices(db: Queryable, e: PriceRows): Promise<void> {
  await db.query(combine([pricesPart(e)], 'SELECT 1'))
}

/**
 * The price rows of a range: one per pool and block, its last observation in the block (the close
 * the candles and reports read; the price cache itself takes every observation, in order).
 */
export function pricesPart(e: PriceRows): Part {
  const last = new Map<string, PriceObservation>()
  for (const x of e.prices) {
    const key = `${x.pool}|${x.blockNumber}`
    last.delete(key)
    last.set(key, x)
  }
  const p = [...last.values()]
  return {
    ctes: `pr_in AS (
       INSERT INTO prices (block_time, chain_id, block_number, tx_hash, log_index, pool, base, quote, price, quote_depth)
       SELECT to_timestamp(t), $2, b, tx, li, pl, ba, qu, pr, qd
       FROM unnest($1::float8[], $3::int8[], $4::text[], $5::int4[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[])
         AS u(t, b, tx, li, pl, ba, qu, pr, qd)
       ON CONFLICT DO NOTHING
     )`,
    params: [
      arrayLiteral(p.map((x) => x.blockTime)),
      e.chainId,
      arrayLiteral(p.map((x) => x.blockNumber)),
      arrayLiteral(p.map((x) => x.txHash)),
      arrayLiteral(p.map((x) => x.logIndex)),
      arrayLiteral(p.map((x) => x.pool)),
      arrayLiteral(p.map((x) => x.base)),
      arrayLiteral(p.map((x) => x.quote)),
      arrayLiteral(p.map((x) => x.price)),
      arrayLiteral(p.map((x) => x.quoteDepth)),
    ],
  }
}

