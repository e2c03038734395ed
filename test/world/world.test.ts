import {
  createPublicClient,
  decodeFunctionData,
  erc20Abi,
  isAddressEqual,
  http,
  parseEventLogs,
  toEventSelector,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { v2FactoryAbi, v2PairAbi, v2RouterAbi, v3PoolAbi, v3SwapRouterAbi } from '../../src/world/abis.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { V2_LIBRARY_INIT_CODE_HASH, V3_LIBRARY_INIT_CODE_HASH, worldArtifacts } from '../../src/world/artifacts.ts'
import { compileWorldContracts } from '../../src/world/contracts/compile.ts'
import { logStormAbi, logStormBytecode } from '../../src/world/contracts/logStorm.ts'
import { noDecimalsTokenAbi, noDecimalsTokenBytecode } from '../../src/world/contracts/noDecimalsToken.ts'
import { testAggregatorAbi, testAggregatorBytecode } from '../../src/world/contracts/testAggregator.ts'
import { testTokenAbi, testTokenBytecode } from '../../src/world/contracts/testToken.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { deployNoDecimalsToken } from '../../src/world/deployNoDecimalsToken.ts'
import { createSender, waitForReceipts } from '../../src/world/sender.ts'
import { SWAP_KINDS, encodeSwap } from '../../src/world/swaps.ts'
import { fundTraders, readBalances, runRandomTraders, type TraderRunSummary, type TraderSwap } from '../../src/world/traders.ts'

const V2_SWAP = toEventSelector('Swap(address,uint256,uint256,uint256,uint256,address)')
const V3_SWAP = toEventSelector('Swap(address,address,int256,int256,uint160,uint128,int24)')

let anvil: AnvilInstance
let world: World
let traders: LocalAccount[]
let run: TraderRunSummary
let client: PublicClient

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 10001 })
  client = createPublicClient({ transport: http(anvil.rpcUrl) })
  world = await deployWorld({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId })
  traders = await fundTraders(world, 3)
  run = await runRandomTraders(world, { traders, swaps: 60, seed: 7 })
})

afterAll(async () => {
  await anvil?.stop()
})

const symbolOf = (address: Address) => world.tokens.find((t) => t.address === address)?.symbol
const firstOf = (kind: TraderSwap['kind']) => {
  const swap = run.swaps.find((s) => s.kind === kind)
  if (!swap) throw new Error(`no ${kind} swap in the run`)
  return swap
}

describe('startAnvil', () => {
  it('answers on its own port with the chain id asked for, and stop() is idempotent', async () => {
    const other = await startAnvil({ chainId: 4242 })
    expect(other.port).not.toBe(anvil.port)
    expect(await createPublicClient({ transport: http(other.rpcUrl) }).getChainId()).toBe(4242)
    await other.stop()
    await other.stop()
    await expect(fetch(other.rpcUrl, { method: 'POST', body: '{}' })).rejects.toThrow()
  })
})

describe('artifacts', () => {
  it('uses npm core bytecode whose init code hashes match the periphery, so nothing is patched', () => {
    const art = worldArtifacts()
    expect(art.v2PairInitCodeHash).toBe(V2_LIBRARY_INIT_CODE_HASH)
    expect(art.v3PoolInitCodeHash).toBe(V3_LIBRARY_INIT_CODE_HASH)
    expect(art.patched).toEqual({ v2Router02: false, swapRouter: false, positionManager: false })
  })

  it('has committed TestToken, NoDecimalsToken, TestAggregator and LogStorm output that matches the Solidity sources', () => {
    const compiled = compileWorldContracts()
    expect(compiled.map((c) => c.name)).toEqual(['TestToken', 'NoDecimalsToken', 'TestAggregator', 'LogStorm'])
    expect(compiled[0]?.bytecode).toBe(testTokenBytecode)
    expect(compiled[0]?.abi).toEqual(testTokenAbi)
    expect(compiled[1]?.bytecode).toBe(noDecimalsTokenBytecode)
    expect(compiled[1]?.abi).toEqual(noDecimalsTokenAbi)
    expect(compiled[2]?.bytecode).toBe(testAggregatorBytecode)
    expect(compiled[2]?.abi).toEqual(testAggregatorAbi)
    expect(compiled[3]?.bytecode).toBe(logStormBytecode)
    expect(compiled[3]?.abi).toEqual(logStormAbi)
  })
})

