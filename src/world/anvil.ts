import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { BaseError } from '../errors.ts'

export type AnvilOptions = {
  chainId: number
  /** Port to listen on. Default: a free port chosen by the OS. */
  port?: number
  /** Seconds between blocks. Default: none (automine, one block per transaction). */
  blockTime?: number
  log?: (msg: string) => void
}

export type AnvilInstance = {
  rpcUrl: string
  port: number
  chainId: number
  /** Kills anvil and waits for it to exit. Safe to call more than once. */
  stop(): Promise<void>
}

/** The binary package for this platform, named as `@foundry-rs/anvil`'s own launcher does. */
const PLATFORM_PACKAGE = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`
const BINARY = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
const READY_TIMEOUT_MS = 15_000

/** Starts a local anvil node (real EVM, automine by default) and resolves once it answers RPC. */
export async function startAnvil(opts: AnvilOptions): Promise<AnvilInstance> {
  const binary = resolveAnvilBinary()
  // A port picked by us may be taken before anvil binds it; retry with a fresh one in that case.
  const attempts = opts.port === undefined ? 3 : 1
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await freePort())
    try {
      return await launch(binary, port, opts)
    } catch (err) {
      lastError = err
      if (!(err instanceof AnvilStartError) || !err.portInUse) break
      opts.log?.(`anvil: port ${port} taken, retrying`)
    }
  }
  throw lastError
}

class AnvilStartError extends BaseError {
  override name = 'AnvilStartError'
  constructor(message: string, readonly portInUse: boolean, opts: { details?: string; cause?: unknown; chainId: number }) {
    super(message, { context: { chainId: opts.chainId }, details: opts.details, cause: opts.cause })
  }
}

/** Path of the anvil binary shipped by `@foundry-rs/anvil`'s platform package. */
export function resolveAnvilBinary(): string {
  const require = createRequire(import.meta.url)
  const candidates: string[] = []
  try {
    candidates.push(join(dirname(require.resolve(`${PLATFORM_PACKAGE}/package.json`)), 'bin', BINARY))
  } catch {
    // Not resolvable from here: npm may have nested it under the wrapper package.
  }
  try {
    const wrapper = dirname(require.resolve('@foundry-rs/anvil/package.json'))
    candidates.push(join(wrapper, 'node_modules', PLATFORM_PACKAGE, 'bin', BINARY))
  } catch {
    // Wrapper not installed either; reported below.
  }
  const found = candidates.find((p) => existsSync(p))
  if (found) return found
  throw new BaseError(`anvil binary not found: install the npm package ${PLATFORM_PACKAGE} (pulled in by @foundry-rs/anvil)`, {
    details: candidates.length ? `looked in ${candidates.join(', ')}` : `${PLATFORM_PACKAGE} is not resolvable`,
  })
}

async function launch(binary: string, port: number, opts: AnvilOptions): Promise<AnvilInstance> {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(opts.chainId), '--silent']
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime))
  const child = spawnWithParentDeath(binary, args)
  const rpcUrl = `http://127.0.0.1:${port}`
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  trackChild(child)

  let stopped = false
  const stop = async () => {
    if (!stopped) {
      stopped = true
      if (isRunning(child)) child.kill('SIGTERM')
      const timer = setTimeout(() => isRunning(child) && child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
      untrackChild(child)
    }
    await exited
  }

  try {
    await waitUntilReady(rpcUrl, child, opts.chainId)
  } catch (err) {
    await stop()
    const portInUse = /address already in use|os error 98/i.test(stderr)
    throw new AnvilStartError(`anvil did not start on port ${port}`, portInUse, {
      chainId: opts.chainId,
      details: stderr.trim() || undefined,
      cause: err,
    })
  }
  opts.log?.(`anvil: chain ${opts.chainId} listening on ${rpcUrl} (pid ${child.pid})`)
  return { rpcUrl, port, chainId: opts.chainId, stop }
}

/**
 * Spawns the binary so that it dies with this process: on Linux through `setpriv --pdeathsig`
 * (covers a parent killed by a signal), and always through an `exit` handler (see launch).
 */
function spawnWithParentDeath(binary: string, args: string[]): ChildProcess {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p))
  const [cmd, cmdArgs] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', binary, ...args]] : [binary, args]
  return spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'] })
}

async function waitUntilReady(rpcUrl: string, child: ChildProcess, chainId: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let lastError: unknown
  while (Date.now() < deadline) {
    if (!isRunning(child)) throw new Error(`anvil exited early (code ${child.exitCode ?? child.signalCode})`)
    const answer = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    })
      .then((res) => res.json() as Promise<{ result?: string }>)
      .catch((err: unknown) => {
        lastError = err
        return undefined
      })
    if (answer?.result !== undefined) {
      if (Number(answer.result) !== chainId) throw new Error(`eth_chainId answered ${answer.result}, expected ${chainId}`)
      return
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no eth_chainId answer within ${READY_TIMEOUT_MS} ms`, { cause: lastError })
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

// One `exit` listener for every anvil this process started: a plain exit or process.exit() kills them.
const children = new Set<ChildProcess>()
const killChildren = () => {
  for (const child of children) if (isRunning(child)) child.kill('SIGKILL')
}

function trackChild(child: ChildProcess): void {
  if (children.size === 0) process.on('exit', killChildren)
  children.add(child)
}

function untrackChild(child: ChildProcess): void {
  children.delete(child)
  if (children.size === 0) process.removeListener('exit', killChildren)
}

/** A TCP port that was free a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))))
    })
  })
}
