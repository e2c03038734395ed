import { combine, type Part } from '../db/statement.ts'
import type pg from 'pg'
import { BaseError } from '../errors.ts'
import { isIncomplete, parseRule, ruleStateSchema, type Alert, type HaltChange, type MetricName, type Rule, type RuleState } from './rules.ts'

/** A pool, a client, or a client inside the worker's batch transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>

/** A rule as stored, with the wall-clock time of its last change. */
export type StoredRule = Rule & { updatedAt: Date }

/** The halted state of an account (sql/0003_rules_alerts.sql account_halts). */
export type Halt = {
  account: string
  halted: boolean
  reason: string | null
  ruleId: string | null
  alertId: string | null
  /** Block time (unix seconds) of the firing that halted the account. */
  haltedAt: number | null
  chainId: number | null
  block: bigint | null
  /** Wall-clock time of the last reset, and who made it. */
  resetAt: Date | null
  resetBy: string | null
}

type RuleRow = {
  id: string
  account: string
  metric: string
  op: string
  threshold: number
  severity: string
  cooldown_seconds: number
  hysteresis: number
  action: string
  enabled: boolean
  updated_at: Date
}

const RULE_COLUMNS = 'id, account, metric, op, threshold, severity, cooldown_seconds, hysteresis, action, enabled, updated_at'

/**
 * Rules in the database, by id then account (defaults first). With an account: its own rules and
 * the database defaults (combine with DEFAULT_RULES through `rulesFor`). A row that is not a valid
 * rule (written by hand with a metric that does not exist …) throws ConfigError naming it, rather
 * than being skipped.
 */
export async function listRules(db: Queryable, account?: string): Promise<StoredRule[]> {
  const r =
    account === undefined
      ? await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rules ORDER BY id, account`)
      : await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rules WHERE account IN ('', $1) ORDER BY id, account`, [account])
  return r.rows.map(fromRuleRow)
}

function fromRuleRow(row: RuleRow): StoredRule {
  const rule = parseRule({
    id: row.id,
    account: row.account === '' ? null : row.account,
    metric: row.metric,
    op: row.op,
    threshold: row.threshold,
    severity: row.severity,
    cooldownSeconds: row.cooldown_seconds,
    hysteresis: row.hysteresis,
    action: row.action,
    enabled: row.enabled,
  })
  return { ...rule, updatedAt: row.updated_at }
}

/** Inserts or replaces the rule (id, account); checked with parseRule first. */
export async function upsertRule(db: Queryable, rule: Rule): Promise<StoredRule> {
  const r = parseRule(rule)
  const res = await db.query<RuleRow>(
    `INSERT INTO rules (id, account, metric, op, threshold, severity, cooldown_seconds, hysteresis, action, enabled, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())
     ON CONFLICT (id, account) DO UPDATE SET metric = EXCLUDED.metric, op = EXCLUDED.op, threshold = EXCLUDED.threshold,
       severity = EXCLUDED.severity, cooldown_seconds = EXCLUDED.cooldown_seconds, hysteresis = EXCLUDED.hysteresis,
       action = EXCLUDED.action, enabled = EXCLUDED.enabled, updated_at = now()
     RETURNING ${RULE_COLUMNS}`,
    [r.id, r.account ?? '', r.metric, r.op, r.threshold, r.severity, r.cooldownSeconds, r.hysteresis, r.action, r.enabled],
  )
  return fromRuleRow(res.rows[0]!)
}

/** Deletes the rule (id, account; null: the default of that id). True when a row was deleted. */
export async function deleteRule(db: Queryable, id: string, account: string | null): Promise<boolean> {
  const r = await db.query('DELETE FROM rules WHERE id = $1 AND account = $2', [id, account ?? ''])
  return r.rowCount === 1
}

/**
 * A number that changes whenever a rule changes or an account is halted or reset, by any path
 * (triggers in sql/0003_rules_alerts.sql): one indexed row, cheap to poll. A worker that sees it
 * move reloads rules and halts; the change is committed by the time the number is visible.
 */
