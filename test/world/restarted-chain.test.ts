/**
 * A local chain started again under the same chain id is another chain: a database that indexed
 * the first must refuse it at start, naming the chain and block, instead of waiting for it forever
 * (createIndexer's history check). A chain that only reorganised while no monitor ran is the same
 * chain, and is followed.
 */
import { Redis } from 'ioredis'
import type { Address } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { ConfigError } from '../../src/errors.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const CHAIN_ID = 17301
let anvil: AnvilInstance
let world: World
let db: EmbeddedDatabase
const prefix = uniquePrefix()

async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  const body = (await res.json()) as { result?: T; error?: { message: string } }
  if (body.error) throw new Error(`${method}: ${body.error.message}`)
  return body.result as T
}

/** Mines `n` empty blocks, each a minute after the last: another history than the one it replaces. */
const mine = (n: number): Promise<unknown> => rpc('anvil_mine', [`0x${n.toString(16)}`, '0x3c'])

/** Starts a monitor on the chain, lets it apply every block up to the head, and stops it. */
async function indexToHead(): Promise<bigint> {
  const monitor = await startMonitor({ common: common() })
  try {
    const head = await blockNumberOf(anvil.rpcUrl)
    await waitForCheckpoints(monitor.workers, new Map([[CHAIN_ID, head]]))
    return head
  } finally {
    await monitor.close()
  }
}

function common(): ReturnType<typeof createCommon> {
  const input = worldConfig([{ name: 'local-a', world }], {
    accounts: { alice: ['0x00000000000000000000000000000000000a11ce' as Address] },
    shards: 1,
    databaseUrl: db.url,
    redisUrl: TEST_REDIS_URL,
    queuePrefix: prefix,
  })
  for (const c of Object.values(input.chains)) c.maxBlockRange = 4
  return createCommon(parseConfig(input, {}), { log: createLogger({ level: 'silent' }) })
}

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  const deployed = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID, seed: 3 })
  world = { ...deployed, readyBlock: (await blockNumberOf(anvil.rpcUrl)) + 1n }
  db = await startEmbeddedDatabase()
})

afterAll(async () => {
  const redis = new Redis(TEST_REDIS_URL)
  await cleanupPrefix(redis, prefix)
  redis.disconnect()
  await db?.stop()
  await anvil?.stop()
})

describe('a monitor started on a chain other than the one its database indexed', () => {
  // One history, in order: the chain as first indexed (snapshot `started`), a reorg while stopped,
  // then the chain as it was before indexing, shorter, and at last longer with other blocks.
  let started: string

  it('follows the same chain after a reorg that happened while no monitor ran', async () => {
    started = await rpc<string>('evm_snapshot')
    await mine(10)
    await indexToHead()
    const beforeReorg = await rpc<string>('evm_snapshot')
    await mine(6)
    const indexed = await indexToHead()
    // Blocks above `beforeReorg` replaced while stopped: the block indexed last is no longer on the chain.
    await rpc('evm_revert', [beforeReorg])
    await mine(9)
    const head = await indexToHead()
    expect(head).toBeGreaterThan(indexed)
    const reorgs = await queryOnce<{ n: string }>('SELECT count(*)::text AS n FROM chain_reorgs WHERE chain_id = $1', [CHAIN_ID])
    expect(reorgs).toEqual([{ n: '1' }])
  })

  it('refuses a chain shorter than the block it indexed, naming the chain and both blocks', async () => {
    const indexed = await checkpoint()
    await rpc('evm_revert', [started])
    const head = await blockNumberOf(anvil.rpcUrl)
    expect(head).toBeLessThan(indexed)
    const err = await startRefused()
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).shortMessage).toBe(
      `chain local-a (id ${CHAIN_ID}) is at block ${head}, below block ${indexed} that this database has already indexed, and none of the blocks it kept is on the chain: it is not the chain that was indexed (a local chain started again?); index it into a fresh database (or data folder), or point chains.local-a.rpcUrls at the chain this database indexed`,
    )
  })

  it('refuses a chain with another block at the height it indexed, naming the chain, block and hash', async () => {
    const indexed = await checkpoint()
    const hash = (await queryOnce<{ block_hash: string }>('SELECT block_hash FROM block_hashes WHERE chain_id = $1 AND block_number = $2', [CHAIN_ID, indexed.toString()]))[0]!.block_hash
    await mine(Number(indexed - (await blockNumberOf(anvil.rpcUrl))) + 3)
    const err = await startRefused()
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).shortMessage).toBe(
      `chain local-a (id ${CHAIN_ID}) holds another block ${indexed} than the one this database indexed (hash ${hash}), and none of the blocks it kept is on the chain: it is not the chain that was indexed (a local chain started again?); index it into a fresh database (or data folder), or point chains.local-a.rpcUrls at the chain this database indexed`,
    )
  })
})

/**
 * Starts the monitor on the chain as it is now: the error its only chain stops on (then, every chain
 * of the process stopped, the monitor stops: onFatal), or undefined when the chain is followed.
 */
async function startRefused(): Promise<unknown> {
  let refused: (err: Error) => void = () => {}
  const fatal = new Promise<Error>((resolve) => (refused = resolve))
  const m = await startMonitor({ common: common(), onFatal: (err) => refused(err) })
  try {
    const follows = (async () => {
      while (m.indexers[0]!.cursor() < 0n) await new Promise((r) => setTimeout(r, 50))
      return undefined
    })()
    return await Promise.race([fatal, follows])
  } finally {
    await m.close()
  }
}

/** The shard's checkpoint for the chain. */
async function checkpoint(): Promise<bigint> {
  const rows = await queryOnce<{ last_block: string }>('SELECT last_block::text FROM checkpoints WHERE chain_id = $1 AND shard = 0', [CHAIN_ID])
  return BigInt(rows[0]!.last_block)
}

/** One query on a pool of its own (the embedded database serves one connection, none is held between tests). */
async function queryOnce<R extends Record<string, unknown>>(sql: string, params: unknown[]): Promise<R[]> {
  const pool = createPool({ url: db.url, max: 1 })
  try {
    return (await pool.query<R>(sql, params)).rows
  } finally {
    await pool.end()
  }
}
