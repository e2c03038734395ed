import { getAddress, isAddress, type Address } from 'viem'
import { z } from 'zod'
import { accountNameProblem } from '../domain/account-name.ts'
import type { DexFamily } from '../domain/types.ts'
import { families } from '../indexer/families.ts'

/**
 * An address: 0x and 40 hex digits, all lowercase, all uppercase, or mixed case with a valid EIP-55
 * checksum (a mixed-case address with a wrong checksum is a typo, or a copy from somewhere that
 * changed it: refused, with the checksummed form of what was written).
 */
const address = z
  .string()
  .superRefine((s, ctx) => {
    const problem = addressProblem(s)
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem })
  })
  .transform((s) => s.toLowerCase() as Address)

function addressProblem(s: string): string | null {
  if (!/^0x[0-9a-fA-F]{40}$/.test(s)) return 'not an address (0x followed by 40 hex digits)'
  const hex = s.slice(2)
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase() || isAddress(s, { strict: true })) return null
  return `mixed-case address with a wrong EIP-55 checksum (checksummed, it reads ${getAddress(s.toLowerCase())}; check it, or write it all lowercase)`
}

/** A named account: src/domain/account-name.ts says what may be one. */
const accountName = z.string().superRefine((s, ctx) => {
  const problem = accountNameProblem(s, 'named')
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem })
})

const url = z.string().refine(
  (s) => {
    try {
      const u = new URL(s)
      return ['http:', 'https:'].includes(u.protocol)
    } catch {
      return false
    }
  },
  { message: 'not an http(s) URL' },
)

/**
 * A Redis node of a cluster: redis:// or rediss://, a host and a port, no database number (a
 * cluster has only database 0).
 */
