-- Webhook endpoints and the record of every delivery (workers/webhook). Plain tables: a few rows per
-- alert, read by id. Deliveries keep no foreign key to their endpoint, so deleting an endpoint keeps
-- its delivery history.
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id              text        PRIMARY KEY,
  account         text,                    -- NULL: every account
  url             text        NOT NULL,
  secret          text        NOT NULL,    -- Standard Webhooks secret: 'whsec_' + base64 key
  event_types     text[],                  -- NULL: every event type
  enabled         boolean     NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_account_idx ON webhook_endpoints (account);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id              text        PRIMARY KEY, -- the message id: webhook-id header and BullMQ job id
  endpoint_id     text        NOT NULL,
  type            text        NOT NULL,
  payload         jsonb       NOT NULL,
  event_at        timestamptz NOT NULL,    -- when the event happened (the body's timestamp)
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  -- why a delivery is dead: 'refused' (SSRF guard), 'rejected' (4xx other than 408/429),
  -- 'exhausted' (last try failed), 'endpoint-missing', 'endpoint-disabled'
  dead_reason     text,
  attempts        integer     NOT NULL DEFAULT 0,
  last_status     integer,                 -- last HTTP status; NULL when no response came
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC);
CREATE INDEX IF NOT EXISTS webhook_deliveries_undelivered_idx ON webhook_deliveries (status, updated_at) WHERE status <> 'delivered';
