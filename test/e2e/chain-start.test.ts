import { createTestClient, http } from 'viem'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { fundTraders, runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'

let anvil: AnvilInstance
let world: World
let traders: Awaited<ReturnType<typeof fundTraders>>
let db: EmbeddedDatabase
let keyRefused: HttpServer
let refusedUrl: string
let deadPort: number
const prefix = uniquePrefix()
const redis = new Redis(TEST_REDIS_URL)

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17401 })
  const deployed = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, seed: 7 })
  traders = await fundTraders(deployed, 3)
  // Indexed from the first block after funding: the swaps after it are the test's.
  world = { ...deployed, readyBlock: (await blockNumberOf(anvil.rpcUrl)) + 1n }
  db = await startEmbeddedDatabase()
  // A provider that refuses the key: HTTP 401 to everything (a retry cannot cure it).
  keyRefused = createHttpServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' })
    res.end('{"error":"invalid api key"}')
  })
  await new Promise<void>((resolve) => keyRefused.listen(0, '127.0.0.1', resolve))
  refusedUrl = `http://127.0.0.1:${(keyRefused.address() as AddressInfo).port}/v2/Ab3dEf6hIj9kLm2nOp5q`
  // A port nothing listens on: every request fails to connect, and is retried.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  deadPort = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
})
afterAll(async () => {
  await anvil?.stop()
  await db?.stop()
  await new Promise<void>((resolve) => (keyRefused ? keyRefused.close(() => resolve()) : resolve()))
  await cleanupPrefix(redis, prefix)
  redis.disconnect()
})

/**
 * An HTTP proxy in front of the anvil chain: `answer` sees each request body and either forwards
 * it ('forward') or answers in the chain's place.
 */
async function rpcProxy(answer: (raw: string) => 'forward' | { status: number; body: string }): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const a = answer(raw)
      if (a !== 'forward') {
        res.writeHead(a.status, { 'content-type': 'application/json' })
        res.end(a.body)
        return
      }
      void fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' })
        res.end(await r.text())
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

type Ready = { status: string; chains: Record<string, { ok: boolean; state: string; error?: string; block?: string }> }

