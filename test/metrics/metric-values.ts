import type { Registry } from 'prom-client'

/** One series as prom-client returns it; histograms name theirs (`_bucket`, `_count`, `_sum`). */
type Series = { value: number; labels: Record<string, string | number | undefined>; metricName?: string }

async function valuesOf(metric: { get(): Promise<{ values: unknown[] }> }): Promise<Series[]> {
  return (await metric.get()).values as Series[]
}

/**
 * The value of one series of a registry's metric (a histogram's `_count`, `_sum` or `_bucket` by
 * its full name), or undefined when the series does not exist. Labels must match exactly.
 */
export async function seriesValue(registry: Registry, name: string, labels: Record<string, string | number> = {}): Promise<number | undefined> {
  const own = registry.getSingleMetric(name)
  const metric = own ?? registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''))
  if (!metric) throw new Error(`no metric ${name} in the registry`)
  const want = Object.entries(labels).map(([k, v]) => [k, String(v)] as const)
  const hit = (await valuesOf(metric)).find(
    (v) =>
      (own ? v.metricName === undefined || v.metricName === name : v.metricName === name) &&
      Object.keys(v.labels).length === want.length &&
      want.every(([k, x]) => String(v.labels[k]) === x),
  )
  return hit?.value
}

/**
 * Every series of a metric (or of a histogram's `_count` / `_sum`) as `labels → value`, labels as
 * k=v joined by ',', for whole-metric comparisons.
 */
export async function seriesOf(registry: Registry, name: string): Promise<Record<string, number>> {
  const own = registry.getSingleMetric(name)
  const metric = own ?? registry.getSingleMetric(name.replace(/_(count|sum)$/, ''))
  if (!metric) throw new Error(`no metric ${name} in the registry`)
  const out: Record<string, number> = {}
  for (const v of await valuesOf(metric)) {
    if (own ? v.metricName !== undefined && v.metricName !== name : v.metricName !== name) continue
    const key = Object.entries(v.labels)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join(',')
    out[key] = v.value
  }
  return out
}
