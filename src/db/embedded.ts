import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import { ConfigError, RetryableError } from '../errors.ts'
import { lockDataDir } from './data-dir-lock.ts'
import { SERVER_KIND, type EmbeddedServerData, type ServerMessage, type ServerRequest } from './embedded-server.ts'
import type { DbLogger } from './pool.ts'

/**
 * TimescaleDB embedded in the process (docs/decisions.md 6): PGlite (Postgres 17 in WASM with
 * timescaledb) served over the Postgres wire protocol on 127.0.0.1, so the same `pg` code serves
 * embedded and server modes. It runs in a worker thread of its own (src/db/embedded-server.ts): the
 * database has a core to itself, and the main thread's work (decoding, risk, the API) no longer
 * delays its answers, nor it theirs.
 *
 * Limits to design around:
 * - one client connection at a time: use a pool of `max: 1`. A second connection waits (up to
 *   `connectionWaitMs`) for the first to close, then is refused;
 * - a client that disconnects inside a transaction is rolled back by pglite-socket 0.0.22;
 * - no background jobs: the owning process refreshes continuous aggregates and runs policies;
 * - PGlite itself takes no lock on a data folder (its postmaster.pid holds a fake pid, -42, never
 *   checked): two PGlite instances on one folder, in one process or two, both open it and silently
 *   lose each other's writes. So a second open in this process is refused here, and across
 *   processes `lockDataDir` (proper-lockfile, `<dataDir>.lock`) refuses it with a ConfigError.
 */
export type EmbeddedDatabase = {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string
  port: number
  /** Absolute path of the data folder; undefined when in memory. */
  dataDir: string | undefined
  /** Whether the database has a transaction open (tests: a dropped client's is rolled back). */
  inTransaction(): Promise<boolean>
  /** Stops serving (open connections drop, new ones are refused); the database stays open. */
  suspend(): Promise<void>
  /** Listens again on the same port after `suspend()`. */
  resume(): Promise<void>
  /** Stops the socket server and closes PGlite. Idempotent. */
  stop(): Promise<void>
}

export type StartEmbeddedDatabaseOptions = {
  /** Folder to persist the database in, created when missing. Default: undefined, in memory. */
  dataDir?: string
  /** Port to listen on. Default: 0, a free port chosen by the OS. */
  port?: number
  /**
   * How long a new connection waits for the previous one to close before it is refused. Covers the
   * moment after a dropped connection, while the server is still rolling it back. Default: 5000 ms.
   */
  connectionWaitMs?: number
  log?: DbLogger
}

const HOST = '127.0.0.1'
const openDataDirs = new Set<string>()

