import type { Address } from 'viem'
import type { Config } from '../config/schema.ts'

/**
 * Who a wallet's risk belongs to. In 'auto' mode every trader wallet is its own account (its
 * lowercase address); otherwise only configured wallets belong to an account.
 */
export type AccountResolver = {
  mode: 'auto' | 'named'
  accountOf(wallet: Address): string | null
  walletsOf(account: string): Address[]
}

export function createAccountResolver(accounts: Config['accounts']): AccountResolver {
  if (accounts === 'auto') {
    return { mode: 'auto', accountOf: (w) => w.toLowerCase(), walletsOf: (a) => [a as Address] }
  }
  const byWallet = new Map<string, string>()
  for (const [name, wallets] of Object.entries(accounts)) for (const w of wallets) byWallet.set(w.toLowerCase(), name)
  return {
    mode: 'named',
    accountOf: (w) => byWallet.get(w.toLowerCase()) ?? null,
    walletsOf: (a) => (accounts[a] ?? []).map((w) => w.toLowerCase() as Address),
  }
}
