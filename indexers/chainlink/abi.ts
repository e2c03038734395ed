import { toEventSelector, type Address } from 'viem'

/**
 * The one event dexrisk reads from a Chainlink aggregator (the aggregator itself, not its proxy:
 * proxies emit nothing). `current` is the new answer with the feed's decimals, signed because a
 * feed may in principle report a negative value.
 */
export const chainlinkAggregatorAbi = [
  {
    type: 'event',
    name: 'AnswerUpdated',
    inputs: [
      { name: 'current', type: 'int256', indexed: true },
      { name: 'roundId', type: 'uint256', indexed: true },
      { name: 'updatedAt', type: 'uint256', indexed: false },
    ],
  },
] as const

export const ANSWER_UPDATED_TOPIC = toEventSelector('AnswerUpdated(int256,uint256,uint256)')

/**
 * Chainlink's `Denominations.USD`: address(840), 840 being the ISO 4217 number of the US dollar.
 * A price observation quoted in it is an oracle's USD price, not a pool's: the price cache trusts
 * it without a depth.
 */
export const CHAINLINK_USD: Address = '0x0000000000000000000000000000000000000348'
