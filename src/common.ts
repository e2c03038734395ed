import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import type { Config } from './config/schema.ts'

/** What every stateful part receives (Ponder's `common`): config, logger, metrics. */
export type Common = {
  config: Config
  log: Logger
  metrics: Registry
}

/** A pino logger; DEXRISK_LOG_LEVEL sets the level (default 'info', 'silent' in tests). */
export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.DEXRISK_LOG_LEVEL ?? 'info'
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime })
}

export function createCommon(config: Config, opts: { log?: Logger; metrics?: Registry } = {}): Common {
  return { config, log: opts.log ?? createLogger(), metrics: opts.metrics ?? new Registry() }
}
