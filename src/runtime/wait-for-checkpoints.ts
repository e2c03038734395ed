import type { RiskWorker } from '../../workers/risk/risk-worker.ts'
import { sleep } from '../retry.ts'

/**
 * Resolves when every given worker has applied each chain up to the given block. Rejects after
 * `timeoutMs` naming the shard and chain that lag (a test or demo deadline, not a product timeout).
 */
export async function waitForCheckpoints(workers: RiskWorker[], targets: Map<number, bigint>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const lagging: string[] = []
    for (const w of workers)
      for (const [chainId, block] of targets) {
        const cp = w.state().checkpoints.get(chainId) ?? -1n
        if (cp < block) lagging.push(`shard ${w.shard} chain ${chainId} at ${cp} < ${block}`)
      }
    if (lagging.length === 0) return
    if (Date.now() > deadline) throw new Error(`workers did not catch up within ${timeoutMs} ms: ${lagging.join('; ')}`)
    await sleep(100)
  }
}
