/* global document, getComputedStyle, matchMedia, ResizeObserver */
/**
 * Equity and drawdown over time, drawn by uPlot (the classic script vendor/uPlot.iife.min.js,
 * which defines the global `uPlot`): two panes on one time axis — equity above, drawdown below as
 * an "underwater" area — with one cursor, one zoom (drag to zoom, double-click to reset) and one
 * readout line above them. Times are block times, shown in UTC. Colours come from the page's CSS
 * custom properties, so the chart follows the light / dark theme.
 */
import { NONE, formatAxisUsd, formatPct, formatTime, formatUsd } from './format.js'

/** @typedef {import('../account-view.ts').HistoryPoint} HistoryPoint */

/**
 * The uPlot global, typed as far as this file uses it (the page does not ship uPlot's declarations).
 * @typedef {{
 *   setData(d: unknown[]): void,
 *   setSize(s: { width: number, height: number }): void,
 *   setScale(key: string, limits: { min: number, max: number }): void,
 *   destroy(): void,
 *   cursor: { idx?: number | null },
 *   scales: Record<string, { min?: number, max?: number }>,
 * }} Plot
 * @typedef {(new (opts: object, data: unknown[], el: HTMLElement) => Plot) & { tzDate(d: Date, tz: string): Date }} UPlotCtor
 */

/** Heights in CSS pixels of the two panes (axes included). */
const EQUITY_HEIGHT = 140
const DRAWDOWN_HEIGHT = 104
/** Width of the y axes: the same in both panes, so their x positions line up. */
const Y_AXIS_SIZE = 70

/**
 * Time-axis labels in UTC: "18:10", "18:10:30" when ticks are under a minute apart, the date
 * ("11-23") at midnight, and the date under the first tick's time.
 * @param {unknown} _u
 * @param {number[]} ticks
 * @param {number} _axis
 * @param {number} _space
 * @param {number} incr seconds between ticks
 */
function timeTicks(_u, ticks, _axis, _space, incr) {
  return ticks.map((t, i) => {
    const iso = new Date(t * 1000).toISOString()
    const clock = incr < 60 ? iso.slice(11, 19) : iso.slice(11, 16)
    if (iso.slice(11, 19) === '00:00:00') return iso.slice(5, 10)
    return i === 0 ? `${clock}\n${iso.slice(5, 10)}` : clock
  })
}

/**
 * @param {HTMLElement} container the chart's box: its width is the chart's width.
 * @returns {{ setHistory(history: HistoryPoint[]): void, destroy(): void }}
 */
