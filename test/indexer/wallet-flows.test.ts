import { parseAbi, type Address } from 'viem'
import { describe, expect, it } from 'vitest'
import { decodeWalletTransfers, walletTopicFilters, TRANSFER_TOPIC } from '../../src/indexer/wallet-flows.ts'
import { encodeLog } from '../setup/logs.ts'

const abi = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event Deposit(address indexed dst, uint256 wad)',
  'event Withdrawal(address indexed src, uint256 wad)',
])
const nftAbi = parseAbi(['event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)'])
const W1 = '0x00000000000000000000000000000000000000a1' as Address
const W2 = '0x00000000000000000000000000000000000000a2' as Address
const OTHER = '0x00000000000000000000000000000000000000ff' as Address
const TOKEN = '0x00000000000000000000000000000000000000c1' as Address
const WETH = '0x00000000000000000000000000000000000000e1' as Address
const STAKING = '0x00000000000000000000000000000000000000d1' as Address
const ctx = { chainId: 1, blockTime: (n: bigint) => 1_700_000_000 + Number(n), decimals: () => 18, wrappedNative: WETH }

describe('decodeWalletTransfers', () => {
  it('gives each watched side of a transfer its signed change, once, and WETH wraps and unwraps', () => {
    const logs = [
      encodeLog({ abi, eventName: 'Transfer', args: { from: W1, to: OTHER, value: 5n }, address: TOKEN, logIndex: 1 }),
      encodeLog({ abi, eventName: 'Transfer', args: { from: W1, to: W2, value: 7n }, address: TOKEN, logIndex: 2 }),
      encodeLog({ abi, eventName: 'Deposit', args: { dst: W2, wad: 11n }, address: WETH, logIndex: 3 }),
      encodeLog({ abi, eventName: 'Withdrawal', args: { src: W1, wad: 13n }, address: WETH, logIndex: 4 }),
    ]
    // The W1→W2 transfer matches both topic filters: eth_getLogs returns it twice.
    const r = decodeWalletTransfers([...logs, logs[1]!], new Set([W1, W2]), ctx)
    expect(r.rejected).toEqual([])
    expect(r.transfers.map((t) => [t.logIndex, t.wallet, t.kind, t.delta, t.counterparty])).toEqual([
      [1, W1, 'transfer', -5n, OTHER],
      [2, W1, 'transfer', -7n, W2],
      [2, W2, 'transfer', 7n, W1],
      [3, W2, 'deposit', 11n, '0x0000000000000000000000000000000000000000'],
      [4, W1, 'withdrawal', -13n, '0x0000000000000000000000000000000000000000'],
    ])
  })

  it('ignores ERC721 transfers, self-transfers, and Deposit/Withdrawal events of contracts other than the wrapped native token', () => {
    const logs = [
      encodeLog({ abi: nftAbi, eventName: 'Transfer', args: { from: OTHER, to: W1, tokenId: 9n }, address: TOKEN, logIndex: 1 }),
      encodeLog({ abi, eventName: 'Transfer', args: { from: W1, to: W1, value: 5n }, address: TOKEN, logIndex: 2 }),
      encodeLog({ abi, eventName: 'Deposit', args: { dst: W1, wad: 100n }, address: STAKING, logIndex: 3 }),
    ]
    expect(decodeWalletTransfers(logs, new Set([W1]), ctx)).toEqual({ transfers: [], rejected: [] })
  })

  it('keeps a Transfer whose data does not decode as rejected, naming chain, block, tx and log', () => {
    const log = { ...encodeLog({ abi, eventName: 'Transfer', args: { from: OTHER, to: W1, value: 1n }, address: TOKEN, logIndex: 6 }), data: '0x1234' as const }
    const r = decodeWalletTransfers([log], new Set([W1]), ctx)
    expect(r.transfers).toEqual([])
    expect(r.rejected.map((x) => [x.error.message.split('\n')[0], x.error.context])).toEqual([
      [`undecodable Transfer (chain 1, block 100, tx ${log.transactionHash}, log 6, token ${TOKEN})`, { chainId: 1, block: 100n, tx: log.transactionHash, logIndex: 6, token: TOKEN }],
    ])
  })

  it('asks eth_getLogs for the wallets in the first and in the second indexed position', () => {
    const [first, second] = walletTopicFilters([W1])
    expect(first![0]).toContain(TRANSFER_TOPIC)
    expect(first![1]).toEqual([`0x${W1.slice(2).padStart(64, '0')}`])
    expect(second).toEqual([[TRANSFER_TOPIC], null, [`0x${W1.slice(2).padStart(64, '0')}`]])
  })
})
