import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import { recordTrade, emptyAccountRiskState } from '../../../src/risk/account-metrics.ts'
import type { BatchEffects } from '../../../workers/risk/apply-batch.ts'
import { PriceCache } from '../../../workers/risk/price-cache.ts'
import type { RiskEffects } from '../../../workers/risk/risk-engine.ts'
import { emptyRiskState, loadRiskState, writeRiskEffects } from '../../../workers/risk/risk-store.ts'
import { insertSwapsAndTrades } from '../../../src/db/swap-rows.ts'
import { useEmbeddedDatabase } from '../../setup/database.ts'

const db = useEmbeddedDatabase()
const options = { horizonSeconds: 60, windowSize: 10, minHistory: 2, confidences: [0.95, 0.99] as [number, number], fallbackShock: 0.25 }

const effects = (block: bigint): BatchEffects => ({
  chainId: 5, fromBlock: block, toBlock: block, toBlockHash: null, toBlockTime: 1_700_000_000, time: 1_700_000_000, previousCheckpoint: null, swaps: [], prices: [],
  positions: [], priceCache: new PriceCache({ stablecoins: new Set<Address>(), pivots: new Set<Address>() }), transfers: [], walletBalances: [], detached: [], walletBalancesGone: [], unexplained: [],
})



describe('risk store', () => {
  it('loads back what it wrote: account state, its trade window from the trades table, computation time, return history', async () => {
    const risk = emptyRiskState(options)
    for (const [t, p] of [[1_700_000_000, 2000], [1_700_000_060, 2100], [1_700_000_120, 1995]] as const) {
      risk.history.observe('ETH', t, p)
      risk.history.advanceTo(t)
    }
    // The account's two trades, as a batch writes them (the trade window is rebuilt from these).
    await insertSwapsAndTrades(db.pool(), 3, { chainId: 5, swaps: [tradeOf(1_700_000_100, 1, 1234.5), tradeOf(1_700_000_110, 2, null)] })
    const traded = recordTrade(recordTrade(emptyAccountRiskState(), 1_700_000_100, 1234.5), 1_700_000_110, null)
    const state = { ...traded, peakEquityUsd: 5000, maxDrawdownUsd: 250, maxDrawdownPct: 0.05, day: 19675, dayStartPnlUsd: 10, lastTotalPnlUsd: 12 }
    const update = { account: 'desk', metrics: zeroMetrics(), state, halted: false, traded: true, snapshot: true, band: Infinity, prices: [] }
    const full: RiskEffects = {
      time: 1_700_000_120,
      chainTime: { chainId: 5, time: 1_700_000_120 },
      updates: [update],
      alerts: [],
      ruleStates: [],
      halts: [],
      history: { bucket: risk.history.openBucket, series: [{ asset: 'ETH', json: risk.history.assetJSON('ETH')! }] },
      repriced: new Map([['ETH', 1995]]),
      sweepCursor: 0,
    }
    await writeRiskEffects(db.pool(), 3, effects(10n), full)
    // A later computation that only repriced, inside its snapshot interval: its state is kept, no snapshot row.
    const later = { ...state, peakEquityUsd: 6000 }
    await writeRiskEffects(db.pool(), 3, effects(11n), { ...full, time: 1_700_000_180, updates: [{ ...update, state: later, traded: false, snapshot: false }], history: { bucket: full.history.bucket, series: [] } })
    // A batch that recomputed nobody still moves the shard's clock.
    await writeRiskEffects(db.pool(), 3, effects(12n), { ...full, time: 1_700_000_240, chainTime: { chainId: 7, time: 1_700_000_200 }, updates: [], history: { bucket: full.history.bucket, series: [] } })

    const loaded = await loadRiskState(db.pool(), 3, options)
    expect(loaded.accounts.get('desk')).toEqual(later)
    expect(loaded.accounts.get('desk')!.tradeTimes).toEqual([1_700_000_100, 1_700_000_110])
    expect(loaded.accounts.get('desk')!.tradeUsd).toEqual([1234.5, null])
    expect(loaded.lastComputed).toEqual(new Map([['desk', 1_700_000_180]]))
    expect(loaded.lastSnapshot).toEqual(new Map([['desk', 1_700_000_120]]))
    expect(loaded.clock).toBe(1_700_000_240)
    expect(loaded.chainTimes).toEqual(new Map([[5, 1_700_000_120], [7, 1_700_000_200]]))
    expect(JSON.stringify(loaded.history.toJSON())).toBe(JSON.stringify(risk.history.toJSON()))
    expect(loaded.assetPrices).toEqual(new Map([['ETH', 1995]]))
    const snapshots = await db.pool().query<{ block_number: string; metrics: Record<string, unknown> }>('SELECT block_number::text, metrics FROM risk_snapshots ORDER BY block_number')
    expect(snapshots.rows.map((r) => r.block_number)).toEqual(['10'])
    expect(snapshots.rows[0]!.metrics.exposureByToken).toBeUndefined()
  })
})

/** A swap of account 'desk' on chain 5 at block time `t`. */
function tradeOf(t: number, logIndex: number, usd: number | null): BatchEffects['swaps'][number] {
  const a = (n: number): Address => `0x${n.toString(16).padStart(40, '0')}`
  return {
    chainId: 5, dex: { family: 'uniswap-v2', name: 'uniswap-v2' }, pool: a(1), blockNumber: 10n, blockHash: `0x${'ab'.repeat(32)}`, blockTime: t,
    txHash: `0x${logIndex.toString(16).padStart(64, '0')}`, logIndex, trader: a(2), sender: a(3), recipient: a(2), tokenIn: a(4), tokenOut: a(5),
    amountIn: 10n ** 18n, amountOut: 2_000_000_000n, decimalsIn: 18, decimalsOut: 6, account: 'desk', amountUsd: usd,
  }
}

function zeroMetrics(): RiskEffects['updates'][number]['metrics'] {
  return {
    account: 'desk', time: 0, equityUsd: 0, grossExposureUsd: 0, netExposureUsd: 0, unpricedPositions: 0, largestAssetShare: null, hhi: null,
    realizedPnlUsd: 0, unrealizedPnlUsd: 0, totalPnlUsd: 0, dailyPnlUsd: 0, drawdownUsd: 0, drawdownPct: null, maxDrawdownUsd: 0, maxDrawdownPct: null,
    var95Usd: 0, var99Usd: 0, es95Usd: 0, es99Usd: 0, parametricVar95Usd: 0, parametricVar99Usd: 0, swaps1m: 0, swaps1h: 0, swaps24h: 2,
    volume1mUsd: 0, volume1hUsd: 0, volume24hUsd: 1234.5, varMethod: 'historical', varIncomplete: false, historyLength: 0, assetsWithoutHistory: [],
    exposureByToken: [], exposureByAsset: [], exposureByChain: [], unpricedTokens: [],
  }
}
