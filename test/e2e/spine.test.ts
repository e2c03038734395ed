import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { runRandomTraders } from '../../src/world/traders.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { checkpointKey } from '../../src/read-model/keys.ts'
import { DEFAULT_METRICS_PORT } from '../../src/metrics/metrics-server.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { waitUntil } from '../setup/wait-until.ts'
import { expectedPositions, headBlocks, startLocalWorlds, storedPositions, type LocalWorlds } from '../setup/worlds.ts'

const SHARDS = 2
let w: LocalWorlds

/** Listens on `port` of 127.0.0.1 (0: a free one); resolves to the server, or null when the port is taken. */
function listenOn(port: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)))
    s.listen(port, '127.0.0.1', () => resolve(s))
  })
}

const closeServer = (s: Server | null): Promise<void> => new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()))

/** A port nothing listens on right now (the OS's pick for port 0). */
async function freePort(): Promise<number> {
  const s = (await listenOn(0))!
  const port = (s.address() as { port: number }).port
  await closeServer(s)
  return port
}

beforeAll(async () => {
  w = await startLocalWorlds({ traders: 4 })
})
afterAll(async () => {
  await w?.stop()
})

/** Swap events the world's pools emitted after the ready block, counted straight from the chain. */
async function onChainSwapCount(heads: Map<number, bigint>): Promise<number> {
  let n = 0
  for (const world of w.worlds) {
    const client = createPublicClient({ transport: http(world.rpcUrl) })
    const logs = await client.request({
      method: 'eth_getLogs',
      params: [{ fromBlock: `0x${(world.readyBlock).toString(16)}`, toBlock: `0x${heads.get(world.chainId)!.toString(16)}`, topics: [[V2_SWAP_TOPIC, V3_SWAP_TOPIC]] }],
    } as never) as { address: string }[]
    const pools = new Set(world.pools.map((p) => p.address.toLowerCase()))
    n += logs.filter((l) => pools.has(l.address.toLowerCase())).length
  }
  return n
}

