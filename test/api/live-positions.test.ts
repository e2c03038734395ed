import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Api } from '../../src/api/create-api.ts'
import { createApiKey } from '../../src/api/key-store.ts'
import { syncConfigAccounts } from '../../src/domain/account-store.ts'
import { apiTestConfig, openSocket, startTestApi } from '../setup/api.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'

const db = useEmbeddedDatabase()
const config = apiTestConfig({ prefix: uniquePrefix() })
let api: Api
let key = ''

const WETH = '0x4200000000000000000000000000000000000006'

beforeAll(async () => {
  await syncConfigAccounts(db.pool(), config.accounts as Record<string, string[]>)
  key = (await createApiKey(db.pool(), { role: 'account', account: 'alice' })).key
  await db.pool().query(`INSERT INTO tokens (chain_id, address, decimals, symbol) VALUES (31337, $1, 18, 'WETH')`, [WETH])
  await db.pool().query(
    `INSERT INTO positions (account, chain_id, token, shard, quantity, cost_usd, realized_pnl_usd, updated_block) VALUES
       ('alice', 31337, $1, 0, 2000000000000000000, 6000, 0, 5), ('bob', 31337, $1, 1, 9, 9, 9, 5)`,
    [WETH],
  )
  api = await startTestApi({ config, pool: db.pool(), redisUrl: TEST_REDIS_URL })
})

afterAll(async () => {
  await api?.close()
})

describe('the live route and the dashboard', () => {
  it('sends positions with symbols and the fallback-shock settings in the snapshot, and positions again when asked', async () => {
    const socket = await openSocket(`${api.url.replace('http', 'ws')}/v1/accounts/alice/ws?key=${key}`)
    const snapshot = await socket.next()
    expect(snapshot.type).toBe('snapshot')
    expect(snapshot.risk).toEqual({ fallbackShock: 0.25, minHistory: 20 })
    expect(snapshot.positions).toEqual([
      { chainId: 31337, token: WETH, symbol: 'WETH', decimals: 18, quantity: '2000000000000000000', costUsd: 6000, realizedPnlUsd: 0, unpricedCost: false },
    ])

    // A trade since: the client asks, and gets its own account's positions as they are now. Anything else it sends is ignored.
    await db.pool().query(`UPDATE positions SET quantity = 1000000000000000000, cost_usd = 3000, realized_pnl_usd = 500 WHERE account = 'alice'`)
    socket.ws.send('not json')
    socket.ws.send(JSON.stringify({ type: 'snapshot' }))
    socket.ws.send(JSON.stringify({ type: 'positions' }))
    expect(await socket.next()).toEqual({
      type: 'positions',
      account: 'alice',
      positions: [{ chainId: 31337, token: WETH, symbol: 'WETH', decimals: 18, quantity: '1000000000000000000', costUsd: 3000, realizedPnlUsd: 500, unpricedCost: false }],
    })
    await expect(socket.next(500)).rejects.toThrow('no WebSocket message within 500 ms')
    await socket.close()
  })
})
