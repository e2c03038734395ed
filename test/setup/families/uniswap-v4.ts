import { readFileSync } from 'node:fs'
import { encodeAbiParameters, keccak256, maxUint256, type Abi, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { NATIVE_TOKEN, type PoolInfo } from '../../../src/domain/types.ts'
import type { Sender } from '../../../src/world/sender.ts'
import { createChainSetup } from './solidity.ts'

/**
 * Uniswap V4 on a local chain from the real v4-core build (node_modules/@uniswap/v4-core/out):
 * PoolManager, its test routers PoolSwapTest and PoolModifyLiquidityTest, TestERC20 tokens, and
 * FeeTakingHook (an afterSwap hook that returns a delta: it takes 1.23% of the unspecified
 * currency) placed with anvil_setCode at an address whose low bits are AFTER_SWAP |
 * AFTER_SWAP_RETURNS_DELTA, as Hooks.sol requires.
 */
type Compiled = { abi: Abi; bytecode: Hex; deployedBytecode: Hex }

function artifact(name: string): Compiled {
  const url = new URL(`../../../node_modules/@uniswap/v4-core/out/${name}.sol/${name}.json`, import.meta.url)
  const raw = JSON.parse(readFileSync(url, 'utf8')) as { abi: Abi; bytecode: { object: Hex }; deployedBytecode: { object: Hex } }
  if (raw.bytecode.object.includes('__')) throw new Error(`v4-core artifact ${name} has unlinked libraries`)
  return { abi: raw.abi, bytecode: raw.bytecode.object, deployedBytecode: raw.deployedBytecode.object }
}

let cached: Record<'poolManager' | 'swapRouter' | 'liquidityRouter' | 'token' | 'feeTakingHook', Compiled> | undefined
export function uniswapV4Artifacts(): Record<'poolManager' | 'swapRouter' | 'liquidityRouter' | 'token' | 'feeTakingHook', Compiled> {
  cached ??= {
    poolManager: artifact('PoolManager'),
    swapRouter: artifact('PoolSwapTest'),
    liquidityRouter: artifact('PoolModifyLiquidityTest'),
    token: artifact('TestERC20'),
    feeTakingHook: artifact('FeeTakingHook'),
  }
  return cached
}

/** TickMath bounds: a swap's price limit just inside them lets it run to its amount. */
export const MIN_SQRT_PRICE = 4295128739n
export const MAX_SQRT_PRICE = 1461446703485210103287273052203988822378723970342n
/** FeeTakingHook's address: low 14 bits 0x44 = AFTER_SWAP (1 << 6) | AFTER_SWAP_RETURNS_DELTA (1 << 2). */
export const FEE_TAKING_HOOK_ADDRESS = '0x4444000000000000000000000000000000000044' as Address
const ZERO = '0x0000000000000000000000000000000000000000' as Address

export type PoolKey = { currency0: Address; currency1: Address; fee: number; tickSpacing: number; hooks: Address }

/** A V4 pool as deployed here: its key, id and what dexrisk's `uniswapV4.decodePoolCreated` should make of it. */
export type UniswapV4Pool = {
  name: 'erc20' | 'native' | 'hooked'
  /** Pool id (bytes32, lowercase): keccak256(abi.encode(key)), the events' topics[1]. */
  id: Hex
  key: PoolKey
  /** dexrisk's view: currency zero is NATIVE_TOKEN. */
  info: PoolInfo
  initializedBlock: bigint
}

export type SwapOptions = {
  /** true: currency0 in, currency1 out. */
  zeroForOne: boolean
  /** true: `amount` is what goes in; false: what comes out. */
  exactInput: boolean
  amount: bigint
  /** Ether sent with the call (native input: the amount in, or a maximum for exact output; the rest is refunded). */
  value?: bigint
}

export type UniswapV4Deployment = {
  poolManager: Address
  /** PoolSwapTest and PoolModifyLiquidityTest: the routers (`sender` of the events). */
  swapRouter: Address
  liquidityRouter: Address
  /** Block of the PoolManager's deployment (the first block to read its logs from). */
  deployBlock: bigint
  /** TestERC20 tokens (no `decimals()`; dexrisk reads null, tests treat them as 18), sorted: tokenA < tokenB. */
  tokens: { tokenA: Address; tokenB: Address }
  /**
   * pools[0] 'erc20': tokenA/tokenB, fee 3000, tick spacing 60, no hooks.
   * pools[1] 'native': ETH/tokenA, fee 500, tick spacing 10, no hooks.
   * pools[2] 'hooked': ETH/tokenB, fee 3000, tick spacing 60, FeeTakingHook (returns a swap delta).
   * All start at price 1 (sqrtPriceX96 = 2^96) with 100e18 liquidity in ticks [-600, 600].
   */
  pools: UniswapV4Pool[]
  /** Mints `amount` of a TestERC20 to `trader` (sent by the deployer, anvil account 0). */
  fund(trader: Address, token: Address, amount: bigint): Promise<TransactionReceipt>
  /** Approves the swap router for both currencies (once per trader and token) and swaps through PoolSwapTest; the swap's receipt. */
  swap(trader: LocalAccount, pool: UniswapV4Pool, opts: SwapOptions): Promise<TransactionReceipt>
  balanceOf(token: Address, owner: Address, blockNumber?: bigint): Promise<bigint>
}

export function poolId(key: PoolKey): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'uint24' }, { type: 'int24' }, { type: 'address' }],
      [key.currency0, key.currency1, key.fee, key.tickSpacing, key.hooks],
    ),
  )
}

