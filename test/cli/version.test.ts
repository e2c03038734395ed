import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runDexrisk } from '../setup/cli.ts'

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('dexrisk --version', () => {
  it("prints the package's version, alone and after other options", async () => {
    expect(await runDexrisk(['--version'])).toEqual({ code: 0, stderr: '', stdout: `${version}\n` })
    expect(await runDexrisk(['-V'])).toEqual({ code: 0, stderr: '', stdout: `${version}\n` })
    // Not the lone flag bin/dexrisk.js answers early: the CLI answers it from the loaded sources.
    expect(await runDexrisk(['-V', 'run'])).toEqual({ code: 0, stderr: '', stdout: `${version}\n` })
  })
})
