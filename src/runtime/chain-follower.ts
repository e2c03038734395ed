import type { Logger } from 'pino'
import { deterministicRpcProblem, describeRpcError } from '../chain/call-errors.ts'
import type { ChainConfig } from '../config/schema.ts'
import { BaseError, ConfigError, errorLine } from '../errors.ts'
import type { Indexer } from '../indexer/create-indexer.ts'
import { STATUS_EVERY_MS, type ChainStatus } from '../read-model/chain-status.ts'

/** One chain's indexer, started and watched on its own: what the monitor holds for each chain it follows. */
export type ChainFollower = Indexer & {
  name: string
  status(): ChainStatus
}

/**
 * Starts one chain's indexer without making anyone wait for it: a chain whose RPC does not answer
 * keeps retrying (its status says why) while the other chains, the workers and the API run. An
 * error a retry cannot cure (a wrong chain id, not the chain this database indexed, an RPC that
 * refuses the key or lacks a method) stops this chain alone: its status says what to fix (and
 * keeps saying it until the process closes), and `done` rejects with it. The status is handed to
 * `publish` at every change and every STATUS_EVERY_MS (how /ready in any process knows it).
 */
export function followChain(opts: {
  chain: ChainConfig
  log: Logger
  start: (signal: AbortSignal, onProblem: (problem: string | null) => void) => Promise<Indexer>
  publish?: (status: ChainStatus) => Promise<void>
  /** Stops the start as close() does (a signal during the process's start-up). */
  signal?: AbortSignal
}): ChainFollower {
  const { chain, log } = opts
  const controller = new AbortController()
  if (opts.signal?.aborted) controller.abort()
  opts.signal?.addEventListener('abort', () => controller.abort(), { once: true })
  let indexer: Indexer | undefined
  let status: ChainStatus = { chain: chain.name, chainId: chain.id, state: 'starting', at: new Date().toISOString() }
  const publish = (): void => {
    status = { ...status, at: new Date().toISOString(), ...(indexer ? { block: indexer.cursor().toString() } : {}) }
    // Best effort: a Redis outage is said by the parts that depend on Redis.
    opts.publish?.(status).catch(() => {})
  }
  const set = (next: Partial<ChainStatus>): void => {
    const { error: _dropped, ...rest } = status
    status = { ...rest, ...next }
    publish()
  }
  const onProblem = (problem: string | null): void => {
    if ((problem ?? undefined) === status.error) return
    set(problem === null ? {} : { error: problem })
  }
  publish()
  const heartbeat = setInterval(publish, STATUS_EVERY_MS)
  heartbeat.unref()

  const done = (async () => {
    try {
      indexer = await opts.start(controller.signal, onProblem)
      set({ state: 'following' })
      await indexer.done
      if (!controller.signal.aborted) set({ state: 'done' })
      clearInterval(heartbeat)
    } catch (err) {
      if (controller.signal.aborted) return
      const stopped = chainFailure(chain, err)
      set({ state: 'stopped', error: stopped.message.split('\n')[0]! })
      log.fatal({ chain: chain.name, err: stopped.message }, 'chain stopped: a retry cannot cure this; the other chains go on')
      throw stopped
    }
  })()
  done.catch(() => {})

  return {
    chainId: chain.id,
    name: chain.name,
    cursor: () => indexer?.cursor() ?? -1n,
    status: () => status,
    done,
    async close() {
      controller.abort()
      await indexer?.close()
      await done.catch(() => {})
      clearInterval(heartbeat)
    },
  }
}

/**
 * Why a chain stopped, as an error that names the chain and what to fix: dexrisk's own errors as
 * they are (they name the config field), an RPC answer a retry cannot change as a ConfigError on
 * the chain's rpcUrls, anything else (a bug) with the chain's name in front.
 */
export function chainFailure(chain: Pick<ChainConfig, 'name' | 'id'>, err: unknown): Error {
  if (err instanceof BaseError) return err
  const fix = deterministicRpcProblem(err)
  if (fix !== null)
    return new ConfigError(`chain ${chain.name} (id ${chain.id}): ${describeRpcError(err, errorLine(err))}: ${fix}`, {
      context: { field: `chains.${chain.name}.rpcUrls`, chainId: chain.id },
      cause: err,
    })
  return new BaseError(`chain ${chain.name} (id ${chain.id}) stopped: ${errorLine(err)}`, { context: { chainId: chain.id }, cause: err })
}
