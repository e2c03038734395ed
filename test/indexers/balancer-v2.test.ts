import { readFileSync } from 'node:fs'
import { encodeAbiParameters, type Address, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  BALANCER_V2_POOL_REGISTERED_TOPIC,
  BALANCER_V2_SWAP_TOPIC,
  BALANCER_V2_TOKENS_REGISTERED_TOPIC,
  balancerV2VaultAbi,
} from '../../indexers/balancer-v2/abi.ts'
import { balancerPoolAddress, balancerV2 } from '../../indexers/balancer-v2/family.ts'
import type { RawLog } from '../../src/domain/log.ts'
import type { PoolInfo, TokenInfo } from '../../src/domain/types.ts'
import { DecodeError } from '../../src/errors.ts'
import { decodeRange, discoverPools, poolLogs } from '../../src/indexer/decode-range.ts'
import type { DecodeContext } from '../../src/indexer/family.ts'
import { families } from '../../src/indexer/families.ts'
import { encodeLog } from '../setup/logs.ts'

type JsonLog = Omit<RawLog, 'blockNumber'> & { blockNumber: string }
type SwapFixture = {
  source: string
  chainId: number
  pool: { id: Address; address: Address; tokens: Address[] }
  tokens: { address: Address; symbol: string; decimals: number }[]
  txFrom: Address
  log: JsonLog
  expected: { tokenIn: Address; tokenOut: Address; amountIn: string; amountOut: string; decimalsIn: number; decimalsOut: number }
}
type RegisteredFixture = { source: string; chainId: number; log: JsonLog; expected: { poolId: Address; poolAddress: Address; tokens: Address[] } }

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/balancer-v2/${name}.json`, import.meta.url), 'utf8')) as T
const rawLog = (l: JsonLog): RawLog => ({ ...l, blockNumber: BigInt(l.blockNumber) })

const VAULT = '0xba12222222228d8ba445958a75a0704d566bf2c8' as Address
const TRADER = '0x1111111111111111111111111111111111111111' as Address
const WETH = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2' as Address
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' as Address
const DAI = '0x6b175474e89094c44da98b954eedeac495271d0f' as Address
// B-50USDC-50WETH (pool id from the Vault; tokens sorted by address as Balancer pools register them).
const POOL_ID = '0x96646936b91d6b9d7d0c47c496afbf3d6ec7b6f8000200000000000000000019' as Address
const dex = { family: 'balancer-v2', name: 'balancer-v2' } as const
const pool: PoolInfo = { chainId: 1, dex, address: POOL_ID, token0: USDC, token1: WETH, fee: null, tokens: [USDC, WETH], singleton: VAULT, createdBlock: 12_272_146n }

const tokens = new Map<Address, TokenInfo>([
  [WETH, { chainId: 1, address: WETH, decimals: 18, symbol: 'WETH' }],
  [USDC, { chainId: 1, address: USDC, decimals: 6, symbol: 'USDC' }],
])
const ctx = (chainId: number, known: Map<Address, TokenInfo>, txFrom: Map<Hex, Address>): DecodeContext => ({
  chainId,
  token: (a) => known.get(a),
  txFrom: (h) => txFrom.get(h),
  blockTime: () => 1_700_000_000,
})
const mainnetCtx = (...logs: RawLog[]) => ctx(1, tokens, new Map(logs.map((l) => [l.transactionHash, TRADER])))

const swapLog = (args: { poolId?: Hex; tokenIn: Address; tokenOut: Address; amountIn: bigint; amountOut: bigint }, extra: { logIndex?: number; blockNumber?: bigint; address?: Address } = {}) =>
  encodeLog({ abi: balancerV2VaultAbi, eventName: 'Swap', args: { poolId: POOL_ID, ...args }, address: extra.address ?? VAULT, logIndex: extra.logIndex, blockNumber: extra.blockNumber })
const registeredLog = (poolId: Hex, registered: Address[], extra: { blockNumber?: bigint; logIndex?: number } = {}) =>
  encodeLog({ abi: balancerV2VaultAbi, eventName: 'TokensRegistered', args: { poolId, tokens: registered, assetManagers: registered.map(() => '0x0000000000000000000000000000000000000000') }, address: VAULT, ...extra })

const where = (log: RawLog, chainId: number) => `(chain ${chainId}, block ${log.blockNumber}, tx ${log.transactionHash}, log ${log.logIndex}, pool ${log.address})`

describe('balancer-v2 family', () => {
  it("has the Vault's event selectors and is registered as a singleton family", () => {
    // keccak256 of the IVault.sol signatures (balancer-v2-monorepo pkg/interfaces/contracts/vault/IVault.sol).
    expect(BALANCER_V2_SWAP_TOPIC).toBe('0x2170c741c41531aec20e7c107c24eecfdd15e69c9bb0a8dd37b1840b9e0b207b')
    expect(BALANCER_V2_TOKENS_REGISTERED_TOPIC).toBe('0xf5847d3f2197b16cdcd2098ec95d0905cd1abdaf415f07bb7cef2bba8ac5dec4')
    expect(BALANCER_V2_POOL_REGISTERED_TOPIC).toBe('0x3c13bc30b8e878c53fd2a36b679409c073afd75950be43d8858768e956fbc20e')
    expect(families['balancer-v2']).toBe(balancerV2)
    expect(balancerV2).toMatchObject({ family: 'balancer-v2', discovery: 'singleton', poolCreatedTopic: BALANCER_V2_TOKENS_REGISTERED_TOPIC, poolTopics: [BALANCER_V2_SWAP_TOPIC] })
  })

  it("reads a pool id's first 20 bytes as the pool contract", () => {
    expect(balancerPoolAddress(POOL_ID)).toBe('0x96646936b91d6b9d7d0c47c496afbf3d6ec7b6f8')
    expect(balancerPoolAddress('0x3DE27EFA2F1AA663AE5D458857E731C129069F29000200000000000000000588')).toBe('0x3de27efa2f1aa663ae5d458857e731c129069f29')
    expect(() => balancerPoolAddress('0x3de27efa2f1aa663ae5d458857e731c129069f29')).toThrow(/not a Balancer pool id/)
  })

  describe('mainnet fixtures', () => {
    it('decodes the real AAVE → wstETH Vault Swap to the wei', () => {
      const f = fixture<SwapFixture>('mainnet-swap-aave-for-wsteth')
      expect(f.source).toMatch(/^KyberNetwork\/kyberswap-dex-lib /)
      const log = rawLog(f.log)
      const p: PoolInfo = { chainId: 1, dex, address: f.pool.id, token0: f.pool.tokens[0]!, token1: f.pool.tokens[1]!, fee: null, tokens: f.pool.tokens, singleton: VAULT, createdBlock: 0n }
      expect(balancerPoolAddress(f.pool.id)).toBe(f.pool.address)
      const known = new Map(f.tokens.map((t) => [t.address, { chainId: 1, address: t.address, decimals: t.decimals, symbol: t.symbol }]))
      const pools = new Map([[p.address, p]])
      const singletons = new Set([VAULT])
      expect(poolLogs([log], pools, singletons)).toEqual([log])
      const r = decodeRange([log], pools, ctx(1, known, new Map([[log.transactionHash, f.txFrom]])), singletons)
      expect(r.rejected).toEqual([])
      // A Swap's amounts are an execution price, never a price observation.
      expect(r.prices).toEqual([])
      // data word 0 = 0x932eabea11d74a65 = 10605603194314115685 (10.6056… AAVE in),
      // data word 1 = 0x064454de48666cab = 451579176318037163 (0.45157… wstETH out): ≈ 0.04258 wstETH per AAVE.
      expect(BigInt(f.expected.amountIn)).toBe(0x932eabea11d74a65n)
      expect(BigInt(f.expected.amountOut)).toBe(0x064454de48666cabn)
      expect(r.swaps).toEqual([
        {
          chainId: 1,
          dex,
          pool: f.pool.id,
          blockNumber: 25_634_952n, // 0x1872888
          blockHash: f.log.blockHash,
          blockTime: 1_700_000_000,
          txHash: '0x313952217900e31ae29f61d6f7fcb5c1406584824aa3f8f1816a03463c76838d',
          logIndex: 116, // 0x74
          trader: f.txFrom,
          sender: f.txFrom,
          recipient: f.txFrom,
          tokenIn: f.expected.tokenIn,
          tokenOut: f.expected.tokenOut,
          amountIn: 10_605_603_194_314_115_685n,
          amountOut: 451_579_176_318_037_163n,
          decimalsIn: 18,
          decimalsOut: 18,
        },
      ])
    })

    it('decodes the real TokensRegistered into a pool keyed by its id, with its tokens in order', () => {
      const f = fixture<RegisteredFixture>('mainnet-tokens-registered')
      const log = rawLog(f.log)
      const factories = new Map([[VAULT, { dex, family: balancerV2 }]])
      const pools = discoverPools([log], factories, 1)
      // data: offsets 0x40 and 0xa0 (= 0x40 + 32·3), tokens length 2, the two tokens, asset managers length 2, two zeros.
      expect(pools).toEqual([
        {
          chainId: 1,
          dex,
          address: f.expected.poolId,
          token0: '0x194ebd173f6cdace046c53eacce9b953f28411d1',
          token1: '0x2a8f5649de50462ff9699ccc75a2fb0b53447503',
          fee: null,
          tokens: f.expected.tokens,
          singleton: VAULT,
          createdBlock: log.blockNumber,
        },
      ])
      expect(balancerPoolAddress(pools[0]!.address)).toBe(f.expected.poolAddress)
    })
  })

  describe('constructed logs', () => {
    it('decodes Swaps in both directions, with the transaction sender as trader, sender and recipient', () => {
      const sell = swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 15n * 10n ** 17n, amountOut: 3_748_125_000n }, { logIndex: 3 })
      const buy = swapLog({ tokenIn: USDC, tokenOut: WETH, amountIn: 2_500_000_000n, amountOut: 999_000_000_000_000_000n }, { logIndex: 4 })
      const r = decodeRange([sell, buy], new Map([[POOL_ID, pool]]), mainnetCtx(sell, buy), new Set([VAULT]))
      expect(r.rejected).toEqual([])
      expect(r.prices).toEqual([])
      expect(r.swaps.map((s) => [s.tokenIn, s.amountIn, s.decimalsIn, s.tokenOut, s.amountOut, s.decimalsOut, s.trader, s.sender, s.recipient])).toEqual([
        [WETH, 1_500_000_000_000_000_000n, 18, USDC, 3_748_125_000n, 6, TRADER, TRADER, TRADER],
        [USDC, 2_500_000_000n, 6, WETH, 999_000_000_000_000_000n, 18, TRADER, TRADER, TRADER],
      ])
    })

    it("decodes a composable stable pool's BPT swap (a join through the Vault) as a swap", () => {
      const bptPoolId = '0x79c58f70905f734641735bc61e45c19dd9ad60bc0000000000000000000004e7' as Hex
      const bpt = balancerPoolAddress(bptPoolId)
      const composable: PoolInfo = { chainId: 1, dex, address: bptPoolId, token0: DAI, token1: bpt, fee: null, tokens: [DAI, bpt, USDC], singleton: VAULT, createdBlock: 1n }
      const join = swapLog({ poolId: bptPoolId, tokenIn: USDC, tokenOut: bpt, amountIn: 1_000_000_000n, amountOut: 987_654_321_000_000_000_000n })
      const r = balancerV2.decodePoolLog(join, composable, mainnetCtx(join), new Map())
      expect(r.swap).toMatchObject({ pool: bptPoolId, tokenIn: USDC, tokenOut: bpt, amountIn: 1_000_000_000n, amountOut: 987_654_321_000_000_000_000n, decimalsOut: null })
      expect(r.price).toBeUndefined()
    })

    it("routes Vault logs by pool id and ignores other pools' and non-Vault logs", () => {
      const other = '0x0b09dea16768f0799065c475be02919503cb2a350002000000000000000000fe' as Hex
      const ours = swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 1n, amountOut: 2n }, { logIndex: 1 })
      const otherPool = swapLog({ poolId: other, tokenIn: WETH, tokenOut: DAI, amountIn: 1n, amountOut: 2n }, { logIndex: 2 })
      const notVault = swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 1n, amountOut: 2n }, { logIndex: 3, address: '0x00000000000000000000000000000000000000aa' })
      const registered = registeredLog(POOL_ID, [USDC, WETH], { logIndex: 4 })
      const pools = new Map([[POOL_ID, pool]])
      expect(poolLogs([ours, otherPool, notVault, registered], pools, new Set([VAULT]))).toEqual([ours])
    })

    it('decodes TokensRegistered of 3 tokens and skips the one-token registration of a ManagedPool addToken', () => {
      const three = registeredLog(POOL_ID.toUpperCase().replace('0X', '0x') as Hex, [DAI, USDC, WETH], { blockNumber: 77n })
      expect(balancerV2.decodePoolCreated(three, dex, 1)).toEqual({
        chainId: 1, dex, address: POOL_ID, token0: DAI, token1: USDC, fee: null, tokens: [DAI, USDC, WETH], singleton: VAULT, createdBlock: 77n,
      })
      expect(balancerV2.decodePoolCreated(registeredLog(POOL_ID, [DAI]), dex, 1)).toBeNull()
    })
  })

  describe('malformed logs', () => {
    it('rejects a Swap of a token the pool did not register, naming chain, block, tx, log and emitter', () => {
      const bad = swapLog({ tokenIn: DAI, tokenOut: WETH, amountIn: 1n, amountOut: 1n }, { blockNumber: 123n, logIndex: 9 })
      const r = decodeRange([bad], new Map([[POOL_ID, pool]]), mainnetCtx(bad), new Set([VAULT]))
      expect(r.swaps).toEqual([])
      expect(r.rejected).toHaveLength(1)
      expect(r.rejected[0]!.error).toBeInstanceOf(DecodeError)
      // Through decodeRange, the error names the pool by its id, and the Vault that emitted the log.
      expect(r.rejected[0]!.error.message.split('\n')[0]).toBe(
        `Swap token ${DAI} is not a registered token of pool ${POOL_ID} ${where(bad, 1).replace(`pool ${bad.address}`, `pool ${POOL_ID} of ${bad.address}`)}`,
      )
    })

    it('throws for a Swap with short data, a missing topic, a non-address token topic, or a token swapped for itself', () => {
      const good = swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 5n, amountOut: 6n }, { blockNumber: 50n, logIndex: 2 })
      const cases: [RawLog, string][] = [
        [{ ...good, data: good.data.slice(0, 66) as Hex }, 'undecodable Swap'],
        [{ ...good, data: `${good.data.slice(0, -1)}z` as Hex }, 'undecodable Swap'],
        [{ ...good, topics: good.topics.slice(0, 3) }, 'undecodable Swap'],
        [{ ...good, topics: [good.topics[0]!, good.topics[1]!, `0x01${good.topics[2]!.slice(4)}` as Hex, good.topics[3]!] }, 'undecodable Swap'],
        [swapLog({ tokenIn: WETH, tokenOut: WETH, amountIn: 1n, amountOut: 1n }, { blockNumber: 50n, logIndex: 2 }), `Swap of ${WETH} for itself`],
        [{ ...good, topics: [good.topics[0]!, `0x${'00'.repeat(32)}` as Hex, good.topics[2]!, good.topics[3]!] }, `Swap of pool 0x${'00'.repeat(32)}, not of ${POOL_ID}`],
      ]
      for (const [log, msg] of cases) {
        const err = catchError(() => balancerV2.decodePoolLog(log, pool, mainnetCtx(log), new Map()))
        expect(err).toBeInstanceOf(DecodeError)
        expect(err.message.split('\n')[0]).toBe(`${msg} ${where(log, 1)}`)
      }
    })

    it('throws for a Swap whose transaction sender is unknown', () => {
      const log = swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 5n, amountOut: 6n })
      const err = catchError(() => balancerV2.decodePoolLog(log, pool, ctx(1, tokens, new Map()), new Map()))
      expect(err).toBeInstanceOf(DecodeError)
      expect(err.message.split('\n')[0]).toBe(`no transaction sender or block time for Swap ${where(log, 1)}`)
    })

    it('throws for a TokensRegistered that the Vault cannot have emitted', () => {
      const good = registeredLog(POOL_ID, [USDC, WETH], { blockNumber: 9n, logIndex: 4 })
      const zero = '0x0000000000000000000000000000000000000000' as Address
      const encode = (a: readonly Address[], m: readonly Address[]) => encodeAbiParameters([{ type: 'address[]' }, { type: 'address[]' }], [a, m])
      const cases: RawLog[] = [
        { ...good, data: good.data.slice(0, -64) as Hex }, // one word short
        { ...good, topics: good.topics.slice(0, 1) }, // no pool id
        { ...good, data: encode([USDC, WETH], [zero]) }, // asset managers not one per token
        { ...good, data: encode([USDC, USDC], [zero, zero]) }, // a token twice
        { ...good, data: encode([USDC, zero], [zero, zero]) }, // the zero address
        { ...good, data: `${good.data.slice(0, 2 + 3 * 64)}01${good.data.slice(2 + 3 * 64 + 2)}` as Hex }, // a token word wider than an address
        { ...good, data: `${good.data.slice(0, 2 + 2 * 64)}${'f'.repeat(64)}${good.data.slice(2 + 3 * 64)}` as Hex }, // absurd length
      ]
      for (const log of cases) {
        const err = catchError(() => balancerV2.decodePoolCreated(log, dex, 1))
        expect(err).toBeInstanceOf(DecodeError)
        expect(err.message.split('\n')[0]).toBe(`undecodable TokensRegistered ${where(log, 1)}`)
      }
    })
  })
})

function catchError(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

/** One ABI word of `v` (a crafted log's data). */
const word = (v: bigint): string => BigInt.asUintN(256, v).toString(16).padStart(64, '0')

describe('balancer-v2 amounts no Vault swap can have', () => {
  const swapWith = (amountIn: bigint, amountOut: bigint, logIndex: number): RawLog => ({
    ...swapLog({ tokenIn: WETH, tokenOut: USDC, amountIn: 1n, amountOut: 1n }, { logIndex }),
    data: `0x${word(amountIn)}${word(amountOut)}`,
  })
  const at = (l: RawLog) => `(chain 1, block 100, tx ${l.transactionHash}, log ${l.logIndex}, pool ${POOL_ID} of ${VAULT})`
  const WHY = "the Vault keeps a pool's token balance in 112 bits"

  it('rejects a 0-for-0 Swap and one moving nothing on a side, instead of recording it', () => {
    const zero = swapWith(0n, 0n, 1)
    const noOut = swapWith(10n ** 18n, 0n, 2)
    const r = decodeRange([zero, noOut], new Map([[POOL_ID, pool]]), mainnetCtx(zero, noOut), new Set([VAULT]))
    expect(r.swaps).toEqual([])
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `Swap amountIn is 0 (a Vault swap moving nothing is no trade) ${at(zero)}`,
      `Swap amountOut is 0 (a Vault swap moving nothing is no trade) ${at(noOut)}`,
    ])
  })

  it('rejects amounts of 2^255, 2^256 − 1 and 2^112, naming the field and its value; decodes 2^112 − 1', () => {
    const a = swapWith(2n ** 255n, 3_000_000_000n, 1)
    const b = swapWith(10n ** 18n, 2n ** 256n - 1n, 2)
    const c = swapWith(2n ** 112n, 1n, 3)
    const edge = swapWith(2n ** 112n - 1n, 2n ** 112n - 1n, 4)
    const r = decodeRange([a, b, c, edge], new Map([[POOL_ID, pool]]), mainnetCtx(a, b, c, edge), new Set([VAULT]))
    expect(r.rejected.map((x) => x.error.message.split('\n')[0])).toEqual([
      `Swap amountIn 57896044618658097711785492504343953926634992332820282019728792003956564819968 is out of range: not below 2^112 (${WHY}) ${at(a)}`,
      `Swap amountOut 115792089237316195423570985008687907853269984665640564039457584007913129639935 is out of range: not below 2^112 (${WHY}) ${at(b)}`,
      `Swap amountIn 5192296858534827628530496329220096 is out of range: not below 2^112 (${WHY}) ${at(c)}`,
    ])
    expect(r.swaps.map((s) => [s.logIndex, s.tokenIn, s.amountIn, s.tokenOut, s.amountOut])).toEqual([[4, WETH, 5192296858534827628530496329220095n, USDC, 5192296858534827628530496329220095n]])
  })
})
