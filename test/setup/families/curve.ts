import solc from 'solc'
import {
  createPublicClient,
  encodeDeployData,
  encodeFunctionData,
  getContractAddress,
  http,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { anvilAccount } from '../../../src/world/accounts.ts'
import { createSender, waitForReceipts, type Sender } from '../../../src/world/sender.ts'

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
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract TinyToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint8 public immutable decimals;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    constructor(uint8 d) { decimals = d; }
    function mint(address to, uint256 v) external { balanceOf[to] += v; emit Transfer(address(0), to, v); }
    function approve(address s, uint256 v) external returns (bool) { allowance[msg.sender][s] = v; emit Approval(msg.sender, s, v); return true; }
    function transfer(address to, uint256 v) external returns (bool) { _move(msg.sender, to, v); return true; }
    function transferFrom(address f, address to, uint256 v) external returns (bool) {
        uint256 a = allowance[f][msg.sender];
        require(a >= v, "allowance");
        if (a != type(uint256).max) allowance[f][msg.sender] = a - v;
        _move(f, to, v);
        return true;
    }
    function _move(address f, address to, uint256 v) internal {
        require(balanceOf[f] >= v, "balance");
        balanceOf[f] -= v;
        balanceOf[to] += v;
        emit Transfer(f, to, v);
    }
}

abstract contract FixedRate {
    function _swap(address tokenIn, address tokenOut, uint256 dx, uint256 minDy) internal returns (uint256 dy) {
        dy = dx * 3 / 4;
        require(dy >= minDy, "slippage");
        require(TinyToken(tokenIn).transferFrom(msg.sender, address(this), dx), "in");
        require(TinyToken(tokenOut).transfer(msg.sender, dy), "out");
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

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}
type Compiled = { abi: Abi; bytecode: Hex }
const NAMES = ['TinyToken', 'MiniStablePool', 'MiniCryptoPool', 'LegacyLendingPool'] as const
type ContractName = (typeof NAMES)[number]

let compiled: Record<ContractName, Compiled> | undefined
export function compileCurveContracts(): Record<ContractName, Compiled> {
  if (compiled) return compiled
  const input = {
    language: 'Solidity',
    sources: { 'MiniCurve.sol': { content: SOURCE } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const out = {} as Record<ContractName, Compiled>
  for (const name of NAMES) {
    const c = output.contracts['MiniCurve.sol']?.[name]
    if (!c) throw new Error(`solc produced no ${name}`)
    out[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
  }
  compiled = out
  return out
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
  const client = createPublicClient({ transport: http(opts.rpcUrl) }) as PublicClient
  const deployer = await createSender({ client, account: anvilAccount(0), chainId: opts.chainId })
  const mined = async (senders: Sender[], hash: Hex, what: string): Promise<TransactionReceipt> => {
    const [receipt] = await waitForReceipts(client, [hash], { senders })
    if (!receipt || receipt.status !== 'success') throw new Error(`curve setup: ${what} (tx ${hash}) failed`)
    return receipt
  }
  let last: TransactionReceipt | undefined
  const deploy = async (name: ContractName, args: readonly unknown[]): Promise<Address> => {
    const address = getContractAddress({ from: deployer.account.address, nonce: BigInt(deployer.nextNonce()) }).toLowerCase() as Address
    last = await mined([deployer], await deployer.send({ data: encodeDeployData({ abi: c[name].abi, bytecode: c[name].bytecode, args } as never), gas: 3_000_000n }), `deploy ${name}`)
    return address
  }
  const mint = async (token: Address, to: Address, amount: bigint) =>
    mined([deployer], await deployer.send({ to: token, data: encodeFunctionData({ abi: c.TinyToken.abi, functionName: 'mint', args: [to, amount] }), gas: 100_000n }), 'mint')

  const tokens = {
    DAI: await deploy('TinyToken', [18]),
    USDC: await deploy('TinyToken', [6]),
    USDT: await deploy('TinyToken', [6]),
    WBTC: await deploy('TinyToken', [8]),
    WETH: await deploy('TinyToken', [18]),
    MET: await deploy('TinyToken', [18]),
    BASE_LP: await deploy('TinyToken', [18]),
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
  const deployBlock = (last as TransactionReceipt).blockNumber

  const senders = new Map<Address, Sender>()
  const senderOf = async (account: LocalAccount): Promise<Sender> => {
    const key = account.address.toLowerCase() as Address
    let s = senders.get(key)
    if (!s) {
      s = await createSender({ client, account, chainId: opts.chainId })
      senders.set(key, s)
    }
    return s
  }
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
      await mined([sender], await sender.send({ to: tokenIn, data: encodeFunctionData({ abi: c.TinyToken.abi, functionName: 'approve', args: [pool.address, s.dx] }), gas: 100_000n }), 'approve')
      const isCrypto = pool.kind === 'crypto' || pool.kind === 'crypto-ng'
      const abi = isCrypto ? c.MiniCryptoPool.abi : c.MiniStablePool.abi
      const data = encodeFunctionData({ abi, functionName: s.underlying ? 'exchange_underlying' : 'exchange', args: [BigInt(s.i), BigInt(s.j), s.dx, 0n] })
      return mined([sender], await sender.send({ to: pool.address, data, gas: 300_000n }), 'exchange')
    },
  }
}
