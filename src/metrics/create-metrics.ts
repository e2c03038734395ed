import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Job counts of one shard's queue, by the states `dexrisk_queue_depth` reports. */
export type QueueDepth = { waiting: number; active: number; delayed: number; failed: number }

/** Reads a queue's depth at scrape time; null when it has nothing to report (closing). */
export type QueueDepthSource = () => Promise<QueueDepth | null>

export type MetricsOptions = {
  /** Node.js process metrics (CPU, memory, event loop lag, GC) under their standard names. Default true. */
  defaultMetrics?: boolean
  /** Bound on one queue-depth read at scrape time; a source that takes longer is left out of that scrape. Default 1 000 ms. */
  collectTimeoutMs?: number
}

/**
 * The metrics of one dexrisk process, on a registry of its own (never prom-client's global one,
 * so tests and embedded runs can hold many). Every name has the `dexrisk_` prefix and its unit;
 * labels are bounded: chain (config name), dex (config name), shard, method (JSON-RPC), kind,
 * state, severity, outcome. Never an account or an address.
 */
export type Metrics = {
  registry: Registry
  indexer: {
    /** `dexrisk_indexer_head_block{chain}`: the chain head at the indexer's last read. */
    headBlock: Gauge<'chain'>
    /** `dexrisk_indexer_published_block{chain}`: the last block published to the shards (the cursor). */
    publishedBlock: Gauge<'chain'>
    /** `dexrisk_indexer_lag_blocks{chain}`: head − last published block (confirmations included). */
    lagBlocks: Gauge<'chain'>
    /** `dexrisk_indexer_lag_seconds{chain}`: head block time − last published block time. */
    lagSeconds: Gauge<'chain'>
    /** `dexrisk_swaps_total{chain,dex}`: swaps decoded, counted when their range is published. */
    swaps: Counter<'chain' | 'dex'>
    /** `dexrisk_batches_published_total{chain}`: batches enqueued (one per shard per block range). */
    batchesPublished: Counter<'chain'>
    /** `dexrisk_reorgs_total{chain}`: reorgs deeper than the confirmation window, rolled back. */
    reorgs: Counter<'chain'>
    /** `dexrisk_reorg_depth_blocks{chain}`: published blocks rolled back by the last such reorg. */
    reorgDepth: Gauge<'chain'>
  }
  rpc: {
    /** `dexrisk_rpc_request_duration_seconds{chain,method}`: each JSON-RPC call attempt, answered or failed. */
    requestDuration: Histogram<'chain' | 'method'>
    /** `dexrisk_rpc_errors_total{chain,method,kind}`: failed attempts; kind from {@link RPC_ERROR_KINDS}. */
    errors: Counter<'chain' | 'method' | 'kind'>
  }
  queue: {
    /** `dexrisk_queue_depth{shard,state}`: read from BullMQ at scrape time, for the watched shards. */
    depth: Gauge<'shard' | 'state'>
    /**
     * Reports a shard's queue depth at every scrape until the returned function is called. One
     * source per shard: a second watch of the same shard replaces the first until it is removed.
     */
    watch(shard: number, source: QueueDepthSource): () => void
  }
  worker: {
    /** `dexrisk_batch_duration_seconds{shard}`: one applied batch, from its start to its read model. */
    batchDuration: Histogram<'shard'>
    /** `dexrisk_batch_lag_seconds{shard,chain}`: wall clock − the batch's block time, when it applied. */
    batchLag: Gauge<'shard' | 'chain'>
    /** `dexrisk_trades_total{shard}`: swaps of an account applied (rows of `trades`). */
    trades: Counter<'shard'>
    /** `dexrisk_alerts_fired_total{shard,severity}`: rule firings (not resolutions). */
    alertsFired: Counter<'shard' | 'severity'>
    /** `dexrisk_applied_block{shard,chain}`: the shard's checkpoint, the last block it applied. */
    appliedBlock: Gauge<'shard' | 'chain'>
    /** `dexrisk_shard_stopped{shard}`: 1 once a shard stopped on a batch it cannot apply, else 0. */
    stopped: Gauge<'shard'>
    /** `dexrisk_shard_lease_held{shard}`: with --shards auto, 1 while this process runs the shard under its lease, else 0. */
    leaseHeld: Gauge<'shard'>
  }
  webhooks: {
    /** `dexrisk_webhook_deliveries_total{outcome}`: one per try: delivered, retry, dead or refused. */
    deliveries: Counter<'outcome'>
    /** `dexrisk_webhook_delivery_duration_seconds{outcome}`: one POST, connect to response (refused tries make none). */
    deliveryDuration: Histogram<'outcome'>
  }
}

