// A dexrisk config for real chains: copy to dexrisk.config.ts and edit. Run `npx dexrisk run`.
// Every option and its default is documented in src/config/schema.ts and docs/configuration.md.
import { defineConfig } from './src/config/schema.ts'

export default defineConfig({
  chains: {
    mainnet: {
      id: 1,
      rpcUrls: ['https://ethereum-rpc.publicnode.com'], // several URLs: tried in order (fallback)
      confirmations: 12,
      pollIntervalMs: 4000,
      maxBlockRange: 500,
      startBlock: 'latest', // live following from the next confirmed block ('-1h', or a block number); past blocks: dexrisk backfill
      dexes: [
        { family: 'uniswap-v2', name: 'uniswap-v2', factory: '0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f', startBlock: 10_000_835 },
        { family: 'uniswap-v3', name: 'uniswap-v3', factory: '0x1F98431c8aD98523631AE4a59f267346ea31F984', startBlock: 12_369_621 },
        { family: 'uniswap-v2', name: 'sushiswap', factory: '0xC0AEe478e3658e2610c5F7A4A2E1777cE9e4f2Ac', startBlock: 10_794_229 },
      ],
      stablecoins: ['0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', '0xdAC17F958D2ee523a2206206994597C13D831ec7', '0x6B175474E89094C44Da98b954EedeAC495271d0F'],
      pivots: ['0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', '0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599'],
      assets: { '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2': 'ETH', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48': 'USD' },
      wrappedNative: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', // ether is priced as WETH
      // Chainlink as a USD source: the aggregator behind the feed's proxy (read `aggregator()` on the proxy;
      // it changes when Chainlink upgrades a feed), the token it prices and the feed's decimals.
      // chainlinkFeeds: [{ aggregator: '0x…', token: '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', decimals: 8 }],
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
      wrappedNative: '0x4200000000000000000000000000000000000006',
    },
  },
  // Named accounts (the unit of risk): positions are their wallets' balances (tokens and ether).
  // Or 'auto': every trader wallet is its own account, with positions from swap flows only.
  accounts: { treasury: ['0x0000000000000000000000000000000000000001'] },
  shards: 4,
  // VaR/ES over daily returns, a 250-day window; assets with under 20 returns are charged a 25% shock.
  // A price move that could change a rule recomputes an account at once; the sweep revisits the
  // rest, at most 500 a batch, each at most once a minute; repricing alone writes a snapshot row at
  // most every 5 minutes.
  risk: {
    horizonSeconds: 86_400,
    windowSize: 250,
    minHistory: 20,
    confidences: [0.95, 0.99],
    fallbackShock: 0.25,
    repriceIntervalSeconds: 60,
    repricePerBatch: 500,
    snapshotIntervalSeconds: 300,
  },
  // A pool prices a token only with $50k of depth; a price older than an hour is stale.
  pricing: { minDepthUsd: 50_000, maxAgeSeconds: 3_600 },
  // Webhook endpoints are added with `npx dexrisk webhooks add --url …`; private addresses need `allow`.
  webhooks: { allow: [], attempts: 8, backoffBaseMs: 10_000, timeoutMs: 15_000 },
})