const redisNodeUrl = z.string().superRefine((s, ctx) => {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL (redis://host:port)' })
    return
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') ctx.addIssue({ code: 'custom', message: 'not a redis:// or rediss:// URL' })
  else if (!u.hostname || !u.port) ctx.addIssue({ code: 'custom', message: 'needs a host and a port (redis://host:port)' })
  else if (u.pathname && u.pathname !== '/' && u.pathname !== '/0') ctx.addIssue({ code: 'custom', message: 'a Redis Cluster has database 0 only: drop the /<db> part' })
})

const blockNumber = z.union([z.number().int().nonnegative(), z.bigint().nonnegative()]).transform((n) => BigInt(n))

/** Every family dexrisk decodes (src/indexer/families.ts), the one list the config accepts. */
const FAMILY_NAMES = Object.keys(families) as [DexFamily, ...DexFamily[]]
/** Families whose pools are named in the config (`pools`) rather than found through a factory. */
const LISTED_FAMILIES: readonly string[] = FAMILY_NAMES.filter((f) => families[f].discovery === 'listed')

export const dexSchema = z
  .strictObject({
    /** DEX family: the event layout. Forks (SushiSwap, PancakeSwap V2 …) use their parent family. */
    family: z.enum(FAMILY_NAMES),
    /** Name of this deployment, e.g. 'uniswap-v3' or 'sushiswap'. Default: the family. */
    name: z.string().min(1).optional(),
    /**
     * The contract whose events define the pools of this DEX: the factory (V2, V3, Solidly), or the
     * singleton that registers and runs every pool (uniswap-v4: the PoolManager; balancer-v2: the
     * Vault). Not for curve.
     */
    factory: address.optional(),
    /**
     * curve: the pools to follow (Curve has many factories and registries with different events;
     * a desk names the pools it trades on). `coins` and `underlying` override what is read from the
     * pool (`coins(i)`, and for metapools the base pool's coins).
     */
    pools: z
      .array(z.strictObject({ address, coins: z.array(address).min(2).optional(), underlying: z.array(address).min(2).optional() }))
      .min(1)
      .optional(),
    /** Block the factory (or the listed pools) were deployed at: pools and trades are followed from here. */
    startBlock: blockNumber,
  })
  .superRefine((d, ctx) => {
    if (LISTED_FAMILIES.includes(d.family)) {
      if (!d.pools) ctx.addIssue({ code: 'custom', path: ['pools'], message: `a ${d.family} DEX lists its pools (pools: [{ address }])` })
      if (d.factory) ctx.addIssue({ code: 'custom', path: ['factory'], message: `a ${d.family} DEX has no factory here: list its pools instead` })
    } else {
      if (!d.factory) ctx.addIssue({ code: 'custom', path: ['factory'], message: `a ${d.family} DEX needs its factory (or singleton) address` })
      if (d.pools) ctx.addIssue({ code: 'custom', path: ['pools'], message: `pools are listed only for ${LISTED_FAMILIES.join(', ')}; a ${d.family} DEX finds them through its factory` })
    }
  })

/**
 * Confirmations by chain id when the config gives none: blocks behind head a reorg is not
 * expected to reach. Ethereum: 12 (post-merge reorgs are one or two blocks; finality is two epochs,
 * about 64 blocks, for those who want it); OP-stack and Arbitrum L2s: 10 (the sequencer's order
 * is final unless the L1 batch reorgs); BNB Chain: 15 (fast finality, two-thirds of validators,
 * in 2–3 blocks, margin kept); Polygon PoS: 64 (it has reorged tens of blocks deep); Gnosis: 12;
 * Avalanche C-chain: 1 (single-slot finality); local chains (anvil, hardhat): 0. Any other chain: 12.
 */
export const DEFAULT_CONFIRMATIONS: Readonly<Record<number, number>> = {
  1: 12,
  10: 10,
  56: 15,
  100: 12,
  137: 64,
  8453: 10,
  42161: 10,
  43114: 1,
  1337: 0,
  31337: 0,
}
export const FALLBACK_CONFIRMATIONS = 12

export function defaultConfirmations(chainId: number): number {
  return DEFAULT_CONFIRMATIONS[chainId] ?? FALLBACK_CONFIRMATIONS
}

export const chainSchema = z
  .strictObject({
  /** EVM chain id; checked against the RPC's eth_chainId at start. */
  id: z.number().int().positive(),
  /** One or more RPC URLs, tried in order (fallback). */
  rpcUrls: z.array(url).min(1),
  /** Blocks behind head that are considered final. Default: by chain id (DEFAULT_CONFIRMATIONS). */
  confirmations: z.number().int().nonnegative().optional(),
  /** How often to poll for new blocks, ms; with wsUrl, the fallback. Default 1000. */
  pollIntervalMs: z.number().int().positive().default(1000),
  /**
   * A WebSocket JSON-RPC URL (ws:// or wss://) of the chain: new heads are pushed (eth_subscribe)
   * and the indexer reads a new block at once, instead of at its next poll. Unset: polling only.
   */
  wsUrl: z
    .string()
    .refine((s) => /^wss?:\/\/[^/]/.test(s), { message: 'not a ws:// or wss:// URL' })
    .optional(),
  /** Largest eth_getLogs range, blocks. Default 500. */
  maxBlockRange: z.number().int().positive().default(500),
  /**
   * Where live following starts, the first time this database follows the chain: `'latest'` (the
   * next confirmed block), a time before the head (`'-1h'`, `'-30m'`, `'-7d'`: the first block at or
   * after it), or a block number. Resolved once and kept (src/indexer/start-block.ts); later starts
   * resume from the shards' checkpoints. Past blocks are the backfill's job. Default 'latest'.
   */
  startBlock: z
    .union([blockNumber, z.literal('latest'), z.string().regex(/^-\d+[smhd]$/, "'latest', a time before the head such as '-1h' (s, m, h or d), or a block number")])
    .default('latest'),
  /** RPC request timeout, ms. Default 10000. */
  rpcTimeoutMs: z.number().int().positive().default(10_000),
  dexes: z.array(dexSchema).min(1),
  /** Tokens priced at 1 USD. */
  stablecoins: z.array(address).default([]),
  /** Tokens priced through stablecoin pools that then price other tokens (e.g. WETH, WBTC). */
  pivots: z.array(address).default([]),
  /** Token → cross-chain asset symbol (WETH on every chain → 'ETH'). */
  assets: z.record(z.string(), z.string().min(1)).default({}),
  /** The chain's wrapped native token (WETH): ether is priced as it and shares its asset. Default: none (ether unpriced). */
  wrappedNative: address.optional(),
  /**
   * Chainlink feeds as a USD price source: the aggregator behind the proxy (it emits AnswerUpdated;
   * the proxy emits nothing), the token it prices and the feed's decimals. A fresh oracle price wins
   * over pools. Default: none.
   */
  chainlinkFeeds: z
    .array(z.strictObject({ aggregator: address, token: address, decimals: z.number().int().min(0).max(36) }))
    .default([]),
})
  .transform((c) => ({ ...c, confirmations: c.confirmations ?? defaultConfirmations(c.id) }))

export const configSchema = z.strictObject({
  chains: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'chain names are lowercase words'), chainSchema).refine(
    (c) => Object.keys(c).length > 0,
    { message: 'at least one chain' },
  ),
  /** 'auto': every trader wallet is its own account; or named accounts with their wallets. */
  accounts: z.union([z.literal('auto'), z.record(accountName, z.array(address).min(1))]).default('auto'),
  /** Number of shards; fixed per deployment (changing it reassigns accounts). Default 4. */
  shards: z.number().int().min(1).max(1024).default(4),
  database: z
    .strictObject({
      /** TimescaleDB server URL. Unset: embedded TimescaleDB under dataDir. */
      url: z.string().optional(),
      /** Embedded database folder. Default '.dexrisk/db'. */
      dataDir: z.string().default('.dexrisk/db'),
      /** Pool size with a server URL. Default 10 (embedded: always 1). */
      poolMax: z.number().int().positive().default(10),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /** Redis URL. Unset: 127.0.0.1:6379, or a redis-server child process if nothing answers. */
      url: z.string().optional(),
      /**
       * A Redis Cluster instead: some of its nodes' URLs (`redis://[:password@]host:port`), from
       * which the client learns the rest. Unset: one Redis (url).
       */
      cluster: z.array(redisNodeUrl).min(1, 'at least one node URL').optional(),
    })
    .refine((r) => r.url === undefined || r.cluster === undefined, {
      message: 'set url (one Redis) or cluster (a Redis Cluster), not both',
      path: ['cluster'],
    })
    .prefault({}),
  risk: z
    .strictObject({
      /** VaR/ES horizon: returns are taken over buckets of this many seconds of block time. Default 86400 (1 day). */
      horizonSeconds: z.number().int().positive().default(86_400),
      /** Returns in the historical window. Default 250 (about a trading year of days). */
      windowSize: z.number().int().min(2).default(250),
      /** Fewest returns an asset needs before historical VaR uses it; fewer → the fallback shock. Default 20. */
      minHistory: z.number().int().min(2).default(20),
      /** The two VaR/ES confidence levels. Default [0.95, 0.99]. */
      confidences: z.tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1)]).default([0.95, 0.99]),
      /** Loss per horizon charged to an asset without enough history, as a share of |exposure|. Default 0.25. */
      fallbackShock: z.number().positive().max(1).default(0.25),
      /**
       * The sweep recomputes an account whose positions did not change but whose prices moved at
       * most once per this many seconds of block time (a price move that could change one of its
       * rules' states recomputes it at once, whatever this says). Default 60.
       */
      repriceIntervalSeconds: z.number().int().nonnegative().default(60),
      /**
       * Most accounts the sweep recomputes in one batch (it visits up to eight times as many), so
       * repricing costs a batch a bounded amount however many accounts a shard holds. Default 500.
       */
      repricePerBatch: z.number().int().positive().default(500),
      /**
       * An account's risk snapshot row is written whenever its positions change, an alert or halt
       * of it is raised, and otherwise at most once per this many seconds of block time (the read
       * model always has the latest). Default 300.
       */
      snapshotIntervalSeconds: z.number().int().nonnegative().default(300),
    })
    .prefault({}),
  pricing: z
    .strictObject({
      /** A pool prices a token only with at least this much USD depth on the pricing side. Default 50000. */
      minDepthUsd: z.number().nonnegative().default(50_000),
      /** A price older than this (seconds of block time) is stale: the token is unpriced. Default 3600. */
      maxAgeSeconds: z.number().int().positive().default(3_600),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      /** Addresses or host names webhooks may reach despite the private-address guard (CIDR or host). Default none. */
      allow: z.array(z.string().min(1)).default([]),
      /** Delivery attempts before a dead letter. Default 8. */
      attempts: z.number().int().min(1).default(8),
      /** First retry delay, ms; doubles per attempt (full jitter), capped at 5 minutes. Default 10000. */
      backoffBaseMs: z.number().int().positive().default(10_000),
      /** Request timeout, ms. Default 15000. */
      timeoutMs: z.number().int().positive().default(15_000),
    })
    .prefault({}),
  api: z
    .strictObject({
      /** Interface the API (REST, WebSocket, dashboard, /metrics) listens on. Default '127.0.0.1'. */
      host: z.string().min(1).default('127.0.0.1'),
      /** Its port; 0 picks a free one. Default 8080. */
      port: z.number().int().min(0).max(65_535).default(8080),
      /** Requests per minute per API key (or per client address without one). Default 600. */
      rateLimitPerMinute: z.number().int().positive().default(600),
      /**
       * A WebSocket client whose unsent data exceeds this many bytes is skipped, then resent a fresh
       * snapshot once it has caught up: a slow client never slows the others. Default 1048576.
       */
      wsMaxBufferedBytes: z.number().int().positive().default(1_048_576),
      /** Points of equity / drawdown / VaR history in a dashboard snapshot. Default 500. */
      historyPoints: z.number().int().positive().max(10_000).default(500),
    })
    .prefault({}),
  queue: z
    .strictObject({
      /**
       * BullMQ key prefix, also the read model's. Default 'dexrisk'. No braces: dexrisk's keys carry
       * their own Redis Cluster hash tags (`trades-{0}`, `{webhooks}`, `account:{0}:…`), and Redis
       * hashes only the first `{…}` of a key, so a brace in the prefix would override them: every
       * key in one slot (one node does all the work), or, unbalanced, a shard's keys split across
       * slots (its MULTI refused). Refused for one Redis too, so a config moves to a cluster as is.
       */
      prefix: z
        .string()
        .min(1)
        .regex(/^[^{}]*$/, 'no braces: they would override the Redis Cluster hash tags in dexrisk\'s key names (docs/configuration.md#redis-cluster)')
        .default('dexrisk'),
      /**
       * With `--shards auto`: how long a worker process's shard leases and membership live without
       * renewal (renewed every quarter of it), so how long a killed process's shards wait before
       * the others take them. Default 10000 ms.
       */
      leaseTtlMs: z.number().int().min(200).max(600_000).default(10_000),
    })
    .prefault({}),
})

export type ConfigInput = z.input<typeof configSchema>
export type Config = z.output<typeof configSchema>
export type ChainConfig = Config['chains'][string] & { name: string }
export type DexConfig = z.output<typeof dexSchema>

/** Identity helper: gives a config file editor types. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config
}
