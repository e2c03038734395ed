import { z } from 'zod'
import { accountNameProblem } from '../domain/account-name.ts'
import { ConfigError } from '../errors.ts'

/**
 * The metrics of an account a rule can name (src/risk/account-metrics.ts computes them). A value
 * that cannot be computed is null, never 0: a rule does not judge it and keeps its state.
 */
export const METRIC_NAMES = [
  'equityUsd',
  'grossExposureUsd',
  'netExposureUsd',
  'unpricedPositions',
  'largestAssetShare',
  'hhi',
  'realizedPnlUsd',
  'unrealizedPnlUsd',
  'totalPnlUsd',
  'dailyPnlUsd',
  'drawdownUsd',
  'drawdownPct',
  'maxDrawdownUsd',
  'maxDrawdownPct',
  'var95Usd',
  'var99Usd',
  'es95Usd',
  'es99Usd',
  'parametricVar95Usd',
  'parametricVar99Usd',
  'swaps1m',
  'swaps1h',
  'swaps24h',
  'volume1mUsd',
  'volume1hUsd',
  'volume24hUsd',
] as const

export type MetricName = (typeof METRIC_NAMES)[number]

/**
 * Metrics that leave unpriced positions out and so, while the account holds any, are only a lower
 * bound of the true figure: VaR and ES. An account holding $7M of tokens nobody can price and $2.8M
 * of USDC has a VaR of 0 over what is priced, which must never read as "within the limit".
 */
export const LOWER_BOUND_WHEN_UNPRICED: ReadonlySet<MetricName> = new Set<MetricName>([
  'var95Usd',
  'var99Usd',
  'es95Usd',
  'es99Usd',
  'parametricVar95Usd',
  'parametricVar99Usd',
])

/** Whether `metric`, as computed in `metrics`, leaves unpriced positions out (a lower bound). */
export function isIncomplete(metric: MetricName, metrics: Pick<RuleMetrics, 'unpricedPositions'>): boolean {
  return LOWER_BOUND_WHEN_UNPRICED.has(metric) && (metrics.unpricedPositions ?? 0) > 0
}
export type RuleMetrics = Record<MetricName, number | null>
export type RuleOp = 'above' | 'below'
export type Severity = 'info' | 'warning' | 'critical'
/** 'halt' also trips the account's kill switch when the rule fires (see evaluateAccount). */
export type RuleAction = 'alert' | 'halt'

export type Rule = {
  /** Letters, digits, `_ . -`; no colon, so an alert id `<rule>:<account>:<time>` reads back unambiguously. */
  id: string
  /** null: a default rule for every account; an account's own rule of the same id replaces it. */
  account: string | null
  metric: MetricName
  /** 'above' fires when value > threshold, 'below' when value < threshold. */
  op: RuleOp
  threshold: number
  /** Default 'warning'. */
  severity: Severity
  /** Minimum time between two firings, in seconds of block time. Default DEFAULT_COOLDOWN_SECONDS. */
  cooldownSeconds: number
  /** How far back past the threshold the value must go to resolve, in the metric's unit. Default 0. */
  hysteresis: number
  /** Default 'alert'. */
  action: RuleAction
  /** A disabled rule is not evaluated and keeps its state. Default true. */
  enabled: boolean
}

/**
 * Five minutes: a value that swings across a threshold by more than the hysteresis alerts at most
 * every five minutes, and a new breach after a resolution is not hidden for long.
 */
export const DEFAULT_COOLDOWN_SECONDS = 300

/** The longest cooldown the rules table holds (an int4 column). */
export const MAX_COOLDOWN_SECONDS = 2_147_483_647

const RULE_ID = /^[A-Za-z0-9_.-]{1,100}$/

