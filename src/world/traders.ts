import {
  BaseError as ViemBaseError,
  ExecutionRevertedError,
  createPublicClient,
  createTestClient,
  encodeFunctionData,
  erc20Abi,
  http,
  isAddressEqual,
  maxUint256,
  parseEventLogs,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { NATIVE_TOKEN } from '../domain/types.ts'
import { BaseError } from '../errors.ts'
import { weth9Abi } from './abis.ts'
import { anvilAccount } from './accounts.ts'
import type { World } from './deploy.ts'
import { createRandom, type Random } from './random.ts'
import { createSender, waitForReceipts, type Sender } from './sender.ts'
import { SWAP_KINDS, buildRoutes, encodeSwap, kindShape, type Route, type SwapKind } from './swaps.ts'
import { TEST_TOKEN_SPECS, WETH_SPEC, amountForUsd } from './worldSpec.ts'

export type FundTradersOptions = {
  /** USD value of each token minted (or, for WETH, wrapped) per trader. Default 10,000,000. */
  usd?: number
  log?: (msg: string) => void
}

/** How far fundTraders looks in the anvil mnemonic for an address it is given. */
const MAX_ACCOUNT_INDEX = 100
const GAS_ETH = 10n ** 19n

/**
 * Readies anvil accounts to trade: mints every TestToken, wraps ETH into WETH (anvil_setBalance
 * tops up the ETH first) and approves both routers for every token. `traders` is a count (accounts
 * 1..N of the anvil mnemonic) or addresses / accounts from that mnemonic.
 */
export async function fundTraders(world: World, traders: number | readonly (Address | LocalAccount)[], opts: FundTradersOptions = {}): Promise<LocalAccount[]> {
  const accounts = resolveAccounts(traders)
  const usd = opts.usd ?? 10_000_000
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const testClient = createTestClient({ mode: 'anvil', transport: http(world.rpcUrl) })
  const specs = new Map([WETH_SPEC, ...TEST_TOKEN_SPECS].map((s) => [s.symbol, s]))
  const wrap = amountForUsd(WETH_SPEC, usd)
  await Promise.all(
    accounts.map(async (account) => {
      const eth = await client.getBalance({ address: account.address })
      // Keep the ETH it had (or 10 ETH for gas, for accounts past anvil's ten funded ones) on top of what it wraps.
      await testClient.setBalance({ address: account.address, value: (eth > GAS_ETH ? eth : GAS_ETH) + wrap })
      const sender = await createSender({ client, account, chainId: world.chainId })
      const hashes: Promise<Hex>[] = []
      hashes.push(sender.send({ to: world.weth.address, data: encodeFunctionData({ abi: weth9Abi, functionName: 'deposit' }), value: wrap, gas: 100_000n }))
      for (const token of world.tokens) {
        const spec = specs.get(token.symbol)
        if (!spec) throw new BaseError(`fundTraders: no price for token ${token.symbol}`, { context: { chainId: world.chainId, token: token.address } })
        if (token.address !== world.weth.address) {
          const data = encodeFunctionData({ abi: worldMintAbi, functionName: 'mint', args: [account.address, amountForUsd(spec, usd)] })
          hashes.push(sender.send({ to: token.address, data, gas: 100_000n }))
        }
        for (const spender of [world.v2.router, world.v3.router]) {
          const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, maxUint256] })
          hashes.push(sender.send({ to: token.address, data, gas: 100_000n }))
        }
      }
      const receipts = await waitForReceipts(client, await Promise.all(hashes), { senders: [sender] })
      const failed = receipts.find((r) => r.status !== 'success')
      if (failed) throw new BaseError('fundTraders: a funding transaction reverted', { context: { chainId: world.chainId, account: account.address, tx: failed.transactionHash } })
    }),
  )
  opts.log?.(`world: chain ${world.chainId} funded ${accounts.length} traders with $${usd} of each token`)
  return accounts
}

const worldMintAbi = [
  { type: 'function', name: 'mint', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [] },
] as const

function resolveAccounts(traders: number | readonly (Address | LocalAccount)[]): LocalAccount[] {
  if (typeof traders === 'number') return Array.from({ length: traders }, (_, i) => anvilAccount(i + 1))
  let known: LocalAccount[] | undefined
  return traders.map((t) => {
    if (typeof t !== 'string') return t
    known ??= Array.from({ length: MAX_ACCOUNT_INDEX }, (_, i) => anvilAccount(i))
    const found = known.find((a) => isAddressEqual(a.address, t))
    if (!found) throw new BaseError(`fundTraders: ${t} is not among the first ${MAX_ACCOUNT_INDEX} accounts of the anvil mnemonic`, { context: { account: t } })
    return found
  })
}

