/* global document */
/**
 * Writes a DashboardState into the page (index.html's elements, by id). Text only — every string
 * from the server goes in through textContent, never as HTML. Each call rewrites the whole page
 * from the state; the tables are small (one row per token, asset, chain, alert).
 */
import {
  NONE,
  formatAge,
  formatInteger,
  formatMetric,
  formatPct,
  formatPnl,
  formatPrice,
  formatQuantity,
  formatRatio,
  formatTime,
  formatUsd,
  formatUsdCompact,
  formatUsdWhole,
  shortAddress,
  tokenKey,
} from './format.js'
import { haltReason } from './state.js'

/** @typedef {import('./state.js').DashboardState} DashboardState */
/** @typedef {import('../../risk/account-metrics.ts').AccountMetrics} AccountMetrics */
/** @typedef {import('../../risk/account-metrics.ts').TokenExposure} TokenExposure */
/** @typedef {import('../../risk/rules.ts').AlertJson} AlertJson */

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const e = document.getElementById(id)
  if (!e) throw new Error(`dashboard: the page has no element #${id}`)
  return e
}

/**
 * @param {string} tag
 * @param {Record<string, string> | null} [attrs] `class`, `title`, `data-*`, `scope`, …
 * @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, v)
  e.append(...children)
  return e
}

/** @param {string} id @param {string} text @param {string} [title] */
function setText(id, text, title) {
  const e = byId(id)
  if (e.textContent !== text) e.textContent = text
  if (title === undefined) e.removeAttribute('title')
  else e.title = title
}

/** 'pos' / 'neg' / 'zero' for colouring a signed figure. @param {number | null | undefined} n */
const signOf = (n) => (typeof n !== 'number' || !Number.isFinite(n) || n === 0 ? 'zero' : n > 0 ? 'pos' : 'neg')

/** @param {string} id @param {number | null | undefined} n */
function setPnl(id, n) {
  setText(id, formatPnl(n))
  byId(id).dataset.sign = signOf(n)
}

/** The figures and tables. @param {DashboardState} state */
export function renderDashboard(state) {
  const s = state.summary
  const m = s?.metrics ?? null
  setText('account-name', state.account || NONE)

  // Source of the figures.
  setText('last-chain', s ? String(s.chainId) : NONE)
  setText('last-block', s ? s.block : NONE)
  setText('last-time', s ? formatTime(s.time) : NONE)
  setText('last-shard', s ? String(s.shard) : NONE)
  if (s) byId('last-time').setAttribute('datetime', new Date(s.time * 1000).toISOString())
  renderAge(state)

  // Halted.
  const banner = byId('halted-banner')
  banner.hidden = !state.halted
  document.body.classList.toggle('is-halted', state.halted)
  const why = haltReason(state)
  setText('halted-reason', why ? `${why.reason} · rule ${why.ruleId} · chain ${why.chainId} block ${why.block} · ${formatTime(why.time)}` : 'Trading is halted for this account.')

  const notice = byId('notice')
  notice.hidden = !(state.synced && !s)
  if (state.synced && !s) notice.textContent = `No risk computed yet for ${state.account}: the figures appear after its first batch.`

  // Key figures.
  setText('equity', formatUsd(m?.equityUsd))
  setText('gross-exposure', formatUsd(m?.grossExposureUsd))
  setText('net-exposure', formatUsd(m?.netExposureUsd))
  setPnl('total-pnl', m?.totalPnlUsd)
  setPnl('realized-pnl', m?.realizedPnlUsd)
  setPnl('unrealized-pnl', m?.unrealizedPnlUsd)
  setPnl('daily-pnl', m?.dailyPnlUsd)
  setText('drawdown', formatUsd(m?.drawdownUsd))
  setText('drawdown-pct', m ? `(${formatPct(m.drawdownPct)})` : '', m && m.drawdownPct === null ? 'no positive peak yet: not computable' : undefined)
  setText('max-drawdown', formatUsd(m?.maxDrawdownUsd))
  setText('max-drawdown-pct', m ? `(${formatPct(m.maxDrawdownPct)})` : '')
  setText('largest-share', formatPct(m?.largestAssetShare), m && m.largestAssetShare === null ? 'no gross exposure' : undefined)
  setText('hhi', formatRatio(m?.hhi), m && m.hhi === null ? 'no gross exposure' : undefined)
  setText('unpriced-count', m ? formatInteger(m.unpricedPositions) : NONE)
  byId('unpriced-kpi').classList.toggle('warn', (m?.unpricedPositions ?? 0) > 0)
  setText('swaps', m ? `${formatInteger(m.swaps1m)} / ${formatInteger(m.swaps1h)} / ${formatInteger(m.swaps24h)}` : NONE)
  setText(
    'volume',
    m ? `${formatUsdCompact(m.volume1hUsd)} / ${formatUsdCompact(m.volume24hUsd)}` : NONE,
    m
      ? `1 m ${formatUsd(m.volume1mUsd)} · 1 h ${formatUsd(m.volume1hUsd)} · 24 h ${formatUsd(m.volume24hUsd)}. Trades without a USD value add nothing (a lower bound); — when no trade in the window has one`
      : undefined,
  )

  // Value at risk.
  setText('var95', formatUsd(m?.var95Usd))
  setText('var99', formatUsd(m?.var99Usd))
  setText('es95', formatUsd(m?.es95Usd))
  setText('es99', formatUsd(m?.es99Usd))
  setText('pvar95', formatUsd(m?.parametricVar95Usd))
  setText('pvar99', formatUsd(m?.parametricVar99Usd))
  const method = byId('var-method')
  setText('var-method', m ? m.varMethod : NONE)
  method.dataset.method = m?.varMethod ?? ''
  setText('var-method-note', m ? METHOD_NOTES[m.varMethod] ?? '' : '')
  setText('history-length', m ? `${formatInteger(m.historyLength)} returns` : NONE)
  const without = m?.assetsWithoutHistory ?? []
  byId('no-history-box').hidden = without.length === 0
  byId('assets-without-history').replaceChildren(...without.map((a) => h('li', { class: 'chip' }, a)))

  // Positions, unpriced ones first and called out: they are in no sum.
  renderPositions(m)
  renderExposure(m)
  renderAlerts(state.alerts)

  const title = `${state.halted ? 'HALTED · ' : ''}${state.account || 'dexrisk'}${m ? ` · ${formatUsd(m.equityUsd)}` : ''} · dexrisk`
  if (document.title !== title) document.title = title
}

