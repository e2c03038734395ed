/**
 * Every SQL query of the Grafana dashboards (panel targets, template variables, annotations), run
 * the way Grafana runs it — variables substituted, macros expanded as the PostgreSQL datasource
 * does with TimescaleDB on — against a migrated embedded TimescaleDB holding eight days of data
 * (test/setup/grafana-fixture.ts). A query fails its test on a SQL error, an unknown macro or
 * variable, a time series without a sorted `time` column, or a result with no data: the fixture
 * gives every panel something to show, for every account and over each time range below (a range
 * per source tier: raw tables up to a day, hourly aggregates up to 31 days, daily ones beyond).
 *
 * The provisioning files are checked against docker-compose.yml: the dashboard provider reads the
 * folder the dashboards are mounted at, and every query names the provisioned datasource.
 */
import { existsSync, readFileSync } from 'node:fs'
import { posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { loadDashboards, type Dashboard, type DatasourceRef, type SqlTarget } from '../setup/grafana-dashboards.ts'
import { seedGrafanaFixture, type GrafanaFixture } from '../setup/grafana-fixture.ts'
import { interpolateGrafanaSql, panelIntervalMs } from '../setup/grafana-sql.ts'

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url))
const DASHBOARDS_DIR = repo('grafana/dashboards')
const dashboards = loadDashboards(DASHBOARDS_DIR)

type Yaml = Record<string, unknown>
const readYaml = (path: string): Yaml => parseYaml(readFileSync(repo(path), 'utf8')) as Yaml
const datasourceYaml = readYaml('grafana/provisioning/datasources/timescaledb.yml')
const providerYaml = readYaml('grafana/provisioning/dashboards/dexrisk.yml')
const compose = readYaml('docker-compose.yml')

const provisioned = (datasourceYaml.datasources as Yaml[])[0] as Yaml & { uid: string; type: string; jsonData: Yaml }

/** The data's "now": 2025-03-14 12:00 UTC (the fixture holds the 8 days before it). */
const ANCHOR = Date.UTC(2025, 2, 14, 12) / 1000
const RANGES = [
  { name: 'last 6 hours', seconds: 6 * 3600 },
  { name: 'last 7 days', seconds: 7 * 86_400 },
  { name: 'last 90 days', seconds: 90 * 86_400 },
] as const
type Range = (typeof RANGES)[number]
/** Grafana asks for about one point per pixel; a half-screen panel is about this wide. */
const DEFAULT_MAX_DATA_POINTS = 1000

const database = useEmbeddedDatabase()
let fixture: GrafanaFixture

beforeAll(async () => {
  fixture = await seedGrafanaFixture(database.pool(), ANCHOR)
})

type Context = { range: Range; variables: Record<string, string> }

function timeRange(range: Range): { from: Date; to: Date } {
  return { from: new Date((ANCHOR - range.seconds) * 1000), to: new Date(ANCHOR * 1000) }
}

function describeContext(ctx: Context): string {
  const vars = Object.entries(ctx.variables).map(([k, v]) => `${k}=${v}`)
  return [ctx.range.name, ...vars].join(', ')
}

/** Runs one query as Grafana would; errors name the query, its context and the SQL sent. */
async function runQuery(label: string, target: Pick<SqlTarget, 'rawSql'>, ctx: Context, panel?: { interval?: string | undefined; maxDataPoints?: number | undefined }): Promise<pg.QueryResult> {
  const { from, to } = timeRange(ctx.range)
  const minInterval = panel?.interval ?? (typeof provisioned.jsonData.timeInterval === 'string' ? provisioned.jsonData.timeInterval : undefined)
  const intervalMs = panelIntervalMs(from, to, panel?.maxDataPoints ?? DEFAULT_MAX_DATA_POINTS, minInterval)
  let sql: string
  try {
    sql = interpolateGrafanaSql(target.rawSql, { from, to, intervalMs, variables: ctx.variables })
  } catch (err) {
    throw new Error(`${label} (${describeContext(ctx)}): ${(err as Error).message}`, { cause: err })
  }
  try {
    return await database.pool().query(sql)
  } catch (err) {
    throw new Error(`${label} (${describeContext(ctx)}): ${(err as Error).message}\n--- SQL sent ---\n${sql}`, { cause: err })
  }
}

