import lockfile from 'proper-lockfile'
import { ConfigError } from '../errors.ts'

/**
 * An inter-process lock on an embedded database folder: PGlite can open a data folder only once,
 * and a second opener (another `dexrisk run`, a `dexrisk sql` while the monitor runs) would
 * corrupt it. proper-lockfile keeps a `<dir>.lock` directory fresh while we hold it, so a lock left
 * by a killed process goes stale and is taken over after `staleMs`.
 */
/** A lock not refreshed for this long belongs to a process that is gone. */
const STALE_MS = 10_000

export async function lockDataDir(dataDir: string, opts: { staleMs?: number; retries?: number } = {}): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dataDir, { stale: opts.staleMs ?? STALE_MS, update: 2_000, realpath: false, retries: { retries: opts.retries ?? 12, minTimeout: 250, maxTimeout: 2_000 } })
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOCKED')
      throw new ConfigError(
        `the embedded database ${dataDir} is open in another dexrisk process; one process owns it (stop that one, or reach the data through it, or use DATABASE_URL for a server)`,
        { cause: err },
      )
    throw err
  }
}

/** True while a live process holds the folder's lock (a stale lock of a killed process does not count). */
export function isDataDirLocked(dataDir: string): Promise<boolean> {
  return lockfile.check(dataDir, { realpath: false, stale: STALE_MS })
}
