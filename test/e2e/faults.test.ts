import { Redis } from 'ioredis'
import type pg from 'pg'
import { createPublicClient, encodeFunctionData, erc20Abi, http, isAddressEqual, maxUint256, parseAbi, parseEventLogs, type Address, type Hex, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createCommon } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import type { ConfigInput } from '../../src/config/schema.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { migrate } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import { startRedisServer, type RedisServer } from '../../src/db/redis.ts'
import { decodeBatch, type EncodedBatch } from '../../src/queue/batch.ts'
import { startMonitor, type Monitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { v2RouterAbi } from '../../src/world/abis.ts'
import { noDecimalsTokenAbi } from '../../src/world/contracts/noDecimalsToken.ts'
import { deployNoDecimalsToken } from '../../src/world/deployNoDecimalsToken.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { worldArtifacts } from '../../src/world/artifacts.ts'
import type { World } from '../../src/world/deploy.ts'
import { sortTokens, v2PairAddress } from '../../src/world/poolMath.ts'
import { createSender, waitForReceipts } from '../../src/world/sender.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { captureLog, type CapturedLog, type LogEntry } from '../setup/capture-log.ts'
import { deployMalformedSwapEmitter, type MalformedSwapEmitter } from '../setup/malformed-swap-emitter.ts'
import { startRpcProxy, type RpcFault, type RpcProxy } from '../setup/rpc-proxy.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { ACCOUNT_NAMES, expectedPositions, headBlocks, startLocalWorlds, startTrading as startWorldTrading, storedPositions, type LocalWorlds, type Trading } from '../setup/worlds.ts'

const SHARDS = 2
/** Swaps per chain in one round of random trading; a case trades round after round until it has healed its fault. */
const ROUND_SWAPS = 12
/** alice … dave trade at random; erin is kept for the hand-made swaps of the NoDecimals case. */
const RANDOM_TRADERS = 4

let w: LocalWorlds
/** Tokens a case added to a world: their balances count like the world tokens ( `since`: the block the trader was funded at). */
const extraTokens: { chainId: number; token: Address; since: bigint }[] = []
/** Pools a case added to a world: their Swap logs count like the world's own. */
const extraPools: { chainId: number; address: Address }[] = []
let nextSeed = 500

beforeAll(async () => {
  w = await startLocalWorlds({ traders: RANDOM_TRADERS + 1, chainIds: [17301, 17302] })
})
afterAll(async () => {
  await w?.stop()
})

/** alice … dave swap at random through the real routers on both chains, round after round. */
function startTrading(): Trading {
  return startWorldTrading(w, { traders: RANDOM_TRADERS, roundSwaps: ROUND_SWAPS, seed: () => nextSeed++ })
}

type CaseContext = { db: EmbeddedDatabase; monitor: Monitor; logs: CapturedLog }

/**
 * One fault case: the monitor in-process (2 shards, a fresh queue prefix, the case's own embedded
 * database) while alice … dave trade; `inject` causes the fault and heals it while they trade;
 * then one more round of swaps, the workers catch up to the heads, and nothing may be lost or
 * doubled: positions equal the balanceOf changes to the wei and the stored swaps are exactly the
 * Swap logs on chain.
 */
async function runFaultCase(opts: {
  redisUrl?: string
  tune?: (input: ConfigInput) => void
  before?: (db: EmbeddedDatabase) => Promise<void>
  inject: (ctx: CaseContext) => Promise<void>
  check?: (ctx: CaseContext & { heads: Map<number, bigint> }) => Promise<void>
}): Promise<void> {
  const db = await startEmbeddedDatabase()
  const prefix = uniquePrefix()
  try {
    await opts.before?.(db)
    const input = worldConfig(w.named, {
      accounts: w.accounts,
      shards: SHARDS,
      databaseUrl: db.url,
      redisUrl: opts.redisUrl ?? TEST_REDIS_URL,
      queuePrefix: prefix,
    })
    opts.tune?.(input)
    const logs = captureLog('warn')
    const monitor = await startMonitor({ common: createCommon(parseConfig(input, {}), { log: logs.logger }) })
    let trading: Trading | undefined
    try {
      const atStart = await headBlocks(w)
      trading = startTrading()
      // The fault comes once the monitor has caught up with the history and follows live trading.
      await waitUntil('the indexers reach the heads at start', () => monitor.indexers.every((ix) => ix.cursor() >= atStart.get(ix.chainId)!))
      // …and every shard has applied both chains up to there (its checkpoints are loaded), so the
      // fault meets the steady state, not a first batch, however loaded the machine is.
      await waitForCheckpoints(monitor.workers, atStart, 60_000)
      const ctx = { db, monitor, logs }
      await opts.inject(ctx)
      await trading.oneMoreRound()
      await trading.stop()
      const heads = await headBlocks(w)
      await waitForCheckpoints(monitor.workers, heads, 60_000)
      await expectNothingLostOrDoubled(monitor.pool, heads)
      // A fault is not a reorg: none may be recorded (nor rolled back).
      expect((await monitor.pool.query('SELECT chain_id, fork_block, published_to FROM chain_reorgs')).rows).toEqual([])
      // No part gave up: no shard stopped, no indexer stopped.
      expect(logs.entries.filter((e) => e.level >= 60)).toEqual([])
      await opts.check?.({ ...ctx, heads })
    } catch (err) {
      process.stderr.write(`warnings logged in this case:\n${logs.entries.map((e) => JSON.stringify(e)).join('\n').slice(-6000)}\n`)
      throw err
    } finally {
      await trading?.stop().catch(() => {})
      await monitor.close()
    }
  } finally {
    await db.stop()
    // The shared Redis keeps nothing of a case (a case's own redis-server goes with it).
    if (opts.redisUrl === undefined) {
      const redis = new Redis(TEST_REDIS_URL)
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
    }
  }
}

async function expectNothingLostOrDoubled(pool: pg.Pool, heads: Map<number, bigint>): Promise<void> {
  const expected = await expectedPositionsWithExtras(heads)
  expect(expected.size).toBeGreaterThanOrEqual(16)
  expect(await storedPositions((q) => pool.query(q))).toEqual(expected)
  const onChain = await onChainSwapCount(heads)
  const swaps = await pool.query<{ n: string; keys: string; trades: string }>(
    `SELECT count(*) AS n, (SELECT count(*) FROM (SELECT DISTINCT chain_id, tx_hash, log_index FROM swaps) d) AS keys,
       (SELECT count(*) FROM account_trades) AS trades FROM swaps`,
  )
  expect(swaps.rows[0]).toEqual({ n: String(onChain), keys: String(onChain), trades: String(onChain) })
}

/** expectedPositions of the world tokens and ether, plus the balances of the tokens cases added. */
async function expectedPositionsWithExtras(heads: Map<number, bigint>): Promise<Map<string, bigint>> {
  const out = await expectedPositions(w, heads)
  for (const x of extraTokens) {
    const world = w.worlds.find((wd) => wd.chainId === x.chainId)!
    const client = createPublicClient({ transport: http(world.rpcUrl) })
    for (const [i, wallet] of w.wallets.entries()) {
      const at = (blockNumber: bigint) => client.readContract({ address: x.token, abi: erc20Abi, functionName: 'balanceOf', args: [wallet], blockNumber })
      const balance = await at(heads.get(x.chainId)!)
      if (balance !== 0n) out.set(`${ACCOUNT_NAMES[i]}|${x.chainId}|${x.token}`, balance)
    }
  }
  return out
}

/** Swap events of the world's pools (and the pools cases added) since the ready block, counted on chain. */
async function onChainSwapCount(heads: Map<number, bigint>): Promise<number> {
  let n = 0
  for (const world of w.worlds) {
    const logs = await swapLogs(world.rpcUrl, world.readyBlock, heads.get(world.chainId)!)
    const pools = new Set([...world.pools.map((p) => p.address.toLowerCase()), ...extraPools.filter((p) => p.chainId === world.chainId).map((p) => p.address)])
    n += logs.filter((l) => pools.has(l.address.toLowerCase())).length
  }
  return n
}

async function swapLogs(rpcUrl: string, from: bigint, to: bigint): Promise<{ address: string; blockNumber: Hex }[]> {
  const client = createPublicClient({ transport: http(rpcUrl) })
  return (await client.request({
    method: 'eth_getLogs',
    params: [{ fromBlock: `0x${from.toString(16)}`, toBlock: `0x${to.toString(16)}`, topics: [[V2_SWAP_TOPIC, V3_SWAP_TOPIC]] }],
  } as never)) as { address: string; blockNumber: Hex }[]
}

const since = (logs: CapturedLog, mark: number): LogEntry[] => logs.entries.slice(mark)

describe('faults: each gets a clear warning and loses nothing', () => {
  it('retries the same block range through an RPC whose eth_getLogs stalls past rpcTimeoutMs, then one that answers 500, then 429, and skips no block', async () => {
    const proxies = new Map<string, RpcProxy>()
    for (const { name, world } of w.named) proxies.set(name, await startRpcProxy(world.rpcUrl))
    // A provider's eth_getLogs timing out while lighter calls answer is the common real case; the
    // 500s and 429s then hit every request.
    const faults: { fault: Exclude<RpcFault, 'none'>; methods?: string[]; named: RegExp }[] = [
      // Each names the JSON-RPC method, the status and the endpoint (viem's first line names none).
      { fault: 'stall', methods: ['eth_getLogs'], named: /^The request took too long to respond\. \(method [A-Za-z_, ]*eth_getLogs[A-Za-z_, ]*; at http:\/\/127\.0\.0\.1:\d+\/\S*\)$/ },
      { fault: 'http-500', named: /^HTTP request failed\. \(method [A-Za-z_, ]+; HTTP status 500; at http:\/\/127\.0\.0\.1:\d+\/\S*\)$/ },
      { fault: 'http-429', named: /^HTTP request failed\. \(method [A-Za-z_, ]+; HTTP status 429; at http:\/\/127\.0\.0\.1:\d+\/\S*\)$/ },
    ]
    const windows: { fault: string; warnings: LogEntry[] }[] = []
    try {
      await runFaultCase({
        tune: (input) => {
          for (const [name, c] of Object.entries(input.chains)) {
            c.rpcUrls = [proxies.get(name)!.url]
            // Every call times out after this, not only the stalled ones: short enough for a fast
            // test, long enough that a healthy call on a loaded machine does not.
            c.rpcTimeoutMs = 1_500
          }
        },
        inject: async ({ monitor, logs }) => {
          for (const { fault, methods } of faults) {
            const mark = logs.entries.length
            for (const p of proxies.values()) p.fault(fault, { methods })
            // On until the indexer of each chain has failed and retried at least twice.
            await waitUntil(`each indexer retried twice through ${fault}`, () =>
              w.named.every(({ name }) => since(logs, mark).filter((e) => e.chain === name && /retrying/.test(e.msg)).length >= 2),
            )
            for (const p of proxies.values()) p.fault('none')
            windows.push({ fault, warnings: since(logs, mark) })
            // Healed: each indexer publishes again before the next fault.
            const healedAt = new Map(monitor.indexers.map((ix) => [ix.chainId, ix.cursor()]))
            await waitUntil(`the indexers publish again after ${fault}`, () => monitor.indexers.every((ix) => ix.cursor() > healedAt.get(ix.chainId)!))
          }
        },
      })
      for (const p of proxies.values()) for (const { fault } of faults) expect(p.faulted[fault]).toBeGreaterThanOrEqual(2)
      // Each warning names the chain and the fault; while eth_getLogs stalled, every retry was of one
      // and the same block range, the one after the last range published.
      for (const { fault, warnings } of windows)
        for (const { name, world } of w.named) {
          const mine = warnings.filter((e) => e.chain === name && e.chainId === world.chainId && /retrying/.test(e.msg))
          expect(mine.length, `${fault} on ${name}`).toBeGreaterThanOrEqual(2)
          expect(mine.some((e) => faults.find((f) => f.fault === fault)!.named.test(String(e.err))), `${fault} on ${name}: ${JSON.stringify(mine)}`).toBe(true)
          if (fault !== 'stall') continue
          const ranges = mine.filter((e) => e.msg === 'processing a block range failed, retrying the same range')
          expect(ranges.length, JSON.stringify(mine)).toBeGreaterThanOrEqual(2)
          expect(new Set(ranges.map((e) => `${e.from}-${e.to}`)).size, JSON.stringify(ranges)).toBe(1)
          // Consecutive attempts at that one range (a healthy call may have timed out just before).
          const attempts = ranges.map((e) => Number(e.attempt))
          expect(attempts).toEqual(attempts.map((_, i) => attempts[0]! + i))
        }
    } finally {
      for (const p of proxies.values()) await p.close()
    }
  })

  it('reads a block range a provider refuses as too large in halves, and skips no block', async () => {
    const proxies = new Map<string, RpcProxy>()
    for (const { name, world } of w.named) {
      const p = await startRpcProxy(world.rpcUrl)
      p.logRangeLimit = 16
      proxies.set(name, p)
    }
    try {
      await runFaultCase({
        tune: (input) => {
          for (const [name, c] of Object.entries(input.chains)) {
            c.rpcUrls = [proxies.get(name)!.url]
            c.maxBlockRange = 64
          }
        },
        inject: async () => {},
        check: async ({ logs }) => {
          for (const { name } of w.named) {
            expect(proxies.get(name)!.refusedLogRanges).toBeGreaterThanOrEqual(1)
            const splits = logs.entries.filter((e) => e.chain === name && e.msg === 'provider refused the block range as too large; reading it in halves')
            expect(splits.length).toBeGreaterThanOrEqual(1)
            for (const x of splits) {
              expect(Number(x.to) - Number(x.from) + 1).toBeGreaterThan(16)
              // viem names JSON-RPC -32005 LimitExceededRpcError: "Request exceeds defined limit."
              expect(String(x.err)).toMatch(/^Request exceeds defined limit\.|more than 10000 results/)
            }
          }
        },
      })
    } finally {
      for (const p of proxies.values()) await p.close()
    }
  })

  it('loses no batch when Redis restarts empty with published batches not yet applied', async () => {
    const redis: RedisServer = await startRedisServer()
    try {
      let lostJobs: { shard: number; chainId: number; fromBlock: bigint }[] = []
      await runFaultCase({
        redisUrl: redis.url,
        inject: async ({ monitor }) => {
          const queues = Array.from({ length: SHARDS }, (_, s) => monitor.publisher!.queue(s))
          // A real BullMQ pause holds the workers back, so that Redis goes down with batches published
          // and not yet applied (what a backlog under load looks like), on every shard and both chains.
          await Promise.all(queues.map((q) => q.pause()))
          await waitUntil('every shard has queued batches of both chains', async () => {
            const jobs = await Promise.all(queues.map((q) => q.getJobs(['wait'])))
            return jobs.every((js) => new Set(js.map((j) => (j.data as EncodedBatch).chainId)).size === w.worlds.length)
          })
          const queued = await Promise.all(queues.map((q) => q.getJobs(['wait'])))
          lostJobs = queued.flat().map((j) => decodeBatch(j.data as EncodedBatch)).map((b) => ({ shard: b.shard, chainId: b.chainId, fromBlock: b.fromBlock }))
          expect(lostJobs.length).toBeGreaterThanOrEqual(SHARDS * w.worlds.length)
          // Kept nothing on disk: every queued batch (and the pause) goes with it.
          await redis.restart()
        },
        check: async ({ logs }) => {
          // The loss was seen and healed, with warnings naming the chain and the blocks published again.
          for (const { name, world } of w.named) {
            const firstLost = lostJobs.filter((j) => j.chainId === world.chainId).reduce((m, j) => (j.fromBlock < m ? j.fromBlock : m), 2n ** 64n)
            const rewinds = logs.matching(/published again/, { chain: name, chainId: world.chainId })
            expect(rewinds.length, JSON.stringify(logs.entries)).toBeGreaterThanOrEqual(1)
            expect(rewinds.some((e) => e.from === firstLost.toString()), `${name}: first lost block ${firstLost}: ${JSON.stringify(rewinds)}`).toBe(true)
          }
        },
      })
    } finally {
      await redis.stop()
    }
  })

  it('retries in place while the database is down for a few seconds: the workers their batches, the indexer its range with a new pool', async () => {
    const world = w.worlds[0]!
    const name = w.named[0]!.name
    let pair: { address: Address; block: bigint } | undefined
    await runFaultCase({
      inject: async ({ db, monitor, logs }) => {
        const queues = Array.from({ length: SHARDS }, (_, s) => monitor.publisher!.queue(s))
        // Batches are queued on every shard when the database goes (a BullMQ pause holds them), so
        // that each worker has a batch to write while it is down.
        await Promise.all(queues.map((q) => q.pause()))
        await waitUntil('every shard has a queued batch', async () => (await Promise.all(queues.map((q) => q.getJobCountByTypes('wait')))).every((n) => n >= 1))
        const mark = logs.entries.length
        await db.suspend()
        const suspendedAt = Date.now()
        // A pool created while the database is down: the indexer must store it before it publishes its range.
        pair = await createV2Pair(world, world.tokens.find((t) => t.symbol === 'DAI')!.address, world.usdc.address)
        await Promise.all(queues.map((q) => q.resume()))
        await waitUntil('every shard retried writing its batch twice, and the indexer its range', () => {
          const warnings = since(logs, mark)
          const shardsRetried = Array.from({ length: SHARDS }, (_, s) => s).every(
            (s) => warnings.filter((e) => e.shard === s && /writing batch: database unavailable/.test(e.msg)).length >= 2,
          )
          const indexerRetried = warnings.some((e) => e.chain === name && /retrying the same range/.test(e.msg))
          // Down for a few seconds at least, whatever the retries.
          return shardsRetried && indexerRetried && Date.now() - suspendedAt >= 3_000
        })
        await db.resume()
      },
      check: async ({ monitor, logs }) => {
        const dbWhere = new URL(monitor.databaseUrl).host
        for (let s = 0; s < SHARDS; s++) {
          const warnings = logs.matching(/^writing batch: database unavailable, retrying$/, { shard: s })
          expect(warnings.length).toBeGreaterThanOrEqual(2)
          // Each names the chain and the batch's first block, and the fault.
          for (const e of warnings) {
            expect(w.worlds.map((x) => x.chainId)).toContain(e.chain)
            expect(String(e.block)).toMatch(/^\d+$/)
            expect(String(e.err).split('\n')[0]).toMatch(new RegExp(`^RetryableError: database at ${dbWhere} (refused the connection|is unavailable)$`))
          }
        }
        const indexer = logs.matching(/^processing a block range failed, retrying the same range$/, { chain: name, chainId: world.chainId })
        expect(indexer.length).toBeGreaterThanOrEqual(1)
        for (const e of indexer) expect(e.err).toMatch(new RegExp(`^database at ${dbWhere} (refused the connection|is unavailable)$`))
        // The pool the indexer had to store while the database was down is there.
        const pools = await monitor.pool.query('SELECT created_block::text AS created_block FROM pools WHERE chain_id = $1 AND address = $2', [world.chainId, pair!.address])
        expect(pools.rows).toEqual([{ created_block: pair!.block.toString() }])
      },
    })
  })

  it('keeps exact amounts of a token whose decimals() reverts, stores its decimals as NULL with the reason, and never prices it', async () => {
    const world = w.worlds[0]!
    const name = w.named[0]!.name
    const erin = w.traders[0]![RANDOM_TRADERS]!
    const weth = world.weth.address.toLowerCase() as Address
    let token: Address = '0x'
    let pair: Address = '0x'
    const swapsByErin: TransactionReceipt[] = []
    await runFaultCase({
      inject: async () => {
        // The token and its pair are created while the monitor runs: the indexer finds the pair live.
        const deployed = await deployNoDecimalsToken(world, { pair: { with: world.weth, amounts: [10n ** 24n, 10n ** 21n] } })
        token = deployed.address.toLowerCase() as Address
        pair = deployed.pool!.address.toLowerCase() as Address
        extraPools.push({ chainId: world.chainId, address: pair })
        const client = createPublicClient({ transport: http(world.rpcUrl) })
        const sender = await createSender({ client, account: erin, chainId: world.chainId })
        const mined = async (hashes: Promise<Hex>[]): Promise<TransactionReceipt[]> => {
          const receipts = await waitForReceipts(client, await Promise.all(hashes), { senders: [sender] })
          for (const r of receipts) expect(r.status).toBe('success')
          return receipts
        }
        const funded = await mined([
          sender.send({ to: token, data: encodeFunctionData({ abi: noDecimalsTokenAbi, functionName: 'mint', args: [erin.address, 10n ** 22n] }), gas: 100_000n }),
          sender.send({ to: token, data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [world.v2.router, maxUint256] }), gas: 100_000n }),
        ])
        extraTokens.push({ chainId: world.chainId, token, since: funded[1]!.blockNumber })
        const swap = (path: [Address, Address], amountIn: bigint) =>
          sender.send({
            to: world.v2.router,
            data: encodeFunctionData({ abi: v2RouterAbi, functionName: 'swapExactTokensForTokens', args: [amountIn, 0n, path, erin.address, maxUint256] }),
            gas: 300_000n,
          })
        swapsByErin.push(...(await mined([swap([token, weth], 3n * 10n ** 20n)])))
        swapsByErin.push(...(await mined([swap([weth, token], 10n ** 17n)])))
        swapsByErin.push(...(await mined([swap([token, weth], 7n * 10n ** 19n + 12_345n)])))
      },
      check: async ({ monitor, logs }) => {
        const swaps = await monitor.pool.query(
          `SELECT tx_hash, token_in, token_out, decimals_in, decimals_out, account FROM swaps WHERE chain_id = $1 AND pool = $2 ORDER BY block_number`,
          [world.chainId, pair],
        )
        expect(swaps.rows).toEqual([
          { tx_hash: swapsByErin[0]!.transactionHash, token_in: token, token_out: weth, decimals_in: null, decimals_out: 18, account: 'erin' },
          { tx_hash: swapsByErin[1]!.transactionHash, token_in: weth, token_out: token, decimals_in: 18, decimals_out: null, account: 'erin' },
          { tx_hash: swapsByErin[2]!.transactionHash, token_in: token, token_out: weth, decimals_in: null, decimals_out: 18, account: 'erin' },
        ])
        // Its quantity is exact (checked with every position against balanceOf): the 10,000 minted
        // to erin (a logged transfer in) plus what her swaps moved.
        const position = await monitor.pool.query<{ quantity: string }>('SELECT quantity::text AS quantity FROM positions WHERE account = $1 AND chain_id = $2 AND token = $3', [
          'erin',
          world.chainId,
          token,
        ])
        expect(position.rows).toEqual([{ quantity: String(10n ** 22n + boughtBy(swapsByErin[1]!, token, erin.address) - 3n * 10n ** 20n - (7n * 10n ** 19n + 12_345n)) }])
        const tokens = await monitor.pool.query('SELECT decimals, symbol, error FROM tokens WHERE chain_id = $1 AND address = $2', [world.chainId, token])
        expect(tokens.rows).toEqual([{ decimals: null, symbol: 'NODEC', error: 'decimals() reverted or returned no data' }])
        // Unpriced: no price observation of its pool, no price in any shard's cache.
        const prices = await monitor.pool.query<{ n: string }>('SELECT count(*) AS n FROM prices WHERE chain_id = $1 AND (pool = $2 OR base = $3 OR quote = $3)', [world.chainId, pair, token])
        expect(prices.rows).toEqual([{ n: '0' }])
        for (const worker of monitor.workers) expect(worker.state().priceCaches.get(world.chainId)?.usd(token) ?? null).toBeNull()
        // The warning names the chain and the token, and says what it means.
        const warned = logs.matching(/decimals\(\) unreadable: amounts kept raw, token unpriced/, { chain: name, chainId: world.chainId, token })
        expect(warned).toHaveLength(1)
        expect(warned[0]!.err).toBe('decimals() reverted or returned no data')
      },
    })
  })

  it('keeps an undecodable Swap log of a known pool in rejected_logs, naming chain, block, tx and log index, and indexes on', async () => {
    const world = w.worlds[0]!
    const name = w.named[0]!.name
    let emitter: MalformedSwapEmitter | undefined
    let receipt: TransactionReceipt | undefined
    await runFaultCase({
      before: async (db) => {
        emitter = await deployMalformedSwapEmitter(world.rpcUrl, world.chainId)
        const pool = createPool({ url: db.url, max: 1 })
        try {
          await migrate(pool)
          // As if the world's V2 factory had created a WETH/USDC pair at the emitter's address: the
          // indexer takes it for a known pool and decodes its Swap-topic logs.
          const [token0, token1] = sortTokens(world.weth.address, world.usdc.address).map((a) => a.toLowerCase())
          await pool.query(
            `INSERT INTO pools (chain_id, address, dex_family, dex_name, token0, token1, fee, created_block) VALUES ($1, $2, 'uniswap-v2', 'uniswap-v2', $3, $4, NULL, $5)`,
            [world.chainId, emitter.address, token0, token1, emitter.deployBlock.toString()],
          )
        } finally {
          await pool.end()
        }
      },
      inject: async () => {
        receipt = await emitter!.emit()
        expect(receipt.logs.map((l) => [l.address.toLowerCase(), l.topics[0], (l.data.length - 2) / 64])).toEqual([[emitter!.address, V2_SWAP_TOPIC, 3]])
      },
      check: async ({ monitor, logs, heads }) => {
        const r = receipt!
        const logIndex = r.logs[0]!.logIndex
        const rejected = await monitor.pool.query('SELECT chain_id, block_number, tx_hash, log_index, address, reason FROM rejected_logs')
        expect(rejected.rows).toHaveLength(1)
        const row = rejected.rows[0] as { chain_id: number; block_number: string; tx_hash: string; log_index: number; address: string; reason: string }
        expect({ ...row, reason: undefined }).toEqual({
          chain_id: world.chainId,
          block_number: r.blockNumber.toString(),
          tx_hash: r.transactionHash,
          log_index: logIndex,
          address: emitter!.address,
          reason: undefined,
        })
        const where = `(chain ${world.chainId}, block ${r.blockNumber}, tx ${r.transactionHash}, log ${logIndex}, pool ${emitter!.address})`
        expect(row.reason.split('\n')[0]).toBe(`undecodable Swap ${where}`)
        const logged = logs.matching(/undecodable log kept in rejected_logs/, { chain: name, chainId: world.chainId })
        expect(logged).toHaveLength(1)
        expect(String(logged[0]!.err)).toContain(where)
        // It carried on: the swaps after the bad log are all stored (the total is checked above too).
        const after = (await swapLogs(world.rpcUrl, r.blockNumber + 1n, heads.get(world.chainId)!)).filter((l) => l.address.toLowerCase() !== emitter!.address)
        expect(after.length).toBeGreaterThanOrEqual(ROUND_SWAPS)
        const stored = await monitor.pool.query<{ n: string }>('SELECT count(*) AS n FROM swaps WHERE chain_id = $1 AND block_number > $2', [world.chainId, r.blockNumber.toString()])
        expect(stored.rows).toEqual([{ n: String(after.length) }])
      },
    })
  })
})

/** Amount of `token` a receipt's ERC20 transfers paid to `to`. */
function boughtBy(receipt: TransactionReceipt, token: Address, to: Address): bigint {
  return parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs })
    .filter((l) => isAddressEqual(l.address, token) && isAddressEqual(l.args.to, to))
    .reduce((n, l) => n + l.args.value, 0n)
}

/** Creates an empty Uniswap V2 pair through the world's real factory (from anvil account 0). */
async function createV2Pair(world: World, a: Address, b: Address): Promise<{ address: Address; block: bigint }> {
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const sender = await createSender({ client, account: anvilAccount(0), chainId: world.chainId })
  const data = encodeFunctionData({ abi: parseAbi(['function createPair(address tokenA, address tokenB) returns (address pair)']), functionName: 'createPair', args: [a, b] })
  const [receipt] = await waitForReceipts(client, [await sender.send({ to: world.v2.factory, data, gas: 3_000_000n })], { senders: [sender] })
  expect(receipt!.status).toBe('success')
  const address = v2PairAddress(world.v2.factory, worldArtifacts().v2PairInitCodeHash, a, b).toLowerCase() as Address
  return { address, block: receipt!.blockNumber }
}
