import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { concatHex, maxUint256, numberToHex, type Abi, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import type { Sender } from '../../../src/world/sender.ts'
import { compileContracts, createChainSetup, TEST_TOKEN, TOKEN_INTERFACE_SOURCE, type Compiled } from './solidity.ts'

/**
 * PancakeSwap V3 on a local chain with the real bytecode of `@pancakeswap/v3-core` (PancakeV3Factory,
 * PancakeV3Pool). The package does not ship PancakeV3PoolDeployer, so a few lines of Solidity play
 * its role as the factory and pool expect it (IPancakeV3PoolDeployer): the factory calls
 * `deploy(factory, token0, token1, fee, tickSpacing)`, the deployer stores those five as
 * `parameters()`, CREATE2s the pool with salt keccak256(abi.encode(token0, token1, fee)) like the
 * real one, and the pool's constructor reads `parameters()` from msg.sender. The pool's init code
 * (23.5 kB, under EIP-170's 24 kB) is kept as the runtime code of a data contract and copied with
 * EXTCODECOPY, since the deployer cannot `new` a contract whose source is not shipped.
 * `PancakeV3Callee` pays the pool's mint and swap callbacks from the payer named in `data`, the way
 * the periphery's router pulls tokens from the trader.
 */
const SOURCE = `${TOKEN_INTERFACE_SOURCE}
/// Plays PancakeV3PoolDeployer (pancake-v3-contracts projects/v3-core/contracts/PancakeV3PoolDeployer.sol).
contract MiniPancakeV3PoolDeployer {
    struct Parameters {
        address factory;
        address token0;
        address token1;
        uint24 fee;
        int24 tickSpacing;
    }

    Parameters public parameters;
    address public immutable poolCode;
    address public factoryAddress;

    constructor(address poolCode_) {
        poolCode = poolCode_;
    }

    function setFactoryAddress(address factory_) external {
        require(factoryAddress == address(0), "set");
        factoryAddress = factory_;
    }

    function deploy(address factory, address token0, address token1, uint24 fee, int24 tickSpacing) external returns (address pool) {
        require(msg.sender == factoryAddress, "only factory");
        parameters = Parameters({factory: factory, token0: token0, token1: token1, fee: fee, tickSpacing: tickSpacing});
        address code = poolCode;
        uint256 size = code.code.length;
        bytes32 salt = keccak256(abi.encode(token0, token1, fee));
        assembly {
            let p := mload(0x40)
            extcodecopy(code, p, 0, size)
            pool := create2(0, p, size, salt)
        }
        require(pool != address(0), "create2");
        delete parameters;
    }
}

interface IPool {
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data) external returns (uint256, uint256);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data) external returns (int256, int256);
    function token0() external view returns (address);
    function token1() external view returns (address);
}

/// Mints and swaps on a pool, paying its callbacks from the payer (who approved this contract).
contract PancakeV3Callee {
    uint160 constant MIN_SQRT_RATIO = 4295128739;
    uint160 constant MAX_SQRT_RATIO = 1461446703485210103287273962589618582439421952;

    function mint(address pool, int24 tickLower, int24 tickUpper, uint128 amount) external {
        IPool(pool).mint(msg.sender, tickLower, tickUpper, amount, abi.encode(msg.sender));
    }

    /// Exact input: the trader pays amountIn of token0 (zeroForOne) or token1 and receives the other.
    function swapExactIn(address pool, bool zeroForOne, uint256 amountIn, address recipient) external {
        IPool(pool).swap(recipient, zeroForOne, int256(amountIn), zeroForOne ? MIN_SQRT_RATIO + 1 : MAX_SQRT_RATIO - 1, abi.encode(msg.sender));
    }

    function pancakeV3MintCallback(uint256 amount0Owed, uint256 amount1Owed, bytes calldata data) external {
        address payer = abi.decode(data, (address));
        if (amount0Owed > 0) IToken(IPool(msg.sender).token0()).transferFrom(payer, msg.sender, amount0Owed);
        if (amount1Owed > 0) IToken(IPool(msg.sender).token1()).transferFrom(payer, msg.sender, amount1Owed);
    }

    function pancakeV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        address payer = abi.decode(data, (address));
        if (amount0Delta > 0) IToken(IPool(msg.sender).token0()).transferFrom(payer, msg.sender, uint256(amount0Delta));
        if (amount1Delta > 0) IToken(IPool(msg.sender).token1()).transferFrom(payer, msg.sender, uint256(amount1Delta));
    }
}
`

type Artifact = Compiled

let compiled: { token: Compiled; deployer: Compiled; callee: Compiled } | undefined

export function compilePancakeswapV3Helpers(): { token: Compiled; deployer: Compiled; callee: Compiled } {
  if (compiled) return compiled
  const c = compileContracts('PancakeV3Helpers.sol', SOURCE, ['MiniPancakeV3PoolDeployer', 'PancakeV3Callee'])
  compiled = { token: TEST_TOKEN, deployer: c.MiniPancakeV3PoolDeployer, callee: c.PancakeV3Callee }
  return compiled
}

/** The real PancakeV3Factory and PancakeV3Pool artifacts shipped by `@pancakeswap/v3-core`. */
export function pancakeV3Artifacts(): { factory: Artifact; pool: Artifact } {
  const require = createRequire(import.meta.url)
  const load = (name: string): Artifact => {
    const path = require.resolve(`@pancakeswap/v3-core/artifacts/contracts/${name}.sol/${name}.json`)
    const json = JSON.parse(readFileSync(path, 'utf8')) as { abi: Abi; bytecode: Hex }
    return { abi: json.abi, bytecode: json.bytecode }
  }
  return { factory: load('PancakeV3Factory'), pool: load('PancakeV3Pool') }
}

/** Creation code whose runtime code is `code` (PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN). */
function dataContract(code: Hex): Hex {
  const len = (code.length - 2) / 2
  if (len > 0xffff) throw new Error('data contract too large')
  return concatHex(['0x61', numberToHex(len, { size: 2 }), '0x80600c6000396000f3', code])
}

export type PancakeswapV3Token = { address: Address; symbol: string; decimals: number }

export type PancakeswapV3Pool = {
  address: Address
  token0: Address
  token1: Address
  fee: number
  tickSpacing: number
  /** Block of the factory's PoolCreated. */
  createdBlock: bigint
}

export type PancakeswapV3Deployment = {
  /** The real PancakeV3Factory. */
  factory: Address
  /** The stand-in PancakeV3PoolDeployer the factory deploys pools through. */
  poolDeployer: Address
  /** The callback contract every mint and swap goes through (the Swap event's `sender`). */
  callee: Address
  /** Block of the factory's deployment (the first block to read its logs from). */
  deployBlock: bigint
  /** cake (18 decimals) and usdt (6 decimals); which one is token0 follows their addresses. */
  tokens: Record<'cake' | 'usdt', PancakeswapV3Token>
  /**
   * pools[0]: CAKE/USDT, fee 2500 (tick spacing 50), initialized at 1 CAKE = 2 USDT, with one
   * position over ticks [-300000, -250000] (around the price) minted by the deployer.
   */
  pools: PancakeswapV3Pool[]
  /** Mints `amount` of `token` to `trader` (sent by the deployer, anvil account 0). */
  fund(trader: Address, token: Address, amount: bigint): Promise<TransactionReceipt>
  /** Approves the callee (once per trader and token) and swaps exactly `amountIn` of `tokenIn` from `trader`, paid to `recipient` (default: the trader). */
  swap(trader: LocalAccount, pool: PancakeswapV3Pool, tokenIn: Address, amountIn: bigint, recipient?: Address): Promise<TransactionReceipt>
  balanceOf(token: Address, owner: Address, blockNumber?: bigint): Promise<bigint>
  slot0(pool: Address, blockNumber?: bigint): Promise<{ sqrtPriceX96: bigint; tick: number; feeProtocol: number }>
  liquidity(pool: Address, blockNumber?: bigint): Promise<bigint>
  /** The pool's accrued protocol fees (token0, token1), raw. */
  protocolFees(pool: Address, blockNumber?: bigint): Promise<[bigint, bigint]>
}

/** sqrt(1 CAKE = 2 USDT) in raw units: token1/token0 raw price, as Q64.96. */
function sqrtPriceX96(rawPrice1Per0: { num: bigint; den: bigint }): bigint {
  // floor(sqrt(num/den) · 2^96) = floor(sqrt(num · 2^192 / den))
  return sqrtBig((rawPrice1Per0.num << 192n) / rawPrice1Per0.den)
}

function sqrtBig(n: bigint): bigint {
  if (n < 2n) return n
  let x = n
  let y = (x + 1n) / 2n
  while (y < x) {
    x = y
    y = (x + n / x) / 2n
  }
  return x
}

/** Deploys the real factory, the stand-in pool deployer, two tokens and one funded pool, from anvil account 0. */
export async function deployPancakeswapV3(opts: { rpcUrl: string; chainId: number }): Promise<PancakeswapV3Deployment> {
  const helpers = compilePancakeswapV3Helpers()
  const real = pancakeV3Artifacts()
  const { deployer: deployerAccount, main, senderOf, deployData: deployRaw, deploy, call, read } = await createChainSetup({
    ...opts,
    label: 'pancakeswap-v3',
    deployGas: 3_000_000n,
    callGas: 1_000_000n,
  })
  const poolCode = await deployRaw(dataContract(real.pool.bytecode), 8_000_000n)
  const poolDeployer = (await deploy(helpers.deployer, [poolCode.address])).address
  const { address: factory, block: deployBlock } = await deploy(real.factory, [poolDeployer], 6_000_000n)
  await call(main, poolDeployer, helpers.deployer.abi, 'setFactoryAddress', [factory])
  const callee = (await deploy(helpers.callee, [])).address

  const newToken = async (symbol: string, decimals: number): Promise<PancakeswapV3Token> => ({ address: (await deploy(helpers.token, [symbol, symbol, decimals])).address, symbol, decimals })
  const tokens = { cake: await newToken('CAKE', 18), usdt: await newToken('USDT', 6) }
  const mint = (to: Address, t: Address, amount: bigint) => call(main, t, helpers.token.abi, 'mint', [to, amount])

  const approved = new Set<string>()
  const approveCallee = async (account: LocalAccount, s: Sender, token: Address) => {
    const key = `${account.address.toLowerCase()}:${token}`
    if (approved.has(key)) return
    await call(s, token, helpers.token.abi, 'approve', [callee, maxUint256])
    approved.add(key)
  }

  const fee = 2500
  const created = await call(main, factory, real.factory.abi, 'createPool', [tokens.cake.address, tokens.usdt.address, fee], 8_000_000n)
  const [token0, token1] = [tokens.cake.address, tokens.usdt.address].sort() as [Address, Address]
  const poolAddress = ((await read<Address>(factory, real.factory.abi, 'getPool', [token0, token1, fee])) as string).toLowerCase() as Address
  const tickSpacing = Number(await read<number>(poolAddress, real.pool.abi, 'tickSpacing'))
  const pool: PancakeswapV3Pool = { address: poolAddress, token0, token1, fee, tickSpacing, createdBlock: created.blockNumber }

  // 1 CAKE (1e18 raw) = 2 USDT (2e6 raw): raw USDT per raw CAKE is 2e-12.
  const usdtPerCake = { num: 2n * 10n ** 6n, den: 10n ** 18n }
  const price = token0 === tokens.cake.address ? usdtPerCake : { num: usdtPerCake.den, den: usdtPerCake.num }
  await call(main, poolAddress, real.pool.abi, 'initialize', [sqrtPriceX96(price)])
  // Around the initial tick (≈ -269,400 with CAKE as token0, ≈ +269,400 with USDT), spacing 50.
  const [lower, upper] = token0 === tokens.cake.address ? [-300_000, -250_000] : [250_000, 300_000]
  await mint(deployerAccount.address, tokens.cake.address, 1_000_000n * 10n ** 18n)
  await mint(deployerAccount.address, tokens.usdt.address, 2_000_000n * 10n ** 6n)
  await approveCallee(deployerAccount, main, tokens.cake.address)
  await approveCallee(deployerAccount, main, tokens.usdt.address)
  await call(main, callee, helpers.callee.abi, 'mint', [poolAddress, lower, upper, 10n ** 15n], 2_000_000n)

  return {
    factory,
    poolDeployer,
    callee,
    deployBlock,
    tokens,
    pools: [pool],
    fund: (trader, t, amount) => mint(trader, t, amount),
    async swap(trader, p, tokenIn, amountIn, recipient) {
      const s = await senderOf(trader)
      await approveCallee(trader, s, tokenIn)
      if (tokenIn !== p.token0 && tokenIn !== p.token1) throw new Error(`token ${tokenIn} not in pool ${p.address}`)
      return call(s, callee, helpers.callee.abi, 'swapExactIn', [p.address, tokenIn === p.token0, amountIn, recipient ?? trader.address], 2_000_000n)
    },
    balanceOf: (t, owner, blockNumber) => read<bigint>(t, helpers.token.abi, 'balanceOf', [owner], blockNumber),
    async slot0(p, blockNumber) {
      const s = await read<readonly [bigint, number, number, number, number, number, boolean]>(p, real.pool.abi, 'slot0', [], blockNumber)
      return { sqrtPriceX96: s[0], tick: Number(s[1]), feeProtocol: Number(s[5]) }
    },
    liquidity: (p, blockNumber) => read<bigint>(p, real.pool.abi, 'liquidity', [], blockNumber),
    async protocolFees(p, blockNumber) {
      const [f0, f1] = await read<readonly [bigint, bigint]>(p, real.pool.abi, 'protocolFees', [], blockNumber)
      return [f0, f1]
    },
  }
}
