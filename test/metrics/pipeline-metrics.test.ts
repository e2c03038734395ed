import { Queue } from 'bullmq'
import { createPublicClient, createTestClient, http, type Address, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { chainList, parseConfig } from '../../src/config/load-config.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { createAccountResolver } from '../../src/domain/accounts.ts'
import { createIndexer } from '../../src/indexer/create-indexer.ts'
import { bullQueueDepthSource } from '../../src/metrics/queue-depth.ts'
import { createBatchPublisher } from '../../src/queue/publisher.ts'
import { bullConnection } from '../../src/queue/connection.ts'
import { shardQueueName } from '../../src/queue/shard-of.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { fundTraders, runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { createRiskWorker, type RiskWorker } from '../../workers/risk/risk-worker.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { useRedisPrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { seriesOf, seriesValue } from './metric-values.ts'

const CHAIN = 'local-m'
const SHARDS = 2
/** Blocks per range: small, so the run publishes several ranges. */
const RANGE = 6
/** The indexer stops this many blocks below the head, mined BLOCK_SECONDS apart: the lag it must report. */
const BEHIND = 4n
const BLOCK_SECONDS = 60

const db = useEmbeddedDatabase()
const redis = useRedisPrefix()
let anvil: AnvilInstance
let world: World
let accounts: Record<string, Address[]>

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17_421 })
  const deployed = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, seed: 1 })
  const traders = await fundTraders(deployed, 2)
  world = { ...deployed, readyBlock: (await blockNumberOf(anvil.rpcUrl)) + 1n }
  accounts = { alice: [traders[0]!.address.toLowerCase() as Address], bob: [traders[1]!.address.toLowerCase() as Address] }
  const run = await runRandomTraders(world, { traders, swaps: 16, seed: 5 })
  expect(run.swapsSent).toBe(16)
  // Empty blocks after the trading, a minute apart: the head the indexer stays behind.
  await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: Number(BEHIND), interval: BLOCK_SECONDS })
})
afterAll(async () => {
  await anvil?.stop()
})

/** Swap logs of the world's pools in [from, to], by the dex (family) that emitted them, read from the chain. */
async function swapsOnChain(from: bigint, to: bigint): Promise<Record<string, number>> {
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const logs = (await client.request({
    method: 'eth_getLogs',
    params: [{ fromBlock: `0x${from.toString(16)}`, toBlock: `0x${to.toString(16)}`, topics: [[V2_SWAP_TOPIC, V3_SWAP_TOPIC]] }],
  } as never)) as { address: Address; topics: Hex[] }[]
  const family = new Map(world.pools.map((p) => [p.address.toLowerCase(), p.family]))
  const out: Record<string, number> = { 'uniswap-v2': 0, 'uniswap-v3': 0 }
  for (const l of logs) {
    const f = family.get(l.address.toLowerCase())
    if (f) out[f]!++
  }
  return out
}

