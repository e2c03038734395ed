import { createPublicClient, encodeFunctionData, erc20Abi, http, type Address, type Hex, type LocalAccount } from 'viem'
import { BaseError } from '../errors.ts'
import { v2RouterAbi, weth9Abi } from './abis.ts'
import type { World } from './deploy.ts'
import { createRandom } from './random.ts'
import { createSender, waitForReceipts, type Sender } from './sender.ts'

/**
 * What a desk does besides swapping tokens for tokens, each a real transaction:
 * - `transfer`: an ERC20 transfer to another watched wallet; `send-out`: to an outside address
 * - `wrap` / `unwrap`: WETH9 deposit and withdraw (Deposit / Withdrawal events, no Transfer)
 * - `eth-transfer`: plain ether to another watched wallet (no log at all)
 * - `swap-eth-in` / `swap-eth-out`: Router02 swapExactETHForTokens / swapExactTokensForETH (ether
 *   moves through the router inside the transaction: internal transfers, no log of the wallet's)
 */
export type WalletAction = 'transfer' | 'send-out' | 'wrap' | 'unwrap' | 'eth-transfer' | 'swap-eth-in' | 'swap-eth-out'

export const WALLET_ACTIONS: readonly WalletAction[] = ['transfer', 'send-out', 'wrap', 'unwrap', 'eth-transfer', 'swap-eth-in', 'swap-eth-out']

/**
 * Sends `steps` seeded random wallet actions among `traders` (funded by fundTraders: tokens
 * minted, WETH wrapped, routers approved). The first seven cover every action once. Amounts are a
 * small share (0.01%–1%) of what the sender holds. Every transaction must succeed.
 */
export async function runWalletActivity(
  world: World,
  opts: { traders: LocalAccount[]; steps: number; seed: number; outsider: Address },
): Promise<{ byAction: Record<WalletAction, number>; txHashes: Hex[] }> {
  if (opts.traders.length < 2) throw new BaseError('runWalletActivity: needs two traders or more', { context: { chainId: world.chainId } })
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const random = createRandom(opts.seed)
  const senders = new Map<Address, Sender>()
  for (const t of opts.traders) senders.set(t.address, await createSender({ client, account: t, chainId: world.chainId }))
  const byAction = Object.fromEntries(WALLET_ACTIONS.map((a) => [a, 0])) as Record<WalletAction, number>
  const txHashes: Hex[] = []
  const wethPairTokens = world.pools
    .filter((p) => p.family === 'uniswap-v2' && (p.token0 === world.weth.address || p.token1 === world.weth.address))
    .map((p) => (p.token0 === world.weth.address ? p.token1 : p.token0))
  if (wethPairTokens.length === 0) throw new BaseError('runWalletActivity: no V2 pair with WETH', { context: { chainId: world.chainId } })
  const deadline = 2n ** 40n
  const share = (amount: bigint): bigint => (amount * BigInt(Math.round(10 ** (2 + 2 * random.next())))) / 1_000_000n

  for (let step = 0; step < opts.steps; step++) {
    const action = WALLET_ACTIONS[step] ?? random.pick(WALLET_ACTIONS)
    const from = random.pick(opts.traders)
    const others = opts.traders.filter((t) => t !== from)
    const to = random.pick(others).address
    const sender = senders.get(from.address)!
    const eth = await client.getBalance({ address: from.address })
    const spendableEth = eth > 10n ** 18n ? eth - 10n ** 18n : 0n // keep 1 ETH for gas
    let tx: { to: Address; data: Hex; value?: bigint; gas: bigint }
    switch (action) {
      case 'transfer':
      case 'send-out': {
        const token = random.pick(world.tokens)
        const bal = await client.readContract({ address: token.address, abi: erc20Abi, functionName: 'balanceOf', args: [from.address] })
        const recipient = action === 'transfer' ? to : opts.outsider
        tx = { to: token.address, data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [recipient, share(bal)] }), gas: 100_000n }
        break
      }
      case 'wrap':
        tx = { to: world.weth.address, data: encodeFunctionData({ abi: weth9Abi, functionName: 'deposit' }), value: share(spendableEth), gas: 100_000n }
        break
      case 'unwrap': {
        const bal = await client.readContract({ address: world.weth.address, abi: erc20Abi, functionName: 'balanceOf', args: [from.address] })
        tx = { to: world.weth.address, data: encodeFunctionData({ abi: weth9Abi, functionName: 'withdraw', args: [share(bal)] }), gas: 100_000n }
        break
      }
      case 'eth-transfer':
        tx = { to, data: '0x', value: share(spendableEth), gas: 21_000n }
        break
      case 'swap-eth-in': {
        const token = random.pick(wethPairTokens)
        const data = encodeFunctionData({ abi: v2RouterAbi, functionName: 'swapExactETHForTokens', args: [0n, [world.weth.address, token], from.address, deadline] })
        tx = { to: world.v2.router, data, value: share(spendableEth), gas: 300_000n }
        break
      }
      case 'swap-eth-out': {
        const token = random.pick(wethPairTokens)
        const bal = await client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [from.address] })
        const data = encodeFunctionData({ abi: v2RouterAbi, functionName: 'swapExactTokensForETH', args: [share(bal), 0n, [token, world.weth.address], from.address, deadline] })
        tx = { to: world.v2.router, data, gas: 300_000n }
        break
      }
    }
    const hash = await sender.send(tx)
    const [receipt] = await waitForReceipts(client, [hash], { senders: [sender] })
    if (receipt!.status !== 'success')
      throw new BaseError(`runWalletActivity: ${action} reverted`, { context: { chainId: world.chainId, account: from.address, tx: hash } })
    byAction[action]++
    txHashes.push(hash)
  }
  return { byAction, txHashes }
}

