import {
  createPublicClient,
  createTestClient,
  encodeDeployData,
  encodeFunctionData,
  erc20Abi,
  getContractAddress,
  http,
  maxUint256,
  parseEther,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { BaseError } from '../errors.ts'
import { positionManagerAbi, v2FactoryAbi, v2RouterAbi, v3FactoryAbi, weth9Abi } from './abis.ts'
import { anvilAccount } from './accounts.ts'
import { worldArtifacts, type Artifact } from './artifacts.ts'
import { fullRangeTicks, sortTokens, sqrtPriceX96, v2PairAddress, v3PoolAddress } from './poolMath.ts'
import { createRandom } from './random.ts'
import { createSender, waitForReceipts, type Sender } from './sender.ts'
import { POOL_SIDE_USD, TEST_TOKEN_SPECS, V2_PAIR_SPECS, V3_POOL_SPECS, WETH_SPEC, amountForUsd, type TokenSpec } from './worldSpec.ts'

export type WorldToken = { symbol: string; address: Address; decimals: number }
export type WorldPool = { family: 'uniswap-v2' | 'uniswap-v3'; address: Address; token0: Address; token1: Address; fee: number | null }
export type World = {
  chainId: number
  rpcUrl: string
  deployer: Address
  weth: WorldToken
  /** Every token of the world, WETH included. */
  tokens: WorldToken[]
  /** The stablecoin (USDC, 6 decimals). */
  usdc: WorldToken
  v2: { factory: Address; router: Address; factoryBlock: bigint }
  v3: { factory: Address; router: Address; positionManager: Address; factoryBlock: bigint }
  pools: WorldPool[]
  /** first block after deployment and liquidity: indexing from here sees only trader swaps */
  readyBlock: bigint
}

export type DeployWorldOptions = {
  rpcUrl: string
  chainId: number
  /**
   * Shifts each pool's initial price by a deterministic ±0.5% drawn from this seed, so that worlds
   * on several chains quote slightly different prices. Default: none, every pool at the spec price.
   */
  seed?: number
  log?: (msg: string) => void
}

// No deadline pressure in a local world.
const DEADLINE = maxUint256
/** ETH given to the deployer (anvil_setBalance) so it can wrap the WETH side of every pool. */
const DEPLOYER_ETH = parseEther('10000000')

/**
 * Deploys the real Uniswap V2 and V3 contracts from their npm artifacts on an anvil node, five
 * TestTokens and WETH9, and seeds every pool of worldSpec.ts with deep liquidity at spec prices.
 * All transactions are sent back to back from anvil account 0 (contract addresses follow from its
 * nonces, pool addresses from CREATE2), then every receipt is checked.
 */
export async function deployWorld(opts: DeployWorldOptions): Promise<World> {
  const started = Date.now()
  const { rpcUrl, chainId } = opts
  const client = createPublicClient({ transport: http(rpcUrl) })
  const account = anvilAccount(0)
  const deployer = account.address
  const art = worldArtifacts()
  await createTestClient({ mode: 'anvil', transport: http(rpcUrl) }).setBalance({ address: deployer, value: DEPLOYER_ETH })
  const sender = await createSender({ client, account, chainId })
  const steps: { label: string; hash: Promise<Hex> }[] = []
  const send = (label: string, to: Address, data: Hex, gas: bigint, value?: bigint) =>
    steps.push({ label, hash: sender.send({ to, data, gas, value }) })
  const deploy = (label: string, artifact: { abi: Abi | readonly unknown[]; bytecode: Hex }, args: readonly unknown[]) =>
    deployContract(sender, steps, label, artifact as Artifact, args)

  // Contracts.
  const weth: WorldToken = { symbol: WETH_SPEC.symbol, decimals: WETH_SPEC.decimals, address: deploy('WETH9', art.weth9, []) }
  const testTokens = TEST_TOKEN_SPECS.map((spec): WorldToken => ({
    symbol: spec.symbol,
    decimals: spec.decimals,
    address: deploy(`TestToken ${spec.symbol}`, art.testToken, [spec.name, spec.symbol, spec.decimals]),
  }))
  const tokens = [weth, ...testTokens]
  const v2FactoryStep = steps.length
  const v2Factory = deploy('UniswapV2Factory', art.v2Factory, [deployer])
  const v2Router = deploy('UniswapV2Router02', art.v2Router02, [v2Factory, weth.address])
  const v3FactoryStep = steps.length
  const v3Factory = deploy('UniswapV3Factory', art.v3Factory, [])
  const v3Router = deploy('SwapRouter', art.swapRouter, [v3Factory, weth.address])
  // The token descriptor only serves tokenURI(), which nothing here calls.
  const positionManager = deploy('NonfungiblePositionManager', art.positionManager, [v3Factory, weth.address, deployer])

  // Liquidity plan: raw amounts per pool side, and the totals the deployer needs.
  const specs = new Map<string, TokenSpec>([WETH_SPEC, ...TEST_TOKEN_SPECS].map((s) => [s.symbol, s]))
  const bySymbol = new Map(tokens.map((t) => [t.symbol, t]))
  const random = opts.seed === undefined ? undefined : createRandom(opts.seed)
  const side = (symbol: string) => amountForUsd(specOf(specs, symbol), POOL_SIDE_USD)
  // Price jitter in parts per million, applied to the second token of a pool.
  const jitter = (amount: bigint) => (random ? (amount * BigInt(1_000_000 + Math.round((random.next() - 0.5) * 10_000))) / 1_000_000n : amount)
  const v2Plan = V2_PAIR_SPECS.map(([a, b]) => ({ a: tokenOf(bySymbol, a), b: tokenOf(bySymbol, b), amountA: side(a), amountB: jitter(side(b)) }))
  const v3Plan = V3_POOL_SPECS.map(([a, b, fee]) => ({ a: tokenOf(bySymbol, a), b: tokenOf(bySymbol, b), fee, amountA: side(a), amountB: jitter(side(b)) }))
  const needed = new Map<Address, bigint>()
  for (const p of [...v2Plan, ...v3Plan]) {
    needed.set(p.a.address, (needed.get(p.a.address) ?? 0n) + p.amountA)
    needed.set(p.b.address, (needed.get(p.b.address) ?? 0n) + p.amountB)
  }

  // Fund and approve.
  send('WETH deposit', weth.address, encodeFunctionData({ abi: weth9Abi, functionName: 'deposit' }), 100_000n, needed.get(weth.address))
  for (const token of testTokens) {
    const data = encodeFunctionData({ abi: art.testToken.abi, functionName: 'mint', args: [deployer, needed.get(token.address) ?? 0n] })
    send(`mint ${token.symbol}`, token.address, data, 100_000n)
  }
  for (const token of tokens)
    for (const spender of [v2Router, positionManager]) {
      const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, maxUint256] })
      send(`approve ${token.symbol}`, token.address, data, 100_000n)
    }

  // Pools.
  const pools: WorldPool[] = []
  for (const { a, b, amountA, amountB } of v2Plan) {
    const args = [a.address, b.address, amountA, amountB, 0n, 0n, deployer, DEADLINE] as const
    send(`V2 ${a.symbol}/${b.symbol} addLiquidity`, v2Router, encodeFunctionData({ abi: v2RouterAbi, functionName: 'addLiquidity', args }), 4_000_000n)
    const [token0, token1] = sortTokens(a.address, b.address)
    pools.push({ family: 'uniswap-v2', address: v2PairAddress(v2Factory, art.v2PairInitCodeHash, a.address, b.address), token0, token1, fee: null })
  }
  for (const { a, b, fee, amountA, amountB } of v3Plan) {
    const [token0, token1] = sortTokens(a.address, b.address)
    const [amount0, amount1] = token0 === a.address ? [amountA, amountB] : [amountB, amountA]
    const label = `V3 ${a.symbol}/${b.symbol} ${fee}`
    const init = encodeFunctionData({
      abi: positionManagerAbi,
      functionName: 'createAndInitializePoolIfNecessary',
      args: [token0, token1, fee, sqrtPriceX96(amount0, amount1)],
    })
    send(`${label} create`, positionManager, init, 7_000_000n)
    const { tickLower, tickUpper } = fullRangeTicks(fee)
    const mint = encodeFunctionData({
      abi: positionManagerAbi,
      functionName: 'mint',
      args: [{ token0, token1, fee, tickLower, tickUpper, amount0Desired: amount0, amount1Desired: amount1, amount0Min: 0n, amount1Min: 0n, recipient: deployer, deadline: DEADLINE }],
    })
    send(`${label} mint`, positionManager, mint, 1_500_000n)
    pools.push({ family: 'uniswap-v3', address: v3PoolAddress(v3Factory, art.v3PoolInitCodeHash, a.address, b.address, fee), token0, token1, fee })
  }

  const receipts = await confirm(client, sender, steps, chainId)
  const blockOf = (i: number) => receipts[i]?.blockNumber ?? 0n
  const world: World = {
    chainId,
    rpcUrl,
    deployer,
    weth,
    tokens,
    usdc: tokenOf(bySymbol, 'USDC'),
    v2: { factory: v2Factory, router: v2Router, factoryBlock: blockOf(v2FactoryStep) },
    v3: { factory: v3Factory, router: v3Router, positionManager, factoryBlock: blockOf(v3FactoryStep) },
    pools,
    readyBlock: receipts.reduce((max, r) => (r.blockNumber > max ? r.blockNumber : max), 0n) + 1n,
  }
  await checkPoolAddresses(client, world)
  opts.log?.(`world: chain ${chainId} deployed ${tokens.length} tokens and ${pools.length} pools in ${steps.length} txs, ${Date.now() - started} ms`)
  return world
}

