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
    // Base (8453) is an OP-stack L2: 10 confirmations unless the config says otherwise.
    expect(c.chains.base!.confirmations).toBe(10)
    expect(c.chains.base!.dexes[0]!.factory).toBe('0x33128a8fc17869897dce68ed026d694621f6fdfd')
    expect(c.chains.base!.dexes[0]!.startBlock).toBe(1371680n)
    expect(c.database.dataDir).toBe('.dexrisk/db')
    // Live following starts at the head unless told otherwise.
    expect(c.chains.base!.startBlock).toBe('latest')
  })

  it("takes a chain's startBlock as 'latest', a time before the head or a block number, and names anything else", () => {
    const at = (startBlock: unknown) => parseConfig({ chains: { base: { ...base.chains.base, startBlock } } }, {}).chains.base!.startBlock
    expect(at('latest')).toBe('latest')
    expect(at('-1h')).toBe('-1h')
    expect(at('-30m')).toBe('-30m')
    expect(at(21_000_000)).toBe(21_000_000n)
    for (const bad of ['yesterday', '-1w', '1h', '-h'])
      expect(() => at(bad)).toThrow(/^chains\.base\.startBlock: /)
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

  it('defaults confirmations per chain id, 12 for a chain it does not know, and keeps an explicit 0', () => {
    const chain = (id: number, extra: object = {}) => parseConfig({ chains: { x: { ...base.chains.base, id, ...extra } } }, {}).chains.x!.confirmations
    expect([chain(1), chain(10), chain(56), chain(137), chain(42161), chain(43114), chain(31337), chain(999_999)]).toEqual([12, 10, 15, 64, 10, 1, 0, 12])
    expect(chain(1, { confirmations: 0 })).toBe(0)
  })

  it('wants pools, not a factory, for curve, and a factory for the others', () => {
    const dex = (d: object) => ({ chains: { base: { ...base.chains.base, dexes: [d] } } })
    const pool = '0xbEbc44782C7dB0a1A60Cb6fe97d0b483032FF1C7'
    expect(() => parseConfig(dex({ family: 'curve', startBlock: 1 }), {})).toThrow('chains.base.dexes[0].pools: a curve DEX lists its pools (pools: [{ address }])')
    expect(() => parseConfig(dex({ family: 'curve', factory: pool, pools: [{ address: pool }], startBlock: 1 }), {})).toThrow(
      'chains.base.dexes[0].factory: a curve DEX has no factory here: list its pools instead',
    )
    expect(() => parseConfig(dex({ family: 'uniswap-v4', startBlock: 1 }), {})).toThrow('chains.base.dexes[0].factory: a uniswap-v4 DEX needs its factory (or singleton) address')
    const c = parseConfig(dex({ family: 'curve', pools: [{ address: pool }], startBlock: 1 }), {})
    expect(c.chains.base!.dexes[0]!.pools).toEqual([{ address: pool.toLowerCase() }])
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

describe('parseConfig refuses what would otherwise be silently ignored', () => {
  const chain = base.chains.base
  const parse = (input: object) => () => parseConfig(input, {})

  it('an unknown key, naming it and the closest known field', () => {
    expect(parse({ chains: { base: { ...chain, confirmation: 3 } } })).toThrow('chains.base: unknown field "confirmation" (did you mean "confirmations"?)')
    expect(parse({ ...base, api: { rateLimitPerMinit: 10 } })).toThrow('api: unknown field "rateLimitPerMinit" (did you mean "rateLimitPerMinute"?)')
    expect(parse({ chains: { base: { ...chain, dexes: [{ ...chain.dexes[0], startblock: 5 }] } } })).toThrow('chains.base.dexes[0]: unknown field "startblock" (did you mean "startBlock"?)')
    expect(parse({ ...base, colour: 'red' })).toThrow('(config): unknown field "colour"')
  })

  it('a mixed-case address whose EIP-55 checksum is wrong, with the checksummed form; all-lowercase and a right checksum pass', () => {
    const dex = (factory: string) => ({ chains: { base: { ...chain, dexes: [{ ...chain.dexes[0], factory }] } } })
    expect(parse(dex('0x33128a8fC17869897dcE68Ed026d694621f6FDfd'))).toThrow(
      'chains.base.dexes[0].factory: mixed-case address with a wrong EIP-55 checksum (checksummed, it reads 0x33128a8fC17869897dcE68Ed026d694621f6FDfD; check it, or write it all lowercase)',
    )
    expect(parseConfig(dex('0x33128a8fc17869897dce68ed026d694621f6fdfd'), {}).chains.base!.dexes[0]!.factory).toBe('0x33128a8fc17869897dce68ed026d694621f6fdfd')
    expect(parseConfig(dex('0x33128a8fC17869897dcE68Ed026d694621f6FDfD'), {}).chains.base!.dexes[0]!.factory).toBe('0x33128a8fc17869897dce68ed026d694621f6fdfd')
  })

  it("an account named '*', 'all' or like an address", () => {
    const wallet = ['0x00000000000000000000000000000000000a11ce']
    expect(parse({ ...base, accounts: { '*': wallet } })).toThrow('accounts.*: "*" is not an account name')
    expect(parse({ ...base, accounts: { ALL: wallet } })).toThrow('accounts.ALL: "ALL" is reserved and cannot name an account')
    expect(parse({ ...base, accounts: { [wallet[0]!]: wallet } })).toThrow('looks like an address; a named account needs a name')
    expect(parseConfig({ ...base, accounts: { 'desk-1.eu_x': wallet } }, {}).accounts).toEqual({ 'desk-1.eu_x': wallet })
  })

  it('Redis Cluster: redis.cluster or REDIS_CLUSTER_NODES; refuses a queue prefix with braces, and url with cluster, naming the field', () => {
    expect(() => parseConfig({ ...base, queue: { prefix: '{dexrisk}' } }, {})).toThrow(ConfigError)
    expect(() => parseConfig({ ...base, queue: { prefix: 'dex{risk' } }, {})).toThrow(/^queue\.prefix: no braces/)
    expect(() => parseConfig({ ...base, redis: { url: 'redis://127.0.0.1:6379', cluster: ['redis://127.0.0.1:7000'] } }, {})).toThrow(/^redis\.cluster: set url \(one Redis\) or cluster/)
    expect(() => parseConfig({ ...base, redis: { cluster: ['127.0.0.1:7000'] } }, {})).toThrow(/^redis\.cluster\[0\]: /)
    expect(() => parseConfig({ ...base, redis: { cluster: ['redis://127.0.0.1:7000/2'] } }, {})).toThrow(/^redis\.cluster\[0\]: a Redis Cluster has database 0 only/)
    expect(() => parseConfig({ ...base, redis: { clusters: [] } }, {})).toThrow(/unknown field "clusters" \(did you mean "cluster"\?\)/)
    // The environment names the Redis, replacing the file's form.
    const fromEnv = parseConfig({ ...base, redis: { url: 'redis://127.0.0.1:6379' } }, { REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000, redis://127.0.0.1:7001' })
    expect(fromEnv.redis).toEqual({ cluster: ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'] })
    expect(parseConfig({ ...base, redis: { cluster: ['redis://127.0.0.1:7000'] } }, { REDIS_URL: 'redis://127.0.0.1:6380' }).redis).toEqual({ url: 'redis://127.0.0.1:6380' })
    expect(() => parseConfig(base, { REDIS_URL: 'redis://127.0.0.1:6380', REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000' })).toThrow(/REDIS_URL and REDIS_CLUSTER_NODES are both set/)
  })
})
