import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Each file brings up its own anvil chains and embedded database; two cores run two at a time.
    maxWorkers: 2,
    env: { DEXRISK_LOG_LEVEL: process.env.DEXRISK_LOG_LEVEL ?? 'silent' },
  },
})
