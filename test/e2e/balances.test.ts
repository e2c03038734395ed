import { Redis } from 'ioredis'
import { createPublicClient, createTestClient, erc20Abi, http, isAddressEqual, parseAbi, parseEventLogs, type Address, type Hex, type LocalAccount } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCommon, createLogger } from '../../src/common.ts'
import { parseConfig } from '../../src/config/load-config.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { NATIVE_TOKEN } from '../../src/domain/types.ts'
import type { TradeBatch } from '../../src/queue/batch.ts'
import { startMonitor, type Monitor } from '../../src/runtime/start-monitor.ts'
import { waitForCheckpoints } from '../../src/runtime/wait-for-checkpoints.ts'
import { anvilAccount } from '../../src/world/accounts.ts'
import type { World } from '../../src/world/deploy.ts'
import { createSender, waitForReceipts } from '../../src/world/sender.ts'
import { SWAP_KINDS, buildRoutes, encodeSwap, type SwapKind } from '../../src/world/swaps.ts'
import { fundTraders, readBalances, runRandomTraders } from '../../src/world/traders.ts'
import { WALLET_ACTIONS, runWalletActivity, type WalletAction } from '../../src/world/wallet-activity.ts'
import { worldConfig } from '../../src/world/world-config.ts'
import { cleanupPrefix, TEST_REDIS_URL, uniquePrefix } from '../setup/redis.ts'
import { ACCOUNT_NAMES, expectedPositions, headBlocks, startLocalWorlds, storedPositions, type LocalWorlds } from '../setup/worlds.ts'

const SHARDS = 2
/** Traders that act. A fifth watched wallet (erin) keeps what it was funded with before the start. */
const ACTIVE = 4
const IDLE = ACCOUNT_NAMES[ACTIVE]!
/** Swaps and wallet actions alternate in rounds on each chain (the same accounts sign both). */
const ROUNDS = 6
const PER_ROUND = 10
/** An address outside every account: `send-out` transfers go there. */
const OUTSIDER = '0x00000000000000000000000000000000000b0b0b' as Address
/** Anvil account 8, in no account: it sends swaps whose proceeds go to a watched wallet. */
const RELAYER = anvilAccount(8)
const ZERO = '0x0000000000000000000000000000000000000000'
/** The events that change an ERC20 or WETH9 balance, read here independently of the indexer. */
const FLOW_EVENTS = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event Deposit(address indexed dst, uint256 wad)',
  'event Withdrawal(address indexed src, uint256 wad)',
])

let w: LocalWorlds

beforeAll(async () => {
  w = await startLocalWorlds({ traders: ACTIVE + 1 })
})
afterAll(async () => {
  await w?.stop()
})

type Running = {
  monitor: Monitor
  /** Every batch a shard committed, in the order each shard committed them. */
  batches: TradeBatch[]
  /** Resolves once every shard applied each chain up to `heads`; rejects at once if a part stops. */
  caughtUp(heads: Map<number, bigint>): Promise<void>
}

/** The chains' heads, made confirmed (one empty block mined on each): what the monitor must reach. */
async function confirmedHeads(): Promise<Map<number, bigint>> {
  const heads = await headBlocks(w)
  await Promise.all(w.worlds.map((world) => createTestClient({ mode: 'anvil', transport: http(world.rpcUrl) }).mine({ blocks: 1 })))
  return heads
}

/**
 * Runs `body` with a monitor of the worlds (named accounts, embedded database, its own Redis
 * prefix), then stops it, deletes the prefix's keys and stops the database, whatever happened.
 */
