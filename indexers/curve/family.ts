import type { Address, Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo } from '../../src/domain/types.ts'
import type { DecodeContext, Family, PoolLogResult } from '../../src/indexer/family.ts'
import { checkAmount, logDecodeError as decodeError, type AmountBound } from '../../src/indexer/log-decode-error.ts'
import { intWord, isHexData, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import {
  CURVE_ADD_LIQUIDITY_TOPICS,
  CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC,
  CURVE_NG_ADD_LIQUIDITY_TOPIC,
  CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC,
  CURVE_TOKEN_EXCHANGE_TOPIC,
  CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC,
} from './abi.ts'
import { baseCoinSold, isAddLiquidity, recordBaseDeposit } from './base-pool-deposit.ts'
import { recordExchange, rejectBaseExchangeTwin } from './base-pool-exchange.ts'
import { describeCurvePool } from './describe-pool.ts'

/** One Curve exchange event layout: its name (for errors), data word count, int128 ids or uint256, which coins ids index. */
type Layout = { name: string; words: number; signedIds: boolean; underlying: boolean }

const LAYOUTS: ReadonlyMap<Hex, Layout> = new Map([
  [CURVE_TOKEN_EXCHANGE_TOPIC, { name: 'TokenExchange', words: 4, signedIds: true, underlying: false }],
  [CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC, { name: 'TokenExchangeUnderlying', words: 4, signedIds: true, underlying: true }],
  [CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC, { name: 'TokenExchange (crypto)', words: 4, signedIds: false, underlying: false }],
  [CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC, { name: 'TokenExchange (crypto-ng)', words: 6, signedIds: false, underlying: false }],
])

/**
 * What a Curve exchange's amounts can be. Pools keep balances as uint256, but their invariant
 * squares the balances scaled to 18 decimals (StableSwap's `get_D` multiplies D by D, the crypto
 * pools' `newton_D` likewise) in Vyper's checked arithmetic, which reverts at 2^256: a pool's
 * scaled balances, and so every raw amount of a coin of 18 decimals or fewer, stay below 2^128.
 */
export const CURVE_AMOUNT: AmountBound = { limit: 1n << 128n, name: 'below 2^128', why: "a Curve pool's invariant squares its 18-decimal balances" }

/**
 * Curve pools ('listed': a desk names its pools in the config; `describePool` reads their coins).
 *
 * Every exchange event is `buyer` (the pool's msg.sender) as topics[1], then sold_id, tokens_sold,
 * bought_id, tokens_bought (crypto-ng appends fee and packed_price_scale, ignored here): the pool
 * received `tokens_sold` of coin `sold_id` and paid `tokens_bought` of coin `bought_id`. ids index
 * the pool's `coins(i)` (`pool.tokens`), or for TokenExchangeUnderlying its underlying coins
 * (`pool.underlying`: a metapool's [coins[0], ...base pool coins], a lending pool's
 * `underlying_coins(i)`). The events name no receiver, so `recipient` is the buyer too.
 * tokens_bought is what the trader got, after the pool's fee.
 *
 * One exception to tokens_sold: a metapool's TokenExchangeUnderlying selling a base coin for the
 * metapool's own coin, which curve-factory metapool templates log in base-LP units. Its amount sold
 * is the one the base pool's AddLiquidity (watched for this, provider: the metapool) records in the
 * same transaction; with no such deposit among the range's logs (the base pool is not listed) the
 * exchange is rejected (indexers/curve/base-pool-deposit.ts). And one double: a metapool's exchange
 * of a base coin for another is its base pool's TokenExchange (buyer: the metapool); with the base
 * pool listed, that one is the trade and the metapool's event is rejected as its twin
 * (indexers/curve/base-pool-exchange.ts).
 *
 * Prices: none. No Curve exchange event carries a marginal price. A StableSwap pool's price is
 * the derivative of its invariant at the new balances (amplification A, rates of rebasing or
 * lending coins), which the event does not hold; tokens_bought / tokens_sold is an execution price
 * (fee and price impact included, any size from dust to a manipulation), not the marginal price
 * every other observation is (see the Solidly family for the same choice). crypto-ng's
 * `packed_price_scale` is the pool's slowly moving price scale (its internal oracle target), not
 * its spot price either. Curve-listed tokens are priced by other pools, stablecoin config and
 * oracles.
 */
export const curve: Family = {
  family: 'curve',
  discovery: 'listed',
  poolCreatedTopic: null,
  poolTopics: [
    CURVE_TOKEN_EXCHANGE_TOPIC,
    CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC,
    CURVE_CRYPTO_TOKEN_EXCHANGE_TOPIC,
    CURVE_CRYPTO_NG_TOKEN_EXCHANGE_TOPIC,
    ...CURVE_ADD_LIQUIDITY_TOPICS.values(),
    CURVE_NG_ADD_LIQUIDITY_TOPIC,
  ],
  decodePoolCreated: () => null,
  describePool: describeCurvePool,

  decodePoolLog(log, pool, ctx, state): PoolLogResult {
    if (isAddLiquidity(log.topics[0])) {
      recordBaseDeposit(log, ctx.chainId, state)
      return {}
    }
    const layout = log.topics[0] === undefined ? undefined : LAYOUTS.get(log.topics[0])
    if (!layout) return {}
    return decodeExchange(log, pool, ctx, state, layout)
  },
}

function decodeExchange(log: RawLog, pool: PoolInfo, ctx: DecodeContext, state: Map<string, unknown>, layout: Layout): PoolLogResult {
  const buyer = topicAddress(log.topics[1])
  if (!buyer || log.topics.length !== 2 || !isHexData(log.data) || wordCount(log.data) !== layout.words)
    throw decodeError(`undecodable ${layout.name}`, log, ctx.chainId)
  const coins = layout.underlying ? pool.underlying : (pool.tokens ?? [pool.token0, pool.token1])
  if (!coins) throw decodeError(`${layout.name} from a pool with no underlying coins known (name them in the config: underlying)`, log, ctx.chainId)
  const soldId = layout.signedIds ? intWord(log.data, 0) : uintWord(log.data, 0)
  const boughtId = layout.signedIds ? intWord(log.data, 2) : uintWord(log.data, 2)
  const tokenIn = coinAt(coins, soldId)
  const tokenOut = coinAt(coins, boughtId)
  const which = layout.underlying ? 'underlying coins' : 'coins'
  if (!tokenIn) throw decodeError(`${layout.name} sold_id ${soldId} is outside the pool's ${coins.length} ${which}`, log, ctx.chainId)
  if (!tokenOut) throw decodeError(`${layout.name} bought_id ${boughtId} is outside the pool's ${coins.length} ${which}`, log, ctx.chainId)
  if (soldId === boughtId) throw decodeError(`${layout.name} sells and buys the same coin (id ${soldId})`, log, ctx.chainId)
  const tokensSold = uintWord(log.data, 1)
  const amountOut = uintWord(log.data, 3)
  checkAmount(layout.name, 'tokens_sold', tokensSold, CURVE_AMOUNT, log, ctx.chainId)
  checkAmount(layout.name, 'tokens_bought', amountOut, CURVE_AMOUNT, log, ctx.chainId)
  // A metapool's sale of a base coin for its own coin: the amount the base pool took in (see
  // baseCoinSold); of a base coin for another: the base pool's own exchange (rejectBaseExchangeTwin).
  const ids = { sold: soldId, bought: boughtId }
  if (layout.underlying) rejectBaseExchangeTwin(log, pool, ids, tokensSold, ctx.chainId, state)
  const deposited = layout.underlying ? baseCoinSold(log, pool, ids, tokensSold, ctx.chainId, state) : undefined
  if (deposited !== undefined) checkAmount(layout.name, 'amount deposited into the base pool', deposited, CURVE_AMOUNT, log, ctx.chainId)
  const amountIn = deposited ?? tokensSold
  // A zero exchange moves nothing: not a trade (as a V2 swap in which the pool received nothing).
  if (amountIn === 0n) return {}
  const trader = ctx.txFrom(log.transactionHash)
  const blockTime = ctx.blockTime(log.blockNumber)
  if (!trader || blockTime === undefined) throw decodeError(`no transaction sender or block time for ${layout.name}`, log, ctx.chainId)
  if (!layout.underlying) recordExchange(log, buyer, tokensSold, state)
  return {
    swap: {
      chainId: ctx.chainId,
      dex: pool.dex,
      pool: pool.address,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      blockTime,
      txHash: log.transactionHash,
      logIndex: log.logIndex,
      trader,
      sender: buyer,
      recipient: buyer,
      tokenIn,
      tokenOut,
      amountIn,
      amountOut,
      decimalsIn: ctx.token(tokenIn)?.decimals ?? null,
      decimalsOut: ctx.token(tokenOut)?.decimals ?? null,
    },
  }
}

function coinAt(coins: readonly Address[], id: bigint): Address | undefined {
  return id >= 0n && id < BigInt(coins.length) ? coins[Number(id)] : undefined
}
