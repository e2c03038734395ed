import { TransactionReceiptNotFoundError, parseGwei, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem'
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
      return client.sendRawTransaction({ serializedTransaction: serialized })
    })
    queue = submitted.catch(() => undefined)
    return submitted
  }
  return { account, send, nextNonce: () => next }
}

/** Receipts of submitted transactions, polling until each is mined. */
export async function waitForReceipts(client: PublicClient, hashes: readonly Hex[], timeoutMs = 60_000): Promise<TransactionReceipt[]> {
  const deadline = Date.now() + timeoutMs
  return Promise.all(
    hashes.map(async (hash) => {
      for (;;) {
        try {
          return await client.getTransactionReceipt({ hash })
        } catch (err) {
          if (!(err instanceof TransactionReceiptNotFoundError)) throw err
          if (Date.now() > deadline) throw new BaseError('transaction not mined in time', { context: { tx: hash }, cause: err })
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }),
  )
}
