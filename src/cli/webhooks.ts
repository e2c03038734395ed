import type pg from 'pg'
import { ConfigError } from '../errors.ts'
import { createEndpoint, deleteEndpoint, getEndpoint, listEndpoints, type WebhookEndpoint } from '../../workers/webhook/endpoint-store.ts'
import { parseAllowList, redactUrl, type AllowList } from '../../workers/webhook/ssrf-guard.ts'
import { formatRows } from './format-rows.ts'
import type { Out, OutputFormat } from './rules.ts'

/**
 * The `dexrisk webhooks …` commands, as functions of a database and an output (main.ts wires them
 * to commander). A secret is printed in full only by `add`, when the endpoint is created: the
 * operator hands it to the receiver then, and listings never put it on a screen or in a log again.
 */

/** A pool, a client, or a client inside a transaction. */
type Queryable = Pick<pg.PoolClient, 'query'>

/** `webhooks add` flags as command-line strings (commander hands every option value over as a string). */
export type WebhookAddFlags = {
  url: string
  /** Omitted or '': the endpoint receives the events of every account. */
  account?: string
  /** Comma-separated event types ('alert.firing,alert.resolved'). Omitted: every type. */
  events?: string
  /**
   * Comma-separated SSRF allow-list entries (CIDR, address or host name) that let a private URL be
   * registered. The webhook worker checks every delivery against its own list (config
   * `webhooks.allow`), so such a URL must be allowed there too.
   */
  allow?: string
}

const LIST_COLUMNS = ['id', 'account', 'url', 'events', 'enabled', 'created_at', 'secret']

/**
 * Registers an endpoint (the URL goes through the SSRF guard) and prints it with its secret, in
 * full, this once.
 */
export async function runWebhookAdd(db: Queryable, flags: WebhookAddFlags, out: Out): Promise<WebhookEndpoint> {
  const account = flags.account === undefined || flags.account === '' ? null : flags.account
  const eventTypes = flags.events === undefined ? undefined : listFlag('--events', flags.events)
  const allow = flags.allow === undefined ? undefined : allowFlag(flags.allow)
  const endpoint = await createEndpoint(db, { account, url: flags.url, ...(eventTypes ? { eventTypes } : {}) }, allow ? { allow } : {})
  out(`added webhook endpoint ${endpoint.id} for ${endpoint.account ?? 'every account'}: ${shownUrl(endpoint.url)} (events: ${events(endpoint)})`)
  out(`secret: ${endpoint.secret}`)
  out('the secret is shown only now: the receiver verifies each delivery signature with it')
  if (allow) out('--allow let this URL be registered; deliveries to it also need it in the config webhooks.allow')
  return endpoint
}

/**
 * Prints endpoints, oldest first, secrets masked. With an account: the endpoints that receive its
 * events (its own and the ones for every account), as `rules list --account` shows the rules that
 * apply to it.
 */
export async function runWebhookList(db: Queryable, opts: { account?: string; format?: OutputFormat }, out: Out): Promise<void> {
  const endpoints =
    opts.account === undefined || opts.account === ''
      ? await listEndpoints(db)
      : [...(await listEndpoints(db, null)), ...(await listEndpoints(db, opts.account))].sort(
          (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
        )
  const rows = endpoints.map((e) => ({
    id: e.id,
    account: e.account ?? '(every account)',
    url: shownUrl(e.url),
    events: events(e),
    enabled: e.enabled,
    created_at: e.createdAt,
    secret: maskSecret(e.secret),
  }))
  print(formatRows(LIST_COLUMNS, rows, opts.format ?? 'table'), out)
}

/** Deletes an endpoint. Its delivery history stays; deliveries still queued for it die ('endpoint-missing'). */
export async function runWebhookDelete(db: Queryable, opts: { id: string }, out: Out): Promise<void> {
  const endpoint = await getEndpoint(db, opts.id)
  if (endpoint === null || !(await deleteEndpoint(db, opts.id))) throw new ConfigError(`no webhook endpoint ${opts.id}`, { context: { field: 'id' } })
  out(`deleted webhook endpoint ${endpoint.id} for ${endpoint.account ?? 'every account'}: ${shownUrl(endpoint.url)}`)
}

/** 'whsec_…' and the last 4 characters: enough to tell secrets apart, far too little to sign with. */
function maskSecret(secret: string): string {
  return `whsec_…${secret.slice(-4)}`
}

function events(e: WebhookEndpoint): string {
  return e.eventTypes === null ? '(all)' : e.eventTypes.join(',')
}

/** A URL may carry a basic-auth password; it is never printed. */
function shownUrl(url: string): string {
  return redactUrl(new URL(url))
}

function listFlag(flag: string, s: string): string[] {
  const items = s.split(',').map((x) => x.trim())
  if (items.some((x) => x === '')) throw new ConfigError(`${flag}: a comma-separated list with no empty item, got ${JSON.stringify(s)}`, { context: { field: flag } })
  return items
}

function allowFlag(s: string): AllowList {
  const entries = listFlag('--allow', s)
  try {
    return parseAllowList(entries)
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`--allow: ${err.shortMessage}`, { context: { field: '--allow' } })
    throw err
  }
}

function print(text: string, out: Out): void {
  for (const line of text.replace(/\n$/, '').split('\n')) out(line)
}
