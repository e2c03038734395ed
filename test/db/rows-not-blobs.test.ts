import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultMigrationsDir, migrate } from '../../src/db/migrate.ts'
import { emptyAccountRiskState, recordTrade } from '../../src/risk/account-metrics.ts'
import { ReturnHistory } from '../../src/risk/return-history.ts'
import { PriceCache } from '../../workers/risk/price-cache.ts'
import { historyOptions, loadRiskState } from '../../workers/risk/risk-store.ts'
import { loadShardState } from '../../workers/risk/store.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const database = useEmbeddedDatabase({ migrate: false })
const options = { horizonSeconds: 60, windowSize: 10, minHistory: 2, confidences: [0.95, 0.99] as [number, number], fallbackShock: 0.25 }
const USDC = '0x00000000000000000000000000000000000000c1' as Address
const WETH = '0x00000000000000000000000000000000000000e1' as Address
const POOL = '0x00000000000000000000000000000000000000f1' as Address
const pricing = { stablecoins: new Set([USDC]), pivots: new Set([WETH]) }

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dexrisk-0012-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Applies the repository's migrations numbered below `below` (a database as an older release left it). */
async function migrateBelow(below: number): Promise<void> {
  for (const f of await readdir(defaultMigrationsDir)) if (/^\d{4}_/.test(f) && Number(f.slice(0, 4)) < below) await copyFile(join(defaultMigrationsDir, f), join(dir, f))
  await migrate(database.pool(), { dir })
}

describe('migration 0012 and after: carried state as rows', () => {
  it('moves the blobs an older release wrote into rows that a worker loads back unchanged', async () => {
    await migrateBelow(12)
    const db = database.pool()
    // What the release before wrote: the return history, an account's state and trades, a price cache.
    const history = new ReturnHistory(historyOptions(options))
    for (const [t, p] of [[1_700_000_000, 2000], [1_700_000_060, 2100], [1_700_000_120, 1995], [1_700_000_130, 1990]] as const) {
      history.observe('ETH', t, p)
      history.advanceTo(t)
    }
    await db.query('INSERT INTO return_history (shard, history, clock, chain_times) VALUES (0, $1, $2, $3)', [JSON.stringify(history.toJSON()), 1_700_000_130, JSON.stringify({ 1: 1_700_000_130 })])
    const state = { ...recordTrade(emptyAccountRiskState(), 1_700_000_100, 500), peakEquityUsd: 9000, maxDrawdownUsd: 120, maxDrawdownPct: 0.02, day: 19675, dayStartPnlUsd: 3, lastTotalPnlUsd: 4 }
    await db.query('INSERT INTO account_risk_state (account, shard, state, trades) VALUES ($1, 0, $2, $3)', [
      'desk',
      JSON.stringify({ state: { ...state, tradeTimes: [], tradeUsd: [] }, computedAt: 1_700_000_125 }),
      JSON.stringify({ tradeTimes: state.tradeTimes, tradeUsd: state.tradeUsd }),
    ])
    // Its trade, as that release wrote it into trades (the trade window is rebuilt from it).
    await db.query(
      `INSERT INTO trades (block_time, account, shard, chain_id, block_number, tx_hash, log_index, wallet, pool, dex_name, token_in, token_out, amount_in, amount_out, amount_usd)
       VALUES (to_timestamp(1700000100), 'desk', 0, 1, 7, $1, 0, $2, $2, 'uniswap-v2', $3, $4, 500000000, 100000000000000000, 500)`,
      [`0x${'01'.padStart(64, '0')}`, POOL, USDC, WETH],
    )
    const cache = new PriceCache(pricing)
    cache.observe({ chainId: 1, pool: POOL, blockNumber: 7n, blockTime: 1_700_000_100, txHash: `0x${'01'.padStart(64, '0')}`, logIndex: 0, base: WETH, quote: USDC, price: 1995, quoteDepth: 1e7 })
    await db.query('INSERT INTO checkpoints (shard, chain_id, last_block, price_cache) VALUES (0, 1, 7, $1)', [JSON.stringify(cache.toJSON())])

    const later = (await readdir(defaultMigrationsDir)).filter((f) => /^\d{4}_/.test(f) && Number(f.slice(0, 4)) >= 12).sort()
    for (const f of later) await copyFile(join(defaultMigrationsDir, f), join(dir, f))
    expect((await migrate(db, { dir })).applied).toEqual(later)
    expect(later[0]).toBe('0012_rows_not_blobs.sql')

    const risk = await loadRiskState(db, 0, options)
    expect(JSON.stringify(risk.history.toJSON())).toBe(JSON.stringify(history.toJSON()))
    expect(risk.accounts.get('desk')).toEqual(state)
    expect(risk.lastComputed.get('desk')).toBe(1_700_000_125)
    expect(risk.clock).toBe(1_700_000_130)
    const shard = await loadShardState(db, 0, () => pricing)
    expect(shard.checkpoints.get(1)).toBe(7n)
    expect(JSON.stringify(shard.priceCaches.get(1)!.toJSON())).toBe(JSON.stringify(cache.toJSON()))
    expect(shard.priceCaches.get(1)!.usd(WETH, 1_700_000_100)).toBe(1995)
  })
})
