import type { Logger } from 'pino'
import { createPublicClient, webSocket } from 'viem'
import { errorLine } from '../errors.ts'
import { maskRpcUrl } from './call-errors.ts'

/** A subscription to a chain's new heads; `close` ends it and its socket. */
export type NewHeads = { close(): Promise<void> }

/** How long after a failed subscription it is made again. */
const RESUBSCRIBE_MS = 2_000

/**
 * Calls `onHead` for every new head the RPC pushes (eth_subscribe "newHeads" over a WebSocket,
 * through viem's webSocket transport): an indexer wakes at once instead of at its next poll. The
 * socket reconnects after a drop, but a subscription does not outlive its socket (nor one that
 * failed to start), so a failed subscription is made again every RESUBSCRIBE_MS. A failure is
 * logged at most once a minute; the poll interval stays the fallback, so a subscription that is
 * down costs latency only.
 */
export function watchNewHeads(opts: { url: string; log: Logger; onHead: (block: bigint) => void }): NewHeads {
  const where = maskRpcUrl(opts.url)
  const transport = webSocket(opts.url, { reconnect: { attempts: Number.POSITIVE_INFINITY, delay: RESUBSCRIBE_MS }, keepAlive: { interval: 15_000 } })
  const client = createPublicClient({ transport })
  let warnedAt = 0
  let closed = false
  let unwatch: () => void = () => {}
  let again: NodeJS.Timeout | undefined
  const subscribe = (): void => {
    if (closed) return
    unwatch = client.watchBlockNumber({
      onBlockNumber: (n) => opts.onHead(n),
      onError: (err) => {
        if (Date.now() - warnedAt >= 60_000) {
          warnedAt = Date.now()
          opts.log.warn({ ws: where, err: errorLine(err) }, 'new-heads subscription failed; polling meanwhile, subscribing again')
        }
        unwatch()
        clearTimeout(again)
        again = setTimeout(subscribe, RESUBSCRIBE_MS)
        again.unref()
      },
    })
  }
  subscribe()
  return {
    async close() {
      closed = true
      clearTimeout(again)
      unwatch()
      try {
        const rpc = await (client.transport as unknown as { getRpcClient(): Promise<{ close(): void }> }).getRpcClient()
        rpc.close()
      } catch {
        // Never connected: nothing to close.
      }
    },
  }
}
