import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { splitSqlStatements } from '../db/migrate.ts'
import { bindPsqlVariables } from './bind-psql-variables.ts'
import { defaultReportsDir, listReports } from './list-reports.ts'
import { ReportSyntaxError, UnknownReportError } from './report-errors.ts'

export type Report = {
  name: string
  /** Absolute path of the `.sql` file. */
  file: string
  /** The file as a person runs it in psql. */
  sql: string
  /** The statement with its psql variables as `$n::text` parameters. */
  text: string
  /** Parameter names in order: `parameters[0]` is `$1`. */
  parameters: string[]
}

/**
 * Reads `sql/reports/<name>.sql` (or `dir`) and binds its psql variables. Only names listed by
 * `listReports` are read, so a name can never reach outside the directory. A report is one
 * statement; its leading comments stay (Postgres ignores them).
 */
export async function loadReport(name: string, opts: { dir?: string } = {}): Promise<Report> {
  const dir = opts.dir ?? defaultReportsDir
  const known = await listReports(dir)
  if (!known.includes(name)) throw new UnknownReportError(name, known)
  const file = join(dir, `${name}.sql`)
  const sql = (await readFile(file, 'utf8')).replace(/\r\n/g, '\n')
  const statements = splitSqlStatements(sql)
  if (statements.length !== 1)
    throw new ReportSyntaxError(`report ${name} (${file}) holds ${statements.length} statements; a report is one statement`)
  const { text, names } = bindPsqlVariables(statements[0] as string, name)
  return { name, file, sql, text, parameters: names }
}