async function withMonitor(body: (r: Running) => Promise<void>): Promise<void> {
  const db = await startEmbeddedDatabase()
  const prefix = uniquePrefix()
  const redis = new Redis(TEST_REDIS_URL)
  try {
    const input = worldConfig(w.named, { accounts: w.accounts, shards: SHARDS, databaseUrl: db.url, redisUrl: TEST_REDIS_URL, queuePrefix: prefix })
    // One confirmation: anvil answers an eth_call at its head block with state that can already hold
    // the next block's transactions while it mines them (measured: 86 of 300 reads), which would show
    // as token changes no log explains. A block behind the head, its answers are final.
    for (const c of Object.values(input.chains)) c.confirmations = 1
    const config = parseConfig(input, {})
    let stopped: (err: Error) => void = () => {}
    const fatal = new Promise<never>((_, reject) => (stopped = reject))
    fatal.catch(() => {})
    const batches: TradeBatch[] = []
    const corrections: string[] = []
    const monitor = await startMonitor({
      common: createCommon(config, { log: createLogger() }),
      onFatal: (err) => stopped(err),
      onBatchApplied: (info) => {
        batches.push(info.batch)
        for (const u of info.unexplained) if (u.token !== NATIVE_TOKEN && !u.opening) corrections.push(`${u.account} ${u.token} ${u.delta} at block ${u.block}`)
      },
    })
    try {
      await body({ monitor, batches, caughtUp: (heads) => Promise.race([waitForCheckpoints(monitor.workers, heads), fatal]) })
      // Every token change was explained by a logged transfer: none had to be corrected from a
      // balance reading (which would hide a transfer applied twice or with the wrong sign).
      expect(corrections).toEqual([])
    } finally {
      await monitor.close()
    }
  } finally {
    await cleanupPrefix(redis, prefix)
    redis.disconnect()
    await db.stop()
  }
}

/** One row per logged balance change of a watched wallet, in the columns of `wallet_transfers`. */
const flowRow = (r: { chainId: number; tx: string; logIndex: number; wallet: string; account: string; token: string; counterparty: string; kind: string; delta: bigint }): string =>
  [r.chainId, r.tx, r.logIndex, r.wallet, r.account, r.token, r.counterparty, r.kind, r.delta].join('|')

/**
 * The Transfer / Deposit / Withdrawal logs of watched wallets from each chain's start to its head,
 * straight from eth_getLogs (every contract) and decoded with viem: one row per wallet side.
 */
async function onChainWalletFlows(heads: Map<number, bigint>): Promise<string[]> {
  const accountOf = new Map(w.wallets.map((wallet, i) => [wallet, ACCOUNT_NAMES[i]!]))
  const rows: string[] = []
  for (const world of w.worlds) {
    const client = createPublicClient({ transport: http(world.rpcUrl) })
    const logs = await client.getLogs({ events: FLOW_EVENTS, fromBlock: world.readyBlock, toBlock: heads.get(world.chainId)!, strict: true })
    for (const log of logs) {
      const base = { chainId: world.chainId, tx: log.transactionHash, logIndex: log.logIndex, token: log.address.toLowerCase() }
      const side = (wallet: Address, counterparty: string, kind: string, delta: bigint): void => {
        const account = accountOf.get(wallet.toLowerCase() as Address)
        if (account !== undefined) rows.push(flowRow({ ...base, wallet: wallet.toLowerCase(), account, counterparty: counterparty.toLowerCase(), kind, delta }))
      }
      if (log.eventName === 'Transfer') {
        if (isAddressEqual(log.args.from, log.args.to)) throw new Error(`a self-transfer in tx ${log.transactionHash}: this test does not expect one`)
        side(log.args.from, log.args.to, 'transfer', -log.args.value)
        side(log.args.to, log.args.from, 'transfer', log.args.value)
      } else if (log.eventName === 'Deposit') side(log.args.dst, ZERO, 'deposit', log.args.wad)
      else side(log.args.src, ZERO, 'withdrawal', -log.args.wad)
    }
  }
  return rows.sort()
}

async function storedWalletFlows(monitor: Monitor): Promise<string[]> {
  const r = await monitor.pool.query<{ chain_id: number; tx_hash: string; log_index: number; wallet: string; account: string; token: string; counterparty: string; kind: string; delta: string }>(
    'SELECT chain_id, tx_hash, log_index, wallet, account, token, counterparty, kind, delta::text AS delta FROM wallet_transfers',
  )
  return r.rows
    .map((x) => flowRow({ chainId: x.chain_id, tx: x.tx_hash, logIndex: x.log_index, wallet: x.wallet, account: x.account, token: x.token, counterparty: x.counterparty, kind: x.kind, delta: BigInt(x.delta) }))
    .sort()
}

/**
 * Token balance changes of watched wallets that the batches' logged transfers do not account for.
 * Positions settle to the closing balance reading of each range, so a transfer lost, counted twice
 * or with the wrong sign would not show in the final positions; here it does: for every reading of
 * a token (ether moves without logs and is left out), the change over the range must equal the sum
 * of the range's logged deltas of that wallet and token, and no log may count twice for a wallet.
 */
