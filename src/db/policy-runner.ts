import type pg from 'pg'
import { errorLine } from '../errors.ts'
import type { DbLogger } from './pool.ts'

export type PolicyRunnerOptions = {
  /** The owning process's pool (embedded mode: the pool of one every part shares). */
  pool: pg.Pool
  log: DbLogger
  /**
   * How often to look for due jobs, in ms; the first look is one tick after the start. Default 60 000
   * (the shortest schedule in sql/0006_aggregates.sql is one minute). 0: no timer, jobs run only on
   * `runDue()` (tests).
   */
  tickMs?: number
}

export type PolicyRunner = {
  /**
   * Runs, one at a time in job id order, every scheduled TimescaleDB job (id ≥ 1000: refresh,
   * compression and retention policies, add_job jobs) whose schedule_interval has passed since this
   * runner last ran it (every job is due at the first call). A failing job is logged with its id and
   * procedure and the others still run. Calls are serialized. Resolves to the number of jobs run,
   * failed ones included; 0 once closed.
   */
  runDue(now?: Date | number): Promise<number>
  /** Stops the timer and waits for the job that is running (the rest of that round is skipped). Idempotent. */
  close(): Promise<void>
}

type JobRow = { job_id: number; proc_schema: string; proc_name: string; hypertable_name: string | null; interval_ms: number }

/**
 * Runs TimescaleDB's policies where no background worker does: in embedded mode (docs/decisions.md 6)
 * the process that owns the database calls `CALL run_job(id)` itself on each job's schedule.
 * With a server (DATABASE_URL) the server's scheduler runs them; do not start this there.
 *
 * The schedule is kept here, in memory: run_job does not update timescaledb_information.job_stats
 * in embedded mode, so "last run" means last run by this runner, and a restart runs every job once.
 * A job holds the pool's connection while it runs (a compression or a first refresh can take a
 * while): other queries of the process wait for it, which is why jobs run one at a time.
 */
export function startPolicyRunner(opts: PolicyRunnerOptions): PolicyRunner {
  const { pool, log } = opts
  const tickMs = opts.tickMs ?? 60_000
  if (!Number.isFinite(tickMs) || tickMs < 0) throw new RangeError(`startPolicyRunner: tickMs must be a number ≥ 0 (got ${tickMs})`)
  const lastRun = new Map<number, number>()
  let closed = false
  let queue: Promise<unknown> = Promise.resolve()

  const round = async (now: number): Promise<number> => {
    if (closed) return 0
    const jobs = await pool.query<JobRow>(
      `SELECT job_id, proc_schema, proc_name, hypertable_name,
              (extract(epoch FROM schedule_interval) * 1000)::float8 AS interval_ms
       FROM timescaledb_information.jobs
       WHERE job_id >= 1000 AND scheduled
       ORDER BY job_id`,
    )
    let ran = 0
    for (const job of jobs.rows) {
      if (closed) break
      const last = lastRun.get(job.job_id)
      if (last !== undefined && now - last < job.interval_ms) continue
      lastRun.set(job.job_id, now)
      ran++
      try {
        await pool.query('CALL run_job($1)', [job.job_id])
      } catch (err) {
        log.error(
          { jobId: job.job_id, proc: `${job.proc_schema}.${job.proc_name}`, hypertable: job.hypertable_name ?? undefined, err: errorLine(err) },
          'policy job failed; the next one runs, and this one again on its schedule',
        )
      }
    }
    return ran
  }

  const runDue = (now: Date | number = Date.now()): Promise<number> => {
    const at = typeof now === 'number' ? now : now.getTime()
    const next = queue.then(() => round(at))
    queue = next.catch(() => {})
    return next
  }

  // A tick while the previous tick's round still runs (a long compression) is skipped, not queued.
  let ticking = false
  const timer =
    tickMs > 0
      ? setInterval(() => {
          if (ticking) return
          ticking = true
          runDue()
            .catch((err: unknown) => log.warn({ err: errorLine(err) }, 'could not read the policy jobs; trying again at the next tick'))
            .finally(() => (ticking = false))
        }, tickMs)
      : undefined
  // Not at once: the first round (where every job is due) waits one tick, so a start (migrations,
  // workers loading their state) does not queue behind a round on the embedded pool's one connection.
  // Nothing is missing meanwhile: the aggregates are real-time.
  timer?.unref()

  let closing: Promise<void> | undefined
  return {
    runDue,
    close: () =>
      (closing ??= (async () => {
        closed = true
        if (timer) clearInterval(timer)
        await queue
      })()),
  }
}
