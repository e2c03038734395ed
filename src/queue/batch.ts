import type { Address, Hex } from 'viem'
import type { NormalizedSwap, PriceObservation } from '../domain/types.ts'

/** A swap routed to a shard, with the account it is attributed to (null: no watched account). */
export type RoutedSwap = NormalizedSwap & { account: string | null }

/**
 * One job: one chain's contiguous block range [fromBlock, toBlock] for one shard. Every shard gets
 * a batch for every range (design.md decision 3: the range's price observations travel with it),
 * even when it holds no swap of that shard, so a shard's checkpoints advance without gaps.
 */
export type TradeBatch = {
  chainId: number
  shard: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: Hex | null
  swaps: RoutedSwap[]
  prices: PriceObservation[]
}

/** Deterministic job id of a batch: the same range for the same shard is the same job. */
export function batchJobId(b: Pick<TradeBatch, 'chainId' | 'fromBlock' | 'toBlock'>): string {
  return `c${b.chainId}-b${b.fromBlock}-${b.toBlock}`
}

/** JSON-safe form of a batch (BullMQ stores job data as JSON): bigints as decimal strings. */
export type EncodedBatch = {
  v: 1
  chainId: number
  shard: number
  fromBlock: string
  toBlock: string
  toBlockHash: Hex | null
  swaps: EncodedSwap[]
  prices: EncodedPrice[]
}

type EncodedSwap = Omit<
  RoutedSwap,
  'blockNumber' | 'amountIn' | 'amountOut' | 'sqrtPriceX96' | 'liquidity' | 'reserve0' | 'reserve1'
> & {
  blockNumber: string
  amountIn: string
  amountOut: string
  sqrtPriceX96?: string
  liquidity?: string
  reserve0?: string
  reserve1?: string
}
type EncodedPrice = Omit<PriceObservation, 'blockNumber'> & { blockNumber: string }

const optional = (v: bigint | undefined): string | undefined => (v === undefined ? undefined : v.toString())
const optionalBig = (v: string | undefined): bigint | undefined => (v === undefined ? undefined : BigInt(v))

export function encodeBatch(b: TradeBatch): EncodedBatch {
  return {
    v: 1,
    chainId: b.chainId,
    shard: b.shard,
    fromBlock: b.fromBlock.toString(),
    toBlock: b.toBlock.toString(),
    toBlockHash: b.toBlockHash,
    swaps: b.swaps.map((s) => {
      const e: EncodedSwap = {
        ...s,
        blockNumber: s.blockNumber.toString(),
        amountIn: s.amountIn.toString(),
        amountOut: s.amountOut.toString(),
        sqrtPriceX96: optional(s.sqrtPriceX96),
        liquidity: optional(s.liquidity),
        reserve0: optional(s.reserve0),
        reserve1: optional(s.reserve1),
      }
      return e
    }),
    prices: b.prices.map((p) => ({ ...p, blockNumber: p.blockNumber.toString() })),
  }
}

export function decodeBatch(e: EncodedBatch): TradeBatch {
  return {
    chainId: e.chainId,
    shard: e.shard,
    fromBlock: BigInt(e.fromBlock),
    toBlock: BigInt(e.toBlock),
    toBlockHash: e.toBlockHash,
    swaps: e.swaps.map((s) => {
      const { sqrtPriceX96, liquidity, reserve0, reserve1, ...rest } = s
      const swap: RoutedSwap = {
        ...rest,
        pool: s.pool as Address,
        blockNumber: BigInt(s.blockNumber),
        amountIn: BigInt(s.amountIn),
        amountOut: BigInt(s.amountOut),
      }
      if (sqrtPriceX96 !== undefined) swap.sqrtPriceX96 = BigInt(sqrtPriceX96)
      if (liquidity !== undefined) swap.liquidity = optionalBig(liquidity)
      if (reserve0 !== undefined) swap.reserve0 = optionalBig(reserve0)
      if (reserve1 !== undefined) swap.reserve1 = optionalBig(reserve1)
      return swap
    }),
    prices: e.prices.map((p) => ({ ...p, blockNumber: BigInt(p.blockNumber) })),
  }
}
