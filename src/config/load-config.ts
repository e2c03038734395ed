import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { closest, distance } from 'fastest-levenshtein'
import type { z } from 'zod'
import { ConfigError } from '../errors.ts'
import { configSchema, type ChainConfig, type Config, type ConfigInput } from './schema.ts'

/**
 * Checks a config object, then applies environment overrides:
 * DATABASE_URL, REDIS_URL, REDIS_CLUSTER_NODES (comma-separated node URLs), DEXRISK_DATA_DIR, DEXRISK_SHARDS, DEXRISK_QUEUE_PREFIX, DEXRISK_API_HOST,
 * DEXRISK_API_PORT and, per chain,
 * DEXRISK_RPC_URLS_<NAME> (comma-separated; NAME upper-cased, '-' → '_').
 * Throws ConfigError naming the first bad field, e.g. "chains.base.rpcUrls[0]: not a URL".
 */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  const withEnv = applyEnv(input, env)
  const result = configSchema.safeParse(withEnv)
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues))
  const config = result.data
  const ids = new Map<number, string>()
  for (const [name, chain] of Object.entries(config.chains)) {
    const other = ids.get(chain.id)
    if (other) throw new ConfigError(`chains.${name}.id: chain id ${chain.id} is already used by chains.${other}`)
    ids.set(chain.id, name)
  }
  if (config.accounts !== 'auto') {
    const owner = new Map<string, string>()
    for (const [account, wallets] of Object.entries(config.accounts)) {
      for (const w of wallets) {
        const prev = owner.get(w)
        if (prev && prev !== account)
          throw new ConfigError(`accounts.${account}: wallet ${w} already belongs to account ${prev}`)
        owner.set(w, account)
      }
    }
  }
  return config
}

/** Loads a config module (default export or `config` export) and checks it. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const path = resolve(file)
  if (!existsSync(path)) throw new ConfigError(`config file not found: ${path}`, { context: { field: '--config' } })
  const mod = (await import(pathToFileURL(path).href)) as { default?: ConfigInput; config?: ConfigInput }
  const input = mod.default ?? mod.config
  if (!input) throw new ConfigError(`${path}: export the config as default (export default defineConfig({ … }))`)
  return parseConfig(input, env)
}

export function chainList(config: Config): ChainConfig[] {
  return Object.entries(config.chains).map(([name, c]) => ({ ...c, name }))
}

function applyEnv(input: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof input !== 'object' || input === null) return input
  const out = structuredClone(input) as Record<string, unknown>
  const obj = (key: string): Record<string, unknown> => {
    const v = out[key]
    const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {}
    out[key] = o
    return o
  }
  if (env.DATABASE_URL) obj('database').url = env.DATABASE_URL
  if (env.DEXRISK_DATA_DIR) obj('database').dataDir = env.DEXRISK_DATA_DIR
  // Either variable names the Redis to use and replaces whichever form the file has; both is ambiguous.
  if (env.REDIS_URL && env.REDIS_CLUSTER_NODES)
    throw new ConfigError('REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis, or REDIS_CLUSTER_NODES for a Redis Cluster', { context: { field: 'REDIS_CLUSTER_NODES' } })
  if (env.REDIS_URL) {
    obj('redis').url = env.REDIS_URL
    delete obj('redis').cluster
  }
  if (env.REDIS_CLUSTER_NODES) {
    obj('redis').cluster = env.REDIS_CLUSTER_NODES.split(',').map((s) => s.trim()).filter(Boolean)
    delete obj('redis').url
  }
  if (env.DEXRISK_QUEUE_PREFIX) obj('queue').prefix = env.DEXRISK_QUEUE_PREFIX
  if (env.DEXRISK_API_HOST) obj('api').host = env.DEXRISK_API_HOST
  if (env.DEXRISK_API_PORT) {
    const n = Number(env.DEXRISK_API_PORT)
    obj('api').port = Number.isFinite(n) ? n : env.DEXRISK_API_PORT
  }
  if (env.DEXRISK_SHARDS) {
    const n = Number(env.DEXRISK_SHARDS)
    out.shards = Number.isFinite(n) ? n : env.DEXRISK_SHARDS
  }
  const chains = out.chains
  if (typeof chains === 'object' && chains !== null) {
    for (const [name, chain] of Object.entries(chains as Record<string, unknown>)) {
      const v = env[`DEXRISK_RPC_URLS_${name.toUpperCase().replace(/-/g, '_')}`]
      if (v && typeof chain === 'object' && chain !== null)
        (chain as Record<string, unknown>).rpcUrls = v.split(',').map((s) => s.trim()).filter(Boolean)
    }
  }
  return out
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map(deepest)
    .slice(0, 5)
    .map((i) => `${formatPath(i.path)}: ${i.code === 'unrecognized_keys' ? unknownKeys(i.keys, i.path) : i.message}`)
    .join('\n')
}

function formatPath(path: PropertyKey[]): string {
  let s = ''
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`
    else s += s ? `.${String(p)}` : String(p)
  }
  return s || '(config)'
}

/**
 * "unknown field "confirmation" (did you mean "confirmations"?)": a typo must not quietly keep the
 * default. Suggestions come from the fields of the object at that path, and only when close.
 */