/** The rule as it arrives from the API, the CLI or the database; `parseRule` applies the defaults. */
export const ruleSchema = z.strictObject({
  id: z.string().regex(RULE_ID, { message: 'letters, digits, "_", "." or "-" (1 to 100 characters, no colon)' }),
  account: z
    .string()
    .superRefine((name, ctx) => {
      const problem = accountNameProblem(name)
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `${problem} (or null for a default rule)` })
    })
    .nullable()
    .default(null),
  metric: z.enum(METRIC_NAMES),
  op: z.enum(['above', 'below']),
  threshold: z.number(),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  // Stored as int4: 2^31 − 1 seconds (68 years) is the longest a cooldown can be.
  cooldownSeconds: z.number().int().nonnegative().max(MAX_COOLDOWN_SECONDS).default(DEFAULT_COOLDOWN_SECONDS),
  hysteresis: z.number().nonnegative().default(0),
  action: z.enum(['alert', 'halt']).default('alert'),
  enabled: z.boolean().default(true),
})

// The schema's output is exactly Rule (a compile error here means the two drifted apart).
const _ruleSchemaMatchesRule: z.ZodType<Rule> = ruleSchema

/**
 * Checks a rule and fills its defaults. Throws ConfigError naming the field ("threshold: Invalid
 * input: expected number, received string") and the rule and account it belongs to.
 */
export function parseRule(input: unknown): Rule {
  const result = ruleSchema.safeParse(input)
  if (result.success) return result.data
  const raw = (typeof input === 'object' && input !== null ? input : {}) as { id?: unknown; account?: unknown }
  const issue = result.error.issues[0]!
  const field = issue.path.map(String).join('.') || '(rule)'
  const name = typeof raw.id === 'string' ? `rule ${raw.id}` : 'rule'
  throw new ConfigError(`${name}: ${field}: ${issue.message}`, {
    context: { field, ...(typeof raw.account === 'string' ? { account: raw.account } : {}) },
    details: result.error.issues.length > 1 ? result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ') : undefined,
  })
}

/**
 * Rules every account has unless it overrides them (same id, its own account) or a database default
 * of the same id replaces them. None halts: a kill switch trips only where someone chose it.
 */
export const DEFAULT_RULES: readonly Rule[] = Object.freeze([
  // Fail closed, visibly: a position with no trustworthy price is not in any sum. Counts are whole
  // numbers, so 0.5 fires at the first unpriced position and resolves when none is left (above 0
  // with no hysteresis could never resolve: that needs value < 0).
  {
    id: 'default.unpriced-positions',
    account: null,
    metric: 'unpricedPositions',
    op: 'above',
    threshold: 0.5,
    severity: 'warning',
    cooldownSeconds: 3600,
    hysteresis: 0,
    action: 'alert',
    enabled: true,
  },
  // Equity 20% below its peak; resolves once the drawdown is back under 15%.
  {
    id: 'default.drawdown',
    account: null,
    metric: 'drawdownPct',
    op: 'above',
    threshold: 0.2,
    severity: 'warning',
    cooldownSeconds: 3600,
    hysteresis: 0.05,
    action: 'alert',
    enabled: true,
  },
  // Equity half gone from its peak; resolves under 40%.
  {
    id: 'default.drawdown-critical',
    account: null,
    metric: 'drawdownPct',
    op: 'above',
    threshold: 0.5,
    severity: 'critical',
    cooldownSeconds: 3600,
    hysteresis: 0.1,
    action: 'alert',
    enabled: true,
  },
  // One-day 99% VaR over 1M USD; resolves under 900k. A size-dependent placeholder: a desk sets
  // its own limit by adding a rule with this id for its account.
  {
    id: 'default.var99',
    account: null,
    metric: 'var99Usd',
    op: 'above',
    threshold: 1_000_000,
    severity: 'warning',
    cooldownSeconds: 3600,
    hysteresis: 100_000,
    action: 'alert',
    enabled: true,
  },
] satisfies Rule[])

/** Orders by id in code-unit order (never locale-dependent), so every replay iterates alike. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The rules that apply to an account, sorted by id: the defaults (account null), each replaced by
 * the account's own rule of the same id. Among rules of the same scope and id the later wins, so
 * pass `[...DEFAULT_RULES, ...fromDatabase]` to let database defaults replace built-in ones.
 */
export function rulesFor(rules: readonly Rule[], account: string): Rule[] {
  const byId = new Map<string, Rule>()
  for (const r of rules) if (r.account === null) byId.set(r.id, r)
  for (const r of rules) if (r.account === account) byId.set(r.id, r)
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id))
}

