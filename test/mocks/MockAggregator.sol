// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// Chainlink AggregatorV3-compatible feed for tests: prices, implied vols and
/// the Arbitrum sequencer-uptime feed (answer 0 = up, 1 = down; startedAt =
/// when the status last changed) all use this shape. Every round is kept, so
/// `getRoundData` answers for history as a real aggregator does.
contract MockAggregator {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    uint8 public immutable decimals;
    string public description;
    uint256 public constant version = 4;
    uint80 public latestRound;
    mapping(uint80 => Round) internal rounds;

    error NoDataPresent();

    constructor(uint8 decimals_, string memory description_) {
        decimals = decimals_;
        description = description_;
    }

    /// Publishes a new round with `answer`, started and updated now.
    function push(int256 answer) external returns (uint80 roundId) {
        return pushAt(answer, block.timestamp, block.timestamp);
    }

    /// Publishes a new round with explicit timestamps (stale or future rounds in tests).
    function pushAt(int256 answer, uint256 startedAt, uint256 updatedAt) public returns (uint80 roundId) {
        roundId = ++latestRound;
        rounds[roundId] = Round(answer, startedAt, updatedAt, roundId);
    }

    /// Publishes an incomplete round: answeredInRound lags the round id.
    function pushIncomplete(int256 answer) external returns (uint80 roundId) {
        roundId = ++latestRound;
        rounds[roundId] = Round(answer, block.timestamp, block.timestamp, roundId - 1);
    }

    function getRoundData(uint80 roundId) public view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = rounds[roundId];
        if (r.updatedAt == 0 && r.startedAt == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }

    function latestAnswer() external view returns (int256) {
        return rounds[latestRound].answer;
    }
}
