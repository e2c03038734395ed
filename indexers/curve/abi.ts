import { toEventSelector, type Hex } from 'viem'

/**
 * Curve pool events, as declared in Curve's own sources:
 * - StableSwap (int128 coin ids): curvefi/curve-contract contracts/pools/3pool/StableSwap3Pool.vy
 *   (TokenExchange) and the metapools / lending pools there, e.g. contracts/pools/gusd/StableSwapGUSD.vy
 *   (TokenExchangeUnderlying); curvefi/stableswap-ng contracts/main/CurveStableSwapNG.vy and
 *   CurveStableSwapMetaNG.vy keep both events unchanged, so one topic0 each.
 * - Crypto pools v2 (uint256 coin ids): curvefi/curve-crypto-contract contracts/tricrypto/CurveCryptoSwap.vy
 *   (tricrypto2) and contracts/two/CurveCryptoSwap2ETH.vy: TokenExchange with uint256 ids.
 * - tricrypto-ng (curvefi/tricrypto-ng contracts/main/CurveTricryptoOptimizedWETH.vy) and
 *   twocrypto-ng (curvefi/twocrypto-ng contracts/main/CurveTwocryptoOptimized.vy): TokenExchange
 *   appends `fee` and `packed_price_scale`, so its topic0 differs again.
 *
 * `buyer` is the pool's `msg.sender` (a router, an aggregator or the trader), never a separate
 * receiver: the events name no receiver. No crypto pool emits a uint256-id TokenExchangeUnderlying
 * (their underlying exchanges go through zaps, which emit nothing of their own), so that form has no
 * topic here.
 */
export const curveStableSwapAbi = [
  {
    type: 'event',
    name: 'TokenExchange',
    inputs: [
      { name: 'buyer', type: 'address', indexed: true },
      { name: 'sold_id', type: 'int128', indexed: false },
      { name: 'tokens_sold', type: 'uint256', indexed: false },
      { name: 'bought_id', type: 'int128', indexed: false },
      { name: 'tokens_bought', type: 'uint256', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'TokenExchangeUnderlying',
    inputs: [
      { name: 'buyer', type: 'address', indexed: true },
      { name: 'sold_id', type: 'int128', indexed: false },
      { name: 'tokens_sold', type: 'uint256', indexed: false },
      { name: 'bought_id', type: 'int128', indexed: false },
      { name: 'tokens_bought', type: 'uint256', indexed: false },
    ],
  },
] as const

/** Crypto pools v2 (tricrypto2, the crypto factory's two-coin pools). */
export const curveCryptoAbi = [
  {
    type: 'event',
    name: 'TokenExchange',
    inputs: [
      { name: 'buyer', type: 'address', indexed: true },
      { name: 'sold_id', type: 'uint256', indexed: false },
      { name: 'tokens_sold', type: 'uint256', indexed: false },
      { name: 'bought_id', type: 'uint256', indexed: false },
      { name: 'tokens_bought', type: 'uint256', indexed: false },
    ],
  },
] as const

/** tricrypto-ng and twocrypto-ng. */
export const curveCryptoNgAbi = [
  {
    type: 'event',
    name: 'TokenExchange',
    inputs: [
      { name: 'buyer', type: 'address', indexed: true },
      { name: 'sold_id', type: 'uint256', indexed: false },
      { name: 'tokens_sold', type: 'uint256', indexed: false },
      { name: 'bought_id', type: 'uint256', indexed: false },
      { name: 'tokens_bought', type: 'uint256', indexed: false },
      { name: 'fee', type: 'uint256', indexed: false },
      { name: 'packed_price_scale', type: 'uint256', indexed: false },
    ],
  },
] as const

/** Pool getters `describePool` reads. Old pools (3pool era) take an int128 index. */
export const curvePoolReadAbi = [
  { type: 'function', name: 'coins', stateMutability: 'view', inputs: [{ name: 'i', type: 'uint256' }], outputs: [{ name: '', type: 'address' }] },
  { type: 'function', name: 'underlying_coins', stateMutability: 'view', inputs: [{ name: 'i', type: 'uint256' }], outputs: [{ name: '', type: 'address' }] },
  { type: 'function', name: 'base_pool', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'address' }] },
  // stableswap-ng metapools: an immutable, so an upper-case getter.
  { type: 'function', name: 'BASE_POOL', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'address' }] },
] as const

export const curveLegacyPoolReadAbi = [
  { type: 'function', name: 'coins', stateMutability: 'view', inputs: [{ name: 'i', type: 'int128' }], outputs: [{ name: '', type: 'address' }] },
  { type: 'function', name: 'underlying_coins', stateMutability: 'view', inputs: [{ name: 'i', type: 'int128' }], outputs: [{ name: '', type: 'address' }] },
] as const

/** TokenExchange(address,int128,uint256,int128,uint256): StableSwap and stableswap-ng. */
export const CURVE_TOKEN_EXCHANGE_TOPIC = toEventSelector('TokenExchange(address,int128,uint256,int128,uint256)')
/** TokenExchangeUnderlying(address,int128,uint256,int128,uint256): metapools and lending pools. */
export const CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC = toEventSelector('TokenExchangeUnderlying(address,int128,uint256,int128,uint256)')
/** TokenExchange(address,uint256,uint256,uint256,uint256): crypto pools v2 (tricrypto2). */
export const CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC = toEventSelector('TokenExchange(address,uint256,uint256,uint256,uint256)')
/** TokenExchange(address,uint256,uint256,uint256,uint256,uint256,uint256): tricrypto-ng, twocrypto-ng. */
export const CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC = toEventSelector('TokenExchange(address,uint256,uint256,uint256,uint256,uint256,uint256)')

/** The native-ether placeholder old Curve pools (steth, seth, ankreth) list as a coin. */
export const CURVE_ETH_ADDRESS = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE'

/**
 * AddLiquidity(address,uint256[N],uint256[N],uint256,uint256) of a StableSwap pool with N = 2, 3 or
 * 4 coins (curvefi/curve-contract StableSwap3Pool.vy: provider, token_amounts, fees, invariant,
 * token_supply), by coin count. Watched for one reason: a metapool selling a base coin deposits it
 * into its base pool first, and the base pool's AddLiquidity (provider: the metapool) states the
 * amount deposited (indexers/curve/base-pool-deposit.ts).
 */
export const CURVE_ADD_LIQUIDITY_TOPICS: ReadonlyMap<number, Hex> = new Map(
  [2, 3, 4].map((n) => [n, toEventSelector(`AddLiquidity(address,uint256[${n}],uint256[${n}],uint256,uint256)`)] as const),
)

/**
 * AddLiquidity(address,uint256[],uint256[],uint256,uint256): stableswap-ng pools
 * (curvefi/stableswap-ng CurveStableSwapNG.vy), whose amounts and fees are DynArrays, as a base pool.
 */
export const CURVE_NG_ADD_LIQUIDITY_TOPIC = toEventSelector('AddLiquidity(address,uint256[],uint256[],uint256,uint256)')
