import { encodeAbiParameters, encodeEventTopics, keccak256, toHex, type AbiEvent, type Address, type Hex } from 'viem'
import { uniswapV2Abi } from '../indexers/uniswap-v2/abi.ts'
import { uniswapV3Abi } from '../indexers/uniswap-v3/abi.ts'
import type { RawLog } from '../src/domain/log.ts'
import type { DexRef, PoolInfo, TokenInfo } from '../src/domain/types.ts'
import { createRandom } from '../src/world/random.ts'

/**
 * A synthetic but byte-exact swap stream for the pipeline benchmark: Uniswap V2 pairs (Sync then
 * Swap in the same transaction, reserves by the pair's own constant-product math) and Uniswap V3
 * pools (signed amounts, sqrtPriceX96, liquidity, tick), ABI-encoded with viem's encoder exactly as
 * the contracts emit them. Everything the indexer would fetch (pools, tokens, tx senders, block
 * times, block hashes) is known up front.
 */
export type StreamOptions = {
  swaps: number
  pools: number
  wallets: number
  swapsPerBlock: number
  blocksPerRange: number
  firstBlock: bigint
  chainId: number
  seed: number
  /**
   * A crash: at the first block of the range at `atFraction` of the stream, before its swaps, one
   * seller moves every pool of `symbol` so that its price is multiplied by about `factor` (V2: a
   * sell sized by the constant product; V3: the pool price set so). Default: none.
   */
  crash?: { symbol: string; atFraction: number; factor: number }
}

export type Range = { fromBlock: bigint; toBlock: bigint; toBlockHash: Hex; logs: RawLog[]; swaps: number }

export type Stream = {
  tokens: Map<Address, TokenInfo>
  pools: Map<Address, PoolInfo>
  stablecoins: Address[]
  pivots: Address[]
  txFrom: Map<Hex, Address>
  blockTime: Map<bigint, number>
  ranges: Range[]
  swaps: number
  logs: number
  lastBlock: bigint
  /** `${account}|${token}` → net quantity the trader received (to check positions to the wei). */
  expected: Map<string, bigint>
  /** Each token's USD price when the stream starts. */
  startUsd: Map<Address, number>
  /** The crashed token and the block the crash is in (undefined: no crash). */
  crash?: { token: Address; block: bigint }
}

const TOKENS = [
  { symbol: 'USDC', decimals: 6, usd: 1 },
  { symbol: 'WETH', decimals: 18, usd: 3_000 },
  { symbol: 'WBTC', decimals: 8, usd: 60_000 },
  { symbol: 'UNI', decimals: 18, usd: 8 },
  { symbol: 'LINK', decimals: 18, usd: 15 },
  { symbol: 'AAVE', decimals: 18, usd: 100 },
  { symbol: 'MKR', decimals: 18, usd: 2_000 },
  { symbol: 'CRV', decimals: 18, usd: 0.5 },
  { symbol: 'LDO', decimals: 18, usd: 2 },
  { symbol: 'PEPE', decimals: 18, usd: 0.00001 },
] as const

const V2: DexRef = { family: 'uniswap-v2', name: 'uniswap-v2' }
const V3: DexRef = { family: 'uniswap-v3', name: 'uniswap-v3' }
const V2_ROUTER = '0x7a250d5630b4cf539739df2c5dacb4c659f2488d' as Address
const V3_ROUTER = '0xe592427a0aece92de3edc1bb7b0c6b6a2e8e1564' as Address
const V3_FEES = [500, 3_000, 10_000] as const
const POOL_SIDE_USD = 5_000_000
const Q96 = 2 ** 96

const eventOf = (abi: readonly AbiEvent[] | readonly unknown[], name: string): AbiEvent => {
  const e = (abi as readonly AbiEvent[]).find((x) => x.type === 'event' && x.name === name)
  if (!e) throw new Error(`no event ${name}`)
  return e
}
const dataInputs = (e: AbiEvent) => e.inputs.filter((i) => !i.indexed)
const V2_SYNC = dataInputs(eventOf(uniswapV2Abi, 'Sync'))
const V2_SWAP = dataInputs(eventOf(uniswapV2Abi, 'Swap'))
const V3_SWAP = dataInputs(eventOf(uniswapV3Abi, 'Swap'))

const addressOf = (label: string): Address => `0x${keccak256(toHex(label)).slice(26)}` as Address

type V2State = { kind: 'v2'; info: PoolInfo; r0: bigint; r1: bigint }
/** V3: price = token1 raw per token0 raw (float; the emitted sqrtPriceX96 is derived from it). */
type V3State = { kind: 'v3'; info: PoolInfo; price: number; liquidity: bigint; fee: number }
type PoolState = V2State | V3State

