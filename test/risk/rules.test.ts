import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/errors.ts'
import {
  DEFAULT_RULES,
  INITIAL_RULE_STATE,
  METRIC_NAMES,
  alertToJson,
  evaluate,
  evaluateAccount,
  isIncomplete,
  parseRule,
  rulesFor,
  type EvaluateAccountInput,
  type Rule,
  type RuleMetrics,
  type RuleState,
} from '../../src/risk/rules.ts'

function rule(over: Partial<Rule> = {}): Rule {
  return {
    id: 'r',
    account: null,
    metric: 'drawdownPct',
    op: 'above',
    threshold: 10,
    severity: 'warning',
    cooldownSeconds: 0,
    hysteresis: 0,
    action: 'alert',
    enabled: true,
    ...over,
  }
}

function metrics(over: Partial<RuleMetrics> = {}): RuleMetrics {
  const m = Object.fromEntries(METRIC_NAMES.map((n) => [n, null])) as RuleMetrics
  return { ...m, ...over }
}

/** Feeds (time, value) pairs through evaluate and returns each step's event. */
function run(r: Rule, steps: [time: number, value: number | null][], start: RuleState = INITIAL_RULE_STATE): { events: (string | null)[]; state: RuleState } {
  let state = start
  const events: (string | null)[] = []
  for (const [time, value] of steps) {
    const out = evaluate(r, state, value, time)
    events.push(out.event)
    state = out.state
  }
  return { events, state }
}

describe('evaluate', () => {
  it('fires once when the value crosses above the threshold, and not again while it stays above', () => {
    const { events, state } = run(rule({ threshold: 10 }), [
      [100, 5],
      [110, 11],
      [120, 12],
      [130, 50],
    ])
    expect(events).toEqual([null, 'firing', null, null])
    expect(state).toEqual({ status: 'firing', lastFiredAt: 110, lastResolvedAt: null })
  })

  it('does not fire at exactly the threshold: above means strictly above', () => {
    expect(run(rule({ threshold: 10 }), [[100, 10]]).events).toEqual([null])
  })

  it('does not flap while the value wobbles inside the hysteresis band, and resolves once past it', () => {
    const { events, state } = run(rule({ threshold: 10, hysteresis: 2 }), [
      [100, 11],
      [110, 9],
      [120, 10.5],
      [130, 8],
      [140, 11],
      [150, 7.9],
    ])
    expect(events).toEqual(['firing', null, null, null, null, 'resolved'])
    expect(state).toEqual({ status: 'ok', lastFiredAt: 100, lastResolvedAt: 150 })
  })

  it('does not fire again within the cooldown after a resolution', () => {
    const { events, state } = run(rule({ threshold: 10, cooldownSeconds: 60 }), [
      [100, 11],
      [110, 9],
      [120, 12],
      [159, 12],
    ])
    expect(events).toEqual(['firing', 'resolved', null, null])
    expect(state).toEqual({ status: 'ok', lastFiredAt: 100, lastResolvedAt: 110 })
  })

  it('fires a breach held back by the cooldown at the first evaluation once the cooldown has ended', () => {
    const { events, state } = run(rule({ threshold: 10, cooldownSeconds: 60 }), [
      [100, 11],
      [110, 9],
      [120, 12],
      [160, 12],
    ])
    expect(events).toEqual(['firing', 'resolved', null, 'firing'])
    expect(state).toEqual({ status: 'firing', lastFiredAt: 160, lastResolvedAt: 110 })
  })

  it('does not fire a breach from inside the cooldown that has cleared by the time the cooldown ends', () => {
    const { events } = run(rule({ threshold: 10, cooldownSeconds: 60 }), [
      [100, 11],
      [110, 9],
      [120, 12],
      [165, 9],
      [170, 10],
    ])
    expect(events).toEqual(['firing', 'resolved', null, null, null])
  })

  it('fires below rules when the value drops under the threshold and resolves above threshold + hysteresis', () => {
    const { events, state } = run(rule({ metric: 'dailyPnlUsd', op: 'below', threshold: -100, hysteresis: 10 }), [
      [100, -100],
      [110, -101],
      [120, -95],
      [130, -90],
      [140, -89.5],
    ])
    expect(events).toEqual([null, 'firing', null, null, 'resolved'])
    expect(state).toEqual({ status: 'ok', lastFiredAt: 110, lastResolvedAt: 140 })
  })

  it('leaves the state untouched, as the same object, for a null or NaN value', () => {
    const firing: RuleState = { status: 'firing', lastFiredAt: 100, lastResolvedAt: null }
    for (const value of [null, Number.NaN]) {
      expect(evaluate(rule(), firing, value, 200)).toEqual({ state: firing, event: null })
      expect(evaluate(rule(), firing, value, 200).state).toBe(firing)
      expect(evaluate(rule(), INITIAL_RULE_STATE, value, 200).state).toBe(INITIAL_RULE_STATE)
    }
  })

  it('fires at most once per block time even with a cooldown of 0, so alert ids never repeat', () => {
    const { events } = run(rule({ threshold: 10, cooldownSeconds: 0 }), [
      [100, 11],
      [100, 9],
      [100, 11],
      [101, 11],
    ])
    expect(events).toEqual(['firing', 'resolved', null, 'firing'])
  })

  it('does not fire at a block time earlier than the last firing (another chain behind in time)', () => {
    const start: RuleState = { status: 'ok', lastFiredAt: 500, lastResolvedAt: 510 }
    expect(run(rule({ threshold: 10, cooldownSeconds: 0 }), [[400, 11]], start).events).toEqual([null])
  })
})

