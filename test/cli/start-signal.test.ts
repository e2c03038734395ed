import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runDexrisk, startDexrisk } from '../setup/cli.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('dexrisk run, stopped while a chain does not answer', () => {
  it('runs while the chain is retried, ends at the first SIGINT, and frees the data folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dexrisk-start-signal-'))
    dirs.push(dir)
    const dataDir = join(dir, 'db')
    // An RPC nothing listens on: eth_chainId fails and is retried, so the chain never starts; the
    // process runs meanwhile (before, its start waited for the chain and ignored the first signal).
    const config = {
      chains: { dead: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: '0x5c69bee701ef814a2b6a3edd4b1652cb9cc5aa6f', startBlock: 1 }] } },
      database: { dataDir },
      redis: { url: TEST_REDIS_URL },
      queue: { prefix: uniquePrefix() },
    }
    const file = join(dir, 'dexrisk.config.mjs')
    await writeFile(file, `export default ${JSON.stringify(config)}\n`)
    const run = startDexrisk(['run', '-c', file, '--no-api', '--metrics-port', '0'], { env: { DEXRISK_LOG_LEVEL: 'info' } })
    const { child, exited } = run
    try {
      // The indexer has failed to reach the chain and waits to retry; the rest of the process runs.
      await run.waitFor('indexer step failed, retrying')
      await run.waitFor('dexrisk running')
      child.kill('SIGINT')
      const code = await Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000))])
      expect(code, run.output()).toBe(0)
      expect(run.output()).toMatch(/"why":"SIGINT".*"msg":"stopping"/)
      const sql = await runDexrisk(['sql', '--data-dir', dataDir, 'SELECT 1 AS one'])
      expect(sql).toEqual({ code: 0, stderr: '', stdout: 'one\n---\n1\n(1 row)\n' })
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
