-- top_concentrations: accounts ranked by how concentrated their exposure got over a period
-- (account_risk_1h, sql/0006_aggregates.sql; the largest asset's name from the raw risk_snapshots).
--
-- Run it:
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/top_concentrations.sql   (every account)
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/top_concentrations.sql
--   dexrisk report top_concentrations --since 7d
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name, or '*' for every account
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per account with snapshots in hours that start in [from, to), most concentrated first
-- (largest_asset_share_max, then hhi_max; accounts never exposed, with NULL shares, last).
--   largest_asset_share_max, hhi_max   highest largest-asset share of gross exposure and HHI (Σ share²)
--   largest_asset_share, hhi, gross_exposure_usd   at the period's last snapshot
--   largest_asset, largest_asset_gross_usd   the asset with the most gross exposure at that last snapshot,
--                                      read from the raw risk_snapshots (NULL once retention dropped it)
--   last_snapshot_at                   time of that snapshot
WITH period AS (
  SELECT account,
         max(largest_asset_share_max) AS largest_asset_share_max,
         max(hhi_max) AS hhi_max,
         last(largest_asset_share_close, bucket) AS largest_asset_share,
         last(hhi_close, bucket) AS hhi,
         last(gross_exposure_close, bucket) AS gross_exposure_usd,
         max(bucket) AS last_hour
  FROM account_risk_1h
  WHERE (:'account' = '*' OR account = :'account')
    AND bucket >= dexrisk_utc(:'from')
    AND bucket < dexrisk_utc(:'to')
  GROUP BY account
)
SELECT p.account,
       p.largest_asset_share_max,
       p.hhi_max,
       p.largest_asset_share,
       p.hhi,
       p.gross_exposure_usd,
       a.asset AS largest_asset,
       a.gross_usd AS largest_asset_gross_usd,
       s.time AS last_snapshot_at
FROM period p
LEFT JOIN LATERAL (
  SELECT r.time, r.metrics
  FROM risk_snapshots r
  WHERE r.account = p.account
    AND r.time >= p.last_hour
    AND r.time < p.last_hour + INTERVAL '1 hour'
  ORDER BY r.time DESC, r.chain_id DESC, r.block_number DESC
  LIMIT 1
) s ON true
LEFT JOIN LATERAL (
  SELECT e->>'asset' AS asset, (e->>'grossUsd')::float8 AS gross_usd
  FROM jsonb_array_elements(s.metrics->'exposureByAsset') e
  ORDER BY (e->>'grossUsd')::float8 DESC, e->>'asset'
  LIMIT 1
) a ON true
ORDER BY p.largest_asset_share_max DESC NULLS LAST, p.hhi_max DESC NULLS LAST, p.account;
