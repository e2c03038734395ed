import { toEventSelector } from 'viem'

/**
 * Balancer V2 Vault events, verified against balancer/balancer-v2-monorepo
 * pkg/interfaces/contracts/vault/IVault.sol:
 *
 *   event PoolRegistered(bytes32 indexed poolId, address indexed poolAddress, PoolSpecialization specialization);
 *   event TokensRegistered(bytes32 indexed poolId, IERC20[] tokens, address[] assetManagers);
 *   event Swap(bytes32 indexed poolId, IERC20 indexed tokenIn, IERC20 indexed tokenOut, uint256 amountIn, uint256 amountOut);
 *
 * IERC20 is `address` and the PoolSpecialization enum `uint8` in the ABI. One Vault per chain
 * (0xBA12222222228d8Ba445958a75a0704d566BF2C8 on Ethereum and most chains) holds every pool's
 * tokens and emits every pool's events, each carrying the pool id as topics[1].
 *
 * A pool id is the pool contract's address (its first 20 bytes), the pool's specialization
 * (2 bytes: 0 general, 1 minimal swap info, 2 two token) and a Vault-wide registration nonce
 * (10 bytes): PoolRegistry._toPoolId in balancer-v2-monorepo pkg/vault/contracts/PoolRegistry.sol.
 */
export const balancerV2VaultAbi = [
  {
    type: 'event',
    name: 'PoolRegistered',
    inputs: [
      { name: 'poolId', type: 'bytes32', indexed: true },
      { name: 'poolAddress', type: 'address', indexed: true },
      { name: 'specialization', type: 'uint8', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'TokensRegistered',
    inputs: [
      { name: 'poolId', type: 'bytes32', indexed: true },
      { name: 'tokens', type: 'address[]', indexed: false },
      { name: 'assetManagers', type: 'address[]', indexed: false },
    ],
  },
  {
    type: 'event',
    name: 'Swap',
    inputs: [
      { name: 'poolId', type: 'bytes32', indexed: true },
      { name: 'tokenIn', type: 'address', indexed: true },
      { name: 'tokenOut', type: 'address', indexed: true },
      { name: 'amountIn', type: 'uint256', indexed: false },
      { name: 'amountOut', type: 'uint256', indexed: false },
    ],
  },
] as const

export const BALANCER_V2_POOL_REGISTERED_TOPIC = toEventSelector('PoolRegistered(bytes32,address,uint8)')
export const BALANCER_V2_TOKENS_REGISTERED_TOPIC = toEventSelector('TokensRegistered(bytes32,address[],address[])')
export const BALANCER_V2_SWAP_TOPIC = toEventSelector('Swap(bytes32,address,address,uint256,uint256)')