/** One confirmed swap, with the amounts read from the receipt's ERC20 transfers to and from the trader. */
export type TraderSwap = {
  kind: SwapKind
  trader: Address
  txHash: Hex
  blockNumber: bigint
  /** Tokens in order of the route, input first. */
  path: Address[]
  tokenIn: Address
  tokenOut: Address
  amountIn: bigint
  amountOut: bigint
}

export type TraderRunSummary = {
  swapsSent: number
  swapsByKind: Record<string, number>
  txHashes: Hex[]
  swaps: TraderSwap[]
}

export type RunRandomTradersOptions = {
  traders: LocalAccount[]
  swaps: number
  seed: number
  log?: (msg: string) => void
}

/** Attempts per swap before the run gives up (each attempt is a fresh route, direction and size). */
const MAX_ATTEMPTS = 25

/**
 * Sends `swaps` random swaps through the real routers, ERC20 to ERC20, proceeds to the trader.
 * A seeded PRNG picks trader, kind, route and size (0.01%–1% of the pool's reserve of the token
 * fixed by the swap). The first 8 swaps cover every SwapKind once, in a seeded order. Each swap
 * is simulated first; one that would revert is replaced by another pick, never counted. Swaps of
 * different traders are in flight together; a trader's next swap waits for its last receipt.
 * On an automining node the run is deterministic for a given world and seed.
 */
export async function runRandomTraders(world: World, opts: RunRandomTradersOptions): Promise<TraderRunSummary> {
  const started = Date.now()
  if (opts.traders.length === 0) throw new BaseError('runRandomTraders: no traders', { context: { chainId: world.chainId } })
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const random = createRandom(opts.seed)
  const families = buildRoutes(world)
  const depth = await poolDepths(client, world)
  const senders = new Map<Address, Sender>()
  for (const trader of opts.traders) senders.set(trader.address, await createSender({ client, account: trader, chainId: world.chainId }))
  const coverage = shuffle(random, SWAP_KINDS)
  const swapsByKind: Record<string, number> = Object.fromEntries(SWAP_KINDS.map((k) => [k, 0]))
  const confirmed: TraderSwap[] = []
  let inFlight: { plan: SwapPlan; hash: Hex }[] = []
  let reverted = 0

  const flush = async () => {
    const receipts = await waitForReceipts(client, inFlight.map((f) => f.hash), { senders: [...senders.values()] })
    inFlight.forEach(({ plan }, i) => {
      const receipt = receipts[i] as TransactionReceipt
      if (receipt.status === 'success') return confirmed.push(readSwap(plan, receipt))
      reverted++
      opts.log?.(`traders: ${plan.kind} by ${plan.trader} reverted on chain (tx ${receipt.transactionHash}); not counted`)
    })
    inFlight = []
    if (reverted > opts.swaps) throw new BaseError(`runRandomTraders: ${reverted} swaps reverted on chain`, { context: { chainId: world.chainId } })
  }

  for (let step = 0; confirmed.length + inFlight.length < opts.swaps || inFlight.length > 0; step++) {
    if (confirmed.length + inFlight.length >= opts.swaps) {
      await flush()
      continue
    }
    const trader = random.pick(opts.traders)
    if (inFlight.some((f) => f.plan.trader === trader.address)) await flush()
    const kind = coverage[confirmed.length + inFlight.length] ?? random.pick(SWAP_KINDS)
    const plan = await planSwap({ client, world, random, families, depth, trader: trader.address, kind, log: opts.log })
    const sender = senders.get(trader.address) as Sender
    inFlight.push({ plan, hash: await sender.send({ to: plan.to, data: plan.data, gas: SWAP_GAS }) })
  }

  for (const swap of confirmed) swapsByKind[swap.kind] = (swapsByKind[swap.kind] ?? 0) + 1
  opts.log?.(`traders: chain ${world.chainId} ${confirmed.length} swaps by ${opts.traders.length} traders in ${Date.now() - started} ms`)
  return { swapsSent: confirmed.length, swapsByKind, txHashes: confirmed.map((s) => s.txHash), swaps: confirmed }
}

// Generous for a two-hop V3 swap; unused gas is refunded.
const SWAP_GAS = 600_000n

type SwapPlan = { kind: SwapKind; trader: Address; route: Route; amount: bigint; to: Address; data: Hex }