function deployContract(sender: Sender, steps: { label: string; hash: Promise<Hex> }[], label: string, artifact: Artifact, args: readonly unknown[]): Address {
  const address = getContractAddress({ from: sender.account.address, nonce: BigInt(sender.nextNonce()) })
  const data = encodeDeployData({ abi: artifact.abi, bytecode: artifact.bytecode, args })
  // Creation costs ~200 gas per deployed byte plus calldata; this bound stays under EIP-7825's cap.
  const gas = 200_000n + BigInt((artifact.bytecode.length - 2) / 2) * 260n
  steps.push({ label: `deploy ${label}`, hash: sender.send({ data, gas }) })
  return address
}

async function confirm(client: PublicClient, sender: Sender, steps: { label: string; hash: Promise<Hex> }[], chainId: number) {
  const hashes: Hex[] = []
  for (const step of steps) {
    try {
      hashes.push(await step.hash)
    } catch (err) {
      throw new BaseError(`world deploy: ${step.label} was not accepted`, { context: { chainId }, cause: err })
    }
  }
  const receipts = await waitForReceipts(client, hashes, { senders: [sender] })
  receipts.forEach((r, i) => {
    if (r.status !== 'success')
      throw new BaseError(`world deploy: ${steps[i]?.label} reverted`, { context: { chainId, tx: r.transactionHash, block: r.blockNumber } })
  })
  return receipts
}

