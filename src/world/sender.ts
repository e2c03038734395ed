import { TransactionNotFoundError, TransactionReceiptNotFoundError, parseGwei, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem'
import { BaseError } from '../errors.ts'

export type TxRequest = { to?: Address; data: Hex; value?: bigint; gas: bigint }

/**
 * Signs and submits transactions of one local account with nonces counted here, explicit gas and
 * fees: no estimateGas / getTransactionCount / fee round trips per transaction, and transactions
 * can be sent back to back without waiting for receipts (they are mined in nonce order).
 */
export type Sender = {
  account: LocalAccount
  /** Resolves with the hash once the node accepted the transaction; calls are submitted in order. */
  send(tx: TxRequest): Promise<Hex>
  /** The nonce the next `send` will use. */
  nextNonce(): number
  /** The signed transaction behind a hash this sender submitted (kept until `forget`). */
  signed(hash: Hex): Hex | undefined
  forget(hashes: readonly Hex[]): void
}

export async function createSender(opts: { client: PublicClient; account: LocalAccount; chainId: number }): Promise<Sender> {
  const { client, account, chainId } = opts
  const [nonce, block] = await Promise.all([
    client.getTransactionCount({ address: account.address, blockTag: 'pending' }),
    client.getBlock({ blockTag: 'latest' }),
  ])
  let next = nonce
  // Base fee on a quiet anvil only falls; the head room covers a few full blocks in interval mode.
  const maxPriorityFeePerGas = parseGwei('0.001')
  const maxFeePerGas = (block.baseFeePerGas ?? parseGwei('1')) * 4n + parseGwei('1')
  let queue: Promise<unknown> = Promise.resolve()
  const signed = new Map<Hex, Hex>()

  const send = (tx: TxRequest): Promise<Hex> => {
    const txNonce = next++
    const submitted = queue.then(async () => {
      const serialized = await account.signTransaction({
        type: 'eip1559',
        chainId,
        nonce: txNonce,
        to: tx.to ?? null,
        data: tx.data,
        value: tx.value ?? 0n,
        gas: tx.gas,
        maxFeePerGas,
        maxPriorityFeePerGas,
      })
      const hash = await client.sendRawTransaction({ serializedTransaction: serialized })
      signed.set(hash, serialized)
      return hash
    })
    queue = submitted.catch(() => undefined)
    return submitted
  }
  return {
    account,
    send,
    nextNonce: () => next,
    signed: (hash) => signed.get(hash),
    forget: (hashes) => hashes.forEach((h) => signed.delete(h)),
  }
}

/**
 * Receipts of submitted transactions, polling until each is mined. With interval mining, anvil
 * (1.7) sometimes drops pending transactions from its pool when a block fills up (foundry-rs/foundry
 * #13352); a transaction the node no longer knows is submitted again from `senders`.
 */
export async function waitForReceipts(
  client: PublicClient,
  hashes: readonly Hex[],
  opts: { senders?: readonly Sender[]; timeoutMs?: number } = {},
): Promise<TransactionReceipt[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  const receipts = await Promise.all(
    hashes.map(async (hash) => {
      for (let poll = 1; ; poll++) {
        try {
          return await client.getTransactionReceipt({ hash })
        } catch (err) {
          if (!(err instanceof TransactionReceiptNotFoundError)) throw err
          if (Date.now() > deadline) throw new BaseError('transaction not mined in time', { context: { tx: hash }, cause: err })
        }
        if (poll % 25 === 0) await resendIfDropped(client, hash, opts.senders ?? [])
        await new Promise((r) => setTimeout(r, 20))
      }
    }),
  )
  for (const sender of opts.senders ?? []) sender.forget(hashes)
  return receipts
}

async function resendIfDropped(client: PublicClient, hash: Hex, senders: readonly Sender[]): Promise<void> {
  const known = await client.getTransaction({ hash }).catch((err: unknown) => {
    if (err instanceof TransactionNotFoundError) return undefined
    throw err
  })
  if (known) return
  const serialized = senders.map((s) => s.signed(hash)).find((raw) => raw !== undefined)
  if (!serialized) return
  // "already known" or "nonce too low" mean it made it after all; the receipt poll tells.
  await client.sendRawTransaction({ serializedTransaction: serialized }).catch(() => undefined)
}
