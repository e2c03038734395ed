import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import type { ConfigInput } from '../../src/config/schema.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deploySwapStorm, type SwapStorm } from '../../src/world/swap-storm.ts'
import { blockAtTime } from '../../src/chain/block-at-time.ts'
import { runDexrisk } from '../setup/cli.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix, useRedisPrefix } from '../setup/redis.ts'

/**
 * `dexrisk backfill` as a user runs it, then live following from the chain's startBlock: the
 * backfill's default end is the block before it, so the two meet with no block missing and none
 * twice: every swap of the chain stored exactly once.
 */
const PER_FAMILY = 150
let anvil: AnvilInstance
let storm: SwapStorm
let dir: string
const redis = useRedisPrefix()

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17_501 })
  // Small transactions: many blocks, so that the hand-over block falls between swaps of every family.
  storm = await deploySwapStorm({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, swapsPerFamily: PER_FAMILY, perTx: 25 })
  dir = await mkdtemp(join(tmpdir(), 'dexrisk-backfill-'))
}, 300_000)
afterAll(async () => {
  await anvil?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('dexrisk backfill, then live following', () => {
  it('backfills up to where live following starts; together they store every swap exactly once', async () => {
    const handOver = storm.firstBlock + (storm.lastBlock - storm.firstBlock) / 2n
    const prefix = uniquePrefix()
    const input: ConfigInput = {
      chains: {
        storm: {
          id: storm.chainId,
          rpcUrls: [storm.rpcUrl],
          confirmations: 0,
          pollIntervalMs: 100,
          maxBlockRange: 20,
          startBlock: Number(handOver),
          dexes: storm.dexes.map((d) => ({ ...d, startBlock: Number(d.startBlock) })),
        },
      },
      accounts: 'auto',
      shards: 2,
      database: { dataDir: join(dir, 'db') },
      redis: { url: TEST_REDIS_URL },
      queue: { prefix },
    }
    const file = join(dir, 'dexrisk.config.mjs')
    await writeFile(file, `export default ${JSON.stringify(input)}\n`)

    const run = await runDexrisk(['backfill', '--config', file, '--from', storm.firstBlock.toString(), '--concurrency', '3', '--range', '4'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`backfill storm (chain ${storm.chainId}) blocks ${storm.firstBlock}–${handOver - 1n}`)
    expect(run.stdout).toContain(`checked: every block ${storm.firstBlock}–${handOver - 1n} is covered, none skipped`)
    // The progress bar (stderr) names blocks/s, swaps/s and the ETA.
    expect(run.stderr).toMatch(/blocks\/s \| \d+ swaps\/s \| range \d+ \| ETA/)
    const again = await runDexrisk(['backfill', '--config', file, '--from', storm.firstBlock.toString(), '--no-progress'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`0 swaps and 0 prices from 0 blocks`)

    const config = parseConfig(input, {})
    const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }) })
    try {
      await waitForCheckpoints(monitor.workers, new Map([[storm.chainId, storm.lastBlock]]))
      const r = await monitor.pool.query<{ dex_name: string; n: string; distinct_logs: string; first: string; last: string }>(
        `SELECT dex_name, count(*)::text AS n, count(DISTINCT (tx_hash, log_index))::text AS distinct_logs, min(block_number)::text AS first, max(block_number)::text AS last
         FROM swaps GROUP BY 1 ORDER BY 1`,
      )
      expect(r.rows.map((x) => [x.dex_name, Number(x.n), Number(x.distinct_logs)])).toEqual(
        Object.keys(storm.swaps)
          .sort()
          .map((name) => [name, PER_FAMILY, PER_FAMILY]),
      )
      // Both sides of the hand-over hold swaps: some came from the backfill, some from live following.
      const sides = await monitor.pool.query<{ before: string; after: string }>(
        'SELECT count(*) FILTER (WHERE block_number < $1)::text AS before, count(*) FILTER (WHERE block_number >= $1)::text AS after FROM swaps',
        [handOver.toString()],
      )
      expect(Number(sides.rows[0]!.before)).toBeGreaterThan(0)
      expect(Number(sides.rows[0]!.after)).toBeGreaterThan(0)
    } finally {
      await monitor.close()
      await cleanupPrefix(redis.redis, prefix)
    }
  }, 300_000)

  it('--since finds the first block at or after the time: the same block a scan of every header finds', async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const head = await client.getBlockNumber({ cacheTime: 0 })
    const times: number[] = []
    for (let n = 0n; n <= head; n++) times.push(Number((await client.getBlock({ blockNumber: n })).timestamp))
    for (const t of [times[0]! - 10, times[0]!, ...new Set(times), times.at(-1)! + 10]) {
      const scanned = times.findIndex((x) => x >= t)
      expect(await blockAtTime(client, t, head)).toBe(scanned === -1 ? head : BigInt(scanned))
    }
  })
})