function unexplainedTokenChanges(batches: readonly TradeBatch[]): { checked: number; unexplained: string[] } {
  const last = new Map<string, bigint>()
  const unexplained: string[] = []
  let checked = 0
  for (const b of batches) {
    const range = `chain ${b.chainId} blocks ${b.fromBlock}-${b.toBlock}`
    const logged = new Map<string, bigint>()
    const seen = new Set<string>()
    for (const t of b.transfers) {
      const id = `${t.txHash}:${t.logIndex}:${t.wallet}`
      if (seen.has(id)) unexplained.push(`${range}: log ${id} counted twice`)
      seen.add(id)
      const key = `${t.wallet}:${t.token}`
      logged.set(key, (logged.get(key) ?? 0n) + t.delta)
    }
    for (const r of b.readings) {
      const key = `${r.wallet}:${r.token}`
      const pair = `${b.chainId}:${key}`
      const before = r.before ?? last.get(pair)
      last.set(pair, r.after)
      if (r.token === NATIVE_TOKEN) continue
      checked++
      const sum = logged.get(key) ?? 0n
      logged.delete(key)
      if (before === undefined) unexplained.push(`${range}: ${key} has no balance before the range`)
      else if (r.after - before !== sum) unexplained.push(`${range}: ${key} moved ${r.after - before}, its logs ${sum}`)
    }
    for (const [key, sum] of logged) unexplained.push(`${range}: ${key} logged ${sum} with no balance read`)
  }
  return { checked, unexplained }
}

/** Every world token and ether of `wallet` at `block`, keyed like storedPositions, zeros left out. */
async function balancesOf(world: World, account: string, wallet: Address, block: bigint): Promise<Map<string, bigint>> {
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const [tokens, eth] = await Promise.all([readBalances(world, [wallet], block), client.getBalance({ address: wallet, blockNumber: block })])
  const out = new Map<string, bigint>()
  for (const [token, balance] of tokens.get(wallet)!) if (balance !== 0n) out.set(`${account}|${world.chainId}|${token.toLowerCase()}`, balance)
  if (eth !== 0n) out.set(`${account}|${world.chainId}|${NATIVE_TOKEN}`, eth)
  return out
}

function positionsOf(positions: Map<string, bigint>, account: string): Map<string, bigint> {
  return new Map([...positions].filter(([key]) => key.startsWith(`${account}|`)))
}

/** Tokens and ether per watched wallet per chain: 6 world tokens (WETH included) + ether. */
const HOLDINGS = 7

