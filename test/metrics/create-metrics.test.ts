import { Queue } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { createMetrics } from '../../src/metrics/create-metrics.ts'
import { bullQueueDepthSource } from '../../src/metrics/queue-depth.ts'
import { bullConnection } from '../../src/queue/connection.ts'
import { shardQueueName } from '../../src/queue/shard-of.ts'
import { useRedisPrefix } from '../setup/redis.ts'
import { seriesOf, seriesValue } from './metric-values.ts'

/** Every project metric, with its Prometheus type. */
const PROJECT_METRICS: [string, 'gauge' | 'counter' | 'histogram'][] = [
  ['dexrisk_indexer_lag_blocks', 'gauge'],
  ['dexrisk_indexer_lag_seconds', 'gauge'],
  ['dexrisk_indexer_head_block', 'gauge'],
  ['dexrisk_indexer_published_block', 'gauge'],
  ['dexrisk_swaps_total', 'counter'],
  ['dexrisk_batches_published_total', 'counter'],
  ['dexrisk_reorgs_total', 'counter'],
  ['dexrisk_reorg_depth_blocks', 'gauge'],
  ['dexrisk_rpc_request_duration_seconds', 'histogram'],
  ['dexrisk_rpc_errors_total', 'counter'],
  ['dexrisk_queue_depth', 'gauge'],
  ['dexrisk_batch_duration_seconds', 'histogram'],
  ['dexrisk_batch_lag_seconds', 'gauge'],
  ['dexrisk_trades_total', 'counter'],
  ['dexrisk_alerts_fired_total', 'counter'],
  ['dexrisk_applied_block', 'gauge'],
  ['dexrisk_shard_stopped', 'gauge'],
  ['dexrisk_shard_lease_held', 'gauge'],
  ['dexrisk_webhook_deliveries_total', 'counter'],
  ['dexrisk_webhook_delivery_duration_seconds', 'histogram'],
]

describe('createMetrics', () => {
  it('exposes every project metric with HELP and TYPE, and the Node.js process metrics', async () => {
    const text = await createMetrics().registry.metrics()
    for (const [name, type] of PROJECT_METRICS) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'))
      expect(text).toContain(`\n# TYPE ${name} ${type}\n`)
    }
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter')
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge')
    // Every name of ours is dexrisk_-prefixed snake_case.
    const ours = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!).filter((n) => !/^(process|nodejs)_/.test(n))
    expect(ours.sort()).toEqual(PROJECT_METRICS.map(([n]) => n).sort())
  })

  it('starts webhook outcomes at 0, so a rate over them exists before the first delivery', async () => {
    const m = createMetrics({ defaultMetrics: false })
    expect(await seriesOf(m.registry, 'dexrisk_webhook_deliveries_total')).toEqual({ 'outcome=delivered': 0, 'outcome=retry': 0, 'outcome=dead': 0, 'outcome=refused': 0 })
  })

  it('gives each instance its own registry: counts in one do not show in another', async () => {
    const a = createMetrics({ defaultMetrics: false })
    const b = createMetrics({ defaultMetrics: false })
    a.worker.trades.inc({ shard: '0' }, 7)
    expect(await seriesValue(a.registry, 'dexrisk_trades_total', { shard: 0 })).toBe(7)
    expect(await seriesValue(b.registry, 'dexrisk_trades_total', { shard: 0 })).toBeUndefined()
    expect(await b.registry.metrics()).not.toContain('process_cpu_user_seconds_total')
  })

  it('is created by createCommon unless one is given', () => {
    const config = parseConfig({ chains: { local: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: `0x${'11'.repeat(20)}`, startBlock: 0 }] } } }, {})
    const log = createLogger({ level: 'silent' })
    const given = createMetrics({ defaultMetrics: false })
    expect(createCommon(config, { log, metrics: given }).metrics).toBe(given)
    const made = createCommon(config, { log }).metrics
    expect(made).not.toBe(given)
    expect(made.registry.getSingleMetric('dexrisk_trades_total')).toBeDefined()
  })
})

describe('dexrisk_queue_depth', () => {
  const redis = useRedisPrefix()

  it('reads the watched shards\' BullMQ job counts at scrape time, and leaves out a shard that does not answer in time', async () => {
    const m = createMetrics({ defaultMetrics: false, collectTimeoutMs: 200 })
    const producer = new Queue(shardQueueName(0), { connection: bullConnection(redis.url), prefix: redis.prefix })
    const depth = bullQueueDepthSource(() => new Queue(shardQueueName(0), { connection: bullConnection(redis.url), prefix: redis.prefix }))
    try {
      await producer.addBulk([1, 2, 3].map((i) => ({ name: 'batch', data: { i } })))
      await producer.add('batch', { i: 4 }, { delay: 60_000 })
      const unwatch0 = m.queue.watch(0, depth.source)
      const unwatch1 = m.queue.watch(1, () => new Promise(() => {}))
      expect(await seriesOf(m.registry, 'dexrisk_queue_depth')).toEqual({
        'shard=0,state=waiting': 3,
        'shard=0,state=active': 0,
        'shard=0,state=delayed': 1,
        'shard=0,state=failed': 0,
      })
      await producer.add('batch', { i: 5 })
      expect(await seriesValue(m.registry, 'dexrisk_queue_depth', { shard: 0, state: 'waiting' })).toBe(4)
      unwatch1()
      unwatch0()
      expect(await seriesOf(m.registry, 'dexrisk_queue_depth')).toEqual({})
    } finally {
      await depth.close()
      await producer.close()
    }
  })

  it('reports nothing for a source closed before the scrape (a worker shutting down)', async () => {
    const m = createMetrics({ defaultMetrics: false })
    const depth = bullQueueDepthSource(() => new Queue(shardQueueName(2), { connection: bullConnection(redis.url), prefix: redis.prefix }))
    m.queue.watch(2, depth.source)
    await depth.close()
    expect(await seriesOf(m.registry, 'dexrisk_queue_depth')).toEqual({})
  })
})
