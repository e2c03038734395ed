import type pg from 'pg'
import { erc20Abi, hexToString, type Address, type Hex, type PublicClient } from 'viem'
import { isDecodeFailure, isRevert, isTransportError } from '../chain/call-errors.ts'
import type { Logger } from 'pino'
import type { TokenInfo } from '../domain/types.ts'
import { RetryableError } from '../errors.ts'

export type TokenCache = {
  get(address: Address): TokenInfo | undefined
  /**
   * Reads and stores metadata of the tokens not yet known; once per token, ever. Metadata is read
   * at the latest block (decimals and symbol do not change, and an old block needs an archive
   * node); `atBlock`, the block that first named the tokens, only goes into the logs.
   */
  ensure(addresses: Iterable<Address>, atBlock: bigint): Promise<void>
}

/** MKR-style tokens: `symbol()` returns bytes32, not string. */
const bytes32SymbolAbi = [
  { type: 'function', name: 'symbol', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'bytes32' }] },
] as const

/**
 * Token decimals and symbols for one chain: read once from the chain, kept in the `tokens` table.
 *
 * - decimals() that reverts, returns no data or returns something that does not decode as a uint8
 *   (the contract answered, just not usefully): recorded with decimals NULL and the reason. Its
 *   amounts stay exact, it is never priced, and a warning names it.
 * - symbol() that fails in any such way: symbol NULL (after trying the bytes32 form); it never
 *   blocks a token.
 * - A transport failure (HTTP, timeout, socket, the node's own internal error or rate limit) is a
 *   RetryableError naming the chain and token, and records nothing.
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
      const read = await Promise.all(missing.map((a) => readToken(client, chainId, a)))
      await pool.query(
        `INSERT INTO tokens (chain_id, address, decimals, symbol, error)
         SELECT $1, a, d, s, e FROM unnest($2::text[], $3::int4[], $4::text[], $5::text[]) AS u(a, d, s, e)
         ON CONFLICT (chain_id, address) DO UPDATE SET decimals = EXCLUDED.decimals, symbol = EXCLUDED.symbol, error = EXCLUDED.error, updated_at = now()`,
        [chainId, read.map((t) => t.info.address), read.map((t) => t.info.decimals), read.map((t) => t.info.symbol), read.map((t) => t.error)],
      )
      for (const t of read) {
        known.set(t.info.address, t.info)
        // `log` is the indexer's, already bound to the chain's name and id.
        if (t.error) log.warn({ token: t.info.address, err: t.error, block: atBlock.toString() }, 'token decimals() unreadable: amounts kept raw, token unpriced')
      }
    },
  }
}

async function readToken(client: PublicClient, chainId: number, address: Address): Promise<{ info: TokenInfo; error: string | null }> {
  const retryable = (fn: string, err: unknown) => new RetryableError(`reading ${fn}() of a token failed`, { context: { chainId, token: address }, cause: err })

  const readDecimals = async (): Promise<{ decimals: number | null; error: string | null }> => {
    let value: number
    try {
      value = await client.readContract({ address, abi: erc20Abi, functionName: 'decimals' })
    } catch (err) {
      if (isTransportError(err)) throw retryable('decimals', err)
      if (isRevert(err)) return { decimals: null, error: 'decimals() reverted or returned no data' }
      if (isDecodeFailure(err)) return { decimals: null, error: 'decimals() returned data that does not decode as a uint8' }
      // Not understood: retried rather than recorded, since a NULL is forever.
      throw retryable('decimals', err)
    }
    if (Number.isInteger(value) && value >= 0 && value <= 77) return { decimals: value, error: null }
    return { decimals: null, error: `decimals() returned ${String(value)}` }
  }

  const readSymbol = async (): Promise<string | null> => {
    try {
      return cleanSymbol(await client.readContract({ address, abi: erc20Abi, functionName: 'symbol' }))
    } catch (err) {
      if (isTransportError(err)) throw retryable('symbol', err)
    }
    try {
      const raw = await client.readContract({ address, abi: bytes32SymbolAbi, functionName: 'symbol' })
      return bytes32Symbol(raw)
    } catch (err) {
      if (isTransportError(err)) throw retryable('symbol', err)
      return null
    }
  }

  const [decimals, symbol] = await Promise.all([readDecimals(), readSymbol()])
  return { info: { chainId, address, decimals: decimals.decimals, symbol }, error: decimals.error }
}

/** NUL characters cannot be stored in a Postgres text column; an empty symbol is no symbol. */
function cleanSymbol(s: string): string | null {
  const cleaned = s.replaceAll('\0', '').trim()
  return cleaned === '' ? null : cleaned
}

/** A bytes32 symbol: the text before the trailing zero bytes, if it is valid UTF-8. */
function bytes32Symbol(raw: Hex): string | null {
  let text: string
  try {
    text = hexToString(raw, { size: 32 })
  } catch {
    return null
  }
  if (text.includes('\uFFFD')) return null
  return cleanSymbol(text)
}

