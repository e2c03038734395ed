-- daily_pnl: each account's PnL and equity per UTC day (account_risk_1d, sql/0006_aggregates.sql).
--
-- Run it:
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/daily_pnl.sql
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/daily_pnl.sql   (every account)
--   dexrisk report daily_pnl --account alice --since 30d            (the same file, through the CLI)
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name, or '*' for every account
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per account and UTC day whose day starts in [from, to), oldest first.
--   daily_pnl_usd      the engine's daily PnL at the day's last snapshot: total PnL minus its value at
--                      the last computation before the day began
--   total/realized/unrealized_pnl_usd, equity_close_usd   at the day's last snapshot
--   equity_open_usd    at its first; equity_high/low_usd  over the day's snapshots
--   snapshots          risk snapshots (metric computations) that day
SELECT bucket AS day,
       account,
       daily_pnl_close AS daily_pnl_usd,
       total_pnl_close AS total_pnl_usd,
       realized_pnl_close AS realized_pnl_usd,
       unrealized_pnl_close AS unrealized_pnl_usd,
       equity_open AS equity_open_usd,
       equity_high AS equity_high_usd,
       equity_low AS equity_low_usd,
       equity_close AS equity_close_usd,
       snapshots::integer AS snapshots
FROM account_risk_1d
WHERE (:'account' = '*' OR account = :'account')
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
ORDER BY day, account;
