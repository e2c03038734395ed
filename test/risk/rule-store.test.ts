import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultMigrationsDir, migrate } from '../../src/db/migrate.ts'
import { BaseError, ConfigError } from '../../src/errors.ts'
import {
  deleteRule,
  getHalt,
  insertAlerts,
  listAlerts,
  listHalted,
  listRules,
  loadRuleStates,
  resetHalt,
  rulesVersion,
  saveRuleStates,
  setHalt,
  upsertRule,
} from '../../src/risk/rule-store.ts'
import { METRIC_NAMES, evaluateAccount, type RuleMetrics } from '../../src/risk/rules.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { emptyRuleTablesAfterEach, haltFixture as halt, ruleFixture as rule, withoutUpdatedAt as strip } from '../setup/rules.ts'

const database = useEmbeddedDatabase()

emptyRuleTablesAfterEach(() => database.pool())


function metrics(over: Partial<RuleMetrics> = {}): RuleMetrics {
  return { ...(Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as RuleMetrics), ...over }
}


describe('sql/0003_rules_alerts.sql', () => {
  it('runs twice without harm and makes alerts a hypertable', async () => {
    const db = database.pool()
    const sql = await readFile(join(defaultMigrationsDir, '0003_rules_alerts.sql'), 'utf8')
    await db.query(sql)
    await db.query(sql)
    expect((await migrate(db)).applied).toEqual([])
    const h = await db.query("SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_name = 'alerts'")
    expect(h.rows).toEqual([{ hypertable_name: 'alerts' }])
    expect((await db.query('SELECT count(*)::int AS n FROM rules_version')).rows).toEqual([{ n: 1 }])
  })
})

describe('rules', () => {
  it('are upserted, listed (all, or those of an account with the defaults) and deleted', async () => {
    const db = database.pool()
    const dd = rule()
    const deskLoss = rule({ id: 'loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: -50_000, hysteresis: 5000, action: 'halt', severity: 'critical' })
    const otherDd = rule({ account: 'other', threshold: 0.4, enabled: false })
    for (const r of [deskLoss, otherDd, dd]) expect(await upsertRule(db, r)).toMatchObject(r)

    expect(strip(await listRules(db))).toEqual([dd, otherDd, deskLoss])
    expect(strip(await listRules(db, 'desk'))).toEqual([dd, deskLoss])
    expect((await listRules(db))[0]!.updatedAt).toBeInstanceOf(Date)

    const tighter = { ...dd, threshold: 0.15, cooldownSeconds: 0 }
    await upsertRule(db, tighter)
    expect(strip(await listRules(db, 'nobody'))).toEqual([tighter])

    expect(await deleteRule(db, 'dd', null)).toBe(true)
    expect(await deleteRule(db, 'dd', null)).toBe(false)
    expect(await deleteRule(db, 'loss', 'other')).toBe(false)
    expect(strip(await listRules(db))).toEqual([otherDd, deskLoss])
  })

  it('refuses an invalid rule before it reaches the database, naming the field', async () => {
    await expect(upsertRule(database.pool(), rule({ hysteresis: -1 }))).rejects.toThrow(/^rule dd: hysteresis: /)
    expect(await listRules(database.pool())).toEqual([])
  })

  it('fail loudly on a row written by hand with an unknown metric, naming the rule', async () => {
    const db = database.pool()
    await db.query(
      `INSERT INTO rules (id, account, metric, op, threshold, severity, cooldown_seconds, hysteresis, action)
       VALUES ('typo', '', 'drawdown', 'above', 1, 'info', 0, 0, 'alert')`,
    )
    const err = await listRules(db).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).shortMessage).toMatch(/^rule typo: metric: Invalid option/)
  })
})

describe('rulesVersion', () => {
  it('moves with every change to a rule, by the store or by plain SQL, and not on a change of nothing', async () => {
    const db = database.pool()
    const v0 = await rulesVersion(db)
    await upsertRule(db, rule())
    expect(await rulesVersion(db)).toBe(v0 + 1)
    await upsertRule(db, rule({ threshold: 0.3 }))
    expect(await rulesVersion(db)).toBe(v0 + 2)
    await db.query("UPDATE rules SET enabled = false WHERE id = 'dd'")
    expect(await rulesVersion(db)).toBe(v0 + 3)
    await deleteRule(db, 'dd', null)
    expect(await rulesVersion(db)).toBe(v0 + 4)
    await deleteRule(db, 'dd', null)
    expect(await rulesVersion(db)).toBe(v0 + 4)
  })

  it('moves when an account is halted and when it is reset, not when a halt is repeated', async () => {
    const db = database.pool()
    const v0 = await rulesVersion(db)
    await setHalt(db, halt())
    expect(await rulesVersion(db)).toBe(v0 + 1)
    await setHalt(db, halt())
    expect(await rulesVersion(db)).toBe(v0 + 1)
    await resetHalt(db, 'desk', 'alice')
    expect(await rulesVersion(db)).toBe(v0 + 2)
  })

  it('shows a change only once it is committed', async () => {
    const db = database.pool()
    const v0 = await rulesVersion(db)
    await db.query('BEGIN')
    await upsertRule(db, rule())
    await db.query('ROLLBACK')
    expect(await rulesVersion(db)).toBe(v0)
  })
})

