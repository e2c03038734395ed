import { createPublicClient, createTestClient, erc20Abi, http, parseEther, type Address, type Hex, type LocalAccount } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import type { ConfigInput } from '../../src/config/schema.ts'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deployBalancerV2, type BalancerV2Deployment } from '../setup/families/balancer-v2.ts'
import { deployCurve, type CurveDeployment } from '../setup/families/curve.ts'
import { deployPancakeswapV3, type PancakeswapV3Deployment } from '../setup/families/pancakeswap-v3.ts'
import { deploySolidly, type SolidlyDeployment } from '../setup/families/solidly.ts'
import { deployUniswapV4, type UniswapV4Deployment } from '../setup/families/uniswap-v4.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { useRedisPrefix } from '../setup/redis.ts'

/**
 * Every family added in issue 3 on one anvil chain, followed by the real monitor (indexer →
 * BullMQ → shard workers → embedded TimescaleDB) with named accounts: Uniswap V4 (real
 * PoolManager), PancakeSwap V3 (real factory and pool), Curve, Balancer V2, Velodrome v1 and
 * Aerodrome (solc-js contracts emitting the exact events). Two traders swap on each; the stored
 * positions must equal their balances to the wei, and every swap must be stored once, under its
 * DEX, with the trader's account.
 */
let anvil: AnvilInstance
let v4: UniswapV4Deployment
let pancake: PancakeswapV3Deployment
let curve: CurveDeployment
let balancer: BalancerV2Deployment
let velodrome: SolidlyDeployment
let aerodrome: SolidlyDeployment
const traders: LocalAccount[] = [anvilAccount(7), anvilAccount(8)]
const ACCOUNTS = ['alice', 'bob']
const db = useEmbeddedDatabase()
const redis = useRedisPrefix()

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17_401 })
  const o = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId }
  // Each deployment keeps its own nonce count for anvil account 0: it funds the traders before the
  // next deployment sends from that account.
  const each = async (fund: (a: Address) => Promise<unknown>): Promise<void> => {
    for (const t of traders) await fund(t.address)
  }
  v4 = await deployUniswapV4(o)
  await each(async (a) => {
    await v4.fund(a, v4.tokens.tokenA, parseEther('100'))
    await v4.fund(a, v4.tokens.tokenB, parseEther('100'))
  })
  pancake = await deployPancakeswapV3(o)
  await each(async (a) => {
    await pancake.fund(a, pancake.tokens.cake.address, parseEther('100'))
    await pancake.fund(a, pancake.tokens.usdt.address, 1_000_000_000n)
  })
  curve = await deployCurve(o)
  await each((a) => curve.fund(a, curve.tokens.DAI, parseEther('1000')))
  balancer = await deployBalancerV2(o)
  await each((a) => balancer.fund(a, balancer.tokens.weth.address, parseEther('10')))
  velodrome = await deploySolidly({ ...o, generation: 'velodrome-v1' })
  await each(async (a) => {
    await velodrome.fund(a, velodrome.tokens.weth.address, parseEther('10'))
    await velodrome.fund(a, velodrome.tokens.usdc.address, 1_000_000_000n)
  })
  aerodrome = await deploySolidly({ ...o, generation: 'aerodrome' })
  await each(async (a) => {
    await aerodrome.fund(a, aerodrome.tokens.weth.address, parseEther('10'))
    await aerodrome.fund(a, aerodrome.tokens.usdc.address, 1_000_000_000n)
  })
}, 300_000)
afterAll(async () => {
  await anvil?.stop()
})

/** Every token of every deployment: opening balances are read for them all. */
function allTokens(): Address[] {
  const set = new Set<Address>([
    v4.tokens.tokenA,
    v4.tokens.tokenB,
    ...Object.values(pancake.tokens).map((t) => t.address),
    ...Object.values(curve.tokens),
    ...Object.values(balancer.tokens).map((t) => t.address),
    ...Object.values(velodrome.tokens).map((t) => t.address),
    ...Object.values(aerodrome.tokens).map((t) => t.address),
  ].map((a) => a.toLowerCase() as Address))
  return [...set].sort()
}

function config(startBlock: bigint, prefix: string): ConfigInput {
  const stable = curve.pools.find((p) => p.kind === 'stable')!
  return {
    chains: {
      local: {
        id: anvil.chainId,
        rpcUrls: [anvil.rpcUrl],
        confirmations: 1,
        pollIntervalMs: 100,
        maxBlockRange: 50,
        startBlock,
        dexes: [
          { family: 'uniswap-v4', factory: v4.poolManager, startBlock: v4.deployBlock },
          { family: 'pancakeswap-v3', factory: pancake.factory, startBlock: pancake.deployBlock },
          { family: 'curve', pools: [{ address: stable.address }], startBlock: curve.deployBlock },
          { family: 'balancer-v2', factory: balancer.vault, startBlock: balancer.deployBlock },
          { family: 'velodrome-v1', factory: velodrome.factory, startBlock: velodrome.deployBlock },
          { family: 'aerodrome', factory: aerodrome.factory, startBlock: aerodrome.deployBlock },
        ],
        assets: Object.fromEntries(allTokens().map((t, i) => [t, `T${i}`])),
      },
    },
    accounts: Object.fromEntries(traders.map((t, i) => [ACCOUNTS[i]!, [t.address]])),
    shards: 2,
    database: { url: db.url, poolMax: 1 },
    redis: { url: redis.url },
    queue: { prefix },
  }
}

