/**
 * WebSocket latency bench: a swap mined on chain → the `update` on every WebSocket of the trader's
 * account. One anvil chain with the real Uniswap V2/V3 world, named accounts (one trader each), the
 * monitor with its API (startMonitor, embedded database in a temp folder), one account key per
 * account, then a storm of WebSocket connections spread round-robin over the accounts, then swaps
 * one at a time through the real routers, each waited for on every connection of its account
 * before the next is sent.
 *
 *   npm run bench:ws -- --connections 1000 --swaps 100
 *
 * The clients run in a worker thread of this process (their own event loop: receiving does not
 * hold up the API's sends); both ends of every connection count against this process's open-file
 * limit. A command that prints figures; never part of the tests.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort } from 'node:worker_threads'
import {
  BaseError as ViemBaseError,
  ExecutionRevertedError,
  TransactionReceiptNotFoundError,
  createPublicClient,
  erc20Abi,
  http,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from 'viem'
import WebSocket from 'ws'
import { createApiKey } from '../src/api/key-store.ts'
import { createCommon, createLogger } from '../src/common.ts'
import { parseConfig } from '../src/config/load-config.ts'
import { startMonitor, type Monitor } from '../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../src/runtime/wait-for-checkpoints.ts'
import { startAnvil } from '../src/world/anvil.ts'
import { blockNumberOf } from '../src/world/block-number.ts'
import { deployWorld, type World } from '../src/world/deploy.ts'
import { createRandom, type Random } from '../src/world/random.ts'
import { createSender, type Sender } from '../src/world/sender.ts'
import { SWAP_KINDS, buildRoutes, encodeSwap, kindShape, type SwapKind } from '../src/world/swaps.ts'
import { fundTraders } from '../src/world/traders.ts'
import { worldConfig } from '../src/world/world-config.ts'
import { fmt, percentile } from './stats.ts'
import { deleteKeys } from './delete-keys.ts'

/** Between the bench (main thread) and its WebSocket clients (worker thread). Each request gets one reply, in order. */
type ToClients =
  | { type: 'open'; targets: { account: string; url: string }[]; timeoutMs: number }
  /** Report, for every connection of `account`, when its first update with summary.block ≥ `block` arrived. */
  | { type: 'expect'; account: string; block: string; timeoutMs: number }
  | { type: 'close' }
type FromClients =
  | { type: 'opened'; startedAt: number; openAt: number[]; snapshotAt: number[]; failures: string[] }
  /** Arrival times (clock()), null for a connection that saw none within the timeout. */
  | { type: 'seen'; at: (number | null)[] }
  | { type: 'closed'; open: number; unexpectedCloses: string[]; received: Record<string, number> }

