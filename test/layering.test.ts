import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * Layers point one way. `src/` is the core every process shares; `indexers/` are pure decoders of
 * one DEX family each; `workers/` are the queue consumers built on the core. The composition roots
 * that start processes (`src/cli`, `src/runtime`) may import anything; nothing else in the core
 * imports a worker or a composition root, and a decoder imports neither.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

async function sources(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await sources(p)))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

/** Every relative import of a file, as a path from the repository root. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(join(ROOT, file), 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)))
  return out
}

const isRoot = (p: string): boolean => p.startsWith('src/cli/') || p.startsWith('src/runtime/')

async function violations(from: string[], forbidden: (target: string) => boolean): Promise<string[]> {
  const bad: string[] = []
  for (const file of from) for (const target of await importsOf(file)) if (forbidden(target)) bad.push(`${file} → ${target}`)
  return bad
}

describe('layering', () => {
  it('the core (outside its composition roots) imports no worker and no composition root', async () => {
    const core = (await sources('src')).filter((f) => !isRoot(f))
    expect(core.length).toBeGreaterThan(50)
    expect(await violations(core, (t) => t.startsWith('workers/') || isRoot(t))).toEqual([])
  })

  it('a DEX family decoder imports no worker, no composition root and no API', async () => {
    const decoders = await sources('indexers')
    expect(await violations(decoders, (t) => t.startsWith('workers/') || isRoot(t) || t.startsWith('src/api/'))).toEqual([])
  })

  it('a worker imports no composition root', async () => {
    expect(await violations(await sources('workers'), isRoot)).toEqual([])
  })

  it('finds the imports it checks (a file known to import a worker module is seen doing so)', async () => {
    expect(await importsOf('src/runtime/start-monitor.ts')).toContain('workers/risk/risk-worker.ts')
  })
})
