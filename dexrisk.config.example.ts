// A dexrisk config for real chains: copy to dexrisk.config.ts and edit. Run `npx dexrisk run`.
// Every option and its default is documented in src/config/schema.ts and README.md.
import { defineConfig } from './src/config/schema.ts'

export default defineConfig({
  chains: {
    mainnet: {
      id: 1,
      rpcUrls: ['https://ethereum-rpc.publicnode.com'], // several URLs: tried in order (fallback)
      confirmations: 12,
      pollIntervalMs: 4000,
      maxBlockRange: 500,
      startBlock: 21_000_000, // index trades from here (pools from each factory's startBlock)
      dexes: [
        { family: 'uniswap-v2', name: 'uniswap-v2', factory: '0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f', startBlock: 10_000_835 },
        { family: 'uniswap-v3', name: 'uniswap-v3', factory: '0x1F98431c8aD98523631AE4a59f267346ea31F984', startBlock: 12_369_621 },
        { family: 'uniswap-v2', name: 'sushiswap', factory: '0xC0AEe478e3658e2610c5F7A4A2E1777cE9e4f2Ac', startBlock: 10_794_229 },
      ],
      stablecoins: ['0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', '0xdAC17F958D2ee523a2206206994597C13D831ec7', '0x6B175474E89094C44Da98b954EedeAC495271d0F'],
      pivots: ['0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', '0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599'],
      assets: { '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2': 'ETH', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48': 'USD' },
    },
    base: {
      id: 8453,
      rpcUrls: ['https://mainnet.base.org'],
      confirmations: 3,
      pollIntervalMs: 1000,
      dexes: [{ family: 'uniswap-v3', factory: '0x33128a8fC17869897dcE68Ed026d694621f6FDfD', startBlock: 1_371_680 }],
      stablecoins: ['0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913'],
      pivots: ['0x4200000000000000000000000000000000000006'],
      assets: { '0x4200000000000000000000000000000000000006': 'ETH', '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913': 'USD' },
    },
  },
  // Named accounts (the unit of risk), or 'auto': every trader wallet is its own account.
  accounts: { treasury: ['0x0000000000000000000000000000000000000001'] },
  shards: 4,
})
