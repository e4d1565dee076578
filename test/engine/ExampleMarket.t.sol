// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {ExampleMarket} from "../market/ExampleMarket.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title ExampleMarketTest
/// @notice The example Solidity protocol against the real engine: orders,
/// fills reported for both sides, fees, and the engine's typed reverts
/// bubbling through the market unchanged.
contract ExampleMarketTest is EngineBase {
    function setUp() public override {
        super.setUp();
        _fund(alice, 10_000);
        _fund(bob, 100_000);
    }

    function _post(address maker, uint32 instrument, int128 size, int128 price) internal returns (uint256 id) {
        vm.prank(maker);
        id = market.post(instrument, size, price);
    }

    function _fill(address taker, uint256 id) internal returns (int128 makerCash, int128 takerCash) {
        vm.prank(taker);
        return market.fill(id, acct(taker));
    }

    // ------------------------------------------------------------ post / cancel

    function test_constructor_reverts_onFeeAboveTenPercent() public {
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.FeeTooHigh.selector, uint16(1_001)));
        new ExampleMarket(engine, owner, 1_001, 0);
    }

    function test_post_storesTheOrderAndEmits() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit ExampleMarket.OrderPosted(1, alice, ETH_PERP, W, 3_000e18);
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        assertEq(id, 1);
        (address maker, uint32 instrument, int128 size, int128 price, bool active) = market.orders(id);
        assertEq(maker, alice);
        assertEq(instrument, ETH_PERP);
        assertEq(size, W);
        assertEq(price, 3_000e18);
        assertTrue(active);
        assertEq(_post(bob, ETH_CALL, -W, 100e18), 2);
    }

    function test_post_reverts_onZeroSizeOrPrice() public {
        vm.expectRevert(ExampleMarket.InvalidOrder.selector);
        _post(alice, ETH_PERP, 0, 3_000e18);
        vm.expectRevert(ExampleMarket.InvalidOrder.selector);
        _post(alice, ETH_PERP, W, 0);
    }

    function test_cancel_reverts_forOthersAndDeactivates() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.Unauthorized.selector, bob));
        vm.prank(bob);
        market.cancel(id);
        vm.expectEmit(true, false, false, false, address(market));
        emit ExampleMarket.OrderCancelled(id);
        vm.prank(alice);
        market.cancel(id);
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.OrderNotActive.selector, id));
        _fill(bob, id);
    }

    // ------------------------------------------------------------ fill

    function test_fill_reportsBothSidesWithFees() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18); // Alice buys 1 ETH
        int128 makerFee = 0.6e18; // 2 bps of 3,000
        int128 takerFee = 1.5e18; // 5 bps of 3,000
        vm.expectEmit(true, true, true, true, address(engine));
        emit IKeelEngine.TradeReported(acct(alice), ETH_PERP, address(market), W, 3_000e18, makerFee, 0);
        vm.expectEmit(true, true, true, true, address(engine));
        emit IKeelEngine.TradeReported(acct(bob), ETH_PERP, address(market), -W, 3_000e18, takerFee, 0);
        vm.expectEmit(true, true, false, true, address(market));
        emit ExampleMarket.OrderFilled(id, acct(bob), makerFee, takerFee);
        (int128 makerCash, int128 takerCash) = _fill(bob, id);
        assertEq(makerCash, 0);
        assertEq(takerCash, 0);
        assertEq(_positionSize(acct(alice), ETH_PERP), W);
        assertEq(_positionSize(acct(bob), ETH_PERP), -W);
        assertEq(engine.cashBalance(acct(alice)), 10_000e18 - makerFee);
        assertEq(engine.cashBalance(acct(bob)), 100_000e18 - takerFee);
        assertEq(engine.cashBalance(market.feeAccount()), makerFee + takerFee);
        (,,,, bool active) = market.orders(id);
        assertFalse(active);
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.OrderNotActive.selector, id));
        _fill(bob, id);
    }

    function test_fill_movesOptionPremium() public {
        uint256 id = _post(alice, ETH_CALL, -2 * W, 150e18); // Alice writes 2 calls
        (int128 makerCash, int128 takerCash) = _fill(bob, id);
        assertEq(makerCash, 300e18, "the writer receives the premium");
        assertEq(takerCash, -300e18, "the buyer pays it");
        assertEq(engine.cashBalance(acct(alice)), 10_000e18 + 300e18 - 0.06e18);
        assertEq(engine.cashBalance(acct(bob)), 100_000e18 - 300e18 - 0.15e18);
    }

    function test_fill_closesAndRealisesPnl() public {
        _match(alice, bob, ETH_PERP, W, 3_000e18); // Alice long 1 from 3,000
        _setEth(3_200e8);
        uint256 id = _post(bob, ETH_PERP, W, 3_200e18); // Bob buys back
        (int128 makerCash, int128 takerCash) = _fill(alice, id);
        assertEq(makerCash, -200e18, "Bob's short lost 200");
        assertEq(takerCash, 200e18, "Alice's long made 200");
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
        assertEq(_positionSize(acct(bob), ETH_PERP), 0);
    }

    function test_fill_reverts_onUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.OrderNotActive.selector, 99));
        _fill(bob, 99);
    }

    function test_fill_reverts_whenTakerDoesNotOwnTheAccount() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.NotAccountOwner.selector, carol, acct(bob)));
        vm.prank(carol);
        market.fill(id, acct(bob));
    }

    function test_fill_reverts_onSelfTrade() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.SelfTrade.selector, acct(alice)));
        _fill(alice, id);
        // Another sub-account of the maker is a different account.
        _depositTo(alice, acct(alice, 1), USDC_ID, usd(10_000));
        vm.prank(alice);
        market.fill(id, acct(alice, 1));
        assertEq(_positionSize(acct(alice, 1), ETH_PERP), -W);
    }

    function test_fill_bubblesTheEngineMarginError() public {
        _fund(carol, 100);
        uint256 id = _post(alice, ETH_PERP, -W, 3_000e18); // Alice sells; the taker buys 1 ETH
        // The taker's fee (1.5) is booked before the IM check: equity 98.5 < 1,500.
        _expectInsufficientMargin(acct(carol), 98.5e18, 1_500e18);
        _fill(carol, id);
        // Nothing happened: the maker's side was rolled back and the order is still open.
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
        assertEq(engine.cashBalance(acct(alice)), 10_000e18);
        (,,,, bool active) = market.orders(id);
        assertTrue(active);
        _fill(bob, id);
        assertEq(_positionSize(acct(bob), ETH_PERP), W);
    }

    function test_fill_bubblesTheEngineAuthorisationError() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        vm.prank(owner);
        engine.setMarket(address(market), false);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, address(market)));
        _fill(bob, id);
    }

    function test_fill_bubblesThePause() public {
        uint256 id = _post(alice, ETH_PERP, W, 3_000e18);
        vm.prank(owner);
        engine.setPaused(true);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelNewRiskPaused.selector, uint8(255)));
        _fill(bob, id);
    }

    function test_fill_bubblesTheEngineExpiryError() public {
        uint256 id = _post(alice, ETH_CALL, W, 10e18);
        _warp(EXPIRY);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_CALL, EXPIRY));
        _fill(bob, id);
    }

    // ------------------------------------------------------------ fees

    function test_feeOf_roundsUp() public view {
        assertEq(market.feeOf(W, 3_000e18, 5), 1.5e18);
        assertEq(market.feeOf(-W, 3_000e18, 5), 1.5e18, "sign of the size does not matter");
        assertEq(market.feeOf(3, 1e18, 1), 1, "a fraction of a wei rounds up");
        assertEq(market.feeOf(W, 3_000e18, 0), 0);
    }

    function test_collectFees_paysTheOwnerFromTheMarketAccount() public {
        _match(alice, bob, ETH_PERP, W, 3_000e18); // fees 0.6 + 1.5 = 2.1
        address treasury = makeAddr("treasury");
        vm.expectRevert(abi.encodeWithSelector(ExampleMarket.Unauthorized.selector, bob));
        vm.prank(bob);
        market.collectFees(treasury, 2_100_000);
        // More than collected: the engine refuses the overdraft (typed error bubbles).
        _expectInsufficientMargin(market.feeAccount(), -0.9e18, 0);
        vm.prank(owner);
        market.collectFees(treasury, 3_000_000);
        vm.prank(owner);
        market.collectFees(treasury, 2_100_000);
        assertEq(usdc.balanceOf(treasury), 2_100_000);
        assertEq(engine.cashBalance(market.feeAccount()), 0);
    }
}
