-- With accounts: 'auto' every trader is an account, and an account's trade is its swap: a shard
-- now marks the swap row (is_trade) instead of writing a second copy of it into `trades`. Named
-- accounts keep their `trades` rows; backfilled swaps are neither (they carry an account but were
-- not applied by a shard). `account_trades` is every account's trades, from both.
ALTER TABLE swaps ADD COLUMN IF NOT EXISTS is_trade boolean;
CREATE INDEX IF NOT EXISTS swaps_trade_account_idx ON swaps (account, block_time DESC) WHERE is_trade;

CREATE OR REPLACE VIEW account_trades AS
SELECT block_time, account, shard, chain_id, block_number, tx_hash, log_index, wallet, pool, dex_name,
       token_in, token_out, amount_in, amount_out, amount_usd
FROM trades
UNION ALL
SELECT block_time, account, shard, chain_id, block_number, tx_hash, log_index, trader AS wallet, pool, dex_name,
       token_in, token_out, amount_in, amount_out, amount_usd
FROM swaps
WHERE is_trade;
