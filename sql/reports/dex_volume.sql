-- dex_volume: swaps and USD volume per UTC day, chain and DEX (dex_volume_1d; for one account,
-- account_dex_volume_1d: sql/0006_aggregates.sql).
--
-- Run it:
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/dex_volume.sql   (every swap)
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/dex_volume.sql (alice's swaps)
--   dexrisk report dex_volume --since 30d
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name: that account's swaps; '*': every swap on the indexed pools, whoever traded
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per UTC day (starting in [from, to)), chain and DEX with swaps, oldest first.
--   swaps          swaps
--   priced_swaps   swaps with a USD value (a swap with no trustworthy price on either side has none)
--   volume_usd     sum of those USD values: a lower bound when priced_swaps < swaps; NULL when none priced
SELECT bucket AS day, chain_id, dex_family, dex_name,
       swaps::integer AS swaps, priced_swaps::integer AS priced_swaps, volume_usd
FROM dex_volume_1d
WHERE :'account' = '*'
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
UNION ALL
SELECT bucket, chain_id, dex_family, dex_name,
       swaps::integer, priced_swaps::integer, volume_usd
FROM account_dex_volume_1d
WHERE :'account' <> '*'
  AND account = :'account'
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
ORDER BY day, chain_id, dex_family, dex_name;
