import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'

const run = promisify(execFile)

export type LocalRedisCluster = {
  /** redis://[:password@]127.0.0.1:P of each master. */
  nodes: string[]
  /** Kills the three redis-server processes and removes their folder. Idempotent. */
  stop(): Promise<void>
}

/** True when `port` of 127.0.0.1 can be bound now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

/** A port the OS picked for port 0 whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    if (port + 10_000 > 65_535 || taken.has(port)) continue
    if (await canBind(port + 10_000)) return port
  }
  throw new Error('no free port with a free cluster bus port (+10000) on 127.0.0.1')
}

/**
 * Three `redis-server --cluster-enabled yes` masters on free loopback ports, no persistence, their
 * node files in a folder of their own, joined with `redis-cli --cluster create` (no replicas), and
 * resolved once every node reports cluster_state:ok. With `password`, every node requires it (and
 * uses it towards the others).
 */
export async function startRedisCluster(opts: { bin?: string; cli?: string; password?: string } = {}): Promise<LocalRedisCluster> {
  // Ports are free when picked, not reserved: another program may bind one (or its bus port) before
  // redis-server does. A node that exits at start is tried again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts)
    } catch (err) {
      if (!(err instanceof NodeExited) || attempt >= 3) throw err
    }
  }
}

class NodeExited extends Error {}

async function startOnce(opts: { bin?: string; cli?: string; password?: string }): Promise<LocalRedisCluster> {
  const bin = opts.bin ?? '/usr/bin/redis-server'
  const cli = opts.cli ?? '/usr/bin/redis-cli'
  const dir = await mkdtemp(join(tmpdir(), 'dexrisk-cluster-'))
  const children: ChildProcess[] = []
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve()
              c.once('exit', () => resolve())
              c.kill('SIGKILL')
            }),
        ),
      )
      process.off('exit', onExit)
      await rm(dir, { recursive: true, force: true })
    })())
  // A test that dies before its afterAll leaves no redis-server behind.
  const onExit = (): void => {
    for (const c of children) c.kill('SIGKILL')
  }
  process.once('exit', onExit)
  try {
    const taken = new Set<number>()
    const ports: number[] = []
    for (let i = 0; i < 3; i++) {
      const p = await freeClusterPort(taken)
      taken.add(p)
      ports.push(p)
    }
    const exited = new Map<number, string>()
    for (const port of ports) {
      const c = spawn(
        bin,
        ['--cluster-enabled', 'yes', '--port', String(port), '--bind', '127.0.0.1', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...(opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : [])],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let output = ''
      const keep = (d: Buffer): void => void (output = (output + d.toString('utf8')).slice(-2_000))
      c.stdout!.on('data', keep)
      c.stderr!.on('data', keep)
      c.once('exit', (code) => exited.set(port, `redis-server on port ${port} exited (${code}): ${output.trim().split('\n').at(-1) ?? ''}`))
      children.push(c)
    }
    const alive = (): void => {
      const gone = [...exited.values()][0]
      if (gone !== undefined && !stopped) throw new NodeExited(gone)
    }
    for (const port of ports) await waitFor(port, opts.password, alive, async (r) => (await r.ping()) === 'PONG', `redis-server on port ${port} did not answer PING`)
    await run(cli, [...(opts.password ? ['-a', opts.password, '--no-auth-warning'] : []), '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports)
      await waitFor(port, opts.password, alive, async (r) => /cluster_state:ok/.test(String(await r.call('CLUSTER', 'INFO'))), `node ${port} did not reach cluster_state:ok`)
    const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : ''
    return { nodes: ports.map((p) => `redis://${auth}127.0.0.1:${p}`), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

async function waitFor(port: number, password: string | undefined, alive: () => void, check: (r: Redis) => Promise<boolean>, message: string): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    // A fresh client per try: one whose connect failed half-way may stay in a state connect() refuses.
    const r = new Redis(port, '127.0.0.1', { ...(password ? { password } : {}), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 1_000 })
    r.on('error', () => {})
    try {
      await r.connect()
      if (await check(r)) return
    } catch {
      // not yet
    } finally {
      r.disconnect()
    }
    alive()
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
