import type { FastifyInstance, FastifyRequest } from 'fastify'
import type pg from 'pg'
import { hashKey, principalOf, type Principal } from './key-store.ts'
import { HttpError } from './http-error.ts'
import { isAccountName } from '../domain/account-name.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set for every /v1 route (the request is refused before a handler runs without one). */
    principal: Principal
  }
}

/** How long a verified key is trusted before it is looked up again (a revocation applies within it). */
export const KEY_CACHE_MS = 5_000
const MAX_CACHED_KEYS = 10_000

export type Auth = {
  /** The principal of a key (cached for KEY_CACHE_MS when valid; null when unknown or revoked). */
  principalOf(key: string): Promise<Principal | null>
  /** The principal of a key verified within KEY_CACHE_MS, without a lookup; undefined otherwise. */
  cached(key: string): Principal | undefined
}

/** True for routes under /v1 (by the matched route, not the raw URL: the router decodes %-escapes). */
export const isV1Route = (req: FastifyRequest): boolean => req.routeOptions.url?.startsWith('/v1/') ?? false

/**
 * API-key authentication for /v1: `Authorization: Bearer <key>`, or `?key=` on the WebSocket route
 * (a browser cannot set headers on a WebSocket). An unknown, malformed or revoked key is a 401
 * with the same body for all three. `controlKey`, when given, is an admin key that exists only in
 * this process (the CLI reaches a running monitor with it; see monitor-file.ts).
 *
 * Lookups are cached for KEY_CACHE_MS (both answers, in bounded maps), and concurrent lookups of
 * one key share one query; made-up keys are rate-limited per address (create-api.ts).
 */
export function createAuth(opts: { pool: pg.Pool; controlKey?: string }): Auth {
  const verified = new Map<string, { principal: Principal; until: number }>()
  /** Keys just found unknown: a client repeating one costs no lookup until it expires. Bounded. */
  const refused = new Map<string, number>()
  const inFlight = new Map<string, Promise<Principal | null>>()
  const controlHash = opts.controlKey === undefined ? undefined : hashKey(opts.controlKey)

  /** The control key, or a key verified within KEY_CACHE_MS: no lookup. */
  const cachedByHash = (hash: string): Principal | undefined => {
    if (controlHash !== undefined && hash === controlHash) return { keyId: 'control', role: 'admin' }
    const hit = verified.get(hash)
    return hit && hit.until >= Date.now() ? hit.principal : undefined
  }

  const lookup = async (key: string): Promise<Principal | null> => {
    const hash = hashKey(key)
    const hit = cachedByHash(hash)
    if (hit) return hit
    if ((refused.get(hash) ?? 0) >= Date.now()) return null
    let pending = inFlight.get(hash)
    if (!pending) {
      pending = principalOf(opts.pool, key).finally(() => inFlight.delete(hash))
      inFlight.set(hash, pending)
    }
    const principal = await pending
    if (principal) {
      if (verified.size >= MAX_CACHED_KEYS) verified.delete(verified.keys().next().value!)
      verified.set(hash, { principal, until: Date.now() + KEY_CACHE_MS })
    } else {
      verified.delete(hash)
      if (refused.size >= MAX_CACHED_KEYS) refused.delete(refused.keys().next().value!)
      refused.set(hash, Date.now() + KEY_CACHE_MS)
    }
    return principal
  }

  return { principalOf: lookup, cached: (key) => cachedByHash(hashKey(key)) }
}

/** Checks the key of every /v1 request and sets `req.principal` (401 without a valid one). */
export function registerAuth(app: FastifyInstance, auth: Auth): void {
  app.decorateRequest('principal', null as never)
  // preValidation, not onRequest: @fastify/rate-limit counts in route-level onRequest hooks, which
  // run after app-level ones; checking keys after it means a flood of made-up keys is limited
  // before it costs a lookup. Route-level preValidation hooks (the WebSocket's) run after this one.
  app.addHook('preValidation', async (req: FastifyRequest) => {
    if (!isV1Route(req)) return
    const key = presentedKey(req)
    if (key === undefined) throw new HttpError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>')
    const principal = await auth.principalOf(key)
    if (!principal) throw new HttpError(401, 'unauthorized', 'unknown or revoked API key')
    // A key made for a name that is not an account's (before names were checked: '*' would read
    // every account's reports) sees nothing; an admin revokes it and mints one for a real name.
    if (principal.role === 'account' && !isAccountName(principal.account))
      throw new HttpError(403, 'forbidden', `this key belongs to "${principal.account}", which cannot be an account's name; ask an admin for a new key`)
    req.principal = principal
  })
}

/** The key of a request: the Bearer header, or `?key=` on the WebSocket route only (query strings end up in logs). */
export function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return m ? m[1] : undefined
  }
  if (req.routeOptions.url?.endsWith('/ws')) {
    const key = (req.query as Record<string, unknown> | undefined)?.key
    if (typeof key === 'string' && key.length > 0) return key
  }
  return undefined
}

/** The request's principal; a route reached without one (it cannot: see isV1Route) fails closed. */
function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw new HttpError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>')
  return req.principal
}

/**
 * Refuses a request for an account its key may not see, with exactly the answer an account that
 * does not exist gets (404), so guessing names or addresses learns nothing.
 */
export function assertSees(req: FastifyRequest, account: string): void {
  const p = principal(req)
  if (p.role === 'account' && p.account !== account) throw notFoundAccount(account)
}

export function assertAdmin(req: FastifyRequest): void {
  if (principal(req).role !== 'admin') throw new HttpError(403, 'forbidden', 'this needs an admin key')
}

export const notFoundAccount = (account: string): HttpError => new HttpError(404, 'not_found', `no account "${account}"`)
