import type { Address, Hex } from 'viem'
import type { BalanceReading, DexFamily, NormalizedSwap, PriceObservation, WalletTransfer } from '../domain/types.ts'
import { BatchError } from '../errors.ts'

/** A swap routed to a shard, with the account it is attributed to (null: no watched account). */
export type RoutedSwap = NormalizedSwap & { account: string | null }
/** A watched wallet's logged balance change, with the account the wallet belongs to. */
export type RoutedTransfer = WalletTransfer & { account: string }
/** A watched wallet's balances around the range, with the account the wallet belongs to. */
export type RoutedReading = BalanceReading & { account: string }
/**
 * A wallet taken out of `account` (removed from it, moved to another account, or the account
 * deleted): from the batch's first block its balances no longer count in the account's positions.
 */
export type RoutedDetachment = { wallet: Address; account: string }

/**
 * One job: one chain's contiguous block range [fromBlock, toBlock] for one shard. Every shard gets
 * a batch for every range (docs/decisions.md 3: the range's price observations travel with it),
 * even when it holds no swap of that shard, so a shard's checkpoints advance without gaps.
 */
export type TradeBatch = {
  chainId: number
  shard: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: Hex | null
  /** Timestamp of toBlock (unix seconds; null in jobs of version 2): the shard's clock for risk. */
  toBlockTime: number | null
  swaps: RoutedSwap[]
  prices: PriceObservation[]
  /** Named accounts only: logged balance changes of this shard's wallets, in (block, log) order. */
  transfers: RoutedTransfer[]
  /** Named accounts only: balances of this shard's wallets before and after the range. */
  readings: RoutedReading[]
  /** Named accounts only: wallets this shard's accounts stop counting from fromBlock (applied first). */
  detachments: RoutedDetachment[]
}

/** Deterministic job id of a batch: the same range for the same shard is the same job. */
export function batchJobId(b: Pick<TradeBatch, 'chainId' | 'fromBlock' | 'toBlock'>, generation: number): string {
  return `c${b.chainId}-b${b.fromBlock}-${b.toBlock}-g${generation}`
}

/**
 * JSON-safe form of a batch (BullMQ stores job data as JSON). Version 2, written by encodeBatch:
 * swaps and prices as fixed-order tuples, bigints as decimal strings, and every address, hash and
 * DEX name once in `strings`, referred to by index (a range's swaps share a few pools, tokens and
 * block hashes, and a swap shares its tx hash with its price). Measured with bench/pipeline.ts it is
 * about a third the size of one object per swap, and much cheaper to build and parse. A job of
 * another version is refused with a BatchError (the shard stops; the job is kept).
 */
export type EncodedBatch = EncodedBatchV2 | EncodedBatchV3 | EncodedBatchV4

export type EncodedBatchV2 = {
  v: 2
  chainId: number
  shard: number
  fromBlock: string
  toBlock: string
  toBlockHash: Hex | null
  strings: string[]
  swaps: SwapTuple[]
  prices: PriceTuple[]
}

/** Version 3: version 2 plus named accounts' transfers and balance readings. */
export type EncodedBatchV3 = Omit<EncodedBatchV2, 'v'> & { v: 3; toBlockTime: number | null; transfers: TransferTuple[]; readings: ReadingTuple[] }

/**
 * Version 4: version 3 plus wallets detached from their accounts. Written only for a batch that
 * detaches a wallet, so that a worker of an older version refuses it (and stops the shard, keeping
 * the job) instead of applying it without the detachment; every other batch stays version 3.
 */
export type EncodedBatchV4 = Omit<EncodedBatchV3, 'v'> & { v: 4; detachments: DetachmentTuple[] }

/** String-table indexes are marked `Ref`; optional bigint / number fields are null when absent. */
type Ref = number
type SwapTuple = [
  chainId: number,
  family: Ref,
  name: Ref,
  pool: Ref,
  blockNumber: string,
  blockHash: Ref,
  blockTime: number,
  txHash: Ref,
  logIndex: number,
  trader: Ref,
  sender: Ref,
  recipient: Ref,
  tokenIn: Ref,
  tokenOut: Ref,
  amountIn: string,
  amountOut: string,
  decimalsIn: number | null,
  decimalsOut: number | null,
  account: Ref | null,
  sqrtPriceX96: string | null,
  liquidity: string | null,
  tick: number | null,
  reserve0: string | null,
  reserve1: string | null,
]
type PriceTuple = [
  chainId: number,
  pool: Ref,
  blockNumber: string,
  blockTime: number,
  txHash: Ref,
  logIndex: number,
  base: Ref,
  quote: Ref,
  price: number,
  quoteDepth: number | null,
]

type TransferTuple = [blockNumber: string, blockTime: number, txHash: Ref, logIndex: number, token: Ref, wallet: Ref, counterparty: Ref, kind: Ref, delta: string, account: Ref, decimals: number | null]
type DetachmentTuple = [wallet: Ref, account: Ref]
type ReadingTuple = [wallet: Ref, token: Ref, beforeBlock: string, before: string | null, afterBlock: string, after: string, account: Ref, decimals: number | null]

const str = (v: bigint | undefined): string | null => (v === undefined ? null : v.toString())

