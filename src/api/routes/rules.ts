import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { ConfigError } from '../../errors.ts'
import { deleteRule, deleteRuleStates, listRules } from '../../risk/rule-store.ts'
import { upsertRule } from '../../risk/rule-store.ts'
import { DEFAULT_RULES, MAX_COOLDOWN_SECONDS, METRIC_NAMES, compareIds, parseRule, rulesFor, type Rule } from '../../risk/rules.ts'
import type { ApiContext } from '../api-context.ts'
import { assertAdmin, assertSees } from '../auth.ts'
import { HttpError } from '../http-error.ts'
import { AccountParams, ErrorBody } from '../schemas.ts'

const tags = ['rules']
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

const RuleBody = Type.Object(
  {
    metric: Type.Optional(Type.Union(METRIC_NAMES.map((m) => Type.Literal(m)))),
    op: Type.Optional(Type.Union([Type.Literal('above'), Type.Literal('below')])),
    threshold: Type.Optional(Type.Number()),
    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])),
    cooldownSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_COOLDOWN_SECONDS })),
    hysteresis: Type.Optional(Type.Number({ minimum: 0 })),
    action: Type.Optional(Type.Union([Type.Literal('alert'), Type.Literal('halt')])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, description: 'Fields not given keep the stored rule’s values, or the built-in default’s of the same id' },
)

const RuleOut = Type.Object({
  id: Type.String(),
  account: Type.Union([Type.String(), Type.Null()]),
  metric: Type.String(),
  op: Type.String(),
  threshold: Type.Number(),
  severity: Type.String(),
  cooldownSeconds: Type.Integer(),
  hysteresis: Type.Number(),
  action: Type.String(),
  enabled: Type.Boolean(),
  source: Type.Union([Type.Literal('built-in'), Type.Literal('database')]),
})

const RuleIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}$' }) })

/**
 * Rules: an account key reads the rules that apply to its account; changing a rule takes an admin
 * key (a desk's limits are not the trader's to loosen). Workers pick changes up without restart.
 */
export function ruleRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { pool } = ctx
  const withSource = async (rules: readonly Rule[]) => {
    const stored = new Set((await listRules(pool)).map((r) => `${r.id}\u0000${r.account ?? ''}`))
    return rules.map((r) => ({ ...r, source: stored.has(`${r.id}\u0000${r.account ?? ''}`) ? ('database' as const) : ('built-in' as const) }))
  }
  const save = async (req: FastifyRequest, id: string, account: string | null, body: Record<string, unknown>) => {
    const stored = (await listRules(pool, account ?? undefined)).find((r) => r.id === id && r.account === account)
    const base: Partial<Rule> = stored ? { ...stored } : { ...DEFAULT_RULES.find((r) => r.id === id) }
    delete (base as { updatedAt?: unknown }).updatedAt
    let rule: Rule
    try {
      rule = parseRule({ ...base, ...body, id, account })
    } catch (err) {
      if (err instanceof ConfigError) throw new HttpError(400, 'bad_request', err.shortMessage)
      throw err
    }
    req.log.info({ rule: id, account }, 'rule saved through the API')
    const [saved] = await withSource([await upsertRule(pool, rule)])
    return saved!
  }
  const remove = async (id: string, account: string | null): Promise<void> => {
    if (!(await deleteRule(pool, id, account))) {
      if (account === null && DEFAULT_RULES.some((r) => r.id === id)) throw new HttpError(409, 'built_in', `rule ${id} is built in and cannot be deleted; disable it (enabled: false)`)
      throw new HttpError(404, 'not_found', `no rule ${id} for ${account ?? 'every account'}`)
    }
    const left = (await listRules(pool)).some((r) => r.id === id) || DEFAULT_RULES.some((r) => r.id === id)
    if (!left) await deleteRuleStates(pool, id)
  }

  return async (app) => {
    app.get('/v1/accounts/:account/rules', { schema: { tags, summary: 'The rules that apply to the account, after overrides', params: AccountParams, response: { 200: Type.Object({ rules: Type.Array(RuleOut) }), ...errors } } }, async (req) => {
      assertSees(req, req.params.account)
      return { rules: await withSource(rulesFor([...DEFAULT_RULES, ...(await listRules(pool, req.params.account))], req.params.account)) }
    })

    app.put(
      '/v1/accounts/:account/rules/:id',
      { schema: { tags, summary: "Create or change the account's own rule (admin)", params: Type.Intersect([AccountParams, RuleIdParams]), body: RuleBody, response: { 200: RuleOut, ...errors } } },
      async (req) => {
        assertSees(req, req.params.account)
        assertAdmin(req)
        return save(req, req.params.id, req.params.account, req.body)
      },
    )

    app.delete(
      '/v1/accounts/:account/rules/:id',
      { schema: { tags, summary: "Delete the account's own rule (admin); the default of that id applies again", params: Type.Intersect([AccountParams, RuleIdParams]), response: { 204: Type.Null(), ...errors, 409: ErrorBody } } },
      async (req, reply) => {
        assertSees(req, req.params.account)
        assertAdmin(req)
        await remove(req.params.id, req.params.account)
        return reply.code(204).send(null)
      },
    )

    app.get('/v1/rules', { schema: { tags, summary: 'Default rules (admin): built-in and database ones', response: { 200: Type.Object({ rules: Type.Array(RuleOut) }), ...errors } } }, async (req) => {
      assertAdmin(req)
      const dbDefaults = (await listRules(pool)).filter((r) => r.account === null)
      const replaced = new Set(dbDefaults.map((r) => r.id))
      return { rules: await withSource([...DEFAULT_RULES.filter((r) => !replaced.has(r.id)), ...dbDefaults].sort((a, b) => compareIds(a.id, b.id))) }
    })

    app.put('/v1/rules/:id', { schema: { tags, summary: 'Create or change a default rule for every account (admin)', params: RuleIdParams, body: RuleBody, response: { 200: RuleOut, ...errors } } }, async (req) => {
      assertAdmin(req)
      return save(req, req.params.id, null, req.body)
    })

    app.delete('/v1/rules/:id', { schema: { tags, summary: 'Delete a database default rule (admin)', params: RuleIdParams, response: { 204: Type.Null(), ...errors, 409: ErrorBody } } }, async (req, reply) => {
      assertAdmin(req)
      await remove(req.params.id, null)
      return reply.code(204).send(null)
    })
  }
}
