import { maxUint256, type Address, type Hex, type LocalAccount, type TransactionReceipt } from 'viem'
import { compileContracts, createChainSetup, TEST_TOKEN, TOKEN_INTERFACE_SOURCE, type Compiled } from './solidity.ts'

/**
 * A minimal Balancer-V2-like Vault for local chains, compiled with solc-js. It emits the real
 * Vault's `PoolRegistered`, `TokensRegistered` and `Swap` events (same signatures, same indexing:
 * balancer-v2-monorepo pkg/interfaces/contracts/vault/IVault.sol), builds pool ids as the real
 * Vault does (PoolRegistry._toPoolId: pool address in the first 20 bytes, specialization in the
 * next 2, a registration nonce in the last 10) and holds every pool's tokens itself. `swap` moves
 * real ERC20 balances at a fixed rate per pool: amountOut = amountIn · rate(tokenIn) / rate(tokenOut)
 * (floor), the rates set at registration. No fee, no invariant: only the event and the balances are
 * the point.
 */
const SOURCE = `${TOKEN_INTERFACE_SOURCE}
contract MiniVault {
    event PoolRegistered(bytes32 indexed poolId, address indexed poolAddress, uint8 specialization);
    event TokensRegistered(bytes32 indexed poolId, address[] tokens, address[] assetManagers);
    event Swap(bytes32 indexed poolId, address indexed tokenIn, address indexed tokenOut, uint256 amountIn, uint256 amountOut);

    uint80 private nextNonce;
    mapping(bytes32 => mapping(address => uint256)) public rate;

    function registerPool(address pool, uint8 specialization, address[] calldata tokens, uint256[] calldata rates) external returns (bytes32 poolId) {
        require(tokens.length == rates.length && tokens.length >= 2, "tokens");
        poolId = bytes32((uint256(uint160(pool)) << 96) | (uint256(specialization) << 80) | uint256(nextNonce++));
        for (uint256 i = 0; i < tokens.length; i++) {
            require(rates[i] > 0 && rate[poolId][tokens[i]] == 0, "rate");
            rate[poolId][tokens[i]] = rates[i];
        }
        emit PoolRegistered(poolId, pool, specialization);
        emit TokensRegistered(poolId, tokens, new address[](tokens.length));
    }

    function swap(bytes32 poolId, address tokenIn, address tokenOut, uint256 amountIn) external returns (uint256 amountOut) {
        uint256 rateIn = rate[poolId][tokenIn];
        uint256 rateOut = rate[poolId][tokenOut];
        require(rateIn > 0 && rateOut > 0 && tokenIn != tokenOut, "token");
        amountOut = amountIn * rateIn / rateOut;
        emit Swap(poolId, tokenIn, tokenOut, amountIn, amountOut);
        require(IToken(tokenIn).transferFrom(msg.sender, address(this), amountIn), "in");
        require(IToken(tokenOut).transfer(msg.sender, amountOut), "out");
    }
}
`

let compiled: { token: Compiled; vault: Compiled } | undefined

/** Compiles MiniVault once per process; `token` is TEST_TOKEN. */
export function compileBalancerV2(): { token: Compiled; vault: Compiled } {
  if (compiled) return compiled
  const c = compileContracts('MiniVault.sol', SOURCE, ['MiniVault'])
  compiled = { token: TEST_TOKEN, vault: c.MiniVault }
  return compiled
}

export type BalancerV2Token = { address: Address; symbol: string; decimals: number }

export type BalancerV2Pool = {
  /** The pool id (bytes32, lowercase): the Vault events' topics[1] and dexrisk's pool `address`. */
  id: Hex
  /** The pool contract, the id's first 20 bytes: here a TestToken standing for the pool's BPT. */
  address: Address
  /** 0 general, 1 minimal swap info, 2 two token (IVault.PoolSpecialization). */
  specialization: number
  /** Registered tokens, in registration order. */
  tokens: Address[]
  registeredBlock: bigint
}

export type BalancerV2Deployment = {
  vault: Address
  /** Block of the Vault's deployment (the first block to read its logs from). */
  deployBlock: bigint
  /**
   * Tokens: weth (18 decimals), usdc (6), dai (18), and the two pools' BPTs (18): `bptTwoToken`
   * (not registered in its pool) and `bptComposable` (registered in its own pool, like a
   * composable stable pool's BPT, with a supply held by the Vault).
   */
  tokens: Record<'weth' | 'usdc' | 'dai' | 'bptTwoToken' | 'bptComposable', BalancerV2Token>
  /**
   * pools[0]: two-token pool [WETH, USDC], 1 WETH = 2500 USDC.
   * pools[1]: general pool [BPT, DAI, USDC] with its own BPT, 1 BPT = 1.001 DAI = 1.001 USDC.
   */
  pools: BalancerV2Pool[]
  /** The amount `amountIn` of `tokenIn` buys in `pool` (the contract's fixed-rate formula). */
  quote(pool: BalancerV2Pool, tokenIn: Address, tokenOut: Address, amountIn: bigint): bigint
  /** Mints `amount` of `token` to `trader` (sent by the deployer, anvil account 0). */
  fund(trader: Address, token: Address, amount: bigint): Promise<TransactionReceipt>
  /** Approves the Vault (once per trader and token) and swaps from `trader`; the swap's receipt. */
  swap(trader: LocalAccount, pool: BalancerV2Pool, tokenIn: Address, tokenOut: Address, amountIn: bigint): Promise<TransactionReceipt>
  /** ERC20 balance read at the latest block. */
  balanceOf(token: Address, owner: Address): Promise<bigint>
}

