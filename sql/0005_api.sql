-- The API's tables: accounts and their wallets as the API and CLI manage them, and API keys.

-- Named accounts. Those the config declares are written here at every start (source 'config') and
-- are read-only through the API (change the config); the API and CLI create the others ('api').
CREATE TABLE IF NOT EXISTS accounts (
  name            text        PRIMARY KEY,
  source          text        NOT NULL CHECK (source IN ('config', 'api')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A wallet (lowercase address) belongs to at most one account, on every chain.
CREATE TABLE IF NOT EXISTS account_wallets (
  wallet          text        PRIMARY KEY,
  account         text        NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
  added_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS account_wallets_account_idx ON account_wallets (account);

-- API keys: only a SHA-256 of the secret is kept (the secret is 32 random bytes, so a fast hash
-- is as safe as a slow one and costs nothing per request). 'admin' keys manage every account;
-- an 'account' key sees its own account and nothing else.
CREATE TABLE IF NOT EXISTS api_keys (
  id              text        PRIMARY KEY,              -- public, shown in lists and logs
  hash            text        NOT NULL UNIQUE,          -- hex SHA-256 of the whole key
  role            text        NOT NULL CHECK (role IN ('admin', 'account')),
  account         text,
  label           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz,
  CHECK ((role = 'admin') = (account IS NULL))
);
CREATE INDEX IF NOT EXISTS api_keys_account_idx ON api_keys (account);
