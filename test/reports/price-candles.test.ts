import { beforeAll, describe, expect, it } from 'vitest'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { HOUR, anchorDay, expectedCandles, insertPriceRows, priceRows } from '../setup/report-rows.ts'

const database = useEmbeddedDatabase()

const A = anchorDay(10)
const iso = (t: number): string => new Date(t * 1000).toISOString()
// Hours 3–6 written, then 1m and 1h materialized up to hour 4; hours 6–8 written after that refresh.
const written = priceRows(A + 3 * HOUR, 3)
const later = priceRows(A + 6 * HOUR, 2)
const all = [...written, ...later]

beforeAll(async () => {
  const db = database.pool()
  await insertPriceRows(db, written)
  await db.query(`CALL refresh_continuous_aggregate('price_candles_1m', $1::timestamptz, $2::timestamptz)`, [iso(A), iso(A + 4 * HOUR)])
  await db.query(`CALL refresh_continuous_aggregate('price_candles_1h', $1::timestamptz, $2::timestamptz)`, [iso(A), iso(A + 4 * HOUR)])
  await insertPriceRows(db, later)
})

describe('price_candles_1m and price_candles_1h', () => {
  it('give each minute the OHLC of the raw prices, open and close by (block time, block, log index), the real-time part included', async () => {
    const expected = expectedCandles(all, 60)
    expect(expected).toHaveLength(2 * (Math.ceil(180 / 7) + Math.ceil(120 / 7))) // one minute in 7, per chain, per series
    expect(expected[0]).toMatchObject({ observations: '6' })
    const r = await database.pool().query(`SELECT * FROM price_candles_1m ORDER BY bucket, chain_id, base, quote`)
    expect(r.rows).toEqual(expected)
    // Only the refreshed hours are materialized; the later minutes came from the raw rows.
    const mat = await database.pool().query<{ schema: string; table: string }>(
      `SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
       FROM timescaledb_information.continuous_aggregates WHERE view_name = 'price_candles_1m'`,
    )
    const m = await database.pool().query<{ n: number }>(`SELECT count(*)::int AS n FROM "${mat.rows[0]!.schema}"."${mat.rows[0]!.table}"`)
    expect(m.rows[0]!.n).toBe(expected.filter((c) => (c.bucket as Date).getTime() < (A + 4 * HOUR) * 1000).length)
  })

  it('roll the minutes up into hours (hierarchical): the same OHLC as from the raw prices', async () => {
    const expected = expectedCandles(all, HOUR)
    expect(expected).toHaveLength(10) // hours 3–7 on chains 1 and 8453
    const r = await database.pool().query(`SELECT * FROM price_candles_1h ORDER BY bucket, chain_id, base, quote`)
    expect(r.rows).toEqual(expected)
  })
})
