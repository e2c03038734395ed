import {
  createPublicClient,
  encodeAbiParameters,
  encodeDeployData,
  encodeFunctionData,
  getContractAddress,
  http,
  keccak256,
  pad,
  parseAbiParameters,
  toEventSelector,
  toHex,
  type Address,
  type Hex,
} from 'viem'
import type { ConfigInput } from '../config/schema.ts'
import type { DexFamily } from '../domain/types.ts'
import { BaseError } from '../errors.ts'
import { anvilAccount } from './accounts.ts'
import { logStormAbi, logStormBytecode } from './contracts/logStorm.ts'
import { testTokenAbi, testTokenBytecode } from './contracts/testToken.ts'
import { createSender, waitForReceipts, type Sender } from './sender.ts'

/**
 * A local chain holding many swaps of every DEX family, for backfill tests and benches: LogStorm
 * contracts (src/world/contracts/LogStorm.sol) play each family's factory or singleton and pool and
 * emit its exact events in bulk: one pool registration per family, then `swapsPerFamily` swaps,
 * `perTx` to a transaction, by several senders. Event signatures are written out here from the
 * protocols' sources, independently of the decoders' constants, so a wrong constant there fails
 * the decode instead of agreeing with itself.
 */
export type SwapStorm = {
  chainId: number
  rpcUrl: string
  tokens: Address[]
  /** The `dexes` of a dexrisk chain config for these contracts. */
  dexes: NonNullable<ConfigInput['chains'][string]['dexes']>
  /** Swaps emitted per DEX name. */
  swaps: Record<string, number>
  /** Senders of the swap transactions (each one a trader). */
  traders: Address[]
  firstBlock: bigint
  lastBlock: bigint
}

const sig = (s: string): Hex => toEventSelector(s)
const EVENTS = {
  v2PairCreated: sig('PairCreated(address,address,address,uint256)'),
  v2Swap: sig('Swap(address,uint256,uint256,uint256,uint256,address)'),
  v3PoolCreated: sig('PoolCreated(address,address,uint24,int24,address)'),
  v3Swap: sig('Swap(address,address,int256,int256,uint160,uint128,int24)'),
  pancakeSwap: sig('Swap(address,address,int256,int256,uint160,uint128,int24,uint128,uint128)'),
  veloPairCreated: sig('PairCreated(address,address,bool,address,uint256)'),
  aeroPoolCreated: sig('PoolCreated(address,address,bool,address,uint256)'),
  aeroSwap: sig('Swap(address,address,uint256,uint256,uint256,uint256)'),
  v4Initialize: sig('Initialize(bytes32,address,address,uint24,int24,address,uint160,int24)'),
  v4Swap: sig('Swap(bytes32,address,int128,int128,uint160,uint128,int24,uint24)'),
  curveExchange: sig('TokenExchange(address,int128,uint256,int128,uint256)'),
  balancerTokensRegistered: sig('TokensRegistered(bytes32,address[],address[])'),
  balancerSwap: sig('Swap(bytes32,address,address,uint256,uint256)'),
} as const

const topicOf = (a: Address): Hex => pad(a, { size: 32 })
const word = (n: bigint): Hex => pad(toHex(n < 0n ? (1n << 256n) + n : n), { size: 32 })
const words = (...ns: bigint[]): Hex => `0x${ns.map((n) => word(n).slice(2)).join('')}`
/** sqrtPriceX96 of a price of 1 (2^96), a plausible in-range liquidity. */
const SQRT_ONE = 1n << 96n
const LIQUIDITY = 10n ** 24n

type FamilyPlan = {
  family: DexFamily
  name: string
  /** Registration log (from the factory / singleton), or none for a listed pool. */
  register?: { topics: Hex[]; data: Hex }
  /** The swap log; data word `word` counts up per log (a different amount in every swap). */
  swap: { topics: Hex[]; data: Hex; word: number }
  /** Whether the swap is emitted by the registering contract (a singleton) or by a pool contract. */
  singleton: boolean
}

