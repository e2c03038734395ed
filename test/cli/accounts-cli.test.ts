import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey, listApiKeys } from '../../src/api/key-store.ts'
import { runAccountsSync } from '../../src/cli/accounts.ts'
import { createLogger, createCommon } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { createPool } from '../../src/db/pool.ts'
import { listAccounts, syncConfigAccounts } from '../../src/domain/account-store.ts'
import { startMonitor } from '../../src/runtime/start-monitor.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const database = useEmbeddedDatabase()
const W = (n: number) => `0x${n.toString(16).padStart(40, '0')}`

const capture = () => {
  const lines: string[] = []
  return { lines, out: (line: string) => lines.push(line) }
}

describe('config accounts change only through an explicit step', () => {
  it('a start with a stale config adds and keeps: it never removes an account or revokes its key', async () => {
    const db = database.pool()
    await syncConfigAccounts(db, { alice: [W(1)], bob: [W(2)] })
    const { row } = await createApiKey(db, { role: 'account', account: 'bob' })
    // Another machine starts with a config that no longer names bob, and gives alice a wallet more.
    const plan = await syncConfigAccounts(db, { alice: [W(1), W(3)] })
    expect(plan).toEqual({ add: [], wallets: [{ name: 'alice', added: [W(3)], removed: [] }], gone: [{ name: 'bob', liveKeys: 1 }] })
    expect((await listAccounts(db)).map((a) => [a.name, a.wallets])).toEqual([
      ['alice', [W(1), W(3)]],
      ['bob', [W(2)]],
    ])
    expect((await listApiKeys(db, 'bob')).map((k) => [k.id, k.revokedAt])).toEqual([[row.id, null]])
  })

  it('accounts sync shows each change; --dry-run changes nothing; --prune keeps an account with a live key unless --revoke-keys', async () => {
    const db = database.pool()
    const config = { alice: [W(1)], carol: [W(4)] }
    const dry = capture()
    await runAccountsSync(db, config, { dryRun: true, prune: true }, dry.out)
    expect(dry.lines).toEqual([
      `would add account carol with 1 wallet(s): ${W(4)}`,
      `would account alice: remove wallet(s) ${W(3)}`,
      'would keep account bob: no longer in the config, but it has 1 live key(s); add --revoke-keys to revoke them and remove it',
    ])
    expect((await listAccounts(db)).map((a) => a.name)).toEqual(['alice', 'bob'])

    const pruned = capture()
    await runAccountsSync(db, config, { prune: true }, pruned.out)
    expect(pruned.lines.at(-1)).toBe('done')
    expect((await listAccounts(db)).map((a) => [a.name, a.wallets])).toEqual([
      ['alice', [W(1)]],
      ['bob', [W(2)]],
      ['carol', [W(4)]],
    ])

    const revoked = capture()
    await runAccountsSync(db, config, { prune: true, revokeKeys: true }, revoked.out)
    expect(revoked.lines).toEqual(['remove account bob (no longer in the config), revoking its 1 live key(s)', 'done: removed bob, revoked 1 key(s)'])
    expect((await listAccounts(db)).map((a) => a.name)).toEqual(['alice', 'carol'])
    expect((await listApiKeys(db, 'bob'))[0]!.revokedAt).not.toBeNull()

    const again = capture()
    await runAccountsSync(db, config, {}, again.out)
    expect(again.lines).toEqual(['the database already has the config accounts: nothing to change'])
  })

  it('moves a wallet from one config account to another without losing it', async () => {
    const db = database.pool()
    await syncConfigAccounts(db, { alice: [W(1)], carol: [W(4), W(5)] })
    await syncConfigAccounts(db, { alice: [W(1), W(5)], carol: [W(4)] })
    expect((await listAccounts(db)).map((a) => [a.name, a.wallets])).toEqual([
      ['alice', [W(1), W(5)]],
      ['carol', [W(4)]],
    ])
  })
})

describe('a process that does not ingest', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('writes no config account (an API or worker started with a stale config changes nothing)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dexrisk-accounts-'))
    dirs.push(dir)
    const config = parseConfig(
      {
        chains: { local: { id: 31337, rpcUrls: ['http://127.0.0.1:1'], dexes: [{ family: 'uniswap-v2', factory: W(9), startBlock: 1 }] } },
        accounts: { alice: [W(1)] },
        shards: 1,
        database: { dataDir: join(dir, 'db') },
        redis: { url: TEST_REDIS_URL },
        queue: { prefix: uniquePrefix() },
      },
      {},
    )
    const monitor = await startMonitor({ common: createCommon(config, { log: createLogger({ level: 'silent' }) }), shards: [], chains: [], api: false })
    await monitor.close()
    const embedded = await startEmbeddedDatabase({ dataDir: join(dir, 'db') })
    const pool = createPool({ url: embedded.url, max: 1 })
    try {
      expect((await pool.query('SELECT name FROM accounts')).rows).toEqual([])
    } finally {
      await pool.end()
      await embedded.stop()
    }
  })
})
