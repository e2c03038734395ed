import { isAddress, type Address } from 'viem'
import { z } from 'zod'

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), { message: 'not an address (0x followed by 40 hex digits)' })
  .transform((s) => s.toLowerCase() as Address)

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

const blockNumber = z.union([z.number().int().nonnegative(), z.bigint().nonnegative()]).transform((n) => BigInt(n))

export const dexSchema = z.object({
  /** DEX family: the event layout. Forks (SushiSwap, PancakeSwap V2 …) use their parent family. */
  family: z.enum(['uniswap-v2', 'uniswap-v3']),
  /** Name of this deployment, e.g. 'uniswap-v3' or 'sushiswap'. Default: the family. */
  name: z.string().min(1).optional(),
  /** Factory whose pool-creation events define the pools of this DEX. */
  factory: address,
  /** Block the factory was deployed at: pools are discovered from here. */
  startBlock: blockNumber,
})

export const chainSchema = z.object({
  /** EVM chain id; checked against the RPC's eth_chainId at start. */
  id: z.number().int().positive(),
  /** One or more RPC URLs, tried in order (fallback). */
  rpcUrls: z.array(url).min(1),
  /** Blocks behind head that are considered final. Default: 0 (local chains); mainnet wants 12 or more. */
  confirmations: z.number().int().nonnegative().default(0),
  /** How often to poll for new blocks, ms. Default 1000. */
  pollIntervalMs: z.number().int().positive().default(1000),
  /** Largest eth_getLogs range, blocks. Default 500. */
  maxBlockRange: z.number().int().positive().default(500),
  /** First block to index trades from. Default: the lowest dex startBlock. */
  startBlock: blockNumber.optional(),
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
})

export const configSchema = z.object({
  chains: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'chain names are lowercase words'), chainSchema).refine(
    (c) => Object.keys(c).length > 0,
    { message: 'at least one chain' },
  ),
  /** 'auto': every trader wallet is its own account; or named accounts with their wallets. */
  accounts: z.union([z.literal('auto'), z.record(z.string().min(1), z.array(address).min(1))]).default('auto'),
  /** Number of shards; fixed per deployment (changing it reassigns accounts). Default 4. */
  shards: z.number().int().min(1).max(1024).default(4),
  database: z
    .object({
      /** TimescaleDB server URL. Unset: embedded TimescaleDB under dataDir. */
      url: z.string().optional(),
      /** Embedded database folder. Default '.dexrisk/db'. */
      dataDir: z.string().default('.dexrisk/db'),
      /** Pool size with a server URL. Default 10 (embedded: always 1). */
      poolMax: z.number().int().positive().default(10),
    })
    .default({ dataDir: '.dexrisk/db', poolMax: 10 }),
  redis: z
    .object({
      /** Redis URL. Unset: 127.0.0.1:6379, or a redis-server child process if nothing answers. */
      url: z.string().optional(),
    })
    .default({}),
  queue: z
    .object({
      /** BullMQ key prefix. Default 'dexrisk'. */
      prefix: z.string().min(1).default('dexrisk'),
    })
    .default({ prefix: 'dexrisk' }),
})

export type ConfigInput = z.input<typeof configSchema>
export type Config = z.output<typeof configSchema>
export type ChainConfig = Config['chains'][string] & { name: string }
export type DexConfig = z.output<typeof dexSchema>

/** Identity helper: gives a config file editor types. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config
}
