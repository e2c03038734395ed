-- Named accounts followed without a restart: the indexers poll a version of the account directory
-- (accounts and their wallets) and pick up a change at their next block range, as the workers do
-- with rules (sql/0003_rules_alerts.sql). A row updated by triggers, not a sequence: it becomes
-- visible only with the change's commit, so an indexer that sees the new version also sees the
-- new accounts and wallets.
CREATE TABLE IF NOT EXISTS accounts_version (
  singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  version          bigint      NOT NULL DEFAULT 0
);
INSERT INTO accounts_version (singleton, version) VALUES (true, 0) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION dexrisk_bump_accounts_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE accounts_version SET version = version + 1;
  RETURN NULL;
END
$$;

-- Statement-level: a change of many wallets in one statement bumps the version once.
CREATE OR REPLACE TRIGGER account_wallets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON account_wallets
  FOR EACH STATEMENT EXECUTE FUNCTION dexrisk_bump_accounts_version();
CREATE OR REPLACE TRIGGER accounts_changed AFTER INSERT OR DELETE OR TRUNCATE ON accounts
  FOR EACH STATEMENT EXECUTE FUNCTION dexrisk_bump_accounts_version();

-- A wallet taken out of an account (removed from it, moved to another, or its account deleted) while
-- its balances were followed: from block_number on its holdings no longer count in the account's
-- positions. Written by the account's shard in the statement of the batch that detached it. A reorg
-- rolled back below the block keeps the row: the ranges published again no longer read the wallet,
-- so the detachment stands, and the row says where it was made.
CREATE TABLE IF NOT EXISTS wallet_detachments (
  chain_id        integer     NOT NULL,
  wallet          text        NOT NULL,
  block_number    bigint      NOT NULL,
  account         text        NOT NULL,
  shard           integer     NOT NULL,
  tokens          integer     NOT NULL,   -- (wallet, token) balances the account stopped counting
  detached_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_id, wallet, block_number)
);
CREATE INDEX IF NOT EXISTS wallet_detachments_account_idx ON wallet_detachments (account, chain_id, block_number);

-- A wallet's balances are keyed by the account that counts them too: a wallet moved from one account
-- to another (on another shard, whose batches commit in any order with this one's) is two rows, the
-- old account's deleted by its shard's detachment and the new one's written by the other shard,
-- never one row both shards write.
ALTER TABLE wallet_balances DROP CONSTRAINT IF EXISTS wallet_balances_pkey;
ALTER TABLE wallet_balances ADD PRIMARY KEY (chain_id, wallet, token, account);
