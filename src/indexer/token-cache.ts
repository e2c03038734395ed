import type pg from 'pg'
import {
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  BaseError as ViemError,
  erc20Abi,
  hexToBigInt,
  hexToString,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { isDecodeFailure, isRevert, isTransportError } from '../chain/call-errors.ts'
import type { Logger } from 'pino'
import { NATIVE_TOKEN, type PoolInfo, type TokenInfo } from '../domain/types.ts'
import { RetryableError } from '../errors.ts'
import { TRANSFER_TOPIC } from './wallet-flows.ts'
import { V2_SWAP_TOPIC, V2_SYNC_TOPIC } from '../../indexers/uniswap-v2/abi.ts'

/**
 * What is odd about a token, stored in `tokens.flags` (sql/0009_token_flags.sql):
 * - `bytes32_symbol`: symbol() returns bytes32 (MKR-style), not string;
 * - `no_decimals`: decimals unknown (decimals() reverted, is missing, or returned garbage; the
 *   row's `error` says which): amounts stay raw and the token is never priced;
 * - `fee_on_transfer`: a transfer of it delivers less than was sent (see detectFeeOnTransfer).
 */
export type TokenFlag = 'bytes32_symbol' | 'no_decimals' | 'fee_on_transfer'

export type TokenCache = {
  get(address: Address): TokenInfo | undefined
  /** The token's flags; empty for an unknown token or a plain one. */
  flags(address: Address): readonly TokenFlag[]
  /**
   * Reads and stores metadata of the tokens not yet known; once per token, ever. Metadata is read
   * at the latest block (decimals and symbol do not change, and an old block needs an archive
   * node); `atBlock`, the block that first named the tokens, only goes into the logs.
   */
  ensure(addresses: Iterable<Address>, atBlock: bigint): Promise<void>
  /**
   * Flags the tokens as fee-on-transfer (what detectFeeOnTransfer found) and stores the flag;
   * reads the metadata of any not yet known first. Warns once per token: a token already flagged,
   * in this process or in the table, is left alone. `atBlock` (the block of the evidence) only
   * goes into the logs.
   */
  markFeeOnTransfer(addresses: Iterable<Address>, atBlock?: bigint): Promise<void>
}

/** MKR-style tokens: `symbol()` returns bytes32, not string. */
const bytes32SymbolAbi = [
  { type: 'function', name: 'symbol', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'bytes32' }] },
] as const

/** The native currency: no contract to ask, its metadata is known. */
const NATIVE_INFO = { decimals: 18, symbol: 'ETH' } as const

/**
 * Tokens per multicall: three calls each (decimals, symbol as string, symbol as bytes32). A
 * deployless multicall is a contract-creation eth_call whose answer comes back as the created
 * contract's code, so two caps apply: EIP-3860's 49,152-byte initcode (Multicall3's ~5.7 kB plus
 * 576 bytes of encoded calls per token) and EIP-170's 24,576-byte code for the answer (about 544
 * bytes per plain token: 160 for decimals, 224 for a short string symbol, 160 for its bytes32
 * read). 40 tokens answer in ~22 kB; a batch that still overflows (long symbols, long revert
 * reasons) is split in halves, down to single tokens read call by call (see readTokens).
 */
export const MULTICALL_TOKENS = 40

type Read = { info: TokenInfo; error: string | null; flags: TokenFlag[] }

