import type { Address, Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { DexRef, PoolInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import type { Family, PoolLogResult } from '../../src/indexer/family.ts'
import { checkAmount, logDecodeError as decodeError, type AmountBound } from '../../src/indexer/log-decode-error.ts'
import { isHexData, uintWord, wordCount } from '../../src/indexer/words.ts'
import { BALANCER_V2_SWAP_TOPIC, BALANCER_V2_TOKENS_REGISTERED_TOPIC } from './abi.ts'

/**
 * Balancer V2: one Vault per chain (the config's `factory`, discovery 'singleton') registers every
 * pool and emits every pool's `Swap`, the pool id as topics[1] (indexers/balancer-v2/abi.ts).
 *
 * Pools. A pool is known from the Vault's `TokensRegistered(poolId, tokens, assetManagers)`: its
 * `address` is the pool id (bytes32, lowercased), `singleton` the Vault, `tokens` the registered
 * tokens in registration order (the Vault's index order; Balancer's own pools register them sorted
 * by address) and token0/token1 the first two. The pool id's first 20 bytes are the pool
 * contract's address (`balancerPoolAddress`), which is also its BPT (the pool share token).
 * Every Balancer pool registers all its tokens once, from its constructor. A registration of a
 * single token is a ManagedPool adding a token to a pool registered before (`addToken`), not a new
 * pool: it is not followed (null), so a later Swap of that added token fails the registered-token
 * check below and is kept as rejected, never decoded against a wrong token list.
 *
 * Swaps. A `Swap` names its two tokens itself (tokenIn: what the pool received, tokenOut: what it
 * paid, with the raw amounts); both must be among the pool's registered tokens, or the log is not
 * trusted (DecodeError). Ether never appears: the Vault wraps and unwraps it, so a swap of ETH shows
 * as WETH, and a trade routed through several pools (batchSwap) is one `Swap` per pool step. In a
 * composable stable pool the pool's own BPT is one of its registered tokens (the pool id's first 20
 * bytes as a token address), and joins and exits through the Vault's swap functions are `Swap`s
 * with the BPT as tokenOut (join) or tokenIn (exit): they are decoded as the swaps they are.
 *
 * Prices. No price observation. A Swap's amounts are an execution price (swap fee and price
 * impact included, any size from dust to a manipulation), not the pool's marginal price, which for
 * a weighted pool depends on the weights and for a stable pool on the amplification, neither in
 * any Vault event; the same reasoning as the Solidly stable pools (indexers/solidly/family.ts).
 * Balancer pools' tokens are priced by the other families' pools, stablecoin config and oracles.
 *
 * Sender and recipient. The event names neither (the Vault's `FundManagement` sender and recipient
 * are not logged), so both are the transaction sender, like `trader`.
 */
/**
 * What a Vault Swap's amounts can be. The Vault packs a pool's balance of each token into 112 bits
 * (BalanceAllocation: cash and managed of 112 bits each, their total required below 2^112), so an
 * amount in (at most the cash after the swap) or out (at most the cash before it) is below 2^112.
 * A Swap moving nothing on either side (a batchSwap step fed a zero amount) is no trade: rejected.
 */
export const BALANCER_AMOUNT: AmountBound = { limit: 1n << 112n, name: 'below 2^112', why: "the Vault keeps a pool's token balance in 112 bits", nonZero: 'a Vault swap moving nothing is no trade' }

export const balancerV2: Family = {
  family: 'balancer-v2',
  discovery: 'singleton',
  poolCreatedTopic: BALANCER_V2_TOKENS_REGISTERED_TOPIC,
  poolTopics: [BALANCER_V2_SWAP_TOPIC],

  decodePoolCreated(log: RawLog, dex: DexRef, chainId: number): PoolInfo | null {
    const tokens = log.topics.length === 2 && isWord(log.topics[1]) ? registeredTokens(log.data) : undefined
    if (!tokens) throw decodeError('undecodable TokensRegistered', log, chainId)
    // A ManagedPool adding one token to an existing pool (see above): not a new pool.
    if (tokens.length < 2) return null
    return {
      chainId,
      dex,
      address: log.topics[1]!.toLowerCase() as Address,
      token0: tokens[0]!,
      token1: tokens[1]!,
      fee: null,
      tokens,
      singleton: log.address.toLowerCase() as Address,
      createdBlock: log.blockNumber,
    }
  },

  decodePoolLog(log, pool, ctx): PoolLogResult {
    if (log.topics[0] !== BALANCER_V2_SWAP_TOPIC) return {}
    const [, poolId, inTopic, outTopic] = log.topics
    const tokenIn = addressTopic(inTopic)
    const tokenOut = addressTopic(outTopic)
    if (log.topics.length !== 4 || !isWord(poolId) || !tokenIn || !tokenOut || !isHexData(log.data) || wordCount(log.data) !== 2)
      throw decodeError('undecodable Swap', log, ctx.chainId)
    if (poolId.toLowerCase() !== pool.address.toLowerCase()) throw decodeError(`Swap of pool ${poolId.toLowerCase()}, not of ${pool.address}`, log, ctx.chainId)
    const registered = pool.tokens ?? [pool.token0, pool.token1]
    for (const token of [tokenIn, tokenOut]) {
      if (!registered.includes(token)) throw decodeError(`Swap token ${token} is not a registered token of pool ${pool.address}`, log, ctx.chainId)
    }
    if (tokenIn === tokenOut) throw decodeError(`Swap of ${tokenIn} for itself`, log, ctx.chainId)
    const amountIn = uintWord(log.data, 0)
    const amountOut = uintWord(log.data, 1)
    checkAmount('Swap', 'amountIn', amountIn, BALANCER_AMOUNT, log, ctx.chainId)
    checkAmount('Swap', 'amountOut', amountOut, BALANCER_AMOUNT, log, ctx.chainId)
    const trader = ctx.txFrom(log.transactionHash)
    const blockTime = ctx.blockTime(log.blockNumber)
    if (!trader || blockTime === undefined) throw decodeError('no transaction sender or block time for Swap', log, ctx.chainId)
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
        // The Vault logs no sender or recipient: the transaction sender stands for both.
        sender: trader,
        recipient: trader,
        tokenIn,
        tokenOut,
        amountIn,
        amountOut,
        decimalsIn: ctx.token(tokenIn)?.decimals ?? null,
        decimalsOut: ctx.token(tokenOut)?.decimals ?? null,
      },
    }
  },
}

