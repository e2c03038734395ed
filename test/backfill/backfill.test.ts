import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runBackfill, type BackfillProgress } from '../../src/backfill/run-backfill.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { chainList, parseConfig } from '../../src/config/load-config.ts'
import type { ChainConfig, Config } from '../../src/config/schema.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deploySwapStorm, type SwapStorm } from '../../src/world/swap-storm.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { startRpcProxy, type RpcProxy } from '../setup/rpc-proxy.ts'

/**
 * `runBackfill` on a local chain holding 100,000 swaps, 12,500 of each of the eight families
 * (src/world/swap-storm.ts: each family's exact events from LogStorm contracts). In the k-th swap of
 * a family (k = 1…12,500) the pool receives k units of one token and pays 1000 of the other (V4:
 * pays k, receives 1000), so every family's amounts sum to a known figure, to the unit.
 */
const PER_FAMILY = 12_500
const FAMILIES = 8
const TOTAL = PER_FAMILY * FAMILIES

let anvil: AnvilInstance
let storm: SwapStorm
const db = useEmbeddedDatabase()

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17_301 })
  storm = await deploySwapStorm({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, swapsPerFamily: PER_FAMILY })
}, 300_000)
afterAll(async () => {
  await anvil?.stop()
})

function stormConfig(rpcUrl: string, over: Partial<Record<'rpcTimeoutMs' | 'maxBlockRange', number>> = {}): Config {
  return parseConfig(
    {
      chains: { storm: { id: storm.chainId, rpcUrls: [rpcUrl], confirmations: 0, maxBlockRange: over.maxBlockRange ?? 50, rpcTimeoutMs: over.rpcTimeoutMs ?? 10_000, dexes: storm.dexes } },
      accounts: 'auto',
      shards: 4,
    },
    {},
  )
}

const common = (config: Config) => createCommon(config, { log: createLogger({ level: 'silent' }) })
const chainOf = (config: Config): ChainConfig => chainList(config)[0]!

async function counts(pool: pg.Pool): Promise<Record<string, { n: number; sum: string }>> {
  const r = await pool.query<{ dex_name: string; n: string; sum: string }>(
    'SELECT dex_name, count(*)::text AS n, sum(amount_in + amount_out)::text AS sum FROM swaps WHERE chain_id = $1 GROUP BY 1 ORDER BY 1',
    [storm.chainId],
  )
  return Object.fromEntries(r.rows.map((x) => [x.dex_name, { n: Number(x.n), sum: x.sum }]))
}

/** Every family: 12,500 swaps, amounts 1…12,500 on one side and 1000 each on the other. */
function expectedCounts(): Record<string, { n: number; sum: string }> {
  const n = BigInt(PER_FAMILY)
  const sum = ((n * (n + 1n)) / 2n + 1000n * n).toString()
  return Object.fromEntries(storm.dexes.map((d) => [d.name!, { n: PER_FAMILY, sum }]))
}

async function clear(pool: pg.Pool): Promise<void> {
  await pool.query('DELETE FROM swaps WHERE chain_id = $1', [storm.chainId])
  await pool.query('DELETE FROM prices WHERE chain_id = $1', [storm.chainId])
  await pool.query('DELETE FROM backfill_ranges WHERE chain_id = $1', [storm.chainId])
}

