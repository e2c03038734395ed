/**
 * What Grafana does to a PostgreSQL panel's `rawSql` before the database sees it, so a test can run
 * the dashboards' SQL as Grafana would. Three steps, in Grafana's order:
 *
 * 1. the browser replaces template variables (templateSrv.replace with SqlDatasource's
 *    interpolateVariable): a single-value variable goes in as its text with `'` doubled and no
 *    quotes added, so SQL writes `'$account'`; `$__interval` / `$__interval_ms` are scoped
 *    variables of the panel query;
 * 2. the backend's global substitutions (sqleng `Interpolate`): `$__interval_ms`, `$__interval`
 *    (gtime.FormatInterval), `$__unixEpochFrom()`, `$__unixEpochTo()`;
 * 3. the PostgreSQL macro engine (pkg/tsdb/grafana-postgresql-datasource/macros.go) with
 *    `timescaledb: true`: every `$name(args)` (regex `\$([_a-zA-Z0-9]+)\(([^\)]*)\)`, arguments split
 *    on `,` and trimmed of spaces) becomes SQL, and an unknown name is an error.
 *
 * Only the macros the dexrisk dashboards use are implemented; any other `$__…` is refused with the
 * macro's name, so a dashboard that starts using one fails its test until it is added here.
 * Grafana 11 and 12 expand macros inside SQL comments too (a newer version strips comments first),
 * so `$` in a comment is refused as well: the behaviour would depend on the Grafana version.
 */

/** The time range and interval of one panel query, as Grafana computes them. */
export type GrafanaQueryContext = {
  from: Date
  to: Date
  /** The panel's interval in milliseconds (see `panelIntervalMs`). */
  intervalMs: number
  /** Template variables by name, single-valued (no multi-value, no "All"), as their current text. */
  variables: Readonly<Record<string, string>>
}

export class GrafanaSqlError extends Error {
  override name = 'GrafanaSqlError'
}

/** The three steps above: the SQL Grafana would send to PostgreSQL for this query. */
export function interpolateGrafanaSql(rawSql: string, ctx: GrafanaQueryContext): string {
  refuseDollarInComments(rawSql)
  const withVariables = replaceTemplateVariables(rawSql, ctx)
  const global = globalSubstitutions(withVariables, ctx)
  return expandMacros(global, ctx)
}

// --- 1. template variables (browser) -------------------------------------------------------------

// templateSrv's variable regex: $name, [[name(:format)]], ${name(.path)(:format)}.
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g

