import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { keccak256, type Abi, type Hex } from 'viem'
import { noDecimalsTokenAbi, noDecimalsTokenBytecode } from './contracts/noDecimalsToken.ts'
import { testAggregatorAbi, testAggregatorBytecode } from './contracts/testAggregator.ts'
import { testTokenAbi, testTokenBytecode } from './contracts/testToken.ts'

/** An ABI with its creation bytecode, as read from an npm build artifact. */
export type Artifact = { abi: Abi; bytecode: Hex }

export type WorldArtifacts = {
  weth9: Artifact
  v2Factory: Artifact
  v2Pair: Artifact
  v2Router02: Artifact
  v3Factory: Artifact
  v3Pool: Artifact
  swapRouter: Artifact
  positionManager: Artifact
  testToken: { abi: typeof testTokenAbi; bytecode: Hex }
  noDecimalsToken: { abi: typeof noDecimalsTokenAbi; bytecode: Hex }
  testAggregator: { abi: typeof testAggregatorAbi; bytecode: Hex }
  /** keccak256 of UniswapV2Pair's creation code: the CREATE2 hash behind every pair address. */
  v2PairInitCodeHash: Hex
  /** keccak256 of UniswapV3Pool's creation code. */
  v3PoolInitCodeHash: Hex
  /** True when a periphery bytecode had to be patched to the installed core's init code hash. */
  patched: { v2Router02: boolean; swapRouter: boolean; positionManager: boolean }
}

/** The pair init code hash hardcoded in UniswapV2Library.pairFor (mainnet's, from @uniswap/v2-core 1.0.1). */
export const V2_LIBRARY_INIT_CODE_HASH: Hex = '0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f'

/** The pool init code hash hardcoded in v3-periphery's PoolAddress library. */
export const V3_LIBRARY_INIT_CODE_HASH: Hex = '0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54'

let cached: WorldArtifacts | undefined

/** ABIs and bytecode of the real Uniswap V2/V3 contracts from their npm packages (read once per process). */
export function worldArtifacts(): WorldArtifacts {
  if (cached) return cached
  const v2Pair = load('@uniswap/v2-core/build/UniswapV2Pair.json')
  const v3Pool = load('@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json')
  const v2PairInitCodeHash = keccak256(v2Pair.bytecode)
  const v3PoolInitCodeHash = keccak256(v3Pool.bytecode)
  const v2Router02 = patchInitCodeHash(load('@uniswap/v2-periphery/build/UniswapV2Router02.json'), V2_LIBRARY_INIT_CODE_HASH, v2PairInitCodeHash)
  const swapRouter = patchInitCodeHash(
    load('@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json'),
    V3_LIBRARY_INIT_CODE_HASH,
    v3PoolInitCodeHash,
  )
  const positionManager = patchInitCodeHash(
    load('@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json'),
    V3_LIBRARY_INIT_CODE_HASH,
    v3PoolInitCodeHash,
  )
  cached = {
    weth9: load('@uniswap/v2-periphery/build/WETH9.json'),
    v2Factory: load('@uniswap/v2-core/build/UniswapV2Factory.json'),
    v2Pair,
    v2Router02: v2Router02.artifact,
    v3Factory: load('@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json'),
    v3Pool,
    swapRouter: swapRouter.artifact,
    positionManager: positionManager.artifact,
    // v2-periphery's ERC20 takes only a total supply (no name/symbol/decimals, no mint), so the
    // world brings its own tokens, compiled by src/world/contracts/compile.ts.
    testToken: { abi: testTokenAbi, bytecode: testTokenBytecode },
    noDecimalsToken: { abi: noDecimalsTokenAbi, bytecode: noDecimalsTokenBytecode },
    testAggregator: { abi: testAggregatorAbi, bytecode: testAggregatorBytecode },
    v2PairInitCodeHash,
    v3PoolInitCodeHash,
    patched: { v2Router02: v2Router02.patched, swapRouter: swapRouter.patched, positionManager: positionManager.patched },
  }
  return cached
}

/**
 * Periphery contracts compute pool addresses with CREATE2 from a hardcoded init code hash
 * (UniswapV2Library.pairFor, v3 PoolAddress.computeAddress). When the installed core artifact
 * hashes differently (another compiler build, a fork), every pair lookup of the router would hit
 * an empty address. The well-known fix, used by every fork that redeploys the core: replace the
 * 32-byte constant in the periphery's bytecode with the real hash. With @uniswap/v2-core 1.0.1 and
 * @uniswap/v3-core 1.0.1 the hashes match and nothing is patched.
 */
export function patchInitCodeHash(artifact: Artifact, expected: Hex, actual: Hex): { artifact: Artifact; patched: boolean } {
  if (expected.toLowerCase() === actual.toLowerCase()) return { artifact, patched: false }
  const needle = expected.slice(2).toLowerCase()
  const code = artifact.bytecode.toLowerCase()
  if (!code.includes(needle))
    throw new Error(`init code hash ${expected} not found in periphery bytecode: cannot patch it to ${actual}`)
  const bytecode = code.split(needle).join(actual.slice(2).toLowerCase()) as Hex
  return { artifact: { abi: artifact.abi, bytecode }, patched: true }
}

type RawArtifact = { abi: Abi; bytecode: string | { object: string }; evm?: { bytecode?: { object?: string } } }

function load(specifier: string): Artifact {
  const require = createRequire(import.meta.url)
  let path: string
  try {
    path = require.resolve(specifier)
  } catch (err) {
    const pkg = specifier.split('/').slice(0, 2).join('/')
    throw new Error(`artifact ${specifier} not found: is the npm package ${pkg} installed?`, { cause: err })
  }
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawArtifact
  const object = typeof raw.bytecode === 'string' ? raw.bytecode : (raw.bytecode?.object ?? raw.evm?.bytecode?.object ?? '')
  if (!object) throw new Error(`artifact ${specifier} has no bytecode`)
  if (object.includes('__')) throw new Error(`artifact ${specifier} has unlinked libraries`)
  return { abi: raw.abi, bytecode: (object.startsWith('0x') ? object : `0x${object}`) as Hex }
}
