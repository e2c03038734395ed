import solc from 'solc'
import { createPublicClient, encodeDeployData, encodeFunctionData, getContractAddress, http, type Abi, type Address, type Hex, type TransactionReceipt } from 'viem'
import { anvilAccount } from '../../src/world/accounts.ts'
import { createSender, waitForReceipts } from '../../src/world/sender.ts'

/**
 * A contract whose `emitSwap()` emits a log with the Uniswap V2 `Swap` topic0 and the right two
 * indexed topics, but three data words where the event has four: what a buggy or hostile pool
 * would emit. Compiled here with solc-js, like src/world/contracts/compile.ts does for the world's
 * contracts.
 */
const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract MalformedSwapEmitter {
    bytes32 constant SWAP = keccak256("Swap(address,uint256,uint256,uint256,uint256,address)");

    function emitSwap() external {
        bytes32 topic = SWAP;
        assembly {
            let p := mload(0x40)
            mstore(p, 1000)
            mstore(add(p, 0x20), 0)
            mstore(add(p, 0x40), 0)
            log3(p, 0x60, topic, caller(), caller())
        }
    }
}
`

type SolcOutput = {
  errors?: { severity: string; formattedMessage: string }[]
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>
}

export function compileMalformedSwapEmitter(): { abi: Abi; bytecode: Hex } {
  const input = {
    language: 'Solidity',
    sources: { 'MalformedSwapEmitter.sol': { content: SOURCE } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'paris', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input)) as string) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const c = output.contracts['MalformedSwapEmitter.sol']?.MalformedSwapEmitter
  if (!c) throw new Error('solc produced no MalformedSwapEmitter')
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` }
}

export type MalformedSwapEmitter = {
  address: Address
  deployBlock: bigint
  /** Sends emitSwap() from anvil account 0; resolves with the mined receipt. */
  emit(): Promise<TransactionReceipt>
}

/** Compiles and deploys the emitter on a local chain, from anvil account 0. */
export async function deployMalformedSwapEmitter(rpcUrl: string, chainId: number): Promise<MalformedSwapEmitter> {
  const { abi, bytecode } = compileMalformedSwapEmitter()
  const client = createPublicClient({ transport: http(rpcUrl) })
  const account = anvilAccount(0)
  const sender = await createSender({ client, account, chainId })
  const address = getContractAddress({ from: account.address, nonce: BigInt(sender.nextNonce()) }).toLowerCase() as Address
  const mined = async (hash: Hex): Promise<TransactionReceipt> => {
    const [receipt] = await waitForReceipts(client, [hash], { senders: [sender] })
    if (!receipt || receipt.status !== 'success') throw new Error(`MalformedSwapEmitter: tx ${hash} failed`)
    return receipt
  }
  const deployed = await mined(await sender.send({ data: encodeDeployData({ abi, bytecode }), gas: 500_000n }))
  return {
    address,
    deployBlock: deployed.blockNumber,
    emit: async () => mined(await sender.send({ to: address, data: encodeFunctionData({ abi, functionName: 'emitSwap' }), gas: 100_000n })),
  }
}