export function encodeBatch(b: TradeBatch): EncodedBatchV3 | EncodedBatchV4 {
  const strings: string[] = []
  const index = new Map<string, number>()
  const ref = (s: string): Ref => {
    let i = index.get(s)
    if (i === undefined) {
      i = strings.length
      strings.push(s)
      index.set(s, i)
    }
    return i
  }
  const swaps = b.swaps.map(
    (s): SwapTuple => [
      s.chainId,
      ref(s.dex.family),
      ref(s.dex.name),
      ref(s.pool),
      s.blockNumber.toString(),
      ref(s.blockHash),
      s.blockTime,
      ref(s.txHash),
      s.logIndex,
      ref(s.trader),
      ref(s.sender),
      ref(s.recipient),
      ref(s.tokenIn),
      ref(s.tokenOut),
      s.amountIn.toString(),
      s.amountOut.toString(),
      s.decimalsIn,
      s.decimalsOut,
      s.account === null ? null : ref(s.account),
      str(s.sqrtPriceX96),
      str(s.liquidity),
      s.tick ?? null,
      str(s.reserve0),
      str(s.reserve1),
    ],
  )
  const prices = b.prices.map(
    (p): PriceTuple => [p.chainId, ref(p.pool), p.blockNumber.toString(), p.blockTime, ref(p.txHash), p.logIndex, ref(p.base), ref(p.quote), p.price, p.quoteDepth],
  )
  const transfers = b.transfers.map(
    (t): TransferTuple => [t.blockNumber.toString(), t.blockTime, ref(t.txHash), t.logIndex, ref(t.token), ref(t.wallet), ref(t.counterparty), ref(t.kind), t.delta.toString(), ref(t.account), t.decimals],
  )
  const readings = b.readings.map(
    (r): ReadingTuple => [ref(r.wallet), ref(r.token), r.beforeBlock.toString(), r.before === null ? null : r.before.toString(), r.afterBlock.toString(), r.after.toString(), ref(r.account), r.decimals],
  )
  const detachments = b.detachments.map((d): DetachmentTuple => [ref(d.wallet), ref(d.account)])
  const v3: EncodedBatchV3 = {
    v: 3,
    chainId: b.chainId,
    shard: b.shard,
    fromBlock: b.fromBlock.toString(),
    toBlock: b.toBlock.toString(),
    toBlockHash: b.toBlockHash,
    toBlockTime: b.toBlockTime,
    strings,
    swaps,
    prices,
    transfers,
    readings,
  }
  return detachments.length === 0 ? v3 : { ...v3, v: 4, detachments }
}

export function decodeBatch(e: EncodedBatch): TradeBatch {
  const version = (e as { v?: unknown }).v
  if (version !== 2 && version !== 3 && version !== 4)
    throw new BatchError(`job data version ${String(version)} is not one this worker reads (2, 3, 4)`, {
      context: { chainId: (e as { chainId?: number }).chainId, shard: (e as { shard?: number }).shard },
    })
  const t = e.strings
  const swaps = e.swaps.map((x): RoutedSwap => {
    const swap: RoutedSwap = {
      chainId: x[0],
      dex: { family: t[x[1]] as DexFamily, name: t[x[2]]! },
      pool: t[x[3]] as Address,
      blockNumber: BigInt(x[4]),
      blockHash: t[x[5]] as Hex,
      blockTime: x[6],
      txHash: t[x[7]] as Hex,
      logIndex: x[8],
      trader: t[x[9]] as Address,
      sender: t[x[10]] as Address,
      recipient: t[x[11]] as Address,
      tokenIn: t[x[12]] as Address,
      tokenOut: t[x[13]] as Address,
      amountIn: BigInt(x[14]),
      amountOut: BigInt(x[15]),
      decimalsIn: x[16],
      decimalsOut: x[17],
      account: x[18] === null ? null : t[x[18]]!,
    }
    if (x[19] !== null) swap.sqrtPriceX96 = BigInt(x[19])
    if (x[20] !== null) swap.liquidity = BigInt(x[20])
    if (x[21] !== null) swap.tick = x[21]
    if (x[22] !== null) swap.reserve0 = BigInt(x[22])
    if (x[23] !== null) swap.reserve1 = BigInt(x[23])
    return swap
  })
  const prices = e.prices.map(
    (x): PriceObservation => ({
      chainId: x[0],
      pool: t[x[1]] as Address,
      blockNumber: BigInt(x[2]),
      blockTime: x[3],
      txHash: t[x[4]] as Hex,
      logIndex: x[5],
      base: t[x[6]] as Address,
      quote: t[x[7]] as Address,
      price: x[8],
      quoteDepth: x[9],
    }),
  )
  const chainId = e.chainId
  const transfers = (e.v === 2 ? [] : e.transfers).map(
    (x): RoutedTransfer => ({
      chainId,
      blockNumber: BigInt(x[0]),
      blockTime: x[1],
      txHash: t[x[2]] as Hex,
      logIndex: x[3],
      token: t[x[4]] as Address,
      wallet: t[x[5]] as Address,
      counterparty: t[x[6]] as Address,
      kind: t[x[7]] as WalletTransfer['kind'],
      delta: BigInt(x[8]),
      account: t[x[9]]!,
      decimals: x[10],
    }),
  )
  const readings = (e.v === 2 ? [] : e.readings).map(
    (x): RoutedReading => ({
      chainId,
      wallet: t[x[0]] as Address,
      token: t[x[1]] as Address,
      beforeBlock: BigInt(x[2]),
      before: x[3] === null ? null : BigInt(x[3]),
      afterBlock: BigInt(x[4]),
      after: BigInt(x[5]),
      account: t[x[6]]!,
      decimals: x[7],
    }),
  )
  const detachments = (e.v === 4 ? e.detachments : []).map((x): RoutedDetachment => ({ wallet: t[x[0]] as Address, account: t[x[1]]! }))
  return {
    chainId,
    shard: e.shard,
    fromBlock: BigInt(e.fromBlock),
    toBlock: BigInt(e.toBlock),
    toBlockHash: e.toBlockHash,
    toBlockTime: e.v === 2 ? null : e.toBlockTime,
    swaps,
    prices,
    transfers,
    readings,
    detachments,
  }
}
