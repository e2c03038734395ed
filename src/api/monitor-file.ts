import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * `<dataDir>/monitor.json`: how a command reaches the monitor that owns an embedded database
 * (docs/decisions.md 6: one process at a time opens the folder). It holds the API's address and
 * a control key, an admin key that exists only in that process's memory and this file (mode 0600,
 * readable by the user who runs the monitor); it is removed when the monitor stops.
 */
export type MonitorFile = { api: string; controlKey: string; pid: number }

export const monitorFilePath = (dataDir: string): string => join(dataDir, 'monitor.json')

export const newControlKey = (): string => `dxr_ctl_${randomBytes(32).toString('base64url')}`

export async function writeMonitorFile(dataDir: string, file: MonitorFile): Promise<void> {
  await writeFile(monitorFilePath(dataDir), JSON.stringify(file), { mode: 0o600 })
}

/** The running monitor's file, or null when there is none. */
export async function readMonitorFile(dataDir: string): Promise<MonitorFile | null> {
  try {
    return JSON.parse(await readFile(monitorFilePath(dataDir), 'utf8')) as MonitorFile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

export async function removeMonitorFile(dataDir: string): Promise<void> {
  await rm(monitorFilePath(dataDir), { force: true })
}