describe('deployWorld', () => {
  it('deploys WETH9 and five test tokens with the decimals and symbols on chain', async () => {
    expect(world.tokens.map((t) => [t.symbol, t.decimals])).toEqual([
      ['WETH', 18],
      ['USDC', 6],
      ['DAI', 18],
      ['WBTC', 8],
      ['UNI', 18],
      ['LINK', 18],
    ])
    expect(world.weth).toEqual(world.tokens[0])
    expect(world.usdc).toEqual(world.tokens[1])
    for (const token of world.tokens) {
      expect(await client.readContract({ address: token.address, abi: erc20Abi, functionName: 'symbol' })).toBe(token.symbol)
      expect(await client.readContract({ address: token.address, abi: erc20Abi, functionName: 'decimals' })).toBe(token.decimals)
    }
  })

  it('registers every pool in its factory at the CREATE2 address it reports', async () => {
    expect(world.pools.filter((p) => p.family === 'uniswap-v2')).toHaveLength(5)
    expect(world.pools.filter((p) => p.family === 'uniswap-v3').map((p) => p.fee)).toEqual([500, 3000, 3000, 500])
    for (const pool of world.pools) {
      expect(BigInt(pool.token0) < BigInt(pool.token1)).toBe(true)
      const abi = pool.family === 'uniswap-v2' ? v2PairAbi : v3PoolAbi
      expect(await client.readContract({ address: pool.address, abi, functionName: 'token0' })).toBe(pool.token0)
      expect(await client.readContract({ address: pool.address, abi, functionName: 'token1' })).toBe(pool.token1)
    }
    expect(await client.readContract({ address: world.v2.factory, abi: v2FactoryAbi, functionName: 'allPairsLength' })).toBe(5n)
    expect(world.v2.factoryBlock).toBeLessThan(world.readyBlock)
    expect(world.v3.factoryBlock).toBeGreaterThan(world.v2.factoryBlock)
  })

  it('seeds V2 pairs with $30M a side at spec prices', async () => {
    const pair = world.pools.find((p) => p.family === 'uniswap-v2' && p.token0 === world.weth.address && p.token1 === world.usdc.address)
    expect(pair).toBeDefined()
    const [reserve0, reserve1] = await client.readContract({ address: pair!.address, abi: v2PairAbi, functionName: 'getReserves', blockNumber: world.readyBlock - 1n })
    expect(reserve0).toBe(10_000n * 10n ** 18n)
    expect(reserve1).toBe(30_000_000n * 10n ** 6n)
  })

  it('initializes V3 pools at spec prices', async () => {
    // WBTC (8 decimals) / USDC (6 decimals) at 60,000: raw price 600, so sqrtPriceX96 = sqrt(600) * 2^96.
    const pool = world.pools.find((p) => p.family === 'uniswap-v3' && p.fee === 3000 && symbolOf(p.token0) === 'WBTC')
    const [sqrtPriceX96] = await client.readContract({ address: pool!.address, abi: v3PoolAbi, functionName: 'slot0', blockNumber: world.readyBlock - 1n })
    expect(sqrtPriceX96).toBe(1940685714182491852533977682922n)
    expect((sqrtPriceX96 * sqrtPriceX96) >> 192n).toBe(599n) // the root is floored, so the square lands just under 600
  })

  it('emits no pool Swap event before readyBlock', async () => {
    const before = await client.request({ method: 'eth_getLogs', params: [{ fromBlock: '0x0', toBlock: `0x${(world.readyBlock - 1n).toString(16)}`, topics: [[V2_SWAP, V3_SWAP]] }] })
    expect(before).toEqual([])
  })
})

