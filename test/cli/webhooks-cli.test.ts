import { afterEach, describe, expect, it } from 'vitest'
import { runWebhookAdd, runWebhookDelete, runWebhookList } from '../../src/cli/webhooks.ts'
import { ConfigError } from '../../src/errors.ts'
import { getEndpoint, listEndpoints } from '../../workers/webhook/endpoint-store.ts'
import { WebhookUrlRefusedError } from '../../workers/webhook/ssrf-guard.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const database = useEmbeddedDatabase()

// The file's database is its own: each test leaves the table empty for the next.
afterEach(async () => {
  await database.pool().query('DELETE FROM webhook_endpoints')
})

const capture = () => {
  const lines: string[] = []
  return { lines, out: (line: string) => lines.push(line) }
}

/** IP literals: the SSRF guard judges them without DNS. 93.184.216.34 is public unicast. */
const PUBLIC = 'https://93.184.216.34/hook'

describe('webhooks CLI', () => {
  it('adds an endpoint and prints its secret in full, once: the one stored', async () => {
    const c = capture()
    const e = await runWebhookAdd(database.pool(), { url: PUBLIC, account: 'desk', events: 'alert.firing, alert.resolved' }, c.out)
    const stored = await getEndpoint(database.pool(), e.id)
    expect(stored).toEqual({ id: e.id, account: 'desk', url: PUBLIC, secret: e.secret, eventTypes: ['alert.firing', 'alert.resolved'], enabled: true, createdAt: e.createdAt })
    expect(e.id).toMatch(/^ep_[0-9a-f]{24}$/)
    expect(e.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(c.lines).toEqual([
      `added webhook endpoint ${e.id} for desk: ${PUBLIC} (events: alert.firing,alert.resolved)`,
      `secret: ${e.secret}`,
      'the secret is shown only now: the receiver verifies each delivery signature with it',
    ])
  })

  it('adds an endpoint for every account and every event type when neither is given', async () => {
    const c = capture()
    const e = await runWebhookAdd(database.pool(), { url: PUBLIC, account: '' }, c.out)
    expect(c.lines[0]).toBe(`added webhook endpoint ${e.id} for every account: ${PUBLIC} (events: (all))`)
    expect(await listEndpoints(database.pool(), null)).toEqual([{ ...e, account: null, eventTypes: null }])
  })

  it('refuses a private URL unless --allow lets it through, and says deliveries need the config too', async () => {
    const db = database.pool()
    const c = capture()
    const err = await runWebhookAdd(db, { url: 'http://127.0.0.1:9/hook' }, c.out).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(WebhookUrlRefusedError)
    expect((err as Error).message).toBe(
      'webhook URL http://127.0.0.1:9/hook refused: 127.0.0.1 is a loopback address (only public unicast addresses are allowed unless allow-listed)',
    )
    expect(await listEndpoints(db)).toEqual([])
    expect(c.lines).toEqual([])

    const e = await runWebhookAdd(db, { url: 'http://127.0.0.1:9/hook', allow: '10.0.0.0/8,127.0.0.1' }, c.out)
    expect(c.lines).toEqual([
      `added webhook endpoint ${e.id} for every account: http://127.0.0.1:9/hook (events: (all))`,
      `secret: ${e.secret}`,
      'the secret is shown only now: the receiver verifies each delivery signature with it',
      '--allow let this URL be registered; deliveries to it also need it in the config webhooks.allow',
    ])
    expect((await listEndpoints(db)).map((x) => x.url)).toEqual(['http://127.0.0.1:9/hook'])
  })

  it('names the flag of a malformed --events or --allow, and stores nothing', async () => {
    const db = database.pool()
    const c = capture()
    const events = await runWebhookAdd(db, { url: PUBLIC, events: 'alert.firing,,alert.resolved' }, c.out).catch((x: unknown) => x)
    expect(events).toBeInstanceOf(ConfigError)
    expect((events as Error).message).toBe('--events: a comma-separated list with no empty item, got "alert.firing,,alert.resolved" (field --events)')
    const allow = await runWebhookAdd(db, { url: PUBLIC, allow: '10.0.0.0/33' }, c.out).catch((x: unknown) => x)
    expect(allow).toBeInstanceOf(ConfigError)
    expect((allow as Error).message).toBe('--allow: "10.0.0.0/33" is not a CIDR (e.g. 127.0.0.0/8 or fd00::/8) (field --allow)')
    const star = await runWebhookAdd(db, { url: PUBLIC, account: '*' }, c.out).catch((x: unknown) => x)
    expect((star as Error).message).toMatch(/^a webhook endpoint's account: "\*" is not an account name/)
    expect(await listEndpoints(db)).toEqual([])
    expect(c.lines).toEqual([])
  })

  it('lists endpoints oldest first with secrets masked and passwords redacted; with an account, those that receive its events', async () => {
    const db = database.pool()
    const quiet = () => {}
    const all = await runWebhookAdd(db, { url: PUBLIC }, quiet)
    const desk = await runWebhookAdd(db, { url: 'https://hooks:s3cret@93.184.216.34/desk', account: 'desk', events: 'alert.firing' }, quiet)
    const other = await runWebhookAdd(db, { url: 'https://93.184.216.34/other', account: 'other' }, quiet)
    // Fixed creation times, in an order unlike the insertion order, so the listing order is the one under test.
    await db.query(
      `UPDATE webhook_endpoints SET created_at = CASE id WHEN $1 THEN '2024-01-02T00:00:00Z'::timestamptz WHEN $2 THEN '2024-01-01T00:00:00Z'::timestamptz ELSE '2024-01-03T00:00:00Z'::timestamptz END`,
      [all.id, desk.id],
    )
    await db.query('UPDATE webhook_endpoints SET enabled = false WHERE id = $1', [other.id])
    const masked = (s: string) => `whsec_…${s.slice(-4)}`

    const list = capture()
    await runWebhookList(db, { format: 'csv' }, list.out)
    expect(list.lines).toEqual([
      'id,account,url,events,enabled,created_at,secret',
      `${desk.id},desk,https://hooks:***@93.184.216.34/desk,alert.firing,true,2024-01-01T00:00:00.000Z,${masked(desk.secret)}`,
      `${all.id},(every account),https://93.184.216.34/hook,(all),true,2024-01-02T00:00:00.000Z,${masked(all.secret)}`,
      `${other.id},other,https://93.184.216.34/other,(all),false,2024-01-03T00:00:00.000Z,${masked(other.secret)}`,
    ])
    expect(list.lines.join('\n')).not.toContain(desk.secret.slice('whsec_'.length, -4))
    expect(list.lines.join('\n')).not.toContain('s3cret')

    const forDesk = capture()
    await runWebhookList(db, { account: 'desk', format: 'json' }, forDesk.out)
    expect(JSON.parse(forDesk.lines.join('\n'))).toEqual([
      { id: desk.id, account: 'desk', url: 'https://hooks:***@93.184.216.34/desk', events: 'alert.firing', enabled: true, created_at: '2024-01-01T00:00:00.000Z', secret: masked(desk.secret) },
      { id: all.id, account: '(every account)', url: 'https://93.184.216.34/hook', events: '(all)', enabled: true, created_at: '2024-01-02T00:00:00.000Z', secret: masked(all.secret) },
    ])

    const none = capture()
    await runWebhookList(db, { account: 'nobody' }, none.out)
    // ids are 'ep_' + 24 hex digits and masked secrets 11 characters, so the table's widths are fixed.
    expect(none.lines).toEqual([
      'id                           account          url                         events  enabled  created_at                secret',
      '---------------------------  ---------------  --------------------------  ------  -------  ------------------------  -----------',
      `${all.id}  (every account)  https://93.184.216.34/hook  (all)   true     2024-01-02T00:00:00.000Z  ${masked(all.secret)}`,
      '(1 row)',
    ])
  })

  it('deletes an endpoint, and refuses an id that does not exist', async () => {
    const db = database.pool()
    const e = await runWebhookAdd(db, { url: PUBLIC, account: 'desk' }, () => {})
    const c = capture()
    await runWebhookDelete(db, { id: e.id }, c.out)
    expect(c.lines).toEqual([`deleted webhook endpoint ${e.id} for desk: ${PUBLIC}`])
    expect(await listEndpoints(db)).toEqual([])
    const err = await runWebhookDelete(db, { id: e.id }, c.out).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toBe(`no webhook endpoint ${e.id} (field id)`)
  })
})
