-- A continuous aggregate built on another (price_candles_1h on price_candles_1m, account_risk_1d on
-- account_risk_1h) must refresh after its parent: refreshed first, it reads buckets the parent has
-- not materialized yet and lags a whole schedule behind. With a server, TimescaleDB's background
-- workers run separate policies concurrently, in no order; the embedded runner ran them in job id
-- order only by the accident of creation order. So each chain is one job that refreshes its steps
-- in order, committing after each (a step's refresh needs its own transaction), with the windows
-- the separate policies had (sql/0006_aggregates.sql):
--   price_candles_1m then price_candles_1h     every 1 minute   windows 7 days .. 5 minutes, 7 days .. 1 hour
--   account_risk_1h then account_risk_1d       every 15 minutes windows 7 days .. 1 hour, 14 days .. 1 hour
-- Refreshing a child whose parent changed nothing costs almost nothing (only invalidated buckets
-- are recomputed), so the hourly candles refreshing every minute is cheap.
CREATE OR REPLACE PROCEDURE dexrisk_refresh_chain(job_id int, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  step jsonb;
BEGIN
  FOR step IN SELECT value FROM jsonb_array_elements(config -> 'steps') LOOP
    CALL refresh_continuous_aggregate((step ->> 'view')::regclass,
      now() - (step ->> 'start_offset')::interval, now() - (step ->> 'end_offset')::interval);
    COMMIT;
  END LOOP;
END
$$;

SELECT remove_continuous_aggregate_policy(v, if_exists => true)
FROM unnest(ARRAY['price_candles_1m', 'price_candles_1h', 'account_risk_1h', 'account_risk_1d']::regclass[]) AS v;

-- add_job has no if_not_exists: a chain job is added only when none of that name exists.
SELECT add_job('dexrisk_refresh_chain', INTERVAL '1 minute', config => '{"name": "price_candles", "steps": [
    {"view": "price_candles_1m", "start_offset": "7 days", "end_offset": "5 minutes"},
    {"view": "price_candles_1h", "start_offset": "7 days", "end_offset": "1 hour"}]}'::jsonb)
WHERE NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'dexrisk_refresh_chain' AND config ->> 'name' = 'price_candles');
SELECT add_job('dexrisk_refresh_chain', INTERVAL '15 minutes', config => '{"name": "account_risk", "steps": [
    {"view": "account_risk_1h", "start_offset": "7 days", "end_offset": "1 hour"},
    {"view": "account_risk_1d", "start_offset": "14 days", "end_offset": "1 hour"}]}'::jsonb)
WHERE NOT EXISTS (SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'dexrisk_refresh_chain' AND config ->> 'name' = 'account_risk');
