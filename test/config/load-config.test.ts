import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/load-config.ts'
import { ConfigError } from '../../src/errors.ts'

const base = {
  chains: {
    base: {
      id: 8453,
      rpcUrls: ['https://mainnet.base.org'],
      dexes: [{ family: 'uniswap-v3', factory: '0x33128a8fC17869897dcE68Ed026d694621f6FDfD', startBlock: 1371680 }],
    },
  },
}

describe('parseConfig', () => {
  it('fills documented defaults and lowercases addresses', () => {
    const c = parseConfig(base, {})
    expect(c.shards).toBe(4)
    expect(c.accounts).toBe('auto')
    expect(c.chains.base!.confirmations).toBe(0)
    expect(c.chains.base!.dexes[0]!.factory).toBe('0x33128a8fc17869897dce68ed026d694621f6fdfd')
    expect(c.chains.base!.dexes[0]!.startBlock).toBe(1371680n)
    expect(c.database.dataDir).toBe('.dexrisk/db')
  })

  it('names the bad field: chains.base.rpcUrls[0]: not a URL', () => {
    const bad = { chains: { base: { ...base.chains.base, rpcUrls: ['mainnet.base.org'] } } }
    expect(() => parseConfig(bad, {})).toThrow(ConfigError)
    expect(() => parseConfig(bad, {})).toThrow('chains.base.rpcUrls[0]: not an http(s) URL')
  })

  it('names a bad factory address', () => {
    const bad = { chains: { base: { ...base.chains.base, dexes: [{ family: 'uniswap-v3', factory: '0x1234', startBlock: 1 }] } } }
    expect(() => parseConfig(bad, {})).toThrow('chains.base.dexes[0].factory: not an address')
  })

  it('refuses a wallet in two accounts', () => {
    const w = '0x1111111111111111111111111111111111111111'
    expect(() => parseConfig({ ...base, accounts: { a: [w], b: [w] } }, {})).toThrow(`accounts.b: wallet ${w} already belongs to account a`)
  })

  it('applies environment overrides', () => {
    const c = parseConfig(base, { DATABASE_URL: 'postgres://x@db:5432/risk', DEXRISK_SHARDS: '8', DEXRISK_RPC_URLS_BASE: 'https://a.example, https://b.example' })
    expect(c.database.url).toBe('postgres://x@db:5432/risk')
    expect(c.shards).toBe(8)
    expect(c.chains.base!.rpcUrls).toEqual(['https://a.example', 'https://b.example'])
  })
})
