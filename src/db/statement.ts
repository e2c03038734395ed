/**
 * Several writes as one statement: each part is a list of CTEs (`name AS (INSERT …)`) with its own
 * $1…$n, and `combine` joins them under one WITH, numbering their parameters in turn. Postgres runs
 * every data-modifying CTE of a statement whether or not the final SELECT reads it, all against the
 * same snapshot, so parts must not write the same rows twice.
 *
 * Why: on the embedded database every statement is a round trip between the process's main thread
 * and the database's thread, and each waits for the other to be free. Measured with `npm run bench`,
 * a batch's dozen statements left both threads idle half the time; one statement per batch does not.
 */
export type Part = {
  /** Comma-separated CTE definitions; names unique across the parts of one statement. */
  ctes: string
  params: readonly unknown[]
}

export function combine(parts: readonly Part[], final: string): { text: string; values: unknown[] } {
  const values: unknown[] = []
  const ctes: string[] = []
  for (const p of parts) {
    const offset = values.length
    ctes.push(offset === 0 ? p.ctes : p.ctes.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`))
    values.push(...p.params)
  }
  return { text: ctes.length > 0 ? `WITH ${ctes.join(',\n')}\n${final}` : final, values }
}