/** Milliseconds on one clock for both threads (performance.now() alone starts at each thread's own origin). */
const clock = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const out = (s = ''): void => void process.stdout.write(`${s}\n`)

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy']
const CHAIN_ID = 31337
const STORM_TIMEOUT_MS = 120_000
const SWAP_TIMEOUT_MS = 30_000

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: '1000' },
      swaps: { type: 'string', default: '100' },
      traders: { type: 'string', default: '4' },
      'poll-interval-ms': { type: 'string', default: '100' },
      ws: { type: 'boolean', default: false },
      shards: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  })
  if (args.help) {
    out(`npm run bench:ws -- [options]
  --connections N       WebSocket connections, round-robin over the accounts (default 1000)
  --swaps N             swaps, one at a time, each waited for on every connection of its account (default 100)
  --traders N           traders, each the one wallet of a named account (default 4)
  --poll-interval-ms N  the indexer's chain poll interval (default 100; confirmations 0)
  --ws                  new heads pushed over anvil's WebSocket (chains.<name>.wsUrl); the poll is the fallback
  --shards N            shards, one risk worker each, all in this process (default 2)
  --seed N              seed of the swap picks and the pauses between swaps (default 1)`)
    return 0
  }
  const int = (name: keyof typeof args, min: number): number => {
    const n = Number(args[name])
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: a whole number ≥ ${min}, got ${String(args[name])}`)
    return n
  }
  const opts = { connections: int('connections', 1), swaps: int('swaps', 1), traders: int('traders', 1), pollMs: int('poll-interval-ms', 1), shards: int('shards', 1), seed: int('seed', 0) }
  const names = Array.from({ length: opts.traders }, (_, i) => NAMES[i] ?? `trader-${i + 1}`)
  // Both ends of every connection are sockets of this process, plus Redis, the database, anvil and spare.
  const filesNeeded = 2 * opts.connections + 200
  const filesLimit = await openFilesLimit()
  const rateLimit = Math.max(600, 10 * opts.connections)
  const perAccount = names.map((_, a) => Math.floor(opts.connections / names.length) + (a < opts.connections % names.length ? 1 : 0))

  const cpu = cpus()
  out(`dexrisk WebSocket latency bench — ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  out(`  open files limit ${filesLimit === undefined ? 'unknown' : fmt(filesLimit)} (this run needs ~${fmt(filesNeeded)}: both ends of ${fmt(opts.connections)} connections live in this process)`)
  if (filesLimit !== undefined && filesLimit < filesNeeded) throw new Error(`open files limit ${filesLimit} is below the ~${filesNeeded} this run needs: raise it (ulimit -n ${filesNeeded}) or pass fewer --connections`)
  out(`  ${fmt(opts.connections)} connections over ${names.length} accounts (${perAccount.join('/')}), ${fmt(opts.swaps)} swaps, indexer poll ${opts.pollMs} ms${args.ws ? ' (fallback: new heads over WebSocket)' : ''}, confirmations 0, ${opts.shards} shards, rate limit ${fmt(rateLimit)}/min per key, seed ${opts.seed}`)
  out(`  one anvil chain (automine) with the real Uniswap V2 + V3 world; clients in a worker thread; a pause of 0–${opts.pollMs} ms (seeded) before each swap`)

  const cleanups: (() => Promise<unknown>)[] = []
  let cleaning: Promise<void> | undefined
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const c of cleanups) await c().catch((err: unknown) => out(`cleanup: ${err instanceof Error ? err.message : String(err)}`))
    })())
  const onSignal = (): void => void cleanup().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    let t = clock()
    const anvil = await startAnvil({ chainId: CHAIN_ID })
    cleanups.unshift(() => anvil.stop())
    const deployed = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, seed: opts.seed })
    const traders = await fundTraders(deployed, opts.traders)
    // Index from the first block after funding: the funded balances are the accounts' opening balances.
    const world: World = { ...deployed, readyBlock: (await blockNumberOf(anvil.rpcUrl)) + 1n }
    const accounts = Object.fromEntries(traders.map((tr, i) => [names[i]!, [tr.address.toLowerCase() as Address]]))

    const dataDir = await mkdtemp(join(tmpdir(), 'dexrisk-bench-ws-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const prefix = `dexrisk-bench-ws-${process.pid}-${Date.now()}`
    const input = worldConfig([{ name: 'local', world }], { accounts, shards: opts.shards, dataDir, queuePrefix: prefix, redisUrl: process.env.REDIS_URL })
    input.chains.local = { ...input.chains.local!, pollIntervalMs: opts.pollMs, confirmations: 0, ...(args.ws ? { wsUrl: world.rpcUrl.replace(/^http/, 'ws') } : {}) }
    input.api = { port: 0, rateLimitPerMinute: rateLimit }
    const config = parseConfig(input, {})
    const common = createCommon(config, { log: createLogger({ level: process.env.DEXRISK_LOG_LEVEL ?? 'warn' }) })
    const monitor: Monitor = await startMonitor({ common, api: true })
    // After the sockets (added in front below), before anvil; then the folder, then the Redis keys.
    cleanups.splice(cleanups.length - 2, 0, () => monitor.close())
    // The bench runs on one Redis (REDIS_URL or the one found): SCAN there finds every key.
    const redisUrl = monitor.redisUrl
    if (typeof redisUrl === 'string') cleanups.push(() => deleteKeys(redisUrl, prefix))
    const api = monitor.api!
    const keys = await Promise.all(names.map(async (account) => (await createApiKey(monitor.pool, { role: 'account', account }, 'bench:ws')).key))

    // Warm-up (not measured): one swap per account, applied, so every account has a summary and
    // the first measured swap pays no first-batch costs.
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const senders = await Promise.all(traders.map((account) => createSender({ client, account, chainId: world.chainId })))
    const random = createRandom(opts.seed)
    const swapper = { client, world, random, families: buildRoutes(world) }
    for (let a = 0; a < names.length; a++) await sendSwap(swapper, senders[a]!, SWAP_KINDS[a % SWAP_KINDS.length]!)
    await waitForCheckpoints(monitor.workers, new Map([[world.chainId, await blockNumberOf(anvil.rpcUrl)]]))
    out(`  setup (not timed): world ${world.pools.length} pools, ${names.length} traders funded, monitor and API at ${api.url}, ${names.length} warm-up swaps applied — ${((clock() - t) / 1000).toFixed(1)} s`)

    const clients = startClients()
    cleanups.unshift(() => clients.stop())

    // The storm: every connection at once.
    const wsBase = api.url.replace(/^http/, 'ws')
    const targets = Array.from({ length: opts.connections }, (_, i) => {
      const a = i % names.length
      return { account: names[a]!, url: `${wsBase}/v1/accounts/${encodeURIComponent(names[a]!)}/ws?key=${encodeURIComponent(keys[a]!)}` }
    })
    const storm = await clients.ask({ type: 'open', targets, timeoutMs: STORM_TIMEOUT_MS })
    if (storm.type !== 'opened') throw new Error(`clients answered ${storm.type} to open`)
    const hubAfterStorm = api.hub.size
    const openMs = Math.max(...storm.openAt) - storm.startedAt
    const snapshotMs = Math.max(...storm.snapshotAt) - storm.startedAt
    const toSnapshot = storm.snapshotAt.map((s) => s - storm.startedAt)
    out()
    out('connection storm (every connection opened at once, each waits for its snapshot)')
    if (storm.failures.length > 0) {
      out(`  FAILED           ${fmt(storm.failures.length)} of ${fmt(opts.connections)} connections: ${summarize(storm.failures)}`)
      throw new Error(`connection storm: ${storm.failures.length} of ${opts.connections} connections failed`)
    }
    out(`  all open         ${fmt(openMs)} ms after the first was started (upgrade answered: key checked, rate limit counted)`)
    out(`  all snapshots    ${fmt(snapshotMs)} ms after the first was started`)
    out(`  start → snapshot p50 ${fmt(percentile(toSnapshot, 50))} ms, p90 ${fmt(percentile(toSnapshot, 90))} ms, p99 ${fmt(percentile(toSnapshot, 99))} ms, max ${fmt(Math.max(...toSnapshot))} ms`)
    out(`  hub.size         ${fmt(hubAfterStorm)}`)

    // The swaps: one at a time, by the trader of account i % accounts, each waited for on every
    // connection of that account (or SWAP_TIMEOUT_MS) before the next.
    const samples: number[] = []
    const firsts: number[] = []
    const spreads: number[] = []
    const kinds = new Map<SwapKind, number>()
    let missing = 0
    let receiptAtOnce = 0
    let receiptLag = 0
    t = clock()
    for (let i = 0; i < opts.swaps; i++) {
      const a = i % names.length
      // A random phase against the indexer's poll: latency is sampled over the whole interval.
      await sleep(random.next() * opts.pollMs)
      const plan = await planSwap(swapper, senders[a]!.account, SWAP_KINDS[i % SWAP_KINDS.length]!)
      // Automine: the swap is the next block, alone in it.
      const block = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
      const seen = clients.ask({ type: 'expect', account: names[a]!, block: block.toString(), timeoutMs: SWAP_TIMEOUT_MS })
      seen.catch(() => {}) // awaited below; a worker failing meanwhile is not an unhandled rejection
      const hash = await senders[a]!.send({ to: plan.to, data: plan.data, gas: SWAP_GAS })
      const t0 = clock()
      const mined = await receiptOf(client, hash, `swap ${i} (${plan.kind} by ${names[a]})`)
      if (mined.atOnce) receiptAtOnce++
      receiptLag = Math.max(receiptLag, clock() - t0)
      if (mined.block !== block) throw new Error(`swap ${i}: mined in block ${mined.block}, expected ${block} (something else was mined)`)
      kinds.set(plan.kind, (kinds.get(plan.kind) ?? 0) + 1)
      const reply = await seen
      if (reply.type !== 'seen') throw new Error(`clients answered ${reply.type} to expect`)
      const lat = reply.at.filter((x): x is number => x !== null).map((x) => x - t0)
      missing += reply.at.length - lat.length
      samples.push(...lat)
      if (lat.length > 0) {
        firsts.push(Math.min(...lat))
        spreads.push(Math.max(...lat) - Math.min(...lat))
      }
    }
    const swapsMs = clock() - t
    const hubAtEnd = api.hub.size
    const dropped = api.hub.dropped
    const end = await clients.ask({ type: 'close' })
    if (end.type !== 'closed') throw new Error(`clients answered ${end.type} to close`)

    out()
    out('swap mined (send returned) → first `update` with summary.block ≥ its block, on each connection of its account')
    out(`  swaps            ${fmt(opts.swaps)} in ${(swapsMs / 1000).toFixed(1)} s (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')})`)
    out(`  receipts         ${receiptAtOnce}/${opts.swaps} there at the first eth_getTransactionReceipt after the send returned, all within ${fmt(receiptLag, 1)} ms (t0 is the send's return)`)
    out(`  samples          ${fmt(samples.length)} (connection × swap), ${fmt(missing)} missing (no such update within ${SWAP_TIMEOUT_MS / 1000} s)`)
    out(`  latency          p50 ${fmt(percentile(samples, 50))} ms, p90 ${fmt(percentile(samples, 90))} ms, p99 ${fmt(percentile(samples, 99))} ms, max ${fmt(Math.max(...samples))} ms`)
    out(`  first connection p50 ${fmt(percentile(firsts, 50))} ms, p99 ${fmt(percentile(firsts, 99))} ms (the first of the account's connections to see each swap)`)
    out(`  fan-out spread   p50 ${fmt(percentile(spreads, 50), 1)} ms, p99 ${fmt(percentile(spreads, 99), 1)} ms (last minus first connection of the account, per swap)`)
    out()
    out('at the end')
    out(`  connections held ${fmt(hubAtEnd)} (hub.size); ${fmt(end.open)}/${fmt(opts.connections)} client sockets still open; ${end.unexpectedCloses.length === 0 ? 'none closed' : `closed: ${summarize(end.unexpectedCloses)}`}`)
    out(`  dropped          ${fmt(dropped)} messages for slow clients (hub.dropped)`)
    out(`  received         ${Object.entries(end.received).sort().map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}`)
    const ok = storm.failures.length === 0 && missing === 0 && end.open === opts.connections && hubAtEnd === opts.connections
    return ok ? 0 : 1
  } finally {
    await cleanup()
  }
}

