import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'

/** One pino line, parsed: its level number, message and bound fields (chain, shard …). */
export type LogEntry = { level: number; msg: string; [field: string]: unknown }

export type CapturedLog = {
  /** A real pino logger writing JSON lines into `entries`. */
  logger: Logger
  entries: LogEntry[]
  /** Entries whose message matches and whose fields include `fields` (compared with ===). */
  matching(msg: RegExp, fields?: Record<string, unknown>): LogEntry[]
}

/** A pino logger at `level` (default 'warn') whose output is collected for assertions. */
export function captureLog(level = 'warn'): CapturedLog {
  const entries: LogEntry[] = []
  let partial = ''
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      partial += chunk.toString()
      let nl: number
      while ((nl = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, nl)
        partial = partial.slice(nl + 1)
        if (line.trim()) entries.push(JSON.parse(line) as LogEntry)
      }
      cb()
    },
  })
  return {
    logger: pino({ level }, stream),
    entries,
    matching: (msg, fields = {}) => entries.filter((e) => msg.test(e.msg) && Object.entries(fields).every(([k, v]) => e[k] === v)),
  }
}
