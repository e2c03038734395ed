import type { Address, Hex } from 'viem'

/** A confirmed log as returned by eth_getLogs (no pending fields). */
export type RawLog = {
  address: Address
  topics: readonly Hex[]
  data: Hex
  blockNumber: bigint
  blockHash: Hex
  transactionHash: Hex
  transactionIndex: number
  logIndex: number
}