describe("named accounts' positions are their wallets' balances, end to end on two local chains", () => {
  it("opens every watched wallet's positions at the token and ether balances it held before the start, with no logged change", async () => {
    // First in the file: the chains have seen nothing since funding. One empty block per chain is
    // the start block, where the opening balances are read.
    await Promise.all(w.worlds.map((world) => createTestClient({ mode: 'anvil', transport: http(world.rpcUrl) }).mine({ blocks: 1 })))
    const heads = await confirmedHeads()
    for (const world of w.worlds) expect(heads.get(world.chainId)).toBe(world.readyBlock)
    await withMonitor(async ({ monitor, caughtUp }) => {
      await caughtUp(heads)
      const expected = await expectedPositions(w, heads)
      expect(expected.size).toBe(w.wallets.length * HOLDINGS * w.worlds.length)
      expect(await storedPositions((q) => monitor.pool.query(q))).toEqual(expected)
      expect(await storedWalletFlows(monitor)).toEqual([])
    })
  })

  it('keeps positions equal to token and ether balances, to the wei, through swaps, transfers, wraps, unwraps and ether moves', async () => {
    await withMonitor(async ({ monitor, batches, caughtUp }) => {
      const runs = await Promise.all(
        w.worlds.map(async (world, c) => {
          const traders = w.traders[c]!.slice(0, ACTIVE)
          const swaps: Record<string, number> = {}
          const actions: Record<string, number> = {}
          for (let round = 0; round < ROUNDS; round++) {
            const seed = 1000 * (c + 1) + round
            const s = await runRandomTraders(world, { traders, swaps: PER_ROUND, seed })
            for (const [kind, n] of Object.entries(s.swapsByKind)) swaps[kind] = (swaps[kind] ?? 0) + n
            const a = await runWalletActivity(world, { traders, steps: PER_ROUND, seed, outsider: OUTSIDER })
            for (const [action, n] of Object.entries(a.byAction)) actions[action] = (actions[action] ?? 0) + n
          }
          return { swaps: swaps as Record<SwapKind, number>, actions: actions as Record<WalletAction, number> }
        }),
      )
      for (const run of runs) {
        expect(sum(run.swaps)).toBe(ROUNDS * PER_ROUND)
        expect(sum(run.actions)).toBe(ROUNDS * PER_ROUND)
        for (const kind of SWAP_KINDS) expect(run.swaps[kind], kind).toBeGreaterThanOrEqual(1)
        for (const action of WALLET_ACTIONS) expect(run.actions[action], action).toBeGreaterThanOrEqual(1)
      }

      const heads = await confirmedHeads()
      await caughtUp(heads)
      const stored = await storedPositions((q) => monitor.pool.query(q))
      const expected = await expectedPositions(w, heads)
      expect(expected.size).toBe(w.wallets.length * HOLDINGS * w.worlds.length)
      expect(stored).toEqual(expected)

      // The wallet that never moved keeps exactly what it held before the start.
      const idleWallet = w.wallets[ACTIVE]!
      const opening = new Map<string, bigint>()
      for (const world of w.worlds) for (const [k, v] of await balancesOf(world, IDLE, idleWallet, world.readyBlock - 1n)) opening.set(k, v)
      expect(opening.size).toBe(HOLDINGS * w.worlds.length)
      expect(positionsOf(stored, IDLE)).toEqual(opening)

      // Every logged change of a watched wallet is stored once, as the chain has it.
      const flows = await storedWalletFlows(monitor)
      const onChain = await onChainWalletFlows(heads)
      expect(flows).toEqual(onChain)
      const dupes = await monitor.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM (SELECT chain_id, tx_hash, log_index, wallet FROM wallet_transfers GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d',
      )
      expect(dupes.rows[0]!.n).toBe('0')
      const kinds = await monitor.pool.query<{ chain_id: number; kind: string; n: string }>(
        'SELECT chain_id, kind, count(*) AS n FROM wallet_transfers GROUP BY 1, 2 ORDER BY 1, 2',
      )
      const count = (chainId: number, kind: string): number => Number(kinds.rows.find((r) => r.chain_id === chainId && r.kind === kind)?.n ?? 0)
      w.worlds.forEach((world, c) => {
        // Only the wallets' own wraps and unwraps log a Deposit / Withdrawal of theirs (the router's are its own).
        expect(count(world.chainId, 'deposit')).toBe(runs[c]!.actions.wrap)
        expect(count(world.chainId, 'withdrawal')).toBe(runs[c]!.actions.unwrap)
        // Each token-to-token swap moves two of the trader's tokens (in and out, whatever the hops);
        // a transfer between watched wallets is two changes; a send-out and an ether swap one each.
        const a = runs[c]!.actions
        expect(count(world.chainId, 'transfer')).toBe(2 * ROUNDS * PER_ROUND + 2 * a.transfer + a['send-out'] + a['swap-eth-in'] + a['swap-eth-out'])
      })
      expect(flows.filter((f) => f.includes(`|${IDLE}|`))).toEqual([])

      // Token positions are the opening balances plus the logged changes alone: no ERC20 change was
      // left for the closing balance reading to explain (only ether moves without logs).
      const sums = await monitor.pool.query<{ account: string; chain_id: number; token: string; delta: string }>(
        'SELECT account, chain_id, token, sum(delta)::text AS delta FROM wallet_transfers GROUP BY 1, 2, 3',
      )
      const explained = new Map<string, bigint>()
      for (const world of w.worlds)
        for (const [i, wallet] of w.wallets.entries())
          for (const [k, v] of await balancesOf(world, ACCOUNT_NAMES[i]!, wallet, world.readyBlock - 1n)) if (!k.endsWith(NATIVE_TOKEN)) explained.set(k, v)
      for (const r of sums.rows) {
        const key = `${r.account}|${r.chain_id}|${r.token}`
        explained.set(key, (explained.get(key) ?? 0n) + BigInt(r.delta))
      }
      for (const [k, v] of explained) if (v === 0n) explained.delete(k)
      expect(new Map([...stored].filter(([k]) => !k.endsWith(NATIVE_TOKEN)))).toEqual(explained)
      // … and range by range, as the shards received them.
      const ranges = unexplainedTokenChanges(batches)
      expect(ranges.unexplained).toEqual([])
      expect(ranges.checked).toBeGreaterThan(w.wallets.length * (HOLDINGS - 1) * w.worlds.length)
    })
  })

  it('attributes a relayed swap to the watched wallet that receives its proceeds, whose position still equals its balance', async () => {
    const bob = { account: ACCOUNT_NAMES[1]!, wallet: w.wallets[1]! }
    // The relayer is funded before the monitor starts: a wallet outside every account, trading its own tokens.
    await Promise.all(w.worlds.map((world) => fundTraders(world, [RELAYER])))
    const before = await headBlocks(w)
    await withMonitor(async ({ monitor, caughtUp }) => {
      const relayed = await Promise.all(w.worlds.map((world) => relaySwaps(world, RELAYER, bob.wallet)))
      const heads = await confirmedHeads()
      await caughtUp(heads)

      expect(await storedPositions((q) => monitor.pool.query(q))).toEqual(await expectedPositions(w, heads))
      // The relayed swaps did move bob's balance: by exactly their proceeds.
      for (const [c, world] of w.worlds.entries()) {
        const usdc = world.usdc.address
        const [then, now] = await Promise.all(
          [before, heads].map((b) => createPublicClient({ transport: http(world.rpcUrl) }).readContract({ address: usdc, abi: erc20Abi, functionName: 'balanceOf', args: [bob.wallet], blockNumber: b.get(world.chainId)! })),
        )
        expect(now! - then!).toBe(relayed[c]!.reduce((s, r) => s + r.amountOut, 0n))
      }

      const trades = await monitor.pool.query<{ account: string; wallet: string; chain_id: number; tx_hash: string; token_in: string; token_out: string; amount_in: string; amount_out: string }>(
        'SELECT account, wallet, chain_id, tx_hash, token_in, token_out, amount_in::text AS amount_in, amount_out::text AS amount_out FROM trades WHERE tx_hash = ANY($1) ORDER BY chain_id, tx_hash',
        [relayed.flat().map((r) => r.txHash)],
      )
      const expected = w.worlds
        .flatMap((world, c) =>
          relayed[c]!.map((r) => ({
            account: bob.account,
            wallet: RELAYER.address.toLowerCase(),
            chain_id: world.chainId,
            tx_hash: r.txHash,
            token_in: world.weth.address.toLowerCase(),
            token_out: world.usdc.address.toLowerCase(),
            amount_in: r.amountIn.toString(),
            amount_out: r.amountOut.toString(),
          })),
        )
        .sort((a, b) => a.chain_id - b.chain_id || (a.tx_hash < b.tx_hash ? -1 : 1))
      expect(expected).toHaveLength(4)
      expect(trades.rows).toEqual(expected)
    })
  })
})

