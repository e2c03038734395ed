import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import solc from 'solc'
import {
  BaseError as ViemError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { RetryableError } from '../../src/errors.ts'
import { createTokenCache } from '../../src/indexer/token-cache.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { worldArtifacts } from '../../src/world/artifacts.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const CHAIN_ID = 31337
const log = pino({ level: 'silent' })
const database = useEmbeddedDatabase()

/**
 * B32: an MKR-style token whose symbol() returns bytes32. Short: answers every call with a single
 * byte, which decodes neither as a uint8 word nor as a string / bytes32.
 */
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract B32 {
    function symbol() external pure returns (bytes32) { return "MKR"; }
    function decimals() external pure returns (uint8) { return 18; }
}

contract Short {
    fallback() external {
        assembly {
            mstore(0, 0x12)
            return(31, 1)
        }
    }
}
`

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

function compile(): Record<'B32' | 'Short', { abi: Abi; bytecode: Hex }> {
  const input = {
    language: 'Solidity',
    sources: { 'Tokens.sol': { content: SOURCE } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const get = (name: string) => {
    const c = output.contracts['Tokens.sol']?.[name]
    if (!c) throw new Error(`solc produced no ${name}`)
    return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` as Hex }
  }
  return { B32: get('B32'), Short: get('Short') }
}

let anvil: AnvilInstance
let client: PublicClient
const tokens = {} as Record<'usdc' | 'noDecimals' | 'b32' | 'short', Address>

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  client = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) })
  const wallet = createWalletClient({ account: anvilAccount(0), transport: http(anvil.rpcUrl) })
  const deploy = async (abi: Abi, bytecode: Hex, args: readonly unknown[] = []): Promise<Address> => {
    const hash = await wallet.deployContract({ abi, bytecode, args, chain: null })
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploy ${hash} failed`)
    return receipt.contractAddress.toLowerCase() as Address
  }
  const art = worldArtifacts()
  const compiled = compile()
  tokens.usdc = await deploy(art.testToken.abi, art.testToken.bytecode, ['USD Coin', 'USDC', 6])
  tokens.noDecimals = await deploy(art.noDecimalsToken.abi, art.noDecimalsToken.bytecode, ['No Decimals', 'NODEC'])
  tokens.b32 = await deploy(compiled.B32.abi, compiled.B32.bytecode)
  tokens.short = await deploy(compiled.Short.abi, compiled.Short.bytecode)
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

beforeEach(async () => {
  await database.pool().query('DELETE FROM tokens')
})

async function stored(): Promise<{ address: string; decimals: number | null; symbol: string | null; error: string | null }[]> {
  const r = await database.pool().query('SELECT address, decimals, symbol, error FROM tokens WHERE chain_id = $1 ORDER BY address', [CHAIN_ID])
  return r.rows
}

/** A JSON-RPC endpoint that answers every request with the given error, as a faulty provider does. */
async function failingRpc(error: { code: number; message: string }): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number } | { id: number }[]
      const answer = (r: { id: number }) => ({ jsonrpc: '2.0', id: r.id, error })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(Array.isArray(body) ? body.map(answer) : answer(body)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('token cache', () => {
  it('stores decimals and symbol of a plain ERC20, a bytes32-symbol token, a token without decimals() and one that answers garbage', async () => {
    const cache = await createTokenCache({ pool: database.pool(), client, chainId: CHAIN_ID, log })
    await cache.ensure(Object.values(tokens), 1n)

    const expected = [
      { address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null },
      { address: tokens.noDecimals, decimals: null, symbol: 'NODEC', error: 'decimals() reverted or returned no data' },
      { address: tokens.b32, decimals: 18, symbol: 'MKR', error: null },
      { address: tokens.short, decimals: null, symbol: null, error: 'decimals() returned data that does not decode as a uint8' },
    ].sort((a, b) => a.address.localeCompare(b.address))
    expect(await stored()).toEqual(expected)
    expect(cache.get(tokens.b32)).toEqual({ chainId: CHAIN_ID, address: tokens.b32, decimals: 18, symbol: 'MKR' })
    expect(cache.get(tokens.noDecimals)).toEqual({ chainId: CHAIN_ID, address: tokens.noDecimals, decimals: null, symbol: 'NODEC' })

    // A new cache loads them from the table and reads nothing again, even with no RPC at all.
    const dead = createPublicClient({ transport: http('http://127.0.0.1:1', { retryCount: 0 }) })
    const again = await createTokenCache({ pool: database.pool(), client: dead, chainId: CHAIN_ID, log })
    await again.ensure(Object.values(tokens), 2n)
    expect(again.get(tokens.usdc)).toEqual({ chainId: CHAIN_ID, address: tokens.usdc, decimals: 6, symbol: 'USDC' })
  })

  it('reads at the latest block: a token first seen at a block before it existed still gets its metadata', async () => {
    const cache = await createTokenCache({ pool: database.pool(), client, chainId: CHAIN_ID, log })
    await cache.ensure([tokens.usdc], 0n)
    expect(await stored()).toEqual([{ address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null }])
  })

  it('rejects with a RetryableError naming chain and token, and stores nothing, when the RPC is unreachable', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    const dead = createPublicClient({ transport: http('http://127.0.0.1:1', { retryCount: 0 }) })
    const cache = await createTokenCache({ pool: database.pool(), client: dead, chainId: CHAIN_ID, log })
    const run = cache.ensure([tokens.usdc], 1n)
    await expect(run).rejects.toBeInstanceOf(RetryableError)
    await expect(run).rejects.toThrow(new RegExp(`chain ${CHAIN_ID}, token ${tokens.usdc}`))
    expect(await stored()).toEqual([])
    expect(cache.get(tokens.usdc)).toBeUndefined()
  })

  it('treats a provider\'s -32603 "Internal error", which viem reports as a revert, as transient', async () => {
    const rpc = await failingRpc({ code: -32603, message: 'Internal error' })
    try {
      const faulty = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      // What makes this a trap: viem does turn it into a ContractFunctionRevertedError.
      const raw = await faulty.readContract({ address: tokens.usdc, abi: worldArtifacts().testToken.abi, functionName: 'decimals' }).catch((e: unknown) => e)
      expect(raw).toBeInstanceOf(ViemError)
      expect((raw as ViemError).walk((e) => e instanceof ContractFunctionRevertedError)).toBeInstanceOf(ContractFunctionRevertedError)

      const cache = await createTokenCache({ pool: database.pool(), client: faulty, chainId: CHAIN_ID, log })
      await expect(cache.ensure([tokens.usdc], 1n)).rejects.toBeInstanceOf(RetryableError)
      expect(await stored()).toEqual([])
    } finally {
      await rpc.close()
    }
  })

  it('treats a -32000 "header not found" as transient', async () => {
    const rpc = await failingRpc({ code: -32000, message: 'header not found' })
    try {
      const faulty = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: faulty, chainId: CHAIN_ID, log })
      await expect(cache.ensure([tokens.b32], 1n)).rejects.toBeInstanceOf(RetryableError)
      expect(await stored()).toEqual([])
    } finally {
      await rpc.close()
    }
  })
})