export async function rulesVersion(db: Queryable): Promise<number> {
  const r = await db.query<{ version: string }>('SELECT version::text AS version FROM rules_version')
  const row = r.rows[0]
  if (!row) throw new BaseError('rules_version has no row: was sql/0003_rules_alerts.sql applied?')
  return Number(row.version)
}

/**
 * Inserts alerts in one multi-row statement; idempotent on (id, state, time), so a replayed batch
 * inserts nothing. Returns the number of rows inserted. Meant for the worker's batch transaction.
 */
export async function insertAlerts(db: Queryable, alerts: readonly Alert[]): Promise<number> {
  if (alerts.length === 0) return 0
  const r = await db.query<{ n: number }>(combine([alertsPart(alerts)], 'SELECT (SELECT count(*) FROM al_in)::int AS n'))
  return r.rows[0]!.n
}

/** The alerts' insert as a part of a combined statement (CTE `al_in`, a row per alert inserted). */
export function alertsPart(alerts: readonly Alert[]): Part {
  return {
    ctes: `al_in AS (
       INSERT INTO alerts (time, id, state, account, rule_id, metric, op, threshold, hysteresis, severity, action, value,
         fired_at, chain_id, block_number, metrics)
       SELECT to_timestamp(t), id, st, acc, rid, met, op, thr, hys, sev, act, val, to_timestamp(fa), cid, b, m
       FROM unnest($1::float8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[],
         $9::float8[], $10::text[], $11::text[], $12::float8[], $13::float8[], $14::int4[], $15::int8[], $16::jsonb[])
         AS u(t, id, st, acc, rid, met, op, thr, hys, sev, act, val, fa, cid, b, m)
       ON CONFLICT DO NOTHING
       RETURNING 1
     )`,
    params: [
      alerts.map((a) => a.time),
      alerts.map((a) => a.id),
      alerts.map((a) => a.state),
      alerts.map((a) => a.account),
      alerts.map((a) => a.ruleId),
      alerts.map((a) => a.metric),
      alerts.map((a) => a.op),
      alerts.map((a) => a.threshold),
      alerts.map((a) => a.hysteresis),
      alerts.map((a) => a.severity),
      alerts.map((a) => a.action),
      alerts.map((a) => a.value),
      alerts.map((a) => a.firedAt),
      alerts.map((a) => a.chainId),
      alerts.map((a) => a.block.toString()),
      alerts.map((a) => JSON.stringify(a.metrics)),
    ],
  }
}

type AlertRow = {
  time: number
  id: string
  state: Alert['state']
  account: string
  rule_id: string
  metric: MetricName
  op: Alert['op']
  threshold: number
  hysteresis: number
  severity: Alert['severity']
  action: Alert['action']
  value: number
  fired_at: number
  chain_id: number
  block_number: string
  metrics: Alert['metrics']
}

/**
 * Stored alerts, newest first (ties by id, then firing before resolution), optionally of one
 * account. Default limit 100.
 */
export async function listAlerts(db: Queryable, opts: { account?: string; limit?: number } = {}): Promise<Alert[]> {
  const r = await db.query<AlertRow>(
    `SELECT extract(epoch FROM time)::float8 AS time, id, state, account, rule_id, metric, op, threshold, hysteresis,
       severity, action, value, extract(epoch FROM fired_at)::float8 AS fired_at, chain_id, block_number::text AS block_number, metrics
     FROM alerts WHERE ($1::text IS NULL OR account = $1)
     ORDER BY time DESC, id, state LIMIT $2`,
    [opts.account ?? null, opts.limit ?? 100],
  )
  return r.rows.map((row) => ({
    id: row.id,
    account: row.account,
    ruleId: row.rule_id,
    metric: row.metric,
    op: row.op,
    threshold: row.threshold,
    hysteresis: row.hysteresis,
    severity: row.severity,
    action: row.action,
    state: row.state,
    value: row.value,
    incomplete: isIncomplete(row.metric, row.metrics),
    time: row.time,
    firedAt: row.fired_at,
    chainId: row.chain_id,
    block: BigInt(row.block_number),
    metrics: row.metrics,
  }))
}

