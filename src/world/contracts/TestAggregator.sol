// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// The one event of a Chainlink aggregator dexrisk reads (AccessControlledOffchainAggregator and
/// its predecessors emit it with this exact signature), with an open setter: a price feed for
/// local chains. Not an oracle: anyone can set the answer.
contract TestAggregator {
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    uint8 public immutable decimals;
    int256 public latestAnswer;
    uint256 public latestRound;

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }

    function setAnswer(int256 answer) external {
        latestAnswer = answer;
        latestRound += 1;
        emit AnswerUpdated(answer, latestRound, block.timestamp);
    }
}
