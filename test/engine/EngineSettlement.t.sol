// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineSettlementTest
/// @notice Unit tests of option expiry: `recordSettlementPrice`,
/// `settlementPrice` and `settle`, with every typed error.
contract EngineSettlementTest is EngineBase {
    function setUp() public override {
        super.setUp();
        _fund(alice, 10_000);
        _fund(bob, 10_000);
        // Alice buys 2 calls and 1 put (strike 3,000) from Bob at 100 each.
        _pair(alice, bob, ETH_CALL, 2 * W, 100e18);
        _pair(alice, bob, ETH_PUT, W, 100e18);
    }

    uint8 internal constant OR_NOT_FIRST_ROUND = 5;
    uint8 internal constant OR_TOO_LATE = 6;

    /// The ETH/USD round `_expireAt` published (the first at or after expiry).
    uint80 internal settleRound;

    /// Warps past expiry and publishes `px8` in a round updated at expiry + 5 s
    /// (the first round at or after expiry: the one before it is from T0).
    function _expireAt(int256 px8) internal {
        vm.warp(EXPIRY + 10);
        ethPx8 = px8;
        settleRound = ethFeed.pushAt(px8, EXPIRY + 5, EXPIRY + 5);
        ethVolFeed.push(ethVol8);
        btcFeed.push(btcPx8);
    }

    function _record() internal returns (int128) {
        return engine.recordSettlementPrice(ETH, EXPIRY, settleRound);
    }

    /// Asserts `ret` is `KeelOracleInvalid(ethFeed, reason, updatedAt)`.
    function _assertOracle(bytes memory ret, uint8 reason, uint256 updatedAt) internal view {
        assertEq(
            ret,
            abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, address(ethFeed), reason, updatedAt),
            "KeelOracleInvalid(feed, reason, updatedAt)"
        );
    }

    function _tryRecord(uint80 roundId) internal returns (bool ok, bytes memory ret) {
        (ok, ret) =
            address(engine).call(abi.encodeCall(IKeelEngine.recordSettlementPrice, (ETH, EXPIRY, roundId)));
    }

    // ------------------------------------------------------------ recordSettlementPrice

    function test_recordSettlementPrice_reverts_beforeExpiry() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, EXPIRY));
        engine.recordSettlementPrice(ETH, EXPIRY, 1);
        vm.warp(EXPIRY - 1);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, EXPIRY));
        engine.recordSettlementPrice(ETH, EXPIRY, 1);
    }

    function test_recordSettlementPrice_reverts_onZeroExpiryOrUnknownUnderlying() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, uint64(0)));
        engine.recordSettlementPrice(ETH, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 9));
        engine.recordSettlementPrice(9, EXPIRY, 1);
    }

    function test_recordSettlementPrice_reverts_onRoundBeforeExpiry() public {
        vm.warp(EXPIRY + 10);
        uint80 r = ethFeed.pushAt(3_200e8, EXPIRY - 1, EXPIRY - 1);
        (bool ok, bytes memory ret) = _tryRecord(r);
        assertFalse(ok);
        _assertOracle(ret, OR_BEFORE_EXPIRY, EXPIRY - 1);
    }

    /// The price is that of the first round at or after expiry: a later round
    /// (whose predecessor is already at or after expiry) is refused, so no
    /// caller can pick the moment.
    function test_recordSettlementPrice_reverts_onRoundThatIsNotTheFirst() public {
        _expireAt(3_200e8);
        vm.warp(EXPIRY + 120);
        uint80 later = ethFeed.pushAt(3_500e8, EXPIRY + 100, EXPIRY + 100);
        (bool ok, bytes memory ret) = _tryRecord(later);
        assertFalse(ok, "a round after the first was accepted");
        // Reported with the predecessor's updatedAt (at or after expiry).
        _assertOracle(ret, OR_NOT_FIRST_ROUND, EXPIRY + 5);
        // A round id the feed does not know is refused too.
        (ok,) = _tryRecord(later + 10);
        assertFalse(ok, "an unknown round was accepted");
        assertEq(engine.settlementPrice(ETH, EXPIRY), 0);
        assertEq(_record(), 3_200e18, "the first round is accepted");
    }

    /// The first round must come within the settlement delay (default 1 h).
    function test_recordSettlementPrice_reverts_onFirstRoundTooLate() public {
        vm.warp(EXPIRY + 2 hours);
        uint80 r = ethFeed.pushAt(3_200e8, EXPIRY + 3_601, EXPIRY + 3_601);
        (bool ok, bytes memory ret) = _tryRecord(r);
        assertFalse(ok);
        assertEq(bytes4(ret), IKeelEngine.KeelOracleInvalid.selector);
        (address feed, uint8 reason, uint256 updatedAt) = abi.decode(_args(ret), (address, uint8, uint256));
        assertEq(feed, address(ethFeed));
        assertEq(reason, OR_TOO_LATE);
        assertEq(updatedAt, EXPIRY + 3_601);
        // The risk admin may allow a longer delay (the escape hatch when a feed lagged).
        vm.prank(owner);
        engine.setUnderlyingLimits(ETH, 0, 0, 2 hours);
        (ok,) = _tryRecord(r);
        assertTrue(ok, "within the longer delay");
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_200e18);
    }

    /// The first round of a feed (of a Chainlink phase: no readable
    /// predecessor) may settle an expiry; otherwise a phase change right after
    /// an expiry would leave it unsettleable.
    function test_recordSettlementPrice_acceptsTheFirstRoundOfAPhase() public {
        MockAggregator fresh = new MockAggregator(8, "ETH / USD, new phase");
        vm.prank(owner);
        engine.setUnderlying(ETH, address(fresh), address(ethVolFeed), 3_600, 0.1e18, 600, 0.05e18);
        vm.warp(EXPIRY + 10);
        uint80 r = fresh.pushAt(3_150e8, EXPIRY + 5, EXPIRY + 5);
        assertEq(r, 1);
        assertEq(engine.recordSettlementPrice(ETH, EXPIRY, r), 3_150e18);
    }

    /// A round is history: the first round after expiry is accepted however
    /// long after it someone records it (no heartbeat applies to it).
    function test_recordSettlementPrice_acceptsTheFirstRoundRecordedLate() public {
        _expireAt(3_200e8);
        _warp(EXPIRY + 3 days); // later rounds exist by now
        assertEq(_record(), 3_200e18);
    }

    function test_recordSettlementPrice_recordsOnceAndEmits() public {
        assertEq(engine.settlementPrice(ETH, EXPIRY), 0, "unset");
        _expireAt(3_200e8);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.SettlementPriceSet(ETH, EXPIRY, 3_200e18);
        assertEq(_record(), 3_200e18);
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_200e18);
        assertEq(engine.settlementPrice(BTC, EXPIRY), 0, "per underlying");
        // A later round does not change it.
        uint80 later = ethFeed.push(3_500e8);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSettlementPrice.selector, ETH, EXPIRY, true));
        engine.recordSettlementPrice(ETH, EXPIRY, later);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSettlementPrice.selector, ETH, EXPIRY, true));
        _record();
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_200e18);
    }

    /// Strips the selector of revert data.
    function _args(bytes memory ret) internal pure returns (bytes memory a) {
        a = new bytes(ret.length - 4);
        for (uint256 i = 0; i < a.length; i++) {
            a[i] = ret[i + 4];
        }
    }

    // ------------------------------------------------------------ settle

    function test_settle_reverts_beforeExpiry() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_CALL, EXPIRY));
        engine.settle(acct(alice), ETH_CALL);
    }

    function test_settle_reverts_onPerpOrUnknownInstrument() public {
        _expireAt(3_200e8);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_PERP, uint64(0)));
        engine.settle(acct(alice), ETH_PERP);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_INSTRUMENT, 99));
        engine.settle(acct(alice), 99);
    }

    function test_settle_reverts_withoutSettlementPrice() public {
        _expireAt(3_200e8);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSettlementPrice.selector, ETH, EXPIRY, false));
        engine.settle(acct(alice), ETH_CALL);
    }

    function test_settle_reverts_withoutPosition() public {
        _expireAt(3_200e8);
        _record();
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidPosition.selector, acct(carol), ETH_CALL, 0));
        engine.settle(acct(carol), ETH_CALL);
    }

    function test_settle_paysIntrinsicIntoCashAndClosesPositions() public {
        _expireAt(3_200e8);
        _record();
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.PositionSettled(acct(alice), ETH_CALL, 2 * W, 400e18);
        vm.prank(keeper); // permissionless
        assertEq(engine.settle(acct(alice), ETH_CALL), 400e18, "2 x (3,200 - 3,000)");
        assertEq(engine.settle(acct(bob), ETH_CALL), -400e18);
        assertEq(engine.settle(acct(alice), ETH_PUT), 0, "out of the money");
        assertEq(engine.settle(acct(bob), ETH_PUT), 0);
        assertEq(engine.cashBalance(acct(alice)), (10_000 - 300 + 400) * 1e18);
        assertEq(engine.cashBalance(acct(bob)), (10_000 + 300 - 400) * 1e18);
        (uint32[] memory ids,,) = engine.positions(acct(alice));
        assertEq(ids.length, 0);
        (ids,,) = engine.positions(acct(bob));
        assertEq(ids.length, 0);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidPosition.selector, acct(alice), ETH_CALL, 0));
        engine.settle(acct(alice), ETH_CALL);
        // Nothing left to margin.
        Margin memory m = _margin(acct(alice));
        assertEq(m.im, 0);
        assertEq(m.equityIm, 10_100e18);
    }

    function test_settle_paysPutHoldersBelowTheStrike() public {
        _expireAt(2_750e8);
        _record();
        assertEq(engine.settle(acct(alice), ETH_PUT), 250e18);
        assertEq(engine.settle(acct(bob), ETH_PUT), -250e18);
        assertEq(engine.settle(acct(alice), ETH_CALL), 0);
        assertEq(engine.cashBalance(acct(alice)), (10_000 - 300 + 250) * 1e18);
    }

    function test_accountMargin_valuesExpiredUnsettledOptionsAtIntrinsic() public {
        _expireAt(3_200e8);
        // Before settlement the expired calls are worth their intrinsic value in equity.
        Margin memory m = _margin(acct(alice));
        assertEq(m.equityIm, (10_000 - 300 + 400) * 1e18);
        _record();
        engine.settle(acct(alice), ETH_CALL);
        engine.settle(acct(alice), ETH_PUT);
        assertEq(_margin(acct(alice)).equityIm, m.equityIm, "settling moves value, it does not change it");
    }
}
