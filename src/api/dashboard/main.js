/* global document, location, history, sessionStorage, requestAnimationFrame */
/**
 * The dashboard page: /dashboard/?key=<API key>[&account=<name>].
 *
 * The key is read once from the address, kept in sessionStorage (this tab only) and removed from
 * the visible address. It goes to the API as `Authorization: Bearer <key>`, and to the WebSocket as
 * `?key=` (a browser cannot set headers there). GET /v1/me says whose key it is: an account key
 * shows its own account; an admin key picks one from GET /v1/accounts (`?account=` preselects).
 */
import { createEquityChart } from './chart.js'
import { createLiveConnection } from './connection.js'
import { positionsStale } from './positions.js'
import { renderAge, renderConnection, renderDashboard } from './render.js'
import { applyMessage, initialState, sortPositions } from './state.js'

const KEY_STORAGE = 'dexrisk.apiKey'
/** Wait before asking the API again after it failed (not a rejected key: that asks for another). */
const BOOT_RETRY_MS = 5_000

/** @typedef {import('./state.js').DashboardState} DashboardState */

class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id))

/** @returns {string | null} */
function takeKey() {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('key')
  if (fromUrl !== null) {
    url.searchParams.delete('key')
    history.replaceState(history.state, '', url)
    if (fromUrl) storeKey(fromUrl)
  }
  if (fromUrl) return fromUrl
  try {
    return sessionStorage.getItem(KEY_STORAGE)
  } catch {
    return null
  }
}

/** @param {string | null} key */
function storeKey(key) {
  try {
    if (key === null) sessionStorage.removeItem(KEY_STORAGE)
    else sessionStorage.setItem(KEY_STORAGE, key)
  } catch {
    // Storage disabled: the key lives as long as this page.
  }
}

/**
 * @template T
 * @param {string} path
 * @param {string} key
 * @returns {Promise<T>}
 */
async function api(path, key) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store' })
  if (!res.ok) {
    /** @type {string | undefined} */
    let message
    try {
      message = (await res.json()).message
    } catch {
      // Not JSON: the status says enough.
    }
    throw new ApiError(res.status, message ?? `${res.status} ${res.statusText}`)
  }
  return res.json()
}

/** @param {string} account @param {string} key */
function liveUrl(account, key) {
  const url = new URL(`/v1/accounts/${encodeURIComponent(account)}/ws`, location.href)
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
  url.searchParams.set('key', key)
  return url.href
}

/** @param {unknown} err */
const isRejectedKey = (err) => err instanceof ApiError && err.status === 401

/** @type {DashboardState} */
let state = initialState('')
/** @type {ReturnType<typeof createLiveConnection> | null} */
let connection = null
/** @type {ReturnType<typeof createEquityChart> | null} */
let chart = null
/** @type {DashboardState['history'] | null} */
let chartedHistory = null
let renderQueued = false
/** The admin key the account picker watches with. */
let pickerKey = ''
/** The quantities the page last asked positions for: one request per change, whatever the answer. */
let positionsAskedFor = ''

/** Renders once per frame however many messages arrived (a resync can bring many). */
function scheduleRender() {
  if (renderQueued) return
  renderQueued = true
  const run = () => {
    renderQueued = false
    renderDashboard(state)
    if (chart && chartedHistory !== state.history) {
      chartedHistory = state.history
      chart.setHistory(state.history)
    }
  }
  // A hidden tab gets no animation frames; its title (HALTED …) must still follow.
  if (document.hidden) setTimeout(run, 250)
  else requestAnimationFrame(run)
}

/** @param {string} account @param {string} key */
function watch(account, key) {
  connection?.close()
  state = initialState(account)
  scheduleRender()
  connection = createLiveConnection({
    url: () => liveUrl(account, key),
    onMessage: (msg) => {
      state = applyMessage(state, msg)
      if (msg.type === 'snapshot') positionsAskedFor = ''
      if (msg.type === 'snapshot' || msg.type === 'update') askForPositions()
      scheduleRender()
    },
    onState: renderConnection,
    // The socket did not even open: a revoked key or an unknown account will not get better.
    probe: async () => {
      try {
        await api(`/v1/accounts/${encodeURIComponent(account)}`, key)
        return null
      } catch (err) {
        if (isRejectedKey(err)) {
          storeKey(null)
          askForKey('The API key was rejected (revoked or unknown).')
          return 'API key rejected'
        }
        if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return err.message
        return null
      }
    },
  })
}