export async function deploySwapStorm(opts: { rpcUrl: string; chainId: number; swapsPerFamily: number; perTx?: number; traders?: number }): Promise<SwapStorm> {
  const perTx = opts.perTx ?? 2_500
  const client = createPublicClient({ transport: http(opts.rpcUrl) })
  const deployer = await createSender({ client, account: anvilAccount(0), chainId: opts.chainId })
  const mined = async (sender: Sender, hashes: Hex[]) => {
    const receipts = await waitForReceipts(client, hashes, { senders: [sender], timeoutMs: 300_000 })
    for (const r of receipts) if (r.status !== 'success') throw new BaseError(`swap storm: tx ${r.transactionHash} reverted`, { context: { chainId: opts.chainId, tx: r.transactionHash } })
    return receipts
  }
  const deploy = async (data: Hex): Promise<Address> => {
    const address = getContractAddress({ from: deployer.account.address, nonce: BigInt(deployer.nextNonce()) }).toLowerCase() as Address
    await mined(deployer, [await deployer.send({ data, gas: 3_000_000n })])
    return address
  }

  const tokens: Address[] = []
  for (const [symbol, decimals] of [['STA', 18], ['STB', 6]] as const)
    tokens.push(await deploy(encodeDeployData({ abi: testTokenAbi, bytecode: testTokenBytecode, args: [`Storm ${symbol}`, symbol, decimals] })))
  const [t0, t1] = tokens[0]! < tokens[1]! ? [tokens[0]!, tokens[1]!] : [tokens[1]!, tokens[0]!]
  const newStorm = (coins: Address[] = []) => deploy(encodeDeployData({ abi: logStormAbi, bytecode: logStormBytecode, args: [coins] }))
  const firstBlock = (await client.getBlockNumber({ cacheTime: 0 })) + 1n

  const plans = async (): Promise<(FamilyPlan & { emitter: Address; factory?: Address; pools?: { address: Address }[] })[]> => {
    const out: (FamilyPlan & { emitter: Address; factory?: Address; pools?: { address: Address }[] })[] = []
    const sender = topicOf(anvilAccount(0).address.toLowerCase() as Address)
    const factoryPool = async (p: Omit<FamilyPlan, 'register' | 'singleton'>, register: (pool: Address) => { topics: Hex[]; data: Hex }) => {
      const factory = await newStorm()
      const pool = await newStorm()
      out.push({ ...p, register: register(pool), singleton: false, emitter: pool, factory })
    }
    await factoryPool({ family: 'uniswap-v2', name: 'storm-v2', swap: { topics: [EVENTS.v2Swap, sender, sender], data: words(1n, 0n, 0n, 1000n), word: 0 } }, (pool) => ({
      topics: [EVENTS.v2PairCreated, topicOf(t0), topicOf(t1)],
      data: encodeAbiParameters(parseAbiParameters('address, uint256'), [pool, 1n]),
    }))
    await factoryPool(
      { family: 'uniswap-v3', name: 'storm-v3', swap: { topics: [EVENTS.v3Swap, sender, sender], data: words(1n, -1000n, SQRT_ONE, LIQUIDITY, 0n), word: 0 } },
      (pool) => ({ topics: [EVENTS.v3PoolCreated, topicOf(t0), topicOf(t1), word(3000n)], data: encodeAbiParameters(parseAbiParameters('int24, address'), [60, pool]) }),
    )
    await factoryPool(
      { family: 'pancakeswap-v3', name: 'storm-pancake', swap: { topics: [EVENTS.pancakeSwap, sender, sender], data: words(1n, -1000n, SQRT_ONE, LIQUIDITY, 0n, 0n, 0n), word: 0 } },
      (pool) => ({ topics: [EVENTS.v3PoolCreated, topicOf(t0), topicOf(t1), word(2500n)], data: encodeAbiParameters(parseAbiParameters('int24, address'), [50, pool]) }),
    )
    await factoryPool({ family: 'velodrome-v1', name: 'storm-velodrome', swap: { topics: [EVENTS.v2Swap, sender, sender], data: words(1n, 0n, 0n, 1000n), word: 0 } }, (pool) => ({
      topics: [EVENTS.veloPairCreated, topicOf(t0), topicOf(t1)],
      data: encodeAbiParameters(parseAbiParameters('bool, address, uint256'), [false, pool, 1n]),
    }))
    await factoryPool({ family: 'aerodrome', name: 'storm-aerodrome', swap: { topics: [EVENTS.aeroSwap, sender, sender], data: words(1n, 0n, 0n, 1000n), word: 0 } }, (pool) => ({
      topics: [EVENTS.aeroPoolCreated, topicOf(t0), topicOf(t1), word(0n)],
      data: encodeAbiParameters(parseAbiParameters('address, uint256'), [pool, 1n]),
    }))
    // Singletons: the registering contract emits the swaps, the pool id as topics[1].
    const manager = await newStorm()
    const v4Id = keccak256(encodeAbiParameters(parseAbiParameters('address, address, uint24, int24, address'), [t0, t1, 3000, 60, '0x0000000000000000000000000000000000000000']))
    out.push({
      family: 'uniswap-v4',
      name: 'storm-v4',
      singleton: true,
      emitter: manager,
      factory: manager,
      register: {
        topics: [EVENTS.v4Initialize, v4Id, topicOf(t0), topicOf(t1)],
        data: encodeAbiParameters(parseAbiParameters('uint24, int24, address, uint160, int24'), [3000, 60, '0x0000000000000000000000000000000000000000', SQRT_ONE, 0]),
      },
      // Swapper-side deltas: the swapper pays token1 (negative) and receives token0 (positive).
      swap: { topics: [EVENTS.v4Swap, v4Id, sender], data: words(1n, -1000n, SQRT_ONE, LIQUIDITY, 0n, 3000n), word: 0 },
    })
    const vault = await newStorm()
    const balancerPool = await newStorm()
    const poolId = `0x${balancerPool.slice(2)}0002${'0'.repeat(20)}` as Hex
    out.push({
      family: 'balancer-v2',
      name: 'storm-balancer',
      singleton: true,
      emitter: vault,
      factory: vault,
      register: {
        topics: [EVENTS.balancerTokensRegistered, poolId],
        data: encodeAbiParameters(parseAbiParameters('address[], address[]'), [
          [t0, t1],
          ['0x0000000000000000000000000000000000000000', '0x0000000000000000000000000000000000000000'],
        ]),
      },
      swap: { topics: [EVENTS.balancerSwap, poolId, topicOf(t0), topicOf(t1)], data: words(1n, 1000n), word: 0 },
    })
    const curvePool = await newStorm([t0, t1])
    out.push({
      family: 'curve',
      name: 'storm-curve',
      singleton: false,
      emitter: curvePool,
      pools: [{ address: curvePool }],
      swap: { topics: [EVENTS.curveExchange, sender], data: words(0n, 1n, 1n, 1000n), word: 1 },
    })
    return out
  }
  const families = await plans()

  // Registrations first (one transaction each), then the swaps, by several senders at once.
  for (const f of families)
    if (f.register)
      await mined(deployer, [
        await deployer.send({ to: f.factory!, data: encodeFunctionData({ abi: logStormAbi, functionName: 'storm', args: [f.register.topics, f.register.data, 0n, stormBase(f.register.data), 1n] }), gas: 200_000n }),
      ])
  const traderCount = opts.traders ?? 4
  const senders = await Promise.all(Array.from({ length: traderCount }, (_, i) => createSender({ client, account: anvilAccount(i + 1), chainId: opts.chainId })))
  const swaps: Record<string, number> = {}
  const pending: { sender: Sender; hash: Hex }[] = []
  let turn = 0
  for (const f of families) {
    swaps[f.name] = 0
    for (let done = 0; done < opts.swapsPerFamily; done += perTx) {
      const count = Math.min(perTx, opts.swapsPerFamily - done)
      const sender = senders[turn++ % senders.length]!
      const data = encodeFunctionData({ abi: logStormAbi, functionName: 'storm', args: [[...f.swap.topics], f.swap.data, BigInt(f.swap.word), BigInt(done + 1), BigInt(count)] })
      pending.push({ sender, hash: await sender.send({ to: f.emitter, data, gas: BigInt(60_000 + count * 4_000) }) })
      swaps[f.name] = (swaps[f.name] ?? 0) + count
    }
  }
  for (const s of senders) {
    const mine = pending.filter((p) => p.sender === s).map((p) => p.hash)
    if (mine.length > 0) await mined(s, mine)
  }
  const lastBlock = await client.getBlockNumber({ cacheTime: 0 })
  return {
    chainId: opts.chainId,
    rpcUrl: opts.rpcUrl,
    tokens: [t0, t1],
    dexes: families.map((f) =>
      f.pools
        ? { family: f.family, name: f.name, pools: f.pools, startBlock: firstBlock }
        : { family: f.family, name: f.name, factory: f.factory!, startBlock: firstBlock },
    ),
    swaps,
    traders: senders.map((s) => s.account.address.toLowerCase() as Address),
    firstBlock,
    lastBlock,
  }
}

/** A registration is emitted once, its first data word unchanged (LogStorm writes base + 0 there). */
function stormBase(data: Hex): bigint {
  return BigInt(`0x${data.slice(2, 66)}`)
}

