// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {ReentrantERC20} from "../mocks/ReentrantERC20.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineAttacksTest
/// @notice The attacks of issue 10's review, run on the real WASM as an
/// attacker would run them, one test per finding (1-7) and per item of
/// finding 8. Each test performs the whole attack with low-level calls (so an
/// accepted step does not stop it) and then asserts the protective property:
/// what must hold for honest users whatever the attacker tried (no honest
/// depositor loses, no solvent account is made insolvent, liquidation is
/// never frozen, ...), and that the step the fix forbids was refused with its
/// typed error.
///
/// Run against the programs built before the fixes with
/// `KEEL_STYLUS_DIR=target/stylus-before` (EngineBase then speaks the old
/// ABI): every test here fails there, on the property, except where noted in
/// its comment.
contract EngineAttacksTest is EngineBase {
    address internal dave = makeAddr("dave"); // an honest depositor
    address internal erin = makeAddr("erin");
    address internal mallory = makeAddr("mallory"); // the attacker
    address internal trent = makeAddr("trent"); // mallory's accomplice

    uint8 internal constant F_PRICE = 19;
    uint8 internal constant F_TOKEN = 23;
    uint8 internal constant F_MIN_NOTIONAL = 26;
    uint8 internal constant F_STRIKE_RANGE = 30;
    uint8 internal constant OR_NOT_FIRST_ROUND = 5;
    uint8 internal constant OR_TOO_LATE = 6;
    uint8 internal constant KIND_OPEN_INTEREST = 4;
    uint8 internal constant COLLATERAL_WINDOW = 255;

    function setUp() public override {
        super.setUp();
        _fund(dave, 10_000);
        _fund(carol, 100_000); // the honest liquidator
    }

    // ------------------------------------------------------------ helpers

    /// Low-level engine call as `who`: (status, return or revert data).
    function _as(address who, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(who);
        (ok, ret) = address(engine).call(data);
    }

    function _tryTrade(uint256 account, uint32 instrument, int128 size, int128 price)
        internal
        returns (bool ok, bytes memory ret)
    {
        return _as(desk, abi.encodeCall(IKeelEngine.reportTrade, (account, instrument, size, price, 0)));
    }

    function _tryFlag(address keeper_, uint256 account) internal returns (bool ok, bytes memory ret) {
        return _as(keeper_, abi.encodeCall(IKeelEngine.flag, (account)));
    }

    function _tryLiquidate(address who, uint256 account, uint256 liquidator, uint32 instrument, int128 size)
        internal
        returns (bool ok, bytes memory ret)
    {
        return _as(who, abi.encodeCall(IKeelEngine.liquidate, (account, liquidator, instrument, size)));
    }

    function _tryLiquidateCollateral(address who, uint256 account, uint256 liquidator, uint8 id, uint256 amount)
        internal
        returns (bool ok, bytes memory ret)
    {
        return _as(who, abi.encodeCall(IKeelEngine.liquidateCollateral, (account, liquidator, id, amount)));
    }

    function _tryWithdraw(address who, uint256 account, uint8 id, uint256 amount)
        internal
        returns (bool ok, bytes memory ret)
    {
        return _as(who, abi.encodeCall(IKeelEngine.withdraw, (account, id, amount)));
    }

    /// `who` approves and deposits `amount` of collateral `id` (minted to them)
    /// into `account`, with a low-level call.
    function _tryDeposit(address who, uint256 account, uint8 id, uint256 amount)
        internal
        returns (bool ok, bytes memory ret)
    {
        MockERC20 t = _token(id);
        t.mint(who, amount);
        vm.prank(who);
        t.approve(address(engine), amount);
        return _as(who, abi.encodeCall(IKeelEngine.deposit, (account, id, amount)));
    }

    function _sel(bytes memory ret) internal pure returns (bytes4 s) {
        if (ret.length >= 4) s = bytes4(ret);
    }

    /// Strips the selector of revert data.
    function _args(bytes memory ret) internal pure returns (bytes memory a) {
        a = new bytes(ret.length - 4);
        for (uint256 i = 0; i < a.length; i++) {
            a[i] = ret[i + 4];
        }
    }

    /// Sum of the positive cash balances of four accounts.
    function _positiveCash(uint256 a, uint256 b, uint256 c, uint256 d) internal view returns (int256 sum) {
        uint256[4] memory xs = [a, b, c, d];
        for (uint256 i = 0; i < 4; i++) {
            int128 v = engine.cashBalance(xs[i]);
            if (v > 0) sum += v;
        }
    }

    function _deficit() internal view returns (int128) {
        return legacy ? int128(0) : engine.protocolDeficit();
    }

    /// Carol liquidates `instrument` of `account` in the largest steps the
    /// engine allows (the whole position, else the close factor's maximum the
    /// engine reports), while the account is flagged and holds the position;
    /// after every step an account whose equity at mark was >= 0 must still
    /// be >= 0. Returns the number of steps.
    function _liquidateAll(uint256 account, uint32 instrument, uint256 maxSteps) internal returns (uint256 steps) {
        for (; steps < maxSteps; steps++) {
            int128 pos = _positionSize(account, instrument);
            if (pos == 0 || engine.flaggedAt(account) == 0) break;
            int128 before = _equity(account);
            (bool ok, bytes memory ret) = _tryLiquidate(carol, account, acct(carol), instrument, pos);
            if (!ok && _sel(ret) == IKeelEngine.KeelLiquidationStepTooLarge.selector) {
                (,, int256 max) = abi.decode(_args(ret), (uint256, int256, int256));
                int128 step = int128(max < 0 ? -max : max);
                assertLt(step, pos < 0 ? -pos : pos, "the step bound is below the position");
                (ok, ret) = _tryLiquidate(carol, account, acct(carol), instrument, pos < 0 ? -step : step);
            }
            assertTrue(ok, string.concat("a liquidation step was refused: ", vm.toString(ret)));
            if (before >= 0) assertGe(_equity(account), 0, "a liquidation step took a solvent account below zero");
        }
    }

    // ============================================================ finding 1 (critical)

    /// Two colluding accounts (2,000 USDC each) open 1 ETH long/short at 3,000
    /// on the example market, then close at a price of 1 wei: on the old code
    /// one ends at about -1,000, the other at about +5,000 and withdraws
    /// 4,998, and `settleBadDebt` socialises the 1,000 onto the honest
    /// depositor. The close must be refused (price outside the band around
    /// the engine's mark) and no honest depositor may lose anything.
    function test_attack1_offMarketCloseAtOneWei_isRefused_andNoHonestDepositorLoses() public {
        _fund(mallory, 2_000);
        _fund(trent, 2_000);
        _match(mallory, trent, ETH_PERP, W, 3_000e18); // mallory long, trent short

        // The close: mallory sells her long at 1 wei, trent buys it back.
        vm.prank(mallory);
        uint256 order = market.post(ETH_PERP, -W, 1);
        vm.prank(trent);
        (bool closed, bytes memory ret) = address(market).call(abi.encodeCall(market.fill, (order, acct(trent))));
        // What the colluders do next when it went through: trent withdraws
        // his profit, mallory's debt is socialised.
        if (closed) {
            _tryWithdraw(trent, acct(trent), USDC_ID, usd(4_998));
            engine.settleBadDebt(acct(mallory));
        }

        assertEq(engine.cashBalance(acct(dave)), 10_000e18, "an honest depositor paid for the colluders' close");
        assertEq(engine.lossIndex(), W, "a loss was socialised");
        assertGe(engine.cashBalance(acct(mallory)), 0, "an account was left below zero");
        assertFalse(closed, "a close at 1 wei was accepted");
        if (!legacy) {
            (,, int128 low, int128 high) = engine.priceBand(ETH_PERP);
            assertEq(
                ret,
                abi.encodeWithSelector(IKeelEngine.KeelParameterOutOfBounds.selector, F_PRICE, int256(1), low, high),
                "refused as a price outside the band"
            );
            assertEq(low, 1_500e18, "default band: the scan range (50% before any poke) around spot");
            assertEq(high, 4_500e18);
        }
        // Closing at the mark still works (trent buys back, mallory sells).
        _match(trent, mallory, ETH_PERP, W, 3_000e18);
        assertEq(_positionSize(acct(mallory), ETH_PERP), 0);
        assertEq(_positionSize(acct(trent), ETH_PERP), 0);
    }

    /// The same attack at a price inside the band. After a poke the scan range
    /// (and band) is ~12.6%; mallory opens 1 ETH long with 400 (IM ~377), ETH
    /// drifts to 2,720 (-9.3%, under the deviation guard), and the pair closes
    /// at 2,400, inside [2,378, 3,062]: mallory would realise -600 and end at
    /// -200 while trent pockets it. A trade after which an account holds
    /// neither IM nor (having been below IM) non-negative MM-view equity with
    /// health not falling must be refused.
    function test_attack1_inBandCloseLeavingAnAccountBelowZero_isRefused() public {
        engine.poke(ETH);
        _fund(mallory, 400);
        _fund(trent, 400);
        _match(mallory, trent, ETH_PERP, W, 3_000e18);
        _skip(60);
        _setEth(2_720e8);
        if (!legacy) {
            (,, int128 low, int128 high) = engine.priceBand(ETH_PERP);
            assertLe(low, 2_400e18, "2,400 is inside the band");
            assertGe(high, 2_400e18, "2,400 is inside the band");
        }
        Figures memory before = _figures(acct(mallory));
        // trent posts the buy-back at 2,400, mallory fills it.
        vm.prank(trent);
        uint256 order = market.post(ETH_PERP, W, 2_400e18);
        vm.prank(mallory);
        (bool closed, bytes memory ret) = address(market).call(abi.encodeCall(market.fill, (order, acct(mallory))));
        if (closed) {
            _tryWithdraw(trent, acct(trent), USDC_ID, usd(990));
            engine.settleBadDebt(acct(mallory));
        }

        assertEq(engine.cashBalance(acct(dave)), 10_000e18, "an honest depositor paid for the colluders' close");
        assertEq(engine.lossIndex(), W, "a loss was socialised");
        assertGe(engine.cashBalance(acct(mallory)), 0, "the close left mallory below zero");
        assertFalse(closed, "an in-band close that leaves an account below zero was accepted");
        assertEq(bytes4(ret), IKeelEngine.KeelInsufficientMargin.selector, "refused for margin");
        (uint256 who,,) = abi.decode(_args(ret), (uint256, int256, int256));
        assertEq(who, acct(mallory));
        // Nothing moved; mallory is still what she was (liquidatable, in fact).
        assertEq(_positionSize(acct(mallory), ETH_PERP), W);
        assertEq(_figures(acct(mallory)).equity, before.equity);
        // A close at the mark that she can afford is still possible.
        _match(trent, mallory, ETH_PERP, W, 2_720e18);
        assertEq(_positionSize(acct(mallory), ETH_PERP), 0);
        assertGe(engine.cashBalance(acct(mallory)), 0);
    }

    // ============================================================ finding 2 (high)

    /// Flag-reward farming with dust: after a poke (R ~12.6%) the farmer opens
    /// a hedged twin pair of 0.003 ETH perps in two of his sub-accounts with
    /// 1.2 USDC each, waits for a 6.7% move and flags the losing twin from his
    /// own account: on the old code it pays the full 5 USDC reward out of its
    /// 0.6 of equity and ends as bad debt, socialised onto honest depositors.
    /// Now the dust position is refused (minimum notional 10), and at the
    /// minimum size the reward is capped by the account's equity at mark: the
    /// farm ends with no bad debt.
    function test_attack2_dustFlagFarming_endsWithNoBadDebt() public {
        engine.poke(ETH);
        uint256 longTwin = acct(mallory, 1);
        uint256 shortTwin = acct(mallory, 2);
        _depositTo(mallory, longTwin, USDC_ID, 1_200_000); // 1.2 USDC
        _depositTo(mallory, shortTwin, USDC_ID, 1_200_000);
        int128 size = 0.003e18; // 9 of notional
        (bool dustOpened, bytes memory ret) = _tryTrade(longTwin, ETH_PERP, size, 3_000e18);
        if (dustOpened) {
            _trade(shortTwin, ETH_PERP, -size, 3_000e18);
        } else {
            assertEq(
                ret,
                abi.encodeWithSelector(
                    IKeelEngine.KeelParameterOutOfBounds.selector,
                    F_MIN_NOTIONAL,
                    int256(9e18),
                    int256(10e18),
                    MAX_PRICE
                ),
                "a dust position is refused for its notional"
            );
            // The smallest position allowed: 0.004 ETH (12 of notional), IM ~1.51.
            size = 0.004e18;
            _depositTo(mallory, longTwin, USDC_ID, 400_000);
            _depositTo(mallory, shortTwin, USDC_ID, 400_000);
            _trade(longTwin, ETH_PERP, size, 3_000e18);
            _trade(shortTwin, ETH_PERP, -size, 3_000e18);
        }
        _skip(60);
        _setEth(2_799e8); // -6.7%
        assertTrue(engine.isLiquidatable(longTwin));
        int128 equityBefore = _equity(longTwin);
        int128 keeperCash = engine.cashBalance(acct(mallory));
        (bool flagged,) = _tryFlag(mallory, longTwin);
        assertTrue(flagged, "the losing twin can be flagged");
        int128 reward = engine.cashBalance(acct(mallory)) - keeperCash;
        // The losing twin is liquidated and any debt settled.
        _liquidateAll(longTwin, ETH_PERP, 12);
        if (engine.cashBalance(longTwin) < 0 && _positionSize(longTwin, ETH_PERP) == 0) {
            engine.settleBadDebt(longTwin);
        }

        assertEq(engine.lossIndex(), W, "the farm left bad debt that was socialised");
        assertEq(engine.cashBalance(acct(dave)), 10_000e18, "an honest depositor paid the farmer's reward");
        assertEq(_deficit(), 0, "the farm left a protocol deficit");
        assertLe(
            reward, equityBefore > 0 ? equityBefore : int128(0), "the reward exceeded the account's equity at mark"
        );
        assertFalse(dustOpened, "a 9-notional dust position was opened");
        assertLt(reward, FLAG_REWARD, "the reward was capped");
    }

    // ============================================================ finding 3 (high)

    /// The finding's perp example: after a poke, Alice holds 1 ETH long from
    /// 3,000 with 400; at 2,800 her MM-view equity is 195 (after the 5 reward)
    /// against an MM of 246. On the old code one full-size step at the 10%
    /// cap is paid the released health (246) and leaves her at -51. The step
    /// must be limited by the close factor, and no step may take her below 0.
    function test_attack3_fullStepAtTheCap_cannotMakeASolventAccountInsolvent() public {
        engine.poke(ETH);
        _fund(alice, 400);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _skip(60);
        _setEth(2_800e8);
        vm.prank(keeper);
        engine.flag(acct(alice));
        Figures memory f = _figures(acct(alice));
        assertEq(f.equityMm, 195e18, "MM-view equity 195");
        assertApproxEqAbs(f.mm, 246e18, 1e18, "MM 246");
        assertEq(f.equity, 195e18, "equity at mark 195: solvent");
        _skip(20 minutes); // the auction is at its 10% cap
        (bool fullStep, bytes memory ret) = _tryLiquidate(carol, acct(alice), acct(carol), ETH_PERP, W);

        assertGe(_equity(acct(alice)), 0, "one liquidation step made a solvent account insolvent");
        assertFalse(fullStep, "a full-size step was accepted");
        assertEq(
            ret,
            abi.encodeWithSelector(
                IKeelEngine.KeelLiquidationStepTooLarge.selector, acct(alice), int256(W), int256(W / 2)
            ),
            "the step is bounded by the close factor (50%)"
        );
        // Steps within the bound go through and keep her at or above zero.
        uint256 steps = _liquidateAll(acct(alice), ETH_PERP, 12);
        assertGe(steps, 1);
        assertGe(_equity(acct(alice)), 0);
        assertGe(engine.cashBalance(acct(carol)), 100_000e18, "the liquidator was not out of pocket");
    }

    /// The finding's borrow-only example: 1 WETH at 2,700 against a 2,600 loan
    /// (MM = 0, MM-view equity -35, equity at mark 100 - 5 reward). On the old
    /// code it is bought whole at the 10% cap (2,430) and ends at -175. The
    /// step must be bounded by the close factor and the discount by the equity.
    function test_attack3_borrowOnlyAccount_isNotBoughtBelowZero() public {
        _deposit(alice, WETH_ID, 1e18);
        _fund(bob, 10_000); // liquidity to borrow
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(2_600));
        _setEth(2_700e8);
        Figures memory f = _figures(acct(alice));
        assertEq(f.mm, 0, "no positions: MM = 0");
        assertEq(f.equityMm, -35e18, "MM-view equity -35");
        vm.prank(keeper);
        engine.flag(acct(alice));
        assertGe(_equity(acct(alice)), 0, "solvent at mark");
        _skip(20 minutes);
        (bool wholeStep, bytes memory ret) = _tryLiquidateCollateral(carol, acct(alice), acct(carol), WETH_ID, 1e18);

        assertGe(_equity(acct(alice)), 0, "the liquidation made a solvent account insolvent");
        assertFalse(wholeStep, "the whole balance was taken in one step");
        assertEq(
            ret,
            abi.encodeWithSelector(
                IKeelEngine.KeelLiquidationStepTooLarge.selector, acct(alice), int256(1e18), int256(0.5e18)
            ),
            "collateral steps are bounded by the close factor too"
        );
        // Half the balance: the 10% discount (135) is capped by the equity (95).
        vm.prank(carol);
        int128 paid = engine.liquidateCollateral(acct(alice), acct(carol), WETH_ID, 0.5e18);
        assertGe(paid, 1_350e18 - 95e18, "the discount is capped by the account's equity at mark");
        assertGe(_equity(acct(alice)), 0);
        assertLt(paid, 1_350e18, "the liquidator still buys below the oracle price");
    }

    // ============================================================ finding 4 (medium)

    /// A loss greater than all positive cash. Bob (the counterparty) holds
    /// WETH, not cash; Alice (2,000) and Erin (2,650) are long 1 ETH from
    /// 3,000; ETH crashes to 300 and both are liquidated (close factor 1) by
    /// a liquidator holding WETH. Alice's deficit (~703) exceeds all positive
    /// cash (the liquidator's ~6 of discount): on the old code the loss index
    /// becomes 0 and the rest is dropped silently, and later losses (Erin's,
    /// after Dave deposits) are charged to nobody. The index must stay
    /// positive, the uncovered rest be recorded as protocol deficit (with an
    /// event), and a later loss still be charged.
    function test_attack4_lossAboveAllPositiveCash_keepsTheIndexPositiveAndRecordsTheDeficit() public {
        // No positive cash in the system but what the attack creates.
        vm.prank(dave);
        engine.withdraw(acct(dave), USDC_ID, usd(10_000));
        vm.prank(carol);
        engine.withdraw(acct(carol), USDC_ID, usd(100_000));
        _setCapAndCloseFactor(10_000_000e18, 1e18);
        address liq = makeAddr("liq");
        _deposit(bob, WETH_ID, 3e18);
        _deposit(liq, WETH_ID, 4e18);
        _fund(alice, 2_000);
        _fund(erin, 2_650);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _pair(erin, bob, ETH_PERP, W, 3_000e18);
        _setEth(300e8);
        for (uint256 i = 0; i < 2; i++) {
            uint256 a = acct(i == 0 ? alice : erin);
            vm.prank(keeper);
            engine.flag(a);
            vm.prank(liq);
            engine.liquidate(a, acct(liq), ETH_PERP, W);
        }
        int128 aliceDebt = -engine.cashBalance(acct(alice));
        assertGt(aliceDebt, 700e18);
        int256 positive = _positiveCash(acct(liq), acct(keeper), acct(erin), acct(bob));
        assertLt(positive, aliceDebt, "the loss exceeds all positive cash");

        vm.recordLogs();
        engine.settleBadDebt(acct(alice));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        int128 deficit = _deficit();
        assertGt(engine.lossIndex(), 0, "the loss index reached zero");
        int256 charged = positive - _positiveCash(acct(liq), acct(keeper), acct(erin), acct(bob));
        assertApproxEqAbs(charged + deficit, aliceDebt, 10, "every wei of the loss is charged or recorded");
        assertGt(deficit, 0, "the uncovered loss was dropped");
        bool emitted;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(engine) && logs[i].topics[0] == IKeelEngine.DeficitChanged.selector) {
                (int128 delta, int128 total) = abi.decode(logs[i].data, (int128, int128));
                assertEq(delta, deficit, "DeficitChanged.delta");
                assertEq(total, deficit, "DeficitChanged.deficit");
                emitted = true;
            }
        }
        assertTrue(emitted, "DeficitChanged was not emitted");

        // A later loss is still charged: Dave deposits, Erin's debt is settled.
        _fund(dave, 1_000);
        int128 erinDebt = -engine.cashBalance(acct(erin));
        assertGt(erinDebt, 0);
        engine.settleBadDebt(acct(erin));
        int128 daveLost = 1_000e18 - engine.cashBalance(acct(dave));
        assertGt(daveLost, 0, "a later loss was charged to nobody");
        assertApproxEqAbs(daveLost + (_deficit() - deficit), erinDebt, 1e9, "the later loss is charged or recorded");
        assertGt(engine.lossIndex(), 0);
        // Funding the insurance repays the deficit first.
        if (!legacy) {
            int128 d = engine.protocolDeficit();
            usdc.mint(dave, usd(100));
            vm.startPrank(dave);
            usdc.approve(address(engine), usd(100));
            engine.fundInsurance(usd(100));
            vm.stopPrank();
            assertEq(engine.protocolDeficit(), d > 100e18 ? d - 100e18 : int128(0), "insurance repays the deficit");
        }
    }

    // ============================================================ finding 5 (medium)

    /// Alice: perp only (long 1 ETH from 3,000, 2,000 cash). Erin: an option
    /// account (long 1 ETH perp, short 0.1 call, 2,000 cash). Dave: a healthy
    /// option account (long 1 call). ETH falls to 1,400: Alice and Erin are
    /// below MM whatever the vol.
    function _crisisBooks() internal {
        _fund(alice, 2_000);
        _fund(erin, 2_000);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _pair(erin, bob, ETH_PERP, W, 3_000e18);
        _pair(bob, erin, ETH_CALL, W / 10, 275e18);
        _pair(dave, bob, ETH_CALL, W, 275e18);
        _setEth(1_400e8);
    }

    /// The implied-vol feed answers 350% while the smile's maximum is 300%: on
    /// the old code every margin check of an ETH account reverts (perp-only
    /// included), so flag, liquidate and withdraw are frozen in the crisis
    /// they exist for. The vol must be clamped and everything keep working.
    function test_attack5_volFeedAboveItsBound_doesNotFreezeFlagLiquidateOrWithdraw() public {
        _crisisBooks();
        _setEthVol(3.5e8);
        if (!legacy) {
            (int128 vol, uint8 source) = engine.impliedVol(ETH);
            assertEq(vol, 3e18, "clamped to the smile's maximum");
            assertEq(source, 2, "source: feed, clamped");
        }
        (bool ok, bytes memory ret) = _tryFlag(keeper, acct(alice));
        assertTrue(ok, string.concat("flag of a perp-only account: ", vm.toString(ret)));
        (ok, ret) = _tryFlag(keeper, acct(erin));
        assertTrue(ok, string.concat("flag of an option account: ", vm.toString(ret)));
        (ok, ret) = _tryLiquidate(carol, acct(alice), acct(carol), ETH_PERP, W / 2);
        assertTrue(ok, string.concat("liquidation of a perp-only account: ", vm.toString(ret)));
        (ok, ret) = _tryLiquidate(carol, acct(erin), acct(carol), ETH_PERP, W / 2);
        assertTrue(ok, string.concat("liquidation of an option account: ", vm.toString(ret)));
        (ok, ret) = _tryWithdraw(carol, acct(carol), USDC_ID, usd(1_000));
        assertTrue(ok, string.concat("withdrawal from a perp-only account: ", vm.toString(ret)));
        (ok, ret) = _tryWithdraw(dave, acct(dave), USDC_ID, usd(1_000));
        assertTrue(ok, string.concat("withdrawal from an option account: ", vm.toString(ret)));
        if (!legacy) {
            vm.expectEmit(true, false, false, true, address(engine));
            emit IKeelEngine.VolClamped(ETH, 3.5e18, 3e18);
            engine.poke(ETH);
        }
    }

    /// The vol feed goes stale (its own heartbeat is the spot feed's, 1 h): on
    /// the old code margin reverts for every ETH account. It must fall back
    /// to the stored ATM vol plus the confidence add-on (source 3), so option
    /// accounts are margined more conservatively, not frozen, and liquidation
    /// of an account below MM still works.
    function test_attack5_staleVolFeed_fallsBackAndLiquidationWorks() public {
        _crisisBooks();
        int128 freshIm = _margin(acct(dave)).im;
        ethVolFeed.pushAt(ethVol8, block.timestamp - 3_601, block.timestamp - 3_601);
        if (!legacy) {
            (int128 vol, uint8 source) = engine.impliedVol(ETH);
            assertEq(vol, 0.8e18, "the smile's stored ATM vol");
            assertEq(source, 3, "source: fallback");
        }
        (bool ok, bytes memory ret) =
            address(engine).staticcall(abi.encodeCall(IKeelEngine.accountMargin, (acct(dave))));
        assertTrue(ok, string.concat("margin of an option account under a stale vol feed: ", vm.toString(ret)));
        (,, int128 staleIm,) = abi.decode(ret, (int128, int128, int128, int128));
        assertGt(staleIm, freshIm, "the fallback charges the confidence add-on");
        (ok, ret) = _tryFlag(keeper, acct(erin));
        assertTrue(ok, string.concat("flag under a stale vol feed: ", vm.toString(ret)));
        (ok, ret) = _tryLiquidate(carol, acct(erin), acct(carol), ETH_PERP, W / 2);
        assertTrue(ok, string.concat("liquidation under a stale vol feed: ", vm.toString(ret)));
        (ok, ret) = _tryFlag(keeper, acct(alice));
        assertTrue(ok, string.concat("flag of a perp-only account under a stale vol feed: ", vm.toString(ret)));
        // The vol feed has its own heartbeat: at 2 h the same round is fresh again.
        if (!legacy) {
            vm.prank(owner);
            engine.setUnderlyingLimits(ETH, 7_200, 0, 0);
            (int128 vol, uint8 source) = engine.impliedVol(ETH);
            assertEq(vol, 0.8e18);
            assertEq(source, 1, "source: feed");
        }
    }

    /// The vol feed reverts: a perp-only account never reads it (its margin,
    /// trades and withdrawals work); an option account falls back.
    function test_attack5_revertingVolFeed_isNotReadForPerpOnlyAccounts() public {
        _fund(alice, 10_000);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _pair(dave, bob, ETH_CALL, W, 275e18);
        vm.mockCallRevert(
            address(ethVolFeed), abi.encodeWithSelector(MockAggregator.latestRoundData.selector), bytes("vol feed down")
        );
        (bool ok, bytes memory ret) =
            address(engine).staticcall(abi.encodeCall(IKeelEngine.accountMargin, (acct(alice))));
        assertTrue(ok, string.concat("margin of a perp-only account read the vol feed: ", vm.toString(ret)));
        (ok, ret) = _tryTrade(acct(alice), ETH_PERP, W / 2, 3_000e18);
        assertTrue(ok, string.concat("trade of a perp-only account: ", vm.toString(ret)));
        (ok, ret) = _tryWithdraw(alice, acct(alice), USDC_ID, usd(1_000));
        assertTrue(ok, string.concat("withdrawal of a perp-only account: ", vm.toString(ret)));
        (ok, ret) = address(engine).staticcall(abi.encodeCall(IKeelEngine.accountMargin, (acct(dave))));
        assertTrue(ok, string.concat("margin of an option account with the vol feed down: ", vm.toString(ret)));
        if (!legacy) {
            (, uint8 source) = engine.impliedVol(ETH);
            assertEq(source, 3, "fallback");
        }
    }

    // ============================================================ finding 6 (medium)

    /// A short put K = 3,000 written at spot 3,000; ETH falls to 550 (K/F =
    /// 5.45, outside Black-76's domain). Margin values it with no-arbitrage
    /// bounds, so the account is flaggable, but on the old code `liquidate`
    /// reverts (the mark is a domain error) and the position, and with it
    /// `settleBadDebt`, are stuck until expiry. It must be liquidatable.
    function test_attack6_deepOutOfDomainShortPut_canBeLiquidated() public {
        _fund(erin, 2_000);
        _fund(bob, 100_000);
        _pair(bob, erin, ETH_PUT, W, 300e18); // erin writes the put
        _setEth(550e8);
        assertTrue(engine.isLiquidatable(acct(erin)), "flaggable");
        vm.prank(keeper);
        engine.flag(acct(erin));
        (bool ok, bytes memory ret) = _tryLiquidate(carol, acct(erin), acct(carol), ETH_PUT, -W / 2);
        assertTrue(ok, string.concat("liquidation of a deep out-of-domain short put: ", vm.toString(ret)));
        assertEq(_positionSize(acct(erin), ETH_PUT), -W / 2);
        assertEq(_positionSize(acct(carol), ETH_PUT), -W / 2);
        if (!legacy) {
            (int128 mark,,,) = engine.priceBand(ETH_PUT);
            assertGe(mark, 2_450e18, "the mark is at least the intrinsic value");
            assertLe(mark, 3_000e18, "and at most the strike");
        }
        // The rest goes too, and the deficit can then be settled.
        _liquidateAll(acct(erin), ETH_PUT, 12);
        assertEq(_positionSize(acct(erin), ETH_PUT), 0, "the position was fully liquidated");
        assertLt(engine.cashBalance(acct(erin)), 0);
        engine.settleBadDebt(acct(erin));
        assertEq(engine.cashBalance(acct(erin)), 0);
    }

    /// Listing strikes far from spot (where the mark would leave the model's
    /// domain) is refused: the range is [spot / 5, 5 x spot].
    function test_attack6_listingAStrikeOutsideTheModelDomain_isRefused() public {
        (bool ok, bytes memory ret) =
            _as(owner, abi.encodeCall(IKeelEngine.listInstrument, (ETH, 2, int128(16_000e18), EXPIRY)));
        assertFalse(ok, "a strike of 5.3 x spot was listed");
        assertEq(
            ret,
            abi.encodeWithSelector(
                IKeelEngine.KeelParameterOutOfBounds.selector,
                F_STRIKE_RANGE,
                int256(16_000e18),
                int256(600e18),
                int256(15_000e18)
            )
        );
        (ok,) = _as(owner, abi.encodeCall(IKeelEngine.listInstrument, (ETH, 1, int128(500e18), EXPIRY)));
        assertFalse(ok, "a strike of spot / 6 was listed");
        (,, uint32 n) = engine.registryCounts();
        assertEq(n, 4, "nothing listed");
    }

    // ============================================================ finding 7 (medium)

    /// Whoever records the settlement price picks it: on the old code the
    /// latest round at call time is taken. ETH settles at 3,100 in the first
    /// round after expiry; a later round says 3,500 (good for call holders).
    /// A round that is not the first after expiry must be refused; the first
    /// round is accepted. A first round later than the settlement delay
    /// (BTC, 2 h after expiry) is refused too.
    function test_attack7_settlementPrice_isTheFirstRoundAfterExpiry() public {
        vm.warp(EXPIRY - 10);
        ethFeed.push(3_000e8);
        btcFeed.push(60_000e8);
        vm.warp(EXPIRY + 5);
        uint80 first = ethFeed.push(3_100e8);
        vm.warp(EXPIRY + 600);
        uint80 later = ethFeed.push(3_500e8);
        vm.warp(EXPIRY + 2 hours);
        uint80 btcLate = btcFeed.push(65_000e8);
        vm.warp(EXPIRY + 2 hours + 10);
        ethFeed.push(3_500e8);

        (bool ok, bytes memory ret) = _tryRecordSettlement(mallory, ETH, EXPIRY, later);
        int128 recorded = engine.settlementPrice(ETH, EXPIRY);
        assertTrue(recorded == 0 || recorded == 3_100e18, "the caller picked the settlement price");
        assertFalse(ok, "a round that is not the first after expiry was accepted");
        assertEq(bytes4(ret), IKeelEngine.KeelOracleInvalid.selector);
        (address feed, uint8 reason,) = abi.decode(_args(ret), (address, uint8, uint256));
        assertEq(feed, address(ethFeed));
        assertEq(reason, OR_NOT_FIRST_ROUND);

        (ok, ret) = _tryRecordSettlement(mallory, BTC, EXPIRY, btcLate);
        assertFalse(ok, "a first round beyond the settlement delay was accepted");
        (feed, reason,) = abi.decode(_args(ret), (address, uint8, uint256));
        assertEq(feed, address(btcFeed));
        assertEq(reason, OR_TOO_LATE);

        (ok, ret) = _tryRecordSettlement(keeper, ETH, EXPIRY, first);
        assertTrue(ok, string.concat("the first round was refused: ", vm.toString(ret)));
        assertEq(engine.settlementPrice(ETH, EXPIRY), 3_100e18);
    }

    // ============================================================ finding 8 (low)

    /// Anyone could deposit 1 wei of any collateral into any account, which
    /// adds feed reads to the victim's margin and blocks `settleBadDebt` (a
    /// bankrupt account must hold no collateral). Non-settlement collateral
    /// may now only be deposited by the owner; settlement cash by anyone.
    function test_attack8_foreignCollateralDeposit_isRefused_settlementCashStillAllowed() public {
        _setCapAndCloseFactor(10_000_000e18, 1e18);
        _underwater(); // alice long 1 ETH from 3,000 with 2,000
        _setEth(500e8);
        vm.prank(keeper);
        engine.flag(acct(alice));
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PERP, W);
        assertLt(engine.cashBalance(acct(alice)), 0, "alice is bankrupt");
        // Mallory griefs: 1 wei of WETH into alice's account.
        (bool ok, bytes memory ret) = _tryDeposit(mallory, acct(alice), WETH_ID, 1);
        (bool settled, bytes memory why) =
            address(engine).call(abi.encodeCall(IKeelEngine.settleBadDebt, (acct(alice))));
        assertTrue(settled, string.concat("settleBadDebt was blocked by a foreign deposit: ", vm.toString(why)));
        assertFalse(ok, "a foreign collateral deposit was accepted");
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, mallory));
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 0);
        // Settlement cash may still be deposited into any account (e.g. to top it up).
        (ok, ret) = _tryDeposit(mallory, acct(alice), USDC_ID, usd(10));
        assertTrue(ok, string.concat("a settlement-cash deposit into a foreign account: ", vm.toString(ret)));
        assertEq(engine.cashBalance(acct(alice)), 10e18);
    }

    /// A liquidator using a sub-account of the account's own owner: on the
    /// old code only `liquidator == account` was refused, so an owner could
    /// liquidate themselves (consuming the anti-cascade window cap and paying
    /// the discount to themselves). The liquidator must have a different owner.
    function test_attack8_selfLiquidationThroughASubAccount_isRefused() public {
        _underwater();
        _depositTo(alice, acct(alice, 1), USDC_ID, usd(100_000));
        vm.prank(keeper);
        engine.flag(acct(alice));
        (bool ok, bytes memory ret) = _tryLiquidate(alice, acct(alice), acct(alice, 1), ETH_PERP, W / 2);
        assertEq(_positionSize(acct(alice), ETH_PERP), W, "the owner liquidated their own account");
        assertFalse(ok, "self-liquidation through a sub-account was accepted");
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, alice));
        // An independent liquidator can.
        (ok, ret) = _tryLiquidate(carol, acct(alice), acct(carol), ETH_PERP, W / 2);
        assertTrue(ok, vm.toString(ret));
    }

    /// `liquidateCollateral` had no anti-cascade window cap: a calm-market
    /// burst (e.g. a manipulated collateral print) could sell any amount of
    /// collateral in one window. A per-collateral cap (the base cap, value at
    /// the oracle price) now applies, and resets with the window.
    function test_attack8_liquidateCollateral_hasAWindowCap() public {
        int128 baseCap = 1_000e18;
        _setCapAndCloseFactor(baseCap, 0.5e18);
        _deposit(alice, WETH_ID, 10e18); // 30,000
        _fund(bob, 100_000);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(26_000));
        _setEth(2_700e8); // MM-view 25,650 - 26,000 < 0
        vm.prank(keeper);
        engine.flag(acct(alice));
        uint256 sold;
        bool capped;
        bytes memory ret;
        for (uint256 i = 0; i < 6 && !capped; i++) {
            bool ok;
            (ok, ret) = _tryLiquidateCollateral(carol, acct(alice), acct(carol), WETH_ID, 1e18);
            if (ok) sold += 1e18;
            else capped = true;
        }
        // Value sold in the window (at 2,700) within the cap (scaled at most 4x).
        assertLe(int256(sold / 1e18) * 2_700e18, 4 * int256(baseCap), "collateral sold beyond any window cap");
        assertTrue(capped, "no window cap on collateral liquidation");
        assertEq(bytes4(ret), IKeelEngine.KeelLiquidationCapExceeded.selector);
        (uint8 which, int256 notional, int256 cap) = abi.decode(_args(ret), (uint8, int256, int256));
        assertEq(which, COLLATERAL_WINDOW, "the collateral window (255)");
        assertGt(notional, cap);
        // The next window has a fresh cap.
        _skip(3_600);
        (bool ok2, bytes memory ret2) = _tryLiquidateCollateral(carol, acct(alice), acct(carol), WETH_ID, 0.3e18);
        assertTrue(ok2, vm.toString(ret2));
    }

    /// A balance beyond the engine's amount bound (1e33 WAD) made every margin
    /// computation of the account fail (a frozen account). Deposits that would
    /// take a balance beyond it are refused.
    function test_attack8_depositAboveTheAmountBound_isRefused() public {
        uint256 half = 6e20; // 6e20 USDC units = 6e32 WAD: fine alone, 1.2e33 together
        (bool ok, bytes memory ret) = _tryDeposit(mallory, acct(mallory), USDC_ID, half);
        assertTrue(ok, vm.toString(ret));
        (ok, ret) = _tryDeposit(mallory, acct(mallory), USDC_ID, half);
        (bool marginOk,) = address(engine).staticcall(abi.encodeCall(IKeelEngine.accountMargin, (acct(mallory))));
        assertTrue(marginOk, "the account's margin froze");
        assertFalse(ok, "a balance beyond the amount bound was accepted");
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        // The same for a collateral balance (a token with an unlimited cap).
        MockERC20 big = new MockERC20("Big", "BIG", 18);
        vm.prank(owner);
        engine.setCollateral(3, address(big), address(ethFeed), 3_600, 0.1e18, 0.05e18, type(uint256).max);
        big.mint(mallory, uint256(int256(MAX_PRICE)) + 1);
        vm.startPrank(mallory);
        big.approve(address(engine), type(uint256).max);
        (ok, ret) = address(engine)
            .call(abi.encodeCall(IKeelEngine.deposit, (acct(mallory), 3, uint256(int256(MAX_PRICE)) + 1)));
        vm.stopPrank();
        assertFalse(ok, "a collateral balance beyond the amount bound was accepted");
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        assertEq(big.balanceOf(mallory), uint256(int256(MAX_PRICE)) + 1, "nothing was pulled");
    }

    /// Listing the same token under two ids (its balances would be counted
    /// twice against one token balance) is refused.
    function test_attack8_sameTokenListedTwice_isRefused() public {
        (bool ok, bytes memory ret) = _as(
            owner,
            abi.encodeCall(
                IKeelEngine.setCollateral, (3, address(weth), address(ethFeed), 3_600, 0.1e18, 0.05e18, 1_000e18)
            )
        );
        (uint8 n,,) = engine.registryCounts();
        assertEq(n, 3, "the token was listed twice");
        assertFalse(ok);
        assertEq(
            ret,
            abi.encodeWithSelector(
                IKeelEngine.KeelParameterOutOfBounds.selector, F_TOKEN, int256(uint256(WETH_ID)), int256(0), int256(0)
            )
        );
    }

    /// Open interest (the long side) per instrument is capped: a trade adding
    /// risk beyond the cap is refused; reducing trades always go through.
    /// (The old code had no cap: `setInstrumentLimits` did not exist.)
    function test_attack8_openInterestCap_isEnforced() public {
        vm.prank(owner);
        engine.setInstrumentLimits(ETH_PERP, 10e18, 2e18);
        _fund(alice, 10_000);
        _fund(bob, 10_000);
        _fund(erin, 10_000);
        _pair(alice, bob, ETH_PERP, 1.5e18, 3_000e18);
        (,, int128 oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(oi, 1.5e18);
        // Carol buys 1 from Erin on the market: OI would be 2.5.
        vm.prank(carol);
        uint256 order = market.post(ETH_PERP, W, 3_000e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, KIND_OPEN_INTEREST, 2e18));
        vm.prank(erin);
        market.fill(order, acct(erin));
        (,, oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(oi, 1.5e18, "nothing booked");
        // Up to the cap is fine; a reduction lowers the open interest.
        _pair(carol, erin, ETH_PERP, 0.5e18, 3_000e18);
        (,, oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(oi, 2e18);
        _pair(bob, alice, ETH_PERP, W, 3_000e18); // alice sells 1 back to bob (both reduce)
        (,, oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(oi, 1e18);
    }

    /// Documented choice: a flag does not clear by itself when a deposit
    /// restores the account; `unflag` is permissionless once MM-view equity
    /// is back at MM x (1 + buffer), and liquidation is refused meanwhile.
    /// (Same behaviour on the old code: this test passes there.)
    function test_attack8_flagStaysAfterADeposit_untilUnflag() public {
        _underwater();
        vm.prank(keeper);
        engine.flag(acct(alice));
        _fund(alice, 2_000);
        assertEq(engine.flaggedAt(acct(alice)), T0, "a deposit does not clear the flag");
        (bool ok, bytes memory ret) = _tryLiquidate(carol, acct(alice), acct(carol), ETH_PERP, W / 2);
        assertFalse(ok, "a restored account was liquidated");
        assertEq(
            ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(alice), ST_ABOVE_BUFFER)
        );
        vm.prank(mallory); // anyone
        engine.unflag(acct(alice));
        assertEq(engine.flaggedAt(acct(alice)), 0);
    }

    /// A malicious collateral token calls back into the engine from inside
    /// `transferFrom` (a second deposit, which the balance-difference
    /// accounting of the outer deposit would count twice) and inside
    /// `transfer` (a second withdrawal). The reentrant call must be refused
    /// (`KeelReentrantCall`, or the call fails) and change nothing.
    /// (The old code refused it too, through the SDK's guard, with empty
    /// revert data: this test passes there.)
    function test_attack8_reentrantToken_isRefused_andChangesNothing() public {
        ReentrantERC20 evil = new ReentrantERC20();
        vm.prank(owner);
        engine.setCollateral(3, address(evil), address(ethFeed), 3_600, 0.1e18, 0.05e18, type(uint256).max);
        uint256 self = acct(address(evil));
        uint256 x = 1e18;
        evil.mint(address(evil), 2 * x);
        evil.execute(address(evil), abi.encodeCall(evil.approve, (address(engine), type(uint256).max)));

        evil.arm(address(engine), abi.encodeCall(IKeelEngine.deposit, (self, 3, x)));
        evil.execute(address(engine), abi.encodeCall(IKeelEngine.deposit, (self, 3, x)));
        assertTrue(evil.reentered(), "the token was called while armed");
        assertFalse(evil.reentryOk(), "a reentrant deposit went through");
        bytes memory why = evil.reentryRet();
        assertTrue(
            why.length == 0 || bytes4(why) == IKeelEngine.KeelReentrantCall.selector,
            string.concat("refused with KeelReentrantCall: ", vm.toString(why))
        );
        assertEq(engine.collateralBalance(self, 3), x, "credited once");
        assertEq(_totalHeld(3), x);
        assertEq(evil.balanceOf(address(engine)), x, "tokens held = collateral credited");

        evil.arm(address(engine), abi.encodeCall(IKeelEngine.withdraw, (self, 3, x)));
        evil.execute(address(engine), abi.encodeCall(IKeelEngine.withdraw, (self, 3, x)));
        assertTrue(evil.reentered());
        assertFalse(evil.reentryOk(), "a reentrant withdrawal went through");
        why = evil.reentryRet();
        assertTrue(why.length == 0 || bytes4(why) == IKeelEngine.KeelReentrantCall.selector, vm.toString(why));
        assertEq(engine.collateralBalance(self, 3), 0);
        assertEq(_totalHeld(3), 0);
        assertEq(evil.balanceOf(address(engine)), 0);
        assertEq(evil.balanceOf(address(evil)), 2 * x, "withdrawn once");
    }
}
