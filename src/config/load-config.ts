import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { z } from 'zod'
import { ConfigError } from '../errors.ts'
import { configSchema, type ChainConfig, type Config, type ConfigInput } from './schema.ts'

/**
 * Checks a config object, then applies environment overrides:
 * DATABASE_URL, REDIS_URL, DEXRISK_DATA_DIR, DEXRISK_SHARDS, DEXRISK_QUEUE_PREFIX, DEXRISK_API_HOST,
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
  if (env.REDIS_URL) obj('redis').url = env.REDIS_URL
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
    .slice(0, 5)
    .map((i) => `${formatPath(i.path)}: ${i.message}`)
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
