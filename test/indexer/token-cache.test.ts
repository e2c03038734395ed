import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import solc from 'solc'
import {
  BaseError as ViemError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  http,
  maxUint256,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import { RetryableError } from '../../src/errors.ts'
import { createTokenCache, detectFeeOnTransfer, MULTICALL_TOKENS, type TxLog } from '../../src/indexer/token-cache.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { worldArtifacts } from '../../src/world/artifacts.ts'
import { captureLog } from '../setup/capture-log.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { startRpcProxy } from '../setup/rpc-proxy.ts'

const CHAIN_ID = 31337
const log = pino({ level: 'silent' })
const database = useEmbeddedDatabase()

/**
 * B32: an MKR-style token whose symbol() returns bytes32. Short: answers every call with a single
 * byte, which decodes neither as a uint8 word nor as a string / bytes32. Verbose: a 30,000-byte
 * symbol, more than a deployless multicall can answer (EIP-170: 24,576 bytes). LyingTax: an ERC20 that
 * logs Transfer(from, to, value) but credits `to` with only 98% of it (2% stays in the token
 * contract, unlogged), as some "tax" tokens do; or, given a flat fee, that many wei less (as a
 * share-based token like stETH rounds).
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

contract Verbose {
    function decimals() external pure returns (uint8) { return 9; }
    function symbol() external pure returns (string memory s) {
        s = new string(30000);
        bytes memory b = bytes(s);
        for (uint256 i = 0; i < b.length; i++) b[i] = "V";
    }
}

contract LyingTax {
    string public constant name = "Lying Tax";
    string public constant symbol = "LIE";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    uint256 public immutable flatFee;

    constructor(uint256 supply, uint256 flatFee_) {
        flatFee = flatFee_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }
    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (allowance[from][msg.sender] != type(uint256).max) allowance[from][msg.sender] -= amount;
        _transfer(from, to, amount);
        return true;
    }
    function _transfer(address from, address to, uint256 amount) internal {
        uint256 fee = flatFee > 0 ? flatFee : amount / 50;
        balanceOf[from] -= amount;
        balanceOf[to] += amount - fee;
        balanceOf[address(this)] += fee;
        emit Transfer(from, to, amount);
    }
}
`

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

type Compiled = Record<'B32' | 'Short' | 'Verbose' | 'LyingTax', { abi: Abi; bytecode: Hex }>

function compile(): Compiled {
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
  return { B32: get('B32'), Short: get('Short'), Verbose: get('Verbose'), LyingTax: get('LyingTax') }
}

/** Uniswap's own test token (v2-periphery): burns 1% of every transfer from the sender. */
function deflatingErc20(): { abi: Abi; bytecode: Hex } {
  const path = createRequire(import.meta.url).resolve('@uniswap/v2-periphery/build/DeflatingERC20.json')
  const json = JSON.parse(readFileSync(path, 'utf8')) as { abi: Abi; bytecode: string }
  return { abi: json.abi, bytecode: (json.bytecode.startsWith('0x') ? json.bytecode : `0x${json.bytecode}`) as Hex }
}

const E18 = 10n ** 18n
const E6 = 10n ** 6n
const me = anvilAccount(0)

let anvil: AnvilInstance
let client: PublicClient
let compiled: Compiled
const tokens = {} as Record<'usdc' | 'noDecimals' | 'b32' | 'short' | 'dtt', Address>
let send: (to: Address, abi: Abi, functionName: string, args: readonly unknown[]) => Promise<TransactionReceipt>
let deploy: (abi: Abi, bytecode: Hex, args?: readonly unknown[]) => Promise<Address>

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  client = createPublicClient({ transport: http(anvil.rpcUrl, { retryCount: 0 }) })
  const wallet = createWalletClient({ account: me, transport: http(anvil.rpcUrl) })
  const mined = async (hash: Hex): Promise<TransactionReceipt> => {
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })
    if (receipt.status !== 'success') throw new Error(`tx ${hash} reverted`)
    return receipt
  }
  deploy = async (abi, bytecode, args = []) => {
    const receipt = await mined(await wallet.deployContract({ abi, bytecode, args, chain: null }))
    if (!receipt.contractAddress) throw new Error('no contract address')
    return receipt.contractAddress.toLowerCase() as Address
  }
  send = async (to, abi, functionName, args) => mined(await wallet.writeContract({ address: to, abi, functionName, args, chain: null, gas: 5_000_000n }))
  const art = worldArtifacts()
  compiled = compile()
  tokens.usdc = await deploy(art.testToken.abi, art.testToken.bytecode, ['USD Coin', 'USDC', 6])
  tokens.noDecimals = await deploy(art.noDecimalsToken.abi, art.noDecimalsToken.bytecode, ['No Decimals', 'NODEC'])
  tokens.b32 = await deploy(compiled.B32.abi, compiled.B32.bytecode)
  tokens.short = await deploy(compiled.Short.abi, compiled.Short.bytecode)
  const dtt = deflatingErc20()
  tokens.dtt = await deploy(dtt.abi, dtt.bytecode, [1_000_000n * E18])
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