// Generous for a two-hop V3 swap; unused gas is refunded.
const SWAP_GAS = 600_000n

type Swapper = { client: PublicClient; world: World; random: Random; families: ReturnType<typeof buildRoutes> }
type SwapPlan = { kind: SwapKind; to: Address; data: Hex }

/**
 * A swap of `kind` (another kind if none of its routes would succeed) by `trader` through the real
 * routers: a seeded route, sized at 0.01%–0.1% of the pool's reserve of the token the swap fixes,
 * simulated first so that it does not revert. Not timed: the clock starts once it is mined.
 */
async function planSwap(s: Swapper, trader: LocalAccount, kind: SwapKind): Promise<SwapPlan> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const k = attempt < 3 ? kind : s.random.pick(SWAP_KINDS)
    const shape = kindShape(k)
    const family = s.families.find((f) => f.family === shape.family)
    const routes = shape.multihop ? family?.multihop : family?.direct
    if (!routes?.length) continue
    const route = s.random.pick(routes)
    const pool = shape.exactOut ? route.pools[route.pools.length - 1]! : route.pools[0]!
    const token = shape.exactOut ? route.tokens[route.tokens.length - 1]! : route.tokens[0]!
    const reserve = await s.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [pool.address] })
    const amount = (reserve * BigInt(Math.round(10 ** (2 + s.random.next())))) / 1_000_000n
    if (amount === 0n) continue
    const call = encodeSwap(s.world, { kind: k, route, amount, recipient: trader.address })
    try {
      await s.client.call({ account: trader.address, to: call.to, data: call.data })
    } catch (err) {
      if (err instanceof ViemBaseError && err.walk((e) => e instanceof ExecutionRevertedError) !== null) continue
      throw err
    }
    return { kind: k, ...call }
  }
  throw new Error(`no ${kind} swap by ${trader.address} that would succeed after 20 attempts`)
}