describe('fundTraders', () => {
  it('gives each trader $10M of every token, WETH wrapped from ETH', async () => {
    const beforeFirstSwap = run.swaps.reduce((min, s) => (s.blockNumber < min ? s.blockNumber : min), run.swaps[0]!.blockNumber) - 1n
    const balances = await readBalances(world, traders.map((t) => t.address), beforeFirstSwap)
    // WETH, USDC, DAI, WBTC, UNI, LINK: $10M each at 3000, 1, 1, 60000, 10, 15 USD.
    const expected = [3333333333333333333333n, 10_000_000n * 10n ** 6n, 10_000_000n * 10n ** 18n, 16666666666n, 1_000_000n * 10n ** 18n, 666666666666666666666666n]
    for (const trader of traders) expect(world.tokens.map((t) => balances.get(trader.address)?.get(t.address))).toEqual(expected)
  })
})

describe('runRandomTraders', () => {
  it('sends the requested number of swaps and exercises every swap kind', () => {
    expect(run.swapsSent).toBe(60)
    expect(new Set(run.txHashes).size).toBe(60)
    expect(Object.keys(run.swapsByKind).sort()).toEqual([...SWAP_KINDS].sort())
    for (const kind of SWAP_KINDS) expect(run.swapsByKind[kind]).toBeGreaterThanOrEqual(1)
    expect(Object.values(run.swapsByKind).reduce((a, b) => a + b, 0)).toBe(60)
    expect(new Set(run.swaps.map((s) => s.trader))).toEqual(new Set(traders.map((t) => t.address)))
  })

  it('pays a V2 exact-in trader exactly the router quote of getAmountsOut', async () => {
    const swap = firstOf('v2-exact-in')
    const before = swap.blockNumber - 1n
    const amounts = await client.readContract({ address: world.v2.router, abi: v2RouterAbi, functionName: 'getAmountsOut', args: [swap.amountIn, swap.path], blockNumber: before })
    const [b0, b1] = await Promise.all([readBalances(world, [swap.trader], before), readBalances(world, [swap.trader], swap.blockNumber)])
    const delta = (token: Address) => (b1.get(swap.trader)?.get(token) ?? 0n) - (b0.get(swap.trader)?.get(token) ?? 0n)
    expect(delta(swap.tokenOut)).toBe(amounts[amounts.length - 1])
    expect(delta(swap.tokenIn)).toBe(-swap.amountIn)
    expect(swap.amountOut).toBe(amounts[amounts.length - 1])
  })

  it('resolves V2 pairs in the router from the factory: the quote is the x*y=k output of the pair it names', async () => {
    const pair = world.pools.find((p) => p.family === 'uniswap-v2' && symbolOf(p.token0) === 'WETH' && symbolOf(p.token1) === 'DAI')!
    const at = world.readyBlock - 1n
    const [reserve0, reserve1] = await client.readContract({ address: pair.address, abi: v2PairAbi, functionName: 'getReserves', blockNumber: at })
    const amountIn = 10n ** 18n
    const quote = await client.readContract({ address: world.v2.router, abi: v2RouterAbi, functionName: 'getAmountsOut', args: [amountIn, [pair.token0, pair.token1]], blockNumber: at })
    expect(quote[1]).toBe((amountIn * 997n * reserve1) / (reserve0 * 1000n + amountIn * 997n))
    expect(await client.readContract({ address: world.v2.factory, abi: v2FactoryAbi, functionName: 'getPair', args: [pair.token1, pair.token0] })).toBe(pair.address)
  })

  it('routes a V3 multi-hop exactInput through SwapRouter and both pools, paying the simulated amount', async () => {
    const swap = firstOf('v3-exact-in-multihop')
    expect(swap.path).toHaveLength(3)
    const receipt = await client.getTransactionReceipt({ hash: swap.txHash })
    const tx = await client.getTransaction({ hash: swap.txHash })
    expect(isAddressEqual(tx.to!, world.v3.router)).toBe(true)
    const call = decodeFunctionData({ abi: v3SwapRouterAbi, data: tx.input })
    if (call.functionName !== 'exactInput') throw new Error(`expected exactInput, got ${call.functionName}`)
    const swapLogs = receipt.logs.filter((l) => l.topics[0] === V3_SWAP)
    expect(swapLogs).toHaveLength(2)
    const hopPools = world.pools.filter((p) => swapLogs.some((l) => isAddressEqual(l.address, p.address)))
    expect(hopPools).toHaveLength(2)
    expect(hopPools.every((p) => p.family === 'uniswap-v3')).toBe(true)
    const { result } = await client.simulateContract({
      address: world.v3.router,
      abi: v3SwapRouterAbi,
      functionName: 'exactInput',
      args: call.args,
      account: swap.trader,
      blockNumber: swap.blockNumber - 1n,
    })
    expect(swap.amountOut).toBe(result)
  })

  it('moves each trader balance by exactly the swap amounts, in ERC20 only', async () => {
    for (const swap of run.swaps) {
      const [b0, b1] = await Promise.all([readBalances(world, [swap.trader], swap.blockNumber - 1n), readBalances(world, [swap.trader], swap.blockNumber)])
      for (const token of world.tokens) {
        const delta = (b1.get(swap.trader)?.get(token.address) ?? 0n) - (b0.get(swap.trader)?.get(token.address) ?? 0n)
        const expected = token.address === swap.tokenIn ? -swap.amountIn : token.address === swap.tokenOut ? swap.amountOut : 0n
        expect(delta, `${swap.kind} ${swap.txHash} ${token.symbol}`).toBe(expected)
      }
      const tx = await client.getTransaction({ hash: swap.txHash })
      expect(tx.value).toBe(0n)
    }
  })

  it('sees only trader swaps from readyBlock: one pool Swap event per hop', async () => {
    const head = await client.getBlockNumber()
    const logs = await client.request({ method: 'eth_getLogs', params: [{ fromBlock: `0x${world.readyBlock.toString(16)}`, toBlock: `0x${head.toString(16)}`, topics: [[V2_SWAP, V3_SWAP]] }] })
    expect(logs).toHaveLength(run.swaps.reduce((n, s) => n + s.path.length - 1, 0))
    expect(new Set(logs.map((l) => l.transactionHash))).toEqual(new Set(run.txHashes))
  })

  it('repeats the same swaps for the same seed on an identical world', async () => {
    const again = await startAnvil({ chainId: 10001 })
    try {
      const w2 = await deployWorld({ rpcUrl: again.rpcUrl, chainId: again.chainId })
      const t2 = await fundTraders(w2, 3)
      const r2 = await runRandomTraders(w2, { traders: t2, swaps: 20, seed: 7 })
      const strip = (s: TraderSwap) => [s.kind, s.trader, s.path, s.amountIn, s.amountOut]
      expect(r2.swaps.map(strip)).toEqual(run.swaps.slice(0, 20).map(strip))
    } finally {
      await again.stop()
    }
  })
})

