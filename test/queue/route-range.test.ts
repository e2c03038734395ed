import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { createAccountResolver } from '../../src/domain/accounts.ts'
import type { NormalizedSwap, PriceObservation } from '../../src/domain/types.ts'
import { routeRange } from '../../src/queue/publisher.ts'
import { parseShardList, shardOf, shardQueueName } from '../../src/queue/shard-of.ts'

const A = '0x00000000000000000000000000000000000000aa' as Address
const B = '0x00000000000000000000000000000000000000bb' as Address
const C = '0x00000000000000000000000000000000000000cc' as Address
const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`

function swap(trader: Address, logIndex: number): NormalizedSwap {
  return {
    chainId: 1, dex: { family: 'uniswap-v3', name: 'uniswap-v3' }, pool: C, blockNumber: 10n, blockHash: h(10), blockTime: 1, txHash: h(logIndex),
    logIndex, trader, sender: C, recipient: trader, tokenIn: A, tokenOut: B, amountIn: 1n, amountOut: 2n, decimalsIn: 18, decimalsOut: 18,
  }
}
const price: PriceObservation = { chainId: 1, pool: C, blockNumber: 10n, blockTime: 1, txHash: h(0), logIndex: 0, base: A, quote: B, price: 2, quoteDepth: null }

describe('shardOf', () => {
  it('is a stable FNV-1a hash modulo the shard count', () => {
    // FNV-1a 32-bit of "desk" is 0x8b030cb8 (2,332,232,888; computed independently with Python).
    expect(shardOf('desk', 1_000_000_007)).toBe(2_332_232_888 % 1_000_000_007)
    expect(shardOf('desk', 4)).toBe(2_332_232_888 % 4)
    expect(shardOf('', 7)).toBe(0x811c9dc5 % 7)
  })
})

describe('parseShardList', () => {
  it('reads ranges and lists, and names a shard that does not exist', () => {
    expect(parseShardList('0-3', 4)).toEqual([0, 1, 2, 3])
    expect(parseShardList('3,1', 4)).toEqual([1, 3])
    expect(() => parseShardList('2-5', 4)).toThrow('--shards: shard 4 does not exist (shards: 4, numbered 0-3)')
    expect(() => parseShardList('x', 4)).toThrow('--shards: "x" is not a shard or range')
  })

  it('names queues with a Redis Cluster hash tag per shard', () => {
    expect(shardQueueName(3)).toBe('trades-{3}')
  })
})

describe('routeRange', () => {
  it('sends each account its swaps on its shard, every shard every price, and unwatched swaps to one shard', () => {
    const accounts = createAccountResolver({ desk: [A] })
    const range = { chainId: 1, fromBlock: 10n, toBlock: 19n, toBlockHash: h(19), toBlockTime: 1_700_000_019, swaps: [swap(A, 1), swap(B, 2), swap(A, 3)], prices: [price] }
    const batches = routeRange(range, 3, accounts)
    expect(batches.map((b) => b.shard)).toEqual([0, 1, 2])
    for (const b of batches) {
      expect(b.prices).toEqual([price])
      expect([b.fromBlock, b.toBlock]).toEqual([10n, 19n])
    }
    const desk = batches[shardOf('desk', 3)]!.swaps.filter((s) => s.account === 'desk')
    expect(desk.map((s) => s.logIndex)).toEqual([1, 3])
    const unwatched = batches[shardOf(B, 3)]!.swaps.filter((s) => s.account === null)
    expect(unwatched.map((s) => s.logIndex)).toEqual([2])
    expect(batches.reduce((n, b) => n + b.swaps.length, 0)).toBe(3)
  })
})