/** Deploys Uniswap V4 (real v4-core bytecode) with three liquid pools, from anvil account 0. */
export async function deployUniswapV4(opts: { rpcUrl: string; chainId: number }): Promise<UniswapV4Deployment> {
  const a = uniswapV4Artifacts()
  const { client, deployer, main, senderOf, deploy, call } = await createChainSetup({ ...opts, label: 'uniswap-v4', deployGas: 8_000_000n, callGas: 1_000_000n, nameSteps: true })

  const { address: poolManager, block: deployBlock } = await deploy(a.poolManager, [deployer.address], undefined, 'PoolManager')
  const { address: swapRouter } = await deploy(a.swapRouter, [poolManager], undefined, 'PoolSwapTest')
  const { address: liquidityRouter } = await deploy(a.liquidityRouter, [poolManager], undefined, 'PoolModifyLiquidityTest')
  const t1 = (await deploy(a.token, [0n], undefined, 'TestERC20')).address
  const t2 = (await deploy(a.token, [0n], undefined, 'TestERC20')).address
  const [tokenA, tokenB] = BigInt(t1) < BigInt(t2) ? [t1, t2] : [t2, t1]
  // FeeTakingHook's constructor only stores the manager (an immutable, in its runtime code): deploy
  // it anywhere, then copy that code to an address with the right permission bits.
  const { address: hookDeployed } = await deploy(a.feeTakingHook, [poolManager], undefined, 'FeeTakingHook')
  const hookCode = await client.getCode({ address: hookDeployed })
  if (!hookCode) throw new Error('uniswap-v4 setup: FeeTakingHook has no code')
  await client.request({ method: 'anvil_setCode' as never, params: [FEE_TAKING_HOOK_ADDRESS, hookCode] as never })

  const mint = (to: Address, token: Address, amount: bigint) => call(main, token, a.token.abi, 'mint', [to, amount])
  const approvals = new Set<string>()
  const approve = async (sender: Sender, token: Address, spender: Address): Promise<void> => {
    const k = `${sender.account.address.toLowerCase()}:${token}:${spender}`
    if (token === ZERO || approvals.has(k)) return
    await call(sender, token, a.token.abi, 'approve', [spender, maxUint256])
    approvals.add(k)
  }

  await mint(deployer.address, tokenA, 1_000n * 10n ** 18n)
  await mint(deployer.address, tokenB, 1_000n * 10n ** 18n)
  for (const t of [tokenA, tokenB]) await approve(main, t, liquidityRouter)

  const specs: [UniswapV4Pool['name'], PoolKey][] = [
    ['erc20', { currency0: tokenA, currency1: tokenB, fee: 3000, tickSpacing: 60, hooks: ZERO }],
    ['native', { currency0: ZERO, currency1: tokenA, fee: 500, tickSpacing: 10, hooks: ZERO }],
    ['hooked', { currency0: ZERO, currency1: tokenB, fee: 3000, tickSpacing: 60, hooks: FEE_TAKING_HOOK_ADDRESS }],
  ]
  const pools: UniswapV4Pool[] = []
  for (const [name, key] of specs) {
    const r = await call(main, poolManager, a.poolManager.abi, 'initialize', [key, 1n << 96n])
    // 100e18 liquidity in [-600, 600] at price 1 takes about 2.96e18 of each currency; 10 ether
    // covers a native currency0 and the router refunds the rest.
    await call(main, liquidityRouter, a.liquidityRouter.abi, 'modifyLiquidity', [key, { tickLower: -600, tickUpper: 600, liquidityDelta: 100n * 10n ** 18n, salt: `0x${'0'.repeat(64)}` }, '0x'], undefined, key.currency0 === ZERO ? 10n ** 19n : 0n)
    const id = poolId(key)
    pools.push({
      name,
      id,
      key,
      initializedBlock: r.blockNumber,
      info: {
        chainId: opts.chainId,
        dex: { family: 'uniswap-v4', name: 'uniswap-v4' },
        address: id as Address,
        token0: key.currency0 === ZERO ? NATIVE_TOKEN : key.currency0,
        token1: key.currency1,
        fee: key.fee,
        singleton: poolManager,
        hooks: key.hooks,
        tickSpacing: key.tickSpacing,
        createdBlock: r.blockNumber,
      },
    })
  }

  return {
    poolManager,
    swapRouter,
    liquidityRouter,
    deployBlock,
    tokens: { tokenA, tokenB },
    pools,
    fund: (trader, token, amount) => mint(trader, token, amount),
    async swap(trader, pool, o) {
      const s = await senderOf(trader)
      await approve(s, pool.key.currency0, swapRouter)
      await approve(s, pool.key.currency1, swapRouter)
      const params = {
        zeroForOne: o.zeroForOne,
        // V4's sign: negative = exact input, positive = exact output.
        amountSpecified: o.exactInput ? -o.amount : o.amount,
        sqrtPriceLimitX96: o.zeroForOne ? MIN_SQRT_PRICE + 1n : MAX_SQRT_PRICE - 1n,
      }
      return call(s, swapRouter, a.swapRouter.abi, 'swap', [pool.key, params, { takeClaims: false, settleUsingBurn: false }, '0x'], undefined, o.value ?? 0n)
    },
    async balanceOf(token, owner, blockNumber) {
      if (token === NATIVE_TOKEN || token === ZERO) return client.getBalance({ address: owner, blockNumber })
      return client.readContract({ address: token, abi: a.token.abi, functionName: 'balanceOf', args: [owner], blockNumber }) as Promise<bigint>
    },
  }
}
