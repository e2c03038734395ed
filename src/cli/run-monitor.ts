import type { Common } from '../common.ts'
import { startMonitor } from '../runtime/start-monitor.ts'

/**
 * Runs the monitor until SIGINT/SIGTERM (drained: in-flight batches finish, then everything closes)
 * or until a part stops on an error it cannot retry (then exit code 1).
 */
export async function runMonitor(common: Common, opts: { shards?: number[]; chains?: string[]; exitWhenReady?: boolean }): Promise<void> {
  let fatal: Error | undefined
  let finish: (why: string) => void = () => {}
  const done = new Promise<string>((resolve) => {
    finish = resolve
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const monitor = await startMonitor({
    common,
    shards: opts.shards,
    chains: opts.chains,
    onFatal: (err) => {
      fatal ??= err
      finish('fatal error')
    },
  })
  if (opts.exitWhenReady) finish('done')
  else
    common.log.info(
      {
        database: monitor.embedded ? `embedded (${monitor.embedded.dataDir})` : 'server',
        redis: monitor.redisUrl,
        indexers: monitor.indexers.map((i) => i.chainId),
        shards: monitor.workers.map((w) => w.shard),
      },
      'dexrisk running',
    )
  const why = await done
  common.log.info({ why }, 'stopping')
  await monitor.close()
  if (fatal) {
    process.stderr.write(`dexrisk: stopped on an error that a retry cannot cure:\n${fatal.message}\n`)
    process.exitCode = 1
  }
}