/** A row cell that shows something: not null, not zero, not false, not an empty string. */
function meaningful(v: unknown): boolean {
  return v !== null && v !== undefined && v !== false && v !== 0 && v !== '0' && v !== ''
}

function checkResult(label: string, format: SqlTarget['format'], result: pg.QueryResult, ctx: Context): void {
  const where = `${label} (${describeContext(ctx)})`
  const columns = result.fields.map((f) => f.name)
  if (format === 'time_series') {
    // Grafana's time column is "time" (or the legacy "time_sec"), and series must come sorted by it.
    const timeColumn = columns.find((c) => c === 'time' || c === 'time_sec')
    expect(timeColumn, `${where}: a time series needs a column named time; got ${columns.join(', ')}`).toBeDefined()
    const times = result.rows.map((r: Record<string, unknown>) => new Date(r[timeColumn as string] as Date | string | number).getTime())
    expect(times.every((t) => Number.isFinite(t)), `${where}: time values must be timestamps`).toBe(true)
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!), `${where}: rows must be ordered by time`).toBe(true)
  }
  expect(result.rows.length, `${where}: no rows, though the fixture has data for it`).toBeGreaterThan(0)
  const hasData = result.rows.some((r: Record<string, unknown>) => Object.entries(r).some(([k, v]) => k !== 'time' && meaningful(v)))
  expect(hasData, `${where}: every value is null, zero or empty`).toBe(true)
}

/** Values of a query variable, as Grafana's metricFindQuery reads them (the first column, or __value). */
async function variableValues(dashboard: Dashboard, range: Range): Promise<Map<string, string[]>> {
  const values = new Map<string, string[]>()
  for (const v of dashboard.variables) {
    const result = await runQuery(`${dashboard.title} variable ${v.name}`, { rawSql: v.query }, { range, variables: {} })
    const column = result.fields.find((f) => f.name === '__value')?.name ?? result.fields[0]?.name
    values.set(v.name, result.rows.map((r: Record<string, unknown>) => String(r[column as string])))
  }
  return values
}

/** Every (range, variable values) combination a dashboard is checked with. */
async function contexts(dashboard: Dashboard): Promise<Context[]> {
  const out: Context[] = []
  for (const range of RANGES) {
    let combos: Record<string, string>[] = [{}]
    for (const [name, values] of await variableValues(dashboard, range)) {
      expect(values.length, `${dashboard.title} variable ${name} (${range.name}) lists nothing`).toBeGreaterThan(0)
      combos = combos.flatMap((c) => values.map((value) => ({ ...c, [name]: value })))
    }
    out.push(...combos.map((variables) => ({ range, variables })))
  }
  return out
}

const contextCache = new Map<string, Promise<Context[]>>()
const contextsOf = (d: Dashboard): Promise<Context[]> => {
  let c = contextCache.get(d.uid)
  if (!c) contextCache.set(d.uid, (c = contexts(d)))
  return c
}

/** [host path, container path] of a service's bind mounts, host paths absolute. */
function bindMounts(service: string): [string, string][] {
  const services = compose.services as Record<string, Yaml>
  const volumes = (services[service]?.volumes ?? []) as (string | Yaml)[]
  return volumes.flatMap((v): [string, string][] => {
    const [source, target] = typeof v === 'string' ? v.split(':') : [String(v.source), String(v.target)]
    if (!source || !target || !(source.startsWith('.') || source.startsWith('/'))) return []
    return [[resolve(repo('.'), source), target]]
  })
}

function datasourceRefs(d: Dashboard): { where: string; ref: DatasourceRef | undefined }[] {
  return [
    ...d.panels.flatMap((p) => [{ where: `panel ${p.title}`, ref: p.datasource }, ...p.targets.map((t) => ({ where: `panel ${p.title} target ${t.refId}`, ref: t.datasource }))]),
    ...d.variables.map((v) => ({ where: `variable ${v.name}`, ref: v.datasource })),
    ...d.annotations.flatMap((a) => [{ where: `annotation ${a.name}`, ref: a.datasource }, { where: `annotation ${a.name} target`, ref: a.target.datasource }]),
  ]
}

