import { ConfigError } from '../errors.ts'
import { deleteRule, deleteRuleStates, listHalted, listRules, resetHalt, upsertRule, type Queryable, type StoredRule } from '../risk/rule-store.ts'
import { DEFAULT_RULES, compareIds, parseRule, rulesFor, type Rule } from '../risk/rules.ts'
import { formatRows } from './format-rows.ts'

/**
 * The `dexrisk rules …` and `dexrisk halts …` commands, as functions of a database and an output
 * (main.ts wires them to commander). Rules changed here reach running workers through
 * `rulesVersion`, with no restart.
 */

export type OutputFormat = 'table' | 'csv' | 'json'
export type Out = (line: string) => void

const RULE_COLUMNS = ['id', 'account', 'metric', 'op', 'threshold', 'hysteresis', 'severity', 'cooldown_s', 'action', 'enabled', 'source']

/**
 * Prints rules with where they come from ('built-in' or 'database'). With an account: the rules
 * that apply to it, after overrides. Without: every database rule, and the built-in defaults no
 * database default replaces.
 */
export async function runRulesList(db: Queryable, opts: { account?: string; format?: OutputFormat }, out: Out): Promise<void> {
  const stored = await listRules(db, opts.account)
  const fromDb = new Set(stored.map(ruleKey))
  let rules: Rule[]
  if (opts.account !== undefined) rules = rulesFor([...DEFAULT_RULES, ...stored], opts.account)
  else {
    const dbDefaults = new Set(stored.filter((r) => r.account === null).map((r) => r.id))
    rules = [...DEFAULT_RULES.filter((r) => !dbDefaults.has(r.id)), ...stored].sort((a, b) => compareIds(a.id, b.id) || compareIds(a.account ?? '', b.account ?? ''))
  }
  const rows = rules.map((r) => ({
    id: r.id,
    account: r.account ?? '(default)',
    metric: r.metric,
    op: r.op,
    threshold: r.threshold,
    hysteresis: r.hysteresis,
    severity: r.severity,
    cooldown_s: r.cooldownSeconds,
    action: r.action,
    enabled: r.enabled,
    source: fromDb.has(ruleKey(r)) ? 'database' : 'built-in',
  }))
  print(formatRows(RULE_COLUMNS, rows, opts.format ?? 'table'), out)
}

/** Rule fields as command-line strings (commander hands every option value over as a string). */
export type RuleFlags = {
  /** A whole rule or part of one as JSON; the other flags override its fields. */
  json?: string
  id?: string
  /** Omitted or '': a default rule for every account. */
  account?: string
  metric?: string
  op?: string
  threshold?: string
  severity?: string
  cooldown?: string
  hysteresis?: string
  action?: string
  /** 'true' or 'false'. */
  enabled?: string
}

/**
 * Adds or updates a rule. Fields not given keep the stored rule's values (or, for a new rule with a
 * built-in default's id, the default's: `--id default.drawdown --account desk --threshold 0.1`
 * gives the desk its own drawdown limit). Prints the saved rule.
 */
export async function runRuleSet(db: Queryable, flags: RuleFlags, out: Out): Promise<StoredRule> {
  const fromJson = parseJsonFlag(flags.json)
  const id = flags.id ?? fromJson.id
  if (typeof id !== 'string' || id === '') throw new ConfigError('a rule needs an id (--id or "id" in --json)', { context: { field: '--id' } })
  const accountRaw = flags.account ?? fromJson.account ?? null
  const account = accountRaw === '' ? null : accountRaw
  if (account !== null && typeof account !== 'string') throw new ConfigError('account: a string, or null for a default rule', { context: { field: '--account' } })

  const stored = (await listRules(db, account ?? undefined)).find((r) => r.id === id && r.account === account)
  const base: Partial<Rule> = stored ? withoutUpdatedAt(stored) : { ...DEFAULT_RULES.find((r) => r.id === id) }
  const given: Record<string, unknown> = {}
  if (flags.metric !== undefined) given.metric = flags.metric
  if (flags.op !== undefined) given.op = flags.op
  if (flags.severity !== undefined) given.severity = flags.severity
  if (flags.action !== undefined) given.action = flags.action
  if (flags.threshold !== undefined) given.threshold = numberFlag('--threshold', flags.threshold)
  if (flags.hysteresis !== undefined) given.hysteresis = numberFlag('--hysteresis', flags.hysteresis)
  if (flags.cooldown !== undefined) given.cooldownSeconds = numberFlag('--cooldown', flags.cooldown)
  if (flags.enabled !== undefined) given.enabled = booleanFlag('--enabled', flags.enabled)

  const saved = await upsertRule(db, parseRule({ ...base, ...fromJson, ...given, id, account }))
  out(
    `${stored ? 'updated' : 'added'} rule ${saved.id} for ${saved.account ?? 'every account'}: ${saved.metric} ${saved.op} ${saved.threshold}` +
      ` (hysteresis ${saved.hysteresis}, cooldown ${saved.cooldownSeconds}s, ${saved.severity}, ${saved.action}${saved.enabled ? '' : ', disabled'})`,
  )
  return saved
}

