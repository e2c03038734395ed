-- var_drawdown_history: each account's value at risk, expected shortfall and drawdown per hour
-- (account_risk_1h, sql/0006_aggregates.sql).
--
-- Run it:
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/var_drawdown_history.sql
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/var_drawdown_history.sql   (every account)
--   dexrisk report var_drawdown_history --account alice --since 7d
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name, or '*' for every account
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per account and hour (with snapshots) that starts in [from, to), oldest first.
--   var95_usd … es99_usd          historical VaR / ES (positive = loss) at the hour's last snapshot
--   var95_max_usd, var99_max_usd  highest VaR at any snapshot of the hour
--   drawdown_usd, drawdown_pct    peak equity minus equity (and its share of the peak) at the last snapshot;
--   …_max                         the deepest during the hour; drawdown_pct is NULL while the peak is 0
--   max_drawdown_usd/_pct         the account's running maximum drawdown at the last snapshot
--   var_incomplete                some snapshot of the hour held unpriced positions, which VaR and ES
--                                 leave out: the hour's VaR and ES are then lower bounds, not safe figures
SELECT bucket AS hour,
       account,
       var95_close AS var95_usd,
       var99_close AS var99_usd,
       es95_close AS es95_usd,
       es99_close AS es99_usd,
       var95_max AS var95_max_usd,
       var99_max AS var99_max_usd,
       drawdown_usd_close AS drawdown_usd,
       drawdown_usd_max AS drawdown_usd_max,
       drawdown_pct_close AS drawdown_pct,
       drawdown_pct_max AS drawdown_pct_max,
       max_drawdown_usd_close AS max_drawdown_usd,
       max_drawdown_pct_close AS max_drawdown_pct,
       unpriced_positions_max > 0 AS var_incomplete
FROM account_risk_1h
WHERE (:'account' = '*' OR account = :'account')
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
ORDER BY hour, account;