/**
 * Token decimals and symbols for one chain: read once from the chain, kept in the `tokens` table.
 *
 * - The tokens missing in one `ensure` are read together: decimals(), symbol() and symbol() as
 *   bytes32 of up to MULTICALL_TOKENS tokens in ONE eth_call, through viem's deployless multicall
 *   (Multicall3's bytecode sent as call code: no deployed contract needed, so it works on every
 *   chain and on a bare anvil), each call allowed to fail on its own. A multicall the node refuses
 *   for its size is split in halves, down to one token read call by call.
 * - decimals() that reverts, returns no data or returns something that does not decode as a uint8
 *   (the contract answered, just not usefully): recorded with decimals NULL, the reason, and the
 *   flag `no_decimals`. Its amounts stay exact, it is never priced, and a warning names it.
 * - symbol() that fails in any such way: symbol NULL (after trying the bytes32 form, which flags
 *   `bytes32_symbol` when it answers); it never blocks a token.
 * - A transport failure (HTTP, timeout, socket, the node's own internal error or rate limit) is a
 *   RetryableError naming the chain and token, and records nothing: a failed multicall fails every
 *   call in it, so the first token of the batch is named.
 * - A call of the batch that failed with NO data at all (an empty revert, or no code) is read again
 *   on its own, one readContract per call, before a NULL is recorded: inside one multicall a token
 *   that burns all the gas it is given leaves the calls after it out of gas, which also looks like
 *   an empty revert, and a NULL is forever. A revert with data, or data that does not decode, is
 *   the token's own answer and is recorded from the batch.
 * - NATIVE_TOKEN is known without any call: decimals 18, symbol 'ETH'.
 */
export async function createTokenCache(opts: { pool: pg.Pool; client: PublicClient; chainId: number; log: Logger }): Promise<TokenCache> {
  const { pool, client, chainId, log } = opts
  const known = new Map<Address, TokenInfo>()
  const flagsOf = new Map<Address, TokenFlag[]>()
  const r = await pool.query<{ address: string; decimals: number | null; symbol: string | null; flags: string[] | null }>(
    'SELECT address, decimals, symbol, flags FROM tokens WHERE chain_id = $1',
    [chainId],
  )
  for (const t of r.rows) {
    known.set(t.address as Address, { chainId, address: t.address as Address, decimals: t.decimals, symbol: t.symbol })
    if (t.flags && t.flags.length > 0) flagsOf.set(t.address as Address, t.flags as TokenFlag[])
  }
  const native: TokenInfo = { chainId, address: NATIVE_TOKEN, ...NATIVE_INFO }

  const cache: TokenCache = {
    get: (a) => known.get(a) ?? (a === NATIVE_TOKEN ? native : undefined),
    flags: (a) => flagsOf.get(a) ?? [],
    async ensure(addresses, atBlock) {
      const missing = [...new Set(addresses)].filter((a) => !known.has(a))
      if (missing.length === 0) return
      const contracts = missing.filter((a) => a !== NATIVE_TOKEN)
      const read: Read[] = missing.includes(NATIVE_TOKEN) ? [{ info: native, error: null, flags: [] }] : []
      const batches: Address[][] = []
      for (let i = 0; i < contracts.length; i += MULTICALL_TOKENS) batches.push(contracts.slice(i, i + MULTICALL_TOKENS))
      for (const batch of await Promise.all(batches.map((b) => readTokens(client, chainId, b)))) read.push(...batch)
      await pool.query(
        `INSERT INTO tokens (chain_id, address, decimals, symbol, error, flags)
         SELECT $1, a, d, s, e, CASE WHEN f = '' THEN '{}'::text[] ELSE string_to_array(f, ',') END
         FROM unnest($2::text[], $3::int4[], $4::text[], $5::text[], $6::text[]) AS u(a, d, s, e, f)
         ON CONFLICT (chain_id, address) DO UPDATE SET decimals = EXCLUDED.decimals, symbol = EXCLUDED.symbol, error = EXCLUDED.error,
           flags = ARRAY(SELECT DISTINCT x FROM unnest(tokens.flags || EXCLUDED.flags) AS x ORDER BY x), updated_at = now()`,
        [
          chainId,
          read.map((t) => t.info.address),
          read.map((t) => t.info.decimals),
          read.map((t) => t.info.symbol),
          read.map((t) => t.error),
          read.map((t) => t.flags.join(',')),
        ],
      )
      for (const t of read) {
        known.set(t.info.address, t.info)
        if (t.flags.length > 0) flagsOf.set(t.info.address, [...new Set([...(flagsOf.get(t.info.address) ?? []), ...t.flags])].sort())
        // `log` is the indexer's, already bound to the chain's name and id.
        if (t.error) log.warn({ token: t.info.address, err: t.error, block: atBlock.toString() }, 'token decimals() unreadable: amounts kept raw, token unpriced')
      }
    },
    async markFeeOnTransfer(addresses, atBlock) {
      const fresh = [...new Set(addresses)].filter((a) => a !== NATIVE_TOKEN && !cache.flags(a).includes('fee_on_transfer'))
      if (fresh.length === 0) return
      await cache.ensure(fresh, atBlock ?? 0n)
      // RETURNING: only the rows this statement flagged (another process may have done it already).
      const updated = await pool.query<{ address: string }>(
        `UPDATE tokens SET flags = ARRAY(SELECT DISTINCT x FROM unnest(flags || '{fee_on_transfer}'::text[]) AS x ORDER BY x), updated_at = now()
         WHERE chain_id = $1 AND address = ANY($2::text[]) AND NOT ('fee_on_transfer' = ANY(flags))
         RETURNING address`,
        [chainId, fresh],
      )
      const flagged = new Set(updated.rows.map((row) => row.address))
      for (const a of fresh) {
        flagsOf.set(a, [...new Set([...cache.flags(a), 'fee_on_transfer' as const])].sort())
        if (flagged.has(a))
          log.warn({ token: a, symbol: known.get(a)?.symbol ?? null, block: atBlock?.toString() }, 'fee-on-transfer token: its transfers deliver less than was sent')
      }
    },
  }
  return cache
}

