import type { Logger } from 'pino'
import { createRedisConnection, type RedisClient, type RedisTarget } from '../db/redis.ts'
import { alertsChannel, updatesChannel } from '../read-model/keys.ts'

/** What a live connection is: a place to send text frames, with the bytes it has not yet sent. */
export type LiveSocket = {
  send(data: string): void
  readonly bufferedAmount: number
  /** 1 = open (the WebSocket readyState). */
  readonly readyState: number
}

export type LiveClient = {
  account: string
  socket: LiveSocket
  /**
   * Set while a snapshot is being built: frames wait here (in order) and are sent after it, so an
   * update published meanwhile is not lost. Null once the snapshot is out.
   */
  pending: string[] | null
  /** Sends the client a full snapshot (on connect, and to resynchronise a client that fell behind). */
  resync(): Promise<void>
}

export type LiveHub = {
  /** Starts forwarding the account's updates to the client; returns its unsubscribe. */
  add(client: LiveClient): () => void
  /** Connections held now. */
  readonly size: number
  /** Messages skipped for clients that were behind, since start. */
  readonly dropped: number
  close(): Promise<void>
}

/** Frames kept for a client while its snapshot is being built; beyond that it resyncs. */
const MAX_PENDING = 1_000

/**
 * Fans the workers' Redis pub/sub out to WebSocket clients, one subscriber connection per API
 * process (several API processes can serve the same account: each gets every message). A message
 * is parsed once to learn its account and forwarded as text built around the published JSON, so a
 * thousand clients cost a thousand sends, not a thousand serializations.
 *
 * Slow clients: a client whose unsent data exceeds `maxBufferedBytes` is skipped (its messages are
 * dropped, counted) and marked behind; once its buffer has drained below a quarter of the limit it
 * gets a fresh snapshot, which replaces everything it missed. Nothing waits on a slow client.
 */
export function createLiveHub(opts: { redisUrl: RedisTarget; prefix: string; maxBufferedBytes: number; log: Logger; onDropped?: (n: number) => void }): LiveHub {
  const { log } = opts
  const byAccount = new Map<string, Set<LiveClient>>()
  const behind = new Set<LiveClient>()
  let size = 0
  let dropped = 0
  const updates = updatesChannel(opts.prefix)
  const alerts = alertsChannel(opts.prefix)
  const sub: RedisClient = createRedisConnection(opts.redisUrl, { log, name: 'dexrisk-api-live' })
  void sub.subscribe(updates, alerts).catch((err: Error) => log.error({ err: err.message }, 'live updates: subscribing failed'))
  sub.on('message', (channel: string, message: string) => {
    try {
      route(channel, message)
    } catch (err) {
      log.warn({ channel, err: (err as Error).message }, 'live updates: unreadable message skipped')
    }
  })

  function route(channel: string, message: string): void {
    let account: string
    let frame: string
    if (channel === updates) {
      account = (JSON.parse(message) as { account: string }).account
      frame = `{"type":"update","summary":${message}}`
    } else if (channel === alerts) {
      const m = JSON.parse(message) as { kind: 'alert'; alert: { account: string } } | { kind: 'halt'; halt: { account: string } }
      if (m.kind === 'alert') {
        account = m.alert.account
        frame = `{"type":"alert","alert":${JSON.stringify(m.alert)}}`
      } else {
        account = m.halt.account
        frame = `{"type":"halt","halt":${JSON.stringify(m.halt)}}`
      }
    } else return
    const clients = byAccount.get(account)
    if (!clients) return
    for (const c of clients) deliver(c, frame)
  }

  function deliver(c: LiveClient, frame: string): void {
    if (c.socket.readyState !== 1) return
    if (c.pending !== null && !behind.has(c)) {
      if (c.pending.length < MAX_PENDING) {
        c.pending.push(frame)
        return
      }
      c.pending = null
      behind.add(c)
    }
    if (behind.has(c) || c.socket.bufferedAmount > opts.maxBufferedBytes) {
      if (!behind.has(c)) {
        behind.add(c)
        log.debug({ account: c.account }, 'live client behind; skipping until it drains')
      }
      dropped++
      opts.onDropped?.(1)
      return
    }
    c.socket.send(frame)
  }

  // Clients that fell behind get a fresh snapshot once their buffer has drained.
  const drainTimer = setInterval(() => {
    for (const c of behind) {
      if (c.socket.readyState !== 1) {
        behind.delete(c)
        continue
      }
      if (c.socket.bufferedAmount > opts.maxBufferedBytes / 4) continue
      behind.delete(c)
      c.resync().catch((err: Error) => log.warn({ account: c.account, err: err.message }, 'live client resync failed'))
    }
  }, 250)
  drainTimer.unref()

  let closed: Promise<void> | undefined
  return {
    add(client) {
      let set = byAccount.get(client.account)
      if (!set) byAccount.set(client.account, (set = new Set()))
      set.add(client)
      size++
      let removed = false
      return () => {
        if (removed) return
        removed = true
        size--
        behind.delete(client)
        set.delete(client)
        if (set.size === 0) byAccount.delete(client.account)
      }
    },
    get size() {
      return size
    },
    get dropped() {
      return dropped
    },
    close: () =>
      (closed ??= (async () => {
        clearInterval(drainTimer)
        await sub.quit().catch(() => sub.disconnect())
      })()),
  }
}
