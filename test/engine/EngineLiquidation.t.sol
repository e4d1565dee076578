// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineLiquidationTest
/// @notice Unit tests of `flag`, `unflag`, `liquidate`, `liquidateCollateral`
/// and `settleBadDebt`: every typed error and the exact auction prices.
///
/// Fixture (`_underwater`): Alice holds 2,000 cash and 1 ETH perp long from
/// 3,000 (Bob is short); ETH is at 1,500, so Alice's MM-view equity is 500
/// against an MM of 525. Carol (100,000 cash) liquidates; `keeper` flags.
contract EngineLiquidationTest is EngineBase {
    function setUp() public override {
        super.setUp();
        _fund(carol, 100_000);
    }

    function _state(uint256 account, uint8 state) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, account, state));
    }

    function _flagAlice() internal {
        vm.prank(keeper);
        engine.flag(acct(alice));
    }

    function _liquidate(uint32 instrument, int128 size) internal returns (int128) {
        vm.prank(carol);
        return engine.liquidate(acct(alice), acct(carol), instrument, size);
    }

    // ------------------------------------------------------------ flag / unflag

    function test_flag_reverts_whenHealthy() public {
        _fund(alice, 2_000);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _state(acct(alice), ST_HEALTHY);
        vm.prank(keeper);
        engine.flag(acct(alice));
        // An empty account is healthy too.
        _state(acct(makeAddr("nobody")), ST_HEALTHY);
        engine.flag(acct(makeAddr("nobody")));
    }

    function test_flag_paysTheKeeperAndEmits() public {
        _underwater();
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.AccountFlagged(acct(alice), keeper, 500e18, 525e18, FLAG_REWARD);
        _flagAlice();
        assertEq(engine.flaggedAt(acct(alice)), T0);
        assertEq(engine.cashBalance(acct(keeper)), FLAG_REWARD);
        assertEq(engine.cashBalance(acct(alice)), 2_000e18 - FLAG_REWARD);
    }

    /// The reward never creates or deepens bad debt: it is capped at the
    /// account's equity at mark (no haircuts), and the event reports what was paid.
    function test_flag_rewardIsCappedByEquityAtMark() public {
        _underwater();
        _setEth(1_003e8); // equity 2,000 - 1,997 = 3
        assertEq(_equity(acct(alice)), 3e18);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.AccountFlagged(acct(alice), keeper, 3e18, 351.05e18, 3e18);
        _flagAlice();
        assertEq(engine.cashBalance(acct(keeper)), 3e18, "paid only the equity");
        assertEq(_equity(acct(alice)), 0, "not below zero");
    }

    function test_flag_paysNothingForAnAccountBelowZero() public {
        _underwater();
        _setEth(500e8); // equity -500
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.AccountFlagged(acct(alice), keeper, -500e18, 175e18, 0);
        _flagAlice();
        assertEq(engine.flaggedAt(acct(alice)), T0);
        assertEq(engine.cashBalance(acct(keeper)), 0);
        assertEq(engine.cashBalance(acct(alice)), 2_000e18);
    }

    function test_flag_reverts_whenAlreadyFlagged() public {
        _underwater();
        _flagAlice();
        _state(acct(alice), ST_FLAGGED);
        vm.prank(carol);
        engine.flag(acct(alice));
        assertEq(engine.cashBalance(acct(carol)), 100_000e18, "no second reward");
    }

    function test_unflag_reverts_whenNotFlagged() public {
        _underwater();
        _state(acct(alice), ST_NOT_FLAGGED);
        engine.unflag(acct(alice));
    }

    function test_unflag_reverts_belowTheBuffer() public {
        _underwater();
        _flagAlice();
        _state(acct(alice), ST_BELOW_BUFFER);
        engine.unflag(acct(alice));
        // At 1,560: equity 1,995 - 1,440 = 555 is above MM (546) but below
        // MM x 1.1 (600.6): no longer liquidatable, yet the flag stays.
        _setEth(1_560e8);
        assertFalse(engine.isLiquidatable(acct(alice)));
        _state(acct(alice), ST_BELOW_BUFFER);
        engine.unflag(acct(alice));
    }

    function test_unflag_clearsARecoveredAccount() public {
        _underwater();
        _flagAlice();
        _setEth(3_000e8);
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.FlagCleared(acct(alice));
        engine.unflag(acct(alice));
        assertEq(engine.flaggedAt(acct(alice)), 0);
    }

    // ------------------------------------------------------------ liquidate: errors

    function test_liquidate_reverts_whenNotFlagged() public {
        _underwater();
        _state(acct(alice), ST_NOT_FLAGGED);
        _liquidate(ETH_PERP, W);
    }

    function test_liquidate_reverts_forForeignOrOwnLiquidatorAccount() public {
        _underwater();
        _flagAlice();
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, carol));
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(bob), ETH_PERP, W);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        engine.liquidate(acct(alice), acct(alice), ETH_PERP, W);
        // Nor through another sub-account of the same owner (self-liquidation).
        _depositTo(alice, acct(alice, 1), USDC_ID, usd(10_000));
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        engine.liquidate(acct(alice), acct(alice, 1), ETH_PERP, W / 2);
    }

    function test_liquidate_reverts_onSizeNotReducingThePosition() public {
        _underwater();
        _flagAlice();
        bytes4 sel = IKeelEngine.KeelInvalidPosition.selector;
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), ETH_PERP, -W));
        _liquidate(ETH_PERP, -W);
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), ETH_PERP, 2 * W));
        _liquidate(ETH_PERP, 2 * W);
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), ETH_PERP, 0));
        _liquidate(ETH_PERP, 0);
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), ETH_CALL, W));
        _liquidate(ETH_CALL, W);
    }

    function test_liquidate_reverts_onUnknownOrExpiredInstrument() public {
        _underwater();
        _flagAlice();
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_INSTRUMENT, 99));
        _liquidate(99, W);
        _warp(EXPIRY);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidExpiry.selector, ETH_CALL, EXPIRY));
        _liquidate(ETH_CALL, W);
    }

    function test_liquidate_reverts_aboveTheBuffer() public {
        _underwater();
        _flagAlice();
        _setEth(3_000e8);
        _state(acct(alice), ST_ABOVE_BUFFER);
        _liquidate(ETH_PERP, W / 2);
    }

    function test_liquidate_reverts_whenLiquidatorLacksIm() public {
        _underwater();
        _flagAlice();
        // The keeper's account holds only the 5 reward: after buying 0.5 ETH at
        // 1,485 its IM equity is 5 + 7.5 = 12.5 against 375.
        _expectInsufficientMargin(acct(keeper), 12.5e18, 375e18);
        vm.prank(keeper);
        engine.liquidate(acct(alice), acct(keeper), ETH_PERP, W / 2);
    }

    function test_liquidate_reverts_overTheWindowCap() public {
        _underwater();
        // Base cap 50 of notional, scaled by R / R_min = 10, clamped to 4: 200.
        vm.prank(owner);
        engine.setLiquidationParams(5e18, 0.01e18, DISCOUNT_RATE, 0.1e18, 0.1e18, 3_600, 50e18, 0.5e18);
        _flagAlice();
        _liquidate(ETH_PERP, W / 10); // 150 of notional
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelLiquidationCapExceeded.selector, ETH, int256(300e18), int256(200e18))
        );
        _liquidate(ETH_PERP, W / 10);
        // The next window has a fresh cap (T0 is a multiple of 3,600).
        _skip(3_600);
        _liquidate(ETH_PERP, W / 10);
        assertEq(_positionSize(acct(alice), ETH_PERP), W * 8 / 10);
    }

    // ------------------------------------------------------------ liquidate: behaviour

    function test_liquidate_movesThePositionAtADiscountAndClearsTheFlag() public {
        _underwater();
        _flagAlice();
        vm.expectEmit(true, true, true, true, address(engine));
        emit IKeelEngine.Liquidated(acct(alice), acct(carol), ETH_PERP, W / 2, 1_485e18, DISCOUNT_START);
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.FlagCleared(acct(alice));
        assertEq(_liquidate(ETH_PERP, W / 2), 1_485e18, "mark 1,500 less 1%");
        assertEq(_positionSize(acct(carol), ETH_PERP), W / 2);
        assertEq(_positionSize(acct(alice), ETH_PERP), W / 2);
        // 2,000 - 5 reward + 0.5 x (1,485 - 3,000) realised.
        assertEq(engine.cashBalance(acct(alice)), 1_237.5e18);
        // Equity 1,237.5 - 750 = 487.5 >= MM 262.5 x 1.1: the flag cleared.
        assertEq(engine.flaggedAt(acct(alice)), 0);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidPosition.selector, acct(alice), ETH_PERP, W));
        _liquidate(ETH_PERP, W);
    }

    /// One step takes at most the close factor (50%) of a position of an
    /// account solvent at mark, unless what the largest step would leave is
    /// dust (worth less than 10), in which case the whole position may go.
    function test_liquidate_reverts_onStepAboveTheCloseFactor() public {
        _underwater();
        _flagAlice();
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelLiquidationStepTooLarge.selector, acct(alice), W / 2 + 1, W / 2)
        );
        _liquidate(ETH_PERP, W / 2 + 1);
        _liquidate(ETH_PERP, W / 2);
        assertEq(_positionSize(acct(alice), ETH_PERP), W / 2);
    }

    function test_liquidate_takesADustRemainderWhole() public {
        _fund(alice, 16);
        _fund(bob, 1_000);
        _pair(alice, bob, ETH_PERP, 0.01e18, 3_000e18); // 30 of notional, IM 15
        _setEth(1_450e8); // equity 0.5 >= 0, MM 5.075
        _flagAlice();
        assertGe(_equity(acct(alice)), 0, "solvent at mark: the close factor applies");
        // Half of 0.01 at 1,450 is worth 7.25: dust, so the whole position may go.
        _liquidate(ETH_PERP, 0.01e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
        assertGe(_equity(acct(alice)), 0);
    }

    /// An account below zero at mark has nothing left to protect: no close
    /// factor, it is closed out as fast as liquidators take it.
    function test_liquidate_insolventAccountHasNoStepBound() public {
        _underwater();
        _setEth(500e8);
        _flagAlice();
        _liquidate(ETH_PERP, W);
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
    }

    function test_liquidate_partialKeepsTheFlagAndTheDiscountGrows() public {
        _underwater();
        _flagAlice();
        _skip(100);
        int128 d = DISCOUNT_START + DISCOUNT_RATE * 100;
        assertEq(_liquidate(ETH_PERP, W / 10), 1_500e18 - d * 1_500, "1% + 0.5%/min x 100 s");
        assertEq(_positionSize(acct(alice), ETH_PERP), W * 9 / 10);
        // Equity 1,995 - 0.1 x (3,000 - price) - 0.9 x 1,500 is still under MM x 1.1 = 519.75.
        assertEq(engine.flaggedAt(acct(alice)), T0, "still flagged");
        _skip(100_000);
        assertEq(_liquidate(ETH_PERP, W / 10), 1_350e18, "discount capped at 10%");
    }

    // ------------------------------------------------------------ liquidation must not lower health

    /// After a poke the scan range is ~12.6%, so a perp's MM is ~8.8% of spot per
    /// unit, while the auction discount grows to 10% of spot. Liquidating at the
    /// full discount must still not leave a solvent account less healthy.
    function test_liquidate_neverLowersHealth_perpAtFullDiscountWithCalmRange() public {
        engine.poke(ETH);
        (,,,, int128 range,,) = engine.underlying(ETH);
        assertLt(range * 7 / 10, DISCOUNT_MAX, "MM per unit of spot is below the maximum discount");
        _fund(alice, 400);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _setEth(2_800e8); // equity 200 < MM ~246
        assertTrue(engine.isLiquidatable(acct(alice)));
        _flagAlice();
        _skip(20 minutes); // discount capped at 10%
        int256 before = engine.health(acct(alice));
        // The auction is at its 10% cap (2,520), but the account pays at most
        // the health the step releases: the price lands above 2,520.
        int128 price = _liquidate(ETH_PERP, W / 2);
        assertGt(price, 2_520e18, "discount capped at the released health");
        assertLt(price, 2_800e18, "the liquidator still buys below mark");
        Margin memory m = _margin(acct(alice));
        assertGe(m.equityMm, 0, "still solvent: not the insolvency exception");
        assertGe(int256(m.equityMm) - m.mm, before, "liquidation lowered the account's health");
    }

    /// Alice's book is two long perps and a long put (her hedge). The engine lets
    /// a liquidator choose any position; taking the hedge must not leave the
    /// (solvent) account less healthy than before.
    function test_liquidate_neverLowersHealth_whenTheHedgeIsTaken() public {
        _fund(alice, 2_500);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PUT, W, 330e18);
        _pair(alice, bob, ETH_PERP, 2 * W, 3_000e18);
        int256 px8 = 2_900e8;
        while (!engine.isLiquidatable(acct(alice))) {
            px8 -= 100e8;
            require(px8 > 500e8, "never liquidatable");
            _setEth(px8);
        }
        _flagAlice();
        int256 before = engine.health(acct(alice));
        assertGe(_margin(acct(alice)).equityMm, 0, "solvent: the no-worse rule applies");
        // Taking (half) the hedge releases no health: the engine refuses the step.
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(alice), ST_HEALTH_WOULD_FALL)
        );
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PUT, W / 2);
        assertEq(engine.health(acct(alice)), before, "nothing changed");
        // Reducing the risky leg (the perps) is allowed and improves health.
        _liquidate(ETH_PERP, W);
        assertGe(engine.health(acct(alice)), before, "reducing risk never lowers health");
    }

    // ------------------------------------------------------------ liquidateCollateral

    /// Alice borrows 2,600 against 1 WETH; at 2,700 her MM equity is
    /// 2,700 x 0.95 - 2,600 = -35 < 0.
    function _collateralUnderwater() internal {
        _deposit(alice, WETH_ID, 1e18);
        _fund(bob, 10_000);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(2_600));
        _setEth(2_700e8);
        assertTrue(engine.isLiquidatable(acct(alice)));
        _flagAlice();
    }

    function test_liquidateCollateral_reverts_onUnknownOrSettlementId() public {
        _collateralUnderwater();
        bytes4 sel = IKeelEngine.KeelUnknownEntry.selector;
        vm.expectRevert(abi.encodeWithSelector(sel, KIND_COLLATERAL, 0));
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), USDC_ID, 1);
        vm.expectRevert(abi.encodeWithSelector(sel, KIND_COLLATERAL, 9));
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), 9, 1);
    }

    function test_liquidateCollateral_reverts_onZeroOrExcessAmount() public {
        _collateralUnderwater();
        bytes4 sel = IKeelEngine.KeelInsufficientBalance.selector;
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), WETH_ID, 1e18, 2e18));
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 2e18);
        vm.expectRevert(abi.encodeWithSelector(sel, acct(alice), WETH_ID, 1e18, 0));
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0);
    }

    function test_liquidateCollateral_reverts_whenNotFlaggedOrForeignAccount() public {
        _deposit(alice, WETH_ID, 1e18);
        _state(acct(alice), ST_NOT_FLAGGED);
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, carol));
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(bob), WETH_ID, 1e18);
    }

    function test_liquidateCollateral_buysAtTheDiscount() public {
        _collateralUnderwater();
        vm.expectEmit(true, true, true, true, address(engine));
        emit IKeelEngine.CollateralLiquidated(acct(alice), acct(carol), WETH_ID, 0.5e18, 1_336.5e18);
        vm.prank(carol);
        int128 paid = engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0.5e18);
        assertEq(paid, 1_336.5e18, "0.5 x 2,700 less 1%");
        assertEq(engine.collateralBalance(acct(carol), WETH_ID), 0.5e18);
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 0.5e18);
        assertEq(engine.cashBalance(acct(alice)), -2_605e18 + 1_336.5e18);
        assertEq(engine.cashBalance(acct(carol)), 100_000e18 - 1_336.5e18);
        // MM-view equity 0.5 x 2,700 x 0.95 - 1,268.5 = 14 >= 0 (no MM).
        assertEq(engine.flaggedAt(acct(alice)), 0, "back above the buffer");
        assertEq(_totalHeld(WETH_ID), 1e18, "collateral moved between accounts, not out");
    }

    /// The whole balance of an account solvent at mark is not taken in one
    /// step (close factor, counted in WAD of the collateral).
    function test_liquidateCollateral_reverts_onStepAboveTheCloseFactor() public {
        _collateralUnderwater();
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelLiquidationStepTooLarge.selector, acct(alice), 1e18, 0.5e18)
        );
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 1e18);
    }

    /// Collateral sold per collateral per window is capped by the base cap
    /// (value at the oracle price; error code 255: a collateral window).
    function test_liquidateCollateral_reverts_overTheWindowCap() public {
        vm.prank(owner);
        engine.setLiquidationParams(5e18, 0.01e18, DISCOUNT_RATE, 0.1e18, 0.1e18, 3_600, 1_000e18, 0.5e18);
        _deposit(alice, WETH_ID, 2e18);
        _fund(bob, 10_000);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(5_200));
        _setEth(2_700e8);
        _flagAlice();
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0.3e18); // 810
        vm.expectRevert(
            abi.encodeWithSelector(
                IKeelEngine.KeelLiquidationCapExceeded.selector, uint8(255), int256(1_620e18), int256(1_000e18)
            )
        );
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0.3e18);
        _skip(3_600);
        vm.prank(carol);
        engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0.3e18);
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 1.4e18);
    }

    // ------------------------------------------------------------ settleBadDebt

    function test_settleBadDebt_reverts_whenNotBankrupt() public {
        _underwater();
        _state(acct(alice), ST_NOT_BANKRUPT); // has a position
        engine.settleBadDebt(acct(alice));
        _state(acct(bob), ST_NOT_BANKRUPT); // positive cash
        engine.settleBadDebt(acct(bob));
        // In debt but still holding collateral: not bankrupt either.
        _deposit(dave, WETH_ID, 1e18);
        vm.prank(dave);
        engine.withdraw(acct(dave), USDC_ID, usd(100));
        _state(acct(dave), ST_NOT_BANKRUPT);
        engine.settleBadDebt(acct(dave));
        // An empty account neither.
        _state(acct(makeAddr("nobody")), ST_NOT_BANKRUPT);
        engine.settleBadDebt(acct(makeAddr("nobody")));
    }

    address internal dave = makeAddr("dave");

    /// Alice goes bankrupt: ETH falls to 500 (equity -500, so the flag pays no
    /// reward), she is fully liquidated at 495 in one step (no close factor
    /// below zero), leaving cash 2,000 - 2,505 = -505.
    function _bankrupt() internal {
        _underwater();
        _setEth(500e8);
        _flagAlice();
        _liquidate(ETH_PERP, W);
        assertEq(engine.cashBalance(acct(alice)), -505e18);
        assertEq(engine.flaggedAt(acct(alice)), T0, "a negative account stays flagged");
    }

    function test_settleBadDebt_coversFromInsuranceThenSocialises() public {
        usdc.mint(dave, usd(200));
        vm.startPrank(dave);
        usdc.approve(address(engine), usd(200));
        engine.fundInsurance(usd(200));
        vm.stopPrank();
        _bankrupt();
        // Positive cash: Bob 100,000, Carol 100,000 plus the auction discount
        // she was paid in cash for liquidating (the keeper was paid nothing).
        int256 carolCash = engine.cashBalance(acct(carol));
        assertGt(carolCash, 100_000e18, "the liquidator was paid the discount in cash");
        assertEq(engine.cashBalance(acct(keeper)), 0);
        int256 positive = 100_000e18 + carolCash;
        int256 socialised = 305e18;
        int256 index = (int256(W) * (positive - socialised)) / positive;
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.BadDebtSettled(acct(alice), 505e18, 200e18, int128(socialised), int128(index));
        engine.settleBadDebt(acct(alice));
        assertEq(engine.cashBalance(acct(alice)), 0);
        assertEq(engine.flaggedAt(acct(alice)), 0);
        assertEq(engine.insuranceFund(), 0);
        assertEq(engine.lossIndex(), index);
        // Every positive balance lost the same fraction (rounded down).
        assertEq(engine.cashBalance(acct(bob)), (100_000e18 * index) / int256(W));
        assertEq(engine.cashBalance(acct(carol)), (carolCash * index) / int256(W));
        int256 lost = positive - engine.cashBalance(acct(bob)) - engine.cashBalance(acct(carol));
        assertGe(lost, socialised, "never less than the loss");
        // The index rounds down: at most 1 wei of index per 1e18 of positive cash, plus one wei per balance.
        assertLe(lost, socialised + positive / 1e18 + 3, "rounding favours the protocol by a few wei");
    }

    function test_settleBadDebt_usesOnlyTheFundWhenItSuffices() public {
        usdc.mint(dave, usd(1_000));
        vm.startPrank(dave);
        usdc.approve(address(engine), usd(1_000));
        engine.fundInsurance(usd(1_000));
        vm.stopPrank();
        _bankrupt();
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.BadDebtSettled(acct(alice), 505e18, 505e18, 0, W);
        engine.settleBadDebt(acct(alice));
        assertEq(engine.insuranceFund(), 495e18);
        assertEq(engine.lossIndex(), W);
        assertEq(engine.cashBalance(acct(bob)), 100_000e18);
        _state(acct(alice), ST_NOT_BANKRUPT);
        engine.settleBadDebt(acct(alice));
    }
}