/**
 * The state of one rule for one account, JSON-serializable; it changes only when the rule fires or
 * resolves, so a caller persists only the entries whose identity changed. Times are block times
 * (unix seconds), never the wall clock.
 */
export type RuleState = {
  status: 'ok' | 'firing'
  /** Time of the last firing (the current one while firing); null: never fired. */
  lastFiredAt: number | null
  /** Time of the last resolution; null: never resolved. */
  lastResolvedAt: number | null
}

export const INITIAL_RULE_STATE: RuleState = Object.freeze({ status: 'ok', lastFiredAt: null, lastResolvedAt: null })

export const ruleStateSchema = z.strictObject({
  status: z.enum(['ok', 'firing']),
  lastFiredAt: z.number().nullable(),
  lastResolvedAt: z.number().nullable(),
})

const _ruleStateSchemaMatches: z.ZodType<RuleState> = ruleStateSchema

export type RuleEvent = 'firing' | 'resolved'

/**
 * One rule against one value at block time `time` (unix seconds).
 *
 * - Fires when the condition holds (above: value > threshold; below: value < threshold), the rule
 *   is not already firing, and its last firing is at least `cooldownSeconds` ago and at an earlier
 *   time (so ids `<rule>:<account>:<time>` never repeat, even with a cooldown of 0).
 * - A breach inside the cooldown stays pending: nothing is recorded, and the first evaluation at or
 *   after the cooldown's end fires if the condition still holds then.
 * - Resolves only when the value is back past the threshold by the hysteresis (above: value <
 *   threshold − hysteresis; below: value > threshold + hysteresis), so a value wobbling around the
 *   threshold does not flap.
 * - A null (or NaN) value is not evaluated: the state is kept as it is.
 * - An incomplete value (`incomplete`: a lower bound of the true figure, see isIncomplete) fails
 *   closed: an 'above' rule counts as breached whatever the value and does not resolve; a 'below'
 *   rule may resolve (the true value is at least the bound) but never fires on it.
 *
 * Returns the input state object itself when nothing changed.
 */
export function evaluate(
  rule: Rule,
  state: RuleState,
  value: number | null,
  time: number,
  incomplete = false,
): { state: RuleState; event: RuleEvent | null } {
  if (value === null || Number.isNaN(value)) return { state, event: null }
  if (state.status === 'firing') {
    const cleared = rule.op === 'above' ? !incomplete && value < rule.threshold - rule.hysteresis : value > rule.threshold + rule.hysteresis
    if (!cleared) return { state, event: null }
    return { state: { status: 'ok', lastFiredAt: state.lastFiredAt, lastResolvedAt: time }, event: 'resolved' }
  }
  const breached = rule.op === 'above' ? incomplete || value > rule.threshold : !incomplete && value < rule.threshold
  if (!breached) return { state, event: null }
  const last = state.lastFiredAt
  if (last !== null && (time <= last || time - last < rule.cooldownSeconds)) return { state, event: null }
  return { state: { status: 'firing', lastFiredAt: time, lastResolvedAt: state.lastResolvedAt }, event: 'firing' }
}

/** One firing or resolution of a rule for an account, with the numbers that caused it. */
export type Alert = {
  /** `<ruleId>:<account>:<firedAt>`: a firing and its resolution share it (told apart by `state`). */
  id: string
  account: string
  ruleId: string
  metric: MetricName
  op: RuleOp
  threshold: number
  hysteresis: number
  severity: Severity
  action: RuleAction
  state: RuleEvent
  /** The metric's value that fired or resolved the rule. */
  value: number
  /**
   * The value leaves unpriced positions out (a VaR or ES while the account holds any): only a lower
   * bound, and an 'above' rule fired on it because it cannot show the limit holds.
   */
  incomplete: boolean
  /** Block time (unix seconds) of this event. */
  time: number
  /** Block time of the firing this event belongs to (equal to `time` for a firing). */
  firedAt: number
  chainId: number
  /** The block whose batch this evaluation followed. */
  block: bigint
  /** Every rule metric of the account at that moment. */
  metrics: RuleMetrics
}

/** An alert with its block as a decimal string: what goes into JSON (webhooks, pub/sub, the API). */
export type AlertJson = Omit<Alert, 'block'> & { block: string }

