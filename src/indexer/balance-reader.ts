import { erc20Abi, type Address, type PublicClient } from 'viem'
import { isDecodeFailure, isRevert, isTransportError } from '../chain/call-errors.ts'
import type { Logger } from 'pino'
import { NATIVE_TOKEN, type BalanceReading } from '../domain/types.ts'
import { errorLine } from '../errors.ts'

export type BalanceReader = {
  /**
   * Balances of watched wallets before and after a range: every (wallet, token) pair `touched`
   * by a logged change, ether for every wallet (it moves without logs), and with `opening` every
   * wallet × `openingTokens` (the start of indexing: a desk's holdings count before they move), or
   * only the wallets `opening` names (wallets added to an account while following).
   * `before` is left null where this reader published that very balance at the end of the
   * previous range, so a live follow costs one read per pair and range.
   */
  read(
    range: { fromBlock: bigint; toBlock: bigint },
    touched: ReadonlyMap<Address, ReadonlySet<Address>>,
    opening: boolean | ReadonlySet<Address>,
    decimals: (token: Address) => number | null,
  ): Promise<BalanceReading[]>
  /** The wallets to watch from the next read on (accounts changed); a wallet no longer watched is forgotten. */
  setWallets(wallets: readonly Address[]): void
  /** Forgets the balances published so far (after a reorg): the next read takes every `before` from the chain. */
  forget(): void
}

/**
 * Reads watched wallets' balances at given blocks (an archive node, or a recent enough range, is
 * needed for past blocks). Requests go out together; the chain client batches them into JSON-RPC
 * batch requests. A token whose `balanceOf` reverts is not a balance this reader can check: it is
 * left out (its position follows its logged transfers alone) and named in a warning once.
 */
export function createBalanceReader(opts: {
  client: PublicClient
  chainId: number
  wallets: readonly Address[]
  openingTokens: readonly Address[]
  log: Logger
}): BalanceReader {
  const { client, chainId, log } = opts
  let wallets: readonly Address[] = opts.wallets
  /** `${wallet}:${token}` → the balance published at the end of the last range. */
  const last = new Map<string, { block: bigint; balance: bigint }>()
  const unreadable = new Set<Address>()

  const balanceAt = async (wallet: Address, token: Address, blockNumber: bigint): Promise<bigint | null> => {
    if (token === NATIVE_TOKEN) return client.getBalance({ address: wallet, blockNumber })
    try {
      return await client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [wallet], blockNumber })
    } catch (err) {
      if (isTransportError(err)) throw err
      // No contract at that block yet (a token deployed inside the range): its balance was zero.
      if (isRevert(err) && (await client.getCode({ address: token, blockNumber })) === undefined) return 0n
      if (!isRevert(err) && !isDecodeFailure(err)) log.warn({ chainId, token, err: errorLine(err) }, 'balanceOf failed in an unexpected way; treating the token as unreadable')
      if (!unreadable.has(token)) {
        unreadable.add(token)
        log.warn({ chainId, token, block: blockNumber.toString(), err: errorLine(err) }, 'balanceOf fails on this token: its positions follow logged transfers only')
      }
      return null
    }
  }

  return {
    forget: () => last.clear(),
    setWallets(next) {
      const kept = new Set(next)
      for (const key of last.keys()) if (!kept.has(key.slice(0, key.indexOf(':')) as Address)) last.delete(key)
      wallets = [...next]
    },
    async read(range, touched, opening, decimalsOf) {
      const pairs = new Map<string, { wallet: Address; token: Address }>()
      const add = (wallet: Address, token: Address): void => {
        if (!unreadable.has(token)) pairs.set(`${wallet}:${token}`, { wallet, token })
      }
      for (const wallet of wallets) {
        add(wallet, NATIVE_TOKEN)
        if (opening === true || (opening !== false && opening.has(wallet))) for (const token of opts.openingTokens) add(wallet, token)
      }
      for (const [wallet, tokens] of touched) for (const token of tokens) add(wallet, token)

      // Before block 0 is the genesis state, which block 0 holds unchanged (a genesis block has no
      // transactions); there is no block −1 to ask for (an RPC refuses it as invalid params).
      const beforeBlock = range.fromBlock > 0n ? range.fromBlock - 1n : 0n
      const readings = await Promise.all(
        [...pairs].map(async ([key, { wallet, token }]) => {
          const known = last.get(key)
          const [before, after] = await Promise.all([
            known?.block === beforeBlock ? Promise.resolve(undefined) : balanceAt(wallet, token, beforeBlock),
            balanceAt(wallet, token, range.toBlock),
          ])
          if (before === null || after === null) return null
          const decimals = token === NATIVE_TOKEN ? 18 : decimalsOf(token)
          return { chainId, wallet, token, beforeBlock, before: before ?? null, afterBlock: range.toBlock, after, decimals } satisfies BalanceReading
        }),
      )
      const out = readings.filter((r): r is BalanceReading => r !== null)
      for (const r of out) last.set(`${r.wallet}:${r.token}`, { block: r.afterBlock, balance: r.after })
      return out.sort((a, b) => (a.wallet !== b.wallet ? (a.wallet < b.wallet ? -1 : 1) : a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
    },
  }
}

