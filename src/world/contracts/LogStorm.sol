// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Emits many copies of one raw log (any topics, any data) for backfill tests and benches: it plays a
/// factory, a pool or a singleton (V4 PoolManager, Balancer Vault) that must emit a DEX family's
/// exact events in bulk, without the cost of real swaps. `coins(i)` answers as a Curve pool's does.
contract LogStorm {
    address[] private coinList;

    constructor(address[] memory coins_) {
        coinList = coins_;
    }

    function coins(uint256 i) external view returns (address) {
        return coinList[i];
    }

    /// Emits `count` logs with `topics` (1 to 4) and `data`; in the k-th, data word `word` is `base + k`.
    function storm(bytes32[] calldata topics, bytes calldata data, uint256 word, uint256 base, uint256 count) external {
        uint256 n = topics.length;
        require(n >= 1 && n <= 4, "LogStorm: 1 to 4 topics");
        require(data.length % 32 == 0 && (word + 1) * 32 <= data.length, "LogStorm: word outside data");
        bytes memory d = data;
        bytes32 t0 = topics[0];
        bytes32 t1 = n > 1 ? topics[1] : bytes32(0);
        bytes32 t2 = n > 2 ? topics[2] : bytes32(0);
        bytes32 t3 = n > 3 ? topics[3] : bytes32(0);
        for (uint256 k = 0; k < count; k++) {
            assembly {
                let p := add(d, 32)
                let len := mload(d)
                mstore(add(p, mul(word, 32)), add(base, k))
                switch n
                case 1 { log1(p, len, t0) }
                case 2 { log2(p, len, t0, t1) }
                case 3 { log3(p, len, t0, t1, t2) }
                default { log4(p, len, t0, t1, t2, t3) }
            }
        }
    }
}
