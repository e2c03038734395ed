import type { RawLog } from '../domain/log.ts'
import { DecodeError } from '../errors.ts'

/**
 * A DecodeError that names the chain, block, tx, log index and the contract that emitted the log
 * (a pool, or a token for its Transfer), with the raw log attached.
 */
export function logDecodeError(msg: string, log: RawLog, chainId: number, emitter: 'pool' | 'token' = 'pool'): DecodeError {
  return new DecodeError(msg, {
    context: { chainId, block: log.blockNumber, tx: log.transactionHash, logIndex: log.logIndex, [emitter]: log.address },
    details: `topics=${log.topics.join(',')} data=${log.data.slice(0, 140)}${log.data.length > 140 ? '…' : ''}`,
  })
}

/**
 * What an amount field of a pool event can hold: below `limit` (`name` says the bound as a reader
 * would, "below 2^112"; `why` the contract rule behind it), and non-zero when `nonZero` says why
 * zero is no amount.
 */
export type AmountBound = { limit: bigint; name: string; why: string; nonZero?: string }

/**
 * Throws a DecodeError when `value` of `event`'s `field` is outside `bound`: an amount no pool of the
 * family can produce is never decoded into a trade. The message names the field, its value and
 * the bound; the error's context the chain, block, tx, log index and pool.
 */
export function checkAmount(event: string, field: string, value: bigint, bound: AmountBound, log: RawLog, chainId: number): void {
  if (value < 0n || value >= bound.limit)
    throw logDecodeError(`${event} ${field} ${value} is out of range: not ${bound.name} (${bound.why})`, log, chainId)
  if (value === 0n && bound.nonZero !== undefined) throw logDecodeError(`${event} ${field} is 0 (${bound.nonZero})`, log, chainId)
}
