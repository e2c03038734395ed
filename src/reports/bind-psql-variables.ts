import { ReportSyntaxError } from './report-errors.ts'

export type BoundSql = {
  /** The SQL with every `:'name'` replaced by `$n::text`. */
  text: string
  /** Variable names in parameter order: `names[0]` is `$1`. A variable used twice is one parameter. */
  names: string[]
}

/**
 * Turns psql variables into query parameters, so a report file runs as it is in psql
 * (`psql -v account=alice -f …`) and through `pg` (`$1`). Only the quoted form `:'name'` is
 * accepted (psql quotes the value as a literal); `:name` and `:"name"` (raw text, identifiers) are
 * refused, since their value would become SQL. Variables inside string literals, quoted
 * identifiers, dollar-quoted bodies and comments are left alone, as psql does; `::` casts are not
 * variables. Each parameter is typed text (`$n::text`), like psql's literal once resolved, so a
 * variable used in several places gets one type.
 */
export function bindPsqlVariables(sql: string, report?: string): BoundSql {
  const names: string[] = []
  let out = ''
  let i = 0
  const n = sql.length
  const param = (name: string): string => {
    let k = names.indexOf(name)
    if (k === -1) k = names.push(name) - 1
    return `$${k + 1}::text`
  }
  const skipTo = (end: number): void => {
    out += sql.slice(i, end)
    i = end
  }
  while (i < n) {
    const c = sql[i] as string
    const next = sql[i + 1]
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i)
      skipTo(eol === -1 ? n : eol + 1)
    } else if (c === '/' && next === '*') {
      let depth = 1
      let j = i + 2
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++
          j += 2
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--
          j += 2
        } else j++
      }
      skipTo(j)
    } else if (c === "'" || c === '"') {
      const backslashes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1] as string) && !/[\w$]/.test(sql[i - 2] ?? ' ')
      let j = i + 1
      while (j < n) {
        if (backslashes && sql[j] === '\\') j += 2
        else if (sql[j] === c && sql[j + 1] === c) j += 2
        else if (sql[j] === c) {
          j++
          break
        } else j++
      }
      skipTo(j)
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? ' ')) {
      const tag = /^\$([A-Za-z_]\w*)?\$/.exec(sql.slice(i, i + 200))
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length)
        skipTo(end === -1 ? n : end + tag[0].length)
      } else skipTo(i + 1)
    } else if (c === ':' && next === ':') {
      skipTo(i + 2)
    } else if (c === ':' && sql[i - 1] !== ':') {
      const quoted = /^:'([A-Za-z_]\w*)'/.exec(sql.slice(i, i + 200))
      if (quoted) {
        out += param(quoted[1] as string)
        i += quoted[0].length
        continue
      }
      const other = /^:("?)([A-Za-z_]\w*)\1/.exec(sql.slice(i, i + 200))
      if (other)
        throw new ReportSyntaxError(
          `${report ? `report ${report}: ` : ''}${other[0]} is a psql variable in a form reports do not take; write :'${other[2]}' (a quoted value)`,
        )
      skipTo(i + 1)
    } else skipTo(i + 1)
  }
  return { text: out, names }
}
