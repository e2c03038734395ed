/**
 * The dashboard page (src/api/dashboard/) in headless Chromium, against a STAND-IN FOR THE API:
 * node:http + ws serving the page's static files and uPlot's, GET /v1/me and /v1/accounts with
 * bearer keys, and the live WebSocket protocol of /v1/accounts/:account/ws — whose frames each
 * test sends itself, so every figure on the page follows from a message the test wrote. The
 * end-to-end browser test against the real API (src/api/create-api.ts), workers and anvil is
 * separate; this one pins the page's behaviour and its reading of the protocol.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'
import type { AccountMetrics, TokenExposure } from '../../src/risk/account-metrics.ts'
import type { AlertJson, HaltChangeJson, RuleMetrics } from '../../src/risk/rules.ts'
import type { AccountSnapshot, HistoryPoint, PositionJson, PositionsMessage } from '../../src/api/account-view.ts'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import type { AccountSummary } from '../../src/read-model/keys.ts'
import { useBrowser } from '../setup/browser.ts'
import { waitUntil } from '../setup/wait-until.ts'

const DASHBOARD_DIR = fileURLToPath(new URL('../../src/api/dashboard/', import.meta.url))
const UPLOT_DIR = fileURLToPath(new URL('../../node_modules/uplot/dist/', import.meta.url))
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url))
/** Playwright's waits: generous, they are deadlines for a state to appear, not pass conditions. */
const WAIT_MS = 30_000

// ---------------------------------------------------------------------------------------------
// The stand-in for the API.
// ---------------------------------------------------------------------------------------------

type Principal = { role: 'admin'; account: null } | { role: 'account'; account: string }

/** One WebSocket the page opened, with what it asked for; `send` writes a protocol frame; `received` holds the page's own messages. */
type LiveSocket = { account: string; key: string; socket: WebSocket; send(msg: object): void; received: unknown[] }

type StandInApi = {
  url: string
  /** Every /v1 HTTP request: path and Authorization header. */
  requests: { path: string; authorization: string | undefined }[]
  /** WebSockets opened so far. */
  readonly opened: number
  /** The next WebSocket a page opens (each returned once, in order), once it is open. */
  nextSocket(): Promise<LiveSocket>
  close(): Promise<void>
}

/**
 * Content-Security-Policy of the stand-in: the API's (create-api.ts) minus 'unsafe-inline' for
 * styles, so an inline script or style on the page is a console error here.
 */
