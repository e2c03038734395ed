-- dexrisk rules and alerts: per-account and default rules, each rule's state per account, the
-- alerts hypertable, and the halted state of accounts (the kill switch).
-- Times of alerts and halts are block times, never the wall clock, so a replay writes the same rows.

-- Rules kept in the database (the built-in defaults live in src/risk/rules.ts; a row here with the
-- same id replaces one). account '' is a default rule for every account: a primary key cannot hold
-- NULL, and '' is never an account name. The metric is checked by the application (parseRule), so
-- adding a metric needs no migration.
CREATE TABLE IF NOT EXISTS rules (
  id               text        NOT NULL CHECK (id ~ '^[A-Za-z0-9_.-]{1,100}$'),
  account          text        NOT NULL DEFAULT '',
  metric           text        NOT NULL,
  op               text        NOT NULL CHECK (op IN ('above', 'below')),
  threshold        double precision NOT NULL,
  severity         text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  cooldown_seconds integer     NOT NULL CHECK (cooldown_seconds >= 0),
  hysteresis       double precision NOT NULL CHECK (hysteresis >= 0),
  action           text        NOT NULL CHECK (action IN ('alert', 'halt')),
  enabled          boolean     NOT NULL DEFAULT true,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, account)
);

-- One number that moves whenever a rule changes or an account is halted or reset, however the
-- change is made (the CLI, the API, plain SQL): workers poll it and reload without a restart.
-- A row updated by triggers, not a sequence: it becomes visible only with the change's commit, so
-- a worker that sees the new version also sees the new rules.
CREATE TABLE IF NOT EXISTS rules_version (
  singleton        boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  version          bigint      NOT NULL DEFAULT 0
);
INSERT INTO rules_version (singleton, version) VALUES (true, 0) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION dexrisk_bump_rules_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE rules_version SET version = version + 1;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE ON rules
  FOR EACH ROW EXECUTE FUNCTION dexrisk_bump_rules_version();
CREATE OR REPLACE TRIGGER rules_truncated AFTER TRUNCATE ON rules
  FOR EACH STATEMENT EXECUTE FUNCTION dexrisk_bump_rules_version();

-- Each rule's state for each account (src/risk/rules.ts RuleState as JSON), written by the worker in
-- the same transaction as the batch that changed it.
CREATE TABLE IF NOT EXISTS rule_states (
  account          text        NOT NULL,
  rule_id          text        NOT NULL,
  state            jsonb       NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, rule_id)
);

-- Every firing and resolution of a rule. A firing and its resolution share the id
-- (<rule>:<account>:<fired at>); the key (id, state, time) makes a replayed batch insert nothing.
CREATE TABLE IF NOT EXISTS alerts (
  time             timestamptz NOT NULL,    -- block time of this event
  id               text        NOT NULL,
  state            text        NOT NULL CHECK (state IN ('firing', 'resolved')),
  account          text        NOT NULL,
  rule_id          text        NOT NULL,
  metric           text        NOT NULL,
  op               text        NOT NULL,
  threshold        double precision NOT NULL,
  hysteresis       double precision NOT NULL,
  severity         text        NOT NULL,
  action           text        NOT NULL,
  value            double precision NOT NULL,
  fired_at         timestamptz NOT NULL,    -- block time of the firing this event belongs to
  chain_id         integer     NOT NULL,
  block_number     bigint      NOT NULL,
  metrics          jsonb       NOT NULL,    -- every rule metric of the account at that moment
  PRIMARY KEY (id, state, time)
);
SELECT create_hypertable('alerts', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS alerts_account_time_idx ON alerts (account, time DESC);

-- The kill switch: an account a 'halt' rule tripped stays halted, across restarts, until an explicit
-- reset (reset_at / reset_by say who lifted it). A new halt replaces the row's details.
CREATE TABLE IF NOT EXISTS account_halts (
  account          text        PRIMARY KEY,
  halted           boolean     NOT NULL,
  reason           text,
  rule_id          text,
  alert_id         text,
  halted_at        timestamptz,             -- block time of the firing that halted it
  chain_id         integer,
  block_number     bigint,
  reset_at         timestamptz,             -- wall clock of the reset
  reset_by         text,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS account_halts_halted_idx ON account_halts (account) WHERE halted;

CREATE OR REPLACE TRIGGER account_halts_added AFTER INSERT OR DELETE ON account_halts
  FOR EACH ROW EXECUTE FUNCTION dexrisk_bump_rules_version();
CREATE OR REPLACE TRIGGER account_halts_changed AFTER UPDATE ON account_halts
  FOR EACH ROW WHEN (OLD.halted IS DISTINCT FROM NEW.halted) EXECUTE FUNCTION dexrisk_bump_rules_version();
