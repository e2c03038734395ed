import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { connectRedis, createRedisConnection, startRedisServer, type RedisServer } from '../../src/db/redis.ts'
import { cleanupPrefix, TEST_REDIS_URL, useRedisPrefix } from '../setup/redis.ts'

const keys = useRedisPrefix()

let server: RedisServer | undefined
const clients: Redis[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect()
  await server?.stop()
  server = undefined
})

describe('connectRedis', () => {
  it('returns the machine Redis on 127.0.0.1:6379 when it answers, and starts nothing', async () => {
    const redis = await connectRedis({})
    expect(redis.url).toBe('redis://127.0.0.1:6379')
    await redis.stop()
    const client = new Redis(redis.url)
    clients.push(client)
    expect(await client.ping()).toBe('PONG')
  })

  it('returns a given URL as is', async () => {
    server = await startRedisServer()
    const redis = await connectRedis({ url: server.url })
    expect(redis.url).toBe(server.url)
  })
})

describe('startRedisServer', () => {
  it('runs a redis-server child on a free port that answers and stops', async () => {
    server = await startRedisServer()
    expect(server.port).not.toBe(6379)
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    const client = new Redis(server.url, { retryStrategy: () => null })
    client.on('error', () => {})
    clients.push(client)
    expect(await client.ping()).toBe('PONG')
    expect(await client.config('GET', 'save')).toEqual(['save', ''])
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no'])
    await server.stop()
    await server.stop() // idempotent
    server = undefined
    await expect(client.ping()).rejects.toThrow()
  })

  it('restarts on the same port; a createRedisConnection client reconnects and SET/GET work', async () => {
    server = await startRedisServer()
    const warnings: string[] = []
    const infos: string[] = []
    const log = {
      info: (_o: object, msg?: string) => void infos.push(msg ?? ''),
      warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
      error: () => {},
    }
    const redis = createRedisConnection(server.url, { log, name: 'dexrisk-test' })
    clients.push(redis)
    await redis.set('k', 'before')
    const pid = server.pid

    await server.restart()
    expect(server.pid).not.toBe(pid)
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)

    // No persistence: the key is gone; the client reconnects by itself and commands work again.
    expect(await redis.get('k')).toBeNull()
    await redis.set('k', 'after')
    expect(await redis.get('k')).toBe('after')
    expect(warnings).toContain('Redis connection lost; reconnecting')
    await expect.poll(() => infos.includes('Redis connection restored'), { timeout: 30_000 }).toBe(true)
  })

  it('holds a command issued while Redis is down until it is back (maxRetriesPerRequest: null)', async () => {
    server = await startRedisServer()
    const redis = createRedisConnection(server.url)
    clients.push(redis)
    await redis.ping()
    const s = server
    await s.stop()
    const pending = redis.set('held', '1')
    await new Promise((r) => setTimeout(r, 300))
    server = await startRedisServer({ port: s.port })
    await expect(pending).resolves.toBe('OK')
    expect(await redis.get('held')).toBe('1')
  })
})

describe('test setup: useRedisPrefix', () => {
  it('gives each test its own dexrisk-test- prefix', () => {
    expect(keys.prefix).toMatch(/^dexrisk-test-[0-9a-f]{12}$/)
  })

  it('cleanupPrefix deletes only the keys under the prefix, with SCAN', async () => {
    const redis = new Redis(TEST_REDIS_URL)
    clients.push(redis)
    const other = `${keys.prefix}x-other`
    await redis.set(`${keys.prefix}:a`, '1')
    await redis.set(`{${keys.prefix}}:b`, '1')
    for (let i = 0; i < 1200; i++) await redis.set(`${keys.prefix}:many:${i}`, '1')
    const outside = `dexrisk-test-outside-${keys.prefix}`
    await redis.set(outside, 'keep')
    try {
      // `${prefix}x-other` starts with the prefix too, so it goes; `outside` does not.
      await redis.set(other, '1')
      expect(await cleanupPrefix(redis, keys.prefix)).toBe(1203)
      expect(await redis.get(outside)).toBe('keep')
    } finally {
      await redis.del(outside)
    }
  })
})
