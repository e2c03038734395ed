/**
 * Risk-metrics benchmark: the time of one computeAccountMetrics call for an account with 50
 * positions (25 assets on 2 chains) and a full 250-period history, and the memory a shard spends
 * per (account, token) position in the structure the risk worker keeps.
 *
 *   node --import tsx bench/metrics.ts [--calls 100000] [--positions 200000]
 *
 * Re-runs itself with --expose-gc (needed for the memory figure) when started without it.
 * A command that prints figures; never part of the tests.
 */
import { spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { computeAccountMetrics, emptyAccountRiskState, recordTrade, type MetricPosition, type RiskOptions } from '../src/risk/account-metrics.ts'
import { ReturnHistory } from '../src/risk/return-history.ts'
import { positionKey } from '../workers/risk/apply-batch.ts'
import { applyDelta, emptyPosition, type Position } from '../workers/risk/position.ts'
import { fmt, percentile } from './stats.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) {
  const r = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
const collect = gc

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '20000' },
    positions: { type: 'string', default: '200000' },
  },
})
const CALLS = Number(args.calls)
const WARMUP = Number(args.warmup)
const POSITIONS = Number(args.positions)

/** Deterministic generator (mulberry32): the same account and history on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = rng(42)
const hex = (n: number, width = 40): string => `0x${n.toString(16).padStart(width, '0')}`

// --- the account ------------------------------------------------------------------------------
const DAY = 86400
const options: RiskOptions = { horizonSeconds: DAY, windowSize: 250, minHistory: 30, confidences: [0.95, 0.99], fallbackShock: 0.25 }
const ASSETS = Array.from({ length: 25 }, (_, i) => (i === 0 ? 'USD' : `A${String(i).padStart(2, '0')}`))
const history = new ReturnHistory({ ...options, constantAssets: new Set(['USD']) })
const prices = new Map(ASSETS.map((a) => [a, 1 + 100 * rand()]))
const T0 = 19_000 * DAY
let period = 0
/** One period of price observations for every asset (two per asset, the second is the close). */
function observePeriod(): void {
  for (const a of ASSETS) {
    if (a === 'USD') continue
    for (const at of [600, 40_000]) {
      const p = prices.get(a)! * (1 + 0.03 * (rand() - 0.5))
      prices.set(a, p)
      history.observe(a, T0 + period * DAY + at, p)
    }
  }
  period++
}
for (let i = 0; i <= options.windowSize; i++) observePeriod()
history.advanceTo(T0 + period * DAY)

const positions: MetricPosition[] = []
ASSETS.forEach((asset, i) => {
  for (const chainId of [1, 42161]) {
    const long = rand() < 0.8
    const quantity = BigInt(Math.floor(rand() * 1e6)) * 10n ** 15n * (long ? 1n : -1n)
    positions.push({
      chainId,
      token: hex(i * 2 + chainId),
      asset,
      quantity,
      decimals: 18,
      priceUsd: prices.get(asset)!,
      costUsd: (Number(quantity) / 1e18) * prices.get(asset)! * (0.9 + 0.2 * rand()),
      realizedPnlUsd: 100 * (rand() - 0.5),
      unpricedCost: false,
    })
  }
})

// --- time per call ------------------------------------------------------------------------------
let state = emptyAccountRiskState()
let time = T0 + period * DAY + 1
const step = (): void => {
  if (time % 7 === 0) recordTrade(state, time, 1000 * rand())
  state = computeAccountMetrics({ account: 'bench', time, positions, history, options, state, flowUsd: 0 }).state
  time++
}
for (let i = 0; i < WARMUP; i++) step()
const micros: number[] = new Array(CALLS)
for (let i = 0; i < CALLS; i++) {
  if (time % 7 === 0) recordTrade(state, time, 1000 * rand())
  const t0 = process.hrtime.bigint()
  const r = computeAccountMetrics({ account: 'bench', time, positions, history, options, state, flowUsd: 0 })
  micros[i] = Number(process.hrtime.bigint() - t0) / 1000
  state = r.state
  time++
}

// The first call after a period closes recomputes the covariance (25×25 over 250 returns).
const cold: number[] = []
for (let i = 0; i < 50; i++) {
  observePeriod()
  history.advanceTo(T0 + period * DAY)
  time = T0 + period * DAY + 1
  const t0 = process.hrtime.bigint()
  state = computeAccountMetrics({ account: 'bench', time, positions, history, options, state, flowUsd: 0 }).state
  cold.push(Number(process.hrtime.bigint() - t0) / 1000)
}

// --- memory per position ----------------------------------------------------------------------
const heap = (): number => {
  collect()
  collect()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
const TOKENS_PER_ACCOUNT = 10
const accounts = Math.ceil(POSITIONS / TOKENS_PER_ACCOUNT)
const tokenPool = Array.from({ length: 500 }, (_, i) => hex(0xabc000 + i) as `0x${string}`)
const before = heap()
// The worker's ShardState.positions: account → `${chainId}:${token}` → Position (positionKey builds a new key string per entry).
const shard = new Map<string, Map<string, Position>>()
for (let a = 0, n = 0; a < accounts && n < POSITIONS; a++) {
  const m = new Map<string, Position>()
  shard.set(hex(0x1000000 + a), m)
  for (let k = 0; k < TOKENS_PER_ACCOUNT && n < POSITIONS; k++, n++) {
    const token = tokenPool[(a * 7 + k * 13) % tokenPool.length]!
    const quantity = BigInt(Math.floor(rand() * 1e9)) * 10n ** 12n
    m.set(positionKey(k % 2 === 0 ? 1 : 42161, token), applyDelta(emptyPosition(), quantity, 1000 * rand(), 20_000_000n + BigInt(n)))
  }
}
const perPosition = (heap() - before) / POSITIONS

const hBefore = heap()
const HISTORY_ASSETS = 2000
const big = new ReturnHistory({ ...options })
for (let p = 0; p <= options.windowSize; p++) for (let a = 0; a < HISTORY_ASSETS; a++) big.observe(`asset-${a}`, T0 + p * DAY, 1 + a + p / 1000)
big.advanceTo(T0 + (options.windowSize + 1) * DAY)
const perAsset = (heap() - hBefore) / HISTORY_ASSETS

console.log(`dexrisk bench: risk metrics (node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, load ${loadavg()[0]!.toFixed(2)})`)
console.log(`computeAccountMetrics: 1 account, ${positions.length} positions (${ASSETS.length} assets × 2 chains), window ${options.windowSize} periods of full history,`)
console.log(`  trade deque fed every 7th call, ${fmt(WARMUP)} warm-up calls, then ${fmt(CALLS)} timed calls (covariance cached):`)
console.log(`  p50 ${fmt(percentile(micros, 50), 1)} µs   p90 ${fmt(percentile(micros, 90), 1)} µs   p99 ${fmt(percentile(micros, 99), 1)} µs   max ${fmt(Math.max(...micros), 1)} µs`)
console.log(`  first call after a period closes (covariance recomputed), ${cold.length} periods: p50 ${fmt(percentile(cold, 50), 1)} µs, max ${fmt(Math.max(...cold), 1)} µs`)
console.log(`memory per (account, token) position, ${fmt(POSITIONS)} positions in ${fmt(shard.size)} accounts (Map<account, Map<\`chainId:token\`, Position>>):`)
console.log(`  ${fmt(perPosition)} bytes per position (V8 heap + array buffers after gc, account maps and key strings included)`)
console.log(`ReturnHistory, window ${options.windowSize}: ${fmt(perAsset)} bytes per asset (${fmt(HISTORY_ASSETS)} assets)`)