describe('parseRule', () => {
  it('fills the documented defaults', () => {
    expect(parseRule({ id: 'dd', metric: 'drawdownPct', op: 'above', threshold: 0.3 })).toEqual({
      id: 'dd',
      account: null,
      metric: 'drawdownPct',
      op: 'above',
      threshold: 0.3,
      severity: 'warning',
      cooldownSeconds: 300,
      hysteresis: 0,
      action: 'alert',
      enabled: true,
    })
  })

  it('names the field that is wrong, the rule and the account', () => {
    let err: unknown
    try {
      parseRule({ id: 'loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: '-5' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).shortMessage).toBe('rule loss: threshold: Invalid input: expected number, received string')
    expect((err as ConfigError).context).toEqual({ field: 'threshold', account: 'desk' })
  })

  it('refuses a metric that does not exist, a colon in the id, an unknown key and a negative hysteresis', () => {
    const base = { id: 'x', metric: 'drawdownPct', op: 'above', threshold: 1 }
    expect(() => parseRule({ ...base, metric: 'drawdown' })).toThrow(/^rule x: metric: /)
    expect(() => parseRule({ ...base, id: 'a:b' })).toThrow(/^rule a:b: id: letters, digits/)
    expect(() => parseRule({ ...base, treshold: 2 })).toThrow(/^rule x: \(rule\): Unrecognized key: "treshold"/)
    expect(() => parseRule({ ...base, hysteresis: -1 })).toThrow(/^rule x: hysteresis: /)
    expect(() => parseRule({ ...base, account: '' })).toThrow('rule x: account: an account name has 1 to 64 characters (got 0) (or null for a default rule)')
  })
})

describe('DEFAULT_RULES', () => {
  it('are valid rules for every account with unique ids, and none of them halts', () => {
    for (const r of DEFAULT_RULES) expect(parseRule(r)).toEqual(r)
    expect(new Set(DEFAULT_RULES.map((r) => r.id)).size).toBe(DEFAULT_RULES.length)
    expect(DEFAULT_RULES.filter((r) => r.account !== null || r.action !== 'alert')).toEqual([])
  })

  it('warn at the first unpriced position and resolve when none is left', () => {
    const unpriced = DEFAULT_RULES.find((r) => r.id === 'default.unpriced-positions')!
    expect(run(unpriced, [[100, 0], [110, 1], [120, 3], [130, 0]]).events).toEqual([null, 'firing', null, 'resolved'])
  })
})

describe('rulesFor', () => {
  it("replaces a default with the account's own rule of the same id, leaves out other accounts' rules, and sorts by id", () => {
    const dd = rule({ id: 'dd', threshold: 0.2 })
    const var99 = rule({ id: 'var99', metric: 'var99Usd', threshold: 1e6 })
    const deskDd = rule({ id: 'dd', account: 'desk', threshold: 0.5 })
    const deskLoss = rule({ id: 'a-loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: -1000 })
    const otherLoss = rule({ id: 'b-loss', account: 'other', metric: 'dailyPnlUsd', op: 'below', threshold: -5 })
    const all = [var99, deskDd, otherLoss, dd, deskLoss]
    expect(rulesFor(all, 'desk')).toEqual([deskLoss, deskDd, var99])
    expect(rulesFor(all, 'other')).toEqual([otherLoss, dd, var99])
    expect(rulesFor(all, 'nobody')).toEqual([dd, var99])
  })

  it('lets a later default of the same id replace an earlier one (database defaults over built-in ones)', () => {
    const builtIn = rule({ id: 'dd', threshold: 0.2 })
    const fromDb = rule({ id: 'dd', threshold: 0.3 })
    expect(rulesFor([builtIn, fromDb], 'desk')).toEqual([fromDb])
  })
})

const input = (over: Partial<EvaluateAccountInput> = {}): EvaluateAccountInput => ({
  account: 'desk',
  time: 1_700_000_000,
  chainId: 1,
  block: 19_000_000n,
  metrics: metrics(),
  rules: [],
  states: {},
  halted: false,
  ...over,
})

describe('evaluateAccount', () => {
  it('emits a firing alert carrying the rule, the value, the block and every rule metric', () => {
    const dd = rule({ id: 'dd', threshold: 0.2, hysteresis: 0.05, severity: 'critical', cooldownSeconds: 600 })
    const m = metrics({ drawdownPct: 0.25, equityUsd: 750, drawdownUsd: 250 })
    const out = evaluateAccount(input({ rules: [dd], metrics: m }))
    expect(out.alerts).toEqual([
      {
        id: 'dd:desk:1700000000',
        account: 'desk',
        ruleId: 'dd',
        metric: 'drawdownPct',
        op: 'above',
        threshold: 0.2,
        hysteresis: 0.05,
        severity: 'critical',
        action: 'alert',
        state: 'firing',
        value: 0.25,
        incomplete: false,
        time: 1_700_000_000,
        firedAt: 1_700_000_000,
        chainId: 1,
        block: 19_000_000n,
        metrics: m,
      },
    ])
    expect(out.states).toEqual({ dd: { status: 'firing', lastFiredAt: 1_700_000_000, lastResolvedAt: null } })
    expect(out.halt).toBeNull()
  })

  it("gives the resolution the firing's id, its own time and block, and the firing time", () => {
    const dd = rule({ id: 'dd', threshold: 0.2, hysteresis: 0.05 })
    const states = { dd: { status: 'firing', lastFiredAt: 1_700_000_000, lastResolvedAt: null } satisfies RuleState }
    const out = evaluateAccount(input({ rules: [dd], states, time: 1_700_000_900, chainId: 8453, block: 42n, metrics: metrics({ drawdownPct: 0.1 }) }))
    expect(out.alerts.map((a) => [a.id, a.state, a.value, a.time, a.firedAt, a.chainId, a.block])).toEqual([
      ['dd:desk:1700000000', 'resolved', 0.1, 1_700_000_900, 1_700_000_000, 8453, 42n],
    ])
    expect(out.states.dd).toEqual({ status: 'ok', lastFiredAt: 1_700_000_000, lastResolvedAt: 1_700_000_900 })
  })

  it('lists alerts in rule id order whatever the order of the rules given, and the same input gives byte-identical output', () => {
    const rules = [
      rule({ id: 'c', metric: 'var99Usd', threshold: 100 }),
      rule({ id: 'a', metric: 'drawdownPct', threshold: 0.1 }),
      rule({ id: 'b', metric: 'unpricedPositions', threshold: 0.5 }),
    ]
    const m = metrics({ var99Usd: 150, drawdownPct: 0.3, unpricedPositions: 2 })
    const first = evaluateAccount(input({ rules, metrics: m }))
    const reversed = evaluateAccount(input({ rules: [...rules].reverse(), metrics: m }))
    expect(first.alerts.map((a) => a.id)).toEqual(['a:desk:1700000000', 'b:desk:1700000000', 'c:desk:1700000000'])
    const bytes = (r: typeof first): string => JSON.stringify({ ...r, alerts: r.alerts.map(alertToJson) })
    expect(bytes(reversed)).toBe(bytes(first))
    expect(bytes(evaluateAccount(input({ rules, metrics: m })))).toBe(bytes(first))
  })

  it("applies the account's own rule instead of the default of the same id", () => {
    const rules = [rule({ id: 'dd', threshold: 0.2 }), rule({ id: 'dd', account: 'desk', threshold: 0.5 })]
    const m = metrics({ drawdownPct: 0.3 })
    expect(evaluateAccount(input({ account: 'desk', rules, metrics: m })).alerts).toEqual([])
    expect(evaluateAccount(input({ account: 'other', rules, metrics: m })).alerts.map((a) => [a.id, a.threshold])).toEqual([['dd:other:1700000000', 0.2]])
  })

  it('keeps the states of unchanged, disabled and unknown rules as the same objects, and evaluates no null metric', () => {
    const ok: RuleState = { status: 'ok', lastFiredAt: 10, lastResolvedAt: 20 }
    const firing: RuleState = { status: 'firing', lastFiredAt: 30, lastResolvedAt: null }
    const gone: RuleState = { status: 'firing', lastFiredAt: 40, lastResolvedAt: null }
    const rules = [
      rule({ id: 'quiet', metric: 'hhi', threshold: 0.9 }),
      rule({ id: 'off', metric: 'drawdownPct', threshold: 0.1, hysteresis: 0, enabled: false }),
      rule({ id: 'nulls', metric: 'var99Usd', threshold: 1 }),
    ]
    const states = { quiet: ok, off: firing, gone }
    const out = evaluateAccount(input({ rules, states, metrics: metrics({ hhi: 0.5, drawdownPct: 0 }) }))
    expect(out.alerts).toEqual([])
    expect(out.states).toEqual({ quiet: ok, off: firing, gone })
    expect(out.states.quiet).toBe(ok)
    expect(out.states.off).toBe(firing)
    expect(out.states.gone).toBe(gone)
  })

  it('copies only the rule metrics into an alert when given a wider metrics object', () => {
    const wide = { ...metrics({ drawdownPct: 0.5 }), account: 'desk', exposureByToken: [] }
    const out = evaluateAccount(input({ rules: [rule({ id: 'dd', threshold: 0.2 })], metrics: wide }))
    expect(Object.keys(out.alerts[0]!.metrics)).toEqual([...METRIC_NAMES])
  })

  describe('halt rules', () => {
    const loss = rule({ id: 'loss-limit', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: -50_000, hysteresis: 5_000, severity: 'critical', action: 'halt' })

    it('halt the account when they fire', () => {
      const out = evaluateAccount(input({ rules: [loss], metrics: metrics({ dailyPnlUsd: -60_000 }) }))
      expect(out.halt).toEqual({
        account: 'desk',
        ruleId: 'loss-limit',
        alertId: 'loss-limit:desk:1700000000',
        reason: 'dailyPnlUsd -60000 below -50000 (rule loss-limit)',
        time: 1_700_000_000,
        chainId: 1,
        block: 19_000_000n,
      })
      expect(out.alerts.map((a) => [a.id, a.state, a.action])).toEqual([['loss-limit:desk:1700000000', 'firing', 'halt']])
    })

    it('do not lift the halt when they resolve: the account stays halted until a reset', () => {
      let halted = false
      let states: Record<string, RuleState> = {}
      const step = (time: number, dailyPnlUsd: number) => {
        const out = evaluateAccount(input({ rules: [loss], states, halted, time, metrics: metrics({ dailyPnlUsd }) }))
        states = out.states
        if (out.halt) halted = true
        return out
      }
      expect(step(100, -60_000).halt?.alertId).toBe('loss-limit:desk:100')
      expect(halted).toBe(true)
      const resolved = step(200, 0)
      expect(resolved.alerts.map((a) => a.state)).toEqual(['resolved'])
      expect(resolved.halt).toBeNull()
      // Still halted: only the caller's explicit reset (rule-store resetHalt) sets it false.
      const again = step(300, -70_000)
      expect(again.alerts.map((a) => [a.id, a.state])).toEqual([['loss-limit:desk:300', 'firing']])
      expect(again.halt).toBeNull()
    })

    it('halt again after a reset only on a new firing, not while the rule is still firing', () => {
      const firing: RuleState = { status: 'firing', lastFiredAt: 100, lastResolvedAt: null }
      const stillFiring = evaluateAccount(input({ rules: [loss], states: { 'loss-limit': firing }, halted: false, time: 200, metrics: metrics({ dailyPnlUsd: -80_000 }) }))
      expect(stillFiring.alerts).toEqual([])
      expect(stillFiring.halt).toBeNull()
      const resolved = evaluateAccount(input({ rules: [loss], states: stillFiring.states, halted: false, time: 300, metrics: metrics({ dailyPnlUsd: -40_000 }) }))
      const refired = evaluateAccount(input({ rules: [loss], states: resolved.states, halted: false, time: 400, metrics: metrics({ dailyPnlUsd: -51_000 }) }))
      expect(refired.halt?.alertId).toBe('loss-limit:desk:400')
    })

    it('produce one halt change when two halt rules fire together: the first by id', () => {
      const dd = rule({ id: 'dd-halt', account: 'desk', metric: 'drawdownPct', threshold: 0.3, action: 'halt' })
      const out = evaluateAccount(input({ rules: [loss, dd], metrics: metrics({ dailyPnlUsd: -60_000, drawdownPct: 0.4 }) }))
      expect(out.alerts.map((a) => a.id)).toEqual(['dd-halt:desk:1700000000', 'loss-limit:desk:1700000000'])
      expect(out.halt?.ruleId).toBe('dd-halt')
    })
  })
})

describe('a VaR that leaves unpriced positions out', () => {
  // The probe's desk: $7M of tokens nobody prices and $2.8M of USDC. VaR over what is priced is 0.
  const limit = rule({ id: 'var-limit', account: 'desk', metric: 'var99Usd', op: 'above', threshold: 1_000_000, hysteresis: 100_000, cooldownSeconds: 0 })
  const atTime = (time: number, m: RuleMetrics, states = {}) => evaluateAccount(input({ rules: [limit], metrics: m, time, states }))

  it('cannot satisfy an above rule: it fires, flagged incomplete, and does not resolve while unpriced positions remain', () => {
    const fired = atTime(1_700_000_000, metrics({ var99Usd: 0, unpricedPositions: 1 }))
    expect(fired.alerts.map((a) => [a.state, a.value, a.incomplete])).toEqual([['firing', 0, true]])
    const still = atTime(1_700_000_060, metrics({ var99Usd: 0, unpricedPositions: 1 }), fired.states)
    expect(still.alerts).toEqual([])
    expect(still.states['var-limit']!.status).toBe('firing')
    // Priced again, and within the limit by more than the hysteresis: resolves, complete.
    const priced = atTime(1_700_000_120, metrics({ var99Usd: 850_000, unpricedPositions: 0 }), still.states)
    expect(priced.alerts.map((a) => [a.state, a.value, a.incomplete])).toEqual([['resolved', 850_000, false]])
  })

  it('halts a halt rule on it, and the reason says the value is only a lower bound', () => {
    const halting = { ...limit, action: 'halt' as const }
    const out = evaluateAccount(input({ rules: [halting], metrics: metrics({ var99Usd: 12.5, unpricedPositions: 3 }) }))
    expect(out.halt?.reason).toBe('var99Usd unknown (at least 12.5; 3 unpriced positions) above 1000000 (rule var-limit)')
  })

  it('leaves rules on other metrics as they were: unpriced positions do not make drawdown incomplete', () => {
    expect(isIncomplete('drawdownPct', { unpricedPositions: 4 })).toBe(false)
    expect(isIncomplete('es95Usd', { unpricedPositions: 4 })).toBe(true)
    expect(isIncomplete('es95Usd', { unpricedPositions: 0 })).toBe(false)
    const below = rule({ id: 'floor', metric: 'var95Usd', op: 'below', threshold: 10 })
    // A lower bound under a 'below' threshold proves nothing: no firing on it.
    expect(evaluate(below, INITIAL_RULE_STATE, 0, 1_700_000_000, true).event).toBeNull()
    expect(evaluate(below, INITIAL_RULE_STATE, 0, 1_700_000_000, false).event).toBe('firing')
  })
})
