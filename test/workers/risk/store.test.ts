import { describe, expect, it } from 'vitest'
import { withTransaction } from '../../../src/db/pool.ts'
import { BatchError } from '../../../src/errors.ts'
import type { BatchEffects } from '../../../workers/risk/apply-batch.ts'
import { PriceCache } from '../../../workers/risk/price-cache.ts'
import { arrayLiteral } from '../../../src/db/array-literal.ts'
import { loadCheckpoint, writeBatchEffects } from '../../../workers/risk/store.ts'
import { insertSwapsAndTrades } from '../../../src/db/swap-rows.ts'
import { useEmbeddedDatabase } from '../../setup/database.ts'

const db = useEmbeddedDatabase()

describe('arrayLiteral', () => {
  it('round-trips awkward text exactly through Postgres array_in', async () => {
    const values = ['NULL', 'null', '', 'a,b', 'say "hi"', 'back\\slash', '{x}', ' spaced ', 'ünïcødé', '0xAbC123', 'uniswap-v3', null]
    const r = await db.pool().query<{ v: string | null }>('SELECT unnest($1::text[]) AS v', [arrayLiteral(values)])
    expect(r.rows.map((x) => x.v)).toEqual(values)
  })

  it('round-trips uint256 amounts, floats and booleans', async () => {
    const amounts = [0n, 1n, 2n ** 255n, 2n ** 256n - 1n, -(2n ** 255n)]
    const a = await db.pool().query<{ v: string }>('SELECT unnest($1::numeric[])::text AS v', [arrayLiteral(amounts)])
    expect(a.rows.map((x) => BigInt(x.v))).toEqual(amounts)
    const floats = [0.1, 1e-7, -3000.5, 1 / 3, Number.NaN, Number.POSITIVE_INFINITY, null]
    const f = await db.pool().query<{ v: number | null }>('SELECT unnest($1::float8[]) AS v', [arrayLiteral(floats)])
    expect(f.rows.map((x) => x.v)).toEqual(floats)
    const b = await db.pool().query<{ v: boolean }>('SELECT unnest($1::bool[]) AS v', [arrayLiteral([true, false])])
    expect(b.rows.map((x) => x.v)).toEqual([true, false])
  })
})