type CallResult = { status: 'success'; result: unknown; error?: undefined } | { status: 'failure'; error: Error; result?: undefined }

/**
 * decimals(), symbol() and bytes32 symbol() of every token in one deployless multicall. When the
 * node refuses the multicall for its size (see MULTICALL_TOKENS), the batch is split in halves;
 * a single token is read call by call, where no such cap applies.
 */
async function readTokens(client: PublicClient, chainId: number, addresses: Address[]): Promise<Read[]> {
  const contracts = addresses.flatMap((address) => [
    { address, abi: erc20Abi, functionName: 'decimals' } as const,
    { address, abi: erc20Abi, functionName: 'symbol' } as const,
    { address, abi: bytes32SymbolAbi, functionName: 'symbol' } as const,
  ])
  let results: CallResult[]
  try {
    // batchSize 0: viem does not split it; MULTICALL_TOKENS bounds it.
    results = (await client.multicall({ contracts, allowFailure: true, deployless: true, batchSize: 0 })) as CallResult[]
  } catch (err) {
    throw retryable(chainId, addresses[0] as Address, 'decimals', err)
  }
  // A multicall that failed as a whole fails every call in it with the same error.
  const whole = results[0]?.status === 'failure' && results.every((r) => r.error === results[0]?.error) ? results[0].error : undefined
  if (whole && isTooLarge(whole)) {
    if (addresses.length === 1) return [await readToken(client, chainId, addresses[0] as Address)]
    const half = Math.ceil(addresses.length / 2)
    return [...(await readTokens(client, chainId, addresses.slice(0, half))), ...(await readTokens(client, chainId, addresses.slice(half)))]
  }
  const reads: Read[] = []
  for (const [i, address] of addresses.entries()) {
    const [decimals, symbol, symbol32] = results.slice(3 * i, 3 * i + 3) as [CallResult, CallResult, CallResult]
    const d = decimalsOf(chainId, address, decimals)
    const s = symbolOf(chainId, address, symbol, symbol32)
    if (d === 'empty' || s === 'empty') {
      reads.push(await readToken(client, chainId, address))
      continue
    }
    const flags: TokenFlag[] = []
    if (s.bytes32) flags.push('bytes32_symbol')
    if (d.decimals === null) flags.push('no_decimals')
    reads.push({ info: { chainId, address, decimals: d.decimals, symbol: s.symbol }, error: d.error, flags: flags.sort() })
  }
  return reads
}

/**
 * The node refused a deployless multicall for its size: its calls (initcode) or its answer (the
 * created code). Nodes word it differently (anvil / reth: "CreateContractSizeLimit", geth: "max
 * code size exceeded" / "max initcode size exceeded"), often as a -32603 internal error, which
 * would otherwise pass for a transport fault and be retried forever.
 */