function unknownKeys(keys: readonly string[], path: readonly PropertyKey[]): string {
  const known = fieldsAt(configSchema, path)
  return keys
    .map((k) => {
      const near = known.length === 0 ? undefined : closest(k, known)
      const hint = near !== undefined && distance(k.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(near.length / 3)) ? ` (did you mean "${near}"?)` : ''
      return `unknown field "${k}"${hint}`
    })
    .join('; ')
}

type SchemaDef = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[] }

const defOf = (s: z.ZodType): SchemaDef => (s as unknown as { _zod: { def: SchemaDef } })._zod.def

/** The object schemas `schema` can be, through defaults, pipes and unions. */
function objectsOf(schema: z.ZodType): Record<string, z.ZodType>[] {
  const def = defOf(schema)
  if (def.type === 'object' && def.shape) return [def.shape]
  if (def.type === 'pipe') return objectsOf(def.in!)
  if (def.type === 'union') return def.options!.flatMap(objectsOf)
  if (def.innerType) return objectsOf(def.innerType)
  return []
}

/** The field names of the object at `path` in the config (record keys and array indexes step through). */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType[] = [schema]
  for (const step of path) {
    const next: z.ZodType[] = []
    for (const s of current) {
      const def = defOf(s)
      if (def.innerType || def.type === 'pipe' || def.type === 'union') next.push(...unwrapOnce(def))
      for (const shape of objectsOf(s)) if (typeof step === 'string' && shape[step]) next.push(shape[step])
      if (def.type === 'record' && def.valueType) next.push(def.valueType)
      if (def.type === 'array' && def.element) next.push(def.element)
    }
    current = next.flatMap((s) => [s, ...unwrapAll(s)])
  }
  return [...new Set(current.flatMap((s) => objectsOf(s).flatMap((shape) => Object.keys(shape))))]
}

function unwrapOnce(def: SchemaDef): z.ZodType[] {
  if (def.type === 'pipe') return [def.in!]
  if (def.type === 'union') return def.options!
  return def.innerType ? [def.innerType] : []
}

function unwrapAll(s: z.ZodType): z.ZodType[] {
  const out: z.ZodType[] = []
  let layer = unwrapOnce(defOf(s))
  while (layer.length > 0) {
    out.push(...layer)
    layer = layer.flatMap((x) => unwrapOnce(defOf(x)))
  }
  return out
}

/**
 * A union's issue says only "Invalid input"; the branch that got furthest (its issue lies deepest)
 * is the one the author meant (`accounts: { '*': [...] }` is a record of accounts, not 'auto').
 */
function deepest(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  // A record's bad key: the key's own issue says what is wrong with it.
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return { ...issue.issues[0]!, path: issue.path }
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue
  const branches = issue.errors.filter((b) => b.length > 0)
  if (branches.length === 0) return issue
  const best = branches.reduce((a, b) => (b[0]!.path.length > a[0]!.path.length ? b : a))
  if (best[0]!.path.length === 0) return issue
  const inner = deepest(best[0]!)
  return { ...inner, path: [...issue.path, ...inner.path] }
}
