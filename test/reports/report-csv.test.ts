import { describe, expect, it } from 'vitest'
import { reportToCsv } from '../../src/reports/report-csv.ts'

describe('reportToCsv', () => {
  it('writes RFC 4180: CRLF records, quoted fields with commas, quotes and line breaks, empty NULLs', () => {
    const csv = reportToCsv({
      columns: ['day', 'account', 'note', 'usd', 'n'],
      rows: [
        { day: new Date(Date.UTC(2026, 0, 1)), account: 'desk, london', note: 'said "hi"', usd: -1234.25, n: 3 },
        { day: '2026-01-02T00:00:00.000Z', account: 'bob', note: 'two\nlines\r\n', usd: null, n: 0 },
      ],
    })
    expect(csv).toBe(
      'day,account,note,usd,n\r\n' +
        '2026-01-01T00:00:00.000Z,"desk, london","said ""hi""",-1234.25,3\r\n' +
        '2026-01-02T00:00:00.000Z,bob,"two\nlines\r\n",,0\r\n',
    )
  })

  it('writes the header alone when there are no rows', () => {
    expect(reportToCsv({ columns: ['a', 'b"c'], rows: [] })).toBe('a,"b""c"\r\n')
  })
})
