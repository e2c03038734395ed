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
  formatPnlWhole,
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
import { chainName } from './chains.js'
import { assetLabel, positionRows, positionTotals, sortRows, tokenInfo, tokenSymbol } from './positions.js'
import { haltReason } from './state.js'
import { isVarIncomplete, varWarnings } from './var-warnings.js'

/** @typedef {import('./state.js').DashboardState} DashboardState */
/** @typedef {import('../../risk/account-metrics.ts').AccountMetrics} AccountMetrics */
/** @typedef {import('../../risk/rules.ts').AlertJson} AlertJson */
/** @typedef {import('../account-view.ts').PositionJson} PositionJson */

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
  setText('last-chain', s ? chainName(s.chainId) : NONE, s ? `chain id ${s.chainId}` : undefined)
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
  setText('halted-reason', why ? `${why.reason} · rule ${why.ruleId} · ${chainName(why.chainId)} block ${why.block} · ${formatTime(why.time)}` : 'Trading is halted for this account.')

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
  const info = tokenInfo(state.positions)
  const without = m?.assetsWithoutHistory ?? []
  byId('no-history-box').hidden = without.length === 0
  byId('assets-without-history').replaceChildren(...without.map((a) => h('li', { class: 'chip', title: a }, assetLabel(a, info))))

  // VaR that is not a historical VaR, or leaves positions out: a banner no one can miss.
  const warn = varWarnings(m, state.risk, state.positions)
  byId('var-banner').hidden = warn.fallback === null && warn.incomplete === null
  byId('var-fallback').hidden = warn.fallback === null
  setText('var-fallback', warn.fallback ?? '')
  byId('var-incomplete').hidden = warn.incomplete === null
  setText('var-incomplete', warn.incomplete ?? '')
  byId('var-table').classList.toggle('is-fallback', warn.fallback !== null)
  byId('var-table').classList.toggle('is-incomplete', warn.incomplete !== null)

  // Positions, unpriced ones first and called out: they are in no sum.
  renderPositions(state)
  renderExposure(m, info)
  renderAlerts(state)

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

/** @param {DashboardState} state */
function renderPositions(state) {
  const m = state.summary?.metrics ?? null
  const info = tokenInfo(state.positions)
  const unpriced = m?.unpricedTokens ?? []
  const assets = new Map((m?.exposureByToken ?? []).map((e) => [tokenKey(e.chainId, e.token), e.asset]))
  byId('unpriced-box').hidden = unpriced.length === 0
  byId('unpriced-list').replaceChildren(
    ...unpriced.map((u) => {
      const key = tokenKey(u.chainId, u.token)
      return h('li', { 'data-token': key, title: u.token }, `${tokenSymbol(u.chainId, u.token, info.get(key), assets.get(key))} · ${chainName(u.chainId)} · `, h('span', { class: 'mono' }, shortAddress(u.token)), ` · ${u.quantity} raw`)
    }),
  )

  for (const th of byId('positions-head').querySelectorAll('th[data-col]')) {
    const col = /** @type {HTMLElement} */ (th).dataset.col
    if (state.sort?.key === col) th.setAttribute('aria-sort', state.sort.dir === 'asc' ? 'ascending' : 'descending')
    else th.removeAttribute('aria-sort')
  }

  const rows = sortRows(positionRows(m, state.positions), state.sort)
  const pending = 'No cost basis for this quantity yet: it changed since the positions were read'
  /** @param {string} col @param {number | null} n @param {boolean} costPending @param {boolean} signed */
  const figure = (col, n, costPending, signed) => {
    const td = h('td', { 'data-col': col, title: n === null ? (costPending ? pending : '') : formatUsd(n) }, n === null ? NONE : signed ? formatPnlWhole(n) : formatUsdWhole(n))
    // Coloured as shown: a loss of a few cents reads "$0", not a red "$0".
    if (signed) td.dataset.sign = signOf(n === null ? n : Math.round(n))
    return td
  }
  byId('positions').replaceChildren(
    ...rows.map((e) => {
      const q = formatQuantity(e)
      const flat = /^-?0+$/.test(e.quantity)
      const value = e.valueUsd === null ? h('span', { class: 'badge warn', title: 'No price or decimals: excluded from every sum, never valued at 0' }, 'unpriced') : formatUsdWhole(e.valueUsd)
      const flags = e.unpricedCost ? [' ', h('span', { class: 'badge muted-badge', title: 'A trade of this token had no USD value: its cost basis and PnL are incomplete' }, 'cost?')] : []
      const assetNote = e.asset !== e.symbol && !e.asset.includes(':') ? `; risk asset ${e.asset}` : ''
      return h(
        'tr',
        { 'data-token': e.key, class: `${e.valueUsd === null ? 'unpriced' : ''}${flat ? ' flat' : ''}`.trim() },
        h('td', { class: 'text', 'data-col': 'symbol', title: `${e.token}${assetNote}` }, e.symbol, ...flags),
        h('td', { class: 'text', 'data-col': 'chain', title: `chain id ${e.chainId}` }, e.chain),
        h('td', { class: 'text mono', title: e.token }, shortAddress(e.token)),
        h('td', { 'data-col': 'quantity', title: q.exact === null ? `raw integer ${e.quantity}; decimals unknown` : `${q.exact} (raw ${e.quantity})` }, q.text),
        h('td', { 'data-col': 'price' }, e.priceUsd === null ? NONE : formatPrice(e.priceUsd)),
        h('td', { 'data-col': 'value', title: e.valueUsd === null ? '' : formatUsd(e.valueUsd) }, value),
        figure('cost', e.costUsd, e.costPending, false),
        figure('unrealized', e.unrealizedPnlUsd, e.costPending && e.valueUsd !== null, true),
        figure('realized', e.realizedPnlUsd, e.costPending, true),
      )
    }),
  )
  if (rows.length === 0) byId('positions').replaceChildren(h('tr', null, h('td', { colspan: '9', class: 'text muted' }, m ? 'No positions.' : NONE)))

  const t = positionTotals(m)
  if (!t || rows.length === 0) {
    byId('positions-total').replaceChildren()
    return
  }
  const left = t.unpriced > 0 ? `, ${formatInteger(t.unpriced)} unpriced left out` : ''
  byId('positions-total').replaceChildren(
    h(
      'tr',
      null,
      h('th', { scope: 'row', class: 'text', colspan: '5' }, `Total (${formatInteger(t.positions)} positions${left})`),
      h('td', { 'data-col': 'value', title: `${formatUsd(t.valueUsd)}: net value of the priced positions (equity)` }, formatUsdWhole(t.valueUsd)),
      h('td', { 'data-col': 'cost', title: `${formatUsd(t.costUsd)}: cost of the priced positions` }, formatUsdWhole(t.costUsd)),
      figure('unrealized', t.unrealizedPnlUsd, false, true),
      figure('realized', t.realizedPnlUsd, false, true),
    ),
  )
}

