import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ApiContext } from '../api-context.ts'

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) })

/** Liveness (the process answers) and readiness (its database and Redis answer). No key needed. */
export function healthRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const check = async (fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> => {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000)))])
      return { ok: true }
    } catch (err) {
      // The cause goes to the log, not to a caller without a key (it names hosts and users).
      ctx.common.log.warn({ err: (err as Error).message }, 'readiness check failed')
      return { ok: false, error: 'unavailable' }
    } finally {
      clearTimeout(timer)
    }
  }
  return async (app) => {
    app.get('/health', { schema: { tags: ['health'], summary: 'Liveness', security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }))
    app.get(
      '/ready',
      { schema: { tags: ['health'], summary: 'Readiness: database and Redis answer', security: [], response: { 200: Type.Object({ status: Type.String(), database: Check, redis: Check }), 503: Type.Object({ status: Type.String(), database: Check, redis: Check }) } } },
      async (_req, reply) => {
        const [database, redis] = await Promise.all([check(() => ctx.pool.query('SELECT 1')), check(() => ctx.redis.ping())])
        const ok = database.ok && redis.ok
        return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', database, redis })
      },
    )
  }
}
