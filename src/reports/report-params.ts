import { BadReportTimeError, MissingReportParameterError } from './report-errors.ts'

/** The parameters every report in sql/reports takes, as the SQL receives them. */
export type ReportRange = {
  /** An account name, or '*' for every account. */
  account: string
  /** Inclusive start, ISO 8601 in UTC (`2026-01-01T00:00:00.000Z`). */
  from: string
  /** Exclusive end, same form. */
  to: string
}

export type ReportRangeInput = {
  /** Default '*': every account. */
  account?: string | undefined
  /** A time (see `parseReportTime`). Default: `to` minus `since`. */
  from?: string | Date | undefined
  /** Default: `now`. */
  to?: string | Date | undefined
  /** How far back from `to` when `from` is not given: `30d`, `12h`, `90m`, `2w`, `45s`. Default '30d'. */
  since?: string | undefined
}

/** Every account, in a report's `account` parameter. */
export const ALL_ACCOUNTS = '*'
export const DEFAULT_SINCE = '30d'

const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i
const DURATION = /^(\d+)\s*(s|m|h|d|w)$/
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/**
 * A report time as ISO 8601 UTC. Takes `2026-01-01`, `2026-01-01T12:00`, `2026-01-01 12:00:30.250`
 * and any of those with `Z` or an offset (`+02`, `+02:00`, `-0530`); without an offset the time is
 * UTC, as the SQL reads it (dexrisk_utc). Milliseconds at most, so the value is exact in a Date.
 */
export function parseReportTime(report: string, parameter: string, value: string | Date): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new BadReportTimeError(report, parameter, `${parameter}: an invalid Date`)
    return value.toISOString()
  }
  const bad = (): BadReportTimeError =>
    new BadReportTimeError(report, parameter, `${parameter}: not a time: ${JSON.stringify(value)} (expected e.g. 2026-01-01, 2026-01-01T12:00 or 2026-01-01T12:00:00+02:00; UTC unless an offset is given)`)
  const m = TIME.exec(value.trim())
  if (!m) throw bad()
  const [y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m.slice(1) as [string, string, string, string?, string?, string?, string?, string?]
  const ms = Number(frac.padEnd(3, '0'))
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  const check = new Date(local)
  // Date.UTC rolls 2026-02-30 over to March: a field out of range shows as a different date back.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  )
    throw bad()
  let offsetMin = 0
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)
    if (!z) throw bad()
    const hours = Number(z[2])
    const minutes = Number(z[3] ?? '0')
    if (hours > 15 || minutes > 59) throw bad()
    offsetMin = (z[1] === '-' ? -1 : 1) * (hours * 60 + minutes)
  }
  return new Date(local - offsetMin * 60_000).toISOString()
}

/** A duration such as `30d`, `12h`, `90m`, `2w`, `45s`, in ms (more than 0). */
export function parseDuration(report: string, parameter: string, value: string): number {
  const m = DURATION.exec(value.trim())
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN
  if (!(ms > 0) || !Number.isSafeInteger(ms))
    throw new BadReportTimeError(report, parameter, `${parameter}: not a duration: ${JSON.stringify(value)} (expected a whole number and a unit s, m, h, d or w, e.g. 30d or 12h)`)
  return ms
}

/**
 * The account and time range of a report run, with the CLI's defaults: every account, up to now,
 * from `since` (30 days) before the end. Giving both `from` and `since` is refused, as is an
 * empty range. The monitor's API can call it with its query string to behave as the CLI does.
 */
export function resolveReportParams(report: string, input: ReportRangeInput, now: Date = new Date()): ReportRange {
  const account = input.account ?? ALL_ACCOUNTS
  if (account === '') throw new MissingReportParameterError(report, 'account')
  const to = input.to === undefined || input.to === '' ? now.toISOString() : parseReportTime(report, 'to', input.to)
  if (input.from !== undefined && input.from !== '' && input.since !== undefined && input.since !== '')
    throw new BadReportTimeError(report, 'since', 'give from or since, not both')
  const from =
    input.from === undefined || input.from === ''
      ? sinceStart(report, to, parseDuration(report, 'since', input.since || DEFAULT_SINCE))
      : parseReportTime(report, 'from', input.from)
  assertRange(report, from, to)
  return { account, from, to }
}

/** `to` minus a duration, refused by name when that falls outside the times a Date holds. */
function sinceStart(report: string, to: string, ms: number): string {
  const from = new Date(Date.parse(to) - ms)
  if (Number.isNaN(from.getTime())) throw new BadReportTimeError(report, 'since', `since: reaches before any time this can express (${ms / 86_400_000} days)`)
  return from.toISOString()
}

/** Refuses an empty range: `from` must come before `to` (both ISO strings from parseReportTime). */
export function assertRange(report: string, from: string, to: string): void {
  if (!(Date.parse(from) < Date.parse(to))) throw new BadReportTimeError(report, 'from', `from (${from}) is not before to (${to})`)
}
