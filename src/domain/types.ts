import type { Address, Hex } from 'viem'

/** A DEX family: one event layout and decoder in `indexers/<family>`. */
export type DexFamily =
  | 'uniswap-v2'
  | 'uniswap-v3'
  | 'uniswap-v4'
  | 'pancakeswap-v3'
  | 'velodrome-v1'
  | 'aerodrome'
  | 'curve'
  | 'balancer-v2'

/** A deployment of a DEX family on a chain (forks such as SushiSwap are config). */
export type DexRef = { family: DexFamily; name: string }

/**
 * The normalized swap: the contract between indexers and everything else (docs/decisions.md, \"The normalized swap\").
 * Identity is (chainId, txHash, logIndex); blockHash is kept for reorgs.
 * Maps onto Dune's dex.trades: tokenOut/amountOut = token_bought_*, tokenIn/amountIn = token_sold_*,
 * trader = taker (transaction sender), txHash = tx_hash, logIndex = evt_index.
 */
export type NormalizedSwap = {
  chainId: number
  dex: DexRef
  pool: Address
  blockNumber: bigint
  blockHash: Hex
  /** Block timestamp, unix seconds. */
  blockTime: number
  txHash: Hex
  logIndex: number
  /** Transaction sender (`tx.from`): whose risk this swap is. */
  trader: Address
  /** The event's own `sender` (usually a router). */
  sender: Address
  /** The event's own recipient (`to` in V2, `recipient` in V3). */
  recipient: Address
  /** Token the pool received. */
  tokenIn: Address
  /** Token the pool paid out. */
  tokenOut: Address
  /** Raw amounts, in the token's smallest unit. */
  amountIn: bigint
  amountOut: bigint
  /** null when the token's `decimals()` reverts or is missing. */
  decimalsIn: number | null
  decimalsOut: number | null
  /** V3: pool state after the swap. */
  sqrtPriceX96?: bigint
  liquidity?: bigint
  tick?: number
  /** V2: reserves after the swap (from the Sync event emitted just before Swap). */
  reserve0?: bigint
  reserve1?: bigint
}

/**
 * A price observation: the pool's marginal price of `base` in units of `quote`, decimal-adjusted,
 * after the event at (blockNumber, logIndex). Ordered by (blockNumber, logIndex) within a chain.
 */
export type PriceObservation = {
  chainId: number
  pool: Address
  blockNumber: bigint
  blockTime: number
  txHash: Hex
  logIndex: number
  base: Address
  quote: Address
  /** quote units per 1 base unit (float64; rounding named: decimal adjustment of a bigint ratio). */
  price: number
  /** Liquidity measure of the pool in quote units, for guards (V2: quote reserve; V3: null). */
  quoteDepth: number | null
}

/**
 * A pool: known from its factory's creation event, from a singleton's registration event
 * (uniswap-v4 `Initialize`, balancer-v2 `TokensRegistered`), or named in config and read from the
 * chain (curve).
 */
export type PoolInfo = {
  chainId: number
  dex: DexRef
  /**
   * The pool's own contract; for a singleton family (`singleton` set) the pool id (bytes32, as
   * 0x + 64 hex digits) that the singleton's events carry as topics[1].
   */
  address: Address
  /** The pool's first two coins (for a two-coin pool, its only two, in the pool's order). */
  token0: Address
  token1: Address
  /** V3 fee in hundredths of a bip; null for V2. */
  fee: number | null
  /**
   * Solidly-style pools (velodrome-v1, aerodrome): true for a stable (x³y+y³x) pool, false for a
   * volatile (x·y) one, from the factory's creation event (kept in `pools.stable`, 0007). Undefined
   * for other families.
   */
  stable?: boolean
  /**
   * Every coin, in the pool's index order, where the family indexes coins (curve `coins(i)`,
   * balancer-v2's registered tokens); token0/token1 are its first two. Undefined: just token0, token1.
   */
  tokens?: Address[]
  /** Curve metapools and lending pools: the coins `TokenExchangeUnderlying` ids index. */
  underlying?: Address[]
  /** Singleton families: the contract that emits this pool's events (V4 PoolManager, Balancer Vault). */
  singleton?: Address
  /** Uniswap V4: the hooks contract (zero address: none) and the tick spacing. */
  hooks?: Address
  tickSpacing?: number
  createdBlock: bigint
}

/** Token metadata, read once and cached. decimals is null when `decimals()` reverts. */
export type TokenInfo = {
  chainId: number
  address: Address
  decimals: number | null
  symbol: string | null
}

/**
 * The native currency (ETH on Ethereum and most L2s) as a token address: EIP-7528's
 * 0xEeeee…EEeE, lowercased like every address here. It has no contract: its balance is
 * `eth_getBalance`, its decimals 18, and it is priced as the chain's wrapped native token.
 */
export const NATIVE_TOKEN = '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' as Address

/**
 * A logged balance change of a watched wallet: an ERC20 `Transfer` into or out of it, or a WETH9
 * `Deposit` (wrap) / `Withdrawal` (unwrap) of its own. Signed from the wallet's side. A transfer
 * between two watched wallets is two changes (one out, one in).
 */
export type WalletTransfer = {
  chainId: number
  blockNumber: bigint
  blockTime: number
  txHash: Hex
  logIndex: number
  token: Address
  wallet: Address
  /** The other side of a transfer (zero address for mints, burns, wraps and unwraps). */
  counterparty: Address
  kind: 'transfer' | 'deposit' | 'withdrawal'
  delta: bigint
  /** The token's decimals (null: `decimals()` reverts or is missing). */
  decimals: number | null
}

/**
 * A watched wallet's balance of one token (NATIVE_TOKEN: ether) read from the chain at the block
 * before a range (`before`, null when the indexer did not need it: it published that balance at
 * the end of the previous range) and at the range's last block (`after`). Positions of named
 * accounts are these balances: logged transfers give each change its block and price, and what
 * logs cannot show (native ether moved by contracts, gas, rebasing) is the difference left at the
 * range's end.
 */
export type BalanceReading = {
  chainId: number
  wallet: Address
  token: Address
  beforeBlock: bigint
  before: bigint | null
  afterBlock: bigint
  after: bigint
  /** The token's decimals (18 for ether; null: `decimals()` reverts or is missing). */
  decimals: number | null
}
