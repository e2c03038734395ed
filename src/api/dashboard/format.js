/**
 * How the dashboard writes numbers, times and token quantities. Pure: no DOM. Numbers go through
 * Intl.NumberFormat in the reader's locale; a value that cannot be computed (null, NaN) is written
 * NONE, never 0. Times are block times (unix seconds), written in UTC.
 */

/** What a missing value reads as. */
export const NONE = '—'

const usd = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'negative' })
const usdWhole = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0, signDisplay: 'negative' })
const usdSigned = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' })
const usdSignedWhole = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 0, maximumFractionDigits: 0, signDisplay: 'exceptZero' })
const usdCompact = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 1, signDisplay: 'negative' })
const usdAxis = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', notation: 'compact', maximumSignificantDigits: 3, signDisplay: 'negative' })
const price = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD', maximumSignificantDigits: 6 })
const pct = new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'negative' })
const share = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 2 })
const ratio = new Intl.NumberFormat(undefined, { minimumFractionDigits: 4, maximumFractionDigits: 4, signDisplay: 'negative' })
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
/** 8 decimals, or 6 significant digits when that says more: dust never reads as 0. */
const units = new Intl.NumberFormat(undefined, { maximumFractionDigits: 8, maximumSignificantDigits: 6, roundingPriority: 'morePrecision' })
const scientific = new Intl.NumberFormat(undefined, { notation: 'scientific', maximumSignificantDigits: 4 })

/** @param {unknown} n */
const finite = (n) => typeof n === 'number' && Number.isFinite(n)
/** -0 would read "-$0.00" with signDisplay 'exceptZero'. @param {number} n */
const unsignedZero = (n) => (n === 0 ? 0 : n)

