-- State a worker carries from batch to batch, as rows keyed by what changed instead of whole-state
-- blobs rewritten by every batch: a batch now writes the rows of the accounts it recomputed, the
-- return series of the assets it repriced, and the price cache entries of the tokens it observed.
-- The blobs of 0001/0002 are copied over once (each statement below runs twice without harm) and
-- then no longer written: account_risk_state, return_history.history, checkpoints.price_cache.

-- An account's carried risk state (AccountRiskState without its trade window, which a worker
-- rebuilds at start from the last 24 hours of `trades`), and the block times of its last
-- computation and of its last risk snapshot row.
CREATE TABLE IF NOT EXISTS account_risk (
  account             text        PRIMARY KEY,
  shard               integer     NOT NULL,
  peak_equity_usd     double precision,
  max_drawdown_usd    double precision NOT NULL,
  max_drawdown_pct    double precision,
  day                 integer,
  day_start_pnl_usd   double precision NOT NULL,
  last_total_pnl_usd  double precision NOT NULL,
  trade_clock         double precision,
  computed_at         double precision NOT NULL,
  snapshot_at         double precision
);
CREATE INDEX IF NOT EXISTS account_risk_shard_idx ON account_risk (shard);

INSERT INTO account_risk (account, shard, peak_equity_usd, max_drawdown_usd, max_drawdown_pct, day, day_start_pnl_usd,
  last_total_pnl_usd, trade_clock, computed_at, snapshot_at)
SELECT account, shard,
  (state->'state'->>'peakEquityUsd')::float8,
  COALESCE((state->'state'->>'maxDrawdownUsd')::float8, 0),
  (state->'state'->>'maxDrawdownPct')::float8,
  (state->'state'->>'day')::integer,
  COALESCE((state->'state'->>'dayStartPnlUsd')::float8, 0),
  COALESCE((state->'state'->>'lastTotalPnlUsd')::float8, 0),
  (state->'state'->>'clock')::float8,
  (state->>'computedAt')::float8,
  (state->>'computedAt')::float8
FROM account_risk_state
ON CONFLICT (account) DO NOTHING;

-- One row per (shard, asset) of the return history: its last close, the open period's price, the
-- time of its last observation and its returns (oldest first, at most the window). The open period
-- itself is return_history.bucket.
CREATE TABLE IF NOT EXISTS return_series (
  shard               integer     NOT NULL,
  asset               text        NOT NULL,
  close               double precision,
  pending             double precision,
  last_time           double precision NOT NULL,
  returns             double precision[] NOT NULL,
  PRIMARY KEY (shard, asset)
);

ALTER TABLE return_history ADD COLUMN IF NOT EXISTS bucket bigint;
ALTER TABLE return_history ALTER COLUMN history DROP NOT NULL;

INSERT INTO return_series (shard, asset, close, pending, last_time, returns)
SELECT h.shard, a.key, (a.value->>'close')::float8, (a.value->>'pending')::float8, (a.value->>'lastTime')::float8,
  ARRAY(SELECT x::float8 FROM jsonb_array_elements_text(a.value->'returns') WITH ORDINALITY AS r(x, i) ORDER BY i)
FROM return_history h, jsonb_each(h.history->'assets') a
WHERE h.history IS NOT NULL
ON CONFLICT (shard, asset) DO NOTHING;

UPDATE return_history SET bucket = (history->>'bucket')::bigint WHERE bucket IS NULL AND history IS NOT NULL;

-- A shard's price cache of a chain, one row per token: the token's kept pool prices, best first.
CREATE TABLE IF NOT EXISTS price_entries (
  shard               integer     NOT NULL,
  chain_id            integer     NOT NULL,
  token               text        NOT NULL,
  entries             jsonb       NOT NULL,
  PRIMARY KEY (shard, chain_id, token)
);

INSERT INTO price_entries (shard, chain_id, token, entries)
SELECT c.shard, c.chain_id, e.key, e.value
FROM checkpoints c, jsonb_each(c.price_cache) e
ON CONFLICT (shard, chain_id, token) DO NOTHING;
