import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, RetryableError } from '../../../src/errors.ts'
import {
  checkWebhookUrl,
  guardedPost,
  isAllowedAddress,
  parseAllowList,
  refusedRange,
  WebhookUrlRefusedError,
  type Resolve,
} from '../../../workers/webhook/ssrf-guard.ts'

describe('refusedRange', () => {
  it('names the range of every non-public IPv4 class', () => {
    const cases: [string, string][] = [
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['10.0.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['169.254.169.254', 'linkLocal'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['255.255.255.255', 'broadcast'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['192.0.0.8', 'reserved'],
      ['192.0.2.1', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['203.0.113.7', 'reserved'],
      ['240.0.0.1', 'reserved'],
    ]
    expect(cases.map(([a]) => [a, refusedRange(a)])).toEqual(cases)
  })

  it('names the range of every non-public IPv6 class, judging IPv4-carrying addresses by the IPv4 they reach', () => {
    const cases: [string, string][] = [
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['fe80::1', 'linkLocal'],
      ['fe80::1%eth0', 'linkLocal'],
      ['fc00::1', 'uniqueLocal'],
      ['fd12:3456:789a::1', 'uniqueLocal'],
      ['ff02::1', 'multicast'],
      ['2001:db8::1', 'reserved'],
      ['::ffff:127.0.0.1', 'loopback (ipv4Mapped)'],
      ['::ffff:10.0.0.1', 'private (ipv4Mapped)'],
      ['::ffff:a9fe:a9fe', 'linkLocal (ipv4Mapped)'],
      ['::ffff:0:192.168.0.1', 'private (rfc6145)'],
      ['64:ff9b::10.0.0.1', 'private (rfc6052)'],
      ['2002:7f00:1::', 'loopback (6to4)'],
      ['::a00:1', 'ipv4Compatible'],
      ['2001::1', 'teredo'],
    ]
    expect(cases.map(([a]) => [a, refusedRange(a)])).toEqual(cases)
  })

  it('passes public unicast addresses, including public IPv4 inside mapped and NAT64 forms', () => {
    for (const a of ['1.1.1.1', '8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8', '64:ff9b::808:808'])
      expect([a, refusedRange(a)]).toEqual([a, null])
  })

  it('refuses what is not an address', () => {
    expect(refusedRange('not-an-ip')).toBe('invalid')
  })
})

describe('parseAllowList', () => {
  it('reads CIDRs, bare addresses and host names, and matches mapped IPv6 against IPv4 CIDRs', () => {
    const allow = parseAllowList(['127.0.0.0/8', '10.1.2.3', 'fd00::/8', 'Hooks.Internal.'])
    expect([...allow.hosts]).toEqual(['hooks.internal'])
    expect(isAllowedAddress('127.0.0.1', allow)).toBe(true)
    expect(isAllowedAddress('::ffff:127.9.9.9', allow)).toBe(true)
    expect(isAllowedAddress('10.1.2.3', allow)).toBe(true)
    expect(isAllowedAddress('10.1.2.4', allow)).toBe(false)
    expect(isAllowedAddress('fd00::5', allow)).toBe(true)
    expect(isAllowedAddress('fe80::1', allow)).toBe(false)
  })

  it('refuses a malformed entry with a ConfigError naming it', () => {
    expect(() => parseAllowList(['127.0.0.0/8', '10.0.0.0/33'])).toThrow(ConfigError)
    expect(() => parseAllowList(['127.0.0.0/8', '10.0.0.0/33'])).toThrow('"10.0.0.0/33" is not a CIDR (e.g. 127.0.0.0/8 or fd00::/8) (field allow[1])')
    expect(() => parseAllowList(['exa mple'])).toThrow('"exa mple" is neither a CIDR, an address nor a host name (field allow[0])')
  })
})

describe('checkWebhookUrl', () => {
  const refusal = async (url: string, opts: Parameters<typeof checkWebhookUrl>[1] = {}): Promise<WebhookUrlRefusedError> => {
    const err = await checkWebhookUrl(url, opts).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(WebhookUrlRefusedError)
    return err as WebhookUrlRefusedError
  }

  it('refuses literal private, link-local, loopback and IPv6 URLs, naming the URL and the address', async () => {
    const e1 = await refusal('http://10.0.0.1/hook')
    expect(e1.message).toBe('webhook URL http://10.0.0.1/hook refused: 10.0.0.1 is a private address (only public unicast addresses are allowed unless allow-listed)')
    expect([e1.address, e1.range]).toEqual(['10.0.0.1', 'private'])
    const e2 = await refusal('http://169.254.169.254/latest/meta-data/')
    expect([e2.url, e2.address, e2.range]).toEqual(['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'linkLocal'])
    const e3 = await refusal('https://[::ffff:127.0.0.1]:8443/x')
    expect([e3.url, e3.address, e3.range]).toEqual(['https://[::ffff:7f00:1]:8443/x', '::ffff:7f00:1', 'loopback (ipv4Mapped)'])
    const e4 = await refusal('http://[fd00::1]/')
    expect([e4.address, e4.range]).toEqual(['fd00::1', 'uniqueLocal'])
    // The WHATWG parser turns the decimal form into 127.0.0.1 before the check sees it.
    const e5 = await refusal('http://2130706433/')
    expect([e5.address, e5.range]).toEqual(['127.0.0.1', 'loopback'])
  })

  it('refuses a host name that resolves to loopback (localhost), on the resolved address', async () => {
    const err = await refusal('http://localhost:8080/hook')
    expect(err.range).toBe('loopback')
    expect(['127.0.0.1', '::1']).toContain(err.address)
    expect(err.message).toContain(`webhook URL http://localhost:8080/hook refused: ${err.address} is a loopback address`)
  })

  it('refuses a name when any of its addresses is private', async () => {
    const resolve: Resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '192.168.0.10', family: 4 },
    ]
    const err = await refusal('https://mixed.example/hook', { resolve })
    expect([err.address, err.range]).toEqual(['192.168.0.10', 'private'])
  })

  it('refuses schemes other than http and https, and redacts a password', async () => {
    expect((await refusal('ftp://93.184.216.34/x')).message).toBe('webhook URL ftp://93.184.216.34/x refused: scheme ftp: is not allowed (http: or https: only)')
    expect((await refusal('file:///etc/passwd')).message).toBe('webhook URL file:///etc/passwd refused: scheme file: is not allowed (http: or https: only)')
    expect((await refusal('http://user:hunter2@10.0.0.1/')).url).toBe('http://user:***@10.0.0.1/')
    expect((await refusal('not a url')).message).toBe('webhook URL "not a url" refused: not a URL')
  })

  it('lets an allow-listed CIDR or host name through', async () => {
    expect((await checkWebhookUrl('http://127.0.0.1:9000/hook', { allow: parseAllowList(['127.0.0.0/8']) })).addresses).toEqual(['127.0.0.1'])
    expect((await checkWebhookUrl('http://[::1]:9000/hook', { allow: parseAllowList(['::1/128']) })).addresses).toEqual(['::1'])
    expect((await checkWebhookUrl('http://localhost:9000/hook', { allow: parseAllowList(['localhost']) })).addresses).toEqual([])
    // A CIDR that does not hold the address lets nothing through.
    expect((await refusal('http://10.0.0.1/', { allow: parseAllowList(['10.1.0.0/16']) })).address).toBe('10.0.0.1')
  })

  it('passes public addresses', async () => {
    expect((await checkWebhookUrl('https://93.184.216.34/hook')).addresses).toEqual(['93.184.216.34'])
    expect((await checkWebhookUrl('https://[2606:4700:4700::1111]/hook')).addresses).toEqual(['2606:4700:4700::1111'])
    const resolve: Resolve = async () => [{ address: '1.1.1.1', family: 4 }]
    expect((await checkWebhookUrl('https://hooks.example.com/x', { resolve })).addresses).toEqual(['1.1.1.1'])
  })

  it('reports a name that does not resolve as retryable, naming the URL', async () => {
    const resolve: Resolve = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    }
    const err = await checkWebhookUrl('https://gone.example/x', { resolve }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RetryableError)
    expect((err as Error).message).toContain('cannot resolve the host of webhook URL https://gone.example/x (ENOTFOUND)')
  })
})

describe('guardedPost', () => {
  let close: (() => Promise<void>) | undefined
  afterEach(async () => {
    await close?.()
    close = undefined
  })

  /** A receiver on 127.0.0.1 that records what reaches it. */
  async function receiver(): Promise<{ port: number; requests: { host: string | undefined; body: string }[] }> {
    const requests: { host: string | undefined; body: string }[] = []
    const server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        requests.push({ host: req.headers.host, body: Buffer.concat(chunks).toString() })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    close = async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
    return { port: (server.address() as AddressInfo).port, requests }
  }

  it('refuses at connection time a name that resolved publicly when checked and to loopback when connecting (DNS rebinding)', async () => {
    const rx = await receiver()
    const answers = ['93.184.216.34', '127.0.0.1']
    const resolve: Resolve = async () => [{ address: answers.shift() ?? '127.0.0.1', family: 4 }]
    const err = await guardedPost(`http://rebind.example:${rx.port}/hook`, { body: '{}', headers: {}, timeoutMs: 10_000, resolve }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WebhookUrlRefusedError)
    expect((err as WebhookUrlRefusedError).message).toBe(
      `webhook URL http://rebind.example:${rx.port}/hook refused: 127.0.0.1 is a loopback address (only public unicast addresses are allowed unless allow-listed)`,
    )
    expect(answers).toEqual([])
    expect(rx.requests).toEqual([])
  })

  it('connects to the address the guarded lookup approved, keeping the Host header', async () => {
    const rx = await receiver()
    const resolve: Resolve = async () => [{ address: '127.0.0.1', family: 4 }]
    const res = await guardedPost(`http://receiver.example:${rx.port}/hook`, {
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
      timeoutMs: 10_000,
      resolve,
      allow: parseAllowList(['127.0.0.1/32']),
    })
    expect(res).toEqual({ status: 204, body: '' })
    expect(rx.requests).toEqual([{ host: `receiver.example:${rx.port}`, body: '{"a":1}' }])
  })
})