beforeEach(async () => {
  await database.pool().query('DELETE FROM tokens')
})

type Row = { address: string; decimals: number | null; symbol: string | null; error: string | null; flags: string[] }

async function stored(): Promise<Row[]> {
  const r = await database.pool().query('SELECT address, decimals, symbol, error, flags FROM tokens WHERE chain_id = $1 ORDER BY address', [CHAIN_ID])
  return r.rows as Row[]
}

const byAddress = (rows: Row[]): Row[] => [...rows].sort((a, b) => a.address.localeCompare(b.address))

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

/**
 * A tiny counting proxy: forwards every JSON-RPC request to anvil and counts them by method
 * (a batch counts each request in it), keeping each eth_call's `to` (null: a deployless call).
 */
async function countingRpc(target: string): Promise<{ url: string; counts: Map<string, number>; callTargets: (string | null)[]; close(): Promise<void> }> {
  const counts = new Map<string, number>()
  const callTargets: (string | null)[] = []
  const read = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  const server: Server = createServer((req, res) => {
    void read(req).then(async (body) => {
      const parsed = JSON.parse(body) as { method: string; params?: { to?: string }[] } | { method: string; params?: { to?: string }[] }[]
      for (const r of Array.isArray(parsed) ? parsed : [parsed]) {
        counts.set(r.method, (counts.get(r.method) ?? 0) + 1)
        if (r.method === 'eth_call') callTargets.push(r.params?.[0]?.to ?? null)
      }
      const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      res.writeHead(upstream.status, { 'content-type': 'application/json' })
      res.end(await upstream.text())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    callTargets,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe('token cache', () => {
  it('reads a plain ERC20, a bytes32-symbol token, a token without decimals(), one that answers garbage and a fee-on-transfer token in ONE deployless eth_call, and flags them', async () => {
    const rpc = await countingRpc(anvil.rpcUrl)
    try {
      const counted = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: counted, chainId: CHAIN_ID, log })
      await cache.ensure([...Object.values(tokens), NATIVE_TOKEN], 1n)

      // One request in all, an eth_call without `to`: Multicall3's bytecode as call code.
      expect(Object.fromEntries(rpc.counts)).toEqual({ eth_call: 1 })
      expect(rpc.callTargets).toEqual([null])

      expect(await stored()).toEqual(
        byAddress([
          { address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null, flags: [] },
          { address: tokens.noDecimals, decimals: null, symbol: 'NODEC', error: 'decimals() reverted or returned no data', flags: ['no_decimals'] },
          { address: tokens.b32, decimals: 18, symbol: 'MKR', error: null, flags: ['bytes32_symbol'] },
          { address: tokens.short, decimals: null, symbol: null, error: 'decimals() returned data that does not decode as a uint8', flags: ['no_decimals'] },
          // DeflatingERC20: name 'Deflating Test Token', symbol 'DTT', 18 decimals. Fee-on-transfer is
          // seen in logs (below), not in metadata.
          { address: tokens.dtt, decimals: 18, symbol: 'DTT', error: null, flags: [] },
          { address: NATIVE_TOKEN, decimals: 18, symbol: 'ETH', error: null, flags: [] },
        ]),
      )
      expect(cache.get(tokens.b32)).toEqual({ chainId: CHAIN_ID, address: tokens.b32, decimals: 18, symbol: 'MKR' })
      expect(cache.flags(tokens.b32)).toEqual(['bytes32_symbol'])
      expect(cache.get(tokens.noDecimals)).toEqual({ chainId: CHAIN_ID, address: tokens.noDecimals, decimals: null, symbol: 'NODEC' })
      expect(cache.flags(tokens.noDecimals)).toEqual(['no_decimals'])
      expect(cache.flags(tokens.usdc)).toEqual([])

      // A new cache loads them, flags included, from the table and reads nothing again, even with no RPC at all.
      const dead = createPublicClient({ transport: http('http://127.0.0.1:1', { retryCount: 0 }) })
      const again = await createTokenCache({ pool: database.pool(), client: dead, chainId: CHAIN_ID, log })
      await again.ensure([...Object.values(tokens), NATIVE_TOKEN], 2n)
      expect(again.get(tokens.usdc)).toEqual({ chainId: CHAIN_ID, address: tokens.usdc, decimals: 6, symbol: 'USDC' })
      expect(again.flags(tokens.short)).toEqual(['no_decimals'])
    } finally {
      await rpc.close()
    }
  })

  it('knows the native token without any call', async () => {
    const rpc = await countingRpc(anvil.rpcUrl)
    try {
      const counted = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: counted, chainId: CHAIN_ID, log })
      expect(cache.get(NATIVE_TOKEN)).toEqual({ chainId: CHAIN_ID, address: NATIVE_TOKEN, decimals: 18, symbol: 'ETH' })
      await cache.ensure([NATIVE_TOKEN], 1n)
      expect(rpc.counts.size).toBe(0)
      expect(await stored()).toEqual([{ address: NATIVE_TOKEN, decimals: 18, symbol: 'ETH', error: null, flags: [] }])
    } finally {
      await rpc.close()
    }
  })

  it('checks a call that came back empty from the batch on its own before recording NULL (an address with no code)', async () => {
    const rpc = await countingRpc(anvil.rpcUrl)
    try {
      const counted = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: counted, chainId: CHAIN_ID, log })
      const eoa = anvilAccount(5).address.toLowerCase() as Address
      await cache.ensure([tokens.usdc, eoa], 1n)
      // 1 multicall, then the EOA alone: decimals(), symbol() as string, symbol() as bytes32.
      expect(Object.fromEntries(rpc.counts)).toEqual({ eth_call: 4 })
      expect(rpc.callTargets).toEqual([null, eoa, eoa, eoa])
      expect(await stored()).toEqual(
        byAddress([
          { address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null, flags: [] },
          { address: eoa, decimals: null, symbol: null, error: 'decimals() reverted or returned no data', flags: ['no_decimals'] },
        ]),
      )
    } finally {
      await rpc.close()
    }
  })

  it(`splits more than ${MULTICALL_TOKENS} tokens into one multicall per ${MULTICALL_TOKENS}`, async () => {
    // MULTICALL_TOKENS + 1 distinct real contracts (B32s): two eth_calls, of MULTICALL_TOKENS and 1.
    const many: Address[] = []
    for (let i = 0; i < MULTICALL_TOKENS + 1; i++) many.push(await deploy(compiled.B32.abi, compiled.B32.bytecode))
    const rpc = await countingRpc(anvil.rpcUrl)
    try {
      const counted = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: counted, chainId: CHAIN_ID, log })
      await cache.ensure(many, 1n)
      expect(Object.fromEntries(rpc.counts)).toEqual({ eth_call: 2 })
      const rows = await stored()
      expect(rows.length).toBe(MULTICALL_TOKENS + 1)
      expect(rows.every((r) => r.decimals === 18 && r.symbol === 'MKR' && r.error === null && r.flags.join() === 'bytes32_symbol')).toBe(true)
    } finally {
      await rpc.close()
    }
  }, 60_000)

  it('splits a multicall whose answer the node refuses as too large (a 30,000-byte symbol), down to the token read on its own', async () => {
    const verbose = await deploy(compiled.Verbose.abi, compiled.Verbose.bytecode)
    const rpc = await countingRpc(anvil.rpcUrl)
    try {
      const counted = createPublicClient({ transport: http(rpc.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: counted, chainId: CHAIN_ID, log })
      await cache.ensure([tokens.usdc, verbose], 1n)
      // [usdc, verbose] refused (CreateContractSizeLimit); [usdc] answers; [verbose] refused again,
      // then read call by call: decimals() and symbol() (the string form answers, no bytes32 read).
      expect(rpc.callTargets).toEqual([null, null, null, verbose, verbose])
      expect(await stored()).toEqual(
        byAddress([
          { address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null, flags: [] },
          { address: verbose, decimals: 9, symbol: 'V'.repeat(30_000), error: null, flags: [] },
        ]),
      )
    } finally {
      await rpc.close()
    }
  })

  it('reads at the latest block: a token first seen at a block before it existed still gets its metadata', async () => {
    const cache = await createTokenCache({ pool: database.pool(), client, chainId: CHAIN_ID, log })
    await cache.ensure([tokens.usdc], 0n)
    expect(await stored()).toEqual([{ address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null, flags: [] }])
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

  it('on a proxy fault (HTTP 500) rejects with a RetryableError, stores nothing, and the retry reads everything once the fault is gone', async () => {
    const proxy = await startRpcProxy(anvil.rpcUrl)
    try {
      const faulty = createPublicClient({ transport: http(proxy.url, { retryCount: 0 }) })
      const cache = await createTokenCache({ pool: database.pool(), client: faulty, chainId: CHAIN_ID, log })
      proxy.fault('http-500', { methods: ['eth_call'] })
      const run = cache.ensure([tokens.b32, tokens.usdc], 1n)
      await expect(run).rejects.toBeInstanceOf(RetryableError)
      // A failed multicall fails every call in it: the batch's first token is named.
      await expect(run).rejects.toThrow(new RegExp(`chain ${CHAIN_ID}, token ${tokens.b32}`))
      expect(proxy.faulted['http-500']).toBe(1)
      expect(await stored()).toEqual([])
      expect(cache.get(tokens.b32)).toBeUndefined()

      proxy.fault('none')
      await cache.ensure([tokens.b32, tokens.usdc], 1n)
      expect(proxy.forwarded).toBe(1)
      expect(await stored()).toEqual(
        byAddress([
          { address: tokens.usdc, decimals: 6, symbol: 'USDC', error: null, flags: [] },
          { address: tokens.b32, decimals: 18, symbol: 'MKR', error: null, flags: ['bytes32_symbol'] },
        ]),
      )
    } finally {
      await proxy.close()
    }
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

describe('fee-on-transfer detection on real Uniswap V2 swaps', () => {
  const art = worldArtifacts()
  const routerAbi = art.v2Router02.abi
  let router: Address
  let factory: Address
  let lie: Address
  const rounding: Address[] = []
  let plain: Address
  const pools = new Map<Address, { token0: Address; token1: Address }>()
  const poolOf = (a: Address) => pools.get(a.toLowerCase() as Address)
  const logsOf = (r: TransactionReceipt): TxLog[] =>
    r.logs.map((l) => ({ address: l.address, topics: l.topics, data: l.data, logIndex: l.logIndex, transactionHash: l.transactionHash }))
  const pairOf = async (a: Address, b: Address): Promise<Address> => {
    const pair = (await client.readContract({ address: factory, abi: art.v2Factory.abi, functionName: 'getPair', args: [a, b] })) as Address
    const [token0, token1] = a < b ? [a, b] : [b, a]
    pools.set(pair.toLowerCase() as Address, { token0, token1 })
    return pair.toLowerCase() as Address
  }
  const addLiquidity = (a: Address, b: Address, amountA: bigint, amountB: bigint) =>
    send(router, routerAbi, 'addLiquidity', [a, b, amountA, amountB, 0n, 0n, me.address, maxUint256])
  const swap = (amountIn: bigint, path: Address[]) =>
    send(router, routerAbi, 'swapExactTokensForTokensSupportingFeeOnTransferTokens', [amountIn, 0n, path, me.address, maxUint256])

  beforeAll(async () => {
    const weth = await deploy(art.weth9.abi, art.weth9.bytecode)
    factory = await deploy(art.v2Factory.abi, art.v2Factory.bytecode, [me.address])
    router = await deploy(art.v2Router02.abi, art.v2Router02.bytecode, [factory, weth])
    lie = await deploy(compiled.LyingTax.abi, compiled.LyingTax.bytecode, [1_000_000n * E18, 0n])
    for (const wei of [2n, 3n]) rounding.push(await deploy(compiled.LyingTax.abi, compiled.LyingTax.bytecode, [1_000_000n * E18, wei]))
    plain = await deploy(art.testToken.abi, art.testToken.bytecode, ['Plain', 'PLN', 18])
    await send(tokens.usdc, art.testToken.abi, 'mint', [me.address, 1_000_000n * E6])
    await send(plain, art.testToken.abi, 'mint', [me.address, 1_000_000n * E18])
    for (const t of [tokens.usdc, tokens.dtt, lie, plain, ...rounding]) await send(t, erc20Abi, 'approve', [router, maxUint256])
    await addLiquidity(tokens.dtt, tokens.usdc, 10_000n * E18, 10_000n * E6)
    await addLiquidity(lie, tokens.usdc, 10_000n * E18, 10_000n * E6)
    await addLiquidity(plain, tokens.usdc, 10_000n * E18, 10_000n * E6)
    for (const t of rounding) await addLiquidity(t, tokens.usdc, 10_000n * E18, 10_000n * E6)
  }, 60_000)

  it('DeflatingERC20 sold into its pair: the 1% burn leg next to the transfer into the pool', async () => {
    const pair = await pairOf(tokens.dtt, tokens.usdc)
    const receipt = await swap(100n * E18, [tokens.dtt, tokens.usdc])
    const found = detectFeeOnTransfer(logsOf(receipt), poolOf)
    // The trader sends 100 DTT: 1 DTT (100e18 / 100) is burned, Transfer(trader → 0x0, 1e18), then
    // Transfer(trader → pair, 99e18): sent 100e18, delivered 99e18.
    const leg = receipt.logs.find((l) => l.address.toLowerCase() === tokens.dtt && l.topics[2]?.toLowerCase().endsWith(pair.slice(2)))
    expect(leg).toBeDefined()
    expect(found).toEqual([{ token: tokens.dtt, pool: pair, txHash: receipt.transactionHash, logIndex: leg!.logIndex, kind: 'fee-leg', sent: 100n * E18, delivered: 99n * E18 }])
  })

  it('DeflatingERC20 bought out of its pair: the pool sends X, the trader gets X - X/100', async () => {
    const pair = await pairOf(tokens.dtt, tokens.usdc)
    const [r0, r1] = (await client.readContract({ address: pair, abi: art.v2Pair.abi, functionName: 'getReserves' })) as [bigint, bigint, number]
    const [reserveDtt, reserveUsdc] = tokens.dtt < tokens.usdc ? [r0, r1] : [r1, r0]
    const amountIn = 50n * E6
    // Uniswap V2 getAmountOut: in·997·R_out / (R_in·1000 + in·997).
    const x = (amountIn * 997n * reserveDtt) / (reserveUsdc * 1000n + amountIn * 997n)
    const receipt = await swap(amountIn, [tokens.usdc, tokens.dtt])
    const found = detectFeeOnTransfer(logsOf(receipt), poolOf)
    const leg = receipt.logs.find((l) => l.address.toLowerCase() === tokens.dtt && l.topics[1]?.toLowerCase().endsWith(pair.slice(2)) && !/^0x0{64}$/.test(l.topics[2] ?? ''))
    expect(found).toEqual([{ token: tokens.dtt, pool: pair, txHash: receipt.transactionHash, logIndex: leg!.logIndex, kind: 'fee-leg', sent: x, delivered: x - x / 100n }])
  })

  it('a token that logs the full value but credits less: the pair\'s Swap amountIn is short of the Transfer', async () => {
    const pair = await pairOf(lie, tokens.usdc)
    const receipt = await swap(100n * E18, [lie, tokens.usdc])
    const swapLog = receipt.logs.find((l) => l.address.toLowerCase() === pair && l.topics.length === 3)
    // Transfer(trader → pair, 100e18) is logged; the pair is credited 100e18 - 100e18/50 = 98e18,
    // which its Swap reports as amountIn.
    expect(detectFeeOnTransfer(logsOf(receipt), poolOf)).toEqual([
      { token: lie, pool: pair, txHash: receipt.transactionHash, logIndex: swapLog!.logIndex, kind: 'short-credit', sent: 100n * E18, delivered: 98n * E18 },
    ])
  })

  it('takes a shortfall of 2 wei for rounding (stETH-style), 3 wei for a fee', async () => {
    const [twoWei, threeWei] = rounding as [Address, Address]
    const pair2 = await pairOf(twoWei, tokens.usdc)
    const pair3 = await pairOf(threeWei, tokens.usdc)
    const two = await swap(100n * E18, [twoWei, tokens.usdc])
    expect(detectFeeOnTransfer(logsOf(two), poolOf)).toEqual([])
    const three = await swap(100n * E18, [threeWei, tokens.usdc])
    const swapLog = three.logs.find((l) => l.address.toLowerCase() === pair3 && l.topics.length === 3)
    expect(detectFeeOnTransfer(logsOf(three), poolOf)).toEqual([
      { token: threeWei, pool: pair3, txHash: three.transactionHash, logIndex: swapLog!.logIndex, kind: 'short-credit', sent: 100n * E18, delivered: 100n * E18 - 3n },
    ])
    expect(pair2).not.toBe(pair3)
  })

  it('finds nothing on plain ERC20 swaps, either way, nor on an unknown pool', async () => {
    await pairOf(plain, tokens.usdc)
    const sell = await swap(10n * E18, [plain, tokens.usdc])
    const buy = await swap(10n * E6, [tokens.usdc, plain])
    expect(detectFeeOnTransfer([...logsOf(sell), ...logsOf(buy)], poolOf)).toEqual([])
    // The same DeflatingERC20 sale with its pair unknown: nothing to say.
    const dttSale = await swap(10n * E18, [tokens.dtt, tokens.usdc])
    expect(detectFeeOnTransfer(logsOf(dttSale), () => undefined)).toEqual([])
  })

  it('markFeeOnTransfer stores the flag, reads an unknown token first, and warns once per token', async () => {
    const captured = captureLog()
    const cache = await createTokenCache({ pool: database.pool(), client, chainId: CHAIN_ID, log: captured.logger })
    const pair = await pairOf(tokens.dtt, tokens.usdc)
    const receipt = await swap(20n * E18, [tokens.dtt, tokens.usdc])
    const found = detectFeeOnTransfer(logsOf(receipt), poolOf)
    expect(found.map((f) => [f.token, f.pool])).toEqual([[tokens.dtt, pair]])

    await cache.markFeeOnTransfer(found.map((f) => f.token), receipt.blockNumber)
    await cache.markFeeOnTransfer([tokens.dtt], receipt.blockNumber)
    expect(await stored()).toEqual([{ address: tokens.dtt, decimals: 18, symbol: 'DTT', error: null, flags: ['fee_on_transfer'] }])
    expect(cache.flags(tokens.dtt)).toEqual(['fee_on_transfer'])
    expect(captured.matching(/fee-on-transfer/, { token: tokens.dtt, symbol: 'DTT', block: receipt.blockNumber.toString() })).toHaveLength(1)

    // Another process (a restart) already has the flag from the table: no second warning.
    const later = captureLog()
    const restarted = await createTokenCache({ pool: database.pool(), client, chainId: CHAIN_ID, log: later.logger })
    expect(restarted.flags(tokens.dtt)).toEqual(['fee_on_transfer'])
    await restarted.markFeeOnTransfer([tokens.dtt])
    expect(later.matching(/fee-on-transfer/)).toHaveLength(0)

  })
})
