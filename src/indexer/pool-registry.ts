import type pg from 'pg'
import type { Address } from 'viem'
import type { DexFamily, PoolInfo } from '../domain/types.ts'

/** Known pools of one chain, loaded from and added to the `pools` table. */
export type PoolRegistry = {
  pools: Map<Address, PoolInfo>
  add(pools: PoolInfo[]): Promise<void>
}

export async function loadPoolRegistry(pool: pg.Pool, chainId: number): Promise<PoolRegistry> {
  const pools = new Map<Address, PoolInfo>()
  const r = await pool.query<{ address: string; dex_family: string; dex_name: string; token0: string; token1: string; fee: number | null; created_block: string; stable: boolean | null }>(
    'SELECT address, dex_family, dex_name, token0, token1, fee, created_block, stable FROM pools WHERE chain_id = $1',
    [chainId],
  )
  for (const p of r.rows)
    pools.set(p.address as Address, {
      chainId,
      dex: { family: p.dex_family as DexFamily, name: p.dex_name },
      address: p.address as Address,
      token0: p.token0 as Address,
      token1: p.token1 as Address,
      fee: p.fee,
      createdBlock: BigInt(p.created_block),
      ...(p.stable === null ? {} : { stable: p.stable }),
    })
  return {
    pools,
    async add(list) {
      const fresh = list.filter((p) => !pools.has(p.address))
      if (fresh.length === 0) return
      await pool.query(
        `INSERT INTO pools (chain_id, address, dex_family, dex_name, token0, token1, fee, created_block, stable)
         SELECT $1, a, f, n, t0, t1, fee, b, st FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[], $8::int8[], $9::bool[])
           AS u(a, f, n, t0, t1, fee, b, st)
         ON CONFLICT (chain_id, address) DO NOTHING`,
        [
          chainId,
          fresh.map((p) => p.address),
          fresh.map((p) => p.dex.family),
          fresh.map((p) => p.dex.name),
          fresh.map((p) => p.token0),
          fresh.map((p) => p.token1),
          fresh.map((p) => p.fee),
          fresh.map((p) => p.createdBlock.toString()),
          fresh.map((p) => p.stable ?? null),
        ],
      )
      for (const p of fresh) pools.set(p.address, p)
    },
  }
}
