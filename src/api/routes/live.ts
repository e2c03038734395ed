import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ApiContext } from '../api-context.ts'
import { createPositionsReader, type PositionsMessage, type RiskSettings } from '../account-view.ts'
import { assertSees, KEY_CACHE_MS, presentedKey } from '../auth.ts'
import type { LiveClient } from '../live-hub.ts'
import { AccountParams, ErrorBody } from '../schemas.ts'

/** A connection that answers no ping for this long is closed. */
const HEARTBEAT_MS = 30_000

/**
 * The per-account WebSocket: a full snapshot on connect, then every update, alert and halt the
 * workers publish for the account (see live-hub.ts for fan-out and slow clients). The key comes as
 * `?key=` (browsers cannot set headers on a WebSocket) or `Authorization: Bearer`.
 *
 * A client may send `{"type":"positions"}` (the dashboard does when an update changed a quantity:
 * updates carry no cost basis) and gets `{"type":"positions",account,positions}`; one such read is
 * outstanding per connection, and reads of one account are shared between its connections.
 */
export function liveRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { fallbackShock, minHistory } = ctx.common.config.risk
  const risk: RiskSettings = { fallbackShock, minHistory }
  const positionsOf = createPositionsReader({ pool: ctx.pool })
  return async (app) => {
    app.get(
      '/v1/accounts/:account/ws',
      {
        websocket: true,
        schema: {
          tags: ['live'],
          summary: 'WebSocket: {type:"snapshot"} on connect, then {type:"update"|"alert"|"halt"} as workers publish',
          params: AccountParams,
          response: { 401: ErrorBody, 404: ErrorBody },
        },
        preValidation: async (req) => assertSees(req, (req.params as { account: string }).account),
      },
      (socket, req) => {
        const { account } = req.params
        const client: LiveClient = {
          account,
          socket,
          pending: [],
          async resync() {
            client.pending ??= []
            const snapshot = await ctx.snapshot(account)
            if (socket.readyState !== 1) return
            socket.send(JSON.stringify({ ...snapshot, risk }))
            const queued = client.pending
            client.pending = null
            for (const frame of queued ?? []) socket.send(frame)
          },
        }
        // Listening starts before the snapshot is read: nothing published in between is lost.
        const remove = ctx.hub.add(client)
        // A key revoked (or its account deleted) while the socket is open closes it within about
        // twice KEY_CACHE_MS, as a revoked key's REST requests stop being accepted.
        const key = presentedKey(req)!
        const recheck = setInterval(() => {
          ctx.auth.principalOf(key).then(
            (p) => {
              if (p === null || (p.role === 'account' && p.account !== account)) socket.close(1008, 'API key revoked')
            },
            (err: Error) => req.log.warn({ account, err: err.message }, 'live connection: key re-check failed; keeping the connection'),
          )
        }, KEY_CACHE_MS)
        recheck.unref()
        let alive = true
        socket.on('pong', () => (alive = true))
        const heartbeat = setInterval(() => {
          if (!alive) return socket.terminate()
          alive = false
          socket.ping()
        }, HEARTBEAT_MS)
        heartbeat.unref()
        let readingPositions = false
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary || readingPositions || data.length > 100) return
          let msg: { type?: unknown }
          try {
            msg = JSON.parse(data.toString('utf8')) as { type?: unknown }
          } catch {
            return
          }
          if (msg?.type !== 'positions') return
          readingPositions = true
          positionsOf(account)
            .then(
              (positions) => {
                const reply: PositionsMessage = { type: 'positions', account, positions }
                // Behind a snapshot being built: in order, after it.
                if (client.pending) client.pending.push(JSON.stringify(reply))
                else if (socket.readyState === 1) socket.send(JSON.stringify(reply))
              },
              (err: Error) => req.log.warn({ account, err: err.message }, 'live positions read failed'),
            )
            .finally(() => (readingPositions = false))
        })
        socket.on('close', () => {
          clearInterval(heartbeat)
          clearInterval(recheck)
          remove()
        })
        client.resync().catch((err: Error) => {
          req.log.warn({ account, err: err.message }, 'live snapshot failed')
          if (socket.readyState === 1) {
            socket.send(JSON.stringify({ type: 'error', message: 'the snapshot could not be read; reconnect' }))
            socket.close(1011, 'snapshot failed')
          }
        })
      },
    )
  }
}
