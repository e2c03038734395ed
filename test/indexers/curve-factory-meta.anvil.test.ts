import { erc20Abi, type Address, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CURVE_ADD_LIQUIDITY_TOPICS, CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC } from '../../indexers/curve/abi.ts'
import { curve } from '../../indexers/curve/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo } from '../../src/domain/types.ts'
import { decodeRange, poolLogs } from '../../src/indexer/decode-range.ts'
import { uintWord } from '../../src/indexer/words.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { compileContracts, createChainSetup, TEST_TOKEN, type ChainSetup } from '../setup/families/solidity.ts'

/**
 * A reproduction of the curve-factory metapool template's `exchange_underlying` (curvefi/curve-factory
 * contracts/implementations/meta/MetaUSD.vy, Vyper 0.2.15, the v2 factory's 3pool metapool
 * implementation) when a base coin is sold for the metapool's own coin: it takes the trader's `_dx`,
 * deposits it into the base pool, reassigns `dx` to the base LP it got (`dx =
 * ERC20(coin_i).balanceOf(self) - x`) and logs TokenExchangeUnderlying with that `dx`. The base pool
 * stands in for 3pool: `add_liquidity` mints LP at a virtual price of 1.02 and logs 3pool's
 * AddLiquidity. Like the factory pools, the metapool has no `base_pool()`: its underlying coins come
 * from the config. Compiled with solc-js; the tokens are the project's TestToken.
 */
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function approve(address spender, uint256 value) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
    function decimals() external view returns (uint8);
    function mint(address to, uint256 amount) external;
}

contract MiniBasePool {
    event AddLiquidity(address indexed provider, uint256[3] token_amounts, uint256[3] fees, uint256 invariant, uint256 token_supply);
    address[3] internal _coins;
    address public immutable lp_token;
    uint256 public totalSupply;
    constructor(address[3] memory coins_, address lp) { _coins = coins_; lp_token = lp; }
    function coins(uint256 i) external view returns (address) { return _coins[i]; }
    function add_liquidity(uint256[3] calldata amounts, uint256 min_mint_amount) external {
        uint256 value;
        for (uint256 i = 0; i < 3; i++) {
            if (amounts[i] == 0) continue;
            require(IToken(_coins[i]).transferFrom(msg.sender, address(this), amounts[i]), "in");
            value += amounts[i] * 10 ** (18 - IToken(_coins[i]).decimals());
        }
        uint256 minted = value * 100 / 102;
        require(minted >= min_mint_amount, "slippage");
        totalSupply += minted;
        IToken(lp_token).mint(msg.sender, minted);
        uint256[3] memory fees;
        emit AddLiquidity(msg.sender, amounts, fees, totalSupply, totalSupply);
    }
}

