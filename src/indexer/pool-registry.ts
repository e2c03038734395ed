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
  const r = await pool.query<PoolRow>(
    `SELECT address, dex_family, dex_name, token0, token1, fee, created_block, stable, tokens, underlying, singleton, hooks, tick_spacing
     FROM pools WHERE chain_id = $1`,
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
      ...(p.tokens === null ? {} : { tokens: p.tokens as Address[] }),
      ...(p.underlying === null ? {} : { underlying: p.underlying as Address[] }),
      ...(p.singleton === null ? {} : { singleton: p.singleton as Address }),
      ...(p.hooks === null ? {} : { hooks: p.hooks as Address }),
      ...(p.tick_spacing === null ? {} : { tickSpacing: p.tick_spacing }),
    })
  return {
    pools,
    async add(list) {
      const fresh = list.filter((p) => !pools.has(p.address))
      if (fresh.length === 0) return
      await pool.query(
        `INSERT INTO pools (chain_id, address, dex_family, dex_name, token0, token1, fee, created_block, stable, tokens, underlying, singleton, hooks, tick_spacing)
         SELECT $1, a, f, n, t0, t1, fee, b, st, NULLIF(tk, '')::text[], NULLIF(ul, '')::text[], sg, hk, ts
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[], $8::int8[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int4[])
           AS u(a, f, n, t0, t1, fee, b, st, tk, ul, sg, hk, ts)
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
          // Arrays travel as Postgres array literals (unnest cannot take an array of arrays of varying length).
          fresh.map((p) => arrayLiteral(p.tokens)),
          fresh.map((p) => arrayLiteral(p.underlying)),
          fresh.map((p) => p.singleton ?? null),
          fresh.map((p) => p.hooks ?? null),
          fresh.map((p) => p.tickSpacing ?? null),
        ],
      )
      for (const p of fresh) pools.set(p.address, p)
    },
  }
}

type PoolRow = {
  address: string
  dex_family: string
  dex_name: string
  token0: string
  token1: string
  fee: number | null
  created_block: string
  stable: boolean | null
  tokens: string[] | null
  underlying: string[] | null
  singleton: string | null
  hooks: string | null
  tick_spacing: number | null
}

/** An address list as a Postgres array literal ('' for none: NULL after NULLIF). Addresses need no quoting. */
function arrayLiteral(list: readonly Address[] | undefined): string {
  return list ? `{${list.join(',')}}` : ''
}
