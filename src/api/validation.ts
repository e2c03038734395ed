import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler'
import type { FastifyError, FastifyRequest, FastifyServerOptions } from 'fastify'
import { ACCOUNT_NAME_PATTERN, accountNameProblem } from '../domain/account-name.ts'

/**
 * How requests are checked against their schemas. Fastify's defaults coerce and prune: a body's
 * `"threshold": null` became 0 (on a halt rule: a halt at once), `[1]` became 1, and an unknown
 * field (`thresold`) vanished, keeping the old value without a word. Here a body takes exactly its
 * schema (no coercion, nothing removed: a 400 names the field), while the query string and route
 * parameters, which are text on the wire, are still read as the numbers their schemas say.
 */
export function strictValidation(): NonNullable<FastifyServerOptions['schemaController']> {
  // The pool's compiler takes the route definition (its declared type says a bare schema).
  const pool = AjvCompiler() as unknown as (external: unknown, options: CompilerOptions) => (route: RouteDefinition) => unknown
  const buildValidator = (externalSchemas: unknown, options?: CompilerOptions) => {
    const base: CompilerOptions = options ?? {}
    const body = pool(externalSchemas, { ...base, customOptions: { ...base.customOptions, coerceTypes: false, removeAdditional: false } })
    const text = pool(externalSchemas, { ...base, customOptions: { ...base.customOptions, coerceTypes: true, removeAdditional: false } })
    return (route: RouteDefinition) => (route.httpPart === 'body' ? body(route) : text(route))
  }
  return { compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory } }
}

type CompilerOptions = { customOptions?: Record<string, unknown>; [option: string]: unknown }
type RouteDefinition = { schema: unknown; method: string; url: string; httpPart?: string }

type AjvIssue = { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }

/**
 * The message of a request that failed its schema: where (`body.threshold`, `querystring.limit`,
 * `params.account`) and what, with an unknown field named and an account name's problem spelled
 * out. Ajv stops at the first problem (allErrors would let one request cost many checks).
 */
export function validationMessage(err: FastifyError, req: FastifyRequest): string {
  const issue = (err.validation as AjvIssue[] | undefined)?.[0]
  if (!issue) return err.message
  const part = err.validationContext ?? 'request'
  const path = issue.instancePath
    .split('/')
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
  const field = issue.keyword === 'additionalProperties' ? [path, String(issue.params.additionalProperty)].filter(Boolean).join('.') : path
  if (issue.keyword === 'pattern' && issue.params.pattern === ACCOUNT_NAME_PATTERN) {
    const value = valueAt(part === 'params' ? req.params : part === 'body' ? req.body : req.query, issue.instancePath)
    if (typeof value === 'string') return `${part === 'params' ? '' : `${part}.`}${field}: ${accountNameProblem(value) ?? `"${value}" is not an account name`}`
  }
  if (issue.keyword === 'additionalProperties') return `${part}.${field}: unknown field (not in the schema)`
  return `${field ? `${part}.${field}` : part}: ${issue.message ?? 'invalid'}`
}

/** The value at a JSON pointer such as `/wallets/0` (undefined when absent). */
function valueAt(root: unknown, pointer: string): unknown {
  let v = root
  for (const key of pointer.split('/').filter(Boolean)) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined
  return v
}