/** The kinds of `dexrisk_rpc_errors_total`. */
export const RPC_ERROR_KINDS = ['timeout', 'http_429', 'http_5xx', 'http_4xx', 'network', 'rpc_error', 'reverted', 'other'] as const
export type RpcErrorKind = (typeof RPC_ERROR_KINDS)[number]

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const satisfies readonly (keyof QueueDepth)[]
export const WEBHOOK_OUTCOMES = ['delivered', 'retry', 'dead', 'refused'] as const
export const SEVERITIES = ['info', 'warning', 'critical'] as const

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry()
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const collectTimeoutMs = opts.collectTimeoutMs ?? 1_000

  const sources = new Map<number, QueueDepthSource>()
  const depth = new Gauge<'shard' | 'state'>({
    name: 'dexrisk_queue_depth',
    help: 'Jobs in a shard queue by state (waiting, active, delayed, failed), read from BullMQ at scrape time',
    labelNames: ['shard', 'state'],
    registers,
    async collect() {
      const reads = await Promise.all([...sources].map(async ([shard, read]) => ({ shard, depth: await within(read(), collectTimeoutMs).catch(() => null) })))
      // Only what this scrape read: a shard that stopped being watched, or did not answer, is absent.
      this.reset()
      for (const r of reads) if (r.depth) for (const state of QUEUE_STATES) this.set({ shard: String(r.shard), state }, r.depth[state])
    },
  })

  const webhookDeliveries = new Counter<'outcome'>({
    name: 'dexrisk_webhook_deliveries_total',
    help: 'Webhook delivery tries by outcome: delivered, retry (failed, tried again later), dead (given up), refused (SSRF guard)',
    labelNames: ['outcome'],
    registers,
  })
  for (const outcome of WEBHOOK_OUTCOMES) webhookDeliveries.inc({ outcome }, 0)

  return {
    registry,
    indexer: {
      headBlock: new Gauge({ name: 'dexrisk_indexer_head_block', help: 'Chain head block number at the indexer\'s last read', labelNames: ['chain'], registers }),
      publishedBlock: new Gauge({ name: 'dexrisk_indexer_published_block', help: 'Last block the indexer published to the shard queues', labelNames: ['chain'], registers }),
      lagBlocks: new Gauge({ name: 'dexrisk_indexer_lag_blocks', help: 'Chain head minus the last published block, in blocks (confirmations included)', labelNames: ['chain'], registers }),
      lagSeconds: new Gauge({
        name: 'dexrisk_indexer_lag_seconds',
        help: 'Head block time minus the last published block time, in seconds',
        labelNames: ['chain'],
        registers,
      }),
      swaps: new Counter({ name: 'dexrisk_swaps_total', help: 'Swaps decoded and published, by chain and dex', labelNames: ['chain', 'dex'], registers }),
      batchesPublished: new Counter({ name: 'dexrisk_batches_published_total', help: 'Batches published to the shard queues (one per shard per block range)', labelNames: ['chain'], registers }),
      reorgs: new Counter({ name: 'dexrisk_reorgs_total', help: 'Reorgs deeper than the confirmation window: published blocks rolled back', labelNames: ['chain'], registers }),
      reorgDepth: new Gauge({ name: 'dexrisk_reorg_depth_blocks', help: 'Published blocks rolled back by the last reorg deeper than the confirmation window', labelNames: ['chain'], registers }),
    },
    rpc: {
      requestDuration: new Histogram({
        name: 'dexrisk_rpc_request_duration_seconds',
        help: 'Duration of one JSON-RPC call attempt (a call in a batched HTTP request counts once, with its own method), answered or failed',
        labelNames: ['chain', 'method'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
      errors: new Counter({
        name: 'dexrisk_rpc_errors_total',
        help: 'Failed JSON-RPC call attempts by kind: timeout, http_429, http_5xx, http_4xx, network, rpc_error, reverted, other',
        labelNames: ['chain', 'method', 'kind'],
        registers,
      }),
    },
    queue: {
      depth,
      watch(shard, source) {
        sources.set(shard, source)
        return () => {
          if (sources.get(shard) === source) sources.delete(shard)
        }
      },
    },
    worker: {
      batchDuration: new Histogram({
        name: 'dexrisk_batch_duration_seconds',
        help: 'Time to apply one batch in a shard: compute, database transaction, webhooks enqueued, read model published',
        labelNames: ['shard'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
      batchLag: new Gauge({ name: 'dexrisk_batch_lag_seconds', help: 'Wall clock minus the block time of the last batch a shard applied, at the time it applied', labelNames: ['shard', 'chain'], registers }),
      trades: new Counter({ name: 'dexrisk_trades_total', help: 'Swaps of watched accounts applied by a shard', labelNames: ['shard'], registers }),
      alertsFired: new Counter({ name: 'dexrisk_alerts_fired_total', help: 'Alert rules fired (resolutions not counted), by severity', labelNames: ['shard', 'severity'], registers }),
      appliedBlock: new Gauge({ name: 'dexrisk_applied_block', help: 'Last block a shard applied, per chain (its checkpoint)', labelNames: ['shard', 'chain'], registers }),
      leaseHeld: new Gauge({
        name: 'dexrisk_shard_lease_held',
        help: 'With --shards auto: 1 while this process runs the shard under its lease, else 0',
        labelNames: ['shard'],
        registers,
      }),
      stopped: new Gauge({ name: 'dexrisk_shard_stopped', help: '1 when a shard stopped on a batch it cannot apply (kept in its failed set), else 0', labelNames: ['shard'], registers }),
    },
    webhooks: {
      deliveries: webhookDeliveries,
      deliveryDuration: new Histogram({
        name: 'dexrisk_webhook_delivery_duration_seconds',
        help: 'Duration of one webhook POST, connect to response, by the outcome of the try',
        labelNames: ['outcome'],
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
        registers,
      }),
    },
  }
}

/** The promise's value, or a rejection once `ms` have passed (the promise itself runs on). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
