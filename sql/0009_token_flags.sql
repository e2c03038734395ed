-- Odd tokens, flagged on their `tokens` row so reports and the risk engine can see them:
--   bytes32_symbol   symbol() returns bytes32 (MKR-style), not string
--   no_decimals      decimals() reverted, is missing or returned garbage: amounts stay raw, never priced
--   fee_on_transfer  a transfer delivers less than was sent (a fee or burn leg, or a pool credited
--                    less than the Transfer log said): seen in the indexer's logs, see
--                    detectFeeOnTransfer in src/indexer/token-cache.ts
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS flags text[] NOT NULL DEFAULT '{}';
