/* global WebSocket, window */
/**
 * The account's WebSocket, kept open: on an unexpected close it reconnects with exponential
 * backoff and jitter (the server sends a fresh snapshot on every connect). A socket that never
 * opened may mean a revoked key or a deleted account, which retrying cannot fix: `probe` is asked
 * then, and a reason it returns stops the retries.
 *
 * States: 'connecting' (socket opening), 'syncing' (open, no snapshot yet), 'live' (open and
 * synchronised), 'reconnecting' (waiting to retry), 'offline' (stopped: closed, or probe said so).
 */

/** @typedef {'connecting' | 'syncing' | 'live' | 'reconnecting' | 'offline'} ConnectionState */

/**
 * @typedef {{
 *   url: () => string,
 *   onMessage: (msg: import('./state.js').ServerMessage) => void,
 *   onState: (state: ConnectionState, detail: string) => void,
 *   probe?: () => Promise<string | null>,
 *   minDelayMs?: number,
 *   maxDelayMs?: number,
 * }} LiveConnectionOptions
 */

/**
 * @param {LiveConnectionOptions} options minDelayMs: first retry delay (default 500); maxDelayMs: cap (default 30 000).
 * @returns {{ close(): void, retryNow(): void, send(msg: object): boolean }}
 */
export function createLiveConnection(options) {
  const { url, onMessage, onState, probe } = options
  const minDelayMs = options.minDelayMs ?? 500
  const maxDelayMs = options.maxDelayMs ?? 30_000
  /** @type {WebSocket | null} */
  let ws = null
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null
  let failures = 0
  let stopped = false
  /** The server's last `error` message on this socket: shown with the retry. */
  let lastError = ''

  const connect = () => {
    timer = null
    if (stopped) return
    lastError = ''
    let opened = false
    onState('connecting', '')
    const socket = new WebSocket(url())
    ws = socket
    socket.addEventListener('open', () => {
      opened = true
      onState('syncing', 'waiting for the snapshot')
    })
    socket.addEventListener('message', (ev) => {
      if (socket !== ws || typeof ev.data !== 'string') return
      /** @type {import('./state.js').ServerMessage} */
      let msg
      try {
        msg = JSON.parse(ev.data)
      } catch {
        return
      }
      if (msg.type === 'error') lastError = msg.message
      onMessage(msg)
      if (msg.type === 'snapshot') {
        failures = 0
        onState('live', '')
      }
    })
    socket.addEventListener('close', (ev) => {
      if (socket !== ws) return
      ws = null
      if (stopped) return
      const why = lastError || ev.reason || (opened ? `connection closed (${ev.code})` : 'could not connect')
      void scheduleRetry(why, opened)
    })
  }

  /** @param {string} why @param {boolean} opened */
  const scheduleRetry = async (why, opened) => {
    if (!opened && probe) {
      const fatal = await probe().catch(() => null)
      if (stopped) return
      if (fatal) {
        stopped = true
        onState('offline', fatal)
        return
      }
    }
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** failures)
    const delay = Math.round(base * (0.8 + Math.random() * 0.4))
    failures++
    onState('reconnecting', `${why}; retrying in ${Math.max(1, Math.round(delay / 1000))} s`)
    timer = setTimeout(connect, delay)
  }

  const retryNow = () => {
    if (stopped || ws || timer === null) return
    clearTimeout(timer)
    connect()
  }
  window.addEventListener('online', retryNow)

  connect()
  return {
    close() {
      if (stopped && ws === null && timer === null) return
      stopped = true
      window.removeEventListener('online', retryNow)
      if (timer !== null) clearTimeout(timer)
      timer = null
      const socket = ws
      ws = null
      socket?.close(1000, 'dashboard closed')
      onState('offline', 'closed')
    },
    retryNow,
    /** Sends `msg` as JSON if the socket is open; false when it is not (nothing is queued). */
    send(msg) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false
      ws.send(JSON.stringify(msg))
      return true
    },
  }
}
