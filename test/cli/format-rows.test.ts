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

  it('writes JSON with bigints as decimal strings', () => {
    expect(JSON.parse(formatRows(['q'], [{ q: 2n ** 200n }], 'json'))).toEqual([{ q: (2n ** 200n).toString() }])
  })
})