/**
 * Deletes a database rule (account omitted: the default of that id) and, when no rule of that id is
 * left for anyone, its stored states. A built-in default cannot be deleted: disable it instead.
 */
export async function runRuleDelete(db: Queryable, opts: { id: string; account?: string }, out: Out): Promise<void> {
  const account = opts.account === undefined || opts.account === '' ? null : opts.account
  const deleted = await deleteRule(db, opts.id, account)
  const scope = account ?? 'every account'
  if (!deleted) {
    if (account === null && DEFAULT_RULES.some((r) => r.id === opts.id))
      throw new ConfigError(`rule ${opts.id} is built in and cannot be deleted; disable it with: rules set --id ${opts.id} --enabled false`, { context: { field: '--id' } })
    throw new ConfigError(`no rule ${opts.id} for ${scope} in the database`, { context: { field: '--id', ...(account ? { account } : {}) } })
  }
  const left = (await listRules(db)).some((r) => r.id === opts.id) || DEFAULT_RULES.some((r) => r.id === opts.id)
  if (!left) await deleteRuleStates(db, opts.id)
  out(`deleted rule ${opts.id} for ${scope}`)
}

/** Prints the halted accounts: why, when (block time) and by which rule. */
export async function runHaltsList(db: Queryable, opts: { format?: OutputFormat }, out: Out): Promise<void> {
  const rows = (await listHalted(db)).map((h) => ({
    account: h.account,
    rule_id: h.ruleId,
    reason: h.reason,
    halted_at: h.haltedAt === null ? null : new Date(h.haltedAt * 1000),
    chain_id: h.chainId,
    block: h.block,
    alert_id: h.alertId,
  }))
  print(formatRows(['account', 'rule_id', 'reason', 'halted_at', 'chain_id', 'block', 'alert_id'], rows, opts.format ?? 'table'), out)
}

/** Lifts an account's halt (the kill switch), recording who did it. */
export async function runHaltReset(db: Queryable, opts: { account: string; by: string }, out: Out): Promise<void> {
  if (opts.by.trim() === '') throw new ConfigError('say who resets the halt', { context: { field: '--by', account: opts.account } })
  const halt = await resetHalt(db, opts.account, opts.by)
  if (halt === null) out(`account ${opts.account} is not halted; nothing to reset`)
  else out(`reset the halt of account ${opts.account} (halted by rule ${halt.ruleId ?? '?'}: ${halt.reason ?? 'no reason recorded'}), by ${opts.by}`)
}

function ruleKey(r: Rule): string {
  return `${r.id}\u0000${r.account ?? ''}`
}

function withoutUpdatedAt(r: Rule & { updatedAt?: Date }): Rule {
  const { updatedAt: _updatedAt, ...rule } = r
  return rule
}

function parseJsonFlag(json: string | undefined): Record<string, unknown> {
  if (json === undefined) return {}
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    throw new ConfigError('--json: not JSON', { context: { field: '--json' }, cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('--json: expected a JSON object (one rule)', { context: { field: '--json' } })
  return value as Record<string, unknown>
}

function numberFlag(flag: string, s: string): number {
  const n = Number(s)
  if (s.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${flag}: not a number: ${JSON.stringify(s)}`, { context: { field: flag } })
  return n
}

function booleanFlag(flag: string, s: string): boolean {
  if (s === 'true') return true
  if (s === 'false') return false
  throw new ConfigError(`${flag}: expected true or false, got ${JSON.stringify(s)}`, { context: { field: flag } })
}

function print(text: string, out: Out): void {
  for (const line of text.replace(/\n$/, '').split('\n')) out(line)
}