describe('writeBatchEffects', () => {
  const pricing = { stablecoins: new Set<`0x${string}`>(), pivots: new Set<`0x${string}`>() }
  const effects = (from: bigint, to: bigint, previousCheckpoint: bigint | null): BatchEffects => ({
    chainId: 9, fromBlock: from, toBlock: to, toBlockHash: null, toBlockTime: null, time: null, previousCheckpoint, swaps: [], prices: [], positions: [], priceCache: new PriceCache(pricing),
    transfers: [], walletBalances: [], detached: [], walletBalancesGone: [], unexplained: [],
  })

  it('moves the checkpoint only from the block the batch was computed against', async () => {
    await withTransaction(db.pool(), (c) => writeBatchEffects(c, 3, effects(1n, 10n, null)))
    await withTransaction(db.pool(), (c) => writeBatchEffects(c, 3, effects(11n, 20n, 10n)))
    expect((await loadCheckpoint(db.pool(), 3, 9, pricing))!.block).toBe(20n)
    // A second consumer with stale memory (it still believes the checkpoint is 10) is refused, and nothing moves.
    const stale = withTransaction(db.pool(), (c) => writeBatchEffects(c, 3, effects(11n, 15n, 10n)))
    await expect(stale).rejects.toBeInstanceOf(BatchError)
    await expect(withTransaction(db.pool(), (c) => writeBatchEffects(c, 3, effects(11n, 15n, 10n)))).rejects.toThrow(
      'the checkpoint moved under this worker: is another consumer running this shard? (chain 9, block 11, shard 3)',
    )
    expect((await loadCheckpoint(db.pool(), 3, 9, pricing))!.block).toBe(20n)
  })

  it('writes one price row per pool and block, its last observation, and the price cache row of each token observed', async () => {
    const USDC = '0x00000000000000000000000000000000000000c1' as const
    const WETH = '0x00000000000000000000000000000000000000e1' as const
    const POOL = '0x00000000000000000000000000000000000000f1' as const
    const cache = new PriceCache({ stablecoins: new Set([USDC]), pivots: new Set([WETH]) })
    const obs = (block: bigint, logIndex: number, price: number) => ({
      chainId: 9, pool: POOL, blockNumber: block, blockTime: 1_700_000_000 + Number(block), txHash: `0x${(Number(block) * 100 + logIndex).toString(16).padStart(64, '0')}` as const,
      logIndex, base: WETH, quote: USDC, price, quoteDepth: 1e7,
    })
    const prices = [obs(21n, 0, 2000), obs(21n, 3, 2010), obs(22n, 1, 1990)]
    for (const p of prices) cache.observe(p)
    await withTransaction(db.pool(), (c) => writeBatchEffects(c, 0, { ...effects(21n, 22n, null), prices, priceCache: cache }))
    const rows = await db.pool().query<{ block_number: string; log_index: number; price: number }>('SELECT block_number::text, log_index, price FROM prices WHERE chain_id = 9 ORDER BY block_number')
    expect(rows.rows).toEqual([{ block_number: '21', log_index: 3, price: 2010 }, { block_number: '22', log_index: 1, price: 1990 }])
    const loaded = (await loadCheckpoint(db.pool(), 0, 9, { stablecoins: new Set([USDC]), pivots: new Set([WETH]) }))!
    expect(loaded.priceCache.usd(WETH, 1_700_000_022)).toBe(1990)
    expect(JSON.stringify(loaded.priceCache.toJSON())).toBe(JSON.stringify(cache.toJSON()))
  })

  it("records an account's trade as a second row (named accounts) or by marking its swap ('auto'); account_trades reads both, never a backfilled swap", async () => {
    const swap = (logIndex: number, account: string | null) => ({
      chainId: 7, dex: { family: 'uniswap-v2' as const, name: 'uniswap-v2' }, pool: '0x00000000000000000000000000000000000000f1' as const, blockNumber: 5n,
      blockHash: `0x${'cd'.repeat(32)}` as const, blockTime: 1_700_000_000, txHash: `0x${logIndex.toString(16).padStart(64, '0')}` as const, logIndex,
      trader: '0x00000000000000000000000000000000000000a1' as const, sender: '0x00000000000000000000000000000000000000b1' as const,
      recipient: '0x00000000000000000000000000000000000000a1' as const, tokenIn: '0x00000000000000000000000000000000000000c1' as const,
      tokenOut: '0x00000000000000000000000000000000000000c2' as const, amountIn: 10n ** 18n + BigInt(logIndex), amountOut: 7n, decimalsIn: 18, decimalsOut: 6, account, amountUsd: 12.5,
    })
    const e = (from: bigint, swaps: ReturnType<typeof swap>[]): BatchEffects => ({ ...effects(from, from, from === 1n ? null : from - 1n), chainId: 7, swaps })
    await writeBatchEffects(db.pool(), 4, e(1n, [swap(1, 'named-desk'), swap(2, null)]), [], 'copy')
    await writeBatchEffects(db.pool(), 4, e(2n, [swap(3, '0x00000000000000000000000000000000000000a1'), swap(4, null)]), [], 'mark')
    await insertSwapsAndTrades(db.pool(), 4, { chainId: 7, swaps: [swap(5, 'backfilled')] }, 'none')
    const q = async (sql: string): Promise<unknown[]> => (await db.pool().query(sql)).rows
    expect(await q('SELECT count(*)::int AS n FROM swaps WHERE chain_id = 7')).toEqual([{ n: 5 }])
    expect(await q('SELECT account, log_index FROM trades WHERE chain_id = 7')).toEqual([{ account: 'named-desk', log_index: 1 }])
    expect(await q('SELECT account, log_index, amount_in::text FROM account_trades WHERE chain_id = 7 ORDER BY log_index')).toEqual([
      { account: 'named-desk', log_index: 1, amount_in: '1000000000000000001' },
      { account: '0x00000000000000000000000000000000000000a1', log_index: 3, amount_in: '1000000000000000003' },
    ])
  })
})

