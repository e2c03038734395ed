import { describe, expect, it } from 'vitest'
import { BadReportTimeError, MissingReportParameterError } from '../../src/reports/report-errors.ts'
import { parseDuration, parseReportTime, resolveReportParams } from '../../src/reports/report-params.ts'

describe('parseReportTime', () => {
  it('reads dates and times as UTC unless they carry an offset', () => {
    const t = (v: string): string => parseReportTime('daily_pnl', 'from', v)
    expect(t('2026-01-01')).toBe('2026-01-01T00:00:00.000Z')
    expect(t('2026-01-01T12:30')).toBe('2026-01-01T12:30:00.000Z')
    expect(t('2026-01-01 12:30:15.25')).toBe('2026-01-01T12:30:15.250Z')
    expect(t('2026-01-01T12:30:00Z')).toBe('2026-01-01T12:30:00.000Z')
    expect(t('2026-01-01T12:30:00+02:00')).toBe('2026-01-01T10:30:00.000Z')
    expect(t('2026-01-01 01:00-0530')).toBe('2026-01-01T06:30:00.000Z')
    expect(t('2026-01-01T00:00+02')).toBe('2025-12-31T22:00:00.000Z')
    expect(parseReportTime('daily_pnl', 'to', new Date(Date.UTC(2026, 0, 2)))).toBe('2026-01-02T00:00:00.000Z')
  })

  it('refuses what is not a time, naming the report and the parameter', () => {
    for (const v of ['yesterday', '2026-13-01', '2026-02-29', '2026-01-01T24:00', '2026-01-01T12:00:00.1234', '2026-01-01Z', '1767225600'])
      expect(() => parseReportTime('dex_volume', 'to', v), v).toThrow(BadReportTimeError)
    expect(() => parseReportTime('dex_volume', 'to', '2026-02-29')).toThrow(
      'report dex_volume: to: not a time: "2026-02-29" (expected e.g. 2026-01-01, 2026-01-01T12:00 or 2026-01-01T12:00:00+02:00; UTC unless an offset is given) (field to)',
    )
    expect(() => parseReportTime('dex_volume', 'to', new Date(NaN))).toThrow('report dex_volume: to: an invalid Date (field to)')
  })
})

describe('parseDuration', () => {
  it('reads a whole number and a unit', () => {
    expect(parseDuration('r', 'since', '30d')).toBe(30 * 86_400_000)
    expect(parseDuration('r', 'since', '12h')).toBe(12 * 3_600_000)
    expect(parseDuration('r', 'since', '90m')).toBe(90 * 60_000)
    expect(parseDuration('r', 'since', '2w')).toBe(14 * 86_400_000)
    expect(parseDuration('r', 'since', '45s')).toBe(45_000)
    for (const v of ['0d', '1.5d', '30', 'd', '-1h', '3 months']) expect(() => parseDuration('r', 'since', v), v).toThrow(BadReportTimeError)
  })
})

describe('resolveReportParams', () => {
  const now = new Date('2026-03-31T18:00:00.000Z')

  it('defaults to every account over the 30 days up to now', () => {
    expect(resolveReportParams('daily_pnl', {}, now)).toEqual({ account: '*', from: '2026-03-01T18:00:00.000Z', to: '2026-03-31T18:00:00.000Z' })
  })

  it('counts --since back from --to, and takes --from as given', () => {
    expect(resolveReportParams('daily_pnl', { account: 'alice', since: '12h', to: '2026-01-02' }, now)).toEqual({
      account: 'alice',
      from: '2026-01-01T12:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
    })
    expect(resolveReportParams('daily_pnl', { from: '2026-03-01' }, now)).toEqual({ account: '*', from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T18:00:00.000Z' })
  })

  it('refuses both --from and --since, an empty range and an empty account', () => {
    expect(() => resolveReportParams('daily_pnl', { from: '2026-03-01', since: '7d' }, now)).toThrow('report daily_pnl: give from or since, not both (field since)')
    expect(() => resolveReportParams('daily_pnl', { from: '2026-04-01' }, now)).toThrow(
      'report daily_pnl: from (2026-04-01T00:00:00.000Z) is not before to (2026-03-31T18:00:00.000Z) (field from)',
    )
    expect(() => resolveReportParams('daily_pnl', { account: '' }, now)).toThrow(MissingReportParameterError)
  })
})
