import type { Address, LocalAccount } from 'viem'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { blockNumberOf } from '../../src/world/block-number.ts'
import { deployWorld, type World } from '../../src/world/deploy.ts'
import { fundTraders, readBalances, runRandomTraders } from '../../src/world/traders.ts'
import { waitUntil } from './wait-until.ts'

export const ACCOUNT_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']

export type LocalWorlds = {
  anvils: AnvilInstance[]
  worlds: World[]
  named: { name: string; world: World }[]
  traders: LocalAccount[][]
  wallets: Address[]
  accounts: Record<string, Address[]>
  stop(): Promise<void>
}

/** Two anvil chains with the real Uniswap V2/V3 deployed, and funded traders (one account each). */
export async function startLocalWorlds(opts: { traders: number; chainIds?: [number, number] }): Promise<LocalWorlds> {
  const [a, b] = opts.chainIds ?? [17101, 17102]
  const anvils = await Promise.all([startAnvil({ chainId: a }), startAnvil({ chainId: b })])
  const deployed = await Promise.all(anvils.map((x, i) => deployWorld({ rpcUrl: x.rpcUrl, chainId: x.chainId, seed: i + 1 })))
  const traders = await Promise.all(deployed.map((w) => fundTraders(w, opts.traders)))
  // Index from the first block after funding: from there on, balances change only by swaps.
  const worlds = await Promise.all(deployed.map(async (w) => ({ ...w, readyBlock: (await blockNumberOf(w.rpcUrl)) + 1n })))
  const wallets = traders[0]!.map((t) => t.address.toLowerCase() as Address)
  return {
    anvils,
    worlds,
    named: worlds.map((world, i) => ({ name: i === 0 ? 'local-a' : 'local-b', world })),
    traders,
    wallets,
    accounts: Object.fromEntries(wallets.map((w, i) => [ACCOUNT_NAMES[i]!, [w]])),
    stop: async () => {
      await Promise.all(anvils.map((x) => x.stop()))
    },
  }
}

/**
 * What positions must be, read from the chains alone: for every account (named accounts: positions
 * are the wallets' balances), chain and world token, balanceOf at `toBlock`, and the wallet's ether
 * (eth_getBalance, as NATIVE_TOKEN). Keyed `${account}|${chainId}|${token}`; zero balances are left out.
 */
export async function expectedPositions(w: LocalWorlds, toBlocks: Map<number, bigint>): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>()
  for (const world of w.worlds) {
    const after = await readBalances(world, w.wallets, toBlocks.get(world.chainId)!, { ether: true })
    w.wallets.forEach((wallet, i) => {
      for (const [token, balance] of after.get(wallet)!)
        if (balance !== 0n) out.set(`${ACCOUNT_NAMES[i]!}|${world.chainId}|${token.toLowerCase()}`, balance)
    })
  }
  return out
}

/** Positions as dexrisk stored them, in the same keying; zero quantities are left out. */
export async function storedPositions(query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>): Promise<Map<string, bigint>> {
  const r = await query('SELECT account, chain_id, token, quantity::text AS quantity FROM positions')
  const out = new Map<string, bigint>()
  for (const row of r.rows) {
    const q = BigInt(row.quantity as string)
    if (q !== 0n) out.set(`${row.account as string}|${row.chain_id as number}|${row.token as string}`, q)
  }
  return out
}

export async function headBlocks(w: LocalWorlds): Promise<Map<number, bigint>> {
  return new Map(await Promise.all(w.anvils.map(async (a) => [a.chainId, await blockNumberOf(a.rpcUrl)] as const)))
}

export type Trading = {
  /** Resolves once a round that started after this call has been mined on every chain. */
  oneMoreRound(): Promise<void>
  /** Lets the current rounds finish and stops. */
  stop(): Promise<void>
}

/**
 * The first `traders` of each world swap at random through the real routers, `roundSwaps` a round,
 * round after round on every chain until stopped; each round takes its seed from `seed()`.
 */
export function startTrading(w: LocalWorlds, opts: { traders: number; roundSwaps: number; seed: () => number }): Trading {
  let stopping = false
  let failure: unknown
  const started = w.worlds.map(() => 0)
  const completed = w.worlds.map(() => 0)
  const all = Promise.all(
    w.worlds.map(async (world, i) => {
      try {
        do {
          started[i]!++
          await runRandomTraders(world, { traders: w.traders[i]!.slice(0, opts.traders), swaps: opts.roundSwaps, seed: opts.seed() })
          completed[i]!++
        } while (!stopping && failure === undefined)
      } catch (err) {
        failure ??= err
      }
    }),
  )
  return {
    async oneMoreRound() {
      const targets = started.map((s) => s + 1)
      await waitUntil('one more round of swaps is mined', () => {
        if (failure) throw failure
        return completed.every((c, i) => c >= targets[i]!)
      })
    },
    async stop() {
      stopping = true
      await all
      if (failure) throw failure
    },
  }
}
