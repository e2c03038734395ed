import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/metrics/create-metrics.ts'
import { parseMetricsPort, startMetricsServer } from '../../src/metrics/metrics-server.ts'

describe('startMetricsServer', () => {
  it('answers GET /metrics with the registry text in the registry content type', async () => {
    const metrics = createMetrics()
    const server = await startMetricsServer({ registry: metrics.registry, port: 0 })
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      metrics.webhooks.deliveries.inc({ outcome: 'delivered' }, 3)
      metrics.indexer.lagBlocks.set({ chain: 'base' }, 12)
      const res = await fetch(server.url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe(metrics.registry.contentType)
      expect(metrics.registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
      const text = await res.text()
      expect(text).toContain('# TYPE dexrisk_webhook_deliveries_total counter\n')
      expect(text).toContain('\ndexrisk_webhook_deliveries_total{outcome="delivered"} 3\n')
      expect(text).toContain('\ndexrisk_indexer_lag_blocks{chain="base"} 12\n')
      expect(text).toContain('# TYPE process_resident_memory_bytes gauge')
      expect((await fetch(server.url.replace(/\/metrics$/, '/'))).status).toBe(404)
    } finally {
      await server.close()
    }
  })

  it('refuses a port that is taken, naming it and the flag that changes it', async () => {
    const first = await startMetricsServer({ registry: createMetrics({ defaultMetrics: false }).registry, port: 0 })
    try {
      const port = Number(new URL(first.url).port)
      await expect(startMetricsServer({ registry: createMetrics({ defaultMetrics: false }).registry, port })).rejects.toThrow(
        `metrics port ${port} on 127.0.0.1 is in use: give this process another with --metrics-port <n> or DEXRISK_METRICS_PORT (0 turns /metrics off)`,
      )
    } finally {
      await first.close()
    }
  })

  it('closes once, however often close() is called, and then no longer answers', async () => {
    const server = await startMetricsServer({ registry: createMetrics({ defaultMetrics: false }).registry, port: 0 })
    await Promise.all([server.close(), server.close()])
    await server.close()
    await expect(fetch(server.url)).rejects.toThrow()
  })
})

describe('parseMetricsPort', () => {
  it('takes 0 to 65535 from a flag or the environment, and names the flag otherwise', () => {
    expect(parseMetricsPort('9464')).toBe(9464)
    expect(parseMetricsPort('0')).toBe(0)
    expect(parseMetricsPort(65_535)).toBe(65_535)
    for (const bad of ['', 'abc', '-1', '65536', '94.5', '0x10'])
      expect(() => parseMetricsPort(bad)).toThrow(`must be a port number from 0 to 65535 (0: off), got ${JSON.stringify(bad)} (field --metrics-port (DEXRISK_METRICS_PORT))`)
  })
})
