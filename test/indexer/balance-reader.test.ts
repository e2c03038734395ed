import pino from 'pino'
import { createPublicClient, createWalletClient, http, parseEther, type PublicClient } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import { createBalanceReader } from '../../src/indexer/balance-reader.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'

const CHAIN_ID = 31337
let anvil: AnvilInstance
let client: PublicClient

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
})
afterAll(async () => {
  await anvil?.stop()
})

describe('createBalanceReader', () => {
  it('reads a range that starts at block 0 against the genesis state (there is no block −1)', async () => {
    const [alice, bob] = [anvilAccount(0), anvilAccount(1)]
    const wallet = createWalletClient({ account: alice, transport: http(anvil.rpcUrl), chain: { id: CHAIN_ID, name: 'anvil', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } } })
    const genesis = await client.getBalance({ address: bob.address, blockNumber: 0n })
    const hash = await wallet.sendTransaction({ to: bob.address, value: parseEther('1.5') })
    const receipt = await client.waitForTransactionReceipt({ hash })
    const reader = createBalanceReader({ client, chainId: CHAIN_ID, wallets: [bob.address.toLowerCase() as `0x${string}`], openingTokens: [], log: pino({ level: 'silent' }) })
    const readings = await reader.read({ fromBlock: 0n, toBlock: receipt.blockNumber }, new Map(), true, () => 18)
    expect(readings).toEqual([
      {
        chainId: CHAIN_ID,
        wallet: bob.address.toLowerCase(),
        token: NATIVE_TOKEN,
        beforeBlock: 0n,
        before: genesis,
        afterBlock: receipt.blockNumber,
        after: genesis + parseEther('1.5'),
        decimals: 18,
      },
    ])
  })
})
