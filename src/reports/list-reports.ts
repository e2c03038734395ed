import { readdirSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../errors.ts'

/** `<repo>/sql/reports`: one report per `<name>.sql`. */
export const defaultReportsDir = fileURLToPath(new URL('../../sql/reports/', import.meta.url))

const REPORT_FILE = /^([a-z0-9_]+)\.sql$/

/** Names of the reports in `dir` (file names without `.sql`), sorted. */
export async function listReports(dir: string = defaultReportsDir): Promise<string[]> {
  let files: string[]
  try {
    files = await readdir(dir)
  } catch (err) {
    throw new ConfigError(`cannot read the reports directory ${dir}`, { cause: err })
  }
  return namesOf(files)
}

/** The same, synchronously: for help texts built before a command runs. [] when the directory is unreadable. */
export function listReportsSync(dir: string = defaultReportsDir): string[] {
  try {
    return namesOf(readdirSync(dir))
  } catch {
    return []
  }
}

function namesOf(files: string[]): string[] {
  return files
    .map((f) => REPORT_FILE.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort()
}
