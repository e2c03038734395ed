import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import { ANSWER_UPDATED_TOPIC, CHAINLINK_USD, chainlinkAggregatorAbi } from '../../indexers/chainlink/abi.ts'
import { decodeAnswerUpdated, type ChainlinkFeed } from '../../indexers/chainlink/feed.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { DecodeError } from '../../src/errors.ts'
import { PriceCache } from '../../workers/risk/price-cache.ts'
import { encodeLog } from '../setup/logs.ts'

const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
/** ETH / USD AccessControlledOffchainAggregator on Ethereum mainnet (behind proxy 0x5f4e…8419). */
const AGGREGATOR = '0x37bc7498f4ff12c19678ee8fe19d713b87f6a9e6' as Address
const feed: ChainlinkFeed = { chainId: 1, aggregator: AGGREGATOR, token: WETH, feedDecimals: 8 }

/**
 * A real mainnet AnswerUpdated log: ETH / USD round 38832 in block 16178595, tx
 * 0x3d9b20f0dd0fef43cb80438089592452c922ee4cffb6ac6c159b85b92fad9d3e, log index 30. Found printed
 * in full by a web3 subscription in github.com/LatypovIR/blockchain-hw3, README.md, with its decoded
 * values (current 131990865773, roundId 38832, updatedAt 1670968547) and "Updated price: $ 1319.90865773".
 * Hand check: topic 1 = 0x1ebb44c76d = 131990865773, / 10^8 = 1319.90865773; topic 2 = 0x97b0 =
 * 38832; data = 0x6398f4e3 = 1670968547 = 2022-12-13 21:55:47 UTC, the block's own time (OCR
 * aggregators report block.timestamp as updatedAt).
 */
const mainnetLog: RawLog = {
  address: AGGREGATOR,
  topics: [
    '0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f',
    '0x0000000000000000000000000000000000000000000000000000001ebb44c76d',
    '0x00000000000000000000000000000000000000000000000000000000000097b0',
  ],
  data: '0x000000000000000000000000000000000000000000000000000000006398f4e3',
  blockNumber: 16178595n,
  blockHash: '0x5d9577c6d3e8ac635865171ff7b43804cf2845312f9b81904df337d5b3b60f57',
  transactionHash: '0x3d9b20f0dd0fef43cb80438089592452c922ee4cffb6ac6c159b85b92fad9d3e',
  transactionIndex: 13,
  logIndex: 30,
}
const MAINNET_BLOCK_TIME = 1_670_968_547

const answer = (current: bigint, opts: { address?: Address; logIndex?: number } = {}): RawLog =>
  encodeLog({ abi: chainlinkAggregatorAbi, eventName: 'AnswerUpdated', args: { current, roundId: 7n, updatedAt: 1_700_000_000n }, address: opts.address ?? AGGREGATOR, blockNumber: 200n, logIndex: opts.logIndex ?? 3 })

describe('chainlink feed', () => {
  it('has the AnswerUpdated selector and Chainlink\'s USD denomination address(840)', () => {
    expect(ANSWER_UPDATED_TOPIC).toBe('0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f')
    expect(BigInt(CHAINLINK_USD)).toBe(840n)
  })

  it('decodes an AnswerUpdated log into a USD price of the feed\'s token', () => {
    const log = answer(250_012_345_678n)
    expect(decodeAnswerUpdated(log, feed, 1_700_000_012)).toEqual({
      chainId: 1,
      pool: AGGREGATOR,
      blockNumber: 200n,
      blockTime: 1_700_000_012,
      txHash: log.transactionHash,
      logIndex: 3,
      base: WETH,
      quote: CHAINLINK_USD,
      price: 2500.12345678,
      quoteDepth: null,
    })
  })

  it('decodes the real mainnet ETH / USD log of block 16178595 to 1319.90865773', () => {
    expect(decodeAnswerUpdated(mainnetLog, feed, MAINNET_BLOCK_TIME)).toEqual({
      chainId: 1,
      pool: AGGREGATOR,
      blockNumber: 16178595n,
      blockTime: MAINNET_BLOCK_TIME,
      txHash: '0x3d9b20f0dd0fef43cb80438089592452c922ee4cffb6ac6c159b85b92fad9d3e',
      logIndex: 30,
      base: WETH,
      quote: CHAINLINK_USD,
      price: 1319.90865773,
      quoteDepth: null,
    })
    // viem's encoder builds the same topics and data from the decoded values.
    const encoded = encodeLog({ abi: chainlinkAggregatorAbi, eventName: 'AnswerUpdated', args: { current: 131990865773n, roundId: 38832n, updatedAt: 1670968547n }, address: AGGREGATOR })
    expect(encoded.topics).toEqual(mainnetLog.topics)
    expect(encoded.data).toBe(mainnetLog.data)
  })

  it('refuses a zero or negative answer with a DecodeError naming chain, block, tx and log', () => {
    for (const current of [0n, -1n, -250_000_000_000n]) {
      const log = answer(current, { logIndex: 9 })
      expect(() => decodeAnswerUpdated(log, feed, 1)).toThrow(DecodeError)
      expect(() => decodeAnswerUpdated(log, feed, 1)).toThrow(
        `AnswerUpdated with a non-positive answer ${current} (chain 1, block 200, tx ${log.transactionHash}, log 9, pool ${AGGREGATOR})`,
      )
    }
  })

  it('refuses a log of another contract, another event or a malformed one', () => {
    const other = '0x00000000000000000000000000000000000000ff' as Address
    expect(() => decodeAnswerUpdated(answer(1n, { address: other }), feed, 1)).toThrow(/not the feed's aggregator/)
    const log = answer(1n)
    expect(() => decodeAnswerUpdated({ ...log, topics: [log.topics[0]!, log.topics[1]!] }, feed, 1)).toThrow(/undecodable AnswerUpdated \(chain 1, block 200/)
    expect(() => decodeAnswerUpdated({ ...log, topics: ['0x'.padEnd(66, '1') as `0x${string}`, log.topics[1]!, log.topics[2]!] }, feed, 1)).toThrow(DecodeError)
    expect(() => decodeAnswerUpdated({ ...log, data: '0x' }, feed, 1)).toThrow(/undecodable AnswerUpdated/)
  })

  it('prices WETH in a price cache without any pool depth', () => {
    const cache = new PriceCache({ stablecoins: new Set([USDC]), pivots: new Set([WETH]) })
    cache.observe(decodeAnswerUpdated(mainnetLog, feed, MAINNET_BLOCK_TIME))
    expect(cache.usd(WETH, MAINNET_BLOCK_TIME + 60)).toBe(1319.90865773)
  })
})