export function createEquityChart(container) {
  /** @type {UPlotCtor | undefined} */
  const UPlot = /** @type {{ uPlot?: UPlotCtor }} */ (/** @type {unknown} */ (globalThis)).uPlot
  /** @type {Plot[]} */
  let plots = []
  /** @type {HistoryPoint[]} */
  let history = []

  const readout = document.createElement('div')
  readout.className = 'chart-readout'
  const equityBox = document.createElement('div')
  const drawdownBox = document.createElement('div')
  container.append(readout, equityBox, drawdownBox)
  if (!UPlot) {
    readout.textContent = 'Chart unavailable: vendor/uPlot.iife.min.js did not load.'
    container.classList.add('chart-missing')
  }

  const width = () => Math.max(200, Math.floor(container.clientWidth))

  /** "time · Equity $x · Drawdown $y (z%)" at the cursor, or at the latest point. @param {number | null | undefined} i */
  const showReadout = (i) => {
    const p = i == null ? history[history.length - 1] : history[i]
    if (!p) {
      readout.textContent = 'No history yet.'
      return
    }
    const dd = p.drawdownUsd === null ? NONE : `${formatUsd(p.drawdownUsd)}${p.drawdownPct === null ? '' : ` (${formatPct(p.drawdownPct)})`}`
    readout.textContent = `${formatTime(p.time)} · Equity ${formatUsd(p.equityUsd)} · Drawdown ${dd}${i == null ? ' · latest' : ''}`
  }

  const equityData = () => [history.map((p) => p.time), history.map((p) => p.equityUsd)]
  /** Drawdown as a negative number, so the area hangs below zero. */
  const drawdownData = () => [history.map((p) => p.time), history.map((p) => (p.drawdownUsd === null ? null : -Math.abs(p.drawdownUsd)))]

  const build = () => {
    if (!UPlot) return
    for (const p of plots) p.destroy()
    const css = getComputedStyle(document.documentElement)
    const color = (/** @type {string} */ name) => css.getPropertyValue(name).trim()
    const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 }, font: '11px system-ui, sans-serif' }
    let syncing = false
    const common = {
      width: width(),
      // Fixed right padding: the panes' plot areas must start and end at the same x.
      padding: [8, 18, 0, 0],
      tzDate: (/** @type {number} */ ts) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: false },
      cursor: { sync: { key: `dexrisk-equity-${Math.random()}` }, drag: { x: true, y: false } },
      hooks: {
        setCursor: [(/** @type {Plot} */ u) => showReadout(u.cursor.idx)],
        // One zoom for both panes.
        setScale: [
          (/** @type {Plot} */ u, /** @type {string} */ key) => {
            if (key !== 'x' || syncing) return
            const { min, max } = u.scales.x ?? {}
            if (min == null || max == null) return
            syncing = true
            for (const other of plots) if (other !== u) other.setScale('x', { min, max })
            syncing = false
          },
        ],
      },
    }
    const equity = new UPlot(
      {
        ...common,
        height: EQUITY_HEIGHT,
        scales: { x: { time: true } },
        series: [{}, { label: 'Equity', stroke: color('--chart-equity'), width: 1.5, spanGaps: true }],
        axes: [
          { ...axis, show: false },
          { ...axis, size: Y_AXIS_SIZE, values: (/** @type {unknown} */ _u, /** @type {number[]} */ ticks) => ticks.map((v) => formatAxisUsd(v)) },
        ],
      },
      equityData(),
      equityBox,
    )
    const drawdown = new UPlot(
      {
        ...common,
        height: DRAWDOWN_HEIGHT,
        scales: { x: { time: true }, y: { range: (/** @type {unknown} */ _u, /** @type {number} */ min) => [Math.min(min, -1), 0] } },
        series: [{}, { label: 'Drawdown', stroke: color('--chart-drawdown'), fill: color('--chart-drawdown-fill'), width: 1, spanGaps: true }],
        axes: [
          { ...axis, values: timeTicks },
          { ...axis, size: Y_AXIS_SIZE, splits: (/** @type {unknown} */ _u, /** @type {number} */ _i, /** @type {number} */ min) => [min, 0], values: (/** @type {unknown} */ _u, /** @type {number[]} */ ticks) => ticks.map((v) => formatAxisUsd(-v)) },
        ],
      },
      drawdownData(),
      drawdownBox,
    )
    plots = [equity, drawdown]
    showReadout(null)
  }

  let lastWidth = 0
  const resize = new ResizeObserver(() => {
    const w = width()
    if (container.clientWidth === 0 || w === lastWidth) return
    lastWidth = w
    if (plots.length === 0) build()
    else for (const [i, p] of plots.entries()) p.setSize({ width: w, height: i === 0 ? EQUITY_HEIGHT : DRAWDOWN_HEIGHT })
  })
  resize.observe(container)
  const scheme = matchMedia('(prefers-color-scheme: dark)')
  const rebuild = () => build()
  scheme.addEventListener('change', rebuild)

  return {
    setHistory(next) {
      history = next
      container.dataset.points = String(history.length)
      if (plots.length === 0) {
        if (container.clientWidth > 0) build()
        else showReadout(null)
        return
      }
      const [equity, drawdown] = plots
      equity?.setData(equityData())
      drawdown?.setData(drawdownData())
      showReadout(null)
    },
    destroy() {
      resize.disconnect()
      scheme.removeEventListener('change', rebuild)
      for (const p of plots) p.destroy()
      plots = []
    },
  }
}
