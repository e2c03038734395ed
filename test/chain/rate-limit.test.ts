import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChainClient } from '../../src/chain/create-chain-client.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'

let anvil: AnvilInstance
beforeAll(async () => {
  anvil = await startAnvil({ chainId: 17_701 })
})
afterAll(async () => {
  await anvil?.stop()
})

describe('createChainClient requestsPerSecond', () => {
  it('lets at most that many JSON-RPC calls start per second, batched or not', async () => {
    const chain = { id: anvil.chainId, name: 'local', rpcUrls: [anvil.rpcUrl], rpcTimeoutMs: 10_000 }
    const client = createChainClient(chain, undefined, { requestsPerSecond: 10 })
    const started = performance.now()
    // 35 distinct calls at once (distinct, so viem cannot dedupe them): 10 a second means four windows.
    const addresses = Array.from({ length: 35 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as const)
    const balances = await Promise.all(addresses.map((address) => client.getBalance({ address })))
    const elapsed = performance.now() - started
    expect(balances).toEqual(addresses.map(() => 0n))
    // A lower bound only: a loaded machine makes this slower, never faster.
    expect(elapsed).toBeGreaterThanOrEqual(3_000 - 50)
  })
})
