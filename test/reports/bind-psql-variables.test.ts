import { describe, expect, it } from 'vitest'
import { bindPsqlVariables } from '../../src/reports/bind-psql-variables.ts'
import { ReportSyntaxError } from '../../src/reports/report-errors.ts'

describe('bindPsqlVariables', () => {
  it("turns each :'name' into one text parameter, in order of first use", () => {
    expect(bindPsqlVariables(`SELECT * FROM t WHERE (:'account' = '*' OR account = :'account') AND x >= dexrisk_utc(:'from') AND x < :'to'::timestamptz`)).toEqual({
      text: `SELECT * FROM t WHERE ($1::text = '*' OR account = $1::text) AND x >= dexrisk_utc($2::text) AND x < $3::text::timestamptz`,
      names: ['account', 'from', 'to'],
    })
  })

  it('leaves casts, string literals, quoted identifiers, dollar quotes and comments alone', () => {
    const sql = [
      `-- psql -v account=alice: :'account' here is a comment`,
      `/* :'from' /* nested :'to' */ still a comment */`,
      `SELECT x::int, ':''account''' AS s, E'\\' :''from''' AS e, "a:'b'" AS "c", $$ :'to' $$ AS d, $q$ :'to' $q$ AS f, :'account' AS a`,
    ].join('\n')
    const { text, names } = bindPsqlVariables(sql)
    expect(names).toEqual(['account'])
    expect(text).toBe(sql.replace(/:'account' AS a$/, '$1::text AS a'))
  })

  it('refuses :name and :"name", whose values psql pastes into the SQL as they are', () => {
    expect(() => bindPsqlVariables('SELECT * FROM t LIMIT :limit', 'daily_pnl')).toThrow(ReportSyntaxError)
    expect(() => bindPsqlVariables('SELECT * FROM t LIMIT :limit', 'daily_pnl')).toThrow(
      "report daily_pnl: :limit is a psql variable in a form reports do not take; write :'limit' (a quoted value)",
    )
    expect(() => bindPsqlVariables('SELECT * FROM :"table"')).toThrow(`:"table" is a psql variable in a form reports do not take; write :'table' (a quoted value)`)
  })
})
