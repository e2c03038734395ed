import type { Address, Hex } from 'viem'
import type { RawLog } from '../domain/log.ts'
import type { WalletTransfer } from '../domain/types.ts'
import { DecodeError } from '../errors.ts'
import { logDecodeError } from './log-decode-error.ts'
import { isHexData, topicAddress, uintWord, wordCount } from './words.ts'

/** ERC20 `Transfer(address indexed from, address indexed to, uint256 value)`. */
export const TRANSFER_TOPIC: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
/** WETH9 `Deposit(address indexed dst, uint256 wad)`: a wrap, which emits no Transfer. */
export const DEPOSIT_TOPIC: Hex = '0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c'
/** WETH9 `Withdrawal(address indexed src, uint256 wad)`: an unwrap, which emits no Transfer. */
export const WITHDRAWAL_TOPIC: Hex = '0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65'

/**
 * The eth_getLogs topic filters that find every logged balance change of `wallets`: one for
 * changes where the wallet is the first indexed address (Transfer from, Deposit, Withdrawal), one
 * where it is the second (Transfer to). No address filter: every token counts.
 */
export function walletTopicFilters(wallets: readonly Address[]): (Hex[] | null)[][] {
  const padded = wallets.map((w) => `0x${w.slice(2).padStart(64, '0')}` as Hex)
  return [
    [[TRANSFER_TOPIC, DEPOSIT_TOPIC, WITHDRAWAL_TOPIC], padded],
    [[TRANSFER_TOPIC], null, padded],
  ]
}

/**
 * The balance changes of watched wallets in a range's logs (pure), in (block, log index) order.
 * ERC721 transfers share the Transfer topic0 with a fourth topic (the token id) and are not
 * balances: they are left out. A log that matches the layout's topics but not its data is a
 * DecodeError naming chain, block, tx and log (kept by the caller, never dropped silently).
 * `logs` may hold a log twice (it matched both filters): it counts once.
 */
export function decodeWalletTransfers(
  logs: readonly RawLog[],
  watched: Pick<ReadonlySet<Address>, 'has'>,
  ctx: {
    chainId: number
    blockTime: (block: bigint) => number | undefined
    decimals: (token: Address) => number | null
    /** The chain's WETH: Deposit/Withdrawal count only from it (other contracts use the same names: staking pools). */
    wrappedNative?: Address
  },
): { transfers: WalletTransfer[]; rejected: { log: RawLog; error: DecodeError }[] } {
  const transfers: WalletTransfer[] = []
  const rejected: { log: RawLog; error: DecodeError }[] = []
  const seen = new Set<string>()
  const sorted = [...logs].sort((a, b) => (a.blockNumber !== b.blockNumber ? (a.blockNumber < b.blockNumber ? -1 : 1) : a.logIndex - b.logIndex))
  for (const log of sorted) {
    const id = `${log.transactionHash}:${log.logIndex}`
    if (seen.has(id)) continue
    seen.add(id)
    const t0 = log.topics[0]
    const isTransfer = t0 === TRANSFER_TOPIC
    if (isTransfer && log.topics.length !== 3) continue // ERC721 (or another non-ERC20 layout)
    if (!isTransfer && t0 !== DEPOSIT_TOPIC && t0 !== WITHDRAWAL_TOPIC) continue
    if (!isTransfer && log.address !== ctx.wrappedNative) continue
    try {
      const blockTime = ctx.blockTime(log.blockNumber)
      if (blockTime === undefined) throw logDecodeError('no block time for the log', log, ctx.chainId, 'token')
      if (!isHexData(log.data) || wordCount(log.data) !== 1 || log.topics.length !== (isTransfer ? 3 : 2))
        throw logDecodeError(`undecodable ${isTransfer ? 'Transfer' : t0 === DEPOSIT_TOPIC ? 'Deposit' : 'Withdrawal'}`, log, ctx.chainId, 'token')
      const value = uintWord(log.data, 0)
      const base = {
        chainId: ctx.chainId,
        blockNumber: log.blockNumber,
        blockTime,
        txHash: log.transactionHash,
        logIndex: log.logIndex,
        token: log.address,
        decimals: ctx.decimals(log.address),
      }
      const a = topicAddress(log.topics[1])!
      if (isTransfer) {
        const b = topicAddress(log.topics[2])!
        if (a === b) continue // a transfer to oneself changes no balance
        if (watched.has(a)) transfers.push({ ...base, wallet: a, counterparty: b, kind: 'transfer', delta: -value })
        if (watched.has(b)) transfers.push({ ...base, wallet: b, counterparty: a, kind: 'transfer', delta: value })
      } else if (watched.has(a)) {
        const kind = t0 === DEPOSIT_TOPIC ? 'deposit' : 'withdrawal'
        transfers.push({ ...base, wallet: a, counterparty: ZERO, kind, delta: kind === 'deposit' ? value : -value })
      }
    } catch (err) {
      if (err instanceof DecodeError) rejected.push({ log, error: err })
      else throw err
    }
  }
  return { transfers, rejected }
}

const ZERO = '0x0000000000000000000000000000000000000000' as Address