function isTooLarge(err: unknown): boolean {
  const text = (e: unknown): string => {
    const { details, shortMessage, message } = e as { details?: unknown; shortMessage?: unknown; message?: unknown }
    return [details, shortMessage, message].filter((x) => typeof x === 'string').join(' ')
  }
  const pattern = /CreateContractSizeLimit|CreateInitCodeSizeLimit|max (init)?code size|code size exceeded|initcode size/i
  if (err instanceof ViemError) return err.walk((e) => pattern.test(text(e))) !== null
  return pattern.test(text(err))
}

function retryable(chainId: number, token: Address, fn: string, err: unknown): RetryableError {
  return new RetryableError(`reading ${fn}() of a token failed`, { context: { chainId, token }, cause: err })
}

/** A failed call that returned no data at all: an empty revert, no code, or out of gas. */
function isEmptyAnswer(err: unknown): boolean {
  if (!(err instanceof ViemError)) return false
  if (err.walk((e) => e instanceof ContractFunctionZeroDataError)) return true
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null
  return revert !== null && (revert.raw === undefined || revert.raw === '0x')
}

function decimalsFrom(value: unknown): { decimals: number | null; error: string | null } {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 77) return { decimals: value, error: null }
  return { decimals: null, error: `decimals() returned ${String(value)}` }
}

function decimalsOf(chainId: number, address: Address, r: CallResult): { decimals: number | null; error: string | null } | 'empty' {
  if (r.status === 'success') return decimalsFrom(r.result)
  const err = r.error
  if (isTransportError(err)) throw retryable(chainId, address, 'decimals', err)
  if (isEmptyAnswer(err)) return 'empty'
  if (isRevert(err)) return { decimals: null, error: 'decimals() reverted or returned no data' }
  if (isDecodeFailure(err)) return { decimals: null, error: 'decimals() returned data that does not decode as a uint8' }
  // Not understood: retried rather than recorded, since a NULL is forever.
  throw retryable(chainId, address, 'decimals', err)
}

function symbolOf(chainId: number, address: Address, asString: CallResult, asBytes32: CallResult): { symbol: string | null; bytes32: boolean } | 'empty' {
  if (asString.status === 'success') return { symbol: cleanSymbol(asString.result as string), bytes32: false }
  if (isTransportError(asString.error)) throw retryable(chainId, address, 'symbol', asString.error)
  if (asBytes32.status === 'success') {
    const symbol = bytes32Symbol(asBytes32.result as Hex)
    return { symbol, bytes32: symbol !== null }
  }
  if (isTransportError(asBytes32.error)) throw retryable(chainId, address, 'symbol', asBytes32.error)
  if (isEmptyAnswer(asString.error) && isEmptyAnswer(asBytes32.error)) return 'empty'
  return { symbol: null, bytes32: false }
}

