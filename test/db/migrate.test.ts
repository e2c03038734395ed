import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrate, splitSqlStatements } from '../../src/db/migrate.ts'
import { ConfigError } from '../../src/errors.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const database = useEmbeddedDatabase({ migrate: false })

let dir: string
let schema: string
let n = 0
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dexrisk-migrations-'))
  // Each test gets its own schema, and its own migrations table inside it.
  schema = `mig_${++n}`
  await database.pool().query(`CREATE SCHEMA ${schema}`)
  await database.pool().query(`SET search_path TO ${schema}, public`)
})
afterEach(async () => {
  await database.pool().query('SET search_path TO "$user", public')
  await database.pool().query(`DROP SCHEMA ${schema} CASCADE`)
  await rm(dir, { recursive: true, force: true })
})

async function write(file: string, sql: string): Promise<void> {
  await writeFile(join(dir, file), sql)
}

describe('migrate', () => {
  it('applies files in numeric order and records each with its checksum', async () => {
    await write('0002_fill.sql', "INSERT INTO steps (step) VALUES ('second');")
    await write('0010_more.sql', "INSERT INTO steps (step) VALUES ('tenth');")
    await write('0001_create.sql', "CREATE TABLE steps (id serial PRIMARY KEY, step text NOT NULL);\nINSERT INTO steps (step) VALUES ('first');")
    await write('README.md', 'not a migration')

    const result = await migrate(database.pool(), { dir })

    expect(result).toEqual({ applied: ['0001_create.sql', '0002_fill.sql', '0010_more.sql'], skipped: [] })
    const steps = await database.pool().query('SELECT id, step FROM steps ORDER BY id')
    expect(steps.rows).toEqual([
      { id: 1, step: 'first' },
      { id: 2, step: 'second' },
      { id: 3, step: 'tenth' },
    ])
    const recorded = await database.pool().query('SELECT version, name, length(checksum) AS len FROM dexrisk_migrations ORDER BY version')
    expect(recorded.rows).toEqual([
      { version: '0001', name: 'create', len: 64 },
      { version: '0002', name: 'fill', len: 64 },
      { version: '0010', name: 'more', len: 64 },
    ])
  })

  it('is harmless when run twice: the second run skips every applied file', async () => {
    await write('0001_create.sql', 'CREATE TABLE once (x int);\nINSERT INTO once VALUES (1);')
    await migrate(database.pool(), { dir })
    const again = await migrate(database.pool(), { dir })
    expect(again).toEqual({ applied: [], skipped: ['0001_create.sql'] })
    expect((await database.pool().query('SELECT count(*)::int AS n FROM once')).rows[0]).toEqual({ n: 1 })
  })

  it('applies only the new file when one is added later', async () => {
    await write('0001_create.sql', 'CREATE TABLE grow (x int);')
    await migrate(database.pool(), { dir })
    await write('0002_add.sql', 'INSERT INTO grow VALUES (2);')
    expect(await migrate(database.pool(), { dir })).toEqual({ applied: ['0002_add.sql'], skipped: ['0001_create.sql'] })
  })

  it('refuses an applied file whose content changed', async () => {
    await write('0001_create.sql', 'CREATE TABLE edited (x int);')
    await migrate(database.pool(), { dir })
    await write('0001_create.sql', 'CREATE TABLE edited (x int, y int);')
    const run = migrate(database.pool(), { dir })
    await expect(run).rejects.toBeInstanceOf(ConfigError)
    await expect(migrate(database.pool(), { dir })).rejects.toThrow(/migration 0001_create\.sql changed after it was applied.*never edited once landed/)
  })

  it('rolls back a failing file entirely and does not record it', async () => {
    await write('0001_bad.sql', 'CREATE TABLE half (x int);\nINSERT INTO half VALUES (1);\nSELECT no_such_function();')
    await expect(migrate(database.pool(), { dir })).rejects.toThrow(/migration 0001_bad\.sql failed/)
    const exists = await database.pool().query(`SELECT to_regclass('${schema}.half') AS t`)
    expect(exists.rows[0]).toEqual({ t: null })
    expect((await database.pool().query('SELECT count(*)::int AS n FROM dexrisk_migrations')).rows[0]).toEqual({ n: 0 })
  })

  it('refuses two files with the same number', async () => {
    await write('0001_a.sql', 'SELECT 1;')
    await write('0001_b.sql', 'SELECT 1;')
    await expect(migrate(database.pool(), { dir })).rejects.toThrow('migrations 0001_a.sql and 0001_b.sql share the number 0001')
  })

  it('creates a hypertable whose time_bucket query aggregates exact NUMERIC amounts', async () => {
    await write(
      '0001_hyper.sql',
      `CREATE TABLE ticks (time timestamptz NOT NULL, amount NUMERIC(78,0) NOT NULL);
       SELECT create_hypertable('ticks', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);`,
    )
    await migrate(database.pool(), { dir })
    const pool = database.pool()
    const hyper = await pool.query("SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'ticks'")
    expect(hyper.rows).toEqual([{ hypertable_name: 'ticks' }])
    await pool.query(
      `INSERT INTO ticks (time, amount) SELECT * FROM unnest($1::timestamptz[], $2::numeric[])`,
      [
        ['2024-01-01T00:10:00Z', '2024-01-01T00:50:00Z', '2024-01-01T01:05:00Z'],
        ['115792089237316195423570985008687907853269984665640564039457584007913129639935', '1', '7'],
      ],
    )
    const buckets = await pool.query(
      "SELECT time_bucket('1 hour', time) AS bucket, sum(amount) AS total, count(*) AS n FROM ticks GROUP BY 1 ORDER BY 1",
    )
    expect(buckets.rows).toEqual([
      // 2^256 - 1 + 1 = 2^256: exact, and NUMERIC comes back as a string; count(*) (int8) too.
      { bucket: new Date('2024-01-01T00:00:00Z'), total: '115792089237316195423570985008687907853269984665640564039457584007913129639936', n: '2' },
      { bucket: new Date('2024-01-01T01:00:00Z'), total: '7', n: '1' },
    ])
  })

  it('runs a -- dexrisk:no-transaction file statement by statement (continuous aggregate + refresh)', async () => {
    await write(
      '0001_hyper.sql',
      `CREATE TABLE obs (time timestamptz NOT NULL, v double precision NOT NULL);
       SELECT create_hypertable('obs', by_range('time', INTERVAL '1 day'));
       INSERT INTO obs VALUES ('2024-01-01T00:10:00Z', 1), ('2024-01-01T00:20:00Z', 3), ('2024-01-01T01:30:00Z', 10);`,
    )
    const cagg = `CREATE MATERIALIZED VIEW IF NOT EXISTS obs_hourly WITH (timescaledb.continuous) AS
  SELECT time_bucket('1 hour', time) AS bucket, avg(v) AS avg_v FROM obs GROUP BY 1 WITH NO DATA;
-- a comment with a semicolon; between statements
CALL refresh_continuous_aggregate('obs_hourly', '2024-01-01', '2024-01-02');
`
    await write('0002_cagg.sql', `-- dexrisk:no-transaction\n-- Continuous aggregates cannot be created in a transaction.\n${cagg}`)
    expect(await migrate(database.pool(), { dir })).toEqual({ applied: ['0001_hyper.sql', '0002_cagg.sql'], skipped: [] })
    const rows = await database.pool().query('SELECT bucket, avg_v FROM obs_hourly ORDER BY bucket')
    expect(rows.rows).toEqual([
      { bucket: new Date('2024-01-01T00:00:00Z'), avg_v: 2 },
      { bucket: new Date('2024-01-01T01:00:00Z'), avg_v: 10 },
    ])
  })

  it('fails on a refresh inside a transactional file, which is what the marker is for', async () => {
    await write(
      '0001_hyper.sql',
      `CREATE TABLE obs2 (time timestamptz NOT NULL, v double precision NOT NULL);
       SELECT create_hypertable('obs2', by_range('time', INTERVAL '1 day'));
       CREATE MATERIALIZED VIEW obs2_hourly WITH (timescaledb.continuous) AS
         SELECT time_bucket('1 hour', time) AS bucket, avg(v) AS avg_v FROM obs2 GROUP BY 1 WITH NO DATA;
       CALL refresh_continuous_aggregate('obs2_hourly', '2024-01-01', '2024-01-02');`,
    )
    await expect(migrate(database.pool(), { dir })).rejects.toThrow(/cannot run inside a transaction block/)
  })
})

describe('splitSqlStatements', () => {
  it('splits on top-level semicolons only', () => {
    const sql = `-- lead; comment
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
SELECT 'a;b', "we;ird", E'it\\'s;', $$x;y$$; /* block; /* nested; */ still */
SELECT 2;
-- trailing comment only;
`
    expect(splitSqlStatements(sql)).toEqual([
      '-- lead; comment\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$',
      `SELECT 'a;b', "we;ird", E'it\\'s;', $$x;y$$`,
      '/* block; /* nested; */ still */\nSELECT 2',
    ])
  })
})