describe('chains start on their own', () => {
  it('follows a live chain while one RPC never answers and another refuses the key; /ready names both, with why', async () => {
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
    const live = input.chains.live!
    input.chains.dead = { ...live, id: 17402, rpcUrls: [`http://127.0.0.1:${deadPort}`] }
    input.chains.refused = { ...live, id: 17403, rpcUrls: [refusedUrl] }
    input.api = { port: 0 }
    const config = parseConfig(input, {})
    const fatal: Error[] = []
    const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }), api: true, onFatal: (err) => fatal.push(err) })
    try {
      const run = await runRandomTraders(world, { traders, swaps: 12, seed: 5 })
      const head = await blockNumberOf(anvil.rpcUrl)
      await waitForCheckpoints(monitor.workers, new Map([[world.chainId, head]]))
      const swaps = await monitor.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM swaps WHERE chain_id = $1', [world.chainId])
      // One Swap event per hop of each routed trade.
      expect(swaps.rows[0]!.n).toBe(run.swaps.reduce((n, x) => n + x.path.length - 1, 0))

      let ready: Ready | undefined
      await waitUntil('/ready to say why each chain is not followed', async () => {
        const res = await fetch(`${monitor.api!.url}/ready`)
        ready = (await res.json()) as Ready
        return res.status === 200 && ready.chains.dead?.error !== undefined && ready.chains.refused?.state === 'stopped' && ready.chains.live?.block === head.toString()
      })
      expect(ready!.status).toBe('degraded')
      expect(ready!.chains.live).toEqual({ ok: true, state: 'following', block: head.toString() })
      expect(ready!.chains.dead).toMatchObject({ ok: false, state: 'starting' })
      expect(ready!.chains.dead!.error).toContain(`method eth_chainId; at http://127.0.0.1:${deadPort}/`)
      // Stopped with what to fix, the key in its URL masked.
      expect(ready!.chains.refused).toEqual({
        ok: false,
        state: 'stopped',
        error: expect.stringMatching(/^chain refused \(id 17403\): HTTP request failed\. \(method eth_chainId; HTTP status 401; at http:\/\/127\.0\.0\.1:\d+\/v2\/Ab3d\*\*\*\): the RPC refuses the request \(HTTP 401\): check the API key/),
      })
      // One chain still runs: the monitor does not stop for the others.
      expect(fatal).toEqual([])
    } finally {
      const closing = Date.now()
      await monitor.close()
      // A chain still retrying its start does not hold the close.
      expect(Date.now() - closing).toBeLessThan(30_000)
    }
  })

  it('stops the monitor when every chain of the process has stopped, naming each', async () => {
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: uniquePrefix() })
    const only = { ...input.chains.live!, rpcUrls: [refusedUrl] }
    input.chains = { 'refused-a': { ...only, id: 17404 }, 'refused-b': { ...only, id: 17405 } }
    let stopped: (err: Error) => void = () => {}
    const fatal = new Promise<Error>((resolve) => (stopped = resolve))
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log: createLogger({ level: 'silent' }) }), onFatal: (err) => stopped(err) })
    try {
      const err = await fatal
      const lines = err.message.split('\n')
      expect(lines.map((l) => l.replace(/ \(method.*$/, ''))).toEqual([
        'chain refused-a (id 17404): HTTP request failed.',
        'chain refused-b (id 17405): HTTP request failed.',
      ])
    } finally {
      await monitor.close()
    }
  })

  it('asks eth_getLogs alone, never in an HTTP batch with other calls (a too large answer is then split, not retried as it was)', async () => {
    // A proxy in front of the chain that keeps every request body.
    const bodies: unknown[] = []
    const proxy = await rpcProxy((raw) => {
      bodies.push(JSON.parse(raw))
      return 'forward'
    })
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: uniquePrefix() })
    input.chains.live!.rpcUrls = [proxy.url]
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log: createLogger({ level: 'silent' }) }) })
    try {
      await runRandomTraders(world, { traders, swaps: 6, seed: 9 })
      await waitForCheckpoints(monitor.workers, new Map([[world.chainId, await blockNumberOf(anvil.rpcUrl)]]))
    } finally {
      await monitor.close()
      await proxy.close()
    }
    const method = (b: unknown) => (b as { method?: string }).method
    expect(bodies.filter((b) => !Array.isArray(b) && method(b) === 'eth_getLogs').length).toBeGreaterThan(0)
    const batched = bodies.filter(Array.isArray).flat().map(method)
    expect(batched.length).toBeGreaterThan(0)
    expect(batched).not.toContain('eth_getLogs')
  })

  it('with a wsUrl, reads a new block when the chain pushes its head, not at the next poll (an hour away here)', async () => {
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: uniquePrefix() })
    input.chains.live!.wsUrl = anvil.rpcUrl.replace(/^http/, 'ws')
    input.chains.live!.pollIntervalMs = 3_600_000
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log: createLogger({ level: 'silent' }) }) })
    try {
      // The indexer reads the head once as it starts; every later block comes through the subscription.
      await waitUntil('the indexer to start', () => monitor.indexers[0]!.cursor() >= 0n)
      const run = await runRandomTraders(world, { traders, swaps: 4, seed: 21 })
      const head = await blockNumberOf(anvil.rpcUrl)
      // The subscription is made in the background and may be live only after the swaps were mined:
      // another block is mined until the shards have applied the swaps' (any head pushed will do).
      const chain = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
      await waitUntil('the swaps mined after the start to be applied, woken by pushed heads', async () => {
        if (monitor.workers.every((w) => (w.state().checkpoints.get(world.chainId) ?? -1n) >= head)) return true
        await chain.mine({ blocks: 1 })
        await new Promise((r) => setTimeout(r, 200))
        return false
      })
      const last = run.swaps.at(-1)!
      const stored = await monitor.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM swaps WHERE chain_id = $1 AND tx_hash = $2', [world.chainId, last.txHash])
      expect(stored.rows[0]!.n).toBe(last.path.length - 1)
    } finally {
      await monitor.close()
    }
  })

  it('once a chain is followed, retries an answer it would stop on at start (a passing 401), and /ready says so meanwhile', async () => {
    // A proxy in front of the chain that can be made to refuse the key, as a provider's quota or CDN might for a while.
    let refusing = false
    const proxy = await rpcProxy(() => (refusing ? { status: 401, body: '{"error":"quota"}' } : 'forward'))
    const input = worldConfig([{ name: 'live', world }], { accounts: 'auto', shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: uniquePrefix() })
    input.chains.live!.rpcUrls = [proxy.url]
    input.api = { port: 0 }
    const fatal: Error[] = []
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log: createLogger({ level: 'silent' }) }), api: true, onFatal: (err) => fatal.push(err) })
    const live = async () => ((await (await fetch(`${monitor.api!.url}/ready`)).json()) as Ready).chains.live!
    try {
      await waitUntil('the chain to be followed', async () => (await live()).ok)
      refusing = true
      await waitUntil('/ready to show the refusal being retried', async () => (await live()).error?.includes('HTTP status 401') === true)
      expect(await live()).toMatchObject({ ok: false, state: 'following' })
      refusing = false
      const run = await runRandomTraders(world, { traders, swaps: 3, seed: 31 })
      await waitForCheckpoints(monitor.workers, new Map([[world.chainId, await blockNumberOf(anvil.rpcUrl)]]))
      const last = run.swaps.at(-1)!
      const stored = await monitor.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM swaps WHERE chain_id = $1 AND tx_hash = $2', [world.chainId, last.txHash])
      expect(stored.rows[0]!.n).toBe(last.path.length - 1)
      await waitUntil('/ready to be ready again', async () => (await live()).ok)
      expect(fatal).toEqual([])
    } finally {
      refusing = false
      await monitor.close()
      await proxy.close()
    }
  })
})
