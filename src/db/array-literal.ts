type Element = string | number | bigint | boolean | null | undefined
const PLAIN = /^[-+.:\w]+$/

/**
 * The Postgres array literal of a column (what pg sends for a JS array, built in one pass): null
 * and undefined as NULL, bigints and numbers in decimal, and a string quoted (backslash and double
 * quote escaped) unless it is plain: hex, decimal, a simple name. Array_in then reads every element
 * back exactly as given.
 */
export function arrayLiteral(values: readonly Element[]): string {
  let out = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ','
    const v = values[i]
    if (v === null || v === undefined) {
      out += 'NULL'
      continue
    }
    const s = typeof v === 'string' ? v : String(v)
    out += PLAIN.test(s) && !(s.length === 4 && s.toLowerCase() === 'null') ? s : `"${s.replace(/[\\"]/g, '\\$&')}"`
  }
  return out + '}'
}
