import type pg from 'pg'
import WebSocket from 'ws'
import { createApi, type Api } from '../../src/api/create-api.ts'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import type { Config } from '../../src/config/schema.ts'

export const WALLETS = {
  alice: '0x00000000000000000000000000000000000a11ce',
  bob: '0x0000000000000000000000000000000000000b0b',
} as const

/** A config for API tests: one chain that nothing indexes, named accounts, the given prefix and API options. */
export function apiTestConfig(opts: { prefix: string; shards?: number; api?: Partial<Config['api']>; accounts?: Record<string, string[]> | 'auto' }): Config {
  return parseConfig(
    {
      chains: {
        local: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f', startBlock: 1 }] },
      },
      accounts: opts.accounts ?? { alice: [WALLETS.alice], bob: [WALLETS.bob] },
      shards: opts.shards ?? 2,
      queue: { prefix: opts.prefix },
      api: { port: 0, ...opts.api },
    },
    {},
  )
}

/** Starts the real API on a free port over the given database and Redis. */
export async function startTestApi(opts: { config: Config; pool: pg.Pool; redisUrl: string; controlKey?: string }): Promise<Api> {
  const common = createCommon(opts.config, { log: createLogger({ level: process.env.DEXRISK_LOG_LEVEL ?? 'silent' }) })
  return createApi({ common, pool: opts.pool, redisUrl: opts.redisUrl, ...(opts.controlKey ? { controlKey: opts.controlKey } : {}) })
}

/** A WebSocket client that queues the JSON messages it receives, for tests to take in order. */
export type TestSocket = {
  ws: WebSocket
  /** The next message (waits up to `timeoutMs`). */
  next(timeoutMs?: number): Promise<Record<string, unknown>>
  close(): Promise<void>
}

export function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const queue: Record<string, unknown>[] = []
    const waiters: ((m: Record<string, unknown>) => void)[] = []
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Record<string, unknown>
      const w = waiters.shift()
      if (w) w(m)
      else queue.push(m)
    })
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
    ws.once('error', reject)
    ws.once('open', () =>
      resolve({
        ws,
        next: (timeoutMs = 10_000) =>
          new Promise((res, rej) => {
            const m = queue.shift()
            if (m) return res(m)
            const timer = setTimeout(() => rej(new Error(`no WebSocket message within ${timeoutMs} ms`)), timeoutMs)
            waiters.push((x) => {
              clearTimeout(timer)
              res(x)
            })
          }),
        close: () =>
          new Promise((res) => {
            if (ws.readyState === WebSocket.CLOSED) return res()
            ws.once('close', () => res())
            ws.close()
          }),
      }),
    )
  })
}

/** The HTTP status a refused WebSocket upgrade answered with. */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('open', () => {
      ws.close()
      resolve(101)
    })
    ws.once('error', (err) => reject(err))
  })
}