/**
 * A relayer's WETH → USDC swaps, one through the V2 router and one through the V3 router, with
 * `recipient` = a watched wallet: the transaction sender is in no account, the proceeds are the
 * wallet's (a smart wallet whose transactions a relayer or bundler sends). Amounts from the receipts.
 */
async function relaySwaps(world: World, relayer: LocalAccount, recipient: Address): Promise<{ txHash: Hex; amountIn: bigint; amountOut: bigint }[]> {
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const sender = await createSender({ client, account: relayer, chainId: world.chainId })
  const routes = buildRoutes(world)
  const direct = (family: 'uniswap-v2' | 'uniswap-v3') => {
    const route = routes
      .find((f) => f.family === family)!
      .direct.find((r) => isAddressEqual(r.tokens[0]!, world.weth.address) && isAddressEqual(r.tokens[1]!, world.usdc.address))
    if (!route) throw new Error(`no direct ${family} WETH→USDC route on chain ${world.chainId}`)
    return route
  }
  const amount = 10n ** 18n
  const hashes: Hex[] = []
  for (const [kind, family] of [['v2-exact-in', 'uniswap-v2'], ['v3-exact-in', 'uniswap-v3']] as const) {
    const call = encodeSwap(world, { kind, route: direct(family), amount, recipient })
    hashes.push(await sender.send({ ...call, gas: 600_000n }))
  }
  const receipts = await waitForReceipts(client, hashes, { senders: [sender] })
  return receipts.map((receipt) => {
    expect(receipt.status).toBe('success')
    let amountIn = 0n
    let amountOut = 0n
    for (const log of parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs })) {
      if (isAddressEqual(log.address, world.weth.address) && isAddressEqual(log.args.from, relayer.address)) amountIn += log.args.value
      if (isAddressEqual(log.address, world.usdc.address) && isAddressEqual(log.args.to, recipient)) amountOut += log.args.value
    }
    expect(amountIn).toBe(amount)
    expect(amountOut).toBeGreaterThan(0n)
    return { txHash: receipt.transactionHash, amountIn, amountOut }
  })
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((s, n) => s + n, 0)
}
