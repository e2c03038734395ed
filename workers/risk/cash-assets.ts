/** The assets whose USD price is constant (stablecoins): their returns are always zero, their exposure moves no metric. */
export const CASH_ASSETS: ReadonlySet<string> = new Set(['USD'])
