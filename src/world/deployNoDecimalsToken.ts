import { createPublicClient, encodeDeployData, encodeFunctionData, erc20Abi, getContractAddress, http, maxUint256, type Address, type Hex } from 'viem'
import { BaseError } from '../errors.ts'
import { v2RouterAbi, weth9Abi } from './abis.ts'
import { anvilAccount } from './accounts.ts'
import { worldArtifacts } from './artifacts.ts'
import type { World, WorldPool, WorldToken } from './deploy.ts'
import { sortTokens, v2PairAddress } from './poolMath.ts'
import { createSender, waitForReceipts } from './sender.ts'

export type NoDecimalsTokenOptions = {
  /** Default 'No Decimals', 'NODEC'. */
  name?: string
  symbol?: string
  /**
   * Also open a V2 pair of the new token against this world token, seeded by the deployer with
   * `amounts` (raw units, new token first). Default: no pair.
   */
  pair?: { with: WorldToken; amounts: [bigint, bigint] }
}

/**
 * Deploys a NoDecimalsToken (an ERC20 whose `decimals()` reverts) into a world, for fault tests,
 * and optionally a V2 pair that trades it. The token's `mint` is open, so traders fund themselves.
 */
export async function deployNoDecimalsToken(world: World, opts: NoDecimalsTokenOptions = {}): Promise<{ address: Address; pool: WorldPool | null }> {
  const client = createPublicClient({ transport: http(world.rpcUrl) })
  const account = anvilAccount(0)
  const sender = await createSender({ client, account, chainId: world.chainId })
  const art = worldArtifacts().noDecimalsToken
  const address = getContractAddress({ from: account.address, nonce: BigInt(sender.nextNonce()) })
  const hashes: Promise<Hex>[] = [
    sender.send({ data: encodeDeployData({ abi: art.abi, bytecode: art.bytecode, args: [opts.name ?? 'No Decimals', opts.symbol ?? 'NODEC'] }), gas: 1_500_000n }),
  ]
  let pool: WorldPool | null = null
  if (opts.pair) {
    const other = opts.pair.with
    const [amountToken, amountOther] = opts.pair.amounts
    const call = (to: Address, data: Hex, gas = 100_000n, value?: bigint) => hashes.push(sender.send({ to, data, gas, value }))
    call(address, encodeFunctionData({ abi: art.abi, functionName: 'mint', args: [account.address, amountToken] }))
    if (other.address === world.weth.address) call(other.address, encodeFunctionData({ abi: weth9Abi, functionName: 'deposit' }), 100_000n, amountOther)
    else call(other.address, encodeFunctionData({ abi: worldArtifacts().testToken.abi, functionName: 'mint', args: [account.address, amountOther] }))
    call(address, encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [world.v2.router, maxUint256] }))
    call(other.address, encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [world.v2.router, maxUint256] }))
    const args = [address, other.address, amountToken, amountOther, 0n, 0n, account.address, maxUint256] as const
    call(world.v2.router, encodeFunctionData({ abi: v2RouterAbi, functionName: 'addLiquidity', args }), 4_000_000n)
    const [token0, token1] = sortTokens(address, other.address)
    pool = { family: 'uniswap-v2', address: v2PairAddress(world.v2.factory, worldArtifacts().v2PairInitCodeHash, address, other.address), token0, token1, fee: null }
  }
  const receipts = await waitForReceipts(client, await Promise.all(hashes), { senders: [sender] })
  const failed = receipts.find((r) => r.status !== 'success')
  if (failed) throw new BaseError('deployNoDecimalsToken: a transaction reverted', { context: { chainId: world.chainId, tx: failed.transactionHash } })
  return { address, pool }
}
