import { encodeFunctionData, type Address, type LocalAccount, type TransactionReceipt } from 'viem'
import { compileContracts, createChainSetup, TEST_TOKEN, TOKEN_INTERFACE_SOURCE, type Compiled } from './solidity.ts'

/**
 * Minimal Curve-like pools compiled with solc-js, for end-to-end tests of the curve family. Each
 * holds real ERC20 balances, prices at a fixed rate (dy = dx · 3 / 4, in raw units: no fee, no
 * invariant) and emits Curve's own events with Curve's own signatures:
 * - MiniStablePool: `coins(uint256)`, `exchange(int128,int128,uint256,uint256)` emitting
 *   TokenExchange(address,int128,uint256,int128,uint256); as a metapool (`base_pool()` set) also
 *   `exchange_underlying(int128,…)` emitting TokenExchangeUnderlying over [coins[0], ...base coins]
 *   (it pays base coins from its own balance: no base-pool deposit, the event is what matters).
 * - MiniCryptoPool: `coins(uint256)`, `exchange(uint256,uint256,uint256,uint256)` emitting the crypto
 *   v2 TokenExchange (uint256 ids) or, built with `ng`, tricrypto-ng's seven-field one.
 * - LegacyLendingPool: only `coins(int128)` and `underlying_coins(int128)` (the 3pool-era getters),
 *   one coin being 0xEeee…EEeE: for `describePool`, no swaps.
 */
const SOURCE = `${TOKEN_INTERFACE_SOURCE}
abstract contract FixedRate {
    function _swap(address tokenIn, address tokenOut, uint256 dx, uint256 minDy) internal returns (uint256 dy) {
        dy = dx * 3 / 4;
        require(dy >= minDy, "slippage");
        require(IToken(tokenIn).transferFrom(msg.sender, address(this), dx), "in");
        require(IToken(tokenOut).transfer(msg.sender, dy), "out");
    }
}

contract MiniStablePool is FixedRate {
    event TokenExchange(address indexed buyer, int128 sold_id, uint256 tokens_sold, int128 bought_id, uint256 tokens_bought);
    event TokenExchangeUnderlying(address indexed buyer, int128 sold_id, uint256 tokens_sold, int128 bought_id, uint256 tokens_bought);
    address[] internal _coins;
    address[] internal _underlying;
    address public base_pool;
    constructor(address[] memory coins_, address basePool) {
        _coins = coins_;
        base_pool = basePool;
        if (basePool != address(0)) {
            _underlying.push(coins_[0]);
            for (uint256 i = 0; ; i++) {
                try MiniStablePool(basePool).coins(i) returns (address c) { _underlying.push(c); } catch { break; }
            }
        }
    }
    function coins(uint256 i) external view returns (address) { return _coins[i]; }
    function exchange(int128 i, int128 j, uint256 dx, uint256 min_dy) external returns (uint256 dy) {
        dy = _swap(_coins[uint128(i)], _coins[uint128(j)], dx, min_dy);
        emit TokenExchange(msg.sender, i, dx, j, dy);
    }
    function exchange_underlying(int128 i, int128 j, uint256 dx, uint256 min_dy) external returns (uint256 dy) {
        dy = _swap(_underlying[uint128(i)], _underlying[uint128(j)], dx, min_dy);
        emit TokenExchangeUnderlying(msg.sender, i, dx, j, dy);
    }
}

contract MiniCryptoPool is FixedRate {
    event TokenExchange(address indexed buyer, uint256 sold_id, uint256 tokens_sold, uint256 bought_id, uint256 tokens_bought);
    address[] internal _coins;
    bool internal immutable ng;
    constructor(address[] memory coins_, bool ng_) { _coins = coins_; ng = ng_; }
    function coins(uint256 i) external view returns (address) { return _coins[i]; }
    function exchange(uint256 i, uint256 j, uint256 dx, uint256 min_dy) external returns (uint256 dy) {
        dy = _swap(_coins[i], _coins[j], dx, min_dy);
        if (ng) {
            // tricrypto-ng: TokenExchange(address,uint256,uint256,uint256,uint256,uint256,uint256)
            bytes32 topic = keccak256("TokenExchange(address,uint256,uint256,uint256,uint256,uint256,uint256)");
            bytes memory data = abi.encode(i, dx, j, dy, uint256(1234), uint256(5678));
            bytes32 buyer = bytes32(uint256(uint160(msg.sender)));
            assembly { log2(add(data, 0x20), mload(data), topic, buyer) }
        } else {
            emit TokenExchange(msg.sender, i, dx, j, dy);
        }
    }
}

contract LegacyLendingPool {
    address[] internal _coins;
    address[] internal _underlying;
    constructor(address[] memory coins_, address[] memory underlying_) { _coins = coins_; _underlying = underlying_; }
    function coins(int128 i) external view returns (address) { return _coins[uint128(i)]; }
    function underlying_coins(int128 i) external view returns (address) { return _underlying[uint128(i)]; }
}
`