/** Plans and sends a swap and waits for its receipt (the warm-up). */
async function sendSwap(s: Swapper, sender: Sender, kind: SwapKind): Promise<void> {
  const plan = await planSwap(s, sender.account, kind)
  const hash = await sender.send({ to: plan.to, data: plan.data, gas: SWAP_GAS })
  await receiptOf(s.client, hash, `${plan.kind} by ${sender.account.address}`)
}

/** The block a sent transaction was mined in, polled for if the node has not mined it yet; a revert throws. */
async function receiptOf(client: PublicClient, hash: Hex, what: string): Promise<{ block: bigint; atOnce: boolean }> {
  for (let poll = 0; poll < 500; poll++) {
    try {
      const receipt = await client.getTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`${what} reverted (tx ${hash})`)
      return { block: receipt.blockNumber, atOnce: poll === 0 }
    } catch (err) {
      if (!(err instanceof TransactionReceiptNotFoundError)) throw err
    }
    await sleep(5)
  }
  throw new Error(`${what} not mined within 2.5 s (tx ${hash})`)
}

/** The clients' worker thread, with one request in flight at a time. */
function startClients(): { ask(msg: ToClients): Promise<FromClients>; stop(): Promise<void> } {
  // tsx's loader does not reach a worker started on a .ts file in Node 20: register it first.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}) })`
  const worker = new Worker(boot, { eval: true })
  const waiting: { resolve(m: FromClients): void; reject(err: Error): void }[] = []
  let failure: Error | undefined
  const fail = (err: Error): void => {
    failure ??= err
    for (const w of waiting.splice(0)) w.reject(err)
  }
  worker.on('message', (m: FromClients) => waiting.shift()?.resolve(m))
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`the clients' worker thread exited (code ${code})`)))
  let stopped: Promise<void> | undefined
  const ask = (msg: ToClients): Promise<FromClients> =>
    failure
      ? Promise.reject(failure)
      : new Promise((resolve, reject) => {
          waiting.push({ resolve, reject })
          worker.postMessage(msg)
        })
  return {
    ask,
    // Closes the sockets (if the run did not get that far), then the thread.
    stop: () =>
      (stopped ??= (async () => {
        await Promise.race([ask({ type: 'close' }).catch(() => undefined), sleep(10_000)])
        await worker.terminate()
      })()),
  }
}

