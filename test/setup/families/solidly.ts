import { maxUint256, type Address, type LocalAccount, type TransactionReceipt } from 'viem'
import { compileContracts, createChainSetup, TEST_TOKEN, TOKEN_INTERFACE_SOURCE, type Compiled } from './solidity.ts'

/**
 * Minimal Solidly-style pools and factories for local chains, compiled with solc-js: no Solidly
 * bytecode is published on npm. They hold real ERC20 balances and emit each generation's exact
 * events, in the real order, with the real signatures and indexing:
 * - Velodrome v1 (velodrome-finance/v1 contracts/Pair.sol, contracts/factories/PairFactory.sol):
 *   `Swap(address indexed sender, uint amount0In, uint amount1In, uint amount0Out, uint amount1Out, address indexed to)`,
 *   `Sync(uint reserve0, uint reserve1)`, `PairCreated(address indexed token0, address indexed token1, bool stable, address pair, uint)`;
 *   fee 2 bps for both pool kinds (PairFactory's stableFee and volatileFee at deployment).
 * - Aerodrome / Velodrome v2 (aerodrome-finance/contracts contracts/interfaces/IPool.sol,
 *   interfaces/factories/IPoolFactory.sol): `Swap(address indexed sender, address indexed to, uint256 amount0In, …)`,
 *   `Sync(uint256, uint256)`, `PoolCreated(address indexed token0, address indexed token1, bool indexed stable, address pool, uint256)`;
 *   fee 5 bps stable, 30 bps volatile (PoolFactory's defaults).
 * A swap moves the fee out of the pool (to its fees contract, as PairFees / PoolFees) before Sync,
 * so Sync holds the reserves after the swap and Swap's amountIn is the gross amount, then emits
 * Swap right after Sync. Pricing: volatile x·y (amountOut = net·rOut / (rIn + net), floor); stable
 * at a fixed 1:1 value (amountOut = net·10^decOut / 10^decIn, floor) instead of x³y+y³x: only the
 * events, the flag and the balances are the point.
 */
const SOURCE = `${TOKEN_INTERFACE_SOURCE}
/// Where swap fees go (PairFees / PoolFees): it only holds them.
contract PoolFees {}

abstract contract SolidlyPoolBase {
    address public immutable token0;
    address public immutable token1;
    bool public immutable stable;
    address public immutable fees;
    uint256 public immutable feeBps;
    uint256 internal immutable unit0;
    uint256 internal immutable unit1;
    uint256 public reserve0;
    uint256 public reserve1;

    event Sync(uint256 reserve0, uint256 reserve1);

    constructor(address token0_, address token1_, bool stable_, uint256 feeBps_) {
        token0 = token0_;
        token1 = token1_;
        stable = stable_;
        feeBps = feeBps_;
        fees = address(new PoolFees());
        unit0 = 10 ** IToken(token0_).decimals();
        unit1 = 10 ** IToken(token1_).decimals();
    }

    /// Reserves := balances (the real pools' sync()), e.g. after liquidity was sent in.
    function sync() external {
        _update();
    }

    /// Exact input from msg.sender: pays the fee out, then amountOut of the other token to \`to\`.
    function swap(address tokenIn, uint256 amountIn, address to) external returns (uint256 amountOut) {
        bool zero = tokenIn == token0;
        require(zero || tokenIn == token1, "token");
        (uint256 rIn, uint256 rOut) = zero ? (reserve0, reserve1) : (reserve1, reserve0);
        (uint256 uIn, uint256 uOut) = zero ? (unit0, unit1) : (unit1, unit0);
        IToken(tokenIn).transferFrom(msg.sender, address(this), amountIn);
        uint256 fee = (amountIn * feeBps) / 10000;
        IToken(tokenIn).transfer(fees, fee);
        uint256 net = amountIn - fee;
        amountOut = stable ? (net * uOut) / uIn : (net * rOut) / (rIn + net);
        IToken(zero ? token1 : token0).transfer(to, amountOut);
        _update();
        _emitSwap(msg.sender, to, zero ? amountIn : 0, zero ? 0 : amountIn, zero ? 0 : amountOut, zero ? amountOut : 0);
    }

    function _update() internal {
        reserve0 = IToken(token0).balanceOf(address(this));
        reserve1 = IToken(token1).balanceOf(address(this));
        emit Sync(reserve0, reserve1);
    }

    function _emitSwap(address sender, address to, uint256 a0In, uint256 a1In, uint256 a0Out, uint256 a1Out) internal virtual;
}

/// velodrome-finance/v1 Pair's events.
contract VelodromeV1Pair is SolidlyPoolBase {
    event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);

    constructor(address token0_, address token1_, bool stable_, uint256 feeBps_) SolidlyPoolBase(token0_, token1_, stable_, feeBps_) {}

    function _emitSwap(address sender, address to, uint256 a0In, uint256 a1In, uint256 a0Out, uint256 a1Out) internal override {
        emit Swap(sender, a0In, a1In, a0Out, a1Out, to);
    }
}

/// aerodrome-finance/contracts Pool's events (Velodrome v2's too).
contract AerodromePool is SolidlyPoolBase {
    event Swap(address indexed sender, address indexed to, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out);

    constructor(address token0_, address token1_, bool stable_, uint256 feeBps_) SolidlyPoolBase(token0_, token1_, stable_, feeBps_) {}

    function _emitSwap(address sender, address to, uint256 a0In, uint256 a1In, uint256 a0Out, uint256 a1Out) internal override {
        emit Swap(sender, to, a0In, a1In, a0Out, a1Out);
    }
}

/// velodrome-finance/v1 PairFactory's creation event; fees 2 bps both kinds.
contract VelodromeV1PairFactory {
    address[] public allPairs;
    mapping(address => mapping(address => mapping(bool => address))) public getPair;

    event PairCreated(address indexed token0, address indexed token1, bool stable, address pair, uint256);

    function createPair(address tokenA, address tokenB, bool stable) external returns (address pair) {
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(getPair[token0][token1][stable] == address(0), "exists");
        pair = address(new VelodromeV1Pair{salt: keccak256(abi.encodePacked(token0, token1, stable))}(token0, token1, stable, 2));
        getPair[token0][token1][stable] = pair;
        getPair[token1][token0][stable] = pair;
        allPairs.push(pair);
        emit PairCreated(token0, token1, stable, pair, allPairs.length);
    }
}

/// aerodrome-finance/contracts PoolFactory's creation event; fees 5 bps stable, 30 bps volatile.
contract AerodromePoolFactory {
    address[] public allPools;
    mapping(address => mapping(address => mapping(bool => address))) public getPool;

    event PoolCreated(address indexed token0, address indexed token1, bool indexed stable, address pool, uint256);

    function createPool(address tokenA, address tokenB, bool stable) external returns (address pool) {
        (address token0, address token1) = tokenA < tokenB ? (tokenA, tokenB) : (tokenB, tokenA);
        require(getPool[token0][token1][stable] == address(0), "exists");
        pool = address(new AerodromePool{salt: keccak256(abi.encodePacked(token0, token1, stable))}(token0, token1, stable, stable ? 5 : 30));
        getPool[token0][token1][stable] = pool;
        getPool[token1][token0][stable] = pool;
        allPools.push(pool);
        emit PoolCreated(token0, token1, stable, pool, allPools.length);
    }
}
`

