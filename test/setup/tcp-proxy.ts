import { createConnection, createServer, type Socket } from 'node:net'

export type TcpProxy = {
  /** 127.0.0.1 port it listens on (a free one). */
  port: number
  /** Drops every connection through it and refuses new ones at once: the network of a killed process. */
  cut(): void
  /** Lets connections through again (so that what was cut off can be closed cleanly at the end). */
  heal(): void
  close(): Promise<void>
}

/** A TCP proxy on a free port of 127.0.0.1 to `target` (e.g. the test Redis), whose connections a test can cut. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let cut = false
  const track = (s: Socket): void => {
    sockets.add(s)
    s.on('error', () => {})
    s.once('close', () => sockets.delete(s))
  }
  const server = createServer((client) => {
    track(client)
    if (cut) {
      client.destroy()
      return
    }
    const upstream = createConnection(target)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.once('close', () => upstream.destroy())
    upstream.once('close', () => client.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    port,
    cut: () => {
      cut = true
      for (const s of sockets) s.destroy()
    },
    heal: () => {
      cut = false
    },
    close: async () => {
      cut = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
