import type { Address } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'
import type { PriceObservation } from '../../src/domain/types.ts'
import { toUnits } from '../../src/domain/price-math.ts'
import { logDecodeError } from '../../src/indexer/log-decode-error.ts'
import { intWord, isHexData, wordCount } from '../../src/indexer/words.ts'
import { ANSWER_UPDATED_TOPIC, CHAINLINK_USD } from './abi.ts'

/** One configured Chainlink USD feed: which aggregator reports the USD price of which token. */
export type ChainlinkFeed = {
  chainId: number
  /** The aggregator contract (the proxy's current `aggregator()`), lowercase. */
  aggregator: Address
  /** The token the feed prices (e.g. WETH for ETH / USD), lowercase. */
  token: Address
  /** The feed's `decimals()`: 8 for the USD feeds. */
  feedDecimals: number
}

/**
 * Decodes an aggregator's `AnswerUpdated` log into a price observation of the feed's token in
 * Chainlink's USD denomination (pure; `blockTime` is the log's block timestamp, unix seconds).
 * Rounding, named: the answer is converted to float64 by `toUnits`. A log of another contract or
 * event, a malformed log, and an answer at or below zero (no USD price is that) are refused with a
 * DecodeError naming chain, block, tx and log index.
 */
export function decodeAnswerUpdated(log: RawLog, feed: ChainlinkFeed, blockTime: number): PriceObservation {
  if (log.address.toLowerCase() !== feed.aggregator.toLowerCase())
    throw logDecodeError(`AnswerUpdated from ${log.address}, not the feed's aggregator ${feed.aggregator}`, log, feed.chainId)
  const [topic0, currentTopic, roundTopic] = log.topics
  if (topic0 !== ANSWER_UPDATED_TOPIC || !currentTopic || !roundTopic || log.topics.length !== 3)
    throw logDecodeError('undecodable AnswerUpdated', log, feed.chainId)
  if (!isHexData(currentTopic) || wordCount(currentTopic) !== 1 || !isHexData(log.data) || wordCount(log.data) !== 1)
    throw logDecodeError('undecodable AnswerUpdated', log, feed.chainId)
  const current = intWord(currentTopic, 0)
  if (current <= 0n) throw logDecodeError(`AnswerUpdated with a non-positive answer ${current}`, log, feed.chainId)
  return {
    chainId: feed.chainId,
    pool: log.address.toLowerCase() as Address,
    blockNumber: log.blockNumber,
    blockTime,
    txHash: log.transactionHash,
    logIndex: log.logIndex,
    base: feed.token,
    quote: CHAINLINK_USD,
    price: toUnits(current, feed.feedDecimals),
    quoteDepth: null,
  }
}
