import type pg from 'pg'
import { afterEach } from 'vitest'
import type { HaltChange, Rule } from '../../src/risk/rules.ts'

/** A drawdown rule for every account (fields overridable): the rules tests' common subject. */
export function ruleFixture(over: Partial<Rule> = {}): Rule {
  return {
    id: 'dd',
    account: null,
    metric: 'drawdownPct',
    op: 'above',
    threshold: 0.2,
    severity: 'warning',
    cooldownSeconds: 600,
    hysteresis: 0.05,
    action: 'alert',
    enabled: true,
    ...over,
  }
}

/** A loss-limit halt of account 'desk' (fields overridable). */
export function haltFixture(over: Partial<HaltChange> = {}): HaltChange {
  return {
    account: 'desk',
    ruleId: 'loss-limit',
    alertId: 'loss-limit:desk:1700000000',
    reason: 'dailyPnlUsd -60000 below -50000 (rule loss-limit)',
    time: 1_700_000_000,
    chainId: 1,
    block: 19_000_000n,
    ...over,
  }
}

/** Rows without their updatedAt (set by the database's clock). */
export const withoutUpdatedAt = <T extends { updatedAt: Date }>(rows: T[]): Omit<T, 'updatedAt'>[] => rows.map(({ updatedAt: _u, ...r }) => r)

/** The file's database is its own: each test leaves the rules tables empty for the next. */
export function emptyRuleTablesAfterEach(pool: () => pg.Pool): void {
  afterEach(async () => {
    await pool().query('DELETE FROM rules; DELETE FROM rule_states; DELETE FROM alerts; DELETE FROM account_halts')
  })
}
