import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/dexrisk.js', import.meta.url))
const REPO = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Runs the dexrisk binary as a user would, on the embedded folder (DATABASE_URL removed), with
 * `opts.env` set over the environment.
 */
export function runDexrisk(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { DATABASE_URL: _url, ...inherited } = process.env
  const env = { ...inherited, ...opts.env }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/**
 * Starts the dexrisk binary as a long-running child (`dexrisk run`, `demo --serve`) and follows its
 * output (stdout and stderr together). `waitFor` resolves once the output contains `text`, and
 * rejects, with the output, if the process exits first. The caller kills the child.
 */
export function startDexrisk(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): {
  child: ChildProcess
  output(): string
  exited: Promise<number | null>
  waitFor(text: string): Promise<void>
} {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) })
  let out = ''
  const listeners = new Set<() => void>()
  const take = (d: Buffer): void => {
    out += d.toString('utf8')
    for (const l of listeners) l()
  }
  child.stdout!.on('data', take)
  child.stderr!.on('data', take)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => out,
    exited,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!out.includes(text)) return
          listeners.delete(check)
          resolve()
        }
        listeners.add(check)
        check()
        void exited.then((code) => reject(new Error(`dexrisk ${args[0]} exited with ${code} before printing "${text}":\n${out}`)))
      }),
  }
}
