import type { Common } from '../common.ts'
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.ts'
import { startMonitor } from '../runtime/start-monitor.ts'
import { describeRedis } from '../db/redis.ts'

export type RunMonitorOptions = {
  shards?: number[] | 'auto'
  chains?: string[]
  exitWhenReady?: boolean
  /** Serve the API (REST, WebSocket, dashboard) in this process (startMonitor's `api`). Default false. */
  api?: boolean
  /**
   * Serve GET /metrics (common.metrics.registry) on this port and host while the monitor runs.
   * Default: none. Port 0 here means off (the CLI's --metrics-port 0).
   */
  metrics?: { port: number; host?: string }
}

/**
 * Runs the monitor until SIGINT/SIGTERM (drained: in-flight batches finish, then everything closes)
 * or until a part stops on an error it cannot retry (then exit code 1).
 */
export async function runMonitor(common: Common, opts: RunMonitorOptions): Promise<void> {
  let fatal: Error | undefined
  let finish: (why: string) => void = () => {}
  // A signal during start-up (a chain whose RPC does not answer yet) aborts the start: what was
  // started is closed, the data folder released, and the process ends without waiting for the chain.
  const starting = new AbortController()
  const done = new Promise<string>((resolve) => {
    finish = resolve
    const on = (sig: string) => () => {
      starting.abort()
      resolve(sig)
    }
    process.once('SIGINT', on('SIGINT'))
    process.once('SIGTERM', on('SIGTERM'))
  })
  // Bound before the monitor starts: a port that is taken stops the process at once, saying so.
  let metricsServer: MetricsServer | undefined
  if (opts.metrics && opts.metrics.port !== 0 && !opts.exitWhenReady) {
    metricsServer = await startMetricsServer({ registry: common.metrics.registry, port: opts.metrics.port, host: opts.metrics.host, log: common.log })
    common.log.info({ url: metricsServer.url }, 'metrics served')
  }
  const monitor = await startMonitor({
    common,
    shards: opts.shards,
    chains: opts.chains,
    api: opts.api,
    signal: starting.signal,
    onFatal: (err) => {
      fatal ??= err
      finish('fatal error')
    },
  }).catch(async (err: unknown) => {
    await metricsServer?.close()
    if (starting.signal.aborted) return undefined
    throw err
  })
  if (monitor === undefined) {
    common.log.info({ why: await done }, 'stopped during start-up')
    return
  }
  if (opts.exitWhenReady) finish('done')
  else
    common.log.info(
      {
        database: monitor.embedded ? `embedded (${monitor.embedded.dataDir})` : 'server',
        // Its password hidden, as in every other Redis log line.
        redis: describeRedis(monitor.redisUrl),
        indexers: monitor.indexers.map((i) => i.chainId),
        shards: monitor.leases ? `auto (member ${monitor.leases.member})` : monitor.workers.map((w) => w.shard),
        api: monitor.api?.url ?? 'off',
        metrics: metricsServer?.url ?? 'off',
      },
      'dexrisk running',
    )
  const why = await done
  common.log.info({ why }, 'stopping')
  await monitor.close()
  // Closed last, so a scrape during the drain still answers.
  await metricsServer?.close()
  if (fatal) {
    process.stderr.write(`dexrisk: stopped on an error that a retry cannot cure:\n${fatal.message}\n`)
    process.exitCode = 1
  }
}
