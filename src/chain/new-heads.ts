import type { Logger } from 'pino'
import { createPublicClient, webSocket } from 'viem'
import { errorLine } from '../errors.ts'
import { maskRpcUrl } from './call-errors.ts'

/** A subscription to a chain's new heads; `close` ends it and its socket. */
export type NewHeads = { close(): Promise<void> }

/**
 * Calls `onHead` for every new head the RPC pushes (eth_subscribe "newHeads" over a WebSocket,
 * through viem's webSocket transport): an indexer wakes at once instead of at its next poll. The
 * socket reconnects after a drop (every 2 s, without limit); a failure is logged, at most once a
 * minute, and the poll interval stays the fallback, so a subscription that dies costs latency only.
 */
export function watchNewHeads(opts: { url: string; log: Logger; onHead: (block: bigint) => void }): NewHeads {
  const where = maskRpcUrl(opts.url)
  const transport = webSocket(opts.url, { reconnect: { attempts: Number.POSITIVE_INFINITY, delay: 2_000 }, keepAlive: { interval: 15_000 } })
  const client = createPublicClient({ transport })
  let warnedAt = 0
  const unwatch = client.watchBlockNumber({
    onBlockNumber: (n) => opts.onHead(n),
    onError: (err) => {
      if (Date.now() - warnedAt < 60_000) return
      warnedAt = Date.now()
      opts.log.warn({ ws: where, err: errorLine(err) }, 'new-heads subscription failed; polling meanwhile')
    },
  })
  return {
    async close() {
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