export async function startEmbeddedDatabase(opts: StartEmbeddedDatabaseOptions = {}): Promise<EmbeddedDatabase> {
  const dataDir = opts.dataDir === undefined ? undefined : resolve(opts.dataDir)
  const log = opts.log
  const connectionWaitMs = opts.connectionWaitMs ?? 5000
  let unlock: (() => Promise<void>) | undefined

  if (dataDir !== undefined) {
    if (openDataDirs.has(dataDir))
      throw new ConfigError(`the embedded database folder ${dataDir} is already open in this process; PGlite can open a data folder only once`)
    await writableFolder(dataDir)
    unlock = await lockDataDir(dataDir)
    openDataDirs.add(dataDir)
  }
  const release = async (): Promise<void> => {
    if (dataDir !== undefined) openDataDirs.delete(dataDir)
    await unlock?.().catch(() => {})
    unlock = undefined
  }

  const requested = opts.port ?? 0
  const worker = startServerThread({ kind: SERVER_KIND, dataDir, port: requested, connectionWaitMs })
  let exited = false
  const pending = new Map<number, { resolve(v: unknown): void; reject(err: Error): void }>()
  const first = new Promise<ServerMessage>((resolve, reject) => {
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`the embedded database thread exited (code ${code}) before it was ready`)))
    worker.once('message', (m: ServerMessage) => resolve(m))
  })
  worker.on('exit', () => {
    exited = true
    for (const p of pending.values()) p.reject(new RetryableError('the embedded database thread has exited'))
    pending.clear()
  })
  let ready: ServerMessage
  try {
    ready = await first
  } catch (err) {
    await release()
    throw new ConfigError(`could not open the embedded TimescaleDB${dataDir ? ` in ${dataDir}` : ''}`, { cause: err })
  }
  if (ready.kind !== 'ready') {
    await worker.terminate()
    await release()
    if (ready.kind === 'failed' && ready.code === 'EADDRINUSE')
      throw new RetryableError(`cannot serve the embedded database: port ${requested} on ${HOST} is in use`, { cause: rebuild(ready) })
    throw new ConfigError(`could not open the embedded TimescaleDB${dataDir ? ` in ${dataDir}` : ''}`, { cause: ready.kind === 'failed' ? rebuild(ready) : undefined })
  }
  const port = ready.port
  worker.on('message', (m: ServerMessage) => {
    if (m.kind !== 'answer') return
    const p = pending.get(m.id)
    pending.delete(m.id)
    if (!p) return
    if (pending.size === 0) worker.unref()
    if (m.ok) p.resolve(m.value)
    else p.reject(Object.assign(new Error(m.message), { code: m.code }))
  })
  // The thread does not keep the process alive by itself: its clients' sockets do while they are
  // open, and a request to it while it is unanswered.
  worker.unref()
  log?.info({ port, dataDir: dataDir ?? 'memory', ms: ready.ms }, 'embedded TimescaleDB listening')

  let nextId = 0
  const ask = (op: ServerRequest['op']): Promise<unknown> => {
    if (exited) return Promise.reject(new RetryableError(`the embedded database on port ${port} is stopped`))
    const id = ++nextId
    return new Promise((resolve, reject) => {
      // A request keeps the process alive until its answer (a stop at the end of a script).
      if (pending.size === 0) worker.ref()
      pending.set(id, { resolve, reject })
      worker.postMessage({ id, op } satisfies ServerRequest)
    })
  }

  let stopped: Promise<void> | undefined
  const suspend = async (): Promise<void> => {
    if (stopped) return
    await ask('suspend')
    log?.warn({ port }, 'embedded TimescaleDB suspended: connections dropped, new ones refused')
  }
  const resume = async (): Promise<void> => {
    if (stopped) throw new RetryableError(`the embedded database on port ${port} is stopped and cannot resume`)
    await ask('resume')
    log?.info({ port }, 'embedded TimescaleDB resumed')
  }
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      try {
        await ask('stop')
      } finally {
        await worker.terminate()
        await release()
      }
      log?.info({ port }, 'embedded TimescaleDB stopped')
    })())
  const inTransaction = async (): Promise<boolean> => (await ask('inTransaction')) as boolean

  return { url: `postgres://postgres@${HOST}:${port}/postgres`, port, dataDir, inTransaction, suspend, resume, stop }
}

/**
 * The server module in a worker thread. TypeScript sources run through tsx, whose loader a worker
 * does not inherit on Node 20: the thread registers it, then imports the module.
 */
function startServerThread(data: EmbeddedServerData): Worker {
  const server = new URL('./embedded-server.ts', import.meta.url).href
  const tsx = import.meta.resolve('tsx/esm/api')
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(server)}) })`
  return new Worker(boot, { eval: true, workerData: data })
}

function rebuild(m: Extract<ServerMessage, { kind: 'failed' }>): Error {
  const err = Object.assign(new Error(m.message), { code: m.code })
  if (m.stack) err.stack = m.stack
  return err
}

/**
 * Creates the data folder and proves it takes a file. A read-only folder (a read-only mount, a
 * folder of another user) otherwise fails deep inside PGlite as "Program terminated with exit(1)",
 * which says nothing about the folder.
 */
async function writableFolder(dataDir: string): Promise<void> {
  const probe = join(dataDir, `.dexrisk-write-probe-${process.pid}`)
  try {
    await mkdir(dataDir, { recursive: true })
    await writeFile(probe, '')
    await rm(probe, { force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EEXIST')
      throw new ConfigError(`the embedded database folder ${dataDir} is not writable (${code}): choose another with database.dataDir or DEXRISK_DATA_DIR`, { cause: err })
    throw err
  }
}
