/**
 * The dashboard's state and how each server message changes it. Pure: `applyMessage` returns a new
 * state and never touches the one it was given, so the page can render any state it holds.
 *
 * Messages (GET /v1/accounts/:account/ws): `snapshot` replaces everything (on connect, and again
 * when the server dropped messages for this client); `update` replaces the summary and appends a
 * history point; `alert` prepends to the feed; `halt` trips the banner; `positions` (the answer to
 * the page's own request) replaces the cost basis; `error` precedes a close. The reader's choices
 * (the positions table's order) are state too, changed by `sortPositions`.
 */
import { nextSort } from './positions.js'

/** @typedef {import('../../read-model/keys.ts').AccountSummary} AccountSummary */
/** @typedef {import('../../risk/rules.ts').AlertJson} AlertJson */
/** @typedef {import('../../risk/rules.ts').HaltChangeJson} HaltChangeJson */
/** @typedef {import('../account-view.ts').HistoryPoint} HistoryPoint */
/** @typedef {import('../account-view.ts').PositionJson} PositionJson */
/** @typedef {import('../account-view.ts').RiskSettings} RiskSettings */
/** @typedef {import('./positions.js').SortOrder} SortOrder */
/** @typedef {import('./positions.js').SortKey} SortKey */
/**
 * @typedef {{ type: 'snapshot', account: string, summary: AccountSummary | null, history: HistoryPoint[], alerts: AlertJson[], halted: boolean, positions?: PositionJson[], risk?: RiskSettings }
 *   | { type: 'update', summary: AccountSummary }
 *   | { type: 'positions', account: string, positions: PositionJson[] }
 *   | { type: 'alert', alert: AlertJson }
 *   | { type: 'halt', halt: HaltChangeJson }
 *   | { type: 'error', message: string }} ServerMessage
 */
/**
 * @typedef {{
 *   account: string,
 *   synced: boolean,
 *   summary: AccountSummary | null,
 *   history: HistoryPoint[],
 *   alerts: AlertJson[],
 *   halted: boolean,
 *   halt: HaltChangeJson | null,
 *   serverError: string | null,
 *   positions: PositionJson[] | null,
 *   risk: RiskSettings | null,
 *   sort: SortOrder | null,
 * }} DashboardState
 */

/** Alerts kept in the feed (the snapshot carries the latest 50). */
export const MAX_ALERTS = 50
/** History points kept for the chart; the oldest go first. */
export const MAX_HISTORY = 5000

/** @param {string} account @returns {DashboardState} */
export function initialState(account) {
  return { account, synced: false, summary: null, history: [], alerts: [], halted: false, halt: null, serverError: null, positions: null, risk: null, sort: null }
}

/**
 * The positions table ordered by `key` after a click on its header (see positions.js, nextSort).
 * @param {DashboardState} state
 * @param {SortKey} key
 * @returns {DashboardState}
 */
export function sortPositions(state, key) {
  return { ...state, sort: nextSort(state.sort, key) }
}

/**
 * @param {DashboardState} state
 * @param {ServerMessage} msg
 * @returns {DashboardState}
 */
export function applyMessage(state, msg) {
  switch (msg.type) {
    case 'snapshot':
      return {
        account: msg.account ?? state.account,
        synced: true,
        summary: msg.summary,
        history: sortedByTime(msg.history ?? []).slice(-MAX_HISTORY),
        alerts: (msg.alerts ?? []).slice(0, MAX_ALERTS),
        halted: msg.halted === true,
        halt: null,
        serverError: null,
        // A server from before positions were sent: the table shows no cost basis.
        positions: Array.isArray(msg.positions) ? msg.positions : null,
        risk: msg.risk ?? null,
        sort: state.sort,
      }
    case 'update':
      return {
        ...state,
        summary: msg.summary,
        history: withPoint(state.history, pointOf(msg.summary)),
        // The worker's summary carries the kill switch as of its batch, a halt of that batch included.
        halted: msg.summary.halted === true,
        halt: msg.summary.halted === true ? state.halt : null,
      }
    case 'alert': {
      const a = msg.alert
      const rest = state.alerts.filter((x) => !(x.id === a.id && x.state === a.state))
      return { ...state, alerts: [a, ...rest].slice(0, MAX_ALERTS) }
    }
    case 'halt':
      return { ...state, halted: true, halt: msg.halt }
    case 'positions':
      return msg.account === state.account && Array.isArray(msg.positions) ? { ...state, positions: msg.positions } : state
    case 'error':
      return { ...state, serverError: msg.message }
    default:
      return state
  }
}

/**
 * Why the account is halted, as far as the page knows: the halt message, else the newest firing of
 * a 'halt' rule in the feed, else null.
 * @param {DashboardState} state
 * @returns {{ reason: string, ruleId: string, time: number, chainId: number, block: string } | null}
 */
export function haltReason(state) {
  if (!state.halted) return null
  if (state.halt) return state.halt
  const a = state.alerts.find((x) => x.action === 'halt' && x.state === 'firing')
  if (!a) return null
  const op = a.op === 'above' ? 'above' : 'below'
  return { reason: `${a.metric} ${a.value} ${op} ${a.threshold} (rule ${a.ruleId})`, ruleId: a.ruleId, time: a.time, chainId: a.chainId, block: a.block }
}

/** @param {AccountSummary} s @returns {HistoryPoint} */
function pointOf(s) {
  const m = s.metrics
  return { time: s.time, equityUsd: m.equityUsd, drawdownUsd: m.drawdownUsd, drawdownPct: m.drawdownPct, var95Usd: m.var95Usd, var99Usd: m.var99Usd, totalPnlUsd: m.totalPnlUsd }
}

/**
 * Inserts in time order (another chain's batch may carry an earlier block time); a point at the
 * same time as the last one replaces it (the snapshot may already hold the update that follows it).
 * @param {HistoryPoint[]} history
 * @param {HistoryPoint} p
 */
function withPoint(history, p) {
  const last = history[history.length - 1]
  if (last && last.time === p.time) return [...history.slice(0, -1), p]
  if (!last || last.time < p.time) return [...history, p].slice(-MAX_HISTORY)
  return sortedByTime([...history, p]).slice(-MAX_HISTORY)
}

/** @param {HistoryPoint[]} h */
function sortedByTime(h) {
  return [...h].sort((a, b) => a.time - b.time)
}
