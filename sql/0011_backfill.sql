-- `dexrisk backfill`: each block range it has read and written, in the same transaction as that
-- range's swaps and prices. A run resumes by reading only what no row covers, and ends by checking
-- that rows cover every block it was asked for. `dexes` names the DEXes the range was read for
-- (their configured names, sorted, comma-separated; '*' for every DEX of the chain).
CREATE TABLE IF NOT EXISTS backfill_ranges (
  chain_id     integer     NOT NULL,
  dexes        text        NOT NULL,
  from_block   bigint      NOT NULL,
  to_block     bigint      NOT NULL,
  swaps        integer     NOT NULL,
  prices       integer     NOT NULL,
  done_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, dexes, from_block),
  CHECK (to_block >= from_block)
);