type SolidlyContracts = { token: Compiled; pool: Compiled; v1Factory: Compiled; aeroFactory: Compiled }

let compiled: SolidlyContracts | undefined

export function compileSolidly(): SolidlyContracts {
  if (compiled) return compiled
  const k = compileContracts('MiniSolidly.sol', SOURCE, ['SolidlyPoolBase', 'VelodromeV1PairFactory', 'AerodromePoolFactory'])
  compiled = { token: TEST_TOKEN, pool: k.SolidlyPoolBase, v1Factory: k.VelodromeV1PairFactory, aeroFactory: k.AerodromePoolFactory }
  return compiled
}

export type SolidlyGeneration = 'velodrome-v1' | 'aerodrome'
export type SolidlyToken = { address: Address; symbol: string; decimals: number }

export type SolidlyPool = {
  address: Address
  token0: Address
  token1: Address
  stable: boolean
  /** Swap fee in basis points, taken from amountIn and moved to `fees`. */
  feeBps: bigint
  /** The pool's fees contract (PairFees / PoolFees). */
  fees: Address
  /** Block of the factory's creation event. */
  createdBlock: bigint
}

export type SolidlyDeployment = {
  generation: SolidlyGeneration
  factory: Address
  /** Block of the factory's deployment (the first block to read its logs from). */
  deployBlock: bigint
  /** weth (18 decimals), usdc (6), dai (18). */
  tokens: Record<'weth' | 'usdc' | 'dai', SolidlyToken>
  /**
   * pools[0]: volatile WETH/USDC with reserves 100 WETH and 250,000 USDC (1 WETH = 2500 USDC).
   * pools[1]: stable USDC/DAI with reserves 1,000,000 of each (fixed 1:1).
   */
  pools: SolidlyPool[]
  /** What `amountIn` of `tokenIn` buys now: the pool's own formula, from its current reserves. */
  quote(pool: SolidlyPool, tokenIn: Address, amountIn: bigint): Promise<bigint>
  /** Mints `amount` of `token` to `trader` (sent by the deployer, anvil account 0). */
  fund(trader: Address, token: Address, amount: bigint): Promise<TransactionReceipt>
  /** Approves the pool (once per trader, pool and token) and swaps exactly `amountIn` of `tokenIn` from `trader`, paid to `recipient` (default: the trader). */
  swap(trader: LocalAccount, pool: SolidlyPool, tokenIn: Address, amountIn: bigint, recipient?: Address): Promise<TransactionReceipt>
  balanceOf(token: Address, owner: Address, blockNumber?: bigint): Promise<bigint>
  reserves(pool: Address, blockNumber?: bigint): Promise<[bigint, bigint]>
}

