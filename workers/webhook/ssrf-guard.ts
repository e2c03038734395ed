import { promises as dns } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { BaseError, ConfigError, RetryableError } from '../../src/errors.ts'

/**
 * Server-side request forgery guard for webhook URLs. A webhook URL is chosen by a user, and the
 * worker POSTs to it from inside the operator's network: without this guard, a URL could reach the
 * cloud metadata service (169.254.169.254), Redis, the database or any internal admin page. Only
 * public unicast addresses are allowed, unless an operator allow-lists a CIDR or a host name.
 *
 * The check runs on the *resolved* addresses, and again at connection time through the `lookup`
 * of node:http/https, so a host that resolves publicly when checked and privately a moment later
 * (DNS rebinding) is still refused before any byte is sent.
 */

/** A webhook URL refused by the guard: a permanent failure, never retried. */
export class WebhookUrlRefusedError extends BaseError {
  override name = 'WebhookUrlRefusedError'
  /** The URL, password redacted. */
  readonly url: string
  /** The refused address, when the refusal is about an address. */
  readonly address: string | undefined
  /** Why the address is refused: its ipaddr.js range ('private', 'loopback (ipv4Mapped)' …). */
  readonly range: string | undefined

  constructor(url: string, reason: string, opts: { address?: string; range?: string } = {}) {
    super(`webhook URL ${url} refused: ${reason}`)
    this.url = url
    this.address = opts.address
    this.range = opts.range
  }
}

/** Parsed allow-list: CIDRs (a bare address is a single-address CIDR) and exact host names. */
export type AllowList = {
  readonly entries: readonly string[]
  readonly hosts: ReadonlySet<string>
  readonly cidrs: readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[]
}

/** One resolved address of a host. */
export type ResolvedAddress = { address: string; family: 4 | 6 }

/** Resolves a host name to every address it has (default: node:dns `lookup` with `all`). */
export type Resolve = (hostname: string) => Promise<readonly ResolvedAddress[]>

export type GuardOptions = {
  /** Allowed despite their range. Default: nothing. */
  allow?: AllowList
  /** Default: the system resolver (node:dns lookup, which reads /etc/hosts like the HTTP client does). */
  resolve?: Resolve
}

const EMPTY_ALLOW_LIST: AllowList = { entries: [], hosts: new Set(), cidrs: [] }

/**
 * Parses allow-list entries: a CIDR ('127.0.0.0/8', 'fd00::/8'), a bare address ('127.0.0.1') or
 * an exact host name ('hooks.internal'). A wrong entry is a ConfigError naming it, so a typo
 * cannot silently open or close the guard.
 */
export function parseAllowList(entries: readonly string[] = []): AllowList {
  const hosts = new Set<string>()
  const cidrs: (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[] = []
  entries.forEach((raw, i) => {
    const entry = raw.trim()
    if (entry.includes('/')) {
      if (!ipaddr.isValidCIDR(entry)) throw new ConfigError(`"${raw}" is not a CIDR (e.g. 127.0.0.0/8 or fd00::/8)`, { context: { field: `allow[${i}]` } })
      cidrs.push(ipaddr.parseCIDR(entry))
    } else if (ipaddr.isValid(stripBrackets(entry))) {
      const ip = ipaddr.parse(stripBrackets(entry))
      cidrs.push([ip, ip.kind() === 'ipv4' ? 32 : 128])
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
      hosts.add(normalizeHost(entry))
    } else {
      throw new ConfigError(`"${raw}" is neither a CIDR, an address nor a host name`, { context: { field: `allow[${i}]` } })
    }
  })
  return { entries: [...entries], hosts, cidrs }
}

/**
 * Why an address is refused: the name of its ipaddr.js range ('private', 'loopback', 'linkLocal',
 * 'uniqueLocal', 'carrierGradeNat', 'reserved' …), or null for a public unicast address. An IPv6
 * address that carries an IPv4 one (IPv4-mapped, IPv4-translated, NAT64 64:ff9b::/96, 6to4) is
 * judged by the IPv4 address it reaches; the deprecated IPv4-compatible ::/96 and Teredo are refused.
 */
export function refusedRange(address: string): string | null {
  const ip = parseAddress(address)
  if (!ip) return 'invalid'
  if (ip.kind() === 'ipv4') {
    const range = ip.range()
    return range === 'unicast' ? null : range
  }
  const v6 = ip as ipaddr.IPv6
  const outer = v6.range()
  const inner = embeddedIPv4(v6)
  if (inner) {
    const range = inner.range()
    return range === 'unicast' ? null : `${range} (${outer})`
  }
  if (v6.parts.slice(0, 6).every((p) => p === 0)) return outer === 'unicast' ? 'ipv4Compatible' : outer
  return outer === 'unicast' ? null : outer
}

/** True when an allow-list CIDR holds the address (or the IPv4 address an IPv6 one carries). */
export function isAllowedAddress(address: string, allow: AllowList): boolean {
  const ip = parseAddress(address)
  if (!ip) return false
  const candidates: (ipaddr.IPv4 | ipaddr.IPv6)[] = [ip]
  if (ip.kind() === 'ipv6') {
    const inner = embeddedIPv4(ip as ipaddr.IPv6)
    if (inner) candidates.push(inner)
  }
  return allow.cidrs.some(([net, bits]) => candidates.some((c) => c.kind() === net.kind() && c.match(net, bits)))
}

/**
 * Checks a webhook URL: http(s) only, and every address its host resolves to is public unicast
 * or allow-listed (an allow-listed host name passes without resolving). Throws
 * WebhookUrlRefusedError naming the URL and the refused address; a resolver failure is a
 * RetryableError (the name may resolve later).
 */
export async function checkWebhookUrl(input: string | URL, opts: GuardOptions = {}): Promise<{ url: URL; addresses: string[] }> {
  const allow = opts.allow ?? EMPTY_ALLOW_LIST
  let url: URL
  try {
    url = typeof input === 'string' ? new URL(input) : input
  } catch {
    throw new WebhookUrlRefusedError(JSON.stringify(input), 'not a URL')
  }
  const shown = redactUrl(url)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlRefusedError(shown, `scheme ${url.protocol} is not allowed (http: or https: only)`)
  const host = normalizeHost(stripBrackets(url.hostname))
  if (allow.hosts.has(host)) return { url, addresses: [] }
  const addresses = isIP(host) ? [host] : (await resolveAll(host, shown, opts.resolve ?? systemResolve)).map((a) => a.address)
  for (const address of addresses) assertAddress(shown, address, allow)
  return { url, addresses }
}

/**
 * A `lookup` for node:http/https that resolves like the system and refuses the connection when
 * any address is refused: the check holds for the address actually connected to.
 */
export function guardedLookup(shownUrl: string, opts: GuardOptions = {}): NonNullable<http.RequestOptions['lookup']> {
  const allow = opts.allow ?? EMPTY_ALLOW_LIST
  const resolve = opts.resolve ?? systemResolve
  return (hostname, options, callback) => {
    const host = normalizeHost(hostname)
    resolveAll(host, shownUrl, resolve).then(
      (all) => {
        try {
          if (!allow.hosts.has(host)) for (const a of all) assertAddress(shownUrl, a.address, allow)
        } catch (err) {
          callback(err as Error, '', 0)
          return
        }
        const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all
        const first = wanted[0]
        if (!first) callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0)
        else if (options.all) callback(null, wanted.map((a) => ({ address: a.address, family: a.family })))
        else callback(null, first.address, first.family)
      },
      (err: unknown) => callback(err as Error, '', 0),
    )
  }
}

