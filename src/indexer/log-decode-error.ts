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
