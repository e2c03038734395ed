-- exposure_history: each account's exposure, equity and concentration per hour (account_risk_1h,
-- sql/0006_aggregates.sql).
--
-- Run it:
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/exposure_history.sql
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/exposure_history.sql   (every account)
--   dexrisk report exposure_history --account alice --since 7d
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name, or '*' for every account
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per account and hour (with snapshots) that starts in [from, to), oldest first. Values are at
-- the hour's last snapshot (USD, mark-to-market of priced positions), except:
--   equity_high_usd / equity_low_usd   over the hour's snapshots
--   unpriced_positions_max             most positions without a price at any snapshot of the hour
--   largest_asset_share, hhi           NULL when gross exposure was 0
SELECT bucket AS hour,
       account,
       gross_exposure_close AS gross_exposure_usd,
       net_exposure_close AS net_exposure_usd,
       equity_close AS equity_usd,
       equity_high AS equity_high_usd,
       equity_low AS equity_low_usd,
       largest_asset_share_close AS largest_asset_share,
       hhi_close AS hhi,
       unpriced_positions_max,
       snapshots::integer AS snapshots
FROM account_risk_1h
WHERE (:'account' = '*' OR account = :'account')
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
ORDER BY hour, account;
