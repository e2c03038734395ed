import { createPublicClient, decodeEventLog, getAddress, http, type Address, type Hex, type PublicClient, type TransactionReceipt } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PANCAKE_V3_POOL_CREATED_TOPIC, PANCAKE_V3_SWAP_TOPIC, pancakeswapV3Abi } from '../../indexers/pancakeswap-v3/abi.ts'
import { pancakeswapV3 } from '../../indexers/pancakeswap-v3/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import { priceFromSqrtX96 } from '../../src/domain/price-math.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { decodeRange, discoverPools, poolLogs, watchedTopics } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { fetchLogs } from '../../src/indexer/fetch-logs.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { deployPancakeswapV3, type PancakeswapV3Deployment } from '../setup/families/pancakeswap-v3.ts'

const CHAIN_ID = 56
const dex = { family: 'pancakeswap-v3', name: 'pancakeswap-v3' } as const

describe('pancakeswap-v3 on anvil: the real PancakeV3Factory and PancakeV3Pool bytecode', () => {
  let anvil: AnvilInstance
  let client: PublicClient
  let d: PancakeswapV3Deployment

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: CHAIN_ID })
    client = createPublicClient({ transport: http(anvil.rpcUrl) }) as PublicClient
    d = await deployPancakeswapV3({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID })
  }, 60_000)

  afterAll(async () => {
    await anvil?.stop()
  })

  const readLogs = (fromBlock: bigint, toBlock: bigint, address: Address[]): Promise<RawLog[]> => fetchLogs(client, { fromBlock, toBlock, topics: watchedTopics(), address })

  const chainCtx = async (logs: RawLog[]): Promise<DecodeContext> => {
    const from = new Map<Hex, Address>()
    const times = new Map<bigint, number>()
    for (const l of logs) {
      const tx = await client.getTransaction({ hash: l.transactionHash })
      from.set(l.transactionHash, tx.from.toLowerCase() as Address)
      times.set(l.blockNumber, Number((await client.getBlock({ blockNumber: l.blockNumber })).timestamp))
    }
    const tokens = new Map<Address, TokenInfo>(Object.values(d.tokens).map((t) => [t.address, { chainId: CHAIN_ID, address: t.address, decimals: t.decimals, symbol: t.symbol }]))
    return { chainId: CHAIN_ID, token: (a) => tokens.get(a), txFrom: (h) => from.get(h), blockTime: (n) => times.get(n) }
  }

  const discovered = async (): Promise<PoolInfo[]> => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }), [d.factory])
    return discoverPools(logs, new Map([[d.factory, { dex, family: pancakeswapV3 }]]), CHAIN_ID)
  }

  it("decodes the factory's PoolCreated into the pool getPool names, with its tokens and fee", async () => {
    const logs = await readLogs(d.deployBlock, await client.getBlockNumber({ cacheTime: 0 }), [d.factory])
    expect(logs.map((l) => l.topics[0])).toEqual([PANCAKE_V3_POOL_CREATED_TOPIC])
    const p = d.pools[0]!
    expect(pancakeswapV3.decodePoolCreated(logs[0]!, dex, CHAIN_ID)).toEqual({
      chainId: CHAIN_ID,
      dex,
      address: p.address,
      token0: p.token0,
      token1: p.token1,
      fee: 2500,
      createdBlock: p.createdBlock,
    })
    const ev = decodeEventLog({ abi: pancakeswapV3Abi, eventName: 'PoolCreated', topics: logs[0]!.topics as [Hex, ...Hex[]], data: logs[0]!.data })
    expect(ev.args).toEqual({ token0: getAddress(p.token0), token1: getAddress(p.token1), fee: 2500, tickSpacing: 50, pool: getAddress(p.address) })
    // Fee 2500 has tick spacing 50 in PancakeV3Factory's constructor; token0 < token1 by address.
    expect(p.tickSpacing).toBe(50)
    expect(BigInt(p.token0) < BigInt(p.token1)).toBe(true)
    expect(await discovered()).toHaveLength(1)
  })

  it('decodes swaps both ways to the balance changes to the wei and to the pool state after each swap', async () => {
    const p = d.pools[0]!
    const pools = new Map((await discovered()).map((x) => [x.address, x]))
    const { cake, usdt } = d.tokens
    const trader = anvilAccount(5)
    const who = trader.address.toLowerCase() as Address
    await d.fund(who, cake.address, 3n * 10n ** 18n)
    await d.fund(who, usdt.address, 50n * 10n ** 6n)

    const trades = [
      { tokenIn: cake.address, tokenOut: usdt.address, amountIn: 25n * 10n ** 17n }, // 2.5 CAKE in
      { tokenIn: usdt.address, tokenOut: cake.address, amountIn: 12_345_678n }, // 12.345678 USDT in
    ]
    const receipts: TransactionReceipt[] = []
    for (const t of trades) receipts.push(await d.swap(trader, p, t.tokenIn, t.amountIn))

    const start = receipts[0]!.blockNumber
    const end = receipts[1]!.blockNumber
    const logs = poolLogs(await readLogs(start, end, [p.address]), pools)
    expect(logs.map((l) => l.topics[0])).toEqual([PANCAKE_V3_SWAP_TOPIC, PANCAKE_V3_SWAP_TOPIC])
    const r = decodeRange(logs, pools, await chainCtx(logs))
    expect(r.rejected).toEqual([])
    expect(r.swaps).toHaveLength(2)
    expect(r.prices).toHaveLength(2)

    for (const [i, t] of trades.entries()) {
      const s = r.swaps[i]!
      const rc = receipts[i]!
      const at = rc.blockNumber
      const [inBefore, inAfter, outBefore, outAfter, poolInBefore, poolInAfter] = await Promise.all([
        d.balanceOf(t.tokenIn, who, at - 1n),
        d.balanceOf(t.tokenIn, who, at),
        d.balanceOf(t.tokenOut, who, at - 1n),
        d.balanceOf(t.tokenOut, who, at),
        d.balanceOf(t.tokenIn, p.address, at - 1n),
        d.balanceOf(t.tokenIn, p.address, at),
      ])
      expect(s).toMatchObject({
        chainId: CHAIN_ID,
        dex,
        pool: p.address,
        blockNumber: at,
        blockHash: rc.blockHash,
        txHash: rc.transactionHash,
        trader: who,
        sender: d.callee,
        recipient: who,
        tokenIn: t.tokenIn,
        tokenOut: t.tokenOut,
        decimalsIn: t.tokenIn === cake.address ? 18 : 6,
        decimalsOut: t.tokenOut === cake.address ? 18 : 6,
      })
      // Exact input: the pool took exactly amountIn; what the trader lost and gained, to the wei.
      expect(s.amountIn).toBe(t.amountIn)
      expect(s.amountIn).toBe(inBefore - inAfter)
      expect(s.amountIn).toBe(poolInAfter - poolInBefore)
      expect(s.amountOut).toBe(outAfter - outBefore)
      expect(s.amountOut > 0n).toBe(true)
      // The state the Swap event reports is the pool's state after the swap.
      const slot0 = await d.slot0(p.address, at)
      expect(s.sqrtPriceX96).toBe(slot0.sqrtPriceX96)
      expect(s.tick).toBe(slot0.tick)
      expect(s.liquidity).toBe(await d.liquidity(p.address, at))
      expect(s.liquidity).toBe(10n ** 15n) // one position, in range throughout
      // PancakeSwap's two extra words (checked for length, not kept by the decoder): this swap's
      // protocol fee, exactly what the pool's protocolFees() accrued in the block, on the input side.
      const ev = decodeEventLog({ abi: pancakeswapV3Abi, eventName: 'Swap', topics: logs[i]!.topics as [Hex, ...Hex[]], data: logs[i]!.data })
      const [f0Before, f1Before] = await d.protocolFees(p.address, at - 1n)
      const [f0After, f1After] = await d.protocolFees(p.address, at)
      expect([ev.args.protocolFeesToken0, ev.args.protocolFeesToken1]).toEqual([f0After - f0Before, f1After - f1Before])
      expect(t.tokenIn === p.token0 ? ev.args.protocolFeesToken0 > 0n && ev.args.protocolFeesToken1 === 0n : ev.args.protocolFeesToken1 > 0n && ev.args.protocolFeesToken0 === 0n).toBe(true)
      expect([ev.args.amount0, ev.args.amount1]).toEqual(t.tokenIn === p.token0 ? [s.amountIn, -s.amountOut] : [-s.amountOut, s.amountIn])
      // The price observation: base token0, quote token1, from the same sqrtPriceX96.
      const price = r.prices[i]!
      expect(price).toMatchObject({ chainId: CHAIN_ID, pool: p.address, blockNumber: at, txHash: rc.transactionHash, base: p.token0, quote: p.token1 })
      expect(price.price).toBe(priceFromSqrtX96(slot0.sqrtPriceX96, p.token0 === cake.address ? 18 : 6, p.token1 === cake.address ? 18 : 6))
    }

    // Around 1 CAKE = 2 USDT: selling CAKE moves it below 2, buying it moves it back up.
    const cakePrice = (i: number) => (p.token0 === cake.address ? r.prices[i]!.price : 1 / r.prices[i]!.price)
    expect(cakePrice(0)).toBeLessThan(2)
    expect(cakePrice(0)).toBeGreaterThan(1.98)
    expect(cakePrice(1)).toBeGreaterThan(cakePrice(0))
    // 2.5 CAKE at ≤2 USDT less the 0.25% fee: under 2.5 · 2 · 0.9975 = 4.9875 USDT (4_987_500 raw),
    // and above 2.5 · 1.98 · 0.9975 = 4.937625 USDT (the price after the swap bounds the average).
    expect(r.swaps[0]!.amountOut).toBeLessThan(4_987_500n)
    expect(r.swaps[0]!.amountOut).toBeGreaterThan(4_937_625n)
  })
})
