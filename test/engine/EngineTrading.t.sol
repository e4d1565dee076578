// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineTradingTest
/// @notice Unit tests of `reportTrade` (every typed error, perp and option
/// bookkeeping, fees, the position cap) and of the margin views
/// (`accountMargin`, `health`, `isLiquidatable`, `scenarioPnl`, `greeks`).
/// Margin numbers use the fixture's 50% scan range (no poke yet): a perp's IM is
/// |size| x spot x 50% and MM is 70% of IM.
contract EngineTradingTest is EngineBase {
    uint8 constant F_PRICE = 19;
    uint8 constant F_FEE = 20;
    uint8 constant F_SIZE = 21;
    uint8 constant F_MIN_NOTIONAL = 26;

    function _oob(uint8 field, int256 value, int256 min, int256 max) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelParameterOutOfBounds.selector, field, value, min, max));
    }

    function setUp() public override {
        super.setUp();
        _fund(alice, 10_000);
        _fund(bob, 100_000);
    }

    // ------------------------------------------------------------ reportTrade errors

    function test_reportTrade_reverts_whenCallerIsNotAMarket() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        engine.reportTrade(acct(alice), ETH_PERP, W, 3_000e18, 0);
    }

    function test_reportTrade_reverts_onUnknownInstrument() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_INSTRUMENT, 99));
        _trade(acct(alice), 99, W, 3_000e18);
    }

    function test_reportTrade_reverts_onZeroOrOversizedSize() public {
        _oob(F_SIZE, 0, 1, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, 0, 3_000e18);
        _oob(F_SIZE, int256(MAX_PRICE) + 1, -int256(MAX_PRICE), MAX_PRICE);
        _trade(acct(alice), ETH_PERP, MAX_PRICE + 1, 3_000e18);
        _oob(F_SIZE, -int256(MAX_PRICE) - 1, -int256(MAX_PRICE), MAX_PRICE);
        _trade(acct(alice), ETH_PERP, -MAX_PRICE - 1, 3_000e18);
    }

    function test_reportTrade_reverts_onBadPrice() public {
        _oob(F_PRICE, 0, 1, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, W, 0);
        _oob(F_PRICE, -1, 1, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, W, -1);
        _oob(F_PRICE, int256(MAX_PRICE) + 1, 1, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, W, MAX_PRICE + 1);
    }

    function test_reportTrade_reverts_onNegativeFee() public {
        _oob(F_FEE, -1, 0, MAX_PRICE);
        vm.prank(desk);
        engine.reportTrade(acct(alice), ETH_PERP, W, 3_000e18, -1);
    }

    function test_reportTrade_reverts_onExpiredOption() public {
        _warp(EXPIRY);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_CALL, EXPIRY));
        _trade(acct(alice), ETH_CALL, W, 10e18);
        // One second earlier it still trades.
        vm.warp(EXPIRY - 1);
        _trade(acct(alice), ETH_CALL, W, 10e18);
    }

    function test_reportTrade_reverts_belowImWithEquityAndRequirement() public {
        _fund(carol, 1_000);
        // 10 ETH at 3,000 needs 10 x 1,500 = 15,000; equity is the cash (no PnL at spot).
        _expectInsufficientMargin(acct(carol), 1_000e18, 15_000e18);
        _trade(acct(carol), ETH_PERP, 10 * W, 3_000e18);
        assertEq(_positionSize(acct(carol), ETH_PERP), 0, "rolled back");
        _trade(acct(carol), ETH_PERP, W / 2, 3_000e18); // 750 of IM fits
        assertEq(_positionSize(acct(carol), ETH_PERP), W / 2);
    }

    function test_reportTrade_reverts_whenPausedUnlessReducing() public {
        _trade(acct(alice), ETH_PERP, 2 * W, 3_000e18);
        vm.prank(owner);
        engine.setPaused(true);
        bytes memory paused = abi.encodeWithSelector(IKeelEngine.KeelNewRiskPaused.selector, uint8(255));
        vm.expectRevert(paused);
        _trade(acct(alice), ETH_PERP, W, 3_000e18); // grows
        vm.expectRevert(paused);
        _trade(acct(alice), ETH_PERP, -5 * W, 3_000e18); // flips
        vm.expectRevert(paused);
        _trade(acct(alice), BTC_PERP, W / 10, 60_000e18); // opens
        _trade(acct(alice), ETH_PERP, -W, 3_000e18); // reduces
        _trade(acct(alice), ETH_PERP, -W, 3_000e18); // closes
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
    }

    function test_reportTrade_reverts_beyondSixteenPositions() public {
        vm.startPrank(owner);
        for (uint256 i = 0; i < 15; i++) {
            engine.listInstrument(ETH, 0, 0, 0); // ids 4..18
        }
        vm.stopPrank();
        _fund(alice, 1_000_000);
        _trade(acct(alice), ETH_PERP, W / 100, 3_000e18);
        _trade(acct(alice), BTC_PERP, W / 1_000, 60_000e18);
        for (uint32 id = 4; id < 18; id++) {
            _trade(acct(alice), id, W / 100, 3_000e18);
        }
        (uint32[] memory ids,,) = engine.positions(acct(alice));
        assertEq(ids.length, 16);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, KIND_POSITIONS, 16));
        _trade(acct(alice), 18, W / 100, 3_000e18);
        // Adding to an existing position is fine, and closing one frees a slot.
        _trade(acct(alice), 4, W / 100, 3_000e18);
        _trade(acct(alice), 5, -W / 100, 3_000e18);
        _trade(acct(alice), 18, W / 100, 3_000e18);
        (ids,,) = engine.positions(acct(alice));
        assertEq(ids.length, 16);
        assertEq(_positionSize(acct(alice), 5), 0);
        assertEq(_positionSize(acct(alice), 18), W / 100);
    }

    /// Every reported price must lie in the band around the engine's own mark
    /// (perps: spot; band: the scan range of spot, 50% before any poke).
    function test_reportTrade_reverts_outsideThePriceBand() public {
        (int128 mark, int128 spot, int128 low, int128 high) = engine.priceBand(ETH_PERP);
        assertEq(mark, 3_000e18);
        assertEq(spot, 3_000e18);
        assertEq(low, 1_500e18);
        assertEq(high, 4_500e18);
        _oob(F_PRICE, 1_500e18 - 1, low, high);
        _trade(acct(alice), ETH_PERP, W, 1_500e18 - 1);
        _oob(F_PRICE, 4_500e18 + 1, low, high);
        _trade(acct(alice), ETH_PERP, W, 4_500e18 + 1);
        _trade(acct(alice), ETH_PERP, W, 4_500e18); // inclusive
        // Reductions too: closing off-market is how value was moved between accounts.
        _oob(F_PRICE, 1, low, high);
        _trade(acct(alice), ETH_PERP, -W, 1);
        // After a poke the band is the (narrower) scan range.
        engine.poke(ETH);
        (,,,, int128 range,,) = engine.underlying(ETH);
        (mark,, low, high) = engine.priceBand(ETH_PERP);
        assertEq(high - mark, int256(range) * 3_000, "half width = R x spot");
        assertEq(mark - low, high - mark);
    }

    /// Options: the mark is Black-76 at the smile vol, the band R x spot
    /// around it, floored at 1 wei.
    function test_priceBand_ofAnOption() public view {
        (int128 mark, int128 spot, int128 low, int128 high) = engine.priceBand(ETH_CALL);
        assertEq(spot, 3_000e18);
        assertGt(mark, 250e18, "ATM call, 80% vol, 30 days: about 275");
        assertLt(mark, 300e18);
        assertEq(low, 1, "mark - 1,500 is below zero: floored at 1 wei");
        assertEq(high, mark + 1_500e18);
    }

    /// A non-zero position must be worth at least the instrument's minimum
    /// notional (|size| x spot >= 10 by default) after every trade.
    function test_reportTrade_reverts_belowTheMinimumNotional() public {
        _oob(F_MIN_NOTIONAL, 9e18, 10e18, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, 0.003e18, 3_000e18);
        _trade(acct(alice), ETH_PERP, 0.004e18, 3_000e18); // 12
        // A partial close that leaves dust is refused; a full close is fine.
        _oob(F_MIN_NOTIONAL, 3e18, 10e18, MAX_PRICE);
        _trade(acct(alice), ETH_PERP, -0.003e18, 3_000e18);
        _trade(acct(alice), ETH_PERP, -0.004e18, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
        // The minimum is per instrument.
        vm.prank(owner);
        engine.setInstrumentLimits(ETH_PERP, 0, 0);
        _trade(acct(alice), ETH_PERP, 1, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), 1);
    }

    /// A trade that does not add risk is no longer unchecked: after it the
    /// account holds IM, or (below IM before) its health did not fall and its
    /// MM-view equity is not negative.
    function test_reportTrade_reducingTradeMustNotLeaveTheAccountWorse() public {
        engine.poke(ETH); // R ~12.6%: IM ~377 per ETH
        _fund(carol, 400);
        _pair(carol, bob, ETH_PERP, W, 3_000e18);
        _skip(60);
        _setEth(2_720e8); // carol: equity 120 < IM, health < 0
        Margin memory m = _margin(acct(carol));
        assertLt(m.equityIm, m.im);
        // Closing at 2,400 (inside the band) would realise -600: equity -200.
        _expectInsufficientMargin(acct(carol), -200e18, 0);
        _trade(acct(carol), ETH_PERP, -W, 2_400e18);
        // Closing half at the mark lowers neither health nor equity: accepted.
        _trade(acct(carol), ETH_PERP, -W / 2, 2_720e18);
        assertEq(_positionSize(acct(carol), ETH_PERP), W / 2);
        // A reduction by an account above IM may leave it anywhere above IM.
        _trade(acct(bob), ETH_PERP, W / 2, 2_500e18);
    }

    // ------------------------------------------------------------ reportTrade bookkeeping

    function test_reportTrade_booksPositionFeeAndEmits() public {
        vm.expectEmit(true, true, true, true, address(engine));
        emit IKeelEngine.TradeReported(acct(alice), ETH_PERP, desk, 2 * W, 3_000e18, 3e18, 0);
        vm.prank(desk);
        int128 cash = engine.reportTrade(acct(alice), ETH_PERP, 2 * W, 3_000e18, 3e18);
        assertEq(cash, 0, "opening a perp moves no cash");
        (uint32[] memory ids, int128[] memory sizes, int128[] memory entries) = engine.positions(acct(alice));
        assertEq(ids.length, 1);
        assertEq(ids[0], ETH_PERP);
        assertEq(sizes[0], 2 * W);
        assertEq(entries[0], 3_000e18);
        assertEq(engine.cashBalance(acct(alice)), 9_997e18);
        assertEq(engine.cashBalance(acct(desk)), 3e18, "the fee goes to the market's account");
    }

    function test_reportTrade_averagesEntryAndRealisesPerpPnl() public {
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        _trade(acct(alice), ETH_PERP, W, 3_100e18);
        (,, int128[] memory entries) = engine.positions(acct(alice));
        assertEq(entries[0], 3_050e18, "size-weighted entry");
        // Reduce: realises 1 x (3,200 - 3,050).
        assertEq(_trade(acct(alice), ETH_PERP, -W, 3_200e18), 150e18);
        assertEq(engine.cashBalance(acct(alice)), 10_150e18);
        (,, entries) = engine.positions(acct(alice));
        assertEq(entries[0], 3_050e18, "reducing keeps the entry");
        // Flip: realises the old 1 at 2,900 and opens -2 at 2,900.
        assertEq(_trade(acct(alice), ETH_PERP, -3 * W, 2_900e18), -150e18);
        (, int128[] memory sizes, int128[] memory e2) = engine.positions(acct(alice));
        assertEq(sizes[0], -2 * W);
        assertEq(e2[0], 2_900e18);
        // Close: realises 2 x (2,900 - 2,800).
        assertEq(_trade(acct(alice), ETH_PERP, 2 * W, 2_800e18), 200e18);
        (uint32[] memory ids,,) = engine.positions(acct(alice));
        assertEq(ids.length, 0);
        assertEq(engine.cashBalance(acct(alice)), 10_200e18);
    }

    function test_reportTrade_movesOptionPremiumThroughCash() public {
        assertEq(_trade(acct(alice), ETH_CALL, 2 * W, 150e18), -300e18, "buyer pays");
        assertEq(_trade(acct(bob), ETH_CALL, -2 * W, 150e18), 300e18, "writer receives");
        assertEq(engine.cashBalance(acct(alice)), 9_700e18);
        assertEq(engine.cashBalance(acct(bob)), 100_300e18);
        (,, int128[] memory entries) = engine.positions(acct(alice));
        assertEq(entries[0], 0, "options keep no entry price");
        // Premium rounds against the account: 0.01 ETH + 1 wei of size (the
        // minimum notional allows no less) at 1 wei of price (inside the band).
        assertEq(_trade(acct(alice), ETH_PUT, 0.01e18 + 1, 1), -1);
        assertEq(_trade(acct(bob), ETH_PUT, -0.01e18 - 1, 1), 0);
    }

    // ------------------------------------------------------------ margin views

    function test_accountMargin_ofALongPerpIsHalfTheNotional() public {
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        Margin memory m = _margin(acct(alice));
        assertEq(m.equityIm, 10_000e18);
        assertEq(m.equityMm, 10_000e18);
        assertEq(m.im, 1_500e18);
        assertEq(m.mm, 1_050e18);
        // Unrealised PnL enters equity at the oracle price.
        _setEth(2_500e8);
        m = _margin(acct(alice));
        assertEq(m.equityIm, 9_500e18);
        assertEq(m.im, 1_250e18);
        assertEq(m.mm, 875e18);
        assertEq(engine.health(acct(alice)), 9_500e18 - 875e18);
        assertFalse(engine.isLiquidatable(acct(alice)));
    }

    function test_health_isNegativeExactlyWhenLiquidatable() public {
        _fund(carol, 2_000);
        _pair(carol, bob, ETH_PERP, W, 3_000e18);
        // At 1,515: equity 515, MM 0.7 x 757.5 = 530.25 -> liquidatable.
        _setEth(1_515e8);
        assertEq(engine.health(acct(carol)), 515e18 - 530.25e18);
        assertTrue(engine.isLiquidatable(acct(carol)));
        // At 1,550: equity 550, MM 542.5 -> healthy.
        _setEth(1_550e8);
        assertEq(engine.health(acct(carol)), 550e18 - 542.5e18);
        assertFalse(engine.isLiquidatable(acct(carol)));
    }

    function test_scenarioPnl_exposesTheWorstScenario() public {
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        (int128[] memory pnl, uint32 worst, int128 loss) = engine.scenarioPnl(acct(alice), ETH);
        assertGt(pnl.length, 0);
        assertLt(worst, pnl.length);
        assertEq(loss, 1_500e18, "worst case: spot -50%");
        assertEq(pnl[worst], -1_500e18);
        for (uint256 i = 0; i < pnl.length; i++) {
            assertGe(pnl[i], pnl[worst], "no scenario is worse");
        }
        // No position on BTC: empty.
        (pnl, worst, loss) = engine.scenarioPnl(acct(alice), BTC);
        assertEq(pnl.length, 0);
        assertEq(worst, 0);
        assertEq(loss, 0);
    }

    function test_greeks_ofPerpsAndOptions() public {
        _trade(acct(alice), ETH_PERP, -2 * W, 3_000e18);
        (int128 delta, int128 gamma, int128 vega) = engine.greeks(acct(alice), ETH);
        assertEq(delta, -2 * W, "a perp's delta is its size");
        assertEq(gamma, 0);
        assertEq(vega, 0);
        _trade(acct(alice), ETH_CALL, 4 * W, 150e18); // ATM calls: delta about 0.5 each
        (delta, gamma, vega) = engine.greeks(acct(alice), ETH);
        assertGt(delta, -2 * W + 1.5e18);
        assertLt(delta, -2 * W + 2.5e18);
        assertGt(gamma, 0);
        assertGt(vega, 0);
        (delta, gamma, vega) = engine.greeks(acct(alice), BTC);
        assertEq(delta, 0);
        assertEq(gamma, 0);
        assertEq(vega, 0);
    }

    function test_accountMargin_offsetsHedgedExposure() public {
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        int128 longIm = _margin(acct(alice)).im;
        _trade(acct(alice), ETH_PUT, W, 100e18); // protective put
        int128 hedgedIm = _margin(acct(alice)).im;
        assertLt(hedgedIm, longIm, "a long put offsets the long perp's downside");
    }
}
