import { pino, type Logger } from 'pino'
import type { Config } from './config/schema.ts'
import { createMetrics, type Metrics } from './metrics/create-metrics.ts'

/** What every stateful part receives (Ponder's `common`): config, logger and the process's metrics. */
export type Common = {
  config: Config
  log: Logger
  /** The process's Prometheus metrics (its own registry); served on /metrics by run-monitor and the API. */
  metrics: Metrics
}

/** A pino logger; DEXRISK_LOG_LEVEL sets the level (default 'info', 'silent' in tests). */
export function createLogger(opts: { level?: string } = {}): Logger {
  const level = opts.level ?? process.env.DEXRISK_LOG_LEVEL ?? 'info'
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime })
}

/** `log` default: createLogger(); `metrics` default: a fresh createMetrics() registry. */
export function createCommon(config: Config, opts: { log?: Logger; metrics?: Metrics } = {}): Common {
  return { config, log: opts.log ?? createLogger(), metrics: opts.metrics ?? createMetrics() }
}
