import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withCliDatabase } from '../../src/cli/cli-database.ts'
import { runHaltReset, runHaltsList, runRuleDelete, runRuleSet, runRulesList } from '../../src/cli/rules.ts'
import { startEmbeddedDatabase } from '../../src/db/embedded.ts'
import { defaultMigrationsDir, migrate, readMigrations } from '../../src/db/migrate.ts'
import { createPool } from '../../src/db/pool.ts'
import { ConfigError } from '../../src/errors.ts'
import { getHalt, listRules, loadRuleStates, saveRuleStates, setHalt, upsertRule } from '../../src/risk/rule-store.ts'
import { useEmbeddedDatabase } from '../setup/database.ts'
import { emptyRuleTablesAfterEach, haltFixture as halt, ruleFixture as rule, withoutUpdatedAt as strip } from '../setup/rules.ts'
import { runDexrisk } from '../setup/cli.ts'

const database = useEmbeddedDatabase()

emptyRuleTablesAfterEach(() => database.pool())




const capture = () => {
  const lines: string[] = []
  return { lines, out: (line: string) => lines.push(line) }
}

describe('rules CLI', () => {
  it('adds a rule from flags, updates one field of it, and lists it with the built-in defaults', async () => {
    const db = database.pool()
    const c = capture()
    await runRuleSet(db, { id: 'loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: '-50000', action: 'halt', severity: 'critical' }, c.out)
    await runRuleSet(db, { id: 'loss', account: 'desk', hysteresis: '5000' }, c.out)
    expect(c.lines).toEqual([
      'added rule loss for desk: dailyPnlUsd below -50000 (hysteresis 0, cooldown 300s, critical, halt)',
      'updated rule loss for desk: dailyPnlUsd below -50000 (hysteresis 5000, cooldown 300s, critical, halt)',
    ])
    expect(strip(await listRules(db))).toEqual([
      { id: 'loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: -50000, severity: 'critical', cooldownSeconds: 300, hysteresis: 5000, action: 'halt', enabled: true },
    ])

    const list = capture()
    await runRulesList(db, { account: 'desk', format: 'csv' }, list.out)
    expect(list.lines).toEqual([
      'id,account,metric,op,threshold,hysteresis,severity,cooldown_s,action,enabled,source',
      'default.drawdown,(default),drawdownPct,above,0.2,0.05,warning,3600,alert,true,built-in',
      'default.drawdown-critical,(default),drawdownPct,above,0.5,0.1,critical,3600,alert,true,built-in',
      'default.unpriced-positions,(default),unpricedPositions,above,0.5,0,warning,3600,alert,true,built-in',
      'default.var99,(default),var99Usd,above,1000000,100000,warning,3600,alert,true,built-in',
      'loss,desk,dailyPnlUsd,below,-50000,5000,critical,300,halt,true,database',
    ])
  })

  it("starts an account's override of a built-in default from the default's values", async () => {
    const db = database.pool()
    const c = capture()
    await runRuleSet(db, { id: 'default.var99', account: 'desk', threshold: '250000' }, c.out)
    expect(c.lines).toEqual(['added rule default.var99 for desk: var99Usd above 250000 (hysteresis 100000, cooldown 3600s, warning, alert)'])
    const list = capture()
    await runRulesList(db, { account: 'desk', format: 'csv' }, list.out)
    expect(list.lines.filter((l) => l.startsWith('default.var99,'))).toEqual(['default.var99,desk,var99Usd,above,250000,100000,warning,3600,alert,true,database'])
  })

  it('takes a rule as JSON, and names the flag or field that is wrong', async () => {
    const db = database.pool()
    const c = capture()
    await runRuleSet(db, { json: '{"id":"conc","metric":"largestAssetShare","op":"above","threshold":0.9,"severity":"info"}', enabled: 'false' }, c.out)
    expect(c.lines).toEqual(['added rule conc for every account: largestAssetShare above 0.9 (hysteresis 0, cooldown 300s, info, alert, disabled)'])
    await expect(runRuleSet(db, { id: 'x', metric: 'hhi', op: 'above', threshold: '1e' }, c.out)).rejects.toThrow('--threshold: not a number: "1e"')
    await expect(runRuleSet(db, { id: 'x', metric: 'hhi', op: 'sideways', threshold: '1' }, c.out)).rejects.toThrow(/^rule x: op: Invalid option/)
    await expect(runRuleSet(db, { json: '{' }, c.out)).rejects.toThrow('--json: not JSON')
    await expect(runRuleSet(db, { metric: 'hhi' }, c.out)).rejects.toThrow('a rule needs an id')
    // '*' is how a report says "every account": no rule, key or endpoint may name an account so.
    await expect(runRuleSet(db, { id: 'x', account: '*', metric: 'hhi', op: 'above', threshold: '1' }, c.out)).rejects.toThrow(
      'rule x: account: "*" is not an account name: letters, digits and "_ . -", starting with a letter or a digit (or null for a default rule)',
    )
    expect((await listRules(db)).map((r) => r.id)).toEqual(['conc'])
  })

  it('deletes a database rule and its states, and refuses to delete a built-in default', async () => {
    const db = database.pool()
    const c = capture()
    await upsertRule(db, rule({ id: 'dd2', account: 'desk' }))
    await saveRuleStates(db, [{ account: 'desk', ruleId: 'dd2', state: { status: 'firing', lastFiredAt: 1, lastResolvedAt: null } }])
    await runRuleDelete(db, { id: 'dd2', account: 'desk' }, c.out)
    expect(c.lines).toEqual(['deleted rule dd2 for desk'])
    expect(await listRules(db)).toEqual([])
    expect([...(await loadRuleStates(db, ['desk'])).keys()]).toEqual([])
    await expect(runRuleDelete(db, { id: 'default.drawdown' }, c.out)).rejects.toThrow(/^rule default.drawdown is built in and cannot be deleted/)
    await expect(runRuleDelete(db, { id: 'dd2', account: 'desk' }, c.out)).rejects.toThrow('no rule dd2 for desk in the database')
  })

  it('lists halted accounts and resets a halt, saying who did it', async () => {
    const db = database.pool()
    await setHalt(db, halt())
    const list = capture()
    await runHaltsList(db, { format: 'csv' }, list.out)
    expect(list.lines).toEqual([
      'account,rule_id,reason,halted_at,chain_id,block,alert_id',
      'desk,loss-limit,dailyPnlUsd -60000 below -50000 (rule loss-limit),2023-11-14T22:13:20.000Z,1,19000000,loss-limit:desk:1700000000',
    ])
    const c = capture()
    await runHaltReset(db, { account: 'desk', by: 'alice' }, c.out)
    await runHaltReset(db, { account: 'desk', by: 'alice' }, c.out)
    expect(c.lines).toEqual([
      'reset the halt of account desk (halted by rule loss-limit: dailyPnlUsd -60000 below -50000 (rule loss-limit)), by alice',
      'account desk is not halted; nothing to reset',
    ])
    expect((await getHalt(db, 'desk'))?.resetBy).toBe('alice')
    await expect(runHaltReset(db, { account: 'desk', by: ' ' }, c.out)).rejects.toThrow('say who resets the halt')
  })
})

describe('withCliDatabase', () => {
  it('refuses an embedded folder that does not exist, rather than creating an empty database there', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'dexrisk-cli-'))
    try {
      const dataDir = join(parent, 'db')
      const err = await withCliDatabase({ url: undefined, dataDir }, async () => 'ran').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).message).toBe(
        `no embedded database in ${dataDir}: pass the folder the monitor uses with --data-dir, or set DATABASE_URL for a TimescaleDB server (field --data-dir)`,
      )
    } finally {
      await rm(parent, { recursive: true, force: true })
    }
  })

  it('refuses a database that lacks migrations before running the command, naming them', async () => {
    const bare = await startEmbeddedDatabase({})
    try {
      let ran = false
      const err = await withCliDatabase({ url: bare.url, dataDir: 'unused', migrated: true }, async () => {
        ran = true
      }).catch((e: unknown) => e)
      const files = (await readMigrations(defaultMigrationsDir)).map((m) => m.file)
      expect(ran).toBe(false)
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).message).toBe(
        `the database at 127.0.0.1:${bare.port} lacks migrations ${files.join(', ')}: apply them with dexrisk migrate (or start the monitor once)`,
      )
    } finally {
      await bare.stop()
    }
  })

  it('runs the command on the server at the URL and returns its result', async () => {
    await database.endPool() // the embedded server serves one connection at a time
    await expect(withCliDatabase({ url: database.url, dataDir: 'unused', migrated: true }, async (db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rules')).rows)).resolves.toEqual([{ n: 0 }])
  })
})


const dexrisk = runDexrisk

describe('dexrisk rules / halts (the binary, on an embedded data folder)', () => {
  let parent: string
  let dataDir: string

  /** Opens the folder in this process (the binary must not be running on it), then closes it. */
  async function onFolder<T>(fn: (db: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
    const embedded = await startEmbeddedDatabase({ dataDir })
    const pool = createPool({ url: embedded.url, max: 1 })
    try {
      return await fn(pool)
    } finally {
      await pool.end()
      await embedded.stop()
    }
  }

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'dexrisk-cli-'))
    dataDir = join(parent, 'db')
    await onFolder(async (db) => {
      await migrate(db)
      await upsertRule(db, rule({ id: 'loss', account: 'desk', metric: 'dailyPnlUsd', op: 'below', threshold: -50_000, hysteresis: 0, severity: 'critical', cooldownSeconds: 300, action: 'halt' }))
      await setHalt(db, halt())
    })
  })

  afterAll(async () => {
    await rm(parent, { recursive: true, force: true })
  })

  it('rules list prints the built-in defaults and the database rules as a table', async () => {
    const r = await dexrisk(['rules', 'list', '--data-dir', dataDir])
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'id                          account    metric             op     threshold  hysteresis  severity  cooldown_s  action  enabled  source',
        '--------------------------  ---------  -----------------  -----  ---------  ----------  --------  ----------  ------  -------  --------',
        'default.drawdown            (default)  drawdownPct        above  0.2        0.05        warning   3600        alert   true     built-in',
        'default.drawdown-critical   (default)  drawdownPct        above  0.5        0.1         critical  3600        alert   true     built-in',
        'default.unpriced-positions  (default)  unpricedPositions  above  0.5        0           warning   3600        alert   true     built-in',
        'default.var99               (default)  var99Usd           above  1000000    100000      warning   3600        alert   true     built-in',
        'loss                        desk       dailyPnlUsd        below  -50000     0           critical  300         halt    true     database',
        '(5 rows)',
        '',
      ].join('\n'),
    })
  })

  it('halts reset lifts the halt in the folder and records who did it', async () => {
    const r = await dexrisk(['halts', 'reset', 'desk', '--by', 'alice', '--data-dir', dataDir])
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: 'reset the halt of account desk (halted by rule loss-limit: dailyPnlUsd -60000 below -50000 (rule loss-limit)), by alice\n',
    })
    const after = await onFolder((db) => getHalt(db, 'desk'))
    expect(after).toEqual({
      account: 'desk',
      halted: false,
      reason: 'dailyPnlUsd -60000 below -50000 (rule loss-limit)',
      ruleId: 'loss-limit',
      alertId: 'loss-limit:desk:1700000000',
      haltedAt: 1_700_000_000,
      chainId: 1,
      block: 19_000_000n,
      resetAt: expect.any(Date),
      resetBy: 'alice',
    })
  })

  it('prints a refused command as one line on stderr and exits 1, changing nothing', async () => {
    const r = await dexrisk(['rules', 'delete', '--id', 'default.drawdown', '--data-dir', dataDir])
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'dexrisk: rule default.drawdown is built in and cannot be deleted; disable it with: rules set --id default.drawdown --enabled false (field --id)\n',
    })
    expect(await onFolder(async (db) => strip(await listRules(db)).map((x) => `${x.id}/${x.account}`))).toEqual(['loss/desk'])
  })
})