describe('Grafana provisioning', () => {
  it('provisions one PostgreSQL datasource with TimescaleDB on, its connection taken from variables the grafana service sets', () => {
    const list = datasourceYaml.datasources as Yaml[]
    expect(list).toHaveLength(1)
    expect(provisioned).toMatchObject({ uid: 'dexrisk-timescaledb', type: 'grafana-postgresql-datasource', access: 'proxy' })
    expect(provisioned.jsonData.timescaledb).toBe(true)
    const secure = provisioned.secureJsonData as Yaml
    const connection = { url: provisioned.url, user: provisioned.user, password: secure.password, database: provisioned.jsonData.database }
    const env = ((compose.services as Record<string, Yaml>).grafana?.environment ?? {}) as Record<string, unknown>
    for (const [field, value] of Object.entries(connection)) {
      const ref = /^\$\{?(\w+)\}?$/.exec(String(value))
      expect(ref, `datasource ${field} should come from an environment variable, not ${String(value)}`).not.toBeNull()
      expect(env[ref![1]!], `docker-compose.yml grafana.environment must set ${ref![1]} (Grafana has no default for it)`).toBeTruthy()
    }
  })

  it('points the dashboard provider at the folder docker-compose.yml mounts grafana/dashboards at', () => {
    const providers = providerYaml.providers as Yaml[]
    expect(providers).toHaveLength(1)
    const provider = providers[0] as Yaml & { options: Yaml }
    expect(provider.type).toBe('file')
    const mounts = bindMounts('grafana')
    expect(mounts).toContainEqual([repo('grafana/provisioning'), '/etc/grafana/provisioning'])
    const path = posix.normalize(String(provider.options.path))
    const mount = mounts.find(([, target]) => posix.normalize(target) === path)
    expect(mount, `no grafana volume in docker-compose.yml is mounted at the provider's path ${path}`).toBeDefined()
    expect(resolve(mount![0])).toBe(resolve(DASHBOARDS_DIR))
    expect(dashboards.map((d) => d.file)).toEqual(expect.arrayContaining(['account-risk.json', 'ingestion-health.json', 'overview.json']))
    const home = String(((compose.services as Record<string, Yaml>).grafana?.environment as Yaml).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH)
    expect(existsSync(resolve(mount![0], posix.relative(path, home)))).toBe(true)
  })

  it('has every panel, target, variable and annotation query the provisioned datasource by uid', () => {
    const wrong = dashboards.flatMap((d) =>
      datasourceRefs(d)
        .filter(({ ref }) => ref?.uid !== provisioned.uid || ref?.type !== provisioned.type)
        .map(({ where, ref }) => `${d.file} ${where}: ${JSON.stringify(ref)}`),
    )
    expect(wrong).toEqual([])
  })

  it('gives dashboards unique uids and titles, panels unique ids and titles, and a current schema', () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length)
    expect(new Set(dashboards.map((d) => d.title)).size).toBe(dashboards.length)
    for (const d of dashboards) {
      expect(d.schemaVersion, d.file).toBeGreaterThanOrEqual(39)
      expect(new Set(d.panels.map((p) => p.id)).size, `${d.file} panel ids`).toBe(d.panels.length)
      expect(new Set(d.panels.map((p) => p.title)).size, `${d.file} panel titles`).toBe(d.panels.length)
    }
  })
})

for (const dashboard of dashboards) {
  describe(dashboard.title, () => {
    for (const variable of dashboard.variables) {
      it(`variable ${variable.name} lists every account of the fixture`, async () => {
        expect(variable).toMatchObject({ type: 'query', multi: false, includeAll: false })
        for (const range of RANGES) {
          const values = (await variableValues(dashboard, range)).get(variable.name)
          expect(values, range.name).toEqual([...fixture.accounts].sort())
        }
      })
    }

    for (const annotation of dashboard.annotations) {
      it(`annotation ${annotation.name}`, async () => {
        for (const ctx of await contextsOf(dashboard)) {
          const label = `${dashboard.title} annotation ${annotation.name}`
          checkResult(label, 'table', await runQuery(label, annotation.target, ctx), ctx)
        }
      })
    }

    for (const panel of dashboard.panels) {
      it(panel.title, async () => {
        for (const ctx of await contextsOf(dashboard)) {
          for (const target of panel.targets) {
            const label = `${dashboard.title} › ${panel.title} [${target.refId}]`
            checkResult(label, target.format, await runQuery(label, target, ctx, panel), ctx)
          }
        }
      })
    }
  })
}
