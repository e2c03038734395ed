import { createPublicClient, createTestClient, http, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import type { ConfigInput } from '../../src/config/schema.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { startMonitor, type Monitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix, useRedisPrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { expectedPositions, startLocalWorlds, storedPositions, type LocalWorlds } from '../setup/worlds.ts'

/**
 * Reorgs on a real anvil chain: `evm_snapshot` before some swaps, the indexer follows them, then
 * `evm_revert` and other swaps on blocks of the same heights (other hashes), the new branch made
 * longer than the old. The monitor must end exactly where a monitor that only ever saw the new
 * branch would: the swaps of the canonical chain, no orphaned row, positions equal to balances.
 */
let w: LocalWorlds
const redis = useRedisPrefix()

beforeAll(async () => {
  w = await startLocalWorlds({ traders: 3 })
})
afterAll(async () => {
  await w?.stop()
})

type Run = { db: EmbeddedDatabase; monitor: Monitor; prefix: string }

async function startOn(confirmations: number, accounts: ConfigInput['accounts']): Promise<Run> {
  const db = await startEmbeddedDatabase()
  const prefix = uniquePrefix()
  const input = worldConfig(w.named.slice(0, 1), { accounts, shards: 2, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
  for (const c of Object.values(input.chains)) {
    c.confirmations = confirmations
    c.pollIntervalMs = 50
    c.maxBlockRange = 2
  }
  const config = parseConfig(input, {})
  const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }) })
  return { db, monitor, prefix }
}

async function stop(r: Run): Promise<void> {
  await r.monitor.close()
  await cleanupPrefix(redis.redis, r.prefix)
  await r.db.stop()
}

const world = () => w.worlds[0]!
const chainId = () => world().chainId
const client = () => createPublicClient({ transport: http(world().rpcUrl) })
const testClient = () => createTestClient({ mode: 'anvil', transport: http(world().rpcUrl) })

/** Swap logs of the world's pools on the chain as it is now, from the ready block to `head`. */
async function canonicalSwapTxs(head: bigint): Promise<string[]> {
  const logs = (await client().request({
    method: 'eth_getLogs',
    params: [{ fromBlock: `0x${world().readyBlock.toString(16)}`, toBlock: `0x${head.toString(16)}`, topics: [[V2_SWAP_TOPIC, V3_SWAP_TOPIC]] }],
  } as never)) as { address: string; transactionHash: string; logIndex: string }[]
  const pools = new Set(world().pools.map((p) => p.address.toLowerCase()))
  return logs.filter((l) => pools.has(l.address.toLowerCase())).map((l) => `${l.transactionHash}:${Number(l.logIndex)}`).sort()
}

async function storedSwapTxs(r: Run): Promise<string[]> {
  const rows = await r.monitor.pool.query<{ k: string }>("SELECT tx_hash || ':' || log_index AS k FROM swaps WHERE chain_id = $1 ORDER BY 1", [chainId()])
  return rows.rows.map((x) => x.k)
}

/** Stored positions against the chain's balances, for the traders of the first world only. */
async function expectPositionsMatchChain(r: Run, head: bigint): Promise<void> {
  const expected = await expectedPositions({ ...w, worlds: [world()] }, new Map([[chainId(), head]]))
  expect(await storedPositions((q) => r.monitor.pool.query(q))).toEqual(expected)
}

async function mine(blocks: number): Promise<bigint> {
  await testClient().mine({ blocks })
  return client().getBlockNumber()
}

