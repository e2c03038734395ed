import { Session } from 'node:inspector/promises'

/** V8 CPU profile (the Profiler domain's shape, as far as it is read here). */
type Profile = {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[]
  samples: number[]
  timeDeltas: number[]
}

/**
 * Where the main thread's time goes, from a V8 CPU profile of the timed section: each sample goes
 * to the first stage found walking up from its leaf frame (PGlite's WASM and file system under
 * "database", pg under "pg client", …). Async work has no caller above its first await, so the
 * stages are recognised by the file that runs, not by who awaited it.
 */
const STAGES: [string, RegExp][] = [
  ['database: PGlite (only when it runs on this thread; embedded, it has its own)', /wasm|@unni-craftsman|@electric-sql/],
  ['database: pg client + store.ts (parameters, protocol)', /node_modules\/pg\/|pg-protocol|pg-types|workers\/risk\/store\.ts|src\/db\/pool\.ts/],
  ['worker: read model (summaries, Redis SET + PUBLISH)', /workers\/risk\/read-model\.ts/],
  ['worker: risk engine (metrics, rules, bands, risk rows)', /workers\/risk\/(risk-engine|trigger-index|reprice-plan|risk-store|shard-setup)\.ts|src\/risk\//],
  ['worker: computeBatch (positions, prices)', /workers\/risk\/(apply-batch|position|price-cache)\.ts/],
  ['queue: batch encode/decode (batch.ts)', /src\/queue\/batch\.ts/],
  ['queue: BullMQ + ioredis (job JSON, Redis protocol)', /bullmq|ioredis|redis-parser|cluster-key-slot|src\/queue\//],
  ['indexer: decodeRange', /src\/indexer\/|indexers\//],
]

export async function startCpuProfile(): Promise<() => Promise<Map<string, number>>> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile }
    session.disconnect()
    return categorize(profile)
  }
}

function categorize(p: Profile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stageOf = new Map<number, string>()
  const classify = (leaf: number): string => {
    const cached = stageOf.get(leaf)
    if (cached) return cached
    const name = byId.get(leaf)?.callFrame.functionName
    let stage = name === '(garbage collector)' ? 'garbage collector' : name === '(idle)' ? 'idle (waiting on Redis / timers)' : undefined
    for (let id: number | undefined = leaf; stage === undefined && id !== undefined; id = parent.get(id)) {
      const url = byId.get(id)?.callFrame.url ?? ''
      stage = STAGES.find(([, re]) => re.test(url))?.[0]
    }
    stage ??= 'other (node internals, event loop, bench)'
    stageOf.set(leaf, stage)
    return stage
  }
  const ms = new Map<string, number>()
  for (let i = 0; i < p.samples.length; i++) {
    const stage = classify(p.samples[i]!)
    ms.set(stage, (ms.get(stage) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000)
  }
  return new Map([...ms].sort((a, b) => b[1] - a[1]))
}