/** One token, one readContract per call: the check of a batch answer that came back empty. */
async function readToken(client: PublicClient, chainId: number, address: Address): Promise<Read> {
  const readDecimals = async (): Promise<{ decimals: number | null; error: string | null }> => {
    let value: number
    try {
      value = await client.readContract({ address, abi: erc20Abi, functionName: 'decimals' })
    } catch (err) {
      if (isTransportError(err)) throw retryable(chainId, address, 'decimals', err)
      if (isRevert(err)) return { decimals: null, error: 'decimals() reverted or returned no data' }
      if (isDecodeFailure(err)) return { decimals: null, error: 'decimals() returned data that does not decode as a uint8' }
      throw retryable(chainId, address, 'decimals', err)
    }
    return decimalsFrom(value)
  }

  const readSymbol = async (): Promise<{ symbol: string | null; bytes32: boolean }> => {
    try {
      return { symbol: cleanSymbol(await client.readContract({ address, abi: erc20Abi, functionName: 'symbol' })), bytes32: false }
    } catch (err) {
      if (isTransportError(err)) throw retryable(chainId, address, 'symbol', err)
    }
    try {
      const symbol = bytes32Symbol(await client.readContract({ address, abi: bytes32SymbolAbi, functionName: 'symbol' }))
      return { symbol, bytes32: symbol !== null }
    } catch (err) {
      if (isTransportError(err)) throw retryable(chainId, address, 'symbol', err)
      return { symbol: null, bytes32: false }
    }
  }

  const [decimals, symbol] = await Promise.all([readDecimals(), readSymbol()])
  const flags: TokenFlag[] = []
  if (symbol.bytes32) flags.push('bytes32_symbol')
  if (decimals.decimals === null) flags.push('no_decimals')
  return { info: { chainId, address, decimals: decimals.decimals, symbol: symbol.symbol }, error: decimals.error, flags: flags.sort() }
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

/** A log as the indexer has it (viem's Log narrowed to what the detection reads). */
export type TxLog = { address: Address; topics: readonly Hex[]; data: Hex; logIndex: number; transactionHash: Hex }

export type FeeOnTransferEvidence = {
  token: Address
  /** The known pool that sent or received the short transfer. */
  pool: Address
  txHash: Hex
  /** The Transfer (fee-leg) or Swap (short-credit) log the evidence is about. */
  logIndex: number
  /**
   * - `fee-leg`: next to the token's Transfer to / from the pool, the same sender's Transfer of the
   *   same token to the zero address, 0x…dEaD or the token contract itself: what was sent is the
   *   two legs together, what arrived is the pool leg.
   * - `short-credit`: a Uniswap V2 pair (Swap after its Sync(uint112,uint112); Solidly pairs, whose
   *   Sync is uint256, are not checked) credited itself, in its Swap's amountIn, less than the
   *   token's Transfer logs into it said.
   */
  kind: 'fee-leg' | 'short-credit'
  sent: bigint
  delivered: bigint
}


/**
 * A short credit this small is rounding, not a fee: share-based tokens (stETH) deliver 1–2 wei
 * less than the Transfer says ("the 1-2 wei corner case" in Lido's docs).
 */
const ROUNDING_WEI = 2n

const SINKS = new Set<string>(['0x0000000000000000000000000000000000000000', '0x000000000000000000000000000000000000dead'])

type Transfer = { i: number; log: TxLog; token: Address; from: Address; to: Address; value: bigint }

/**
 * Finds fee-on-transfer tokens in the logs of whole transactions (several transactions may be
 * mixed; each is looked at on its own). `pool(address)` names the known pools and their tokens.
 * Two signs, both exact and both one-sided (no false alarm on a plain ERC20; a fee token that
 * shows neither is missed):
 *
 * 1. fee leg: a Transfer of token T from F into (or out of) a known pool that holds T, with
 *    adjacent to it (log index ±1) a Transfer of T from the same F to a sink (the zero address,
 *    0x…dEaD, T itself). That is how burn-on-transfer tokens (DeflatingERC20, burning 1%) and
 *    "tax" tokens that keep their fee log their transfers. Only sinks count: a router or an
 *    aggregator taking its fee sends it to a fee wallet from the same F, which is no sign. A fee
 *    paid to a marketing wallet is therefore missed.
 * 2. short credit: a V2-style pair's Swap says amountIn of T, and the pair's accounting (balance
 *    minus reserve) makes it exact for a plain token: amountIn = (Transfers of T into the pair −
 *    Transfers of T out of it, since the Sync before this swap's own) + amountOut (+ anything sent
 *    to it in earlier transactions and not yet synced, which only adds). A smaller amountIn means
 *    the pair got less than the Transfer logs said: a token that logs the full value but credits
 *    less (and also a token whose balance shrinks with no log, like a negative rebase: odd too).
 *    A shortfall of up to ROUNDING_WEI is share rounding (stETH), not a fee, and is ignored.
 *    Needs every Transfer of the pair's tokens to or from the pair in the transaction (a receipt's
 *    logs, or eth_getLogs with the pair as `from` and as `to`): a missing outgoing one would make
 *    a plain token look short.
 *
 * Logs are taken as given (the caller filters removed ones); a log with malformed topics or data
 * is skipped, never an alarm.
 */
export function detectFeeOnTransfer(
  logs: readonly TxLog[],
  pool: (address: Address) => Pick<PoolInfo, 'token0' | 'token1' | 'tokens'> | undefined,
): FeeOnTransferEvidence[] {
  const found: FeeOnTransferEvidence[] = []
  const byTx = new Map<string, TxLog[]>()
  for (const l of logs) {
    const tx = l.transactionHash.toLowerCase()
    const list = byTx.get(tx) ?? []
    list.push(l)
    byTx.set(tx, list)
  }
  const tokensOf = (p: Address): Address[] | undefined => {
    const info = pool(p)
    if (!info) return undefined
    return (info.tokens ?? [info.token0, info.token1]).map((t) => t.toLowerCase() as Address)
  }
  for (const txLogs of byTx.values()) {
    const sorted = [...txLogs].sort((a, b) => a.logIndex - b.logIndex)
    const transfers = new Map<number, Transfer>()
    sorted.forEach((log, i) => {
      const t = asTransfer(log, i)
      if (t) transfers.set(i, t)
    })

    // 1. fee legs
    for (const t of transfers.values()) {
      if (SINKS.has(t.to) || t.to === t.token) continue
      const p = tokensOf(t.to)?.includes(t.token) ? t.to : tokensOf(t.from)?.includes(t.token) ? t.from : undefined
      if (!p) continue
      for (const j of [t.i - 1, t.i + 1]) {
        const leg = transfers.get(j)
        if (!leg || Math.abs(leg.log.logIndex - t.log.logIndex) !== 1) continue
        if (leg.token !== t.token || leg.from !== t.from || leg.value === 0n) continue
        if (!SINKS.has(leg.to) && leg.to !== t.token) continue
        found.push({ token: t.token, pool: p, txHash: t.log.transactionHash, logIndex: t.log.logIndex, kind: 'fee-leg', sent: t.value + leg.value, delivered: t.value })
        break
      }
    }

    // 2. short credits of Uniswap V2 pairs (a Solidly pair has no V2 Sync: not checked)
    sorted.forEach((log, s) => {
      if (log.topics[0]?.toLowerCase() !== V2_SWAP_TOPIC || log.topics.length !== 3) return
      const p = log.address.toLowerCase() as Address
      const tokens = tokensOf(p)
      if (!tokens || tokens.length !== 2) return
      const words = wordsOf(log.data)
      if (!words || words.length !== 4) return
      const isSync = (k: number) => sorted[k]?.address.toLowerCase() === p && sorted[k]?.topics[0]?.toLowerCase() === V2_SYNC_TOPIC
      let own = s - 1
      while (own >= 0 && !isSync(own)) own--
      if (own < 0) return // not a pair's swap as we know it: every V2 swap emits its Sync first
      let previous = own - 1
      while (previous >= 0 && !isSync(previous)) previous--
      tokens.forEach((token, k) => {
        let inflow = 0n
        let outflow = 0n
        for (let j = previous + 1; j < own; j++) {
          const t = transfers.get(j)
          if (!t || t.token !== token || t.from === t.to) continue
          if (t.to === p) inflow += t.value
          else if (t.from === p) outflow += t.value
        }
        const amountIn = words[k] as bigint
        const amountOut = words[2 + k] as bigint
        const expected = inflow - outflow + amountOut
        if (inflow > 0n && expected - amountIn > ROUNDING_WEI) {
          found.push({ token, pool: p, txHash: log.transactionHash, logIndex: log.logIndex, kind: 'short-credit', sent: inflow, delivered: inflow - (expected - amountIn) })
        }
      })
    })
  }
  return found
}

function asTransfer(log: TxLog, i: number): Transfer | undefined {
  if (log.topics[0]?.toLowerCase() !== TRANSFER_TOPIC || log.topics.length !== 3) return undefined
  const words = wordsOf(log.data)
  if (!words || words.length !== 1) return undefined
  const from = topicAddress(log.topics[1] as Hex)
  const to = topicAddress(log.topics[2] as Hex)
  if (!from || !to) return undefined
  return { i, log, token: log.address.toLowerCase() as Address, from, to, value: words[0] as bigint }
}

function topicAddress(topic: Hex): Address | undefined {
  if (!/^0x0{24}[0-9a-fA-F]{40}$/.test(topic)) return undefined
  return `0x${topic.slice(26).toLowerCase()}` as Address
}

function wordsOf(data: Hex): bigint[] | undefined {
  if (!/^0x([0-9a-fA-F]{64})*$/.test(data)) return undefined
  const words: bigint[] = []
  for (let o = 2; o < data.length; o += 64) words.push(hexToBigInt(`0x${data.slice(o, o + 64)}`))
  return words
}