export function alertToJson(alert: Alert): AlertJson {
  return { ...alert, block: alert.block.toString() }
}

/** An account tripped into the halted state by a 'halt' rule. Lifted only by an explicit reset. */
export type HaltChange = {
  account: string
  ruleId: string
  /** The firing that halted the account. */
  alertId: string
  /** E.g. "dailyPnlUsd -60000 below -50000 (rule loss-limit)". */
  reason: string
  /** Block time (unix seconds) of the firing. */
  time: number
  chainId: number
  block: bigint
}

export type HaltChangeJson = Omit<HaltChange, 'block'> & { block: string }

export function haltChangeToJson(halt: HaltChange): HaltChangeJson {
  return { ...halt, block: halt.block.toString() }
}

export type EvaluateAccountInput = {
  account: string
  /** Block time (unix seconds) of the evaluation. */
  time: number
  chainId: number
  block: bigint
  metrics: RuleMetrics
  /** Every rule known (defaults and any account's); `rulesFor` picks this account's. */
  rules: readonly Rule[]
  /** This account's rule states by rule id; a missing entry is INITIAL_RULE_STATE. */
  states: Readonly<Record<string, RuleState>>
  /** Whether the account is halted now. */
  halted: boolean
}

export type EvaluateAccountResult = {
  /**
   * The account's states by rule id: the input's entries (states of rules not evaluated are kept),
   * with new objects only where a rule fired or resolved.
   */
  states: Record<string, RuleState>
  /** In rule id order. */
  alerts: Alert[]
  /** Set when a 'halt' rule fired and the account was not halted yet. */
  halt: HaltChange | null
}

/**
 * Evaluates an account's enabled rules, in id order, against its metrics at one block. Pure and
 * deterministic: the same input gives the same output, byte for byte, so a replay reproduces
 * every alert. A 'halt' rule that fires halts the account unless it is halted already; its
 * resolution does not lift the halt (only a reset does), and while the rule stays firing it does
 * not halt again after a reset.
 */
export function evaluateAccount(input: EvaluateAccountInput): EvaluateAccountResult {
  const { account, time, chainId, block } = input
  const states: Record<string, RuleState> = { ...input.states }
  const alerts: Alert[] = []
  let halt: HaltChange | null = null
  let metrics: RuleMetrics | undefined
  for (const rule of rulesFor(input.rules, account)) {
    if (!rule.enabled) continue
    const before = states[rule.id] ?? INITIAL_RULE_STATE
    const value = input.metrics[rule.metric] ?? null
    const incomplete = isIncomplete(rule.metric, input.metrics)
    const r = evaluate(rule, before, value, time, incomplete)
    if (r.state === before || r.event === null || value === null) continue
    states[rule.id] = r.state
    const firedAt = r.state.lastFiredAt as number
    const id = `${rule.id}:${account}:${firedAt}`
    metrics ??= pickMetrics(input.metrics)
    alerts.push({
      id,
      account,
      ruleId: rule.id,
      metric: rule.metric,
      op: rule.op,
      threshold: rule.threshold,
      hysteresis: rule.hysteresis,
      severity: rule.severity,
      action: rule.action,
      state: r.event,
      value,
      incomplete,
      time,
      firedAt,
      chainId,
      block,
      metrics,
    })
    if (r.event === 'firing' && rule.action === 'halt' && !input.halted && halt === null)
      halt = {
        account,
        ruleId: rule.id,
        alertId: id,
        reason: incomplete
          ? `${rule.metric} unknown (at least ${value}; ${input.metrics.unpricedPositions} unpriced positions) ${rule.op} ${rule.threshold} (rule ${rule.id})`
          : `${rule.metric} ${value} ${rule.op} ${rule.threshold} (rule ${rule.id})`,
        time,
        chainId,
        block,
      }
  }
  return { states, alerts, halt }
}

/** The rule metrics alone, in METRIC_NAMES order: a caller may pass a wider metrics object. */
function pickMetrics(m: RuleMetrics): RuleMetrics {
  const out = {} as RuleMetrics
  for (const name of METRIC_NAMES) out[name] = m[name] ?? null
  return out
}
