import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type pg from 'pg'
import { hashKey, principalOf, type Principal } from './key-store.ts'
import { HttpError } from './http-error.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set for every /v1 route (the request is refused before a handler runs without one). */
    principal: Principal
  }
}

/** How long a looked-up key is trusted before it is looked up again (a revocation applies within it). */
export const KEY_CACHE_MS = 5_000

/**
 * API-key authentication for /v1: `Authorization: Bearer <key>`, or `?key=` on WebSocket routes
 * (a browser cannot set headers on a WebSocket). An unknown, malformed or revoked key is a 401
 * with the same body for all three. `controlKey`, when given, is an admin key that exists only in
 * this process (the CLI reaches a running monitor with it; see monitor-file.ts).
 */
export function registerAuth(app: FastifyInstance, opts: { pool: pg.Pool; controlKey?: string }): void {
  const cache = new Map<string, { principal: Promise<Principal | null>; until: number }>()
  const controlHash = opts.controlKey === undefined ? undefined : hashKey(opts.controlKey)
  app.decorateRequest('principal', null as never)
  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (!req.url.startsWith('/v1/')) return
    const key = presentedKey(req)
    if (key === undefined) throw new HttpError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>')
    const hash = hashKey(key)
    if (controlHash !== undefined && hash === controlHash) {
      req.principal = { keyId: 'control', role: 'admin' }
      return
    }
    const now = Date.now()
    let hit = cache.get(hash)
    if (!hit || hit.until < now) {
      // One lookup per key at a time: a burst of requests with one key (a dashboard wall
      // reconnecting) shares it. A failed lookup is not kept.
      const principal = principalOf(opts.pool, key)
      hit = { principal, until: now + KEY_CACHE_MS }
      if (cache.size > 10_000) cache.clear()
      cache.set(hash, hit)
      principal.catch(() => cache.delete(hash))
    }
    const principal = await hit.principal
    if (!principal) throw new HttpError(401, 'unauthorized', 'unknown or revoked API key')
    req.principal = principal
  })
}

/** The key of a request, for rate limiting and authentication. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return m ? m[1] : undefined
  }
  if (req.url.includes('/ws')) {
    const key = (req.query as Record<string, unknown> | undefined)?.key
    if (typeof key === 'string' && key.length > 0) return key
  }
  return undefined
}

/**
 * Refuses a request for an account its key may not see, with exactly the answer an account that
 * does not exist gets (404), so guessing names or addresses learns nothing.
 */
export function assertSees(req: FastifyRequest, account: string): void {
  const p = req.principal
  if (p.role === 'account' && p.account !== account) throw notFoundAccount(account)
}

export function assertAdmin(req: FastifyRequest): void {
  if (req.principal.role !== 'admin') throw new HttpError(403, 'forbidden', 'this needs an admin key')
}

export const notFoundAccount = (account: string): HttpError => new HttpError(404, 'not_found', `no account "${account}"`)

/** Replies with the error body every route uses: `{ error, message }`. */
export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.status).send({ error: err.code, message: err.message })
}
