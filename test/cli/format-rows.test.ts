import { describe, expect, it } from 'vitest'
import { formatRows } from '../../src/cli/format-rows.ts'

const rows = [
  { account: 'alice', quantity: '-21859257000000000000170', note: 'a,"b"' },
  { account: 'bob', quantity: '5', note: null },
]

describe('formatRows', () => {
  it('writes RFC 4180 CSV: quoted only where needed, quotes doubled, NULL empty', () => {
    expect(formatRows(['account', 'quantity', 'note'], rows, 'csv')).toBe('account,quantity,note\nalice,-21859257000000000000170,"a,""b"""\nbob,5,\n')
  })

  it('aligns a text table and counts its rows', () => {
    expect(formatRows(['account', 'quantity'], rows, 'table')).toBe(
      ['account  quantity', `-------  ${'-'.repeat('-21859257000000000000170'.length)}`, 'alice    -21859257000000000000170', 'bob      5', '(2 rows)', ''].join('\n'),
    )
  })

  it('rounds a table\'s USD columns to the cent and its shares, HHI and percentages to four decimals', () => {
    const report = [
      { hour: 'h1', equity_usd: 180534978.12345678, drawdown_usd_max: -0.0012, largest_asset_share: 0.33333333333333337, hhi: 0.25000000000000006, drawdown_pct: 0.051249999, snapshots: 3, price: 1.23456789 },
    ]
    expect(formatRows(Object.keys(report[0]!), report, 'table')).toBe(
      [
        'hour  equity_usd    drawdown_usd_max  largest_asset_share  hhi     drawdown_pct  snapshots  price',
        '----  ------------  ----------------  -------------------  ------  ------------  ---------  ----------',
        'h1    180534978.12  0.00              0.3333               0.2500  0.0512        3          1.23456789',
        '(1 row)',
        '',
      ].join('\n'),
    )
  })

  it('keeps every digit of those columns in CSV and JSON', () => {
    const row = { equity_usd: 180534978.12345678, hhi: 0.25000000000000006 }
    expect(formatRows(['equity_usd', 'hhi'], [row], 'csv')).toBe('equity_usd,hhi\n180534978.12345678,0.25000000000000006\n')
    expect(JSON.parse(formatRows(['equity_usd', 'hhi'], [row], 'json'))).toEqual([row])
  })

  it('writes JSON with bigints as decimal strings', () => {
    expect(JSON.parse(formatRows(['q'], [{ q: 2n ** 200n }], 'json'))).toEqual([{ q: (2n ** 200n).toString() }])
  })
})