/** @type {Record<string, string>} */
const METHOD_NOTES = {
  historical: 'every exposed asset has return history',
  mixed: 'some assets lack history: charged the fallback shock',
  fallback: 'no asset has history: fallback shock only',
}

/** How old the figures are; called on a timer too. @param {DashboardState} state */
export function renderAge(state) {
  const s = state.summary
  setText('data-age', s ? `(${formatAge(s.time, Date.now() / 1000)})` : '')
}

/** @param {AccountMetrics | null} m */
function renderPositions(m) {
  const unpriced = m?.unpricedTokens ?? []
  byId('unpriced-box').hidden = unpriced.length === 0
  byId('unpriced-list').replaceChildren(
    ...unpriced.map((u) =>
      h('li', { 'data-token': tokenKey(u.chainId, u.token), title: u.token }, `chain ${u.chainId} · `, h('span', { class: 'mono' }, shortAddress(u.token)), ` · ${u.quantity} raw`),
    ),
  )

  const rows = [...(m?.exposureByToken ?? [])].sort(positionOrder)
  byId('positions').replaceChildren(
    ...rows.map((e) => {
      const q = formatQuantity(e)
      const flat = /^-?0+$/.test(e.quantity)
      const value = e.valueUsd === null ? h('span', { class: 'badge warn', title: 'No price or decimals: excluded from every sum, never valued at 0' }, 'unpriced') : formatUsdWhole(e.valueUsd)
      const flags = e.unpricedCost ? [' ', h('span', { class: 'badge muted-badge', title: 'A trade of this token had no USD value: its cost basis and PnL are incomplete' }, 'cost?')] : []
      return h(
        'tr',
        { 'data-token': tokenKey(e.chainId, e.token), class: `${e.valueUsd === null ? 'unpriced' : ''}${flat ? ' flat' : ''}`.trim() },
        h('td', { class: 'text' }, e.asset, ...flags),
        h('td', null, String(e.chainId)),
        h('td', { class: 'text mono', title: e.token }, shortAddress(e.token)),
        h('td', { 'data-col': 'quantity', title: q.exact === null ? `raw integer ${e.quantity}; decimals unknown` : `${q.exact} (raw ${e.quantity})` }, q.text),
        h('td', { 'data-col': 'price' }, e.priceUsd === null ? NONE : formatPrice(e.priceUsd)),
        h('td', { 'data-col': 'value', title: e.valueUsd === null ? '' : formatUsd(e.valueUsd) }, value),
      )
    }),
  )
  if (rows.length === 0) byId('positions').replaceChildren(h('tr', null, h('td', { colspan: '6', class: 'text muted' }, m ? 'No positions.' : NONE)))
}