export type RuleStateRow = { account: string; ruleId: string; state: RuleState }

/** Writes rule states (one statement), replacing the stored ones. Meant for the batch transaction. */
export async function saveRuleStates(db: Queryable, rows: readonly RuleStateRow[]): Promise<void> {
  if (rows.length === 0) return
  await db.query(combine([ruleStatesPart(rows)], 'SELECT 1'))
}

/** Rule states' upsert as a part of a combined statement (CTE `rs_in`). */
export function ruleStatesPart(rows: readonly RuleStateRow[]): Part {
  return {
    ctes: `rs_in AS (
       INSERT INTO rule_states (account, rule_id, state, updated_at)
       SELECT acc, rid, st, now() FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(acc, rid, st)
       ON CONFLICT (account, rule_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
     )`,
    params: [rows.map((r) => r.account), rows.map((r) => r.ruleId), rows.map((r) => JSON.stringify(r.state))],
  }
}

/**
 * The stored rule states of the accounts: account → rule id → state (accounts with none are
 * absent). A stored state that is not a RuleState throws, naming account and rule.
 */
export async function loadRuleStates(db: Queryable, accounts: readonly string[]): Promise<Map<string, Record<string, RuleState>>> {
  if (accounts.length === 0) return new Map()
  const r = await db.query<RuleStateDbRow>('SELECT account, rule_id, state FROM rule_states WHERE account = ANY($1::text[]) ORDER BY account, rule_id', [accounts])
  return ruleStatesOf(r.rows)
}

/** The rule states of every account a shard carries risk state for (account_risk), in one read. */
export async function loadShardRuleStates(db: Queryable, shard: number): Promise<Map<string, Record<string, RuleState>>> {
  const r = await db.query<RuleStateDbRow>(
    `SELECT s.account, s.rule_id, s.state FROM rule_states s JOIN account_risk a ON a.account = s.account
     WHERE a.shard = $1 ORDER BY s.account, s.rule_id`,
    [shard],
  )
  return ruleStatesOf(r.rows)
}

type RuleStateDbRow = { account: string; rule_id: string; state: unknown }

function ruleStatesOf(rows: readonly RuleStateDbRow[]): Map<string, Record<string, RuleState>> {
  const out = new Map<string, Record<string, RuleState>>()
  for (const row of rows) {
    const parsed = ruleStateSchema.safeParse(row.state)
    if (!parsed.success)
      throw new BaseError(`stored state of rule ${row.rule_id} is not a rule state`, {
        context: { account: row.account, field: 'rule_states.state' },
        details: parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; '),
      })
    let states = out.get(row.account)
    if (!states) out.set(row.account, (states = {}))
    states[row.rule_id] = parsed.data
  }
  return out
}

/** Deletes every stored state of a rule (all accounts): for a rule that was deleted. Returns rows deleted. */
export async function deleteRuleStates(db: Queryable, ruleId: string): Promise<number> {
  const r = await db.query('DELETE FROM rule_states WHERE rule_id = $1', [ruleId])
  return r.rowCount ?? 0
}

type HaltRow = {
  account: string
  halted: boolean
  reason: string | null
  rule_id: string | null
  alert_id: string | null
  halted_at: number | null
  chain_id: number | null
  block_number: string | null
  reset_at: Date | null
  reset_by: string | null
}

const HALT_COLUMNS =
  'account, halted, reason, rule_id, alert_id, extract(epoch FROM halted_at)::float8 AS halted_at, chain_id, block_number::text AS block_number, reset_at, reset_by'