contract MetaUsdTemplateReproduction {
    event TokenExchangeUnderlying(address indexed buyer, int128 sold_id, uint256 tokens_sold, int128 bought_id, uint256 tokens_bought);
    address[2] internal _coins;
    address[3] internal _baseCoins;
    address internal immutable basePool;
    constructor(address coin, address baseLp, address basePool_, address[3] memory baseCoins) {
        _coins = [coin, baseLp];
        _baseCoins = baseCoins;
        basePool = basePool_;
        for (uint256 k = 0; k < 3; k++) IToken(baseCoins[k]).approve(basePool_, type(uint256).max);
    }
    function coins(uint256 i) external view returns (address) { return _coins[i]; }
    /// The template's path for i > 0 (a base coin) and j == 0 only; coin 0 paid at 0.98 per base LP.
    function exchange_underlying(int128 i, int128 j, uint256 _dx, uint256 _min_dy) external returns (uint256 dy) {
        require(i > 0 && j == 0, "base coin for coin 0 only");
        uint256 base_i = uint256(uint128(i)) - 1;
        require(IToken(_baseCoins[base_i]).transferFrom(msg.sender, address(this), _dx), "in");
        uint256 dx = _dx;
        uint256[3] memory base_inputs;
        base_inputs[base_i] = dx;
        uint256 x = IToken(_coins[1]).balanceOf(address(this));
        MiniBasePool(basePool).add_liquidity(base_inputs, 0);
        // "dx is also different now": the template logs this LP amount as tokens_sold.
        dx = IToken(_coins[1]).balanceOf(address(this)) - x;
        dy = dx * 98 / 100;
        require(dy >= _min_dy, "slippage");
        require(IToken(_coins[0]).transfer(msg.sender, dy), "out");
        emit TokenExchangeUnderlying(msg.sender, i, dx, j, dy);
    }
}
`

const CHAIN_ID = 31_337
const dex = { family: 'curve', name: 'curve' } as const
const trader = anvilAccount(3)
const TRADER = trader.address.toLowerCase() as Address
/** 1,234.567891 USDT sold; the base pool mints 1234567891 · 10^12 · 100 / 102 = 1210360677450980392156 LP for it. */
const USDT_SOLD = 1_234_567_891n
const LP_MINTED = 1_210_360_677_450_980_392_156n
/** What the metapool pays: LP_MINTED · 98 / 100 of its own coin. */
const MET_PAID = 1_186_153_463_901_960_784_312n

let anvil: AnvilInstance
let chain: ChainSetup
let tokens: Record<'DAI' | 'USDC' | 'USDT' | 'MET' | 'LP', Address>
let base: PoolInfo
let meta: PoolInfo
let receipt: TransactionReceipt
let logs: RawLog[]

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
  const c = compileContracts('MetaUsdTemplateReproduction.sol', SOURCE, ['MiniBasePool', 'MetaUsdTemplateReproduction'] as const)
  chain = await createChainSetup({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID, label: 'curve factory metapool', deployGas: 3_000_000n, callGas: 400_000n, nameSteps: true })
  const token = async (symbol: string, decimals: number) => (await chain.deploy(TEST_TOKEN, [symbol, symbol, decimals], undefined, symbol)).address
  tokens = { DAI: await token('DAI', 18), USDC: await token('USDC', 6), USDT: await token('USDT', 6), MET: await token('MET', 18), LP: await token('3CRV', 18) }
  const baseCoins = [tokens.DAI, tokens.USDC, tokens.USDT] as const
  const basePool = (await chain.deploy(c.MiniBasePool, [baseCoins, tokens.LP], undefined, 'MiniBasePool')).address
  const metaPool = (await chain.deploy(c.MetaUsdTemplateReproduction, [tokens.MET, tokens.LP, basePool, baseCoins], undefined, 'MetaUsdTemplateReproduction')).address
  await chain.call(chain.main, tokens.MET, TEST_TOKEN.abi, 'mint', [metaPool, 10n ** 30n])
  const described = await chain.client.getBlockNumber()
  if (!curve.describePool) throw new Error('curve has no describePool')
  base = await curve.describePool(chain.client as PublicClient, { address: basePool }, dex, CHAIN_ID, described)
  // A factory metapool answers no base_pool(): its underlying coins are named in the config.
  meta = await curve.describePool(chain.client as PublicClient, { address: metaPool, underlying: [tokens.MET, ...baseCoins] }, dex, CHAIN_ID, described)

  await chain.call(chain.main, tokens.USDT, TEST_TOKEN.abi, 'mint', [TRADER, USDT_SOLD])
  const sender = await chain.senderOf(trader)
  await chain.call(sender, tokens.USDT, TEST_TOKEN.abi, 'approve', [metaPool, USDT_SOLD])
  receipt = await chain.call(sender, metaPool, c.MetaUsdTemplateReproduction.abi, 'exchange_underlying', [3n, 0n, USDT_SOLD, 0n])
  const raw = await chain.client.getLogs({ fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber })
  logs = raw.map((l) => ({
    address: l.address.toLowerCase() as Address,
    topics: l.topics,
    data: l.data,
    blockNumber: l.blockNumber,
    blockHash: l.blockHash,
    transactionHash: l.transactionHash,
    transactionIndex: l.transactionIndex,
    logIndex: l.logIndex,
  }))
}, 120_000)

afterAll(async () => {
  await anvil?.stop()
})

const balanceDelta = async (token: Address): Promise<bigint> => {
  const read = (blockNumber: bigint) => chain.client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [TRADER], blockNumber })
  return (await read(receipt.blockNumber)) - (await read(receipt.blockNumber - 1n))
}

async function decode(listed: PoolInfo[]) {
  const pools = new Map(listed.map((p) => [p.address, p]))
  const tx = await chain.client.getTransaction({ hash: receipt.transactionHash })
  const block = await chain.client.getBlock({ blockNumber: receipt.blockNumber })
  return decodeRange(poolLogs(logs, pools), pools, {
    chainId: CHAIN_ID,
    token: (a) => ({ chainId: CHAIN_ID, address: a, decimals: a === tokens.USDT || a === tokens.USDC ? 6 : 18, symbol: null }),
    txFrom: (h) => (h === receipt.transactionHash ? (tx.from.toLowerCase() as Address) : undefined),
    blockTime: (n) => (n === receipt.blockNumber ? Number(block.timestamp) : undefined),
  })
}

describe('curve factory metapool template (reproduction on anvil): TokenExchangeUnderlying of a base coin sold for coin 0', () => {
  it('reproduces the template: the event logs the base LP minted as tokens_sold, the trader paid the USDT amount', async () => {
    const exchange = logs.find((l) => l.topics[0] === CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC)
    const deposit = logs.find((l) => l.topics[0] === CURVE_ADD_LIQUIDITY_TOPICS.get(3))
    expect(exchange?.address).toBe(meta.address)
    expect(deposit?.address).toBe(base.address)
    expect(uintWord(exchange!.data, 1)).toBe(LP_MINTED)
    expect(uintWord(deposit!.data, 2)).toBe(USDT_SOLD)
    expect(await balanceDelta(tokens.USDT)).toBe(-USDT_SOLD)
    expect(await balanceDelta(tokens.MET)).toBe(MET_PAID)
    expect(meta.underlying).toEqual([tokens.MET, tokens.DAI, tokens.USDC, tokens.USDT])
    expect(base.tokens).toEqual([tokens.DAI, tokens.USDC, tokens.USDT])
  })

  it('with the base pool listed, decodes the USDT actually sold (from its AddLiquidity), to the wei, not the LP amount', async () => {
    const r = await decode([base, meta])
    expect(r.rejected).toEqual([])
    expect(r.prices).toEqual([])
    expect(r.swaps).toHaveLength(1)
    expect(r.swaps[0]).toMatchObject({ pool: meta.address, trader: TRADER, tokenIn: tokens.USDT, amountIn: USDT_SOLD, decimalsIn: 6, tokenOut: tokens.MET, amountOut: MET_PAID })
    expect(r.swaps[0]?.amountIn).toBe(-(await balanceDelta(tokens.USDT)))
  })

  it('without the base pool listed, rejects the exchange with the reason instead of recording the LP amount', async () => {
    const r = await decode([meta])
    expect(r.swaps).toEqual([])
    const exchange = logs.find((l) => l.topics[0] === CURVE_TOKEN_EXCHANGE_UNDERLYING_TOPIC)!
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `TokenExchangeUnderlying sells base coin 3 for the metapool's coin 0: tokens_sold ${LP_MINTED} can be the base pool's LP amount (curve-factory metapools since Vyper 0.2.14 log that), and no AddLiquidity by this pool into its base pool precedes it in the transaction to give the amount sold (list the base pool as a curve pool) (chain ${CHAIN_ID}, block ${receipt.blockNumber}, tx ${receipt.transactionHash}, log ${exchange.logIndex}, pool ${meta.address})`,
    ])
  })
})
