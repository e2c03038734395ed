import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { afterAll, beforeEach } from 'vitest'

/** The machine's Chromium (Debian's package); playwright-core drives it, no browser download. */
export const CHROMIUM_PATH = process.env.DEXRISK_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Set by .ci/run, which installs Chromium: there a missing browser fails the browser tests instead
 * of skipping them, so CI always runs them.
 */
export const REQUIRE_BROWSER = process.env.DEXRISK_REQUIRE_BROWSER === '1'

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium package, or point DEXRISK_CHROMIUM at one)`
}

/** Headless, offline-friendly: no sandbox (containers), no GPU, no QUIC, no background traffic. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export type OpenedPage = {
  page: Page
  context: BrowserContext
  /**
   * Console messages of type 'error', uncaught page errors and requests that failed, in the
   * order they happened, each prefixed with its kind. A test asserts this is empty.
   */
  errors: string[]
}

/**
 * One headless Chromium per test file, launched on first use and closed (with every context
 * opened through it) in afterAll. Each `open` gets a fresh context (its own storage, cookies,
 * sessionStorage): pages of one file do not see each other's state.
 *
 * Without Chromium at CHROMIUM_PATH, every test of the suite that calls this is skipped, and the
 * reason printed; with DEXRISK_REQUIRE_BROWSER=1 (CI) each of them fails instead.
 */
export function useBrowser(): { open(url: string, options?: BrowserContextOptions): Promise<OpenedPage> } {
  let browser: Promise<Browser> | undefined
  const contexts: BrowserContext[] = []

  const missing = browserMissing()
  if (missing && !REQUIRE_BROWSER) process.stderr.write(`browser tests skipped: ${missing}\n`)
  beforeEach((ctx) => {
    if (!missing) return
    if (REQUIRE_BROWSER) throw new Error(`DEXRISK_REQUIRE_BROWSER=1 and ${missing}`)
    ctx.skip(`browser test skipped: ${missing}`)
  })

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})))
    if (browser) await (await browser.catch(() => null))?.close()
  })

  return {
    async open(url, options = {}) {
      browser ??= chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
      const context = await (await browser).newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC', ...options })
      contexts.push(context)
      const page = await context.newPage()
      const errors: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url}:${m.location().lineNumber})` : ''}`)
      })
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack ?? err.message}`))
      page.on('requestfailed', (req) => errors.push(`requestfailed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'failed'}`))
      await page.goto(url)
      return { page, context, errors }
    },
  }
}