/** Deploys one generation's factory, three tokens and two funded pools (volatile, stable), from anvil account 0. */
export async function deploySolidly(opts: { rpcUrl: string; chainId: number; generation: SolidlyGeneration }): Promise<SolidlyDeployment> {
  const c = compileSolidly()
  const { main, senderOf, deploy, call, read } = await createChainSetup({ ...opts, label: 'solidly', deployGas: 5_000_000n, callGas: 500_000n })

  const v1 = opts.generation === 'velodrome-v1'
  const factoryArtifact = v1 ? c.v1Factory : c.aeroFactory
  const { address: factory, block: deployBlock } = await deploy(factoryArtifact, [])
  const newToken = async (symbol: string, decimals: number): Promise<SolidlyToken> => ({ address: (await deploy(c.token, [symbol, symbol, decimals])).address, symbol, decimals })
  const tokens = { weth: await newToken('WETH', 18), usdc: await newToken('USDC', 6), dai: await newToken('DAI', 18) }
  const mint = (to: Address, t: Address, amount: bigint) => call(main, t, c.token.abi, 'mint', [to, amount])

  const create = async (tokenA: SolidlyToken, tokenB: SolidlyToken, stable: boolean, amountA: bigint, amountB: bigint): Promise<SolidlyPool> => {
    const r = await call(main, factory, factoryArtifact.abi, v1 ? 'createPair' : 'createPool', [tokenA.address, tokenB.address, stable], 3_000_000n)
    const address = ((await read<string>(factory, factoryArtifact.abi, v1 ? 'getPair' : 'getPool', [tokenA.address, tokenB.address, stable])).toLowerCase()) as Address
    await mint(address, tokenA.address, amountA)
    await mint(address, tokenB.address, amountB)
    await call(main, address, c.pool.abi, 'sync', [])
    const [token0, token1] = [tokenA.address, tokenB.address].sort() as [Address, Address]
    return {
      address,
      token0,
      token1,
      stable,
      feeBps: await read<bigint>(address, c.pool.abi, 'feeBps'),
      fees: (await read<string>(address, c.pool.abi, 'fees')).toLowerCase() as Address,
      createdBlock: r.blockNumber,
    }
  }
  const pools = [
    await create(tokens.weth, tokens.usdc, false, 100n * 10n ** 18n, 250_000n * 10n ** 6n),
    await create(tokens.usdc, tokens.dai, true, 1_000_000n * 10n ** 6n, 1_000_000n * 10n ** 18n),
  ]
  const decimalsOf = new Map(Object.values(tokens).map((t) => [t.address, t.decimals]))
  const reserves = async (pool: Address, blockNumber?: bigint): Promise<[bigint, bigint]> =>
    Promise.all([read<bigint>(pool, c.pool.abi, 'reserve0', [], blockNumber), read<bigint>(pool, c.pool.abi, 'reserve1', [], blockNumber)])

  const approved = new Set<string>()
  return {
    generation: opts.generation,
    factory,
    deployBlock,
    tokens,
    pools,
    async quote(pool, tokenIn, amountIn) {
      const [r0, r1] = await reserves(pool.address)
      const zero = tokenIn === pool.token0
      const [rIn, rOut] = zero ? [r0, r1] : [r1, r0]
      const net = amountIn - (amountIn * pool.feeBps) / 10_000n
      if (!pool.stable) return (net * rOut) / (rIn + net)
      const dIn = decimalsOf.get(tokenIn)!
      const dOut = decimalsOf.get(zero ? pool.token1 : pool.token0)!
      return (net * 10n ** BigInt(dOut)) / 10n ** BigInt(dIn)
    },
    fund: (trader, t, amount) => mint(trader, t, amount),
    async swap(trader, pool, tokenIn, amountIn, recipient) {
      const s = await senderOf(trader)
      const key = `${trader.address.toLowerCase()}:${pool.address}:${tokenIn}`
      if (!approved.has(key)) {
        await call(s, tokenIn, c.token.abi, 'approve', [pool.address, maxUint256])
        approved.add(key)
      }
      return call(s, pool.address, c.pool.abi, 'swap', [tokenIn, amountIn, recipient ?? trader.address])
    },
    balanceOf: (t, owner, blockNumber) => read<bigint>(t, c.token.abi, 'balanceOf', [owner], blockNumber),
    reserves,
  }
}
