import type pg from 'pg'
import {
  BaseError as ViemError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  erc20Abi,
  type Address,
  type PublicClient,
} from 'viem'
import type { Logger } from 'pino'
import type { TokenInfo } from '../domain/types.ts'
import { RetryableError } from '../errors.ts'

export type TokenCache = {
  get(address: Address): TokenInfo | undefined
  /** Reads and stores metadata of the tokens not yet known; once per token, ever. */
  ensure(addresses: Iterable<Address>, atBlock: bigint): Promise<void>
}

/**
 * Token decimals and symbols for one chain: read once from the chain, kept in the `tokens` table.
 * A token whose decimals() reverts (or is missing) is recorded with decimals NULL and the reason:
 * its amounts stay exact, it is never priced, and a warning names it. A transport failure is
 * retryable and records nothing.
 */
export async function createTokenCache(opts: { pool: pg.Pool; client: PublicClient; chainId: number; log: Logger }): Promise<TokenCache> {
  const { pool, client, chainId, log } = opts
  const known = new Map<Address, TokenInfo>()
  const r = await pool.query<{ address: string; decimals: number | null; symbol: string | null }>(
    'SELECT address, decimals, symbol FROM tokens WHERE chain_id = $1',
    [chainId],
  )
  for (const t of r.rows) known.set(t.address as Address, { chainId, address: t.address as Address, decimals: t.decimals, symbol: t.symbol })

  return {
    get: (a) => known.get(a),
    async ensure(addresses, atBlock) {
      const missing = [...new Set(addresses)].filter((a) => !known.has(a))
      if (missing.length === 0) return
      const read = await Promise.all(missing.map((a) => readToken(client, chainId, a, atBlock)))
      await pool.query(
        `INSERT INTO tokens (chain_id, address, decimals, symbol, error)
         SELECT $1, a, d, s, e FROM unnest($2::text[], $3::int4[], $4::text[], $5::text[]) AS u(a, d, s, e)
         ON CONFLICT (chain_id, address) DO UPDATE SET decimals = EXCLUDED.decimals, symbol = EXCLUDED.symbol, error = EXCLUDED.error, updated_at = now()`,
        [chainId, read.map((t) => t.info.address), read.map((t) => t.info.decimals), read.map((t) => t.info.symbol), read.map((t) => t.error)],
      )
      for (const t of read) {
        known.set(t.info.address, t.info)
        // `log` is the indexer's, already bound to the chain's name and id.
        if (t.error) log.warn({ token: t.info.address, err: t.error }, 'token decimals() unreadable: amounts kept raw, token unpriced')
      }
    },
  }
}

async function readToken(client: PublicClient, chainId: number, address: Address, blockNumber: bigint): Promise<{ info: TokenInfo; error: string | null }> {
  const call = async <T>(fn: 'decimals' | 'symbol'): Promise<{ ok: true; value: T } | { ok: false; reason: string }> => {
    try {
      const value = (await client.readContract({ address, abi: erc20Abi, functionName: fn, blockNumber })) as T
      return { ok: true, value }
    } catch (err) {
      if (isRevert(err)) return { ok: false, reason: `${fn}() reverted or returned no data` }
      throw new RetryableError(`reading ${fn}() failed`, { context: { chainId, token: address, block: blockNumber }, cause: err })
    }
  }
  const [decimals, symbol] = await Promise.all([call<number>('decimals'), call<string>('symbol')])
  const d = decimals.ok && Number.isInteger(decimals.value) && decimals.value >= 0 && decimals.value <= 77 ? decimals.value : null
  const error = decimals.ok ? (d === null ? `decimals() returned ${String(decimals.value)}` : null) : decimals.reason
  return { info: { chainId, address, decimals: d, symbol: symbol.ok ? symbol.value : null }, error }
}

function isRevert(err: unknown): boolean {
  if (!(err instanceof ViemError)) return false
  const hit = err.walk((e) => e instanceof ContractFunctionRevertedError || e instanceof ContractFunctionZeroDataError)
  return hit !== null && hit !== undefined
}