describe('reorgs on a real chain', () => {
  it('follows a reorg inside the confirmation window without ever writing its orphaned swaps', async () => {
    const r = await startOn(6, w.accounts)
    try {
      const start = await mine(8)
      await waitForCheckpoints(r.monitor.workers, new Map([[chainId(), start - 6n]]))
      const snap = await testClient().snapshot()
      const orphaned = await runRandomTraders(world(), { traders: w.traders[0]!, swaps: 3, seed: 101 })
      const orphanedTxs = new Set(orphaned.txHashes)
      await testClient().revert({ id: snap })
      const canonical = await runRandomTraders(world(), { traders: w.traders[0]!, swaps: 4, seed: 202 })
      const head = await mine(8)
      await waitForCheckpoints(r.monitor.workers, new Map([[chainId(), head - 6n]]))

      const stored = await storedSwapTxs(r)
      expect(stored).toEqual(await canonicalSwapTxs(head - 6n))
      for (const tx of canonical.txHashes) expect(stored.some((k) => k.startsWith(`${tx}:`))).toBe(true)
      expect(stored.filter((k) => orphanedTxs.has(k.split(':')[0] as Hex))).toEqual([])
      const reorgs = await r.monitor.pool.query('SELECT * FROM chain_reorgs')
      expect(reorgs.rows).toEqual([])
      await expectPositionsMatchChain(r, head - 6n)
    } finally {
      await stop(r)
    }
  })

  it.each([
    ['named accounts (positions are balances)', 'named'],
    ["'auto' accounts (positions are the sum of swaps)", 'auto'],
  ] as const)('rolls back a reorg deeper than the confirmations, with %s, and records it', async (_label, mode) => {
    const r = await startOn(1, mode === 'named' ? w.accounts : 'auto')
    try {
      const start = await mine(3)
      await waitForCheckpoints(r.monitor.workers, new Map([[chainId(), start - 1n]]))
      const snap = await testClient().snapshot()
      const forkBlock = await client().getBlockNumber()
      const orphaned = await runRandomTraders(world(), { traders: w.traders[0]!, swaps: 5, seed: 303 })
      const oldHead = await mine(2)
      // The old branch is published and applied: its swaps are in the database.
      await waitForCheckpoints(r.monitor.workers, new Map([[chainId(), oldHead - 1n]]))
      const before = await storedSwapTxs(r)
      for (const tx of orphaned.txHashes) expect(before.some((k) => k.startsWith(`${tx}:`))).toBe(true)

      await testClient().revert({ id: snap })
      const canonical = await runRandomTraders(world(), { traders: w.traders[0]!, swaps: 3, seed: 404 })
      const head = await mine(Number(oldHead - forkBlock) + 4)
      await waitUntil('the reorg recorded', async () => (await r.monitor.pool.query('SELECT 1 FROM chain_reorgs')).rows.length > 0)
      await waitForCheckpoints(r.monitor.workers, new Map([[chainId(), head - 1n]]))

      const stored = await storedSwapTxs(r)
      expect(stored).toEqual(await canonicalSwapTxs(head - 1n))
      for (const tx of canonical.txHashes) expect(stored.some((k) => k.startsWith(`${tx}:`))).toBe(true)
      const orphanedTxs = new Set(orphaned.txHashes)
      expect(stored.filter((k) => orphanedTxs.has(k.split(':')[0] as Hex))).toEqual([])
      const trades = await r.monitor.pool.query<{ n: string }>('SELECT count(*) AS n FROM trades WHERE tx_hash = ANY($1)', [orphaned.txHashes])
      expect(trades.rows[0]!.n).toBe('0')

      const reorgs = await r.monitor.pool.query<{ chain_id: number; fork_block: string; published_to: string; depth: number; confirmations: number }>(
        'SELECT chain_id, fork_block::text, published_to::text, depth, confirmations FROM chain_reorgs',
      )
      expect(reorgs.rows).toHaveLength(1)
      const reorg = reorgs.rows[0]!
      expect(reorg.chain_id).toBe(chainId())
      expect(BigInt(reorg.fork_block)).toBeLessThanOrEqual(forkBlock)
      expect(BigInt(reorg.published_to)).toBe(oldHead - 1n)
      expect(reorg.depth).toBe(Number(BigInt(reorg.published_to) - BigInt(reorg.fork_block)))
      expect(reorg.confirmations).toBe(1)

      if (mode === 'named') await expectPositionsMatchChain(r, head - 1n)
      else {
        // 'auto': every trader is its own account and its positions are the sums of its canonical swaps.
        const sums = await r.monitor.pool.query<{ account: string; token: string; q: string }>(
          `SELECT account, token, sum(q)::text AS q FROM (
             SELECT account, token_in AS token, -amount_in AS q FROM swaps WHERE account IS NOT NULL
             UNION ALL SELECT account, token_out, amount_out FROM swaps WHERE account IS NOT NULL
           ) x GROUP BY 1, 2 HAVING sum(q) <> 0 ORDER BY 1, 2`,
        )
        const positions = await r.monitor.pool.query<{ account: string; token: string; q: string }>(
          'SELECT account, token, quantity::text AS q FROM positions WHERE quantity <> 0 ORDER BY 1, 2',
        )
        expect(sums.rows.length).toBeGreaterThan(0)
        expect(positions.rows).toEqual(sums.rows)
      }
    } finally {
      await stop(r)
    }
  })
})
