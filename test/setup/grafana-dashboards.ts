/**
 * Reads Grafana dashboard JSON files (grafana/dashboards/*.json) into the parts the tests check:
 * panels with their SQL targets, template variables with their queries, SQL annotations. Panels
 * inside rows are flattened. Anything that is not the expected shape throws, naming the file and
 * the panel, rather than being skipped.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export type DatasourceRef = { type?: string; uid?: string }

export type SqlTarget = {
  refId: string
  rawSql: string
  format: 'time_series' | 'table'
  datasource: DatasourceRef | undefined
}

export type DashboardPanel = {
  id: number
  title: string
  type: string
  datasource: DatasourceRef | undefined
  /** The panel's minimum interval ("1m"), if any. */
  interval: string | undefined
  maxDataPoints: number | undefined
  targets: SqlTarget[]
}

export type DashboardVariable = {
  name: string
  type: string
  query: string
  datasource: DatasourceRef | undefined
  multi: boolean
  includeAll: boolean
}

export type DashboardAnnotation = { name: string; datasource: DatasourceRef | undefined; target: SqlTarget }

export type Dashboard = {
  file: string
  uid: string
  title: string
  schemaVersion: number
  panels: DashboardPanel[]
  variables: DashboardVariable[]
  annotations: DashboardAnnotation[]
}

type Json = Record<string, unknown>

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function fail(where: string, what: string): never {
  throw new Error(`${where}: ${what}`)
}

function str(o: Json, key: string, where: string): string {
  const v = o[key]
  if (typeof v !== 'string' || v === '') fail(where, `${key} must be a non-empty string`)
  return v
}

function datasourceOf(o: Json, where: string): DatasourceRef | undefined {
  const ds = o.datasource
  if (ds === undefined || ds === null) return undefined
  if (!isObject(ds)) fail(where, 'datasource must be an object { type, uid } (a name string is the pre-8.3 form)')
  return { ...(typeof ds.type === 'string' ? { type: ds.type } : {}), ...(typeof ds.uid === 'string' ? { uid: ds.uid } : {}) }
}

function sqlTarget(t: unknown, where: string): SqlTarget {
  if (!isObject(t)) fail(where, 'a target must be an object')
  const format = t.format
  if (format !== 'time_series' && format !== 'table') fail(where, `format must be time_series or table, not ${String(format)}`)
  return { refId: str(t, 'refId', where), rawSql: str(t, 'rawSql', where), format, datasource: datasourceOf(t, where) }
}

function panelsOf(list: unknown, file: string): DashboardPanel[] {
  if (!Array.isArray(list)) fail(file, 'panels must be an array')
  const out: DashboardPanel[] = []
  for (const p of list) {
    if (!isObject(p)) fail(file, 'a panel must be an object')
    const where = `${file} panel ${String(p.title ?? p.id)}`
    if (p.type === 'row') {
      if (p.panels !== undefined) out.push(...panelsOf(p.panels, file))
      continue
    }
    if (typeof p.id !== 'number') fail(where, 'id must be a number')
    if (!Array.isArray(p.targets) || p.targets.length === 0) fail(where, 'has no targets')
    out.push({
      id: p.id,
      title: str(p, 'title', where),
      type: str(p, 'type', where),
      datasource: datasourceOf(p, where),
      interval: typeof p.interval === 'string' && p.interval !== '' ? p.interval : undefined,
      maxDataPoints: typeof p.maxDataPoints === 'number' ? p.maxDataPoints : undefined,
      targets: p.targets.map((t, i) => sqlTarget(t, `${where} target ${i}`)),
    })
  }
  return out
}

export function parseDashboard(file: string, text: string): Dashboard {
  const d: unknown = JSON.parse(text)
  if (!isObject(d)) fail(file, 'not a JSON object')
  const templating = isObject(d.templating) && Array.isArray(d.templating.list) ? d.templating.list : []
  const variables = templating.map((v, i): DashboardVariable => {
    const where = `${file} variable ${i}`
    if (!isObject(v)) fail(where, 'must be an object')
    const query = isObject(v.query) && typeof v.query.rawSql === 'string' ? v.query.rawSql : v.query
    if (typeof query !== 'string' || query === '') fail(where, 'query must be the SQL text')
    return { name: str(v, 'name', where), type: str(v, 'type', where), query, datasource: datasourceOf(v, where), multi: v.multi === true, includeAll: v.includeAll === true }
  })
  const annotationList = isObject(d.annotations) && Array.isArray(d.annotations.list) ? d.annotations.list : []
  const annotations: DashboardAnnotation[] = []
  for (const a of annotationList) {
    if (!isObject(a) || a.builtIn === 1) continue // Grafana's own annotations, no SQL
    const where = `${file} annotation ${String(a.name)}`
    annotations.push({ name: str(a, 'name', where), datasource: datasourceOf(a, where), target: sqlTarget(a.target, where) })
  }
  return {
    file,
    uid: str(d, 'uid', file),
    title: str(d, 'title', file),
    schemaVersion: typeof d.schemaVersion === 'number' ? d.schemaVersion : fail(file, 'schemaVersion must be a number'),
    panels: panelsOf(d.panels, file),
    variables,
    annotations,
  }
}

/** Every `*.json` of `dir`, by file name. Synchronous: tests are declared from it at collection time. */
export function loadDashboards(dir: string): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseDashboard(f, readFileSync(join(dir, f), 'utf8')))
}