/** The worker thread: WebSocket clients that time what they receive. */
function runClients(port: NonNullable<typeof parentPort>): void {
  type Conn = { account: string; ws: WebSocket; snapshot: boolean; last: { block: bigint; at: number } | undefined; closed?: string }
  const conns: Conn[] = []
  const received: Record<string, number> = {}
  let expectation: { account: string; block: bigint; members: Conn[]; at: (number | null)[]; left: number; timer: NodeJS.Timeout } | undefined
  const reply = (m: FromClients): void => port.postMessage(m)

  const settle = (): void => {
    if (!expectation) return
    clearTimeout(expectation.timer)
    reply({ type: 'seen', at: expectation.at })
    expectation = undefined
  }
  const onUpdate = (c: Conn): void => {
    const e = expectation
    if (!e || c.account !== e.account || !c.last || c.last.block < e.block) return
    const i = e.members.indexOf(c)
    if (e.at[i] !== null) return
    e.at[i] = c.last.at
    if (--e.left === 0) settle()
  }

  const open = (targets: { account: string; url: string }[], timeoutMs: number): void => {
    const startedAt = clock()
    const openAt: number[] = []
    const snapshotAt: number[] = []
    const failures: string[] = []
    let pending = targets.length
    const done = (): void => {
      if (--pending === 0) finish()
    }
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      reply({ type: 'opened', startedAt, openAt, snapshotAt, failures })
    }
    const timer = setTimeout(() => {
      const late = conns.filter((c) => !c.snapshot && c.closed === undefined).length
      for (let n = 0; n < late; n++) failures.push(`no snapshot within ${timeoutMs / 1000} s`)
      finish()
    }, timeoutMs)
    for (const { account, url } of targets) {
      const ws = new WebSocket(url)
      const c: Conn = { account, ws, snapshot: false, last: undefined }
      conns.push(c)
      let settled = false
      const failed = (why: string): void => {
        if (settled) return
        settled = true
        failures.push(why)
        done()
      }
      ws.once('open', () => openAt.push(clock()))
      ws.once('unexpected-response', (_req, res) => {
        failed(`upgrade refused ${res.statusCode ?? '?'}`)
        ws.terminate()
      })
      ws.on('error', (err) => failed(`error ${err.message}`))
      ws.on('close', (code) => {
        c.closed = `close ${code}`
        failed(`closed before its snapshot (${code})`)
      })
      ws.on('message', (data) => {
        const at = clock()
        const m = JSON.parse(String(data)) as { type: string; summary?: { block: string } | null }
        const kind = !c.snapshot ? (m.type === 'snapshot' ? 'snapshot' : `${m.type} before the snapshot`) : m.type === 'snapshot' ? 'snapshot (resync)' : m.type
        received[kind] = (received[kind] ?? 0) + 1
        if (m.type === 'snapshot' && !c.snapshot) {
          c.snapshot = true
          snapshotAt.push(at)
          if (!settled) {
            settled = true
            done()
          }
        } else if (m.type === 'update' && m.summary) {
          const block = BigInt(m.summary.block)
          if (!c.last || block > c.last.block) c.last = { block, at }
          onUpdate(c)
        }
      })
    }
  }

  port.on('message', (msg: ToClients) => {
    if (msg.type === 'open') return open(msg.targets, msg.timeoutMs)
    if (msg.type === 'expect') {
      const members = conns.filter((c) => c.account === msg.account && c.closed === undefined)
      expectation = {
        account: msg.account,
        block: BigInt(msg.block),
        members,
        at: members.map(() => null),
        left: members.length,
        timer: setTimeout(settle, msg.timeoutMs),
      }
      // An update that came before the request (it cannot, after a send, but nothing assumes it).
      for (const c of members) onUpdate(c)
      if (members.length === 0) settle()
      return
    }
    // close: count what is still open, then close everything and wait (bounded) for the closes.
    settle()
    const stillOpen = conns.filter((c) => c.ws.readyState === WebSocket.OPEN).length
    const unexpectedCloses = conns.flatMap((c) => (c.closed === undefined ? [] : [c.closed]))
    const closing = conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve()
          c.ws.once('close', () => resolve())
          if (c.ws.readyState === WebSocket.OPEN) c.ws.close(1000, 'bench done')
          else c.ws.terminate()
        }),
    )
    void Promise.race([Promise.all(closing), sleep(5_000)]).then(() => {
      for (const c of conns) if (c.ws.readyState !== WebSocket.CLOSED) c.ws.terminate()
      reply({ type: 'closed', open: stillOpen, unexpectedCloses, received })
    })
  })
}

/** "429 ×3, error read ECONNRESET ×1" */
function summarize(reasons: string[]): string {
  const counts = new Map<string, number>()
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1)
  return [...counts].map(([r, n]) => `${r} ×${n}`).join(', ')
}

/** The soft limit on open files of this process (Linux), else undefined. */
async function openFilesLimit(): Promise<number | undefined> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '')
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits)
  if (!m) return undefined
  return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1])
}

if (isMainThread)
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err))
      process.exit(1)
    },
  )
else runClients(parentPort!)
