import type { Address } from 'viem'
import { describe, expect, it } from 'vitest'
import type { PoolInfo } from '../../src/domain/types.ts'
import { loadPoolRegistry } from '../../src/indexer/pool-registry.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'

const db = useEmbeddedDatabase()

const pool = (n: number, over: Partial<PoolInfo>): PoolInfo => ({
  chainId: 8453,
  dex: { family: 'aerodrome', name: 'aerodrome' },
  address: `0x${n.toString(16).padStart(40, '0')}` as Address,
  token0: '0x00000000000000000000000000000000000000a0',
  token1: '0x00000000000000000000000000000000000000b0',
  fee: null,
  createdBlock: BigInt(1000 + n),
  ...over,
})

describe('loadPoolRegistry', () => {
  it("keeps a Solidly pool's stable flag across a restart, and none for other families", async () => {
    const pools = [
      pool(1, { stable: true }),
      pool(2, { stable: false }),
      pool(3, { dex: { family: 'uniswap-v3', name: 'uniswap-v3' }, fee: 500 }),
    ]
    await (await loadPoolRegistry(db.pool(), 8453)).add(pools)
    const reloaded = await loadPoolRegistry(db.pool(), 8453)
    expect([...reloaded.pools.values()].sort((a, b) => (a.address < b.address ? -1 : 1))).toEqual(pools)
  })

  it('keeps singleton pools (by id), their hooks and tick spacing, and pools of more than two coins', async () => {
    const id = `0x${'ab'.repeat(32)}` as Address
    const coins = ['0x00000000000000000000000000000000000000a0', '0x00000000000000000000000000000000000000b0', '0x00000000000000000000000000000000000000c0'] as Address[]
    const pools = [
      pool(5, { dex: { family: 'curve', name: 'curve' }, tokens: coins, underlying: [...coins].reverse() }),
      pool(4, {
        dex: { family: 'uniswap-v4', name: 'uniswap-v4' },
        address: id,
        fee: 3000,
        singleton: '0x00000000000000000000000000000000000000ee',
        hooks: '0x0000000000000000000000000000000000000000',
        tickSpacing: 60,
      }),
    ]
    await (await loadPoolRegistry(db.pool(), 10)).add(pools.map((p) => ({ ...p, chainId: 10 })))
    const reloaded = await loadPoolRegistry(db.pool(), 10)
    expect([...reloaded.pools.values()].sort((a, b) => (a.address < b.address ? -1 : 1))).toEqual(pools.map((p) => ({ ...p, chainId: 10 })))
  })
})
