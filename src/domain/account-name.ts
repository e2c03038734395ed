/**
 * What an account may be called. A name enters through the config, the API and the CLI, and all
 * three check it here: 1 to 64 characters, letters, digits and `_ . -`, starting with a letter
 * or a digit (so no `*`, no whitespace, no NUL, no `:` of an alert id, no `%` or `/` of a URL), and
 * none of the reserved words. `*` is how a report says "every account" (src/reports/report-params.ts):
 * no account can be called that, so no account key can ask for every account.
 *
 * In 'auto' mode an account is a trader wallet, named by its lowercase address; a named account
 * (config or API) is never called like an address, so the two can never be mistaken.
 */
export const ACCOUNT_NAME_MAX = 64

/** Words that mean something other than one account, refused whatever their case. */
export const RESERVED_ACCOUNT_NAMES: readonly string[] = ['all', 'any', 'every', 'none', 'admin', 'system']

const CHARS = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const AUTO_NAME = /^0x[0-9a-f]{40}$/
const LIKE_ADDRESS = /^0x[0-9a-fA-F]{40}$/

/**
 * The same rule as a JSON-schema pattern, for the API's route parameters (a 400 before any handler
 * runs). Reserved words are refused by a lookahead, case-insensitively.
 */
export const ACCOUNT_NAME_PATTERN = `^(?!(?:${RESERVED_ACCOUNT_NAMES.map((w) => [...w].map((c) => `[${c}${c.toUpperCase()}]`).join('')).join('|')})$)[A-Za-z0-9][A-Za-z0-9_.-]{0,${ACCOUNT_NAME_MAX - 1}}$`

/**
 * Why `name` cannot be an account's name, or null when it can. `mode` 'auto': it must be a wallet's
 * lowercase address; 'named': it must not look like an address; absent: either.
 */
export function accountNameProblem(name: string, mode?: 'auto' | 'named'): string | null {
  if (name.length === 0 || name.length > ACCOUNT_NAME_MAX) return `an account name has 1 to ${ACCOUNT_NAME_MAX} characters (got ${name.length})`
  if (!CHARS.test(name)) return `${JSON.stringify(name)} is not an account name: letters, digits and "_ . -", starting with a letter or a digit`
  if (RESERVED_ACCOUNT_NAMES.includes(name.toLowerCase())) return `"${name}" is reserved and cannot name an account`
  if (mode === 'auto' && !AUTO_NAME.test(name)) return `accounts: 'auto' names each account by its wallet's lowercase address (0x and 40 hex digits), not ${JSON.stringify(name)}`
  if (mode === 'named' && LIKE_ADDRESS.test(name)) return `"${name}" looks like an address; a named account needs a name (its wallets hold the addresses)`
  return null
}

/** Whether `name` is a valid account name (see accountNameProblem). */
export function isAccountName(name: string, mode?: 'auto' | 'named'): boolean {
  return accountNameProblem(name, mode) === null
}
