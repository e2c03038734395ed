import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ApiContext } from '../api-context.ts'
import { readChainStatuses } from '../../read-model/chain-status.ts'

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) })
const ChainCheck = Type.Object({
  ok: Type.Boolean(),
  state: Type.Union([Type.Literal('starting'), Type.Literal('following'), Type.Literal('stopped'), Type.Literal('done'), Type.Literal('unreported')]),
  error: Type.Optional(Type.String()),
  block: Type.Optional(Type.String()),
})
const Ready = Type.Object({ status: Type.String(), database: Check, redis: Check, chains: Type.Record(Type.String(), ChainCheck) })

/**
 * Liveness (the process answers) and readiness: its database and Redis answer (else 503), and
 * each configured chain is followed, as the processes that run the indexers report it in Redis
 * (a chain that is not: status `degraded`, still 200, the chain named with why). No key needed.
 */
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
      { schema: { tags: ['health'], summary: 'Readiness: database and Redis answer, and which chains are followed', security: [], response: { 200: Ready, 503: Ready } } },
      async (_req, reply) => {
        const [database, redis] = await Promise.all([check(() => ctx.pool.query('SELECT 1')), check(() => ctx.redis.ping())])
        const chains = redis.ok ? await chainChecks() : {}
        const ok = database.ok && redis.ok
        const following = Object.values(chains).every((c) => c.ok)
        return reply.code(ok ? 200 : 503).send({ status: !ok ? 'unavailable' : following ? 'ready' : 'degraded', database, redis, chains })
      },
    )
  }

  /** Each configured chain: following (or done), or why not. A chain no live process reports is `unreported`. */
  async function chainChecks(): Promise<Record<string, { ok: boolean; state: 'starting' | 'following' | 'stopped' | 'done' | 'unreported'; error?: string; block?: string }>> {
    const statuses = await readChainStatuses(ctx.redis, ctx.common.config.queue.prefix).catch(() => new Map())
    return Object.fromEntries(
      Object.keys(ctx.common.config.chains)
        .sort()
        .map((name) => {
          const s = statuses.get(name)
          if (!s || s.silent) return [name, { ok: false, state: 'unreported' as const, error: s ? `no report since ${s.at}: the process that followed it is gone` : 'no process reports following it' }]
          // Following while retrying a failure (the same range for hours, an RPC refusing) is not ready.
          return [name, { ok: (s.state === 'following' && s.error === undefined) || s.state === 'done', state: s.state, ...(s.error === undefined ? {} : { error: s.error }), ...(s.block === undefined ? {} : { block: s.block }) }]
        }),
    )
  }
}
