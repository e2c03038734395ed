-- dexrisk core schema: swaps, prices, trades and position snapshots as hypertables; pools, tokens,
-- current positions and per-(shard, chain) checkpoints as plain tables.
-- Token amounts are NUMERIC(78,0) (a uint256 fits), never a float. Every write is idempotent on its key.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS tokens (
  chain_id        integer     NOT NULL,
  address         text        NOT NULL,
  decimals        integer,                 -- NULL: decimals() reverted or is missing
  symbol          text,
  error           text,                    -- why decimals/symbol could not be read
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, address)
);

CREATE TABLE IF NOT EXISTS pools (
  chain_id        integer     NOT NULL,
  address         text        NOT NULL,
  dex_family      text        NOT NULL,
  dex_name        text        NOT NULL,
  token0          text        NOT NULL,
  token1          text        NOT NULL,
  fee             integer,                 -- V3 fee in hundredths of a bip; NULL for V2
  created_block   bigint      NOT NULL,
  PRIMARY KEY (chain_id, address)
);

-- Every normalized swap on indexed pools (Dune dex.trades naming in comments).
CREATE TABLE IF NOT EXISTS swaps (
  block_time      timestamptz NOT NULL,
  chain_id        integer     NOT NULL,
  block_number    bigint      NOT NULL,
  block_hash      text        NOT NULL,
  tx_hash         text        NOT NULL,    -- tx_hash
  log_index       integer     NOT NULL,    -- evt_index
  dex_family      text        NOT NULL,
  dex_name        text        NOT NULL,    -- project / version
  pool            text        NOT NULL,    -- project_contract_address
  trader          text        NOT NULL,    -- taker: the transaction sender
  sender          text        NOT NULL,    -- the event's sender (usually a router)
  recipient       text        NOT NULL,
  token_in        text        NOT NULL,    -- token_sold_address
  token_out       text        NOT NULL,    -- token_bought_address
  amount_in       numeric(78,0) NOT NULL,  -- token_sold_amount_raw
  amount_out      numeric(78,0) NOT NULL,  -- token_bought_amount_raw
  decimals_in     integer,
  decimals_out    integer,
  amount_usd      double precision,        -- NULL when neither side has a trustworthy price
  sqrt_price_x96  numeric(78,0),
  liquidity       numeric(78,0),
  tick            integer,
  reserve0        numeric(78,0),
  reserve1        numeric(78,0),
  account         text,                    -- the watched account of the trader, if any
  shard           integer     NOT NULL,
  PRIMARY KEY (chain_id, tx_hash, log_index, block_time)
);
SELECT create_hypertable('swaps', by_range('block_time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS swaps_chain_block_idx ON swaps (chain_id, block_number DESC);

-- Price observations from pools: price of base in quote units, and the USD price it implied.
CREATE TABLE IF NOT EXISTS prices (
  block_time      timestamptz NOT NULL,
  chain_id        integer     NOT NULL,
  block_number    bigint      NOT NULL,
  tx_hash         text        NOT NULL,
  log_index       integer     NOT NULL,
  pool            text        NOT NULL,
  base            text        NOT NULL,
  quote           text        NOT NULL,
  price           double precision NOT NULL,
  quote_depth     double precision,
  PRIMARY KEY (chain_id, tx_hash, log_index, block_time)
);
SELECT create_hypertable('prices', by_range('block_time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS prices_base_idx ON prices (chain_id, base, block_time DESC);

-- Swaps attributed to accounts (one row per swap whose trader belongs to an account).
CREATE TABLE IF NOT EXISTS trades (
  block_time      timestamptz NOT NULL,
  account         text        NOT NULL,
  shard           integer     NOT NULL,
  chain_id        integer     NOT NULL,
  block_number    bigint      NOT NULL,
  tx_hash         text        NOT NULL,
  log_index       integer     NOT NULL,
  wallet          text        NOT NULL,
  pool            text        NOT NULL,
  dex_name        text        NOT NULL,
  token_in        text        NOT NULL,
  token_out       text        NOT NULL,
  amount_in       numeric(78,0) NOT NULL,
  amount_out      numeric(78,0) NOT NULL,
  amount_usd      double precision,
  PRIMARY KEY (account, chain_id, tx_hash, log_index, block_time)
);
SELECT create_hypertable('trades', by_range('block_time', INTERVAL '1 day'), if_not_exists => TRUE);

-- A position after each batch that changed it.
CREATE TABLE IF NOT EXISTS position_snapshots (
  time            timestamptz NOT NULL,
  account         text        NOT NULL,
  shard           integer     NOT NULL,
  chain_id        integer     NOT NULL,
  token           text        NOT NULL,
  block_number    bigint      NOT NULL,
  quantity        numeric(78,0) NOT NULL,
  cost_usd        double precision NOT NULL,
  realized_pnl_usd double precision NOT NULL,
  price_usd       double precision,        -- NULL: unpriced at that block
  PRIMARY KEY (account, chain_id, token, block_number, time)
);
SELECT create_hypertable('position_snapshots', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE);

-- Current positions: the worker's hot state, written in the same transaction as the checkpoint.
CREATE TABLE IF NOT EXISTS positions (
  account         text        NOT NULL,
  chain_id        integer     NOT NULL,
  token           text        NOT NULL,
  shard           integer     NOT NULL,
  quantity        numeric(78,0) NOT NULL,
  cost_usd        double precision NOT NULL,
  realized_pnl_usd double precision NOT NULL,
  unpriced_cost   boolean     NOT NULL DEFAULT false,  -- some trades had no USD price
  updated_block   bigint      NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, chain_id, token)
);
CREATE INDEX IF NOT EXISTS positions_shard_idx ON positions (shard);

-- Last block applied per (shard, chain), with the shard's price cache for that chain as of that block.
CREATE TABLE IF NOT EXISTS checkpoints (
  shard           integer     NOT NULL,
  chain_id        integer     NOT NULL,
  last_block      bigint      NOT NULL,
  last_block_hash text,
  price_cache     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shard, chain_id)
);

-- Logs that matched a known event on a known pool but could not be decoded: kept, never dropped.
CREATE TABLE IF NOT EXISTS rejected_logs (
  chain_id        integer     NOT NULL,
  block_number    bigint      NOT NULL,
  block_hash      text        NOT NULL,
  tx_hash         text        NOT NULL,
  log_index       integer     NOT NULL,
  address         text        NOT NULL,
  topics          text[]      NOT NULL,
  data            text        NOT NULL,
  reason          text        NOT NULL,
  seen_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, tx_hash, log_index)
);

-- How far each factory's pool-creation events have been scanned (pools before the indexing start).
CREATE TABLE IF NOT EXISTS factory_scans (
  chain_id        integer     NOT NULL,
  factory         text        NOT NULL,
  scanned_to      bigint      NOT NULL,
  PRIMARY KEY (chain_id, factory)
);

-- Facts fixed for the life of a deployment (the shard count: accounts live on shard hash % count).
CREATE TABLE IF NOT EXISTS deployment (
  key             text        PRIMARY KEY,
  value           text        NOT NULL
);
