import type { Address } from 'viem'
import type { ConfigInput } from '../config/schema.ts'
import type { World } from './deploy.ts'

/**
 * The dexrisk config for local worlds: each chain with its Uniswap V2 and V3 factories, USDC and
 * DAI as stablecoins, WETH and WBTC as pivots, indexing from the block the world became ready.
 */
export function worldConfig(
  worlds: { name: string; world: World }[],
  opts: { accounts: ConfigInput['accounts']; shards: number; dataDir?: string; databaseUrl?: string; redisUrl?: string; queuePrefix?: string },
): ConfigInput {
  const chains: ConfigInput['chains'] = {}
  for (const { name, world } of worlds) {
    const bySymbol = (s: string): Address | undefined => world.tokens.find((t) => t.symbol === s)?.address
    const present = (xs: (Address | undefined)[]): Address[] => xs.filter((x): x is Address => x !== undefined)
    chains[name] = {
      id: world.chainId,
      rpcUrls: [world.rpcUrl],
      confirmations: 0,
      pollIntervalMs: 200,
      maxBlockRange: 200,
      startBlock: world.readyBlock,
      dexes: [
        { family: 'uniswap-v2', name: 'uniswap-v2', factory: world.v2.factory, startBlock: world.v2.factoryBlock },
        { family: 'uniswap-v3', name: 'uniswap-v3', factory: world.v3.factory, startBlock: world.v3.factoryBlock },
      ],
      stablecoins: present([world.usdc.address, bySymbol('DAI')]),
      pivots: present([world.weth.address, bySymbol('WBTC')]),
      wrappedNative: world.weth.address,
      assets: Object.fromEntries(world.tokens.map((t) => [t.address, assetOf(t.symbol)])),
    }
  }
  return {
    chains,
    accounts: opts.accounts,
    shards: opts.shards,
    database: { url: opts.databaseUrl, dataDir: opts.dataDir ?? '.dexrisk/db', poolMax: 1 },
    redis: { url: opts.redisUrl },
    queue: { prefix: opts.queuePrefix ?? 'dexrisk' },
  }
}

function assetOf(symbol: string): string {
  if (symbol === 'WETH') return 'ETH'
  if (symbol === 'USDC' || symbol === 'DAI') return 'USD'
  if (symbol === 'WBTC') return 'BTC'
  return symbol
}
