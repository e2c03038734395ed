import solc from 'solc'
import { createPublicClient, encodeDeployData, encodeFunctionData, getContractAddress, http, type Abi, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from 'viem'
import { anvilAccount } from '../../../src/world/accounts.ts'
import { testTokenAbi, testTokenBytecode } from '../../../src/world/contracts/testToken.ts'
import { createSender, waitForReceipts, type Sender } from '../../../src/world/sender.ts'

/** A contract's ABI and creation code. */
export type Compiled = { abi: Abi; bytecode: Hex }

/**
 * The license and pragma lines, then `IToken`: the ERC20 functions the family contracts call on
 * their tokens. Family setups append their own contracts after it; the tokens themselves are
 * `TEST_TOKEN`, deployed from its committed artifact.
 */
export const TOKEN_INTERFACE_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
    function balanceOf(address owner) external view returns (uint256);
    function decimals() external view returns (uint8);
}
`

/**
 * The project's TestToken (src/world/contracts/TestToken.sol), every family's test token:
 * constructor `(string name, string symbol, uint8 decimals)`, `mint(to, amount)` open to anyone,
 * an allowance of type(uint256).max never spent.
 */
export const TEST_TOKEN: Compiled = { abi: testTokenAbi, bytecode: testTokenBytecode }

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

/**
 * Compiles `source` as `fileName` with solc-js (optimizer 200 runs, EVM paris) and returns the ABI
 * and creation code of each contract in `names`; throws with solc's messages on any error, or when
 * a named contract is missing from the output.
 */
export function compileContracts<N extends string>(fileName: string, source: string, names: readonly N[]): Record<N, Compiled> {
  const input = {
    language: 'Solidity',
    sources: { [fileName]: { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const out = {} as Record<N, Compiled>
  for (const name of names) {
    const c = output.contracts[fileName]?.[name]
    if (!c) throw new Error(`solc produced no ${name}`)
    out[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
  }
  return out
}

/** Transaction plumbing of a family setup on a local chain, with anvil account 0 as the deployer. */
export type ChainSetup = {
  client: PublicClient
  /** Anvil account 0. */
  deployer: LocalAccount
  /** The deployer's sender. */
  main: Sender
  /** One sender per account (the deployer's is `main`), created on first use. */
  senderOf(account: LocalAccount): Promise<Sender>
  /** The receipt of `hash`, sent by `sender`; throws unless it succeeded (`what` names the step in the message). */
  mined(sender: Sender, hash: Hex, what?: string): Promise<TransactionReceipt>
  /** Sends creation code from the deployer; its address (lowercase) and block. `what` names the step as `deploy <what>`. */
  deployData(data: Hex, gas?: bigint, what?: string): Promise<{ address: Address; block: bigint }>
  /** Deploys `c` with constructor `args` from the deployer. */
  deploy(c: Compiled, args: readonly unknown[], gas?: bigint, what?: string): Promise<{ address: Address; block: bigint }>
  /** Calls `functionName` on `to` from `sender`; the mined receipt. */
  call(sender: Sender, to: Address, abi: Abi, functionName: string, args: readonly unknown[], gas?: bigint, value?: bigint): Promise<TransactionReceipt>
  read<T>(address: Address, abi: Abi, functionName: string, args?: readonly unknown[], blockNumber?: bigint): Promise<T>
}

/**
 * Opens a client on `rpcUrl` and the deployer's sender. `label` starts every failure message
 * (`<label> setup: tx … failed`); with `nameSteps`, `call` names the step by its function.
 */
export async function createChainSetup(opts: {
  rpcUrl: string
  chainId: number
  label: string
  deployGas: bigint
  callGas: bigint
  nameSteps?: boolean
}): Promise<ChainSetup> {
  const client = createPublicClient({ transport: http(opts.rpcUrl) }) as PublicClient
  const deployer = anvilAccount(0)
  const senders = new Map<Address, Sender>()
  const senderOf = async (account: LocalAccount): Promise<Sender> => {
    const key = account.address.toLowerCase() as Address
    let s = senders.get(key)
    if (!s) {
      s = await createSender({ client, account, chainId: opts.chainId })
      senders.set(key, s)
    }
    return s
  }
  const mined = async (sender: Sender, hash: Hex, what?: string): Promise<TransactionReceipt> => {
    const [receipt] = await waitForReceipts(client, [hash], { senders: [sender] })
    if (!receipt || receipt.status !== 'success') throw new Error(`${opts.label} setup: ${what === undefined ? '' : `${what} (`}tx ${hash}${what === undefined ? '' : ')'} failed`)
    return receipt
  }
  const main = await senderOf(deployer)
  const deployData = async (data: Hex, gas = opts.deployGas, what?: string): Promise<{ address: Address; block: bigint }> => {
    const address = getContractAddress({ from: deployer.address, nonce: BigInt(main.nextNonce()) }).toLowerCase() as Address
    const r = await mined(main, await main.send({ data, gas }), what === undefined ? undefined : `deploy ${what}`)
    return { address, block: r.blockNumber }
  }
  return {
    client,
    deployer,
    main,
    senderOf,
    mined,
    deployData,
    deploy: (c, args, gas, what) => deployData(encodeDeployData({ abi: c.abi, bytecode: c.bytecode, args } as never), gas, what),
    call: async (sender, to, abi, functionName, args, gas = opts.callGas, value = 0n) =>
      mined(sender, await sender.send({ to, data: encodeFunctionData({ abi, functionName, args } as never), value, gas }), opts.nameSteps ? functionName : undefined),
    read: async <T>(address: Address, abi: Abi, functionName: string, args: readonly unknown[] = [], blockNumber?: bigint): Promise<T> =>
      (await client.readContract({ address, abi, functionName, args, blockNumber } as never)) as T,
  }
}
