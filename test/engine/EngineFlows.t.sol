// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineFlowsTest
/// @notice End-to-end stories through the example market and the engine:
/// deposit -> trade -> price move -> margin call -> flag -> Dutch-auction
/// liquidation (partial, full, insolvent -> insurance fund -> socialised loss),
/// option expiry, and how the engine behaves when the oracle is stale, the
/// sequencer is down, the deviation guard trips or new risk is paused.
contract EngineFlowsTest is EngineBase {
    address internal dave = makeAddr("dave");

    function _health(address who) internal view returns (int256) {
        return engine.health(acct(who));
    }

    /// MM x 1.1 rounded up, the level at which a flag clears (default buffer 10%).
    function _target(int128 mm) internal pure returns (int256) {
        return int256(mm) + (int256(mm) + 9) / 10;
    }

    // ------------------------------------------------------------ liquidation stories

    /// Alice buys 1 ETH at 3,000 from Bob with 1,600 cash. A fall to 2,700 puts her
    /// below IM (margin call: no new risk, no withdrawals) but above MM; she
    /// tops up with 0.2 WETH. A crash to 1,600 makes her liquidatable; a keeper
    /// flags her and Carol liquidates half the position, which restores her above
    /// MM x 1.1 and clears the flag.
    function test_flow_marginCallThenPartialLiquidationClearsTheFlag() public {
        _fund(alice, 1_600);
        _fund(bob, 100_000);
        _fund(carol, 100_000);
        _match(alice, bob, ETH_PERP, W, 3_000e18); // maker fee 0.6
        assertEq(engine.cashBalance(acct(alice)), 1_599.4e18);

        // Margin call at 2,700: equity 1,299.4 < IM 1,350, > MM 945.
        _setEth(2_700e8);
        Margin memory m = _margin(acct(alice));
        assertEq(m.equityIm, 1_299.4e18);
        assertEq(m.im, 1_350e18);
        assertLt(m.equityIm, m.im);
        assertFalse(engine.isLiquidatable(acct(alice)));
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(alice), ST_HEALTHY));
        engine.flag(acct(alice));
        _expectInsufficientMargin(acct(alice), 1_299.4e18 - 1e18, 1_350e18);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(1));
        // Adding 0.2 ETH at 2,700 (no fee from the desk) would need IM 1.2 x 1,350.
        _expectInsufficientMargin(acct(alice), 1_299.4e18, 1_620e18);
        _trade(acct(alice), ETH_PERP, W / 5, 2_700e18);
        // She cures it with collateral: 0.2 WETH adds 0.2 x 2,700 x 0.9 = 486 of IM equity.
        _deposit(alice, WETH_ID, 0.2e18);
        m = _margin(acct(alice));
        assertEq(m.equityIm, 1_785.4e18);
        assertGe(m.equityIm, m.im);

        // Crash to 1,600: MM equity 1,599.4 - 1,400 + 0.2 x 1,600 x 0.95 = 503.4 < MM 560.
        _setEth(1_600e8);
        assertEq(_health(alice), 503.4e18 - 560e18);
        vm.prank(keeper);
        engine.flag(acct(alice));
        int256 before = _health(alice);
        assertEq(before, 498.4e18 - 560e18, "the keeper's reward came out of her equity");

        // Half at 1% off 1,600: realises 0.5 x (1,584 - 3,000) = -708.
        vm.prank(carol);
        assertEq(engine.liquidate(acct(alice), acct(carol), ETH_PERP, W / 2), 1_584e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), W / 2);
        assertEq(_positionSize(acct(carol), ETH_PERP), W / 2);
        m = _margin(acct(alice));
        assertEq(m.equityMm, 490.4e18);
        assertEq(m.mm, 280e18);
        assertGe(m.equityMm, _target(m.mm));
        assertEq(engine.flaggedAt(acct(alice)), 0, "cleared above MM x 1.1");
        assertGt(_health(alice), before, "liquidation improved her health");
        // She keeps the rest and her collateral; the liquidator holds IM.
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 0.2e18);
        Margin memory lm = _margin(acct(carol));
        assertGe(lm.equityIm, lm.im);
    }

    /// A position too far gone for one step: at 1,200 Alice (equity 195 against
    /// MM 420) is liquidated in Dutch-auction steps at a growing discount,
    /// each at most half of what is left (close factor), until she is back
    /// above MM x 1.1; she stays solvent and keeps the rest.
    function test_flow_fullLiquidationInSteps() public {
        _underwater();
        _fund(carol, 100_000);
        _setEth(1_200e8);
        vm.prank(keeper);
        engine.flag(acct(alice));
        int256 start = _health(alice);
        vm.prank(carol);
        int128 p1 = engine.liquidate(acct(alice), acct(carol), ETH_PERP, W / 10);
        assertEq(p1, 1_188e18, "1% off 1,200");
        assertEq(engine.flaggedAt(acct(alice)), T0, "still below MM x 1.1");
        int256 h1 = _health(alice);
        assertGt(h1, start);
        _skip(60);
        int128 d = DISCOUNT_START + DISCOUNT_RATE * 60;
        vm.prank(carol);
        int128 p2 = engine.liquidate(acct(alice), acct(carol), ETH_PERP, W / 10);
        assertEq(p2, 1_200e18 - d * 1_200, "the discount grew for 60 s");
        assertLt(p2, p1, "the auction price falls with time for a long being sold");
        assertEq(engine.flaggedAt(acct(alice)), T0, "still below MM x 1.1");
        int256 h = _health(alice);
        assertGt(h, h1);
        // The rest in steps of at most half the position, until the flag clears.
        int256 bought = 2 * W / 10;
        uint256 steps;
        while (engine.flaggedAt(acct(alice)) != 0) {
            int128 pos = _positionSize(acct(alice), ETH_PERP);
            int128 half = (pos + 1) / 2;
            vm.expectRevert(
                abi.encodeWithSelector(IKeelEngine.KeelLiquidationStepTooLarge.selector, acct(alice), pos, half)
            );
            vm.prank(carol);
            engine.liquidate(acct(alice), acct(carol), ETH_PERP, pos);
            vm.prank(carol);
            assertEq(engine.liquidate(acct(alice), acct(carol), ETH_PERP, half), p2, "same auction price");
            bought += half;
            assertGt(_health(alice), h, "every step raises her health");
            h = _health(alice);
            assertGe(_margin(acct(alice)).equityMm, 0, "solvent");
            require(++steps < 8, "the flag never cleared");
        }
        Margin memory m = _margin(acct(alice));
        assertGe(m.equityMm, _target(m.mm), "cleared at MM x 1.1");
        assertEq(_positionSize(acct(carol), ETH_PERP), bought);
        assertEq(_positionSize(acct(alice), ETH_PERP), W - bought, "she keeps the rest");
        assertGt(_positionSize(acct(alice), ETH_PERP), 0);
        // Once back above the buffer, no more liquidation.
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(alice), ST_NOT_FLAGGED)
        );
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PERP, W / 10);
        // 1,995 - 0.1 x (3,000 - p1) - (bought - 0.1) x (3,000 - p2).
        int256 expected =
            1_995e18 - (3_000e18 - int256(p1)) / 10 - (3_000e18 - int256(p2)) * (bought - W / 10) / 1e18;
        assertApproxEqAbs(engine.cashBalance(acct(alice)), expected, 4);
        assertGt(engine.cashBalance(acct(alice)), 0, "solvent");
    }

    /// ETH crashes from 3,000 to 500 before anyone acts: Alice's equity is
    /// negative (so the flag pays no reward and no close factor applies).
    /// After a full liquidation her cash is -505; the insurance fund (100)
    /// pays first, the remaining 405 is socialised over every positive cash
    /// balance through the loss index. New money is not touched.
    function test_flow_insolvencyUsesInsuranceThenSocialisesTheLoss() public {
        _underwater();
        _fund(carol, 50_000);
        usdc.mint(dave, usd(100));
        vm.startPrank(dave);
        usdc.approve(address(engine), usd(100));
        engine.fundInsurance(usd(100));
        vm.stopPrank();
        _setEth(500e8);
        assertLt(_margin(acct(alice)).equityMm, 0, "insolvent");
        vm.prank(keeper);
        engine.flag(acct(alice));
        vm.prank(carol);
        assertEq(engine.liquidate(acct(alice), acct(carol), ETH_PERP, W), 495e18);
        assertEq(engine.cashBalance(acct(alice)), -505e18);
        // Alice still has negative cash and nothing else, but Bob is solvent: not bankrupt.
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(bob), ST_NOT_BANKRUPT));
        engine.settleBadDebt(acct(bob));

        int256 bobBefore = engine.cashBalance(acct(bob));
        int256 carolBefore = engine.cashBalance(acct(carol));
        int256 keeperBefore = engine.cashBalance(acct(keeper));
        engine.settleBadDebt(acct(alice));
        assertEq(engine.cashBalance(acct(alice)), 0);
        assertEq(engine.insuranceFund(), 0);
        assertLt(engine.lossIndex(), W);
        int256 lost = (bobBefore - engine.cashBalance(acct(bob))) + (carolBefore - engine.cashBalance(acct(carol)))
            + (keeperBefore - engine.cashBalance(acct(keeper)));
        assertGe(lost, 405e18);
        assertLe(lost, 405e18 + 1e6, "pro rata to the wei, give or take rounding");
        // Pro rata: each positive balance lost the same fraction (to rounding).
        int256 bobLost = bobBefore - engine.cashBalance(acct(bob));
        int256 carolLost = carolBefore - engine.cashBalance(acct(carol));
        assertApproxEqAbs(bobLost * carolBefore / bobBefore, carolLost, 1e6);

        // Money deposited after the loss is worth its face value.
        _fund(dave, 1_000);
        assertEq(engine.cashBalance(acct(dave)), 1_000e18);
        // And every token is still there for the balances the engine credits.
        assertGe(usdc.balanceOf(address(engine)), _totalHeld(USDC_ID));
        int256 credited = engine.cashBalance(acct(bob)) + engine.cashBalance(acct(carol))
            + engine.cashBalance(acct(keeper)) + engine.cashBalance(acct(dave)) + engine.insuranceFund();
        assertLe(credited, int256(_totalHeld(USDC_ID)) * 1e12, "cash never exceeds the tokens held");
        // Cash plus open PnL (Bob's short from 3,000 and Carol's long from 495, both
        // cash-only accounts) is covered too.
        int256 equity = int256(_margin(acct(bob)).equityMm) + _margin(acct(carol)).equityMm
            + _margin(acct(keeper)).equityMm + _margin(acct(dave)).equityMm;
        assertLe(equity, int256(_totalHeld(USDC_ID)) * 1e12, "claims never exceed the tokens held");
    }

    // ------------------------------------------------------------ expiry

    /// Alice writes 2 calls to Bob through the market; at expiry ETH is 3,300.
    /// Anyone records the price and settles both sides; Bob withdraws his profit.
    function test_flow_optionExpirySettlement() public {
        _fund(alice, 20_000);
        _fund(bob, 5_000);
        _match(alice, bob, ETH_CALL, -2 * W, 120e18); // Alice receives 240 premium
        int128 aliceCash = engine.cashBalance(acct(alice));
        int128 bobCash = engine.cashBalance(acct(bob));
        assertEq(aliceCash, 20_000e18 + 240e18 - 0.048e18);
        assertEq(bobCash, 5_000e18 - 240e18 - 0.12e18);

        _warp(EXPIRY - 1 hours);
        _setEth(3_300e8);
        _warp(EXPIRY); // publishes the first ETH/USD round at expiry
        uint80 settlementRound = ethFeed.latestRound();
        vm.prank(alice);
        uint256 late = market.post(ETH_CALL, -W, 300e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_CALL, EXPIRY));
        vm.prank(bob);
        market.fill(late, acct(bob)); // no trading at expiry
        vm.prank(keeper);
        assertEq(engine.recordSettlementPrice(ETH, EXPIRY, settlementRound), 3_300e18);
        vm.prank(keeper);
        assertEq(engine.settle(acct(bob), ETH_CALL), 600e18);
        vm.prank(keeper);
        assertEq(engine.settle(acct(alice), ETH_CALL), -600e18);
        assertEq(engine.cashBalance(acct(alice)), aliceCash - 600e18);
        assertEq(engine.cashBalance(acct(bob)), bobCash + 600e18);
        // Bob has no positions left: he can take everything out.
        uint256 out = uint256(uint128(engine.cashBalance(acct(bob)))) / 1e12;
        vm.prank(bob);
        engine.withdraw(acct(bob), USDC_ID, out);
        assertEq(usdc.balanceOf(bob), out);
        assertLt(engine.cashBalance(acct(bob)), 1e12, "only dust below one token unit is left");
    }

    // ------------------------------------------------------------ degraded oracles

    /// Alice holds an ETH perp; Carol only cash; Dave only WETH. ETH/USD goes stale.
    /// The engine fails closed for everything that needs the ETH price (new
    /// risk, flagging, liquidating and withdrawing against ETH positions) and
    /// keeps working for what does not: deposits, withdrawals from accounts
    /// without positions or debt, and books on other underlyings.
    function test_flow_staleOracle_pausesPricedActionsButNotDepositsOrFreeWithdrawals() public {
        _fund(alice, 2_000);
        _fund(bob, 100_000);
        _fund(carol, 1_000);
        _deposit(dave, WETH_ID, 1e18);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        uint256 lastUpdate = block.timestamp;
        // Two hours pass without an ETH round (BTC and the vol feed keep updating).
        vm.warp(block.timestamp + 2 hours);
        btcFeed.push(btcPx8);
        ethVolFeed.push(ethVol8);
        bytes memory stale =
            abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, address(ethFeed), OR_STALE, lastUpdate);

        vm.expectRevert(stale);
        _trade(acct(alice), ETH_PERP, W / 10, 3_000e18);
        vm.expectRevert(stale);
        engine.flag(acct(alice));
        vm.expectRevert(stale);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(1));

        _fund(alice, 500); // deposits work
        assertEq(engine.cashBalance(acct(alice)), 2_500e18);
        vm.prank(carol);
        engine.withdraw(acct(carol), USDC_ID, usd(1_000)); // no positions, no debt
        assertEq(usdc.balanceOf(carol), usd(1_000));
        vm.prank(dave);
        engine.withdraw(acct(dave), WETH_ID, 1e18);
        assertEq(weth.balanceOf(dave), 1e18);
        // Books on other underlyings carry on.
        address erin = makeAddr("erin");
        _fund(carol, 10_000);
        _fund(erin, 10_000);
        _pair(carol, erin, BTC_PERP, W / 10, 60_000e18);
        assertEq(_positionSize(acct(carol), BTC_PERP), W / 10);
        // A fresh round restores everything.
        _setEth(3_000e8);
        _trade(acct(alice), ETH_PERP, W / 10, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), W * 11 / 10);
    }

    /// The sequencer goes down: nothing that needs a price works until it has been
    /// back up for the grace period (1 h); deposits and withdrawals from accounts
    /// without positions or debt keep working throughout.
    function test_flow_sequencerDown_thenGracePeriod() public {
        _fund(alice, 2_000);
        _fund(bob, 100_000);
        _fund(carol, 1_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        uint256 downAt = block.timestamp + 10;
        vm.warp(downAt);
        sequencerFeed.pushAt(1, downAt, downAt);
        bytes memory down = abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, downAt);
        vm.expectRevert(down);
        _trade(acct(alice), ETH_PERP, W / 10, 3_000e18);
        vm.expectRevert(down);
        engine.poke(ETH);
        vm.expectRevert(down);
        engine.flag(acct(alice));
        vm.expectRevert(down);
        vm.prank(bob);
        engine.withdraw(acct(bob), USDC_ID, usd(1)); // Bob has a position
        _fund(alice, 100);
        vm.prank(carol);
        engine.withdraw(acct(carol), USDC_ID, usd(1_000));

        // Back up after 30 minutes: still unavailable during the grace period.
        uint256 upAt = downAt + 30 minutes;
        _warp(upAt);
        sequencerFeed.pushAt(0, upAt, upAt);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, upAt));
        _trade(acct(alice), ETH_PERP, W / 10, 3_000e18);
        _warp(upAt + 1 hours);
        _trade(acct(alice), ETH_PERP, W / 10, 3_000e18);
        engine.poke(ETH);
        assertEq(_positionSize(acct(alice), ETH_PERP), W * 11 / 10);
    }

    /// ETH jumps 13% between pokes: the deviation guard pauses new ETH risk
    /// (live before the poke, stored for the cooldown after it) and adds the
    /// confidence charge to margin. Deposits, reductions, withdrawals of excess
    /// and liquidation keep working; after the cooldown new risk is accepted again.
    function test_flow_deviationGuard_pausesNewRiskButNotLiquidationOrWithdrawals() public {
        engine.poke(ETH); // scan range ~12.6%
        _fund(alice, 800);
        _fund(bob, 100_000);
        _fund(carol, 100_000);
        _pair(alice, bob, ETH_PERP, 2 * W, 3_000e18);
        Margin memory calm = _margin(acct(bob));
        _skip(120);
        _setEth(2_600e8);
        bytes memory paused = abi.encodeWithSelector(IKeelEngine.KeelNewRiskPaused.selector, ETH);
        vm.expectRevert(paused);
        _trade(acct(bob), ETH_PERP, -W, 2_600e18); // live deviation, before any poke
        engine.poke(ETH);
        (,,,,,, uint64 guardUntil) = engine.underlying(ETH);
        assertEq(guardUntil, block.timestamp + 600);
        vm.expectRevert(paused);
        _trade(acct(bob), ETH_PERP, -W, 2_600e18);
        vm.prank(carol);
        uint256 order = market.post(ETH_PERP, W, 2_600e18);
        vm.expectRevert(paused);
        vm.prank(bob);
        market.fill(order, acct(bob));

        // The confidence add-on (5% of gross notional) raises margin.
        Margin memory guarded = _margin(acct(bob));
        assertGt(guarded.im, calm.im);
        // Deposits, reductions and withdrawals of excess work.
        _fund(bob, 1_000);
        _trade(acct(bob), ETH_PERP, W / 2, 2_600e18); // Bob buys back half his short
        vm.prank(bob);
        engine.withdraw(acct(bob), USDC_ID, usd(10_000));
        // Liquidation works: Alice (800 cash, -800 of PnL) is under water
        // (equity at mark 0: no reward, half the position per step).
        assertTrue(engine.isLiquidatable(acct(alice)));
        vm.prank(keeper);
        engine.flag(acct(alice));
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PERP, W);
        assertEq(_positionSize(acct(carol), ETH_PERP), W, "the liquidator took on ETH risk while guarded");

        // After the cooldown, with a fresh poke at an unchanged price, new risk is back.
        _skip(601);
        engine.poke(ETH);
        _trade(acct(bob), ETH_PERP, -W, 2_600e18);
        assertEq(_positionSize(acct(bob), ETH_PERP), -2.5e18);
    }

    /// The guardian pauses new risk globally: reductions, deposits, withdrawals
    /// of excess and liquidation still work.
    function test_flow_globalPause_keepsExitsAndLiquidationOpen() public {
        _underwater();
        _fund(carol, 100_000);
        vm.prank(owner);
        engine.setRole(2, dave);
        vm.prank(dave);
        engine.setPaused(true);
        bytes memory paused = abi.encodeWithSelector(IKeelEngine.KeelNewRiskPaused.selector, uint8(255));
        vm.expectRevert(paused);
        _trade(acct(carol), ETH_PERP, W, 1_500e18);
        vm.prank(carol);
        uint256 order = market.post(BTC_PERP, W / 10, 60_000e18);
        vm.expectRevert(paused);
        vm.prank(bob);
        market.fill(order, acct(bob));
        _fund(alice, 10);
        vm.prank(bob);
        engine.withdraw(acct(bob), USDC_ID, usd(1_000));
        vm.prank(keeper);
        engine.flag(acct(alice));
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PERP, W / 2);
        assertEq(_positionSize(acct(carol), ETH_PERP), W / 2);
        vm.prank(dave);
        engine.setPaused(false);
        _trade(acct(carol), ETH_PERP, W, 1_500e18);
        assertEq(_positionSize(acct(carol), ETH_PERP), W * 3 / 2);
    }
}