function replaceTemplateVariables(sql: string, ctx: GrafanaQueryContext): string {
  const scoped: Record<string, string> = {
    __interval: formatInterval(ctx.intervalMs),
    __interval_ms: String(ctx.intervalMs),
  }
  return sql.replace(VARIABLE, (match, plain?: string, bracket?: string, bracketFormat?: string, braced?: string, path?: string, format?: string) => {
    const name = (plain ?? bracket ?? braced) as string
    if (bracketFormat !== undefined || path !== undefined || format !== undefined)
      throw new GrafanaSqlError(`${match}: variable formats and paths are not implemented here; use $${name} or \${${name}}`)
    const value = scoped[name] ?? ctx.variables[name]
    if (value !== undefined) return value.replace(/'/g, "''")
    // Not a variable: Grafana leaves it for the backend ($__timeFilter …); anything else is a typo.
    if (name.startsWith('__')) return match
    throw new GrafanaSqlError(`${match}: no template variable named ${name} (known: ${Object.keys(ctx.variables).join(', ') || 'none'})`)
  })
}

// --- 2. backend global substitutions (sqleng.Interpolate) ------------------------------------

function globalSubstitutions(sql: string, ctx: GrafanaQueryContext): string {
  return sql
    .replaceAll('$__interval_ms', String(ctx.intervalMs))
    .replaceAll('$__interval', formatInterval(ctx.intervalMs))
    .replaceAll('$__unixEpochFrom()', String(Math.floor(ctx.from.getTime() / 1000)))
    .replaceAll('$__unixEpochTo()', String(Math.floor(ctx.to.getTime() / 1000)))
}

// --- 3. the PostgreSQL macro engine ------------------------------------------------------------

const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g

function expandMacros(sql: string, ctx: GrafanaQueryContext): string {
  const expanded = sql.replace(MACRO, (whole, name: string, rawArgs: string) => {
    let macro = name
    // Pre-5.3 compatibility, as Grafana does it: a $__timeGroup(...) whose first occurrence in the
    // query is followed directly by ',' gets the alias.
    if (macro === '__timeGroup') {
      const at = sql.indexOf(whole)
      if (at >= 0 && sql[at + whole.length] === ',') macro = '__timeGroupAlias'
    }
    const args = rawArgs.split(',').map((a) => a.replace(/^ +| +$/g, ''))
    return evaluateMacro(macro, args, ctx)
  })
  const left = /\$__\w+/.exec(expanded)
  if (left) throw new GrafanaSqlError(`${left[0]}: not a macro implemented here (Grafana would send it as is, and the query would fail)`)
  return expanded
}

function evaluateMacro(name: string, args: string[], ctx: GrafanaQueryContext): string {
  const column = (): string => {
    if (args.length === 0 || args[0] === '') throw new GrafanaSqlError(`missing time column argument for macro ${name}`)
    return args[0] as string
  }
  switch (name) {
    case '__timeFilter':
      return `${column()} BETWEEN '${rfc3339Nano(ctx.from)}' AND '${rfc3339Nano(ctx.to)}'`
    case '__timeFrom':
      return `'${rfc3339Nano(ctx.from)}'`
    case '__timeTo':
      return `'${rfc3339Nano(ctx.to)}'`
    case '__timeGroup': {
      if (args.length < 2) throw new GrafanaSqlError(`macro ${name} needs time column and interval and optional fill value`)
      if (args.length === 3) throw new GrafanaSqlError(`macro ${name}: the fill argument is not implemented here`)
      const seconds = parseIntervalMs((args[1] as string).replace(/^'+|'+$/g, '')) / 1000
      return `time_bucket('${seconds.toFixed(3)}s',${column()})`
    }
    case '__timeGroupAlias':
      return `${evaluateMacro('__timeGroup', args, ctx)} AS "time"`
    default:
      throw new GrafanaSqlError(`unknown macro "${name}"`)
  }
}

/** Go's time.RFC3339Nano of a UTC time: fractional seconds without trailing zeros. */
export function rfc3339Nano(t: Date): string {
  return t.toISOString().replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`))
}

// --- intervals ---------------------------------------------------------------------------------

/** gtime.FormatInterval: the largest whole unit only (90 s → "1m"). */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [365 * 86_400_000, 'y'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
  ]
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`
  return '1ms'
}

/**
 * gtime.ParseInterval: Go durations ("1h30m", "20ms", "1.5h") or a whole number of days, weeks,
 * months or years, the calendar ones measured from now in UTC as Grafana does.
 */
export function parseIntervalMs(text: string): number {
  const calendar = /^(\d+)([dwMy])$/.exec(text)
  if (calendar) {
    const n = Number(calendar[1])
    const now = new Date()
    const later = new Date(now)
    if (calendar[2] === 'd') later.setUTCDate(later.getUTCDate() + n)
    else if (calendar[2] === 'w') later.setUTCDate(later.getUTCDate() + 7 * n)
    else if (calendar[2] === 'M') later.setUTCMonth(later.getUTCMonth() + n)
    else later.setUTCFullYear(later.getUTCFullYear() + n)
    return later.getTime() - now.getTime()
  }
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let end = 0
  for (let m = part.exec(text); m; m = part.exec(text)) {
    total += Number(m[1]) * (unitMs[m[2] as string] as number)
    end = part.lastIndex
  }
  if (text === '' || end !== text.length) throw new GrafanaSqlError(`error parsing interval ${text}`)
  return total
}

/** Grafana's roundInterval (rangeutil / gtime.RoundInterval): the step a range is cut into. */
export function roundIntervalMs(ms: number): number {
  const steps: [number, number][] = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, 60_000],
    [210_000, 120_000],
    [450_000, 300_000],
    [750_000, 600_000],
    [1_050_000, 900_000],
    [1_500_000, 1_200_000],
    [2_700_000, 1_800_000],
    [5_400_000, 3_600_000],
    [9_000_000, 7_200_000],
    [16_200_000, 10_800_000],
    [32_400_000, 21_600_000],
    [86_400_000, 43_200_000],
    [172_800_000, 86_400_000],
    [604_800_000, 86_400_000],
    [1_814_400_000, 604_800_000],
  ]
  for (const [limit, step] of steps) if (ms <= limit) return step
  return ms < 3_628_800_000 ? 2_592_000_000 : 31_536_000_000
}

/**
 * The interval Grafana gives a panel query (rangeutil.calculateInterval): the range cut into
 * `maxDataPoints` steps, rounded, and never below the panel's (or data source's) minimum interval.
 */
export function panelIntervalMs(from: Date, to: Date, maxDataPoints: number, minInterval?: string): number {
  const interval = roundIntervalMs((to.getTime() - from.getTime()) / maxDataPoints)
  const floor = minInterval ? parseIntervalMs(minInterval.replace(/^>/, '')) : 1
  return Math.max(interval, floor)
}

// --- comments ----------------------------------------------------------------------------------

function refuseDollarInComments(sql: string): void {
  // Skips quoted strings and identifiers, so '--' inside them is not a comment.
  const token = /'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g
  for (const m of sql.matchAll(token)) {
    const text = m[0]
    if ((text.startsWith('--') || text.startsWith('/*')) && text.includes('$'))
      throw new GrafanaSqlError(`a SQL comment holds '$' (${text.trim().slice(0, 60)}): Grafana 11/12 expand macros and variables inside comments`)
  }
}
