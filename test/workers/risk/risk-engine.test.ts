import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load-config.ts'
import type { PriceObservation } from '../../../src/domain/types.ts'
import type { TradeBatch } from '../../../src/queue/batch.ts'
import { emptyAccountRiskState } from '../../../src/risk/account-metrics.ts'
import { DEFAULT_RULES } from '../../../src/risk/rules.ts'
import { emptyShardState, positionKey } from '../../../workers/risk/apply-batch.ts'
import { PriceCache } from '../../../workers/risk/price-cache.ts'
import { emptyRiskState } from '../../../workers/risk/risk-store.ts'
import { armShard, commitShardBatch, computeShardBatch, shardSetup, type ShardBatch } from '../../../workers/risk/shard-setup.ts'

const USDC = '0x00000000000000000000000000000000000000c1' as Address
const WETH = '0x00000000000000000000000000000000000000e1' as Address
const POOL = '0x00000000000000000000000000000000000000f1' as Address
const T0 = 1_700_000_000
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`
const HOLDERS = 1_000
const PER_BATCH = 10

const config = parseConfig(
  {
    chains: {
      main: { id: 1, rpcUrls: ['http://127.0.0.1:8545'], dexes: [{ family: 'uniswap-v2', factory: POOL, startBlock: 0 }], stablecoins: [USDC], pivots: [WETH], assets: { [WETH]: 'ETH' } },
    },
    accounts: 'auto',
    shards: 1,
    risk: { repriceIntervalSeconds: 0, repricePerBatch: PER_BATCH },
  },
  {},
)

function price(block: number, p: number): PriceObservation {
  return { chainId: 1, pool: POOL, blockNumber: BigInt(block), blockTime: T0 + block, txHash: hash(block), logIndex: 0, base: WETH, quote: USDC, price: p, quoteDepth: 1e7 }
}
/** A range [from, block] whose one price observation is in its last block. */
function batch(block: number, p: number, from = block): TradeBatch {
  return { chainId: 1, shard: 0, fromBlock: BigInt(from), toBlock: BigInt(block), toBlockHash: hash(block), toBlockTime: T0 + block, swaps: [], prices: [price(block, p)], transfers: [], readings: [], detachments: [] }
}

/** A shard holding HOLDERS accounts of 1 WETH each at 2000 USD, loaded and armed as a starting worker does. */
function loadedShard() {
  const setup = shardSetup(config)
  const state = emptyShardState(0)
  state.checkpoints.set(1, 100n)
  const cache = new PriceCache(setup.pricingOf(1), undefined, setup.guards)
  cache.observe(price(100, 2000))
  state.priceCaches.set(1, cache)
  for (let i = 0; i < HOLDERS; i++)
    state.positions.set(`acc${String(i).padStart(4, '0')}`, new Map([[positionKey(1, WETH), { quantity: 10n ** 18n, costUsd: 2000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 100n }]]))
  const risk = emptyRiskState(setup.riskOptions)
  risk.clock = T0 + 100
  risk.chainTimes.set(1, T0 + 100)
  risk.assetPrices.set('ETH', 2000)
  const decimals = new Map<string, number | null>([[`1:${WETH}`, 18], [`1:${USDC}`, 6]])
  const armed = armShard(state, risk, setup, DEFAULT_RULES, decimals)
  const step = (block: number, p: number, from = block): ShardBatch => {
    const b = computeShardBatch(state, risk, batch(block, p, from), setup, DEFAULT_RULES, decimals)!
    commitShardBatch(state, risk, b)
    return b
  }
  return { armed, step }
}

describe('repricing, bounded per batch', () => {
  it('arms every loaded account at start, and a small move recomputes only the sweep slice', () => {
    const { armed, step } = loadedShard()
    expect(armed).toEqual({ armed: HOLDERS, due: 0 })
    const small = step(101, 1990)
    expect(small.risk.updates.map((u) => u.account)).toEqual(Array.from({ length: PER_BATCH }, (_, i) => `acc${String(i).padStart(4, '0')}`))
    // The next batch goes on where the sweep stopped.
    const next = step(102, 1985)
    expect(next.risk.updates.map((u) => u.account)).toEqual(Array.from({ length: PER_BATCH }, (_, i) => `acc${String(PER_BATCH + i).padStart(4, '0')}`))
  })

  it('a crash reaches every holder whose drawdown rule it crosses, in the batch that carries it', () => {
    const { step } = loadedShard()
    step(101, 1990)
    const crash = step(102, 1500) // 25% under the 2000 peak
    expect(crash.risk.updates).toHaveLength(HOLDERS)
    const firing = crash.risk.alerts.filter((a) => a.ruleId === 'default.drawdown' && a.state === 'firing')
    expect(firing).toHaveLength(HOLDERS)
    expect(firing.every((a) => a.value === 0.25)).toBe(true)
    // Every holder got a snapshot row (an alert forces one).
    expect(crash.risk.updates.filter((u) => u.snapshot)).toHaveLength(HOLDERS)
    // After it, a small move inside the new bands is the sweep's again.
    expect(step(103, 1495).risk.updates).toHaveLength(PER_BATCH)
    // Back up past the 15% resolution point (equity 1,700+ of a 2,000 peak): every holder resolves.
    const recovery = step(104, 1750)
    expect(recovery.risk.alerts.filter((a) => a.ruleId === 'default.drawdown' && a.state === 'resolved')).toHaveLength(HOLDERS)
  })

  it('rate-limits snapshot rows of accounts that only repriced', () => {
    const { step } = loadedShard()
    // acc0000 … acc0009: computed at T0 + 101 with a snapshot (their first), then not again within 300 s.
    const first = step(101, 1990)
    expect(first.risk.updates.every((u) => u.snapshot)).toBe(true)
    // The rest of the round: 99 more slices of ten.
    for (let b = 102; b <= 200; b++) step(b, 1990 - (b % 2))
    const again = step(201, 1991)
    expect(again.risk.updates.map((u) => u.account)[0]).toBe('acc0000')
    expect(again.risk.updates.every((u) => !u.snapshot)).toBe(true)
    // Past the snapshot interval (300 s of block time) their next recomputation writes one.
    expect(step(500, 1992, 202).risk.updates.every((u) => u.snapshot)).toBe(true)
  })

  it('arming at start keeps a committed state as it is, and gives one to an account without', () => {
    const setup = shardSetup(config)
    const state = emptyShardState(0)
    const cache = new PriceCache(setup.pricingOf(1), undefined, setup.guards)
    cache.observe(price(100, 2500))
    state.priceCaches.set(1, cache)
    for (const a of ['carried', 'fresh']) state.positions.set(a, new Map([[positionKey(1, WETH), { quantity: 10n ** 18n, costUsd: 2000, realizedPnlUsd: 0, unpricedCost: false, updatedBlock: 100n }]]))
    const risk = emptyRiskState(setup.riskOptions)
    risk.clock = T0 + 100
    risk.assetPrices.set('ETH', 2500)
    const committed = { ...emptyAccountRiskState(), peakEquityUsd: 2000, day: 19675 }
    risk.accounts.set('carried', committed)
    armShard(state, risk, setup, DEFAULT_RULES, new Map([[`1:${WETH}`, 18]]))
    expect(risk.accounts.get('carried')).toBe(committed)
    expect(risk.accounts.get('fresh')!.peakEquityUsd).toBe(2500)
  })
})