/** The factories must know every pool at the CREATE2 address computed from the npm init code hashes. */
async function checkPoolAddresses(client: PublicClient, world: World): Promise<void> {
  await Promise.all(
    world.pools.map(async (pool) => {
      const onChain =
        pool.family === 'uniswap-v2'
          ? await client.readContract({ address: world.v2.factory, abi: v2FactoryAbi, functionName: 'getPair', args: [pool.token0, pool.token1] })
          : await client.readContract({ address: world.v3.factory, abi: v3FactoryAbi, functionName: 'getPool', args: [pool.token0, pool.token1, pool.fee ?? 0] })
      if (onChain.toLowerCase() !== pool.address.toLowerCase())
        throw new BaseError(`world deploy: ${pool.family} factory has ${onChain}, expected ${pool.address}`, { context: { chainId: world.chainId, pool: pool.address } })
    }),
  )
}

function specOf(specs: Map<string, TokenSpec>, symbol: string): TokenSpec {
  const spec = specs.get(symbol)
  if (!spec) throw new Error(`worldSpec: unknown token ${symbol}`)
  return spec
}

function tokenOf(tokens: Map<string, WorldToken>, symbol: string): WorldToken {
  const token = tokens.get(symbol)
  if (!token) throw new Error(`worldSpec: unknown token ${symbol}`)
  return token
}