function fromHaltRow(row: HaltRow): Halt {
  return {
    account: row.account,
    halted: row.halted,
    reason: row.reason,
    ruleId: row.rule_id,
    alertId: row.alert_id,
    haltedAt: row.halted_at,
    chainId: row.chain_id,
    block: row.block_number === null ? null : BigInt(row.block_number),
    resetAt: row.reset_at,
    resetBy: row.reset_by,
  }
}

/** The account's halt record (halted or last reset); null when it was never halted. */
export async function getHalt(db: Queryable, account: string): Promise<Halt | null> {
  const r = await db.query<HaltRow>(`SELECT ${HALT_COLUMNS} FROM account_halts WHERE account = $1`, [account])
  return r.rows[0] ? fromHaltRow(r.rows[0]) : null
}

/**
 * Halts the account. An account already halted keeps its first halt's details, so a replayed
 * batch changes nothing. True when this call halted it.
 */
export async function setHalt(db: Queryable, change: HaltChange): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO account_halts (account, halted, reason, rule_id, alert_id, halted_at, chain_id, block_number, reset_at, reset_by, updated_at)
     VALUES ($1, true, $2, $3, $4, to_timestamp($5), $6, $7, NULL, NULL, now())
     ON CONFLICT (account) DO UPDATE SET halted = true, reason = EXCLUDED.reason, rule_id = EXCLUDED.rule_id,
       alert_id = EXCLUDED.alert_id, halted_at = EXCLUDED.halted_at, chain_id = EXCLUDED.chain_id,
       block_number = EXCLUDED.block_number, reset_at = NULL, reset_by = NULL, updated_at = now()
     WHERE NOT account_halts.halted`,
    [change.account, change.reason, change.ruleId, change.alertId, change.time, change.chainId, change.block.toString()],
  )
  return r.rowCount === 1
}

/** Halts raised by a batch (one per account at most), as a part of its statement (CTE `ha_in`): setHalt's upsert for each. */
export function haltsPart(halts: readonly HaltChange[]): Part {
  return {
    ctes: `ha_in AS (
       INSERT INTO account_halts (account, halted, reason, rule_id, alert_id, halted_at, chain_id, block_number, reset_at, reset_by, updated_at)
       SELECT acc, true, rsn, rid, aid, to_timestamp(t), cid, b, NULL, NULL, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::int4[], $7::int8[]) AS u(acc, rsn, rid, aid, t, cid, b)
       ON CONFLICT (account) DO UPDATE SET halted = true, reason = EXCLUDED.reason, rule_id = EXCLUDED.rule_id,
         alert_id = EXCLUDED.alert_id, halted_at = EXCLUDED.halted_at, chain_id = EXCLUDED.chain_id,
         block_number = EXCLUDED.block_number, reset_at = NULL, reset_by = NULL, updated_at = now()
       WHERE NOT account_halts.halted
     )`,
    params: [
      halts.map((h) => h.account),
      halts.map((h) => h.reason),
      halts.map((h) => h.ruleId),
      halts.map((h) => h.alertId),
      halts.map((h) => h.time),
      halts.map((h) => h.chainId),
      halts.map((h) => h.block.toString()),
    ],
  }
}

/**
 * Lifts the account's halt, recording who did it and when (wall clock). Returns the record after
 * the reset, or null when the account was not halted (nothing changes then).
 */
export async function resetHalt(db: Queryable, account: string, by: string): Promise<Halt | null> {
  const r = await db.query<HaltRow>(
    `UPDATE account_halts SET halted = false, reset_at = now(), reset_by = $2, updated_at = now()
     WHERE account = $1 AND halted
     RETURNING ${HALT_COLUMNS}`,
    [account, by],
  )
  return r.rows[0] ? fromHaltRow(r.rows[0]) : null
}

/** Every halted account, by account. */
export async function listHalted(db: Queryable): Promise<Halt[]> {
  const r = await db.query<HaltRow>(`SELECT ${HALT_COLUMNS} FROM account_halts WHERE halted ORDER BY account`)
  return r.rows.map(fromHaltRow)
}