/** The pool contract (and BPT) of a Balancer V2 pool id: the id's first 20 bytes, lowercased. */
export function balancerPoolAddress(poolId: Hex): Address {
  if (!isWord(poolId)) throw new DecodeError(`not a Balancer pool id: ${poolId}`)
  return `0x${poolId.slice(2, 42).toLowerCase()}` as Address
}

const WORD = /^0x[0-9a-fA-F]{64}$/
const ADDRESS_PAD = '0'.repeat(24)

function isWord(topic: Hex | undefined): topic is Hex {
  return topic !== undefined && WORD.test(topic)
}

/** An indexed address: a 32-byte topic whose first 12 bytes are zero. */
function addressTopic(topic: Hex | undefined): Address | undefined {
  return isWord(topic) && topic.slice(2, 26) === ADDRESS_PAD ? (`0x${topic.slice(26).toLowerCase()}` as Address) : undefined
}

/**
 * The `tokens` of a TokensRegistered's data `(address[] tokens, address[] assetManagers)`, as the
 * Vault's Solidity encoder writes it: offsets 0x40 and 0x40 + 32·(n+1), two arrays of the same
 * length n (the Vault requires it), each word a zero-padded address. The tokens are non-zero and
 * distinct (the Vault reverts otherwise). Undefined for anything else.
 */
function registeredTokens(data: Hex): Address[] | undefined {
  if (!isHexData(data)) return undefined
  const words = wordCount(data)
  if (words < 4 || uintWord(data, 0) !== 64n) return undefined
  const n = uintWord(data, 2)
  if (n > BigInt(words)) return undefined
  const count = Number(n)
  if (words !== 4 + 2 * count || uintWord(data, 1) !== BigInt(64 + 32 * (count + 1)) || uintWord(data, 3 + count) !== n) return undefined
  const tokens: Address[] = []
  for (let i = 0; i < count; i++) {
    const word = data.slice(2 + (3 + i) * 64, 2 + (4 + i) * 64)
    const manager = data.slice(2 + (4 + count + i) * 64, 2 + (5 + count + i) * 64)
    if (!word.startsWith(ADDRESS_PAD) || !manager.startsWith(ADDRESS_PAD)) return undefined
    const token = `0x${word.slice(24).toLowerCase()}` as Address
    if (/^0x0{40}$/.test(token) || tokens.includes(token)) return undefined
    tokens.push(token)
  }
  return tokens
}
