-- alerts_summary: how often each rule fired and resolved for each account over a period (alerts_1d,
-- sql/0006_aggregates.sql).
--
-- Run it:
--   psql -v account='*' -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/alerts_summary.sql   (every account)
--   psql -v account=alice -v from=2026-01-01 -v to=2026-02-01 -f sql/reports/alerts_summary.sql
--   dexrisk report alerts_summary --since 30d
-- Parameters (psql variables, all required; the CLI fills them from --account, --from/--to/--since):
--   account  an account name, or '*' for every account
--   from     start, inclusive: a date or a timestamp (2026-01-01, 2026-01-01T12:00:00, 2026-01-01 12:00+02);
--            without a UTC offset it is read as UTC, whatever the session's time zone
--   to       end, exclusive, same forms
-- Rows: one per account, rule and severity with alert events on UTC days that start in [from, to)
-- (alert times are block times).
--   fired, resolved       firing and resolving events
--   days                  days with at least one event
--   first_day, last_day   the first and last of those days
SELECT account,
       rule_id,
       severity,
       coalesce(sum(alerts) FILTER (WHERE state = 'firing'), 0)::integer AS fired,
       coalesce(sum(alerts) FILTER (WHERE state = 'resolved'), 0)::integer AS resolved,
       count(DISTINCT bucket)::integer AS days,
       min(bucket) AS first_day,
       max(bucket) AS last_day
FROM alerts_1d
WHERE (:'account' = '*' OR account = :'account')
  AND bucket >= dexrisk_utc(:'from')
  AND bucket < dexrisk_utc(:'to')
GROUP BY account, rule_id, severity
ORDER BY account, rule_id, severity;
