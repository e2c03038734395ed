import type { Queue } from 'bullmq'
import type { QueueDepth, QueueDepthSource } from './create-metrics.ts'

/** A BullMQ queue's job counts as `dexrisk_queue_depth` states (prioritized jobs are waiting too). */
export async function readQueueDepth(queue: Queue): Promise<QueueDepth> {
  const c = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed')
  return { waiting: (c.wait ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 }
}

/**
 * A queue-depth source over a BullMQ queue that `open` creates on the first scrape, so a process
 * nobody scrapes opens no extra Redis connection. After `close()` (idempotent) the source reports
 * nothing and the queue is closed.
 */
export function bullQueueDepthSource(open: () => Queue): { source: QueueDepthSource; close(): Promise<void> } {
  let queue: Queue | undefined
  let closed: Promise<void> | undefined
  return {
    source: async () => {
      if (closed) return null
      queue ??= open()
      return readQueueDepth(queue)
    },
    close: () => (closed ??= queue ? queue.close() : Promise.resolve()),
  }
}