export function generateStream(opts: StreamOptions): Stream {
  const rnd = createRandom(opts.seed)
  const tokenList = TOKENS.map((t) => ({ ...t, address: addressOf(`bench-token-${t.symbol}`) }))
  const tokens = new Map<Address, TokenInfo>(
    tokenList.map((t) => [t.address, { chainId: opts.chainId, address: t.address, decimals: t.decimals, symbol: t.symbol }]),
  )
  const meta = new Map(tokenList.map((t) => [t.address, t]))
  const rawPerUsd = (a: Address): number => 10 ** meta.get(a)!.decimals / meta.get(a)!.usd

  // Every pair of tokens, then the busiest pairs again on the other family, until `pools` pools.
  const pairs: [Address, Address][] = []
  for (let i = 0; i < tokenList.length; i++)
    for (let j = i + 1; j < tokenList.length; j++) {
      const [a, b] = [tokenList[i]!.address, tokenList[j]!.address]
      pairs.push(a < b ? [a, b] : [b, a])
    }
  const states: PoolState[] = []
  for (let i = 0; i < opts.pools; i++) {
    const [token0, token1] = pairs[i % pairs.length]!
    const v2 = (i + Math.floor(i / pairs.length)) % 2 === 0
    const address = addressOf(`bench-pool-${i}`)
    const fee = v2 ? null : V3_FEES[i % V3_FEES.length]!
    const info: PoolInfo = { chainId: opts.chainId, dex: v2 ? V2 : V3, address, token0, token1, fee, createdBlock: opts.firstBlock - 1_000n }
    if (v2) {
      states.push({
        kind: 'v2',
        info,
        r0: BigInt(Math.round(POOL_SIDE_USD * rawPerUsd(token0))),
        r1: BigInt(Math.round(POOL_SIDE_USD * rawPerUsd(token1))),
      })
    } else {
      states.push({ kind: 'v3', info, price: rawPerUsd(token1) / rawPerUsd(token0), liquidity: 10n ** 18n + BigInt(rnd.int(1e9)) * 10n ** 12n, fee: fee! })
    }
  }
  const pools = new Map(states.map((s) => [s.info.address, s.info]))
  const wallets = Array.from({ length: opts.wallets }, (_, i) => addressOf(`bench-wallet-${i}`))

  const txFrom = new Map<Hex, Address>()
  const blockTime = new Map<bigint, number>()
  const expected = new Map<string, bigint>()
  const credit = (trader: Address, token: Address, q: bigint): void => {
    const k = `${trader}|${token}`
    expected.set(k, (expected.get(k) ?? 0n) + q)
  }
  const ranges: Range[] = []
  const blocks = Math.ceil(opts.swaps / opts.swapsPerBlock)
  const crashToken = opts.crash ? tokenList.find((t) => t.symbol === opts.crash!.symbol)?.address : undefined
  if (opts.crash && !crashToken) throw new Error(`crash: no token ${opts.crash.symbol} (${TOKENS.map((t) => t.symbol).join(', ')})`)
  const crashAt = opts.crash ? Math.floor(Math.floor((blocks * opts.crash.atFraction) / opts.blocksPerRange) * opts.blocksPerRange) : -1
  const crasher = addressOf('bench-crasher')
  let made = 0
  let logCount = 0
  let range: Range | undefined
  for (let b = 0; b < blocks; b++) {
    const blockNumber = opts.firstBlock + BigInt(b)
    const blockHash = keccak256(toHex(`bench-block-${blockNumber}`))
    blockTime.set(blockNumber, 1_717_200_000 + 12 * b)
    if (!range || b % opts.blocksPerRange === 0) {
      range = { fromBlock: blockNumber, toBlock: blockNumber, toBlockHash: blockHash, logs: [], swaps: 0 }
      ranges.push(range)
    }
    range.toBlock = blockNumber
    range.toBlockHash = blockHash
    let logIndex = 0
    /**
     * One swap of `amountIn` on a pool, its logs appended to the range and its flows credited: a V2
     * pair by UniswapV2Library.getAmountOut, its Sync (reserves after) then Swap; a V3 pool at its
     * price less the fee, the price then moved by `move` (the trade's impact, or a crash), and its
     * Swap with the new sqrtPriceX96 and tick.
     */
    const swap = (pool: PoolState, zeroForOne: boolean, amountIn: bigint, trader: Address, tx: { hash: Hex; index: number }, move?: (price: number) => number): void => {
      const { token0, token1 } = pool.info
      const base = { address: pool.info.address, blockNumber, blockHash, transactionHash: tx.hash, transactionIndex: tx.index }
      let amountOut: bigint
      if (pool.kind === 'v2') {
        const [rIn, rOut] = zeroForOne ? [pool.r0, pool.r1] : [pool.r1, pool.r0]
        amountOut = (amountIn * 997n * rOut) / (rIn * 1000n + amountIn * 997n)
        if (zeroForOne) {
          pool.r0 += amountIn
          pool.r1 -= amountOut
        } else {
          pool.r1 += amountIn
          pool.r0 -= amountOut
        }
        range!.logs.push({ ...base, topics: encodeEventTopics({ abi: uniswapV2Abi, eventName: 'Sync' }) as Hex[], data: encodeAbiParameters(V2_SYNC, [pool.r0, pool.r1]), logIndex: logIndex++ })
        range!.logs.push({
          ...base,
          topics: encodeEventTopics({ abi: uniswapV2Abi, eventName: 'Swap', args: { sender: V2_ROUTER, to: trader } }) as Hex[],
          data: encodeAbiParameters(V2_SWAP, zeroForOne ? [amountIn, 0n, 0n, amountOut] : [0n, amountIn, amountOut, 0n]),
          logIndex: logIndex++,
        })
      } else {
        const rate = zeroForOne ? pool.price : 1 / pool.price
        amountOut = BigInt(Math.floor(Number(amountIn) * rate * (1 - pool.fee / 1e6)))
        pool.price = move ? move(pool.price) : pool.price
        const sqrtPriceX96 = BigInt(Math.floor(Math.sqrt(pool.price) * Q96))
        const tick = Math.floor(Math.log(pool.price) / Math.log(1.0001))
        const [amount0, amount1] = zeroForOne ? [amountIn, -amountOut] : [-amountOut, amountIn]
        range!.logs.push({
          ...base,
          topics: encodeEventTopics({ abi: uniswapV3Abi, eventName: 'Swap', args: { sender: V3_ROUTER, recipient: trader } }) as Hex[],
          data: encodeAbiParameters(V3_SWAP, [amount0, amount1, sqrtPriceX96, pool.liquidity, tick]),
          logIndex: logIndex++,
        })
      }
      txFrom.set(tx.hash, trader)
      credit(trader, zeroForOne ? token0 : token1, -amountIn)
      credit(trader, zeroForOne ? token1 : token0, amountOut)
      range!.swaps++
      made++
    }
    if (b === crashAt && crashToken) {
      // One seller sells the crash token into every pool of it: a V2 pair by enough to scale its
      // price by the factor (its reserve × 1/√factor; the fee makes it a little less), a V3 pool's
      // price set so.
      const factor = opts.crash!.factor
      for (const [k, pool] of states.entries()) {
        const { token0, token1 } = pool.info
        if (token0 !== crashToken && token1 !== crashToken) continue
        const zeroForOne = token0 === crashToken
        const amountIn =
          pool.kind === 'v2'
            ? BigInt(Math.floor(Number(zeroForOne ? pool.r0 : pool.r1) * (1 / Math.sqrt(factor) - 1)))
            : BigInt(Math.floor(POOL_SIDE_USD * rawPerUsd(crashToken)))
        swap(pool, zeroForOne, amountIn, crasher, { hash: keccak256(toHex(`bench-crash-${blockNumber}-${k}`)), index: 1_000 + k }, (p) => (zeroForOne ? p * factor : p / factor))
      }
    }
    const inBlock = Math.min(opts.swapsPerBlock, opts.swaps - made)
    for (let k = 0; k < inBlock; k++) {
      const pool = states[rnd.int(states.length)]!
      const trader = wallets[rnd.int(wallets.length)]!
      const zeroForOne = rnd.next() < 0.5
      const tokenIn = zeroForOne ? pool.info.token0 : pool.info.token1
      const usd = 10 * 5_000 ** rnd.next() // $10 to $50,000, log-uniform
      const amountIn = BigInt(Math.max(1, Math.floor(usd * rawPerUsd(tokenIn))))
      // On V3 the price moves against the trader by the trade's impact.
      const impact = usd / (4 * POOL_SIDE_USD)
      swap(pool, zeroForOne, amountIn, trader, { hash: keccak256(toHex(`bench-tx-${blockNumber}-${k}`)), index: k }, (p) => p * (zeroForOne ? 1 - impact : 1 + impact))
    }
    logCount += logIndex
  }
  return {
    tokens,
    pools,
    stablecoins: [tokenList[0]!.address],
    pivots: [tokenList[1]!.address],
    txFrom,
    blockTime,
    ranges,
    swaps: made,
    logs: logCount,
    lastBlock: opts.firstBlock + BigInt(blocks - 1),
    expected,
    startUsd: new Map(tokenList.map((t) => [t.address, t.usd])),
    ...(crashToken ? { crash: { token: crashToken, block: opts.firstBlock + BigInt(crashAt) } } : {}),
  }
}
