/**
 * The expansion of Grafana's PostgreSQL macros that the panel tests rely on, checked against the
 * outputs Grafana's own tests expect (pkg/tsdb/grafana-postgresql-datasource/macros_test.go, with
 * TimescaleDB on) and against the browser's variable substitution (SqlDatasource.interpolateVariable).
 */
import { describe, expect, it } from 'vitest'
import { formatInterval, GrafanaSqlError, interpolateGrafanaSql, panelIntervalMs, parseIntervalMs, rfc3339Nano, type GrafanaQueryContext } from '../setup/grafana-sql.ts'

const from = new Date(Date.UTC(2018, 3, 12, 18, 0, 0))
const to = new Date(from.getTime() + 5 * 60_000)
const ctx: GrafanaQueryContext = { from, to, intervalMs: 600_000, variables: { account: "o'brien" } }
const expand = (sql: string, c: Partial<GrafanaQueryContext> = {}): string => interpolateGrafanaSql(sql, { ...ctx, ...c })

describe('interpolateGrafanaSql', () => {
  it('expands $__timeFilter, $__timeFrom and $__timeTo to RFC 3339 UTC literals, as Grafana does', () => {
    expect(expand('WHERE $__timeFilter(time_column)')).toBe("WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'")
    expect(expand('select $__timeFrom()')).toBe("select '2018-04-12T18:00:00Z'")
    expect(expand('select $__timeTo()')).toBe("select '2018-04-12T18:05:00Z'")
    const half = { from: new Date(Date.UTC(1960, 1, 1, 7, 0, 0, 500)), to: new Date(Date.UTC(1980, 1, 3, 8, 0, 0, 500)) }
    expect(expand('WHERE $__timeFilter(t)', half)).toBe("WHERE t BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'")
  })

  it('expands $__timeGroup to time_bucket with seconds to three decimals, and $__timeGroupAlias with AS "time"', () => {
    expect(expand("GROUP BY $__timeGroup(time_column,'5m')")).toBe("GROUP BY time_bucket('300.000s',time_column)")
    expect(expand("GROUP BY $__timeGroup(time_column , '5m')")).toBe("GROUP BY time_bucket('300.000s',time_column)")
    expect(expand("GROUP BY $__timeGroup(time_column , '12d')")).toBe("GROUP BY time_bucket('1036800.000s',time_column)")
    expect(expand("GROUP BY $__timeGroup(time_column , '20ms')")).toBe("GROUP BY time_bucket('0.020s',time_column)")
    expect(expand("SELECT $__timeGroupAlias(time_column,'5m')")).toBe(`SELECT time_bucket('300.000s',time_column) AS "time"`)
  })

  it('aliases a $__timeGroup followed directly by a comma (Grafana before 5.3), not one followed by anything else', () => {
    expect(expand("SELECT $__timeGroup(time_column,'5m'), value")).toBe(`SELECT time_bucket('300.000s',time_column) AS "time", value`)
    expect(expand("SELECT $__timeGroup(time_column,'5m') as time, value")).toBe("SELECT time_bucket('300.000s',time_column) as time, value")
  })

  it('replaces $__interval with the largest whole unit and $__interval_ms with milliseconds, before the macros', () => {
    expect(expand('SELECT $__timeGroupAlias(t, $__interval), $__interval_ms')).toBe(`SELECT time_bucket('600.000s',t) AS "time", 600000`)
    expect(expand("'$__interval'", { intervalMs: 90_000 })).toBe("'1m'")
    expect([formatInterval(20), formatInterval(1000), formatInterval(7_200_000), formatInterval(86_400_000), formatInterval(400 * 86_400_000)]).toEqual(['20ms', '1s', '2h', '1d', '1y'])
    expect([parseIntervalMs('1h30m'), parseIntervalMs('20ms'), parseIntervalMs('2d')]).toEqual([5_400_000, 20, 172_800_000])
  })

  it('puts a single-value variable in as its text with quotes doubled, whether written $name or ${name}', () => {
    expect(expand("WHERE account = '$account' OR account = '${account}'")).toBe("WHERE account = 'o''brien' OR account = 'o''brien'")
  })

  it('refuses an unknown macro, an unknown variable, and a $ inside a SQL comment', () => {
    expect(() => expand('WHERE $__unixEpochFilter(t)')).toThrow(new GrafanaSqlError('unknown macro "__unixEpochFilter"'))
    expect(() => expand('SELECT $__range_s')).toThrow(GrafanaSqlError)
    expect(() => expand("WHERE chain = '$chain'")).toThrow(/no template variable named chain/)
    expect(() => expand('SELECT 1 -- per $__interval')).toThrow(/comment/)
    expect(expand("SELECT '-- not a comment' AS x")).toBe("SELECT '-- not a comment' AS x")
  })

  it('gives a panel the interval Grafana computes: range / max data points, rounded, at least the panel minimum', () => {
    const day = { from: new Date(0), to: new Date(86_400_000) }
    expect(panelIntervalMs(day.from, day.to, 1000)).toBe(60_000)
    expect(panelIntervalMs(day.from, day.to, 1000, '5m')).toBe(300_000)
    expect(panelIntervalMs(day.from, new Date(7 * 86_400_000), 1000)).toBe(600_000)
    expect(rfc3339Nano(new Date(Date.UTC(2025, 2, 14, 12, 0, 0, 120)))).toBe('2025-03-14T12:00:00.12Z')
  })
})
