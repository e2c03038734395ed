import { pino, type Logger } from 'pino'
import type { Config } from './config/schema.ts'

/** What every stateful part receives (Ponder's `common`): config and logger (metrics join with /metrics, issue 5). */
export type Common = {
  config: Config
  log: Logger
}

/** A pino logger; DEXRISK_LOG_LEVEL sets the level (default 'info', 'silent' in tests). */
export function createLogger(opts: { level?: string } = {}): Logger {
  const level = opts.level ?? process.env.DEXRISK_LOG_LEVEL ?? 'info'
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime })
}

export function createCommon(config: Config, opts: { log?: Logger } = {}): Common {
  return { config, log: opts.log ?? createLogger() }
}
