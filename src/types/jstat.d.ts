/**
 * jstat ships no types. This declares only the part dexrisk uses (the normal distribution), so a
 * new use of the package has to be declared here first, with the signature read from its source.
 */
declare module 'jstat' {
  type Normal = {
    /** Quantile (inverse CDF) of N(mean, std²) at probability p; p must be in (0, 1). */
    inv(p: number, mean: number, std: number): number
    cdf(x: number, mean: number, std: number): number
  }
  const jStat: { normal: Normal }
  export default jStat
}