const POOL_NAMES = ['MiniStablePool', 'MiniCryptoPool', 'LegacyLendingPool'] as const
type ContractName = 'TestToken' | (typeof POOL_NAMES)[number]

let compiled: Record<ContractName, Compiled> | undefined
/** The pools compiled once per process, with the project's TestToken (src/world/contracts). */
export function compileCurveContracts(): Record<ContractName, Compiled> {
  compiled ??= { TestToken: TEST_TOKEN, ...compileContracts('MiniCurve.sol', SOURCE, POOL_NAMES) }
  return compiled
}

export type CurvePoolKind = 'stable' | 'meta' | 'base' | 'crypto' | 'crypto-ng' | 'legacy-lending'
export type DeployedCurvePool = { kind: CurvePoolKind; address: Address; coins: Address[]; underlying?: Address[] }
export type CurveSwap = { pool: Address; i: number; j: number; dx: bigint; underlying?: boolean }

export type CurveDeployment = {
  /** Every pool, lowercased addresses; coins as `coins(i)` answers (NATIVE_TOKEN not mapped here). */
  pools: DeployedCurvePool[]
  /** Tokens by symbol: DAI (18), USDC (6), USDT (6), WBTC (8), WETH (18), MET (18, the metapool's own coin). */
  tokens: Record<'DAI' | 'USDC' | 'USDT' | 'WBTC' | 'WETH' | 'MET', Address>
  /** The block of the last deployment transaction: pools exist from here. */
  deployBlock: bigint
  /** Mints `amount` of `token` to `trader` (from anvil account 0). */
  fund(trader: Address, token: Address, amount: bigint): Promise<TransactionReceipt>
  /** Approves the pool and calls exchange (or exchange_underlying) from `trader`; resolves with the exchange's receipt. */
  swap(trader: LocalAccount, swap: CurveSwap): Promise<TransactionReceipt>
}

/** The fixed rate of every mini pool: what `swap` pays for `dx`. */
export const curveMiniRate = (dx: bigint): bigint => (dx * 3n) / 4n

/** Pool reserves minted at deployment, per coin, in raw units. */
const RESERVE = 10n ** 30n

/**
 * Deploys tokens and five mini pools on a local chain from anvil account 0: a 3-coin stable pool
 * (DAI/USDC/USDT), a base pool (DAI/USDC/USDT) and its metapool (MET/base LP stand-in), a crypto v2
 * pool and a crypto-ng pool (USDT/WBTC/WETH), plus a legacy lending pool (describePool only). Every
 * swapping pool holds RESERVE of each coin it can pay.
 */
