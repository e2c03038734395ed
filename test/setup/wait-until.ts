import { sleep } from '../../src/retry.ts'

/**
 * Polls `condition` until it holds; throws naming `what` after a generous deadline. A way to wait
 * for a state (a fault seen, a queue filled), never a pass condition on time.
 */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await sleep(25)
  }
}
