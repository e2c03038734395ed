/**
 * How the dashboard names chains and their native coin. Pure: no DOM. A chain this map does not
 * know reads "Chain <id>"; local development chains (anvil, hardhat, geth --dev) "Local <id>".
 */

/** @type {Readonly<Record<number, { name: string, native: string }>>} */
const CHAINS = Object.freeze({
  1: { name: 'Ethereum', native: 'ETH' },
  10: { name: 'OP Mainnet', native: 'ETH' },
  56: { name: 'BNB Chain', native: 'BNB' },
  100: { name: 'Gnosis', native: 'xDAI' },
  137: { name: 'Polygon', native: 'POL' },
  8453: { name: 'Base', native: 'ETH' },
  42161: { name: 'Arbitrum One', native: 'ETH' },
  43114: { name: 'Avalanche C-Chain', native: 'AVAX' },
  11155111: { name: 'Sepolia', native: 'ETH' },
  84532: { name: 'Base Sepolia', native: 'ETH' },
})

/** Chain ids of local development nodes: anvil and hardhat (31337), ganache and geth --dev (1337). */
const LOCAL = new Set([1337, 31337])

/**
 * The address that stands for the chain's native coin in positions (src/domain/types.ts,
 * NATIVE_TOKEN): ether on Ethereum and its L2s.
 */
export const NATIVE_TOKEN = '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'

/** "Ethereum", "Base", "Local 31337", "Chain 17001". @param {number} chainId */
export function chainName(chainId) {
  const known = CHAINS[chainId]
  if (known) return known.name
  return LOCAL.has(chainId) ? `Local ${chainId}` : `Chain ${chainId}`
}

/** The native coin's symbol: "ETH", "BNB" on BNB Chain, "POL" on Polygon; "ETH" elsewhere. @param {number} chainId */
export const nativeSymbol = (chainId) => CHAINS[chainId]?.native ?? 'ETH'

/** @param {string} token */
export const isNative = (token) => token.toLowerCase() === NATIVE_TOKEN