const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** A stand-in for the API: the routes the dashboard uses, no database, no Redis. */
async function startStandInApi(opts: { keys: Record<string, Principal>; accounts: { name: string; wallets: string[] }[] }): Promise<StandInApi> {
  const requests: StandInApi['requests'] = []
  const sockets: LiveSocket[] = []
  let claimed = 0

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify(body))
  }
  const file = (res: ServerResponse, path: string): void => {
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' })
    res.end(readFileSync(path))
  }
  const principalOf = (key: string | undefined): Principal | undefined => (key === undefined ? undefined : opts.keys[key])
  const sees = (p: Principal, account: string): boolean => p.role === 'admin' || p.account === account

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in')
    const path = url.pathname
    if (path === '/dashboard') {
      res.writeHead(301, { location: `/dashboard/${url.search}` })
      return res.end()
    }
    if (path.startsWith('/dashboard/vendor/')) {
      const name = path.slice('/dashboard/vendor/'.length)
      if (name !== 'uPlot.iife.min.js' && name !== 'uPlot.min.css') return json(res, 404, { error: 'not_found', message: path })
      return file(res, join(UPLOT_DIR, name))
    }
    if (path.startsWith('/dashboard/')) {
      const rel = normalize(path.slice('/dashboard/'.length) || 'index.html')
      const full = join(DASHBOARD_DIR, rel)
      if (!full.startsWith(DASHBOARD_DIR) || rel.split(sep).includes('..') || !statSync(full, { throwIfNoEntry: false })?.isFile()) return json(res, 404, { error: 'not_found', message: path })
      return file(res, full)
    }
    if (!path.startsWith('/v1/')) return json(res, 404, { error: 'not_found', message: path })

    const authorization = req.headers.authorization
    requests.push({ path, authorization })
    const p = principalOf(/^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1])
    if (!p) return json(res, 401, { error: 'unauthorized', message: 'unknown or revoked API key' })
    if (path === '/v1/me') return json(res, 200, { keyId: 'k1', role: p.role, account: p.account })
    if (path === '/v1/accounts') return json(res, 200, { accounts: opts.accounts.filter((a) => sees(p, a.name)).map((a) => ({ ...a, source: 'api' })) })
    const one = /^\/v1\/accounts\/([^/]+)$/.exec(path)
    if (one) {
      const name = decodeURIComponent(one[1]!)
      const found = opts.accounts.find((a) => a.name === name)
      if (!found || !sees(p, name)) return json(res, 404, { error: 'not_found', message: `no account "${name}"` })
      return json(res, 200, { ...found, source: 'api' })
    }
    return json(res, 404, { error: 'not_found', message: path })
  })

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://stand-in')
    const m = /^\/v1\/accounts\/([^/]+)\/ws$/.exec(url.pathname)
    const key = url.searchParams.get('key') ?? ''
    const p = principalOf(key)
    const account = m ? decodeURIComponent(m[1]!) : ''
    if (!m || !p || !sees(p, account) || !opts.accounts.some((a) => a.name === account)) {
      socket.end(`HTTP/1.1 ${p ? '404 Not Found' : '401 Unauthorized'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const received: unknown[] = []
      ws.on('message', (data) => received.push(JSON.parse(String(data))))
      sockets.push({ account, key, socket: ws, send: (msg) => ws.send(JSON.stringify(msg)), received })
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get opened() {
      return sockets.length
    },
    async nextSocket() {
      const n = claimed++
      await waitUntil(`a page opened WebSocket #${n + 1}`, () => sockets.length > n, WAIT_MS)
      return sockets[n]!
    },
    async close() {
      for (const client of wss.clients) client.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Protocol fixtures, typed as the server's own types.
// ---------------------------------------------------------------------------------------------

const WETH_MAINNET = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2'
const WETH_BASE = '0x4200000000000000000000000000000000000006'
const USDC_BASE = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'
const PEPE_MAINNET = '0x6982508145454Ce325dDbE47a25d4ec3d2311933'

/** A recent, whole-minute block time: the chart's x axis reads like a live desk's. */
const T0 = Math.floor(Date.now() / 60_000) * 60 - 3600

/**
 * 400 WETH long on mainnet, 50 WETH short on Base, 50,000.5 USDC on Base, PEPE unpriced. One priced
 * position comes without decimals (a summary written before they were sent): the page works them out.
 */
const POSITIONS: TokenExposure[] = [
  { chainId: 1, token: WETH_MAINNET, asset: 'ETH', quantity: '400000000000000000000', decimals: 18, priceUsd: 3000, valueUsd: 1_200_000, unpricedCost: false },
  { chainId: 8453, token: WETH_BASE, asset: 'ETH', quantity: '-50000000000000000000', decimals: null, priceUsd: 3000, valueUsd: -150_000, unpricedCost: false },
  { chainId: 1, token: PEPE_MAINNET, asset: 'PEPE', quantity: '1000000000000000000000000', decimals: null, priceUsd: null, valueUsd: null, unpricedCost: true },
  { chainId: 8453, token: USDC_BASE, asset: 'USDC', quantity: '50000500000', decimals: 6, priceUsd: 1, valueUsd: 50_000.5, unpricedCost: false },
]

function metrics(time: number, over: Partial<AccountMetrics> = {}): AccountMetrics {
  return {
    account: 'alice',
    time,
    equityUsd: 1_100_000.5,
    grossExposureUsd: 1_400_000.5,
    netExposureUsd: 1_100_000.5,
    unpricedPositions: 1,
    largestAssetShare: 0.9642853,
    hhi: 0.93112,
    realizedPnlUsd: 12_000,
    unrealizedPnlUsd: 38_000.5,
    totalPnlUsd: 50_000.5,
    dailyPnlUsd: -12_345.67,
    drawdownUsd: 50_000,
    drawdownPct: 0.0384615,
    maxDrawdownUsd: 80_000,
    maxDrawdownPct: 0.0721,
    var95Usd: 42_000.25,
    var99Usd: 61_000,
    es95Usd: 55_500,
    es99Usd: 70_250.75,
    parametricVar95Usd: 40_100,
    parametricVar99Usd: 58_900,
    swaps1m: 2,
    swaps1h: 37,
    swaps24h: 412,
    volume1mUsd: 15_000,
    volume1hUsd: 380_000,
    volume24hUsd: 4_250_000,
    varMethod: 'mixed',
    varIncomplete: true,
    historyLength: 250,
    assetsWithoutHistory: ['PEPE'],
    exposureByToken: POSITIONS,
    exposureByAsset: [
      { asset: 'ETH', grossUsd: 1_350_000, netUsd: 1_050_000 },
      { asset: 'USDC', grossUsd: 50_000.5, netUsd: 50_000.5 },
    ],
    exposureByChain: [
      { chainId: 1, grossUsd: 1_200_000, netUsd: 1_200_000 },
      { chainId: 8453, grossUsd: 200_000.5, netUsd: -99_999.5 },
    ],
    unpricedTokens: [{ chainId: 1, token: PEPE_MAINNET, quantity: '1000000000000000000000000' }],
    ...over,
  }
}

function summary(time: number, block: string, over: Partial<AccountMetrics> = {}, halted = false): AccountSummary {
  return { account: 'alice', shard: 1, chainId: 8453, block, time, halted, metrics: metrics(time, over) }
}

/** `n` points a minute apart ending at `end`, equity wandering around `level`. */
function history(n: number, end: number, level: number): HistoryPoint[] {
  return Array.from({ length: n }, (_, i) => {
    const equityUsd = level + 40_000 * Math.sin(i / 7) + 15_000 * Math.cos(i / 3)
    const drawdownUsd = Math.max(0, 60_000 - 40_000 * Math.sin(i / 7) - 15_000 * Math.cos(i / 3))
    return { time: end - (n - 1 - i) * 60, equityUsd, drawdownUsd, drawdownPct: drawdownUsd / (level + 60_000), var95Usd: 42_000, var99Usd: 61_000, totalPnlUsd: equityUsd - level }
  })
}

function alert(over: Partial<AlertJson> & Pick<AlertJson, 'ruleId' | 'metric' | 'op' | 'threshold' | 'value' | 'time'>): AlertJson {
  const { ruleId, time } = over
  return {
    id: `${ruleId}:alice:${over.firedAt ?? time}`,
    account: 'alice',
    hysteresis: 0,
    severity: 'warning',
    action: 'alert',
    state: 'firing',
    incomplete: false,
    firedAt: time,
    chainId: 8453,
    block: '24000000',
    metrics: {} as RuleMetrics,
    ...over,
  }
}

const VAR_ALERT = alert({ ruleId: 'default.var99', metric: 'var99Usd', op: 'above', threshold: 1_000_000, hysteresis: 100_000, value: 1_050_000, time: T0 + 3000 })
const DRAWDOWN_RESOLVED = alert({ ruleId: 'default.drawdown', metric: 'drawdownPct', op: 'above', threshold: 0.2, hysteresis: 0.05, value: 0.12, time: T0 + 2400, firedAt: T0 + 600, state: 'resolved' })
const LOSS_LIMIT = alert({ ruleId: 'loss-limit', metric: 'dailyPnlUsd', op: 'below', threshold: -50_000, value: -60_000, time: T0 + 3612, severity: 'critical', action: 'halt' })
const HALT: HaltChangeJson = { account: 'alice', ruleId: 'loss-limit', alertId: LOSS_LIMIT.id, reason: 'dailyPnlUsd -60000 below -50000 (rule loss-limit)', time: T0 + 3612, chainId: 8453, block: '24000012' }

// A book with ether and WETH on two chains, a token config names no asset for (ARB) and one
// without a price (PEPE); the server's positions carry their cost basis and symbols.
const ARB = '0x912CE59144191C1204E64559FE8253a0e49E6548'
const ARB_ASSET = `42161:${ARB.toLowerCase()}`
const BOOK: TokenExposure[] = [
  { chainId: 1, token: NATIVE_TOKEN, asset: 'ETH', quantity: '10000000000000000000', decimals: 18, priceUsd: 3000, valueUsd: 30_000, unpricedCost: false },
  { chainId: 1, token: WETH_MAINNET, asset: 'ETH', quantity: '400000000000000000000', decimals: 18, priceUsd: 3000, valueUsd: 1_200_000, unpricedCost: false },
  { chainId: 8453, token: WETH_BASE, asset: 'ETH', quantity: '-50000000000000000000', decimals: 18, priceUsd: 3000, valueUsd: -150_000, unpricedCost: false },
  { chainId: 8453, token: USDC_BASE, asset: 'USDC', quantity: '50000000000', decimals: 6, priceUsd: 1, valueUsd: 50_000, unpricedCost: false },
  { chainId: 42161, token: ARB, asset: ARB_ASSET, quantity: '1000000000000000000000', decimals: 18, priceUsd: 0.5, valueUsd: 500, unpricedCost: false },
  { chainId: 1, token: PEPE_MAINNET, asset: 'PEPE', quantity: '1000000000000000000000000', decimals: null, priceUsd: null, valueUsd: null, unpricedCost: true },
]
const position = (e: TokenExposure, symbol: string | null, costUsd: number, realizedPnlUsd: number): PositionJson => ({
  chainId: e.chainId,
  token: e.token,
  symbol,
  decimals: e.decimals,
  quantity: e.quantity,
  costUsd,
  realizedPnlUsd,
  unpricedCost: e.unpricedCost,
})
/** Unrealized: ETH +5,000, WETH +100,000, WETH on Base (a short) +10,000, USDC -0.30, ARB -300; PEPE none. */
const BOOK_POSITIONS: PositionJson[] = [
  // The tokens table says 'ETH' for the native sentinel on every chain: the page names it by chain.
  position(BOOK[0]!, 'ETH', 25_000, 0),
  position(BOOK[1]!, 'WETH', 1_100_000, 12_000),
  position(BOOK[2]!, 'WETH', -160_000, -2_000),
  position(BOOK[3]!, 'USDC', 50_000.3, 0),
  position(BOOK[4]!, 'ARB', 800, 0),
  position(BOOK[5]!, 'PEPE', 1_234, 0),
]
const BOOK_METRICS: Partial<AccountMetrics> = {
  equityUsd: 1_130_500,
  netExposureUsd: 1_130_500,
  grossExposureUsd: 1_430_500,
  unrealizedPnlUsd: 114_699.7,
  realizedPnlUsd: 10_000,
  totalPnlUsd: 124_699.7,
  varMethod: 'historical',
  varIncomplete: true,
  assetsWithoutHistory: [],
  exposureByToken: BOOK,
  exposureByAsset: [
    { asset: ARB_ASSET, grossUsd: 500, netUsd: 500 },
    { asset: 'ETH', grossUsd: 1_380_000, netUsd: 1_080_000 },
    { asset: 'USDC', grossUsd: 50_000, netUsd: 50_000 },
  ],
  exposureByChain: [
    { chainId: 1, grossUsd: 1_230_000, netUsd: 1_230_000 },
    { chainId: 8453, grossUsd: 200_000, netUsd: -100_000 },
    { chainId: 42161, grossUsd: 500, netUsd: 500 },
  ],
}

function snapshot(over: Partial<AccountSnapshot> & Pick<AccountSnapshot, 'summary'>): AccountSnapshot {
  return { type: 'snapshot', account: 'alice', history: [], alerts: [], halted: false, positions: [], ...over }
}

const KEYS: Record<string, Principal> = {
  'dxr_alice_0123456789': { role: 'account', account: 'alice' },
  'dxr_admin_0123456789': { role: 'admin', account: null },
}
const ACCOUNTS = [
  { name: 'alice', wallets: ['0x00000000000000000000000000000000000a11ce'] },
  { name: 'bob', wallets: ['0x0000000000000000000000000000000000000b0b'] },
]

// ---------------------------------------------------------------------------------------------
// Page helpers: Playwright's own waiting, then an exact assertion.
// ---------------------------------------------------------------------------------------------

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Waits until `selector`'s text is exactly `text` (whitespace-normalised), then asserts it. */
async function expectText(page: Page, selector: string, text: string): Promise<void> {
  const el = page.locator(selector)
  await el.filter({ hasText: new RegExp(`^\\s*${escapeRegExp(text)}\\s*$`) }).waitFor({ timeout: WAIT_MS })
  expect((await el.textContent())?.trim(), selector).toBe(text)
}

/** Waits until exactly `n` elements match `selector`, then asserts the count. */
async function expectCount(page: Page, selector: string, n: number): Promise<void> {
  if (n > 0) await page.locator(selector).nth(n - 1).waitFor({ state: 'attached', timeout: WAIT_MS })
  await page.locator(selector).nth(n).waitFor({ state: 'detached', timeout: WAIT_MS })
  expect(await page.locator(selector).count(), selector).toBe(n)
}

/** What the page writes for a block time. */
const utc = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`

// ---------------------------------------------------------------------------------------------

describe('dashboard page (against a stand-in for the API)', () => {
  const browser = useBrowser()
  let api: StandInApi

  beforeAll(async () => {
    api = await startStandInApi({ keys: KEYS, accounts: ACCOUNTS })
    mkdirSync(ARTIFACTS, { recursive: true })
  })
  afterAll(async () => {
    await api?.close()
  })

  it("shows an account key's live risk: snapshot, update, alert, halt, resync and reconnect", async () => {
    const before = api.requests.length
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_alice_0123456789`)

    // The page asks whose key it is with the Bearer header, then opens the account's socket with ?key=.
    const ws1 = await api.nextSocket()
    expect({ account: ws1.account, key: ws1.key }).toEqual({ account: 'alice', key: 'dxr_alice_0123456789' })
    expect(api.requests.slice(before)).toEqual([{ path: '/v1/me', authorization: 'Bearer dxr_alice_0123456789' }])
    // The key left the visible address and stays in this tab's sessionStorage.
    expect(page.url()).toBe(`${api.url}/dashboard/`)
    expect(await page.evaluate('sessionStorage.getItem("dexrisk.apiKey")')).toBe('dxr_alice_0123456789')
    await expectText(page, '#connection-state', 'syncing')

    // --- the snapshot
    const s1 = summary(T0 + 3540, '24000000')
    ws1.send({ type: 'snapshot', account: 'alice', summary: s1, history: history(60, T0 + 3540, 1_100_000), alerts: [VAR_ALERT, DRAWDOWN_RESOLVED], halted: false })
    await expectText(page, '#connection-state', 'live')
    await expectText(page, '#account-name', 'alice')
    await expectText(page, '#equity', '$1,100,000.50')
    await expectText(page, '#gross-exposure', '$1,400,000.50')
    await expectText(page, '#net-exposure', '$1,100,000.50')
    await expectText(page, '#total-pnl', '+$50,000.50')
    await expectText(page, '#realized-pnl', '+$12,000.00')
    await expectText(page, '#unrealized-pnl', '+$38,000.50')
    await expectText(page, '#daily-pnl', '-$12,345.67')
    await expectText(page, '#drawdown', '$50,000.00')
    await expectText(page, '#drawdown-pct', '(3.85%)')
    await expectText(page, '#max-drawdown', '$80,000.00')
    await expectText(page, '#max-drawdown-pct', '(7.21%)')
    await expectText(page, '#largest-share', '96.43%')
    await expectText(page, '#hhi', '0.9311')
    await expectText(page, '#unpriced-count', '1')
    await expectText(page, '#var95', '$42,000.25')
    await expectText(page, '#var99', '$61,000.00')
    await expectText(page, '#es95', '$55,500.00')
    await expectText(page, '#es99', '$70,250.75')
    await expectText(page, '#pvar95', '$40,100.00')
    await expectText(page, '#pvar99', '$58,900.00')
    await expectText(page, '#var-method', 'mixed')
    await expectText(page, '#history-length', '250 returns')
    await expectText(page, '#assets-without-history', 'PEPE')
    await expectText(page, '#last-block', '24000000')
    await expectText(page, '#last-chain', 'Base')
    await expectText(page, '#last-time', utc(T0 + 3540))
    expect(await page.locator('#halted-banner').isHidden()).toBe(true)

    // Positions: one row per token, keyed chain:address (lowercase), quantities in token units;
    // the unpriced one is listed and marked, never valued at $0.
    await expectCount(page, '#positions > tr', 4)
    const quantity = (chain: number, token: string) => `#positions > tr[data-token="${chain}:${token.toLowerCase()}"] > [data-col="quantity"]`
    const value = (chain: number, token: string) => `#positions > tr[data-token="${chain}:${token.toLowerCase()}"] > [data-col="value"]`
    await expectText(page, quantity(1, WETH_MAINNET), '400')
    await expectText(page, quantity(8453, WETH_BASE), '-50')
    await expectText(page, quantity(8453, USDC_BASE), '50,000.5')
    await expectText(page, quantity(1, PEPE_MAINNET), '1E24 raw')
    await expectText(page, value(1, WETH_MAINNET), '$1,200,000')
    await expectText(page, value(8453, WETH_BASE), '-$150,000')
    await expectText(page, value(1, PEPE_MAINNET), 'unpriced')
    await expectText(page, `#positions > tr[data-token="1:${PEPE_MAINNET.toLowerCase()}"] > td:first-child`, 'PEPE cost?')
    expect(await page.locator('#positions').textContent()).not.toMatch(/\$0(?![\d,])/)
    await expectCount(page, `#unpriced-list > li[data-token="1:${PEPE_MAINNET.toLowerCase()}"]`, 1)
    expect(await page.locator('#unpriced-list').textContent()).toContain('1000000000000000000000000 raw')

    // Exposure by asset and by chain (named), largest gross first.
    await expectCount(page, '#exposure-by-asset > tr', 2)
    await expectText(page, '#exposure-by-asset > tr[data-asset="ETH"] > td:nth-child(2)', '$1,350,000')
    await expectText(page, '#exposure-by-asset > tr[data-asset="ETH"] > td:nth-child(4)', '96.43%')
    await expectText(page, '#exposure-by-chain > tr:first-child > td:first-child', 'Ethereum')
    await expectText(page, '#exposure-by-chain > tr[data-chain="8453"] > td:nth-child(3)', '-$100,000')

    // The alert feed, newest first, with severity, state, rule, metric and value vs threshold.
    await expectCount(page, '#alert-feed > li', 2)
    expect(await page.locator('#alert-feed > li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-alert-id')))).toEqual([VAR_ALERT.id, DRAWDOWN_RESOLVED.id])
    await expectText(page, '#alert-feed > li:first-child .cmp', 'fired at $1,050,000.00 vs > $1,000,000.00 (resolves < $900,000.00)')
    await expectText(page, '#alert-feed > li:nth-child(2) .cmp', 'resolved at 12.00% vs > 20.00% (resolves < 15.00%)')
    await expectText(page, '#alert-feed > li:nth-child(2) .state', 'resolved')

    // The chart got the history.
    await page.locator('#equity-chart[data-points="60"] canvas').first().waitFor({ timeout: WAIT_MS })

    // --- an update: new figures, one more chart point
    ws1.send({ type: 'update', summary: summary(T0 + 3600, '24000010', { equityUsd: 1_150_000, netExposureUsd: 1_150_000, dailyPnlUsd: 2_500 }) })
    await expectText(page, '#equity', '$1,150,000.00')
    await expectText(page, '#daily-pnl', '+$2,500.00')
    await expectText(page, '#last-block', '24000010')
    await page.locator('#equity-chart[data-points="61"]').waitFor({ timeout: WAIT_MS })

    // --- an alert: prepended
    ws1.send({ type: 'alert', alert: LOSS_LIMIT })
    await expectCount(page, '#alert-feed > li', 3)
    expect(await page.locator('#alert-feed > li').first().getAttribute('data-alert-id')).toBe(LOSS_LIMIT.id)
    await expectText(page, '#alert-feed > li:first-child .cmp', 'fired at -$60,000.00 vs < -$50,000.00')
    await expectText(page, '#alert-feed > li:first-child .sev', 'critical')
    await expectText(page, '#alert-feed > li:first-child .action-halt', 'halt')

    // --- a halt: the banner, with the reason
    ws1.send({ type: 'halt', halt: HALT })
    await page.locator('#halted-banner').waitFor({ state: 'visible', timeout: WAIT_MS })
    expect(await page.locator('#halted-reason').textContent()).toBe(`${HALT.reason} · rule loss-limit · Base block 24000012 · ${utc(HALT.time)}`)
    expect(await page.title()).toBe('HALTED · alice · $1,150,000.00 · dexrisk')

    // --- a second snapshot on the same socket (the server resynchronises a slow client): replaces everything
    ws1.send({
      type: 'snapshot',
      account: 'alice',
      summary: summary(T0 + 3660, '24000020', { equityUsd: 990_000.25, unpricedPositions: 0, varIncomplete: false, unpricedTokens: [], exposureByToken: POSITIONS.filter((p) => p.asset !== 'PEPE') }),
      history: history(40, T0 + 3660, 1_000_000),
      alerts: [VAR_ALERT],
      halted: false,
    })
    await expectText(page, '#equity', '$990,000.25')
    await page.locator('#halted-banner').waitFor({ state: 'hidden', timeout: WAIT_MS })
    await expectCount(page, '#alert-feed > li', 1)
    await expectCount(page, '#positions > tr', 3)
    expect(await page.locator('#unpriced-box').isHidden()).toBe(true)
    await page.locator('#equity-chart[data-points="40"]').waitFor({ timeout: WAIT_MS })
    await expectText(page, '#connection-state', 'live')

    // --- the server says why and closes: the page reconnects, keeps the last figures meanwhile,
    // and is live again with the snapshot of the new socket
    ws1.send({ type: 'error', message: 'the snapshot could not be read; reconnect' })
    ws1.socket.close(1011, 'snapshot failed')
    const ws2 = await api.nextSocket()
    expect({ account: ws2.account, key: ws2.key }).toEqual({ account: 'alice', key: 'dxr_alice_0123456789' })
    await expectText(page, '#connection-state', 'syncing')
    await expectText(page, '#equity', '$990,000.25')
    ws2.send({
      type: 'snapshot',
      account: 'alice',
      summary: summary(T0 + 3720, '24000030', { equityUsd: 1_050_000, netExposureUsd: 1_050_000, dailyPnlUsd: -61_250 }, true),
      history: history(120, T0 + 3720, 1_050_000),
      alerts: [LOSS_LIMIT, VAR_ALERT, DRAWDOWN_RESOLVED],
      halted: true,
    })
    await expectText(page, '#connection-state', 'live')
    await expectText(page, '#equity', '$1,050,000.00')
    await page.locator('#halted-banner').waitFor({ state: 'visible', timeout: WAIT_MS })
    // No halt message on this socket: the reason comes from the feed's halting alert.
    expect(await page.locator('#halted-reason').textContent()).toBe(`${HALT.reason} · rule loss-limit · Base block 24000000 · ${utc(LOSS_LIMIT.time)}`)
    await page.locator('#equity-chart[data-points="120"] canvas').first().waitFor({ timeout: WAIT_MS })

    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-standin.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-standin-dark.png'), fullPage: true })

    expect(errors).toEqual([])
  })

  it('names tokens by symbol and chains by name, with cost, PnL and totals per position, sorted by a click on a header', async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_alice_0123456789`)
    const ws = await api.nextSocket()
    ws.send(snapshot({ summary: summary(T0 + 3540, '24000000', BOOK_METRICS), positions: BOOK_POSITIONS }))
    await expectText(page, '#connection-state', 'live')
    await expectText(page, '#last-chain', 'Base')

    const row = (chain: number, token: string) => `#positions > tr[data-token="${chain}:${token.toLowerCase()}"]`
    const cell = (chain: number, token: string, col: string) => `${row(chain, token)} > [data-col="${col}"]`
    await expectCount(page, '#positions > tr', 6)
    // Ether is ETH, wrapped ether WETH (both are the risk asset 'ETH'); a token config names no asset for goes by its symbol.
    await expectText(page, cell(1, NATIVE_TOKEN, 'symbol'), 'ETH')
    await expectText(page, cell(1, WETH_MAINNET, 'symbol'), 'WETH')
    await expectText(page, cell(8453, WETH_BASE, 'symbol'), 'WETH')
    await expectText(page, cell(42161, ARB, 'symbol'), 'ARB')
    await expectText(page, cell(1, PEPE_MAINNET, 'symbol'), 'PEPE cost?')
    await expectText(page, cell(1, WETH_MAINNET, 'chain'), 'Ethereum')
    await expectText(page, cell(8453, WETH_BASE, 'chain'), 'Base')
    await expectText(page, cell(42161, ARB, 'chain'), 'Arbitrum One')
    // Cost, unrealized (value − cost) and realized PnL, a short's cost negative.
    const figures = async (chain: number, token: string) =>
      page.locator(row(chain, token)).evaluate((tr) => ['cost', 'unrealized', 'realized'].map((c) => tr.querySelector(`[data-col="${c}"]`)?.textContent))
    await expectText(page, cell(1, WETH_MAINNET, 'cost'), '$1,100,000')
    expect(await figures(1, WETH_MAINNET)).toEqual(['$1,100,000', '+$100,000', '+$12,000'])
    expect(await figures(8453, WETH_BASE)).toEqual(['-$160,000', '+$10,000', '-$2,000'])
    expect(await figures(1, NATIVE_TOKEN)).toEqual(['$25,000', '+$5,000', '$0'])
    expect(await figures(42161, ARB)).toEqual(['$800', '-$300', '$0'])
    // Thirty cents of loss reads "$0", and is coloured as it reads: neither gain nor loss.
    expect(await figures(8453, USDC_BASE)).toEqual(['$50,000', '$0', '$0'])
    expect(await page.getAttribute(cell(8453, USDC_BASE, 'unrealized'), 'data-sign')).toBe('zero')
    expect(await page.getAttribute(cell(42161, ARB, 'unrealized'), 'data-sign')).toBe('neg')
    expect(await figures(1, PEPE_MAINNET)).toEqual(['$1,234', '—', '$0'])
    // Totals: value and cost of the priced positions, their unrealized PnL, realized PnL of all.
    expect(await page.locator('#positions-total > tr > *').allTextContents()).toEqual(['Total (6 positions, 1 unpriced left out)', '$1,130,500', '$1,015,800', '+$114,700', '+$10,000'])
    // Elsewhere too: the asset config does not name, the chains, the unpriced token.
    await expectText(page, `#exposure-by-asset > tr[data-asset="${ARB_ASSET}"] > td:first-child`, 'ARB')
    expect(await page.locator('#exposure-by-chain > tr > td:first-child').allTextContents()).toEqual(['Ethereum', 'Base', 'Arbitrum One'])
    expect(await page.locator('#unpriced-list > li').allTextContents()).toEqual(['PEPE · Ethereum · 0x6982…1933 · 1000000000000000000000000 raw'])

    // Sorting: the default (unpriced first, then by |value|), then a click per header.
    const order = () => page.locator('#positions > tr').evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('[data-col="symbol"]')?.firstChild?.textContent}@${tr.querySelector('[data-col="chain"]')?.textContent}`))
    const byOrder = async (expected: string[]) => {
      await waitUntil(`positions in the order ${expected.join(', ')}`, async () => JSON.stringify(await order()) === JSON.stringify(expected), WAIT_MS)
      expect(await order()).toEqual(expected)
    }
    await byOrder(['PEPE@Ethereum', 'WETH@Ethereum', 'WETH@Base', 'USDC@Base', 'ETH@Ethereum', 'ARB@Arbitrum One'])
    await page.click('button[data-sort="value"]')
    await byOrder(['WETH@Ethereum', 'USDC@Base', 'ETH@Ethereum', 'ARB@Arbitrum One', 'WETH@Base', 'PEPE@Ethereum'])
    expect(await page.getAttribute('th[data-col="value"]', 'aria-sort')).toBe('descending')
    await page.click('button[data-sort="value"]')
    await byOrder(['WETH@Base', 'ARB@Arbitrum One', 'ETH@Ethereum', 'USDC@Base', 'WETH@Ethereum', 'PEPE@Ethereum'])
    expect(await page.getAttribute('th[data-col="value"]', 'aria-sort')).toBe('ascending')
    await page.click('button[data-sort="symbol"]')
    await byOrder(['ARB@Arbitrum One', 'ETH@Ethereum', 'PEPE@Ethereum', 'USDC@Base', 'WETH@Ethereum', 'WETH@Base'])
    expect(await page.getAttribute('th[data-col="value"]', 'aria-sort')).toBe(null)
    await page.click('button[data-sort="unrealized"]')
    await byOrder(['WETH@Ethereum', 'WETH@Base', 'ETH@Ethereum', 'USDC@Base', 'ARB@Arbitrum One', 'PEPE@Ethereum'])
    expect(ws.received).toEqual([])

    // A trade on Base: the update carries no cost basis, so the page asks for positions, shows none
    // for the changed row meanwhile, and the order holds.
    const traded = BOOK.map((e) => (e.token === WETH_BASE ? { ...e, quantity: '-40000000000000000000', valueUsd: -120_000 } : e))
    ws.send({ type: 'update', summary: summary(T0 + 3600, '24000010', { ...BOOK_METRICS, exposureByToken: traded }) })
    await expectText(page, '#last-block', '24000010')
    await waitUntil('the page asked for positions', () => ws.received.length > 0, WAIT_MS)
    expect(ws.received).toEqual([{ type: 'positions' }])
    expect(await figures(8453, WETH_BASE)).toEqual(['—', '—', '—'])
    const answer: PositionsMessage = { type: 'positions', account: 'alice', positions: BOOK_POSITIONS.map((p) => (p.token === WETH_BASE ? { ...p, quantity: '-40000000000000000000', costUsd: -128_000, realizedPnlUsd: 1_000 } : p)) }
    ws.send(answer)
    await expectText(page, cell(8453, WETH_BASE, 'cost'), '-$128,000')
    expect(await figures(8453, WETH_BASE)).toEqual(['-$128,000', '+$8,000', '+$1,000'])
    await byOrder(['WETH@Ethereum', 'WETH@Base', 'ETH@Ethereum', 'USDC@Base', 'ARB@Arbitrum One', 'PEPE@Ethereum'])
    // A price-only update changes no quantity: nothing more is asked.
    ws.send({ type: 'update', summary: summary(T0 + 3660, '24000020', { ...BOOK_METRICS, exposureByToken: traded.map((e) => (e.token === ARB ? { ...e, priceUsd: 0.6, valueUsd: 600 } : e)) }) })
    await expectText(page, cell(42161, ARB, 'unrealized'), '-$200')
    expect(ws.received).toEqual([{ type: 'positions' }])
    expect(errors).toEqual([])
  })

  it('warns in a banner when VaR is the fallback shock, for every asset or some, and when unpriced positions leave it incomplete', async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_alice_0123456789`)
    const ws = await api.nextSocket()
    const risk = { fallbackShock: 0.25, minHistory: 20 }
    // Every asset on the fallback shock: VaR 95 = VaR 99 = ES.
    const shocked = { varMethod: 'fallback' as const, varIncomplete: false, unpricedPositions: 0, unpricedTokens: [], historyLength: 0, assetsWithoutHistory: ['ETH', 'USDC'] }
    const all = { ...shocked, var95Usd: 357_500, var99Usd: 357_500, es95Usd: 357_500, es99Usd: 357_500, parametricVar95Usd: 357_500, parametricVar99Usd: 357_500 }
    ws.send(snapshot({ summary: summary(T0 + 3540, '24000000', all), risk }))
    await page.locator('#var-banner').waitFor({ state: 'visible', timeout: WAIT_MS })
    await expectText(page, '#var-fallback', 'VaR is the 25% fallback shock, not a historical VaR: every asset (ETH and USDC) has fewer than 20 returns of history, so VaR 95, VaR 99 and ES are all 25% of |exposure|.')
    expect(await page.locator('#var-incomplete').isHidden()).toBe(true)
    expect(await page.locator('#var-table').getAttribute('class')).toBe('num-table var-table is-fallback')

    // Some assets (one config names no asset for: named by its symbol), and unpriced positions on top.
    const other = '0x1234567890AbcdEF1234567890aBcdef12345678'
    ws.send({
      type: 'update',
      summary: summary(T0 + 3600, '24000010', {
        ...BOOK_METRICS,
        varMethod: 'mixed',
        assetsWithoutHistory: [ARB_ASSET],
        varIncomplete: true,
        unpricedPositions: 2,
        unpricedTokens: [
          { chainId: 1, token: PEPE_MAINNET, quantity: '1000000000000000000000000' },
          { chainId: 8453, token: other, quantity: '7' },
        ],
      }),
    })
    ws.send({ type: 'positions', account: 'alice', positions: BOOK_POSITIONS } satisfies PositionsMessage)
    await expectText(page, '#var-fallback', 'VaR for ARB is the 25% fallback shock, not a historical VaR: it has fewer than 20 returns of history, so 25% of its |exposure| is added to every VaR and ES figure.')
    await expectText(page, '#var-incomplete', "VaR incomplete: 2 unpriced positions (PEPE on Ethereum and 0x1234…5678 on Base) left out, so VaR and ES are lower bounds of the account's risk.")
    expect(await page.locator('#var-table').getAttribute('class')).toBe('num-table var-table is-fallback is-incomplete')

    // Historical and complete: no banner.
    ws.send({ type: 'update', summary: summary(T0 + 3660, '24000020', { varMethod: 'historical', assetsWithoutHistory: [], varIncomplete: false, unpricedPositions: 0, unpricedTokens: [] }) })
    await page.locator('#var-banner').waitFor({ state: 'hidden', timeout: WAIT_MS })
    expect(await page.locator('#var-table').getAttribute('class')).toBe('num-table var-table')

    // A summary without varIncomplete (written before it existed): an unpriced position still warns.
    const { varIncomplete: _absent, ...older } = metrics(T0 + 3720, { varMethod: 'historical', assetsWithoutHistory: [] })
    ws.send({ type: 'update', summary: { ...summary(T0 + 3720, '24000030'), metrics: older as AccountMetrics } })
    await expectText(page, '#var-incomplete', "VaR incomplete: 1 unpriced position (PEPE on Ethereum) left out, so VaR and ES are lower bounds of the account's risk.")
    expect(await page.locator('#var-fallback').isHidden()).toBe(true)
    expect(errors).toEqual([])
  })

  it("shows an open alert's value now, updated live, beside the value and time it first fired", async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_alice_0123456789`)
    const ws = await api.nextSocket()
    const drawdownFiring = { ...DRAWDOWN_RESOLVED, state: 'firing' as const, value: 0.22, time: DRAWDOWN_RESOLVED.firedAt }
    const incompleteVar = alert({ ruleId: 'var95-limit', metric: 'var95Usd', op: 'above', threshold: 40_000, value: 30_000, time: T0 + 3300, incomplete: true })
    const unpriced = alert({ ruleId: 'default.unpriced-positions', metric: 'unpricedPositions', op: 'above', threshold: 0.5, value: 2, time: T0 + 3200 })
    ws.send(
      snapshot({
        summary: summary(T0 + 3540, '24000000', { var99Usd: 1_180_000, varIncomplete: false, unpricedPositions: 0, unpricedTokens: [] }),
        alerts: [VAR_ALERT, incompleteVar, unpriced, DRAWDOWN_RESOLVED, drawdownFiring],
      }),
    )
    const item = (id: string, state: string) => `#alert-feed > li[data-alert-id="${id}"][data-state="${state}"]`
    await expectText(page, `${item(VAR_ALERT.id, 'firing')} .now`, 'now $1,180,000.00')
    await expectText(page, `${item(VAR_ALERT.id, 'firing')} .cmp`, 'fired at $1,050,000.00 vs > $1,000,000.00 (resolves < $900,000.00)')
    await expectText(page, `${item(VAR_ALERT.id, 'firing')} .when`, `fired ${utc(VAR_ALERT.firedAt)}`)
    // A firing that fired on a lower bound says so.
    await expectText(page, `${item(incompleteVar.id, 'firing')} .cmp`, 'fired at ≥ $30,000.00 vs > $40,000.00')
    await expectText(page, `${item(incompleteVar.id, 'firing')} .now`, 'now $42,000.25')
    // A count's threshold between whole numbers is written as it is, not rounded up to the value it is compared with.
    await expectText(page, `${item(unpriced.id, 'firing')} .cmp`, 'fired at 2 vs > 0.5')
    await expectText(page, `${item(unpriced.id, 'firing')} .now`, 'now 0')
    // A firing that has resolved is history: no value now; its resolution says when it fired.
    await expectCount(page, `${item(DRAWDOWN_RESOLVED.id, 'firing')} .now`, 0)
    await expectText(page, `${item(DRAWDOWN_RESOLVED.id, 'firing')} .cmp`, 'fired at 22.00% vs > 20.00% (resolves < 15.00%)')
    await expectText(page, `${item(DRAWDOWN_RESOLVED.id, 'resolved')} .when`, `resolved ${utc(DRAWDOWN_RESOLVED.time)} · fired ${utc(DRAWDOWN_RESOLVED.firedAt)}`)

    // The next summary moves the value now; the value it fired at stays. With an unpriced position the VaR now is a lower bound.
    ws.send({ type: 'update', summary: summary(T0 + 3600, '24000010', { var99Usd: 1_250_000, var95Usd: 39_000, varIncomplete: true }) })
    await expectText(page, `${item(VAR_ALERT.id, 'firing')} .now`, 'now ≥ $1,250,000.00')
    await expectText(page, `${item(incompleteVar.id, 'firing')} .now`, 'now ≥ $39,000.00')
    await expectText(page, `${item(VAR_ALERT.id, 'firing')} .cmp`, 'fired at $1,050,000.00 vs > $1,000,000.00 (resolves < $900,000.00)')
    expect(errors).toEqual([])
  })

  it('lets an admin key choose the account from /v1/accounts, then watches it', async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_admin_0123456789`)
    await page.locator('#account-picker').waitFor({ state: 'visible', timeout: WAIT_MS })
    expect(await page.locator('#account-picker > option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(['', 'alice', 'bob'])
    await expectText(page, '#connection-detail', 'choose an account')
    await expectText(page, '#connection-state', 'offline')
    const opened = api.opened

    await page.selectOption('#account-picker', 'bob')
    const ws = await api.nextSocket()
    expect({ account: ws.account, key: ws.key, opened: api.opened }).toEqual({ account: 'bob', key: 'dxr_admin_0123456789', opened: opened + 1 })
    expect(page.url()).toBe(`${api.url}/dashboard/?account=bob`)
    ws.send({ type: 'snapshot', account: 'bob', summary: null, history: [], alerts: [], halted: false })
    await expectText(page, '#connection-state', 'live')
    await expectText(page, '#notice', 'No risk computed yet for bob: the figures appear after its first batch.')
    await expectText(page, '#equity', '—')
    expect(errors).toEqual([])
  })

  it('stops retrying, and says why, when the account does not exist', async () => {
    const opened = api.opened
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_admin_0123456789&account=ghost`)
    // The socket is refused; GET /v1/accounts/ghost tells the page that retrying cannot help.
    await expectText(page, '#connection-state', 'offline')
    await expectText(page, '#connection-detail', 'no account "ghost"')
    expect(api.requests.filter((r) => r.path === '/v1/accounts/ghost')).toHaveLength(1)
    expect(api.opened).toBe(opened)
    // The two expected errors: the refused handshake and the 404 of GET /v1/accounts/ghost.
    expect(errors).toEqual([
      expect.stringMatching(/^console: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/v1\/accounts\/ghost\/ws\?key=[^']+' failed/),
      expect.stringMatching(/^console: Failed to load resource: the server responded with a status of 404/),
    ])
  })

  it('writes quantities exactly from the raw integer, and asks for a key when there is none', async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/`)
    // The page's own module, in the page: the numbers a position row would show.
    const got = await page.evaluate(`import('/dashboard/format.js').then((f) => [
      f.rawToDecimal('1', 18),
      f.rawToDecimal('-1500000000000000000', 18),
      f.rawToDecimal('1000000', 6),
      f.rawToDecimal('-0', 6),
      f.rawToDecimal('42', 0),
      f.formatQuantity({ quantity: '123456789012345678901234567890', priceUsd: 2, valueUsd: 246913578024.69135, decimals: undefined }).text,
      f.formatQuantity({ quantity: '999870000', priceUsd: 0.99987, valueUsd: 999.740016900, decimals: undefined }).exact,
      f.formatQuantity({ quantity: '5', priceUsd: null, valueUsd: null, decimals: 18 }).text,
      f.formatQuantity({ quantity: '12345', priceUsd: null, valueUsd: null }).text,
      f.formatQuantity({ quantity: '0', priceUsd: 3000, valueUsd: 0 }).text,
      f.formatUsd(-0.001),
      f.formatPnl(0),
      f.formatPct(null),
    ])`)
    expect(got).toEqual(['0.000000000000000001', '-1.5', '1', '0', '42', '123,456,789,012.3456789', '999.87', '0.000000000000000005', '12,345 raw', '0', '$0.00', '$0.00', '—'])
    // Opened without a key: the page asks for one and opens nothing.
    await page.locator('#key-form').waitFor({ state: 'visible', timeout: WAIT_MS })
    await expectText(page, '#connection-detail', 'no API key')
    expect(errors).toEqual([])
  })

  it('asks for another key when the API rejects it', async () => {
    const { page, errors } = await browser.open(`${api.url}/dashboard/?key=dxr_revoked`)
    await page.locator('#key-form').waitFor({ state: 'visible', timeout: WAIT_MS })
    await expectText(page, '#key-error', 'The API key was rejected (revoked or unknown).')
    await expectText(page, '#connection-state', 'offline')
    expect(page.url()).toBe(`${api.url}/dashboard/`)
    expect(await page.evaluate('sessionStorage.getItem("dexrisk.apiKey")')).toBe(null)
    // The one expected error: the browser reports the 401 of GET /v1/me.
    expect(errors).toEqual([expect.stringMatching(/^console: Failed to load resource: the server responded with a status of 401/)])
  })
})