/**
 * Updates carry no cost basis: when a quantity of the summary differs from the positions the page
 * has, it asks the server for them (once per set of quantities, so a position the server does not
 * keep cannot make it ask after every update).
 */
function askForPositions() {
  const m = state.summary?.metrics ?? null
  if (!connection || !positionsStale(m, state.positions)) return
  const quantities = (m?.exposureByToken ?? []).map((e) => `${e.chainId}:${e.token}:${e.quantity}`).join(',')
  if (quantities === positionsAskedFor) return
  if (connection.send({ type: 'positions' })) positionsAskedFor = quantities
}

/** @param {string} message */
function askForKey(message) {
  connection?.close()
  connection = null
  renderConnection('offline', 'no API key')
  const form = /** @type {HTMLFormElement} */ (byId('key-form'))
  form.hidden = false
  byId('key-error').textContent = message
  const input = /** @type {HTMLInputElement} */ (byId('key-input'))
  input.focus()
}

async function boot() {
  const key = takeKey()
  if (!key) return askForKey('')
  /** @type {{ role: 'admin' | 'account', account: string | null }} */
  let me
  try {
    me = await api('/v1/me', key)
  } catch (err) {
    if (isRejectedKey(err)) {
      storeKey(null)
      return askForKey('The API key was rejected (revoked or unknown).')
    }
    renderConnection('reconnecting', `the API did not answer (${err instanceof Error ? err.message : String(err)}); retrying`)
    setTimeout(() => void boot(), BOOT_RETRY_MS)
    return
  }

  if (me.role !== 'admin' && me.account) return watch(me.account, key)

  // Admin: any account, chosen here or by ?account=.
  /** @type {{ accounts: { name: string }[] }} */
  const list = await api('/v1/accounts', key)
  const names = list.accounts.map((a) => a.name)
  const wanted = new URL(location.href).searchParams.get('account')
  if (wanted && !names.includes(wanted)) names.unshift(wanted)
  const picker = /** @type {HTMLSelectElement} */ (byId('account-picker'))
  const placeholder = document.createElement('option')
  placeholder.value = ''
  placeholder.textContent = names.length ? 'Choose an account…' : 'No accounts'
  picker.replaceChildren(
    placeholder,
    ...names.map((name) => {
      const o = document.createElement('option')
      o.value = name
      o.textContent = name
      return o
    }),
  )
  picker.value = wanted ?? ''
  pickerKey = key
  byId('account-picker-box').hidden = false
  byId('account-name').hidden = true
  if (wanted) watch(wanted, key)
  else renderConnection('offline', 'choose an account')
}

function main() {
  chart = createEquityChart(byId('equity-chart'))
  byId('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const input = /** @type {HTMLInputElement} */ (byId('key-input'))
    const key = input.value.trim()
    if (!key) return
    storeKey(key)
    input.value = ''
    byId('key-form').hidden = true
    void boot().catch(fail)
  })
  const picker = /** @type {HTMLSelectElement} */ (byId('account-picker'))
  picker.addEventListener('change', () => {
    const url = new URL(location.href)
    if (picker.value) url.searchParams.set('account', picker.value)
    else url.searchParams.delete('account')
    history.replaceState(history.state, '', url)
    if (picker.value && pickerKey) watch(picker.value, pickerKey)
  })
  // Column headers sort the positions table: one click largest first (text A→Z), two the other way, three the default order.
  byId('positions-head').addEventListener('click', (ev) => {
    const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (ev.target).closest('button[data-sort]'))
    if (!button) return
    state = sortPositions(state, /** @type {import('./positions.js').SortKey} */ (button.dataset.sort))
    scheduleRender()
  })
  setInterval(() => renderAge(state), 5_000)
  renderDashboard(state)
  void boot().catch(fail)
}

/** @param {unknown} err */
function fail(err) {
  renderConnection('offline', err instanceof Error ? err.message : String(err))
}

main()
