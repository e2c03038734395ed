import { accountNameProblem } from '../../src/domain/account-name.ts'
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { BaseError } from '../../src/errors.ts'
import { checkWebhookUrl, type GuardOptions } from './ssrf-guard.ts'

type Queryable = Pick<pg.PoolClient, 'query'>

/** A registered webhook receiver. */
export type WebhookEndpoint = {
  id: string
  /** null: the endpoint receives the events of every account. */
  account: string | null
  url: string
  /** Standard Webhooks secret ('whsec_' + base64 key); the receiver verifies signatures with it. */
  secret: string
  /** null: every event type. */
  eventTypes: string[] | null
  enabled: boolean
  createdAt: Date
}

export type CreateEndpointInput = {
  account: string | null
  url: string
  /** Default: generated, 'whsec_' + base64 of 24 random bytes. */
  secret?: string
  /** Default: every event type. */
  eventTypes?: string[]
}

type EndpointRow = { id: string; account: string | null; url: string; secret: string; event_types: string[] | null; enabled: boolean; created_at: Date }

const COLUMNS = 'id, account, url, secret, event_types, enabled, created_at'

/**
 * Registers an endpoint. The URL goes through the SSRF guard first (its addresses resolved now),
 * so a private, loopback or link-local URL is refused with a WebhookUrlRefusedError naming the URL
 * and address, unless `guard.allow` lets it through. The worker checks again on every delivery:
 * a name can resolve elsewhere later.
 */
export async function createEndpoint(db: Queryable, input: CreateEndpointInput, guard: GuardOptions = {}): Promise<WebhookEndpoint> {
  const nameProblem = input.account === null ? null : accountNameProblem(input.account)
  if (nameProblem !== null) throw new BaseError(`a webhook endpoint's account: ${nameProblem}`, { context: { account: input.account! } })
  const { url } = await checkWebhookUrl(input.url, guard)
  const secret = input.secret ?? generateSecret()
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret) || Buffer.from(secret.slice('whsec_'.length), 'base64').length < 16)
    throw new BaseError("a webhook secret is 'whsec_' followed by the base64 of at least 16 bytes", { context: input.account === null ? {} : { account: input.account } })
  if (input.eventTypes !== undefined && (input.eventTypes.length === 0 || input.eventTypes.some((t) => t.length === 0)))
    throw new BaseError('eventTypes lists at least one non-empty type; leave it out for every type', { context: input.account === null ? {} : { account: input.account } })
  const id = `ep_${randomBytes(12).toString('hex')}`
  const r = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (id, account, url, secret, event_types) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [id, input.account, url.href, secret, input.eventTypes ?? null],
  )
  return toEndpoint(r.rows[0] as EndpointRow)
}

/**
 * Endpoints registered for `account` exactly (null: the ones for every account; undefined: all),
 * oldest first. Secrets included: callers that show endpoints mask them.
 */
export async function listEndpoints(db: Queryable, account?: string | null): Promise<WebhookEndpoint[]> {
  const r =
    account === undefined
      ? await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`)
      : await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE account IS NOT DISTINCT FROM $1 ORDER BY created_at, id`, [account])
  return r.rows.map(toEndpoint)
}

/** The enabled endpoints that receive an event of `type` about `account`: its own and the ones for every account. */
export async function endpointsFor(db: Queryable, account: string, type: string): Promise<WebhookEndpoint[]> {
  return (await listEndpoints(db)).filter((e) => endpointWants(e, account, type))
}

/** An endpoint wants an event when it is enabled, for the event's account or every account, and for its type or every type. */
export function endpointWants(e: WebhookEndpoint, account: string, type: string): boolean {
  return e.enabled && (e.account === null || e.account === account) && (e.eventTypes === null || e.eventTypes.includes(type))
}

/** The endpoint with this id, or null. */
export async function getEndpoint(db: Queryable, id: string): Promise<WebhookEndpoint | null> {
  const r = await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id])
  const row = r.rows[0]
  return row ? toEndpoint(row) : null
}

/** Deletes an endpoint; true when it existed. Its delivery history stays; its queued deliveries die ('endpoint-missing'). */
export async function deleteEndpoint(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query('DELETE FROM webhook_endpoints WHERE id = $1', [id])
  return (r.rowCount ?? 0) > 0
}

/** A new Standard Webhooks secret: 'whsec_' + base64 of 24 random bytes (192-bit HMAC key). */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`
}

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    account: row.account,
    url: row.url,
    secret: row.secret,
    eventTypes: row.event_types,
    enabled: row.enabled,
    createdAt: row.created_at,
  }
}
