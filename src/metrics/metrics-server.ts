import { fastify } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { BaseError, ConfigError } from '../errors.ts'

/**
 * Where worker and indexer processes serve GET /metrics unless told otherwise (--metrics-port,
 * DEXRISK_METRICS_PORT; 0 turns it off). 9464 is the usual port of a Prometheus exporter built
 * into an application; processes sharing a host need one port each.
 */
export const DEFAULT_METRICS_PORT = 9464

/** Interface the metrics server binds to unless told otherwise (--metrics-host, DEXRISK_METRICS_HOST). */
export const DEFAULT_METRICS_HOST = '127.0.0.1'

export type MetricsServerOptions = {
  registry: Registry
  /** Default DEFAULT_METRICS_HOST (this machine only); '0.0.0.0' for a Prometheus on another host. */
  host?: string
  /** 0 picks a free port (tests). */
  port: number
  log?: Logger
}

export type MetricsServer = {
  /** The /metrics URL, with the port actually bound. */
  url: string
  /** Idempotent; waits for requests in flight. */
  close(): Promise<void>
}

/** A fastify server answering GET /metrics with the registry's text, in the registry's content type. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? DEFAULT_METRICS_HOST
  const port = parseMetricsPort(opts.port, 'port')
  const app = fastify({ logger: false })
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics()
    return reply.type(opts.registry.contentType).send(body)
  })
  app.setErrorHandler((err, _req, reply) => {
    opts.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'serving /metrics failed')
    return reply.code(500).type('text/plain').send('metrics unavailable\n')
  })
  try {
    await app.listen({ host, port })
  } catch (err) {
    await app.close().catch(() => {})
    const code = (err as { code?: unknown }).code
    if (code === 'EADDRINUSE')
      throw new ConfigError(`metrics port ${port} on ${host} is in use: give this process another with --metrics-port <n> or DEXRISK_METRICS_PORT (0 turns /metrics off)`, {
        context: { field: '--metrics-port' },
        cause: err,
      })
    throw new BaseError(`metrics server could not listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`
  let closed: Promise<void> | undefined
  return { url, close: () => (closed ??= app.close()) }
}

/** A port number 0–65535 from a flag, an environment variable or a number; else a ConfigError naming `field`. */
export function parseMetricsPort(value: string | number, field = '--metrics-port (DEXRISK_METRICS_PORT)'): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new ConfigError(`must be a port number from 0 to 65535 (0: off), got ${JSON.stringify(value)}`, { context: { field } })
  return n
}
