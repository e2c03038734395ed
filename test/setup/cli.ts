import { spawn } from 'node:child_process'
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
