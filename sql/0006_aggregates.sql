-- dexrisk:no-transaction
-- Continuous aggregates (what reports and Grafana read), and the compression, retention and refresh
-- policies of the raw hypertables. Runs statement by statement outside a transaction (continuous
-- aggregates and CALL refresh_continuous_aggregate need that), so every statement is idempotent.
--
-- Aggregates (all real-time, timescaledb.materialized_only = false: a query returns the materialized
-- buckets plus, computed from the raw rows, everything after the aggregate's watermark):
--   price_candles_1m       prices, per (chain, base, quote) minute: OHLC, observations
--   price_candles_1h       hierarchical on price_candles_1m
--   account_risk_1h        risk_snapshots, per account hour: equity OHLC, PnL, exposure, VaR/ES,
--                          drawdown, concentration (…_close = last value, …_max = highest value)
--   account_risk_1d        hierarchical on account_risk_1h, per account UTC day
--   dex_volume_1d          swaps, per (chain, dex family, dex name) UTC day: every swap
--   account_dex_volume_1d  the same per watched account (swaps with an account)
--   alerts_1d              alerts, per (account, rule, severity, state) UTC day
-- "first"/"last" follow block order, not only time: (block_time, block_number, log_index) for
-- prices, (time, chain_id, block_number) for risk snapshots, so several rows at one block time
-- still give one well-defined open and close. A hierarchical aggregate takes first/last of its
-- parent's open/close by bucket, which gives the same value as on the raw rows.
--
-- What "real-time" does and does not promise: rows written after an aggregate's watermark show at
-- once. A row written into an already materialized bucket (a late block, a backfill) shows after the
-- next refresh of that bucket's window: at most one schedule_interval later, if the bucket is within
-- the policy's start_offset. After a backfill older than that, refresh the range by hand (never over
-- a range whose raw rows retention has dropped: see below).
--
-- Refresh policies (window = [now − start_offset, now − end_offset], only changed buckets are
-- recomputed, so a wide window costs little):
--   price_candles_1m       every 1 minute,   window 7 days .. 5 minutes
--   price_candles_1h       every 15 minutes, window 7 days .. 1 hour
--   account_risk_1h        every 15 minutes, window 7 days .. 1 hour
--   account_risk_1d        every 1 hour,     window 14 days .. 1 hour   (covers account_risk_1h's window)
--   dex_volume_1d, account_dex_volume_1d, alerts_1d
--                          every 1 hour,     window 7 days .. 1 hour
-- The end offsets leave the newest buckets to the real-time part, so a block written a few minutes
-- late (ingest lag) still shows at once. With DATABASE_URL the server's background workers run these
-- jobs; in embedded mode no background worker runs and the monitor runs them (src/db/policy-runner.ts).
-- They are created in dependency order (1m before 1h, 1h before 1d): the embedded runner runs due jobs
-- in job id order, so a parent is refreshed before its child in the same round.
--
-- Compression: every raw hypertable, chunks older than 7 days. A risk desk reads the last week raw
-- (replays, incident review) and older data through the aggregates; 7 days keeps a late block or a
-- replay of the last week on uncompressed chunks. Segments follow the queries: swaps by (chain_id,
-- dex_name), prices by (chain_id, base) (a token's price history), account tables by account, all
-- ordered by time, newest first. Writes into a compressed chunk still work, ON CONFLICT DO NOTHING
-- included (a backfill of old blocks, a replayed batch): TimescaleDB decompresses the batches that
-- could hold the key and checks it (test/db/policy-runner.test.ts).
--
-- Retention (drop_after), only where the raw rows are summarized in the aggregates or re-derivable:
--   prices               90 days   summarized in price_candles_1m/1h; re-derivable from chain logs
--   risk_snapshots       90 days   summarized in account_risk_1h/1d; re-derivable by replaying the
--                                  trades (design decision 3); the per-batch metrics JSON goes with them
--   position_snapshots   365 days  re-derivable from trades and wallet_transfers (kept); a year of
--                                  per-batch position history covers a desk's audit period
--   swaps, trades, wallet_transfers, alerts: never dropped by default. They are the record the rest
--     is derived from (dex.trades-like history, an account's trades and transfers) and the audit trail
--     (alerts); compression keeps them small. Add a retention policy yourself if you must:
--     SELECT add_retention_policy('swaps', INTERVAL '365 days');
-- Every retention is longer than every refresh window (14 days at most): refreshing an aggregate over
-- a range whose raw rows were dropped deletes its materialized rows there. So never run
-- CALL refresh_continuous_aggregate(…, NULL, …) once retention has dropped chunks.
-- Change a default with remove_retention_policy / add_retention_policy (or the compression and
-- refresh equivalents) in psql or a later migration; never edit this file.

-- Report times: a date or timestamp without a UTC offset is read as UTC, whatever the session's
-- TimeZone (sql/reports/*.sql: bucket >= dexrisk_utc(:'from')).
CREATE OR REPLACE FUNCTION dexrisk_utc(t text) RETURNS timestamptz
  LANGUAGE sql STABLE PARALLEL SAFE SET timezone = 'UTC'
  RETURN t::timestamptz;

-- Ordering keys for first()/last(): one sortable scalar, not a row. A row value (time, chain, block)
-- works until a query spans several chunks: TimescaleDB then aggregates chunk by chunk and must
-- serialize each partial state, and an anonymous row type has no binary input ("input of anonymous
-- composite types is not implemented"). numeric has, and keeps the same order exactly.
-- Risk snapshots: time (µs), then chain id, then block (each < 10^11).
CREATE OR REPLACE FUNCTION dexrisk_snapshot_order(t timestamptz, chain_id integer, block_number bigint) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000) * 10000000000000000000000 + chain_id::numeric * 100000000000 + block_number;
-- Prices, within one chain: block, then log index (a chain's block time never decreases).
CREATE OR REPLACE FUNCTION dexrisk_log_order(block_number bigint, log_index integer) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN block_number::numeric * 1000000 + log_index;

CREATE MATERIALIZED VIEW IF NOT EXISTS price_candles_1m
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', block_time) AS bucket,
       chain_id,
       base,
       quote,
       first(price, dexrisk_log_order(block_number, log_index)) AS open,
       max(price) AS high,
       min(price) AS low,
       last(price, dexrisk_log_order(block_number, log_index)) AS close,
       count(*) AS observations
FROM prices
GROUP BY 1, 2, 3, 4
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS price_candles_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       chain_id,
       base,
       quote,
       first(open, bucket) AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, bucket) AS close,
       sum(observations)::bigint AS observations
FROM price_candles_1m
GROUP BY 1, 2, 3, 4
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS account_risk_1h
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket,
       account,
       first(equity_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS equity_open,
       max(equity_usd) AS equity_high,
       min(equity_usd) AS equity_low,
       last(equity_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS equity_close,
       last(total_pnl_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS total_pnl_close,
       last(realized_pnl_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS realized_pnl_close,
       last(unrealized_pnl_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS unrealized_pnl_close,
       last(daily_pnl_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS daily_pnl_close,
       last(gross_exposure_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS gross_exposure_close,
       last(net_exposure_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS net_exposure_close,
       last(var95_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS var95_close,
       last(var99_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS var99_close,
       last(es95_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS es95_close,
       last(es99_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS es99_close,
       max(var95_usd) AS var95_max,
       max(var99_usd) AS var99_max,
       max(drawdown_usd) AS drawdown_usd_max,
       max(drawdown_pct) AS drawdown_pct_max,
       last(max_drawdown_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS max_drawdown_usd_close,
       max(largest_asset_share) AS largest_asset_share_max,
       max(hhi) AS hhi_max,
       count(*) AS snapshots,
       -- added beyond the agreed columns (same names in account_risk_1d):
       last(drawdown_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS drawdown_usd_close,
       last(drawdown_pct, dexrisk_snapshot_order(time, chain_id, block_number)) AS drawdown_pct_close,
       last(max_drawdown_pct, dexrisk_snapshot_order(time, chain_id, block_number)) AS max_drawdown_pct_close,
       last(largest_asset_share, dexrisk_snapshot_order(time, chain_id, block_number)) AS largest_asset_share_close,
       last(hhi, dexrisk_snapshot_order(time, chain_id, block_number)) AS hhi_close,
       last(parametric_var95_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS parametric_var95_close,
       last(parametric_var99_usd, dexrisk_snapshot_order(time, chain_id, block_number)) AS parametric_var99_close,
       max(unpriced_positions) AS unpriced_positions_max
FROM risk_snapshots
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS account_risk_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
       account,
       first(equity_open, bucket) AS equity_open,
       max(equity_high) AS equity_high,
       min(equity_low) AS equity_low,
       last(equity_close, bucket) AS equity_close,
       last(total_pnl_close, bucket) AS total_pnl_close,
       last(realized_pnl_close, bucket) AS realized_pnl_close,
       last(unrealized_pnl_close, bucket) AS unrealized_pnl_close,
       last(daily_pnl_close, bucket) AS daily_pnl_close,
       last(gross_exposure_close, bucket) AS gross_exposure_close,
       last(net_exposure_close, bucket) AS net_exposure_close,
       last(var95_close, bucket) AS var95_close,
       last(var99_close, bucket) AS var99_close,
       last(es95_close, bucket) AS es95_close,
       last(es99_close, bucket) AS es99_close,
       max(var95_max) AS var95_max,
       max(var99_max) AS var99_max,
       max(drawdown_usd_max) AS drawdown_usd_max,
       max(drawdown_pct_max) AS drawdown_pct_max,
       last(max_drawdown_usd_close, bucket) AS max_drawdown_usd_close,
       max(largest_asset_share_max) AS largest_asset_share_max,
       max(hhi_max) AS hhi_max,
       sum(snapshots)::bigint AS snapshots,
       last(drawdown_usd_close, bucket) AS drawdown_usd_close,
       last(drawdown_pct_close, bucket) AS drawdown_pct_close,
       last(max_drawdown_pct_close, bucket) AS max_drawdown_pct_close,
       last(largest_asset_share_close, bucket) AS largest_asset_share_close,
       last(hhi_close, bucket) AS hhi_close,
       last(parametric_var95_close, bucket) AS parametric_var95_close,
       last(parametric_var99_close, bucket) AS parametric_var99_close,
       max(unpriced_positions_max) AS unpriced_positions_max
FROM account_risk_1h
GROUP BY 1, 2
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS dex_volume_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', block_time) AS bucket,
       chain_id,
       dex_family,
       dex_name,
       count(*) AS swaps,
       count(amount_usd) AS priced_swaps,
       sum(amount_usd) AS volume_usd
FROM swaps
GROUP BY 1, 2, 3, 4
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS account_dex_volume_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', block_time) AS bucket,
       account,
       chain_id,
       dex_family,
       dex_name,
       count(*) AS swaps,
       count(amount_usd) AS priced_swaps,
       sum(amount_usd) AS volume_usd
FROM swaps
WHERE account IS NOT NULL
GROUP BY 1, 2, 3, 4, 5
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS alerts_1d
  WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', time) AS bucket,
       account,
       rule_id,
       severity,
       state,
       count(*) AS alerts
FROM alerts
GROUP BY 1, 2, 3, 4, 5
WITH NO DATA;

-- First materialization of everything already stored (a deployment upgraded to this migration):
-- the first policy run only covers its window and moves the watermark past older rows. Parents
-- before children. Runs before any retention policy exists, so no raw range is missing yet.
CALL refresh_continuous_aggregate('price_candles_1m', NULL, now() - INTERVAL '5 minutes');
CALL refresh_continuous_aggregate('price_candles_1h', NULL, now() - INTERVAL '1 hour');
CALL refresh_continuous_aggregate('account_risk_1h', NULL, now() - INTERVAL '1 hour');
CALL refresh_continuous_aggregate('account_risk_1d', NULL, now() - INTERVAL '1 hour');
CALL refresh_continuous_aggregate('dex_volume_1d', NULL, now() - INTERVAL '1 hour');
CALL refresh_continuous_aggregate('account_dex_volume_1d', NULL, now() - INTERVAL '1 hour');
CALL refresh_continuous_aggregate('alerts_1d', NULL, now() - INTERVAL '1 hour');

SELECT add_continuous_aggregate_policy('price_candles_1m', start_offset => INTERVAL '7 days', end_offset => INTERVAL '5 minutes',
  schedule_interval => INTERVAL '1 minute', if_not_exists => true);
SELECT add_continuous_aggregate_policy('price_candles_1h', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('account_risk_1h', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('account_risk_1d', start_offset => INTERVAL '14 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '1 hour', if_not_exists => true);
SELECT add_continuous_aggregate_policy('dex_volume_1d', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '1 hour', if_not_exists => true);
SELECT add_continuous_aggregate_policy('account_dex_volume_1d', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '1 hour', if_not_exists => true);
SELECT add_continuous_aggregate_policy('alerts_1d', start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
  schedule_interval => INTERVAL '1 hour', if_not_exists => true);

-- Compression settings cannot change while compressed chunks exist, so each is set only when the
-- hypertable has none yet (a second run changes nothing).
DO $$
DECLARE
  s record;
BEGIN
  FOR s IN SELECT * FROM (VALUES
      ('swaps', 'chain_id, dex_name', 'block_time DESC, tx_hash, log_index'),
      ('prices', 'chain_id, base', 'block_time DESC, block_number DESC, log_index DESC'),
      ('trades', 'account, chain_id', 'block_time DESC, tx_hash, log_index'),
      ('position_snapshots', 'account', 'time DESC, chain_id, token, block_number'),
      ('risk_snapshots', 'account', 'time DESC, chain_id, block_number'),
      ('wallet_transfers', 'account, chain_id', 'block_time DESC, tx_hash, log_index, wallet'),
      ('alerts', 'account', 'time DESC, id, state')
    ) AS v(hypertable, segmentby, orderby)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables h
                   WHERE h.hypertable_schema = current_schema() AND h.hypertable_name = s.hypertable AND h.compression_enabled) THEN
      EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, timescaledb.compress_orderby = %L)',
        s.hypertable, s.segmentby, s.orderby);
    END IF;
  END LOOP;
END
$$;

SELECT add_compression_policy('swaps', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('prices', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('trades', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('position_snapshots', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('risk_snapshots', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('wallet_transfers', compress_after => INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('alerts', compress_after => INTERVAL '7 days', if_not_exists => true);

SELECT add_retention_policy('prices', drop_after => INTERVAL '90 days', if_not_exists => true);
SELECT add_retention_policy('risk_snapshots', drop_after => INTERVAL '90 days', if_not_exists => true);
SELECT add_retention_policy('position_snapshots', drop_after => INTERVAL '365 days', if_not_exists => true);