async function planSwap(ctx: {
  client: PublicClient
  world: World
  random: Random
  families: ReturnType<typeof buildRoutes>
  depth: Map<Address, Map<Address, bigint>>
  trader: Address
  kind: SwapKind
  log?: (msg: string) => void
}): Promise<SwapPlan> {
  const { client, world, random, trader } = ctx
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Keep the chosen kind for a few attempts, then let any kind stand in.
    const kind = attempt < 5 ? ctx.kind : random.pick(SWAP_KINDS)
    const shape = kindShape(kind)
    const family = ctx.families.find((f) => f.family === shape.family)
    const routes = shape.multihop ? family?.multihop : family?.direct
    if (!routes?.length) continue
    const route = random.pick(routes)
    // Size against the reserve of the token the swap fixes: the input, or the output for exact-out.
    const pool = shape.exactOut ? route.pools[route.pools.length - 1] : route.pools[0]
    const token = shape.exactOut ? route.tokens[route.tokens.length - 1] : route.tokens[0]
    const reserve = pool && token ? (ctx.depth.get(pool.address)?.get(token) ?? 0n) : 0n
    const ppm = BigInt(Math.round(10 ** (2 + 2 * random.next())))
    const amount = (reserve * ppm) / 1_000_000n
    if (amount === 0n) continue
    const call = encodeSwap(world, { kind, route, amount, recipient: trader })
    try {
      await client.call({ account: trader, to: call.to, data: call.data })
    } catch (err) {
      if (!isRevert(err)) throw err
      ctx.log?.(`traders: ${kind} ${route.tokens.join('→')} of ${amount} by ${trader} would revert; picking another`)
      continue
    }
    return { kind, trader, route, amount, ...call }
  }
  throw new BaseError(`runRandomTraders: no swap that would succeed after ${MAX_ATTEMPTS} attempts`, { context: { chainId: world.chainId, account: trader } })
}

function isRevert(err: unknown): boolean {
  return err instanceof ViemBaseError && err.walk((e) => e instanceof ExecutionRevertedError) !== null
}

function readSwap(plan: SwapPlan, receipt: TransactionReceipt): TraderSwap {
  const tokenIn = plan.route.tokens[0] as Address
  const tokenOut = plan.route.tokens[plan.route.tokens.length - 1] as Address
  let amountIn = 0n
  let amountOut = 0n
  for (const log of parseEventLogs({ abi: erc20Abi, eventName: 'Transfer', logs: receipt.logs })) {
    if (isAddressEqual(log.address, tokenIn) && isAddressEqual(log.args.from, plan.trader)) amountIn += log.args.value
    if (isAddressEqual(log.address, tokenOut) && isAddressEqual(log.args.to, plan.trader)) amountOut += log.args.value
  }
  return { kind: plan.kind, trader: plan.trader, txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, path: plan.route.tokens, tokenIn, tokenOut, amountIn, amountOut }
}

/** Each pool's balance of its two tokens: the reserves swap sizes are drawn against. */
async function poolDepths(client: PublicClient, world: World): Promise<Map<Address, Map<Address, bigint>>> {
  const entries = await Promise.all(
    world.pools.map(async (pool) => {
      const [b0, b1] = await Promise.all(
        [pool.token0, pool.token1].map((token) => client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [pool.address] })),
      )
      return [pool.address, new Map([[pool.token0, b0 ?? 0n], [pool.token1, b1 ?? 0n]])] as const
    }),
  )
  return new Map(entries)
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

/**
 * Every world token's balanceOf for every wallet, at `blockNumber` (default latest); with
 * `ether`, the wallet's eth_getBalance too, under NATIVE_TOKEN.
 */
export async function readBalances(
  world: World,
  wallets: readonly Address[],
  blockNumber?: bigint,
  opts: { ether?: boolean } = {},
): Promise<Map<Address, Map<Address, bigint>>> {
  const client = createPublicClient({ transport: http(world.rpcUrl, { batch: true }) })
  const rows = await Promise.all(
    wallets.map(async (wallet) => {
      const [balances, ether] = await Promise.all([
        Promise.all(world.tokens.map((token) => client.readContract({ address: token.address, abi: erc20Abi, functionName: 'balanceOf', args: [wallet], blockNumber }))),
        opts.ether ? client.getBalance({ address: wallet, blockNumber }) : undefined,
      ])
      const m = new Map(world.tokens.map((t, i) => [t.address, balances[i] ?? 0n]))
      if (ether !== undefined) m.set(NATIVE_TOKEN, ether)
      return [wallet, m] as const
    }),
  )
  return new Map(rows)
}
