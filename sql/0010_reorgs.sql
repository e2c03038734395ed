-- Reorg tracking. The indexer keeps the hash of the last block of every range it published (recent
-- ones only: it prunes what lies more than 4096 blocks behind), so that when the chain under a
-- published block changes it finds the last block both chains share (the fork point). Every reorg
-- deeper than the confirmation window is recorded in chain_reorgs: the operational alert.
CREATE TABLE IF NOT EXISTS block_hashes (
  chain_id      integer NOT NULL,
  block_number  bigint  NOT NULL,
  block_hash    text    NOT NULL,
  PRIMARY KEY (chain_id, block_number)
);

CREATE TABLE IF NOT EXISTS chain_reorgs (
  id              bigserial   PRIMARY KEY,
  detected_at     timestamptz NOT NULL DEFAULT now(),
  chain_id        integer     NOT NULL,
  fork_block      bigint      NOT NULL,   -- last block both chains share: everything after it was rolled back
  published_to    bigint      NOT NULL,   -- last block published before the reorg was seen
  depth           integer     NOT NULL,   -- published blocks rolled back (published_to - fork_block)
  orphaned_hash   text        NOT NULL,   -- the published hash that is no longer on the chain
  canonical_hash  text,                   -- the chain's hash at that height now
  confirmations   integer     NOT NULL    -- the chain's confirmation depth then (a reorg deeper than it)
);
CREATE INDEX IF NOT EXISTS chain_reorgs_chain_idx ON chain_reorgs (chain_id, detected_at DESC);