describe('NoDecimalsToken', () => {
  it('reverts on decimals() yet trades through a V2 pair', async () => {
    const { address, pool } = await deployNoDecimalsToken(world, { pair: { with: world.weth, amounts: [1_000_000n * 10n ** 18n, 100n * 10n ** 18n] } })
    await expect(client.readContract({ address, abi: erc20Abi, functionName: 'decimals' })).rejects.toThrow(/NoDecimalsToken: no decimals/)
    expect(await client.readContract({ address, abi: erc20Abi, functionName: 'symbol' })).toBe('NODEC')
    expect(pool).not.toBeNull()
    const trader = traders[0]!
    const sender = await createSender({ client, account: trader, chainId: world.chainId })
    const route = { family: 'uniswap-v2' as const, tokens: [world.weth.address, address], fees: [0], pools: [pool!] }
    const hash: Hex = await sender.send({ ...encodeSwap(world, { kind: 'v2-exact-in', route, amount: 10n ** 18n, recipient: trader.address }), gas: 300_000n })
    const [receipt] = await waitForReceipts(client, [hash])
    expect(receipt?.status).toBe('success')
    const transfers = parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt!.logs })
    const received = transfers.find((l) => isAddressEqual(l.address, address) && isAddressEqual(l.args.to, trader.address))
    // 1 WETH into 100 WETH / 1M NODEC: 997e18 * 1e24 / (100e18 * 1000 + 997e18)
    expect(received?.args.value).toBe((997n * 10n ** 18n * 10n ** 24n) / (100n * 10n ** 21n + 997n * 10n ** 18n))
  })
})
