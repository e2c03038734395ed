-- dexrisk risk engine: watched wallets' balances and transfers (named accounts), per-account risk
-- state, risk metric snapshots, and each shard's asset return history.

-- A watched wallet's balance of a token as its shard last applied it (token 0xeeee…eeee: ether).
CREATE TABLE IF NOT EXISTS wallet_balances (
  chain_id        integer     NOT NULL,
  wallet          text        NOT NULL,
  token           text        NOT NULL,
  account         text        NOT NULL,
  shard           integer     NOT NULL,
  balance         numeric(78,0) NOT NULL,
  block_number    bigint      NOT NULL,
  PRIMARY KEY (chain_id, wallet, token)
);
CREATE INDEX IF NOT EXISTS wallet_balances_shard_idx ON wallet_balances (shard);

-- Logged balance changes of watched wallets: ERC20 transfers in and out, WETH wraps and unwraps.
CREATE TABLE IF NOT EXISTS wallet_transfers (
  block_time      timestamptz NOT NULL,
  chain_id        integer     NOT NULL,
  block_number    bigint      NOT NULL,
  tx_hash         text        NOT NULL,
  log_index       integer     NOT NULL,
  wallet          text        NOT NULL,
  account         text        NOT NULL,
  shard           integer     NOT NULL,
  token           text        NOT NULL,
  counterparty    text        NOT NULL,
  kind            text        NOT NULL,    -- transfer | deposit | withdrawal
  delta           numeric(78,0) NOT NULL,  -- signed, from the wallet's side
  amount_usd      double precision,        -- |delta| at the price of the moment; NULL: unpriced
  PRIMARY KEY (chain_id, tx_hash, log_index, wallet, block_time)
);
SELECT create_hypertable('wallet_transfers', by_range('block_time', INTERVAL '7 days'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS wallet_transfers_account_idx ON wallet_transfers (account, block_time DESC);

-- Per-account risk state carried from batch to batch: peak equity, drawdown, day start (state),
-- and the last 24 hours of trades for the velocity windows (trades: written only when it changed).
CREATE TABLE IF NOT EXISTS account_risk_state (
  account         text        PRIMARY KEY,
  shard           integer     NOT NULL,
  state           jsonb       NOT NULL,
  trades          jsonb,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS account_risk_state_shard_idx ON account_risk_state (shard);

-- An account's risk metrics as computed after a batch (block time), for history, reports and Grafana.
CREATE TABLE IF NOT EXISTS risk_snapshots (
  time                  timestamptz NOT NULL,
  account               text        NOT NULL,
  shard                 integer     NOT NULL,
  chain_id              integer     NOT NULL,   -- the chain whose batch triggered the computation
  block_number          bigint      NOT NULL,
  equity_usd            double precision,
  gross_exposure_usd    double precision,
  net_exposure_usd      double precision,
  unpriced_positions    integer     NOT NULL,
  largest_asset_share   double precision,
  hhi                   double precision,
  realized_pnl_usd      double precision,
  unrealized_pnl_usd    double precision,
  total_pnl_usd         double precision,
  daily_pnl_usd         double precision,
  drawdown_usd          double precision,
  drawdown_pct          double precision,
  max_drawdown_usd      double precision,
  max_drawdown_pct      double precision,
  var95_usd             double precision,
  var99_usd             double precision,
  es95_usd              double precision,
  es99_usd              double precision,
  parametric_var95_usd  double precision,
  parametric_var99_usd  double precision,
  swaps_24h             integer,
  volume_24h_usd        double precision,
  var_method            text,
  metrics               jsonb       NOT NULL,   -- every metric, and exposure by token, asset and chain
  PRIMARY KEY (account, chain_id, block_number, time)
);
SELECT create_hypertable('risk_snapshots', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE);

-- Each shard's asset return history (bucket closes per asset), so a restart keeps its VaR window,
-- and the shard's clock (latest block time it applied on any chain), so it resumes at the same time.
CREATE TABLE IF NOT EXISTS return_history (
  shard           integer     PRIMARY KEY,
  history         jsonb       NOT NULL,
  clock           double precision,
  chain_times     jsonb,                   -- chain id → latest block time applied on that chain
  updated_at      timestamptz NOT NULL DEFAULT now()
);
