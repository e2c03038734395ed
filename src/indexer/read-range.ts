import type pg from 'pg'
import type { Address, Hex, PublicClient } from 'viem'
import type { RawLog } from '../domain/log.ts'
import { RetryableError } from '../errors.ts'
import { decodeRange, discoverPools, poolKeyOf, poolLogs, type DecodedRange, type FactoryRef } from './decode-range.ts'
import type { PoolRegistry } from './pool-registry.ts'
import type { TokenCache } from './token-cache.ts'

/**
 * The one decode path of DEX logs, shared by the live indexer and `dexrisk backfill`: from one
 * range's eth_getLogs answer to its swaps and price observations. Pools created in the range are
 * registered first (a pool can trade in the block that created it), the tokens of the pools that
 * logged are read once, and the blocks holding logs give their times and transaction senders.
 */
export type DexRangeReader = {
  decode(range: {
    toBlock: bigint
    /** The range's logs of every watched topic, sorted by (block, log index). */
    logs: RawLog[]
    /** Other logs whose blocks' times are needed too (wallet transfers, oracle answers). */
    otherLogs?: RawLog[]
    /** Other tokens whose metadata is needed too. */
    otherTokens?: Iterable<Address>
  }): Promise<{ decoded: DecodedRange; blocks: BlockData; poolLogs: RawLog[] }>
}

export function createDexRangeReader(opts: {
  client: PublicClient
  chainId: number
  registry: PoolRegistry
  factories: ReadonlyMap<Address, FactoryRef>
  singletons: ReadonlySet<Address>
  tokens: TokenCache
  /** Only these DEXes' pools (by configured name); default: every configured DEX. */
  dexNames?: ReadonlySet<string>
}): DexRangeReader {
  const { client, chainId, registry, factories, singletons, tokens, dexNames } = opts
  return {
    async decode({ toBlock, logs, otherLogs = [], otherTokens = [] }) {
      await registry.add(discoverPools(logs, factories, chainId))
      let mine = poolLogs(logs, registry.pools, singletons)
      if (dexNames) mine = mine.filter((l) => dexNames.has(registry.pools.get(poolKeyOf(l, singletons)!)!.dex.name))
      const tokenSet = new Set<Address>(otherTokens)
      for (const l of mine) {
        const p = registry.pools.get(poolKeyOf(l, singletons)!)!
        for (const t of p.tokens ?? [p.token0, p.token1]) tokenSet.add(t)
        for (const t of p.underlying ?? []) tokenSet.add(t)
      }
      await tokens.ensure(tokenSet, toBlock)
      const blocks = await readBlocks(client, chainId, mine, toBlock, otherLogs)
      const decoded = decodeRange(
        mine,
        registry.pools,
        { chainId, token: (a) => tokens.get(a), txFrom: (h) => blocks.txFrom.get(h), blockTime: (n) => blocks.time.get(n) },
        singletons,
      )
      return { decoded, blocks, poolLogs: mine }
    },
  }
}

export type BlockData = { time: Map<bigint, number>; txFrom: Map<Hex, Address>; toBlockHash: Hex | null; toBlockTime: number }

/**
 * Timestamps and transaction senders of the blocks holding pool logs (one batched request per
 * range), checked against the logs' block hashes: a mismatch means a reorg under our feet, and the
 * range is read again.
 */
async function readBlocks(client: PublicClient, chainId: number, logs: RawLog[], toBlock: bigint, otherLogs: RawLog[] = []): Promise<BlockData> {
  logs = otherLogs.length === 0 ? logs : [...logs, ...otherLogs]
  const numbers = [...new Set(logs.map((l) => l.blockNumber))]
  const [blocks, last] = await Promise.all([
    Promise.all(numbers.map((n) => client.getBlock({ blockNumber: n, includeTransactions: true }))),
    client.getBlock({ blockNumber: toBlock }),
  ])
  const time = new Map<bigint, number>()
  const hash = new Map<bigint, Hex>()
  const txFrom = new Map<Hex, Address>()
  for (const b of blocks) {
    if (b.number === null || b.hash === null) continue
    time.set(b.number, Number(b.timestamp))
    hash.set(b.number, b.hash)
    for (const tx of b.transactions) txFrom.set(tx.hash, tx.from.toLowerCase() as Address)
  }
  for (const l of logs) {
    if (hash.get(l.blockNumber) !== l.blockHash)
      throw new RetryableError('block hash changed while reading the range (reorg)', { context: { chainId, block: l.blockNumber, tx: l.transactionHash } })
  }
  return { time, txFrom, toBlockHash: last.hash, toBlockTime: Number(last.timestamp) }
}

/** Undecodable logs, kept with the reason (never dropped silently); idempotent on the log. */
export async function keepRejected(pool: pg.Pool, chainId: number, rejected: { log: RawLog; error: Error }[]): Promise<void> {
  for (const { log, error } of rejected) {
    await pool.query(
      `INSERT INTO rejected_logs (chain_id, block_number, block_hash, tx_hash, log_index, address, topics, data, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [chainId, log.blockNumber.toString(), log.blockHash, log.transactionHash, log.logIndex, log.address, log.topics, log.data, error.message],
    )
  }
}

