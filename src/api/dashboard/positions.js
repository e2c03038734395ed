/**
 * The positions table as data: one row per token of the summary, named by its symbol, with its cost
 * basis and PnL from the positions the server sent, sorted as the reader asked, and the totals.
 * Pure: no DOM.
 *
 * A row's cost, unrealized and realized PnL come from the server's position only while its quantity
 * equals the summary's: otherwise they belong to another block, and the row shows none until the
 * page has the positions of the summary it shows (it asks for them when a quantity changes).
 */
import { chainName, isNative, nativeSymbol } from './chains.js'
import { decimalsOf, shortAddress, tokenKey } from './format.js'

/** @typedef {import('../../risk/account-metrics.ts').AccountMetrics} AccountMetrics */
/** @typedef {import('../../risk/account-metrics.ts').TokenExposure} TokenExposure */
/** @typedef {import('../account-view.ts').PositionJson} PositionJson */
/** @typedef {'symbol' | 'chain' | 'quantity' | 'price' | 'value' | 'cost' | 'unrealized' | 'realized'} SortKey */
/** @typedef {{ key: SortKey, dir: 'asc' | 'desc' }} SortOrder */
/**
 * @typedef {TokenExposure & {
 *   key: string,
 *   symbol: string,
 *   chain: string,
 *   costUsd: number | null,
 *   unrealizedPnlUsd: number | null,
 *   realizedPnlUsd: number | null,
 *   costPending: boolean,
 * }} PositionRow
 */

/** Symbols and decimals by tokenKey, from the server's positions (any quantity: they do not change). @param {PositionJson[] | null} positions */
export function tokenInfo(positions) {
  /** @type {Map<string, PositionJson>} */
  const byKey = new Map()
  for (const p of positions ?? []) byKey.set(tokenKey(p.chainId, p.token), p)
  return byKey
}

/**
 * What a token is called: the chain's native coin for the native sentinel ("ETH", never its wrapped
 * token's asset), else the token's own symbol (WETH), else its risk asset when config named one,
 * else its short address.
 * @param {number} chainId
 * @param {string} token
 * @param {{ symbol: string | null } | undefined} info
 * @param {string | null} [asset]
 */
export function tokenSymbol(chainId, token, info, asset) {
  if (isNative(token)) return nativeSymbol(chainId)
  if (info?.symbol) return info.symbol
  if (asset && !isUnnamedAsset(asset)) return asset
  return shortAddress(token)
}

/** An asset config does not name is "<chainId>:<address>" (workers/risk/risk-engine.ts). @param {string} asset */
const isUnnamedAsset = (asset) => /^\d+:0x[0-9a-fA-F]{40}$/.test(asset)

/**
 * A risk asset as the page names it: its own name, or for an asset config does not name, its
 * token's symbol.
 * @param {string} asset
 * @param {Map<string, PositionJson>} info
 */
export function assetLabel(asset, info) {
  if (!isUnnamedAsset(asset)) return asset
  const [chain, token] = asset.split(':')
  const chainId = Number(chain)
  return tokenSymbol(chainId, /** @type {string} */ (token), info.get(tokenKey(chainId, /** @type {string} */ (token))))
}

/**
 * @param {AccountMetrics | null} m
 * @param {PositionJson[] | null} positions
 * @returns {PositionRow[]}
 */
export function positionRows(m, positions) {
  const info = tokenInfo(positions)
  return (m?.exposureByToken ?? []).map((e) => {
    const key = tokenKey(e.chainId, e.token)
    const p = info.get(key)
    const same = p !== undefined && p.quantity === e.quantity
    return {
      ...e,
      decimals: e.decimals ?? p?.decimals ?? null,
      key,
      symbol: tokenSymbol(e.chainId, e.token, p, e.asset),
      chain: chainName(e.chainId),
      costUsd: same ? p.costUsd : null,
      unrealizedPnlUsd: same && e.valueUsd !== null ? e.valueUsd - p.costUsd : null,
      realizedPnlUsd: same ? p.realizedPnlUsd : null,
      costPending: !same,
    }
  })
}