/**
 * Unpriced first (they need a look), then by |value| descending, closed positions last.
 * @param {TokenExposure} a
 * @param {TokenExposure} b
 */
function positionOrder(a, b) {
  const rank = (/** @type {TokenExposure} */ e) => (e.valueUsd === null ? 0 : /^-?0+$/.test(e.quantity) ? 2 : 1)
  return rank(a) - rank(b) || Math.abs(b.valueUsd ?? 0) - Math.abs(a.valueUsd ?? 0) || (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0) || a.chainId - b.chainId
}

/** @param {AccountMetrics | null} m */
function renderExposure(m) {
  const gross = m?.grossExposureUsd ?? 0
  /** @param {string} label @param {{ grossUsd: number, netUsd: number }} x @param {Record<string, string>} attrs */
  const row = (label, x, attrs) => {
    const share = gross > 0 ? x.grossUsd / gross : null
    const fill = h('span', { class: 'bar-fill' })
    // CSSOM, not a style attribute: allowed by a CSP without 'unsafe-inline'.
    fill.style.width = `${Math.max(0, Math.min(1, share ?? 0)) * 100}%`
    return h(
      'tr',
      attrs,
      h('td', { class: 'text' }, label),
      h('td', { title: formatUsd(x.grossUsd) }, formatUsdWhole(x.grossUsd)),
      h('td', { title: formatUsd(x.netUsd) }, formatUsdWhole(x.netUsd)),
      h('td', { class: 'share' }, formatPct(share), h('span', { class: 'bar', 'aria-hidden': 'true' }, fill)),
    )
  }
  const assets = [...(m?.exposureByAsset ?? [])].sort((a, b) => b.grossUsd - a.grossUsd)
  byId('exposure-by-asset').replaceChildren(...assets.map((x) => row(x.asset, x, { 'data-asset': x.asset })))
  const chains = [...(m?.exposureByChain ?? [])].sort((a, b) => b.grossUsd - a.grossUsd)
  byId('exposure-by-chain').replaceChildren(...chains.map((x) => row(String(x.chainId), x, { 'data-chain': String(x.chainId) })))
}

/** @param {AlertJson[]} alerts newest first */
function renderAlerts(alerts) {
  byId('alert-empty').hidden = alerts.length > 0
  byId('alert-feed').replaceChildren(...alerts.map(alertItem))
}

/** @param {AlertJson} a */
function alertItem(a) {
  const sign = a.op === 'above' ? '>' : '<'
  const threshold = `${sign} ${formatMetric(a.metric, a.threshold)}`
  const resolvesAt = a.op === 'above' ? a.threshold - a.hysteresis : a.threshold + a.hysteresis
  const resolveNote = a.state === 'resolved' && a.hysteresis > 0 ? ` (resolves ${a.op === 'above' ? '<' : '>'} ${formatMetric(a.metric, resolvesAt)})` : ''
  return h(
    'li',
    { class: `alert sev-${a.severity} state-${a.state}`, 'data-alert-id': a.id, 'data-state': a.state, 'data-severity': a.severity, title: `chain ${a.chainId} · block ${a.block} · id ${a.id}` },
    h(
      'div',
      { class: 'alert-head' },
      h('span', { class: `badge sev sev-${a.severity}` }, a.severity),
      h('span', { class: `badge state state-${a.state}` }, a.state),
      ...(a.action === 'halt' ? [h('span', { class: 'badge action-halt' }, 'halt')] : []),
      h('time', { datetime: new Date(a.time * 1000).toISOString(), class: 'muted' }, formatTime(a.time)),
    ),
    h(
      'div',
      { class: 'alert-body' },
      h('span', { class: 'rule mono' }, a.ruleId),
      h('span', { class: 'metric' }, a.metric),
      h('span', { class: 'cmp' }, h('strong', { class: 'value' }, formatMetric(a.metric, a.value)), ' vs ', h('span', { class: 'threshold' }, threshold + resolveNote)),
    ),
  )
}

/**
 * The connection pill. `live` only when the socket is open and a snapshot arrived.
 * @param {import('./connection.js').ConnectionState} state
 * @param {string} detail
 */
export function renderConnection(state, detail) {
  document.body.dataset.connection = state
  setText('connection-state', state)
  setText('connection-detail', detail)
}