describe('insertAlerts', () => {
  it('writes each firing and resolution once: inserting the same batch twice leaves the same rows', async () => {
    const db = database.pool()
    const rules = [rule({ id: 'dd' }), rule({ id: 'var', metric: 'var99Usd', threshold: 1000, hysteresis: 0 })]
    const fired = evaluateAccount({
      account: 'desk',
      time: 1_700_000_000,
      chainId: 1,
      block: 19_000_000n,
      metrics: metrics({ drawdownPct: 0.25, var99Usd: 1500.125, equityUsd: 1e6 }),
      rules,
      states: {},
      halted: false,
    })
    const resolved = evaluateAccount({
      account: 'desk',
      time: 1_700_000_060,
      chainId: 8453,
      block: 7n,
      metrics: metrics({ drawdownPct: 0.1, var99Usd: 1200 }),
      rules,
      states: fired.states,
      halted: false,
    })
    const alerts = [...fired.alerts, ...resolved.alerts]
    expect(alerts.map((a) => `${a.id}/${a.state}`)).toEqual(['dd:desk:1700000000/firing', 'var:desk:1700000000/firing', 'dd:desk:1700000000/resolved'])

    expect(await insertAlerts(db, alerts)).toBe(3)
    const rows = async () => (await db.query('SELECT * FROM alerts ORDER BY time, id, state')).rows
    const first = await rows()
    expect(await insertAlerts(db, alerts)).toBe(0)
    expect(await insertAlerts(db, [])).toBe(0)
    expect(await rows()).toEqual(first)
    expect(first.length).toBe(3)

    // Read back exactly as written, newest first.
    expect(await listAlerts(db, { account: 'desk' })).toEqual([alerts[2], alerts[0], alerts[1]])
    expect(await listAlerts(db, { account: 'other' })).toEqual([])
    expect(await listAlerts(db, { limit: 1 })).toEqual([alerts[2]])
  })
})

describe('rule states', () => {
  it('are saved, replaced and loaded per account', async () => {
    const db = database.pool()
    await saveRuleStates(db, [
      { account: 'desk', ruleId: 'dd', state: { status: 'firing', lastFiredAt: 100, lastResolvedAt: null } },
      { account: 'desk', ruleId: 'var', state: { status: 'ok', lastFiredAt: null, lastResolvedAt: null } },
      { account: 'other', ruleId: 'dd', state: { status: 'ok', lastFiredAt: 50, lastResolvedAt: 60 } },
    ])
    await saveRuleStates(db, [{ account: 'desk', ruleId: 'dd', state: { status: 'ok', lastFiredAt: 100, lastResolvedAt: 200 } }])
    const loaded = await loadRuleStates(db, ['desk', 'nobody'])
    expect([...loaded.entries()]).toEqual([
      [
        'desk',
        {
          dd: { status: 'ok', lastFiredAt: 100, lastResolvedAt: 200 },
          var: { status: 'ok', lastFiredAt: null, lastResolvedAt: null },
        },
      ],
    ])
    expect([...(await loadRuleStates(db, [])).entries()]).toEqual([])
  })

  it('refuse to load a stored state that is not a rule state, naming account and rule', async () => {
    const db = database.pool()
    await db.query(`INSERT INTO rule_states (account, rule_id, state) VALUES ('desk', 'dd', '{"status":"maybe"}')`)
    const err = await loadRuleStates(db, ['desk']).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BaseError)
    expect((err as BaseError).shortMessage).toBe('stored state of rule dd is not a rule state')
    expect((err as BaseError).context).toEqual({ account: 'desk', field: 'rule_states.state' })
  })
})


describe('halts', () => {
  it('are kept, listed, not overwritten by a repeated halt, and lifted only by a reset', async () => {
    const db = database.pool()
    expect(await getHalt(db, 'desk')).toBeNull()
    expect(await setHalt(db, halt())).toBe(true)
    const expected = {
      account: 'desk',
      halted: true,
      reason: 'dailyPnlUsd -60000 below -50000 (rule loss-limit)',
      ruleId: 'loss-limit',
      alertId: 'loss-limit:desk:1700000000',
      haltedAt: 1_700_000_000,
      chainId: 1,
      block: 19_000_000n,
      resetAt: null,
      resetBy: null,
    }
    expect(await getHalt(db, 'desk')).toEqual(expected)

    // A replayed batch, or another halt rule firing while halted, changes nothing.
    expect(await setHalt(db, halt({ ruleId: 'dd-halt', alertId: 'dd-halt:desk:1700000100', time: 1_700_000_100 }))).toBe(false)
    expect(await getHalt(db, 'desk')).toEqual(expected)

    // Kept across connections (a restarted process reads it back).
    await database.endPool()
    expect(await listHalted(database.pool())).toEqual([expected])

    const reset = await resetHalt(database.pool(), 'desk', 'alice')
    expect(reset).toEqual({ ...expected, halted: false, resetAt: expect.any(Date), resetBy: 'alice' })
    expect(await getHalt(database.pool(), 'desk')).toEqual(reset)
    expect(await listHalted(database.pool())).toEqual([])
    expect(await resetHalt(database.pool(), 'desk', 'bob')).toBeNull()

    // Halted again: the new halt's details, and the old reset cleared.
    expect(await setHalt(database.pool(), halt({ alertId: 'loss-limit:desk:1700009000', time: 1_700_009_000, block: 19_000_700n }))).toBe(true)
    expect(await getHalt(database.pool(), 'desk')).toEqual({ ...expected, alertId: 'loss-limit:desk:1700009000', haltedAt: 1_700_009_000, block: 19_000_700n })
  })
})
