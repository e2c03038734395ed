import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { lockDataDir } from '../../src/db/data-dir-lock.ts'
import { ConfigError } from '../../src/errors.ts'

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('lockDataDir', () => {
  it('refuses a second owner of an embedded database folder with a message that says what to do', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dexrisk-lock-'))
    const unlock = await lockDataDir(dir)
    const second = lockDataDir(dir, { retries: 0 })
    await expect(second).rejects.toBeInstanceOf(ConfigError)
    await expect(lockDataDir(dir, { retries: 0 })).rejects.toThrow(`the embedded database ${dir} is open in another dexrisk process`)
    await unlock()
    const again = await lockDataDir(dir, { retries: 0 })
    await again()
  })
})