describe('every family, end to end on one chain', () => {
  it("stores each family's swaps once and positions equal to the balances, to the wei", async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n
    const prefix = redis.prefix
    await db.endPool()
    const monitor = await startMonitor({ common: createCommon(parseConfig(config(start, prefix), {}), { log: createLogger({ level: 'silent' }) }) })
    const made = new Map<string, { tx: Hex; trader: Address }[]>()
    const record = (dex: string, tx: Hex, trader: LocalAccount): void => {
      made.set(dex, [...(made.get(dex) ?? []), { tx, trader: trader.address.toLowerCase() as Address }])
    }
    try {
      const [erc20Pool, nativePool] = [v4.pools.find((p) => p.name === 'erc20')!, v4.pools.find((p) => p.name === 'native')!]
      const stable = curve.pools.find((p) => p.kind === 'stable')!
      const dai = stable.coins.indexOf(curve.tokens.DAI.toLowerCase() as Address)
      for (const t of traders) {
        record('uniswap-v4', (await v4.swap(t, erc20Pool, { zeroForOne: true, exactInput: true, amount: parseEther('1.5') })).transactionHash, t)
        record('uniswap-v4', (await v4.swap(t, nativePool, { zeroForOne: true, exactInput: true, amount: parseEther('0.25'), value: parseEther('0.25') })).transactionHash, t)
        record('pancakeswap-v3', (await pancake.swap(t, pancake.pools[0]!, pancake.tokens.cake.address, parseEther('2'))).transactionHash, t)
        record('curve', (await curve.swap(t, { pool: stable.address, i: dai, j: dai === 0 ? 1 : 0, dx: parseEther('100') })).transactionHash, t)
        const bp = balancer.pools[0]!
        record('balancer-v2', (await balancer.swap(t, bp, balancer.tokens.weth.address, balancer.tokens.usdc.address, parseEther('0.5'))).transactionHash, t)
        record('velodrome-v1', (await velodrome.swap(t, velodrome.pools[0]!, velodrome.tokens.weth.address, parseEther('0.1'))).transactionHash, t)
        record('aerodrome', (await aerodrome.swap(t, aerodrome.pools[1]!, aerodrome.tokens.usdc.address, 50_000_000n)).transactionHash, t)
      }
      // One more block: with one confirmation, the last swap's block is then final.
      await createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) }).mine({ blocks: 1 })
      const head = await client.getBlockNumber({ cacheTime: 0 })
      await waitForCheckpoints(monitor.workers, new Map([[anvil.chainId, head - 1n]]))

      // Every swap once, under its DEX, attributed to the trader's account.
      const rows = await monitor.pool.query<{ dex_name: string; tx_hash: string; trader: string; account: string | null }>(
        'SELECT dex_name, tx_hash, trader, account FROM swaps ORDER BY block_number, log_index',
      )
      const stored = new Map<string, { tx: string; trader: string; account: string | null }[]>()
      for (const r of rows.rows) stored.set(r.dex_name, [...(stored.get(r.dex_name) ?? []), { tx: r.tx_hash, trader: r.trader, account: r.account }])
      expect((await monitor.pool.query('SELECT tx_hash, reason FROM rejected_logs')).rows).toEqual([])
      expect([...stored.keys()].sort()).toEqual([...made.keys()].sort())
      for (const [dex, swaps] of made) {
        expect(stored.get(dex)!.map((s) => s.tx)).toEqual(swaps.map((s) => s.tx))
        expect(stored.get(dex)!.map((s) => s.account)).toEqual(swaps.map((s) => ACCOUNTS[traders.findIndex((t) => t.address.toLowerCase() === s.trader)]))
      }
      expect(rows.rows).toHaveLength(traders.length * 7)

      // Positions: every token of every deployment and ether, equal to the chain's balances.
      const expected = new Map<string, bigint>()
      for (const [i, t] of traders.entries()) {
        const ether = await client.getBalance({ address: t.address, blockNumber: head - 1n })
        expected.set(`${ACCOUNTS[i]!}|${NATIVE_TOKEN}`, ether)
        for (const token of allTokens()) {
          const b = await client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [t.address], blockNumber: head - 1n })
          if (b !== 0n) expected.set(`${ACCOUNTS[i]!}|${token}`, b)
        }
      }
      const positions = await monitor.pool.query<{ account: string; token: string; quantity: string }>('SELECT account, token, quantity::text FROM positions WHERE quantity <> 0')
      expect(new Map(positions.rows.map((p) => [`${p.account}|${p.token}`, BigInt(p.quantity)]))).toEqual(expected)
      expect(expected.size).toBeGreaterThanOrEqual(2 * 10)
    } finally {
      await monitor.close()
    }
  }, 300_000)
})
