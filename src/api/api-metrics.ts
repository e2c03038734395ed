import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The API's own metrics, on the process registry (route is the route template: a bounded label). */
export function createApiMetrics(registry: Registry, live: { connections(): number }) {
  return {
    requests: new Histogram({
      name: 'dexrisk_api_request_duration_seconds',
      help: 'API requests by route template, method and status class',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'dexrisk_api_ws_connections',
      help: 'Per-account WebSocket connections held by this API process',
      registers: [registry],
      collect() {
        this.set(live.connections())
      },
    }),
    wsDropped: new Counter({
      name: 'dexrisk_api_ws_dropped_total',
      help: 'Live messages skipped for WebSocket clients that were behind (each then gets a fresh snapshot)',
      registers: [registry],
    }),
  }
}
