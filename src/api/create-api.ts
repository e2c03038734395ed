import { fileURLToPath } from 'node:url'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { Common } from '../common.ts'
import { createRedisConnection, type RedisTarget } from '../db/redis.ts'
import { RetryableError } from '../errors.ts'
import type { ApiContext } from './api-context.ts'
import { createSnapshotReader } from './account-view.ts'
import { createAuth, isV1Route, presentedKey, registerAuth } from './auth.ts'
import { toHttpError } from './http-error.ts'
import { strictValidation, validationMessage } from './validation.ts'
import { createApiMetrics } from './api-metrics.ts'
import { createLiveHub, type LiveHub } from './live-hub.ts'
import { accountRoutes } from './routes/accounts.ts'
import { healthRoutes } from './routes/health.ts'
import { liveRoutes } from './routes/live.ts'
import { reportRoutes } from './routes/reports.ts'
import { riskRoutes } from './routes/risk.ts'
import { ruleRoutes } from './routes/rules.ts'

export type CreateApiOptions = {
  common: Common
  pool: pg.Pool
  /** One Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  /** Default: config.api.host / config.api.port. */
  host?: string
  port?: number
  /** An admin key that exists only in this process (the CLI reaches a running monitor with it). */
  controlKey?: string
}

/** The API built but not listening: its routes answer `app.inject` (tests, tools). */
export type BuiltApi = {
  app: FastifyInstance
  /** The WebSocket fan-out: connections held, messages dropped for slow clients. */
  hub: LiveHub
  /** Idempotent: closes WebSockets, the live subscription and Redis. */
  close(): Promise<void>
}

export type Api = {
  app: FastifyInstance
  /** http://host:port it listens on. */
  url: string
  /** The WebSocket fan-out: connections held, messages dropped for slow clients. */
  hub: LiveHub
  /** Idempotent: stops accepting, closes WebSockets and the live subscription. */
  close(): Promise<void>
}

const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url))
const UPLOT_DIR = fileURLToPath(new URL('../../node_modules/uplot/dist/', import.meta.url))

/**
 * The API process: REST (/v1, API keys, rate limits, OpenAPI at /docs), the per-account WebSocket,
 * the dashboard page, health and readiness. Reads the Redis read model and TimescaleDB; writes only
 * accounts, keys and rules. Listens on config.api (or opts) host and port.
 */
