import type pg from 'pg'

/** The materialization hypertable of a continuous aggregate, quoted: what is materialized, without the real-time part. */
export async function materializationTable(db: pg.Pool, view: string): Promise<string> {
  const r = await db.query<{ schema: string; table: string }>(
    `SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
     FROM timescaledb_information.continuous_aggregates WHERE view_name = $1`,
    [view],
  )
  const { schema, table } = r.rows[0]!
  return `"${schema}"."${table}"`
}