const RATE_SCALE = {
  // Rates are value per raw unit, in a common unit: WETH raw (1e-18 WETH) is 2500e-18 USD,
  // USDC raw 1e-6 USD. Scaled by 1e18: WETH 2500, USDC 1e12.
  twoToken: { weth: 2_500n, usdc: 10n ** 12n },
  // DAI raw 1e-18 USD, USDC raw 1e-6 USD, BPT raw 1.001e-18 USD; scaled by 1e21.
  composable: { bpt: 1_001n, dai: 1_000n, usdc: 10n ** 15n },
}

/** Deploys MiniVault, tokens and two registered pools on a local chain, from anvil account 0. */
export async function deployBalancerV2(opts: { rpcUrl: string; chainId: number }): Promise<BalancerV2Deployment> {
  const { token, vault: vaultArtifact } = compileBalancerV2()
  const { client, main, senderOf, deploy, call } = await createChainSetup({ ...opts, label: 'balancer-v2', deployGas: 3_000_000n, callGas: 500_000n })

  const { address: vault, block: deployBlock } = await deploy(vaultArtifact, [])
  const newToken = async (symbol: string, decimals: number): Promise<BalancerV2Token> => ({ address: (await deploy(token, [symbol, symbol, decimals])).address, symbol, decimals })
  const tokens = {
    weth: await newToken('WETH', 18),
    usdc: await newToken('USDC', 6),
    dai: await newToken('DAI', 18),
    bptTwoToken: await newToken('B-WETH-USDC', 18),
    bptComposable: await newToken('bb-DAI-USDC', 18),
  }
  const mint = (to: Address, t: Address, amount: bigint) => call(main, t, token.abi, 'mint', [to, amount])

  const rates = new Map<Hex, Map<Address, bigint>>()
  const register = async (pool: Address, specialization: number, poolTokens: Address[], poolRates: bigint[]): Promise<BalancerV2Pool> => {
    const r = await call(main, vault, vaultArtifact.abi, 'registerPool', [pool, specialization, poolTokens, poolRates])
    const nonce = BigInt(rates.size)
    const id = `0x${pool.slice(2)}${specialization.toString(16).padStart(4, '0')}${nonce.toString(16).padStart(20, '0')}`.toLowerCase() as Hex
    rates.set(id, new Map(poolTokens.map((t, i) => [t, poolRates[i]!])))
    return { id, address: pool, specialization, tokens: poolTokens, registeredBlock: r.blockNumber }
  }
  const pools = [
    await register(tokens.bptTwoToken.address, 2, [tokens.weth.address, tokens.usdc.address], [RATE_SCALE.twoToken.weth, RATE_SCALE.twoToken.usdc]),
    await register(
      tokens.bptComposable.address,
      0,
      [tokens.bptComposable.address, tokens.dai.address, tokens.usdc.address],
      [RATE_SCALE.composable.bpt, RATE_SCALE.composable.dai, RATE_SCALE.composable.usdc],
    ),
  ]
  // The Vault's liquidity (a composable stable pool's BPT supply also sits in the Vault).
  await mint(vault, tokens.weth.address, 1_000n * 10n ** 18n)
  await mint(vault, tokens.usdc.address, 10_000_000n * 10n ** 6n)
  await mint(vault, tokens.dai.address, 10_000_000n * 10n ** 18n)
  await mint(vault, tokens.bptComposable.address, 10_000_000n * 10n ** 18n)

  const approved = new Set<string>()
  return {
    vault,
    deployBlock,
    tokens,
    pools,
    quote(pool, tokenIn, tokenOut, amountIn) {
      const r = rates.get(pool.id)
      const rIn = r?.get(tokenIn)
      const rOut = r?.get(tokenOut)
      if (!rIn || !rOut) throw new Error(`token not in pool ${pool.id}`)
      return (amountIn * rIn) / rOut
    },
    fund: (trader, t, amount) => mint(trader, t, amount),
    async swap(trader, pool, tokenIn, tokenOut, amountIn) {
      const s = await senderOf(trader)
      const key = `${trader.address.toLowerCase()}:${tokenIn}`
      if (!approved.has(key)) {
        await call(s, tokenIn, token.abi, 'approve', [vault, maxUint256])
        approved.add(key)
      }
      return call(s, vault, vaultArtifact.abi, 'swap', [pool.id, tokenIn, tokenOut, amountIn])
    },
    balanceOf: async (t, owner) => (await client.readContract({ address: t, abi: token.abi, functionName: 'balanceOf', args: [owner] })) as bigint,
  }
}