/** "$1,234.56". @param {number | null | undefined} n */
export const formatUsd = (n) => (finite(n) ? usd.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** "$1,235": table figures. @param {number | null | undefined} n */
export const formatUsdWhole = (n) => (finite(n) ? usdWhole.format(/** @type {number} */ (n)) : NONE)
/** "+$1,234.56" / "-$1,234.56" / "$0.00": PnL. @param {number | null | undefined} n */
export const formatPnl = (n) => (finite(n) ? usdSigned.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** "+$1,235" / "-$1,235" / "$0": PnL in tables. @param {number | null | undefined} n */
export const formatPnlWhole = (n) => (finite(n) ? usdSignedWhole.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** "$1.2M": volumes among the key figures. @param {number | null | undefined} n */
export const formatUsdCompact = (n) => (finite(n) ? usdCompact.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** "$1.05M": axis ticks, three significant digits so neighbouring ticks differ. @param {number | null | undefined} n */
export const formatAxisUsd = (n) => (finite(n) ? usdAxis.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** "$3,012.45", "$0.000123457": six significant digits. @param {number | null | undefined} n */
export const formatPrice = (n) => (finite(n) ? price.format(/** @type {number} */ (n)) : NONE)
/** A fraction as a percentage: 0.1234 → "12.34%". @param {number | null | undefined} n */
export const formatPct = (n) => (finite(n) ? pct.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** A fraction as a percentage without needless decimals: 0.25 → "25%", 0.125 → "12.5%". @param {number | null | undefined} n */
export const formatShare = (n) => (finite(n) ? share.format(/** @type {number} */ (n)) : NONE)
/** A fraction with four decimals: HHI 0.42 → "0.4200". @param {number | null | undefined} n */
export const formatRatio = (n) => (finite(n) ? ratio.format(unsignedZero(/** @type {number} */ (n))) : NONE)
/** @param {number | null | undefined} n */
export const formatInteger = (n) => (finite(n) ? integer.format(/** @type {number} */ (n)) : NONE)

/** @typedef {import('../../risk/rules.ts').MetricName} MetricName */

/** Rule metrics that are fractions (shown as %), ratios, or counts; every other one is USD. */
const PCT_METRICS = new Set(['drawdownPct', 'maxDrawdownPct', 'largestAssetShare'])
const RATIO_METRICS = new Set(['hhi'])
const COUNT_METRICS = new Set(['unpricedPositions', 'swaps1m', 'swaps1h', 'swaps24h'])

/**
 * A rule metric's value in its unit: "-$60,000.00" for dailyPnlUsd, "25.00%" for drawdownPct.
 * @param {MetricName | string} metric
 * @param {number | null | undefined} n
 */
export function formatMetric(metric, n) {
  if (PCT_METRICS.has(metric)) return formatPct(n)
  if (RATIO_METRICS.has(metric)) return formatRatio(n)
  // A count's threshold may sit between whole numbers (0.5: fires at the first one): not rounded.
  if (COUNT_METRICS.has(metric)) return finite(n) && !Number.isInteger(n) ? units.format(/** @type {number} */ (n)) : formatInteger(n)
  return formatUsd(n)
}

/** A block time as "2024-05-01 12:34:56 UTC". @param {number | null | undefined} t unix seconds */
export function formatTime(t) {
  if (!finite(t)) return NONE
  const d = new Date(/** @type {number} */ (t) * 1000)
  return Number.isNaN(d.getTime()) ? NONE : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** How long ago, coarse: "8 s ago", "3 min ago", "2 h ago", "4 d ago". @param {number} t @param {number} nowSeconds */
export function formatAge(t, nowSeconds) {
  if (!finite(t)) return ''
  const s = Math.max(0, Math.round(nowSeconds - t))
  if (s < 90) return `${s} s ago`
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86400)} d ago`
}

/** "0x1234…abcd". @param {string} address */
export const shortAddress = (address) => (address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address)

/** How a token is named in `data-token`: "<chainId>:<address lowercase>". @param {number} chainId @param {string} token */
export const tokenKey = (chainId, token) => `${chainId}:${token.toLowerCase()}`

/**
 * A raw integer quantity (decimal string, may be negative) with `decimals` as an exact decimal
 * string: ("-1500000000000000000", 18) → "-1.5".
 * @param {string} raw
 * @param {number} decimals
 */
export function rawToDecimal(raw, decimals) {
  const negative = raw.startsWith('-')
  const digits = (negative ? raw.slice(1) : raw).replace(/^0+(?=\d)/, '')
  if (decimals === 0) return `${negative ? '-' : ''}${digits}`
  const padded = digits.padStart(decimals + 1, '0')
  const whole = padded.slice(0, -decimals)
  const fraction = padded.slice(-decimals).replace(/0+$/, '')
  return `${negative && (whole !== '0' || fraction !== '') ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}

/**
 * The token's decimals: its own field when the server sends one, else the power of ten between the
 * raw quantity and valueUsd / priceUsd (an integer, so the float error of that ratio — relative
 * 1e-15 — cannot change it). null when it cannot be known: unpriced, or a price or value of 0.
 * @param {{ quantity: string, priceUsd: number | null, valueUsd: number | null, decimals?: number | null }} e
 * @returns {number | null}
 */
export function decimalsOf(e) {
  if (typeof e.decimals === 'number' && Number.isInteger(e.decimals) && e.decimals >= 0) return e.decimals
  if (!finite(e.priceUsd) || !finite(e.valueUsd) || e.priceUsd === 0 || e.valueUsd === 0) return null
  const q = Number(e.quantity)
  const u = /** @type {number} */ (e.valueUsd) / /** @type {number} */ (e.priceUsd)
  if (!Number.isFinite(q) || q === 0 || !(q / u > 0)) return null
  const d = Math.round(Math.log10(q / u))
  if (d < 0 || d > 77 || Math.abs(q / 10 ** d / u - 1) > 1e-9) return null
  return d
}

/**
 * A position's quantity in token units, exact from the raw integer and rounded for display to 8
 * decimals, or to 6 significant digits when that keeps more (dust is never shown as 0):
 * { text: "1.5", exact: "1.5" }. When the decimals are unknown, the raw integer, marked
 * "raw" (in scientific notation from 10^7 on: "1E24 raw"; the whole integer goes in a title).
 * @param {{ quantity: string, priceUsd: number | null, valueUsd: number | null, decimals?: number | null }} e
 * @returns {{ text: string, exact: string | null }}
 */
export function formatQuantity(e) {
  if (/^-?0+$/.test(e.quantity)) return { text: units.format(0), exact: '0' }
  const d = decimalsOf(e)
  if (d === null) {
    const raw = BigInt(e.quantity)
    const big = raw >= 10_000_000n || raw <= -10_000_000n
    return { text: `${(big ? scientific : integer).format(raw)} raw`, exact: null }
  }
  const exact = rawToDecimal(e.quantity, d)
  // Intl.NumberFormat takes a decimal string at full precision (no float rounding on the way).
  return { text: units.format(/** @type {Intl.StringNumericLiteral} */ (exact)), exact }
}
