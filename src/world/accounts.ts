import { mnemonicToAccount, type HDAccount } from 'viem/accounts'

/** The mnemonic behind anvil's default funded accounts. Account 0 deploys the world. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk'

/** Account `index` of the anvil mnemonic (m/44'/60'/0'/0/index), a local signer. */
export function anvilAccount(index: number): HDAccount {
  return mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index })
}