describe('the spine, end to end on two local chains', () => {
  it('stores positions equal, to the wei, to the token and ether balances of every account on both chains', async () => {
    const db = await startEmbeddedDatabase()
    try {
      const prefix = uniquePrefix()
      const config = parseConfig(worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix }), {})
      const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }) })
      try {
        const runs = await Promise.all(w.worlds.map((world, i) => runRandomTraders(world, { traders: w.traders[i]!, swaps: 150, seed: 11 + i })))
        for (const r of runs) {
          expect(r.swapsSent).toBe(150)
          expect(Object.keys(r.swapsByKind).length).toBeGreaterThanOrEqual(4)
        }
        const heads = await headBlocks(w)
        await waitForCheckpoints(monitor.workers, heads)
        const stored = await storedPositions((q) => monitor.pool.query(q))
        const expected = await expectedPositions(w, heads)
        expect(expected.size).toBeGreaterThanOrEqual(16)
        expect(stored).toEqual(expected)
        const swaps = await monitor.pool.query<{ n: string; trades: string }>('SELECT count(*) AS n, count(account) AS trades FROM swaps')
        const onChain = await onChainSwapCount(heads)
        expect(onChain).toBeGreaterThanOrEqual(300)
        expect(Number(swaps.rows[0]!.n)).toBe(onChain)
        expect(Number(swaps.rows[0]!.trades)).toBe(onChain)
      } finally {
        await monitor.close()
      }
      // The shard count is now fixed for this database: a start with another count is refused.
      const other = parseConfig(worldConfig(w.named, { accounts: w.accounts, shards: SHARDS + 1, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix }), {})
      const refused = startMonitor({ common: createCommon(other, { log: createLogger({ level: 'silent' }) }), chains: [], shards: [] })
      await expect(refused).rejects.toThrow(`this database was set up with ${SHARDS} shards and the config asks for ${SHARDS + 1}`)
      const redis = new Redis(TEST_REDIS_URL)
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
    } finally {
      await db.stop()
    }
  })

  it('ends with exactly the on-chain positions after the monitor process is killed (SIGKILL) mid-run and restarted', async () => {
    const db = await startEmbeddedDatabase()
    const dir = await mkdtemp(join(tmpdir(), 'dexrisk-kill-'))
    const prefix = uniquePrefix()
    const redis = new Redis(TEST_REDIS_URL)
    // Another program holds the default metrics port (when nothing else already does): the monitor
    // under test is given a free port of its own, so it runs whatever holds 9464.
    const squatter = await listenOn(DEFAULT_METRICS_PORT)
    const metricsPort = await freePort()
    let child: ChildProcess | undefined
    let output = ''
    try {
      const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
      for (const c of Object.values(input.chains)) c.maxBlockRange = 8
      const configFile = join(dir, 'dexrisk.config.mjs')
      await writeFile(configFile, `export default ${JSON.stringify(input, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`)
      const start = (): ChildProcess => {
        const p = spawn(process.execPath, ['bin/dexrisk.js', 'run', '--config', configFile, '--metrics-port', String(metricsPort)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEXRISK_LOG_LEVEL: 'info' } })
        p.stdout?.on('data', (d: Buffer) => (output += d.toString()))
        p.stderr?.on('data', (d: Buffer) => (output += d.toString()))
        return p
      }
      const applied = async (): Promise<Map<number, bigint>> => {
        const out = new Map<number, bigint>()
        for (let s = 0; s < SHARDS; s++) {
          const h = await redis.hgetall(checkpointKey(prefix, s))
          for (const world of w.worlds) {
            const b = h[String(world.chainId)] === undefined ? -1n : BigInt(h[String(world.chainId)]!)
            const prev = out.get(world.chainId)
            out.set(world.chainId, prev === undefined || b < prev ? b : prev)
          }
        }
        return out
      }

      child = start()
      const trading = Promise.all(w.worlds.map((world, i) => runRandomTraders(world, { traders: w.traders[i]!, swaps: 120, seed: 21 + i })))
      // Kill it once it has applied part of the history, wherever it is (maybe inside a transaction).
      const alive = (): void => {
        if (child?.exitCode !== null) throw new Error(`dexrisk run exited with ${child?.exitCode}:\n${output.slice(-3000)}`)
      }
      await waitUntil('part of the history is applied', async () => {
        alive()
        const a = await applied()
        return w.worlds.every((world) => (a.get(world.chainId) ?? -1n) >= world.readyBlock + 40n)
      })
      child.kill('SIGKILL')
      await new Promise((r) => child!.once('exit', r))
      const atKill = await applied()

      child = start()
      await trading
      const heads = await headBlocks(w)
      // The kill really was mid-run: blocks were left to apply after it.
      expect(w.worlds.some((world) => atKill.get(world.chainId)! < heads.get(world.chainId)!)).toBe(true)
      await waitUntil('the restarted monitor applies every block', async () => {
        alive()
        const a = await applied()
        return w.worlds.every((world) => a.get(world.chainId)! >= heads.get(world.chainId)!)
      })
      child.kill('SIGTERM')
      const code = await new Promise<number | null>((r) => child!.once('exit', r))
      expect(code).toBe(0)

      const pool = createPool({ url: db.url, max: 1 })
      try {
        const stored = await storedPositions((q) => pool.query(q))
        const expected = await expectedPositions(w, heads)
        expect(stored).toEqual(expected)
        const swaps = await pool.query<{ n: string }>('SELECT count(*) AS n FROM swaps')
        expect(Number(swaps.rows[0]!.n)).toBe(await onChainSwapCount(heads))
        const dupes = await pool.query<{ n: string }>('SELECT count(*) AS n FROM (SELECT chain_id, tx_hash, log_index FROM account_trades GROUP BY 1, 2, 3 HAVING count(*) > 1) d')
        expect(dupes.rows[0]!.n).toBe('0')
      } finally {
        await pool.end()
      }
    } catch (err) {
      process.stderr.write(`dexrisk run output (last 5000 chars):\n${output.slice(-5000)}\n`)
      throw err
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL')
      await cleanupPrefix(redis, prefix)
      redis.disconnect()
      await closeServer(squatter)
      await db.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