export async function createApi(opts: CreateApiOptions): Promise<Api> {
  const { app, hub, close } = await buildApi(opts)
  try {
    const address = await app.listen({ host: opts.host ?? opts.common.config.api.host, port: opts.port ?? opts.common.config.api.port })
    opts.common.log.info({ url: address }, 'API listening (dashboard at /dashboard/, OpenAPI at /docs)')
    return { app, url: address, hub, close }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
}

/** The API with every route registered and ready, without listening: `app.inject` reaches it. */
export async function buildApi(opts: CreateApiOptions): Promise<BuiltApi> {
  const { common, pool } = opts
  const { config, log } = common
  const redis = createRedisConnection(opts.redisUrl, { log, name: 'dexrisk-api' })
  // Read at scrape time, once the hub below exists.
  const metrics = createApiMetrics(common.metrics.registry, { connections: () => hub.size })
  const hub = createLiveHub({
    redisUrl: opts.redisUrl,
    prefix: config.queue.prefix,
    maxBufferedBytes: config.api.wsMaxBufferedBytes,
    log,
    onDropped: (n) => metrics.wsDropped.inc(n),
  })
  const auth = createAuth({ pool, ...(opts.controlKey === undefined ? {} : { controlKey: opts.controlKey }) })
  const ctx: ApiContext = {
    common,
    pool,
    redis,
    hub,
    auth,
    snapshot: createSnapshotReader({ pool, redis, prefix: config.queue.prefix, shards: config.shards, historyPoints: config.api.historyPoints }),
  }

  // Fastify's own request lines are off: they would log `?key=` of WebSocket URLs. One debug line
  // per request names the route template instead.
  const app = Fastify({
    loggerInstance: log.child({ part: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: false,
    schemaController: strictValidation(),
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000)
    req.log.debug({ method: req.method, route: req.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request')
  })
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const http = toHttpError(err)
    if (http) return reply.code(http.status).send({ error: http.code, message: http.message })
    if (err.validation) return reply.code(400).send({ error: 'bad_request', message: validationMessage(err, req) })
    if (err.statusCode === 429) return reply.code(429).send({ error: 'rate_limited', message: err.message })
    if (err.statusCode !== undefined && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message })
    if (err instanceof RetryableError) {
      req.log.warn({ err: err.message, url: req.routeOptions.url }, 'request failed on an unavailable dependency')
      return reply.code(503).send({ error: 'unavailable', message: 'a dependency is unavailable; retry shortly' })
    }
    req.log.error({ err, url: req.routeOptions.url }, 'request failed')
    return reply.code(500).send({ error: 'internal', message: 'internal error' })
  })

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'dexrisk API', version: '1', description: 'Per-account DEX exposure and risk. Authenticate with `Authorization: Bearer <API key>`.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
  await app.register(fastifyRateLimit, {
    global: true,
    max: config.api.rateLimitPerMinute,
    timeWindow: 60_000,
    redis,
    nameSpace: `${config.queue.prefix}:ratelimit:`,
    // Per key (its public id) once the key is verified, else per client address: a made-up key
    // counts against the address that sends it before it costs a lookup (authentication runs
    // after the count), and buys no budget of its own. A real key's first request after its cache
    // entry expires counts against the address too; the ones after it against the key.
    keyGenerator: (req) => {
      const key = presentedKey(req)
      const principal = key === undefined ? undefined : auth.cached(key)
      return principal === undefined ? `ip:${req.ip}` : `key:${principal.keyId}`
    },
    // /ready reaches the database and Redis for anyone without a key: limited per address like /v1.
    allowList: (req) => !isV1Route(req) && req.routeOptions.url !== '/ready',
    errorResponseBuilder: (_req, context) => ({ statusCode: 429, error: 'rate_limited', message: `more than ${context.max} requests a minute; retry in ${context.after}` }),
  })
  await app.register(fastifyWebsocket, { options: { maxPayload: 4_096 } })
  registerAuth(app, auth)

  await app.register(healthRoutes(ctx))
  await app.register(accountRoutes(ctx))
  await app.register(riskRoutes(ctx))
  await app.register(ruleRoutes(ctx))
  await app.register(liveRoutes(ctx))
  await app.register(reportRoutes(ctx))

  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/dashboard/', index: 'index.html', redirect: true, cacheControl: false })
  await app.register(fastifyStatic, { root: UPLOT_DIR, prefix: '/dashboard/vendor/', decorateReply: false, allowedPath: (p) => /^\/?uPlot\.(iife\.min\.js|min\.css)$/.test(p) })
  app.addHook('onSend', async (req, reply) => {
    if (!req.url.startsWith('/dashboard')) return
    reply.header('Content-Security-Policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
    // File names are not versioned: a browser revalidates every load (cheap: ETag / 304).
    reply.header('Cache-Control', 'no-cache')
    reply.header('X-Content-Type-Options', 'nosniff')
    reply.header('Referrer-Policy', 'no-referrer')
  })
  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'))
  // Prometheus: this process's registry (API, and the workers and indexers it runs). No key: bind
  // the API to an internal interface, as config.api.host does by default.
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(common.metrics.registry.contentType).send(await common.metrics.registry.metrics()))

  let closed: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await app.close()
      await hub.close()
      await redis.quit().catch(() => redis.disconnect())
    })())
  try {
    await app.ready()
    return { app, hub, close }
  } catch (err) {
    await close().catch(() => {})
    throw err
  }
}