/** What a receiver answered: its status and the first KiB of its body (for the delivery record). */
export type PostResult = { status: number; body: string }

const RESPONSE_KEEP_BYTES = 1024

/**
 * POSTs `body` to a checked URL through node:http/https with the guarded lookup. A new connection
 * per request (no shared agent), so every connection passes the check. Redirects are not followed.
 * `timeoutMs` bounds the whole exchange (connect, send, status and the kept part of the body);
 * a timeout rejects with a RetryableError.
 */
export async function guardedPost(
  input: string | URL,
  opts: GuardOptions & { body: string; headers: Record<string, string>; timeoutMs: number },
): Promise<PostResult> {
  const { url } = await checkWebhookUrl(input, opts)
  const shown = redactUrl(url)
  const client = url.protocol === 'https:' ? https : http
  return new Promise<PostResult>((resolve, reject) => {
    const req = client.request(url, {
      method: 'POST',
      headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) },
      lookup: guardedLookup(shown, opts),
      agent: false,
    })
    const timer = setTimeout(() => req.destroy(new RetryableError(`webhook POST to ${shown} timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs)
    const finish = (fn: () => void): void => {
      clearTimeout(timer)
      fn()
    }
    req.on('error', (err) => finish(() => reject(err)))
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let kept = 0
      const done = (): void => {
        finish(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString('utf8') }))
        res.destroy()
      }
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        kept += chunk.length
        if (kept >= RESPONSE_KEEP_BYTES) done()
      })
      res.on('end', done)
      res.on('error', done)
    })
    req.end(opts.body)
  })
}

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: URL): string {
  if (!url.password) return url.href
  const copy = new URL(url.href)
  copy.password = '***'
  return copy.href
}

function assertAddress(shownUrl: string, address: string, allow: AllowList): void {
  const range = refusedRange(address)
  if (range === null || isAllowedAddress(address, allow)) return
  throw new WebhookUrlRefusedError(shownUrl, `${address} is a ${range} address (only public unicast addresses are allowed unless allow-listed)`, { address, range })
}

async function resolveAll(host: string, shownUrl: string, resolve: Resolve): Promise<readonly ResolvedAddress[]> {
  let all: readonly ResolvedAddress[]
  try {
    all = await resolve(host)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    throw new RetryableError(`cannot resolve the host of webhook URL ${shownUrl}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err })
  }
  if (all.length === 0) throw new RetryableError(`the host of webhook URL ${shownUrl} resolved to no address`)
  return all
}

const systemResolve: Resolve = async (hostname) =>
  (await dns.lookup(hostname, { all: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))

/** The IPv4 address an IPv6 one carries: IPv4-mapped, IPv4-translated (rfc6145), NAT64 64:ff9b::/96, 6to4. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = ip.parts
  const fromParts = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
  const range = ip.range()
  if (range === 'ipv4Mapped' || range === 'rfc6145') return fromParts(p[6] ?? 0, p[7] ?? 0)
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return fromParts(p[6] ?? 0, p[7] ?? 0)
  if (range === '6to4') return fromParts(p[1] ?? 0, p[2] ?? 0)
  return null
}

function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = stripBrackets(address)
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : null
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '')
}
