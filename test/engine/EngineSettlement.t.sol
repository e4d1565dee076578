// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
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

    /// Warps past expiry and publishes `px8` in a round updated at expiry + 5 s.
    function _expireAt(int256 px8) internal {
        vm.warp(EXPIRY + 10);
        ethPx8 = px8;
        ethFeed.pushAt(px8, EXPIRY + 5, EXPIRY + 5);
        ethVolFeed.push(ethVol8);
        btcFeed.push(btcPx8);
    }

    // ------------------------------------------------------------ recordSettlementPrice

    function test_recordSettlementPrice_reverts_beforeExpiry() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, EXPIRY));
        engine.recordSettlementPrice(ETH, EXPIRY);
        vm.warp(EXPIRY - 1);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, EXPIRY));
        engine.recordSettlementPrice(ETH, EXPIRY);
    }

    function test_recordSettlementPrice_reverts_onZeroExpiryOrUnknownUnderlying() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, type(uint32).max, uint64(0)));
        engine.recordSettlementPrice(ETH, 0);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 9));
        engine.recordSettlementPrice(9, EXPIRY);
    }

    function test_recordSettlementPrice_reverts_onRoundBeforeExpiry() public {
        vm.warp(EXPIRY + 10);
        ethFeed.pushAt(3_200e8, EXPIRY - 1, EXPIRY - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, address(ethFeed), OR_BEFORE_EXPIRY, EXPIRY - 1)
        );
        engine.recordSettlementPrice(ETH, EXPIRY);
    }

    function test_recordSettlementPrice_reverts_onStaleRound() public {
        vm.warp(EXPIRY + 2 hours);
        ethFeed.pushAt(3_200e8, EXPIRY, EXPIRY);
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, address(ethFeed), OR_STALE, EXPIRY)
        );
        engine.recordSettlementPrice(ETH, EXPIRY);
    }

    function test_recordSettlementPrice_recordsOnceAndEmits() public {
        assertEq(engine.settlementPrice(ETH, EXPIRY), 0, "unset");
        _expireAt(3_200e8);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.SettlementPriceSet(ETH, EXPIRY, 3_200e18);
        assertEq(engine.recordSettlementPrice(ETH, EXPIRY), 3_200e18);
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_200e18);
        assertEq(engine.settlementPrice(BTC, EXPIRY), 0, "per underlying");
        // A later round does not change it.
        _setEth(3_500e8);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSettlementPrice.selector, ETH, EXPIRY, true));
        engine.recordSettlementPrice(ETH, EXPIRY);
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_200e18);
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
        engine.recordSettlementPrice(ETH, EXPIRY);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidPosition.selector, acct(carol), ETH_CALL, 0));
        engine.settle(acct(carol), ETH_CALL);
    }

    function test_settle_paysIntrinsicIntoCashAndClosesPositions() public {
        _expireAt(3_200e8);
        engine.recordSettlementPrice(ETH, EXPIRY);
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
        engine.recordSettlementPrice(ETH, EXPIRY);
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
        engine.recordSettlementPrice(ETH, EXPIRY);
        engine.settle(acct(alice), ETH_CALL);
        engine.settle(acct(alice), ETH_PUT);
        assertEq(_margin(acct(alice)).equityIm, m.equityIm, "settling moves value, it does not change it");
    }
}
