/**
 * What the VaR banner says, when VaR is not what its name promises. Pure: no DOM.
 *
 * - The fallback shock (varMethod 'fallback' or 'mixed'): an asset with too little return history
 *   is charged a fixed share of its |exposure| in every VaR and ES figure. For such an asset VaR 95,
 *   VaR 99 and ES are the same number, and it is no historical VaR at all.
 * - Incomplete (varIncomplete, or on a summary without that field, any unpriced position): an
 *   unpriced position is in no sum, so VaR and ES leave it out and are only lower bounds.
 */
import { chainName } from './chains.js'
import { formatInteger, formatShare, tokenKey } from './format.js'
import { assetLabel, tokenInfo, tokenSymbol } from './positions.js'

/** @typedef {import('../../risk/account-metrics.ts').AccountMetrics} AccountMetrics */
/** @typedef {import('../account-view.ts').PositionJson} PositionJson */
/** @typedef {import('../account-view.ts').RiskSettings} RiskSettings */

/** Names listed in a sentence before "and N more". */
const MAX_NAMES = 6

/** "A, B and C", "A, B, … and 4 more". @param {string[]} names */
function list(names) {
  if (names.length <= 1) return names.join('')
  if (names.length > MAX_NAMES) return `${names.slice(0, MAX_NAMES).join(', ')} and ${names.length - MAX_NAMES} more`
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/** @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => `${formatInteger(n)} ${n === 1 ? one : many}`

/** Whether VaR and ES leave unpriced positions out. @param {AccountMetrics} m */
export function isVarIncomplete(m) {
  const flag = /** @type {{ varIncomplete?: unknown }} */ (m).varIncomplete
  return typeof flag === 'boolean' ? flag : m.unpricedPositions > 0
}

/**
 * @param {AccountMetrics | null} m
 * @param {RiskSettings | null} risk
 * @param {PositionJson[] | null} positions symbols of the account's tokens
 * @returns {{ fallback: string | null, incomplete: string | null }}
 */
export function varWarnings(m, risk, positions) {
  if (!m) return { fallback: null, incomplete: null }
  const info = tokenInfo(positions)
  const shock = risk && Number.isFinite(risk.fallbackShock) ? `${formatShare(risk.fallbackShock)} fallback shock` : 'fallback shock'
  const share = risk && Number.isFinite(risk.fallbackShock) ? formatShare(risk.fallbackShock) : 'a fixed share'
  const history = risk && Number.isFinite(risk.minHistory) ? `fewer than ${formatInteger(risk.minHistory)} returns of history` : 'too little return history'
  const lacking = (m.assetsWithoutHistory ?? []).map((a) => assetLabel(a, info))

  /** @type {string | null} */
  let fallback = null
  if (m.varMethod === 'fallback')
    fallback =
      `VaR is the ${shock}, not a historical VaR: every asset (${list(lacking)}) has ${history}, ` +
      `so VaR 95, VaR 99 and ES are all ${share} of |exposure|.`
  else if (m.varMethod === 'mixed')
    fallback =
      `VaR for ${list(lacking)} is the ${shock}, not a historical VaR: ${lacking.length === 1 ? 'it has' : 'they have'} ${history}, ` +
      `so ${share} of ${lacking.length === 1 ? 'its' : 'their'} |exposure| is added to every VaR and ES figure.`

  /** @type {string | null} */
  let incomplete = null
  if (isVarIncomplete(m)) {
    const assets = new Map((m.exposureByToken ?? []).map((e) => [tokenKey(e.chainId, e.token), e.asset]))
    const names = (m.unpricedTokens ?? []).map((u) => {
      const key = tokenKey(u.chainId, u.token)
      return `${tokenSymbol(u.chainId, u.token, info.get(key), assets.get(key))} on ${chainName(u.chainId)}`
    })
    incomplete =
      `VaR incomplete: ${plural(m.unpricedPositions, 'unpriced position', 'unpriced positions')}${names.length ? ` (${list(names)})` : ''} ` +
      `left out, so VaR and ES are lower bounds of the account's risk.`
  }
  return { fallback, incomplete }
}
