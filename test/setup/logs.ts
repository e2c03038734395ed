import { encodeAbiParameters, encodeEventTopics, keccak256, toHex, type Abi, type Address, type Hex } from 'viem'
import type { RawLog } from '../../src/domain/log.ts'

/** A RawLog built with viem's own ABI encoder (an independent encoder for decoder tests). */
export function encodeLog<const abi extends Abi>(opts: {
  abi: abi
  eventName: string
  args: Record<string, unknown>
  address: Address
  blockNumber?: bigint
  logIndex?: number
  txHash?: Hex
}): RawLog {
  const event = opts.abi.find((x) => x.type === 'event' && x.name === opts.eventName)
  if (!event || event.type !== 'event') throw new Error(`no event ${opts.eventName}`)
  const topics = encodeEventTopics({ abi: opts.abi as Abi, eventName: opts.eventName, args: opts.args } as never) as Hex[]
  const data = encodeAbiParameters(
    event.inputs.filter((i) => !i.indexed),
    event.inputs.filter((i) => !i.indexed).map((i) => opts.args[i.name ?? '']),
  )
  const blockNumber = opts.blockNumber ?? 100n
  return {
    address: opts.address.toLowerCase() as Address,
    topics,
    data,
    blockNumber,
    blockHash: keccak256(toHex(`block-${blockNumber}`)),
    transactionHash: opts.txHash ?? keccak256(toHex(`tx-${blockNumber}-${opts.logIndex ?? 0}`)),
    transactionIndex: 0,
    logIndex: opts.logIndex ?? 0,
  }
}