/**
 * Whether the page should ask for positions: some token of the summary has none from the server
 * at its quantity.
 * @param {AccountMetrics | null} m
 * @param {PositionJson[] | null} positions
 */
export function positionsStale(m, positions) {
  const info = tokenInfo(positions)
  return (m?.exposureByToken ?? []).some((e) => info.get(tokenKey(e.chainId, e.token))?.quantity !== e.quantity)
}

/** @type {Record<SortKey, (r: PositionRow) => number | string | null>} */
const SORT_VALUES = {
  symbol: (r) => r.symbol.toLowerCase(),
  chain: (r) => r.chain.toLowerCase(),
  quantity: (r) => unitsOf(r),
  price: (r) => r.priceUsd,
  value: (r) => r.valueUsd,
  cost: (r) => r.costUsd,
  unrealized: (r) => r.unrealizedPnlUsd,
  realized: (r) => r.realizedPnlUsd,
}

/** Text columns sort A→Z first; figures largest first. */
export const FIRST_DIRECTION = /** @type {Record<SortKey, 'asc' | 'desc'>} */ ({ symbol: 'asc', chain: 'asc', quantity: 'desc', price: 'desc', value: 'desc', cost: 'desc', unrealized: 'desc', realized: 'desc' })

/** The quantity in token units (float), or the raw integer when the decimals are unknown. @param {PositionRow} r */
function unitsOf(r) {
  const d = decimalsOf(r)
  const q = Number(r.quantity)
  return d === null ? q : q / 10 ** d
}

/**
 * Rows in the reader's order: by the clicked column (a row without the figure last, whichever the
 * direction), ties by symbol then chain. With no order chosen: unpriced first (they need a look),
 * then by |value|, closed positions last.
 * @param {PositionRow[]} rows
 * @param {SortOrder | null} sort
 */
export function sortRows(rows, sort) {
  if (!sort) return [...rows].sort(defaultOrder)
  const get = SORT_VALUES[sort.key]
  const sign = sort.dir === 'asc' ? 1 : -1
  return [...rows].sort((a, b) => {
    const x = get(a)
    const y = get(b)
    if (x === null || y === null) return x === y ? tieBreak(a, b) : x === null ? 1 : -1
    const c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y), 'en') : x - y
    return c !== 0 ? sign * c : tieBreak(a, b)
  })
}

/** @param {PositionRow} a @param {PositionRow} b */
function tieBreak(a, b) {
  return a.symbol.localeCompare(b.symbol, 'en') || a.chainId - b.chainId || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
}

/** @param {PositionRow} a @param {PositionRow} b */
function defaultOrder(a, b) {
  const rank = (/** @type {PositionRow} */ e) => (e.valueUsd === null ? 0 : /^-?0+$/.test(e.quantity) ? 2 : 1)
  return rank(a) - rank(b) || Math.abs(b.valueUsd ?? 0) - Math.abs(a.valueUsd ?? 0) || tieBreak(a, b)
}

/**
 * The next order after a click on `key`'s header: that column in its first direction, then the
 * other direction, then back to the default order.
 * @param {SortOrder | null} sort
 * @param {SortKey} key
 * @returns {SortOrder | null}
 */
export function nextSort(sort, key) {
  const first = FIRST_DIRECTION[key]
  if (sort?.key !== key) return { key, dir: first }
  if (sort.dir === first) return { key, dir: first === 'asc' ? 'desc' : 'asc' }
  return null
}

/**
 * The totals row, from the account's own figures (the KPIs above show the same): value and cost of
 * the priced positions (cost = value − unrealized PnL, both over priced positions), unrealized PnL
 * over them, realized PnL over every position.
 * @param {AccountMetrics | null} m
 */
export function positionTotals(m) {
  if (!m) return null
  return {
    valueUsd: m.netExposureUsd,
    costUsd: m.netExposureUsd - m.unrealizedPnlUsd,
    unrealizedPnlUsd: m.unrealizedPnlUsd,
    realizedPnlUsd: m.realizedPnlUsd,
    positions: m.exposureByToken.length,
    unpriced: m.unpricedPositions,
  }
}