/** @param {AccountMetrics | null} m @param {Map<string, PositionJson>} info */
function renderExposure(m, info) {
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
  byId('exposure-by-asset').replaceChildren(...assets.map((x) => row(assetLabel(x.asset, info), x, { 'data-asset': x.asset, title: x.asset })))
  const chains = [...(m?.exposureByChain ?? [])].sort((a, b) => b.grossUsd - a.grossUsd)
  byId('exposure-by-chain').replaceChildren(...chains.map((x) => row(chainName(x.chainId), x, { 'data-chain': String(x.chainId), title: `chain id ${x.chainId}` })))
}

/** The alert feed, newest first. @param {DashboardState} state */
function renderAlerts(state) {
  const { alerts } = state
  const m = state.summary?.metrics ?? null
  const resolved = new Set(alerts.filter((a) => a.state === 'resolved').map((a) => a.id))
  byId('alert-empty').hidden = alerts.length > 0
  byId('alert-feed').replaceChildren(...alerts.map((a) => alertItem(a, a.state === 'firing' && !resolved.has(a.id) ? m : null)))
}

/**
 * The VaR and ES metrics: while the account holds an unpriced position they are lower bounds.
 * @type {ReadonlySet<string>}
 */
const LOWER_BOUND_WHEN_UNPRICED = new Set(['var95Usd', 'var99Usd', 'es95Usd', 'es99Usd', 'parametricVar95Usd', 'parametricVar99Usd'])

/**
 * One firing or resolution. A firing still open (no resolution in the feed) shows the metric's
 * value now — the summary's, which the rules judged last — beside the value it fired at and when.
 * @param {AlertJson} a
 * @param {AccountMetrics | null} now the current metrics for an open firing, else null
 */
function alertItem(a, now) {
  const sign = a.op === 'above' ? '>' : '<'
  const threshold = `${sign} ${formatMetric(a.metric, a.threshold)}`
  const resolvesAt = a.op === 'above' ? a.threshold - a.hysteresis : a.threshold + a.hysteresis
  const resolveNote = a.hysteresis > 0 ? ` (resolves ${a.op === 'above' ? '<' : '>'} ${formatMetric(a.metric, resolvesAt)})` : ''
  // An alert from before `incomplete` was sent reads as complete.
  const atLeast = /** @type {{ incomplete?: unknown }} */ (a).incomplete === true ? '≥ ' : ''
  const firing = a.state === 'firing'
  /** @type {(Node | string)[]} */
  const current = []
  if (now) {
    const value = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (now))[a.metric]
    const bound = LOWER_BOUND_WHEN_UNPRICED.has(a.metric) && isVarIncomplete(now) ? '≥ ' : ''
    current.push(h('span', { class: 'now', title: `at block time ${formatTime(now.time)}` }, 'now ', h('strong', { class: 'value' }, `${bound}${formatMetric(a.metric, typeof value === 'number' ? value : null)}`)))
  }
  const when = firing ? `fired ${formatTime(a.time)}` : `resolved ${formatTime(a.time)} · fired ${formatTime(a.firedAt)}`
  return h(
    'li',
    { class: `alert sev-${a.severity} state-${a.state}`, 'data-alert-id': a.id, 'data-state': a.state, 'data-severity': a.severity, title: `${chainName(a.chainId)} · block ${a.block} · id ${a.id}` },
    h(
      'div',
      { class: 'alert-head' },
      h('span', { class: `badge sev sev-${a.severity}` }, a.severity),
      h('span', { class: `badge state state-${a.state}` }, a.state),
      ...(a.action === 'halt' ? [h('span', { class: 'badge action-halt' }, 'halt')] : []),
      h('time', { datetime: new Date(a.time * 1000).toISOString(), class: 'muted when' }, when),
    ),
    h(
      'div',
      { class: 'alert-body' },
      h('span', { class: 'rule mono' }, a.ruleId),
      h('span', { class: 'metric' }, a.metric),
      ...current,
      h('span', { class: 'cmp' }, `${firing ? 'fired at' : 'resolved at'} `, h('strong', { class: 'event-value' }, `${atLeast}${formatMetric(a.metric, a.value)}`), ' vs ', h('span', { class: 'threshold' }, threshold + resolveNote)),
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