describe('dexrisk backfill over 100,000 swaps of every family', () => {
  it('writes exactly every swap; run again, and again with --redo, still exactly every swap', async () => {
    const config = stormConfig(storm.rpcUrl)
    const opts = { common: common(config), chain: chainOf(config), pool: db.pool(), fromBlock: storm.firstBlock, toBlock: storm.lastBlock }
    const first = await runBackfill(opts)
    expect(first.swaps).toBe(TOTAL)
    expect(first.gaps).toEqual([])
    expect(first.rejected).toBe(0)
    expect(Object.keys(storm.swaps)).toHaveLength(FAMILIES)
    expect(await counts(db.pool())).toEqual(expectedCounts())
    // Every swap's trader is its transaction's sender, and every such sender is its own account ('auto').
    const traders = await db.pool().query<{ trader: string }>('SELECT DISTINCT trader FROM swaps WHERE chain_id = $1 AND account = trader ORDER BY 1', [storm.chainId])
    expect(traders.rows.map((r) => r.trader)).toEqual([...storm.traders].sort())
    console.log(`backfill of ${first.swaps} swaps in ${(first.elapsedMs / 1000).toFixed(1)} s: ${Math.round(first.swaps / (first.elapsedMs / 1000))} swaps/s`)

    const again = await runBackfill(opts)
    expect(again.swaps).toBe(0)
    expect(again.skippedBlocks).toBe(Number(storm.lastBlock - storm.firstBlock + 1n))
    expect(again.gaps).toEqual([])
    const redo = await runBackfill({ ...opts, redo: true })
    expect(redo.swaps).toBe(TOTAL)
    expect(await counts(db.pool())).toEqual(expectedCounts())
    await clear(db.pool())
  }, 600_000)

  it('interrupted, then resumed: exactly every swap', async () => {
    const config = stormConfig(storm.rpcUrl)
    const controller = new AbortController()
    let seen: BackfillProgress | undefined
    const opts = { common: common(config), chain: chainOf(config), pool: db.pool(), fromBlock: storm.firstBlock, toBlock: storm.lastBlock }
    const stopped = await runBackfill({
      ...opts,
      // Ranges of one or two blocks (a block holds 2,500 swaps here): the stop falls between them.
      initialRange: 1,
      maxRange: 2,
      concurrency: 2,
      signal: controller.signal,
      onProgress: (p) => {
        seen = p
        if (p.swaps >= TOTAL / 3) controller.abort()
      },
    })
    expect(seen).toBeDefined()
    expect(stopped.interrupted).toBe(true)
    expect(stopped.gaps.length).toBeGreaterThan(0)
    const partial = Object.values(await counts(db.pool())).reduce((n, c) => n + c.n, 0)
    expect(partial).toBe(stopped.swaps)
    expect(partial).toBeLessThan(TOTAL)
    // What the ranges table says was written is exactly what was written.
    const said = await db.pool().query<{ n: string }>('SELECT sum(swaps)::text AS n FROM backfill_ranges WHERE chain_id = $1', [storm.chainId])
    expect(Number(said.rows[0]!.n)).toBe(partial)

    const resumed = await runBackfill(opts)
    expect(resumed.gaps).toEqual([])
    expect(resumed.swaps).toBe(TOTAL - partial)
    expect(await counts(db.pool())).toEqual(expectedCounts())
    await clear(db.pool())
  }, 600_000)

  describe('through a faulty provider', () => {
    let proxy: RpcProxy
    beforeAll(async () => {
      proxy = await startRpcProxy(storm.rpcUrl)
    })
    afterAll(async () => {
      await proxy?.close()
    })

    it('answers 429, 500, timeouts and "range too large" with slower reads, never a skipped block', async () => {
      const config = stormConfig(proxy.url, { rpcTimeoutMs: 1_000, maxBlockRange: 200 })
      // A hosted provider's cap: getLogs over more than 3 blocks is refused as too many results.
      proxy.logRangeLimit = 3
      const faults = ['http-429', 'http-500', 'stall'] as const
      let tick = 0
      const cycle = setInterval(() => {
        tick++
        // 300 ms of a fault, then 600 ms of service, round the three faults.
        proxy.fault(tick % 3 === 0 ? faults[(tick / 3) % 3]! : 'none')
      }, 300)
      try {
        const result = await runBackfill({
          common: common(config),
          chain: chainOf(config),
          pool: db.pool(),
          fromBlock: storm.firstBlock,
          toBlock: storm.lastBlock,
          dexes: ['storm-v2', 'storm-v4', 'storm-curve'],
        })
        expect(result.gaps).toEqual([])
        expect(result.swaps).toBe(3 * PER_FAMILY)
      } finally {
        clearInterval(cycle)
        proxy.fault('none')
      }
      expect(proxy.refusedLogRanges).toBeGreaterThan(0)
      expect(proxy.faulted['http-429'] + proxy.faulted['http-500'] + proxy.faulted.stall).toBeGreaterThan(0)
      const expected = expectedCounts()
      expect(await counts(db.pool())).toEqual({ 'storm-curve': expected['storm-curve'], 'storm-v2': expected['storm-v2'], 'storm-v4': expected['storm-v4'] })
      await clear(db.pool())
    }, 600_000)
  })
})
