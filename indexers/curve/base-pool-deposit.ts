import type { Address, Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo } from '../../src/domain/types.ts'
import { logDecodeError as decodeError } from '../../src/indexer/log-decode-error.ts'
import { isHexData, topicAddress, uintWord, wordCount } from '../../src/indexer/words.ts'
import { CURVE_ADD_LIQUIDITY_TOPICS, CURVE_NG_ADD_LIQUIDITY_TOPIC } from './abi.ts'

/** A StableSwap pool's AddLiquidity, kept by its provider: where, in which transaction, how much of each coin. */
export type BaseDeposit = { txHash: Hex; logIndex: number; basePool: Address; amounts: bigint[] }

const COINS_BY_TOPIC: ReadonlyMap<Hex, number> = new Map([...CURVE_ADD_LIQUIDITY_TOPICS].map(([n, topic]) => [topic, n]))

export function isAddLiquidity(topic0: Hex | undefined): boolean {
  return topic0 !== undefined && (COINS_BY_TOPIC.has(topic0) || topic0 === CURVE_NG_ADD_LIQUIDITY_TOPIC)
}

const keyOf = (txHash: Hex, provider: Address) => `curve:deposit:${txHash}:${provider}`

/**
 * Keeps a listed pool's AddLiquidity in the range's `state`, by transaction and provider, for a
 * metapool's exchange later in the same transaction (`baseCoinSold`). It is neither a trade nor a
 * price. Throws DecodeError when the data is not the event's.
 */
export function recordBaseDeposit(log: RawLog, chainId: number, state: Map<string, unknown>): void {
  const provider = topicAddress(log.topics[1])
  const amounts = provider && log.topics.length === 2 && isHexData(log.data) ? depositAmounts(log) : undefined
  if (!provider || !amounts) throw decodeError('undecodable AddLiquidity', log, chainId)
  const key = keyOf(log.transactionHash, provider)
  const list = (state.get(key) as BaseDeposit[] | undefined) ?? []
  list.push({ txHash: log.transactionHash, logIndex: log.logIndex, basePool: log.address, amounts })
  state.set(key, list)
}

/**
 * The token_amounts of an AddLiquidity's data: N words first for a fixed-size pool (2N + 2 words);
 * for stableswap-ng, the first of two dynamic arrays of the same length n as its encoder writes
 * them (offsets 0x80 and 0x80 + 32·(n+1), invariant, supply, n, amounts, n, fees). Undefined for
 * anything else.
 */
function depositAmounts(log: RawLog): bigint[] | undefined {
  const words = wordCount(log.data)
  const fixed = log.topics[0] === undefined ? undefined : COINS_BY_TOPIC.get(log.topics[0])
  if (fixed !== undefined) return words === 2 * fixed + 2 ? Array.from({ length: fixed }, (_, i) => uintWord(log.data, i)) : undefined
  if (words < 6 || uintWord(log.data, 0) !== 128n) return undefined
  const n = uintWord(log.data, 4)
  if (n > BigInt(words)) return undefined
  const count = Number(n)
  if (words !== 6 + 2 * count || uintWord(log.data, 1) !== BigInt(128 + 32 * (count + 1)) || uintWord(log.data, 5 + count) !== n) return undefined
  return Array.from({ length: count }, (_, i) => uintWord(log.data, 5 + i))
}

/**
 * The amount of a base coin that a metapool's TokenExchangeUnderlying sold for one of the
 * metapool's own coins; undefined when the exchange is not such a sale (a lending pool, a sale of
 * the metapool's own coin, or base coin for base coin).
 *
 * Why. To sell base coin i > 0 for coin 0, a metapool's `exchange_underlying` takes the trader's
 * `_dx`, deposits it into its base pool (`add_liquidity`) and swaps the base LP tokens it got. The
 * curve-factory metapool templates since Vyper 0.2.14 (curvefi/curve-factory MetaUSD.vy and
 * MetaBTC.vy, 0.2.15 as deployed by the v2 factory and 0.3.1 after; the sidechain MetaStandard.vy and
 * MetaRAI.vy copy them) reassign `dx` to that LP amount (`dx = ERC20(coin_i).balanceOf(self) - x`)
 * and log `TokenExchangeUnderlying(msg.sender, i, dx, j, dy)`: tokens_sold is 3CRV (or the base
 * LP's) units, e.g. 10^12 times the USDT sold. Their "Balances" variants, the factory v1 pools
 * (0.2.8, 0.2.12) and curve-contract metapools log the real amount; a selling base coin for base
 * coin does not deposit and logs `_dx`.
 *
 * Which pools are affected is not told by the event, and a pool's implementation (a minimal proxy
 * to one implementation per base pool and chain, no version getter in 0.2.15) is not in what dexrisk
 * keeps of a pool. So no template is trusted for this one case: the amount sold is always the base
 * pool's own record of the deposit, its AddLiquidity with the metapool as provider, earlier in the
 * same transaction (the amount the base pool received from the metapool, so the amount the metapool
 * kept of the trader's transfer). Each deposit serves one exchange. The base pool must be a listed
 * curve pool for its AddLiquidity to be read: without it, or with a deposit of other coins, the
 * exchange is rejected (DecodeError naming the case), never recorded with tokens_sold.
 */
export function baseCoinSold(
  log: RawLog,
  pool: PoolInfo,
  ids: { sold: bigint; bought: bigint },
  tokensSold: bigint,
  chainId: number,
  state: Map<string, unknown>,
): bigint | undefined {
  const coins = pool.tokens ?? [pool.token0, pool.token1]
  const underlying = pool.underlying
  // A lending pool's underlying coins are its own coins' (as many); a metapool's are its own coins
  // but the last (the base LP), then the base pool's coins.
  if (!underlying || underlying.length <= coins.length) return undefined
  const baseLp = BigInt(coins.length - 1)
  if (ids.sold < baseLp || ids.bought >= baseLp) return undefined
  const baseIndex = Number(ids.sold - baseLp)
  const baseCoins = underlying.length - (coins.length - 1)
  const what = `TokenExchangeUnderlying sells base coin ${ids.sold} for the metapool's coin ${ids.bought}: tokens_sold ${tokensSold} can be the base pool's LP amount (curve-factory metapools since Vyper 0.2.14 log that)`
  const deposit = takeDeposit(log, pool.address, state)
  if (!deposit)
    throw decodeError(`${what}, and no AddLiquidity by this pool into its base pool precedes it in the transaction to give the amount sold (list the base pool as a curve pool)`, log, chainId)
  if (deposit.amounts.length !== baseCoins || deposit.amounts.some((a, i) => (i === baseIndex) !== (a > 0n)))
    throw decodeError(`${what}, and the AddLiquidity by this pool at log ${deposit.logIndex} of ${deposit.basePool} deposits [${deposit.amounts.join(', ')}], not base coin ${baseIndex} alone of ${baseCoins}`, log, chainId)
  return deposit.amounts[baseIndex]
}

/** The latest deposit `provider` made before `log` in its transaction, removed from `state`. */
function takeDeposit(log: RawLog, provider: Address, state: Map<string, unknown>): BaseDeposit | undefined {
  const list = state.get(keyOf(log.transactionHash, provider)) as BaseDeposit[] | undefined
  if (!list) return undefined
  for (let i = list.length - 1; i >= 0; i--) {
    const d = list[i] as BaseDeposit
    if (d.logIndex < log.logIndex) return list.splice(i, 1)[0]
  }
  return undefined
}
