import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { V2_SWAP_TOPIC } from '../../indexers/uniswap-v2/abi.ts'
import { V3_SWAP_TOPIC } from '../../indexers/uniswap-v3/abi.ts'
import { createLogsClient } from '../../src/chain/create-chain-client.ts'
import { fetchLogs } from '../../src/indexer/fetch-logs.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld } from '../../src/world/deploy.ts'
import { fundTraders, runRandomTraders } from '../../src/world/traders.ts'

let anvil: AnvilInstance
let from: bigint
let to: bigint
let hops: number

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17501 })
  const world = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, seed: 11 })
  const traders = await fundTraders(world, 3)
  from = (await blockNumberOf(anvil.rpcUrl)) + 1n
  const run = await runRandomTraders(world, { traders, swaps: 24, seed: 3 })
  hops = run.swaps.reduce((n, s) => n + s.path.length - 1, 0)
  to = await blockNumberOf(anvil.rpcUrl)
})
afterAll(async () => {
  await anvil?.stop()
})

describe('fetchLogs with an answer larger than the client takes', () => {
  it('reads the range in parts, and returns exactly the logs one large answer holds', async () => {
    const chain = { id: anvil.chainId, name: 'local', rpcUrls: [anvil.rpcUrl], rpcTimeoutMs: 10_000 }
    const topics = [V2_SWAP_TOPIC, V3_SWAP_TOPIC]
    const whole = await fetchLogs(createLogsClient(chain), { fromBlock: from, toBlock: to, topics })
    expect(whole).toHaveLength(hops)
    // An answer cap a few swaps' logs pass (viem's ResponseBodyTooLargeError): halves, down to a block.
    const splits: [bigint, bigint][] = []
    const parts = await fetchLogs(createLogsClient(chain, undefined, { maxResponseBodySize: 4_000 }), {
      fromBlock: from,
      toBlock: to,
      topics,
      onSplit: (a, b, err) => {
        expect((err as Error).name === 'ResponseBodyTooLargeError' || (err as { cause?: { name?: string } }).cause?.name === 'ResponseBodyTooLargeError').toBe(true)
        splits.push([a, b])
      },
    })
    expect(splits.length).toBeGreaterThan(0)
    expect(splits[0]).toEqual([from, to])
    expect(parts).toEqual(whole)
  })
})
