import type { Address, Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo } from '../../src/domain/types.ts'
import { logDecodeError as decodeError } from '../../src/indexer/log-decode-error.ts'

/** A listed pool's TokenExchange, kept by its buyer: where, at which log, how much was sold. */
type BaseExchange = { logIndex: number; basePool: Address; tokensSold: bigint }

const keyOf = (txHash: Hex, buyer: Address) => `curve:exchange:${txHash}:${buyer}`

/** Keeps a decoded TokenExchange in the range's `state` by transaction and buyer, for `rejectBaseExchangeTwin`. */
export function recordExchange(log: RawLog, buyer: Address, tokensSold: bigint, state: Map<string, unknown>): void {
  const key = keyOf(log.transactionHash, buyer)
  const list = (state.get(key) as BaseExchange[] | undefined) ?? []
  list.push({ logIndex: log.logIndex, basePool: log.address, tokensSold })
  state.set(key, list)
}

/**
 * A metapool's TokenExchangeUnderlying of one base coin for another is its base pool's exchange:
 * the metapool calls the base pool's `exchange` (TokenExchange, buyer: the metapool, the same
 * amount sold) and passes the coins on. When the base pool is listed too, that TokenExchange is
 * already decoded as the trade, so the metapool's event would count it twice: it is rejected,
 * naming the base pool's log. Nothing is done when the exchange is not base coin for base coin,
 * or when no such TokenExchange precedes it in the transaction (the base pool is not listed: the
 * metapool's event is the trade).
 */
export function rejectBaseExchangeTwin(log: RawLog, pool: PoolInfo, ids: { sold: bigint; bought: bigint }, tokensSold: bigint, chainId: number, state: Map<string, unknown>): void {
  const coins = pool.tokens ?? [pool.token0, pool.token1]
  if (!pool.underlying || pool.underlying.length <= coins.length) return
  const baseLp = BigInt(coins.length - 1)
  if (ids.sold < baseLp || ids.bought < baseLp) return
  const list = state.get(keyOf(log.transactionHash, pool.address)) as BaseExchange[] | undefined
  const i = list?.findLastIndex((e) => e.logIndex < log.logIndex && e.tokensSold === tokensSold) ?? -1
  if (!list || i < 0) return
  const [twin] = list.splice(i, 1) as [BaseExchange]
  throw decodeError(
    `TokenExchangeUnderlying of base coin ${ids.sold} for base coin ${ids.bought} is the base pool's TokenExchange at log ${twin.logIndex} of ${twin.basePool} (buyer: this pool), decoded there as the trade`,
    log,
    chainId,
  )
}