describe('metrics of an indexer and its shard workers over a local chain', () => {
  it('reports the ingest lag, swaps and batches exactly, then what each shard applied', async () => {
    const head = await blockNumberOf(anvil.rpcUrl)
    const until = head - BEHIND
    const config = parseConfig(
      worldConfig([{ name: CHAIN, world }], { accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: redis.url, queuePrefix: redis.prefix }),
      {},
    )
    config.chains[CHAIN]!.maxBlockRange = RANGE
    const common = createCommon(config, { log: createLogger({ level: 'silent' }) })
    const { registry } = common.metrics
    const chain = chainList(config)[0]!
    const publisher = createBatchPublisher({ redisUrl: redis.url, prefix: redis.prefix, shards: SHARDS, accounts: createAccountResolver(config.accounts) })
    const depths = Array.from({ length: SHARDS }, (_, shard) =>
      bullQueueDepthSource(() => new Queue(shardQueueName(shard), { connection: bullConnection(redis.url), prefix: redis.prefix })),
    )
    const workers: RiskWorker[] = []
    try {
      // The indexer follows the account directory in the database, where a monitor's start writes the config's accounts.
      await syncConfigAccounts(db.pool(), config.accounts as Record<string, string[]>)
      const indexer = await createIndexer({ common, chain, pool: db.pool(), publisher, untilBlock: until })
      await indexer.done
      expect(indexer.cursor()).toBe(until)

      // Ingest lag: the head it last read, the block it published up to, and their block times.
      const client = createPublicClient({ transport: http(world.rpcUrl) })
      const [headBlock, untilBlock] = await Promise.all([client.getBlock({ blockNumber: head }), client.getBlock({ blockNumber: until })])
      const labels = { chain: CHAIN }
      expect(await seriesValue(registry, 'dexrisk_indexer_head_block', labels)).toBe(Number(head))
      expect(await seriesValue(registry, 'dexrisk_indexer_published_block', labels)).toBe(Number(until))
      expect(await seriesValue(registry, 'dexrisk_indexer_lag_blocks', labels)).toBe(Number(BEHIND))
      expect(Number(headBlock.timestamp - untilBlock.timestamp)).toBe(Number(BEHIND) * BLOCK_SECONDS)
      expect(await seriesValue(registry, 'dexrisk_indexer_lag_seconds', labels)).toBe(Number(BEHIND) * BLOCK_SECONDS)

      // Swaps by dex equal the chain's Swap logs in the published blocks; one batch per shard per range.
      const ranges = Math.ceil(Number(until - world.readyBlock + 1n) / RANGE)
      const onChain = await swapsOnChain(world.readyBlock, until)
      expect(onChain['uniswap-v2']! + onChain['uniswap-v3']!).toBeGreaterThan(0)
      expect(await seriesOf(registry, 'dexrisk_swaps_total')).toEqual({
        [`chain=${CHAIN},dex=uniswap-v2`]: onChain['uniswap-v2'],
        [`chain=${CHAIN},dex=uniswap-v3`]: onChain['uniswap-v3'],
      })
      expect(await seriesValue(registry, 'dexrisk_batches_published_total', labels)).toBe(ranges * SHARDS)
      // The indexer's RPC calls were seen; a healthy node gave no error.
      expect(await seriesValue(registry, 'dexrisk_rpc_request_duration_seconds_count', { chain: CHAIN, method: 'eth_chainId' })).toBe(1)
      expect(await seriesValue(registry, 'dexrisk_rpc_request_duration_seconds_count', { chain: CHAIN, method: 'eth_getLogs' })).toBeGreaterThanOrEqual(ranges)
      expect(await seriesOf(registry, 'dexrisk_rpc_errors_total')).toEqual({})

      // Before any worker runs, every shard's queue holds one waiting batch per range.
      depths.forEach((d, shard) => common.metrics.queue.watch(shard, d.source))
      for (let shard = 0; shard < SHARDS; shard++)
        for (const [state, n] of Object.entries({ waiting: ranges, active: 0, delayed: 0, failed: 0 }))
          expect(await seriesValue(registry, 'dexrisk_queue_depth', { shard, state }), `shard ${shard} ${state}`).toBe(n)

      for (let shard = 0; shard < SHARDS; shard++) workers.push(await createRiskWorker({ common, shard, pool: db.pool(), redisUrl: redis.url }))
      await Promise.all(workers.map((w) => w.ready()))
      await waitForCheckpoints(workers, new Map([[chain.id, until]]))
      await waitUntil('the shard queues are drained', async () => (await seriesValue(registry, 'dexrisk_queue_depth', { shard: 0, state: 'active' })) === 0 && (await seriesValue(registry, 'dexrisk_queue_depth', { shard: 1, state: 'active' })) === 0)

      const swaps = onChain['uniswap-v2']! + onChain['uniswap-v3']!
      let trades = 0
      for (let shard = 0; shard < SHARDS; shard++) {
        const s = { shard: String(shard) }
        expect(await seriesValue(registry, 'dexrisk_applied_block', { ...s, chain: CHAIN })).toBe(Number(until))
        expect(await seriesValue(registry, 'dexrisk_batch_duration_seconds_count', s)).toBe(ranges)
        expect(await seriesValue(registry, 'dexrisk_shard_stopped', s)).toBe(0)
        expect(await seriesValue(registry, 'dexrisk_batch_lag_seconds', { ...s, chain: CHAIN })).toBeGreaterThanOrEqual(0)
        for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(await seriesValue(registry, 'dexrisk_queue_depth', { ...s, state })).toBe(0)
        trades += (await seriesValue(registry, 'dexrisk_trades_total', s))!
      }
      // Every swap was sent by alice or bob, so each is a trade of an account, applied once.
      expect(trades).toBe(swaps)
    } finally {
      for (const w of workers) await w.close()
      for (const d of depths) await d.close()
      await publisher.close()
    }
  })
})
