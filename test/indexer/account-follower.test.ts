import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../src/common.ts'
import { createAccountFollower } from '../../src/indexer/account-follower.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const db = useEmbeddedDatabase()
const CHAIN = 7
const W = '0x00000000000000000000000000000000000000a1' as Address
const X = '0x00000000000000000000000000000000000000a2' as Address
const T = '0x00000000000000000000000000000000000000c1' as Address
const log = createLogger({ level: 'silent' })

describe('the account follower of an indexer', () => {
  it('carries a detachment and an opening in every range until one passes the shard furthest ahead, and a moved wallet brings its tokens', async () => {
    const pool = db.pool()
    // Two shards, one far ahead: the indexer resumes from 100, shard 1 has applied up to 150.
    await pool.query(`INSERT INTO checkpoints (shard, chain_id, last_block) VALUES (0, $1, 100), (1, $1, 150)`, [CHAIN])
    await pool.query(`INSERT INTO accounts (name, source) VALUES ('a', 'api'), ('b', 'api'), ('c', 'api')`)
    // W moved from a to b while no indexer ran: the shards still count it for a, with token T.
    await pool.query(`INSERT INTO account_wallets (wallet, account) VALUES ($1, 'b')`, [W])
    await pool.query(
      `INSERT INTO wallet_balances (chain_id, wallet, token, account, shard, balance, block_number) VALUES ($1, $2, $3, 'a', 1, 5, 150)`,
      [CHAIN, W, T],
    )
    const f = await createAccountFollower({ pool, chainId: CHAIN, named: true, log, checkMs: 0 })
    await f.beforeRange()
    expect(f.detachments()).toEqual([{ wallet: W, account: 'a' }])
    expect(f.openingWallets(101n)).toEqual(new Map([[W, new Set([T])]]))
    // A range that shard 1 skips whole (its checkpoint is past it): everything goes again.
    f.published(120n)
    expect(f.detachments()).toEqual([{ wallet: W, account: 'a' }])
    expect([...f.openingWallets(121n).keys()]).toEqual([W])
    // The range that passes block 150 reaches every shard: done.
    f.published(160n)
    expect(f.detachments()).toEqual([])
    expect([...f.openingWallets(161n).keys()]).toEqual([])

    // While following: X added to c is opened from the next range only; W taken from b is detached
    // once (no shard is ahead any more), and W given back to b before that range cancels it.
    await pool.query(`INSERT INTO account_wallets (wallet, account) VALUES ($1, 'c')`, [X])
    expect(await f.beforeRange()).toBe(true)
    expect(f.openingWallets(161n)).toEqual(new Map([[X, new Set()]]))
    expect([...f.openingWallets(171n).keys()]).toEqual([])
    await pool.query(`DELETE FROM account_wallets WHERE wallet = $1`, [W])
    expect(await f.beforeRange()).toBe(true)
    expect(f.detachments()).toEqual([{ wallet: W, account: 'b' }])
    await pool.query(`INSERT INTO account_wallets (wallet, account) VALUES ($1, 'b')`, [W])
    expect(await f.beforeRange()).toBe(true)
    expect(f.detachments()).toEqual([])
    await pool.query(`DELETE FROM account_wallets WHERE wallet = $1`, [W])
    await f.beforeRange()
    f.published(180n)
    expect(f.detachments()).toEqual([])
    expect(f.wallets()).toEqual([X])
  })
})