export async function deployCurve(opts: { rpcUrl: string; chainId: number }): Promise<CurveDeployment> {
  const c = compileCurveContracts()
  const { main, senderOf, mined, deploy: deployContract, call } = await createChainSetup({ ...opts, label: 'curve', deployGas: 3_000_000n, callGas: 100_000n, nameSteps: true })
  let last: bigint | undefined
  const deploy = async (name: ContractName, args: readonly unknown[]): Promise<Address> => {
    const { address, block } = await deployContract(c[name], args, undefined, name)
    last = block
    return address
  }
  const mint = (token: Address, to: Address, amount: bigint) => call(main, token, c.TestToken.abi, 'mint', [to, amount])

  const newToken = (symbol: string, decimals: number) => deploy('TestToken', [symbol, symbol, decimals])
  const tokens = {
    DAI: await newToken('DAI', 18),
    USDC: await newToken('USDC', 6),
    USDT: await newToken('USDT', 6),
    WBTC: await newToken('WBTC', 8),
    WETH: await newToken('WETH', 18),
    MET: await newToken('MET', 18),
    BASE_LP: await newToken('BASE_LP', 18),
  }
  const ZERO = '0x0000000000000000000000000000000000000000'
  const stableCoins = [tokens.DAI, tokens.USDC, tokens.USDT]
  const cryptoCoins = [tokens.USDT, tokens.WBTC, tokens.WETH]
  const stable = await deploy('MiniStablePool', [stableCoins, ZERO])
  const base = await deploy('MiniStablePool', [stableCoins, ZERO])
  const meta = await deploy('MiniStablePool', [[tokens.MET, tokens.BASE_LP], base])
  const crypto = await deploy('MiniCryptoPool', [cryptoCoins, false])
  const cryptoNg = await deploy('MiniCryptoPool', [cryptoCoins, true])
  const lendingCoins = ['0x00000000000000000000000000000000000000a1', '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE'] as Address[]
  const lending = await deploy('LegacyLendingPool', [lendingCoins, [tokens.DAI, tokens.WETH]])
  for (const t of stableCoins) await mint(t, stable, RESERVE)
  for (const t of [tokens.MET, tokens.BASE_LP, ...stableCoins]) await mint(t, meta, RESERVE)
  for (const t of cryptoCoins) {
    await mint(t, crypto, RESERVE)
    await mint(t, cryptoNg, RESERVE)
  }
  const deployBlock = last as bigint

  const pools: DeployedCurvePool[] = [
    { kind: 'stable', address: stable, coins: stableCoins },
    { kind: 'base', address: base, coins: stableCoins },
    { kind: 'meta', address: meta, coins: [tokens.MET, tokens.BASE_LP], underlying: [tokens.MET, ...stableCoins] },
    { kind: 'crypto', address: crypto, coins: cryptoCoins },
    { kind: 'crypto-ng', address: cryptoNg, coins: cryptoCoins },
    { kind: 'legacy-lending', address: lending, coins: lendingCoins.map((a) => a.toLowerCase() as Address), underlying: [tokens.DAI, tokens.WETH] },
  ]

  return {
    pools,
    tokens: { DAI: tokens.DAI, USDC: tokens.USDC, USDT: tokens.USDT, WBTC: tokens.WBTC, WETH: tokens.WETH, MET: tokens.MET },
    deployBlock,
    fund: (trader, token, amount) => mint(token, trader, amount),
    async swap(trader, s) {
      const pool = pools.find((p) => p.address === s.pool.toLowerCase())
      if (!pool || pool.kind === 'legacy-lending' || pool.kind === 'base') throw new Error(`curve setup: no swapping pool ${s.pool}`)
      const list = s.underlying ? pool.underlying : pool.coins
      const tokenIn = list?.[s.i]
      if (!tokenIn) throw new Error(`curve setup: pool ${s.pool} has no ${s.underlying ? 'underlying ' : ''}coin ${s.i}`)
      const sender = await senderOf(trader)
      await call(sender, tokenIn, c.TestToken.abi, 'approve', [pool.address, s.dx])
      const isCrypto = pool.kind === 'crypto' || pool.kind === 'crypto-ng'
      const abi = isCrypto ? c.MiniCryptoPool.abi : c.MiniStablePool.abi
      const data = encodeFunctionData({ abi, functionName: s.underlying ? 'exchange_underlying' : 'exchange', args: [BigInt(s.i), BigInt(s.j), s.dx, 0n] })
      return mined(sender, await sender.send({ to: pool.address, data, gas: 300_000n }), 'exchange')
    },
  }
}
