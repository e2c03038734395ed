import type { Address, Hex } from 'viem'

/**
 * Hot-path ABI word readers for event data (docs/decisions.md 5: a per-family decoder keyed by
 * topic0 instead of viem's decodeEventLog, which scans the ABI on every call). Addresses are
 * lowercase everywhere inside dexrisk.
 */
const TWO_256 = 1n << 256n
const TWO_255 = 1n << 255n

/** Number of 32-byte words in a log's data. */
export function wordCount(data: Hex): number {
  return (data.length - 2) / 64
}

export function uintWord(data: Hex, index: number): bigint {
  const start = 2 + index * 64
  return BigInt(`0x${data.slice(start, start + 64)}`)
}

export function intWord(data: Hex, index: number): bigint {
  const v = uintWord(data, index)
  return v >= TWO_255 ? v - TWO_256 : v
}

/** An int24 or other small signed value ABI-encoded in a word. */
export function smallIntWord(data: Hex, index: number): number {
  return Number(intWord(data, index))
}

export function addressWord(data: Hex, index: number): Address {
  const start = 2 + index * 64 + 24
  return `0x${data.slice(start, start + 40).toLowerCase()}` as Address
}

export function topicAddress(topic: Hex | undefined): Address | undefined {
  if (topic === undefined || topic.length !== 66) return undefined
  return `0x${topic.slice(26).toLowerCase()}` as Address
}

export function isHexData(data: Hex): boolean {
  return (data.length - 2) % 64 === 0 && /^0x[0-9a-fA-F]*$/.test(data)
}
