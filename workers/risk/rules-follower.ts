import type pg from 'pg'
import type { Logger } from 'pino'
import { errorLine, isTransientError } from '../../src/errors.ts'
import { retry } from '../../src/retry.ts'
import { listHalted, rulesVersion } from '../../src/risk/rule-store.ts'
import type { Rule } from '../../src/risk/rules.ts'
import type { RiskState } from './risk-engine.ts'
import { loadRules } from './shard-setup.ts'

/** The rules a shard applies, and the halted accounts, kept in step with the database. */
export type RulesFollower = {
  rules(): readonly Rule[]
  /**
   * Re-reads rules and halts when their version moved (a change through the database, CLI or API),
   * checking at most every RULES_CHECK_MS; the halted set goes into `risk`. A database that is down
   * keeps what is loaded: the batch's own write retries, and says so.
   */
  refresh(risk: RiskState): Promise<void>
}

/** How often, at most, a worker checks whether rules changed. */
const RULES_CHECK_MS = 1_000

export async function createRulesFollower(pool: pg.Pool, log: Logger): Promise<RulesFollower> {
  let rules = await retry(() => loadRules(pool))
  let seen = await retry(() => rulesVersion(pool))
  let checkedAt = Date.now()
  return {
    rules: () => rules,
    async refresh(risk) {
      if (Date.now() - checkedAt < RULES_CHECK_MS) return
      checkedAt = Date.now()
      try {
        const v = await rulesVersion(pool)
        if (v === seen) return
        const [nextRules, halted] = await Promise.all([loadRules(pool), listHalted(pool)])
        rules = nextRules
        risk.halted = new Set(halted.map((h) => h.account))
        seen = v
        log.info({ rules: rules.length, halted: risk.halted.size }, 'rules reloaded')
      } catch (err) {
        if (!isTransientError(err)) throw err
        log.warn({ err: errorLine(err) }, 'checking for rule changes: database unavailable; keeping the rules loaded')
      }
    },
  }
}
