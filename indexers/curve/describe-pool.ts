import { zeroAddress, type Address, type PublicClient } from 'viem'
import { isRevert, isTransportError } from '../../src/chain/call-errors.ts'
import { NATIVE_TOKEN, type DexRef, type PoolInfo } from '../../src/domain/types.ts'
import { BaseError, RetryableError } from '../../src/errors.ts'
import { CURVE_ETH_ADDRESS, curveLegacyPoolReadAbi, curvePoolReadAbi } from './abi.ts'

/** More coins than any Curve pool has (stableswap-ng: 8): a bound on the `coins(i)` loop. */
const MAX_COINS = 8

/** A configured pool whose coins cannot be read: not a Curve pool, or the wrong address. */
export class CurvePoolError extends BaseError {
  override name = 'CurvePoolError'
}

/**
 * Reads a configured Curve pool's coins at `block` (config-given `coins` / `underlying` win):
 *
 * - coins: `coins(i)` for i = 0, 1, … until it reverts, with the uint256 index of every pool since
 *   2021, else the int128 index of the first pools (3pool, compound, y, busd …).
 * - underlying coins (what TokenExchangeUnderlying ids index), first that answers:
 *   a metapool's `base_pool()` (curve-contract metapools) or `BASE_POOL()` (stableswap-ng
 *   metapools), giving [coins[0], ...base pool's coins]; else a lending pool's
 *   `underlying_coins(i)` (uint256, then int128). None: undefined (factory metapools expose
 *   neither; name their `underlying` in the config).
 *
 * Native ether (0xEeee…EEeE in old pools) becomes NATIVE_TOKEN; every address is lowercased.
 * A transport fault is a RetryableError naming the chain and pool; a contract that answers
 * `coins(i)` for fewer than two coins is a CurvePoolError (fatal: the config names a non-pool).
 */
export async function describeCurvePool(
  client: PublicClient,
  pool: { address: Address; coins?: Address[]; underlying?: Address[] },
  dex: DexRef,
  chainId: number,
  block: bigint,
): Promise<PoolInfo> {
  const address = pool.address.toLowerCase() as Address
  const reader = new Reader(client, chainId, address, block)
  const tokens = pool.coins ? pool.coins.map(normalize) : await reader.coins(address)
  if (tokens.length < 2)
    throw new CurvePoolError(`configured curve pool answers coins(i) for ${tokens.length} coin(s), not a Curve pool`, { context: { chainId, pool: address, block } })
  const underlying = pool.underlying ? pool.underlying.map(normalize) : await reader.underlying(tokens)
  const [token0, token1] = tokens as [Address, Address, ...Address[]]
  return {
    chainId,
    dex,
    address,
    token0,
    token1,
    fee: null,
    tokens,
    ...(underlying ? { underlying } : {}),
    createdBlock: block,
  }
}

function normalize(a: Address): Address {
  const lower = a.toLowerCase() as Address
  return lower === CURVE_ETH_ADDRESS.toLowerCase() ? NATIVE_TOKEN : lower
}

type IndexedGetter = 'coins' | 'underlying_coins'

class Reader {
  constructor(
    private readonly client: PublicClient,
    private readonly chainId: number,
    private readonly pool: Address,
    private readonly block: bigint,
  ) {}

  /** `coins(i)` of `target` (the pool or its base pool) until it reverts. */
  async coins(target: Address): Promise<Address[]> {
    return this.indexed(target, 'coins')
  }

  async underlying(coins: Address[]): Promise<Address[] | undefined> {
    for (const fn of ['base_pool', 'BASE_POOL'] as const) {
      const base = await this.call(() => this.client.readContract({ address: this.pool, abi: curvePoolReadAbi, functionName: fn, blockNumber: this.block }), `${fn}()`)
      if (base === undefined || base.toLowerCase() === zeroAddress) continue
      const baseCoins = await this.coins(base.toLowerCase() as Address)
      if (baseCoins.length < 2)
        throw new CurvePoolError(`the metapool's ${fn}() ${base.toLowerCase()} answers coins(i) for ${baseCoins.length} coin(s)`, { context: { chainId: this.chainId, pool: this.pool, block: this.block } })
      return [coins[0] as Address, ...baseCoins]
    }
    const lending = await this.indexed(this.pool, 'underlying_coins')
    return lending.length >= 2 ? lending : undefined
  }

  /** getter(i) for i = 0, 1, …: the uint256 form, else (reverting at i = 0) the int128 form. */
  private async indexed(target: Address, fn: IndexedGetter): Promise<Address[]> {
    for (const abi of [curvePoolReadAbi, curveLegacyPoolReadAbi]) {
      const out: Address[] = []
      for (let i = 0; i < MAX_COINS; i++) {
        const a = await this.call(
          () => this.client.readContract({ address: target, abi, functionName: fn, args: [BigInt(i)], blockNumber: this.block }) as Promise<Address>,
          `${fn}(${i})`,
        )
        if (a === undefined || a.toLowerCase() === zeroAddress) break
        out.push(normalize(a))
      }
      if (out.length > 0) return out
    }
    return []
  }

  /** The call's answer; undefined when the contract reverts (or has no such function). */
  private async call<T>(fn: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await fn()
    } catch (err) {
      if (isTransportError(err) || !isRevert(err))
        throw new RetryableError(`reading ${what} of a curve pool failed`, { context: { chainId: this.chainId, pool: this.pool, block: this.block }, cause: err })
      return undefined
    }
  }
}
