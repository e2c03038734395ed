import { describe, expect, it } from 'vitest'
import { arrayLiteral } from '../../../workers/risk/store.ts'
import { useEmbeddedDatabase } from '../../setup/database.ts'

const db = useEmbeddedDatabase({ migrate: false })

describe('arrayLiteral', () => {
  it('round-trips awkward text exactly through Postgres array_in', async () => {
    const values = ['NULL', 'null', '', 'a,b', 'say "hi"', 'back\\slash', '{x}', ' spaced ', 'ünïcødé', '0xAbC123', 'uniswap-v3', null]
    const r = await db.pool().query<{ v: string | null }>('SELECT unnest($1::text[]) AS v', [arrayLiteral(values)])
    expect(r.rows.map((x) => x.v)).toEqual(values)
  })

  it('round-trips uint256 amounts, floats and booleans', async () => {
    const amounts = [0n, 1n, 2n ** 255n, 2n ** 256n - 1n, -(2n ** 255n)]
    const a = await db.pool().query<{ v: string }>('SELECT unnest($1::numeric[])::text AS v', [arrayLiteral(amounts)])
    expect(a.rows.map((x) => BigInt(x.v))).toEqual(amounts)
    const floats = [0.1, 1e-7, -3000.5, 1 / 3, Number.NaN, Number.POSITIVE_INFINITY, null]
    const f = await db.pool().query<{ v: number | null }>('SELECT unnest($1::float8[]) AS v', [arrayLiteral(floats)])
    expect(f.rows.map((x) => x.v)).toEqual(floats)
    const b = await db.pool().query<{ v: boolean }>('SELECT unnest($1::bool[]) AS v', [arrayLiteral([true, false])])
    expect(b.rows.map((x) => x.v)).toEqual([true, false])
  })
})
