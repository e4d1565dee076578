// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MockAggregator} from "../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineOracleTest
/// @notice Unit tests of the oracle reads (every `KeelOracleInvalid` reason, the
/// sequencer-uptime feed and its grace period, the implied-vol feed) and of
/// `poke` (EWMA scan range, rate limit, deviation guard).
contract EngineOracleTest is EngineBase {
    function setUp() public override {
        super.setUp();
        _fund(alice, 10_000);
        _fund(bob, 100_000);
    }

    function _oracle(address feed, uint8 reason, uint256 updatedAt) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, feed, reason, updatedAt));
    }

    // ------------------------------------------------------------ price feeds

    function test_reportTrade_reverts_onStalePrice() public {
        ethFeed.pushAt(3_000e8, T0 - 3_601, T0 - 3_601);
        _oracle(address(ethFeed), OR_STALE, T0 - 3_601);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        // Exactly one heartbeat old is still fresh.
        ethFeed.pushAt(3_000e8, T0 - 3_600, T0 - 3_600);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    function test_reportTrade_reverts_onNonPositivePrice() public {
        ethFeed.push(0);
        _oracle(address(ethFeed), OR_NON_POSITIVE, T0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        ethFeed.push(-1);
        _oracle(address(ethFeed), OR_NON_POSITIVE, T0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    function test_reportTrade_reverts_onIncompleteRound() public {
        ethFeed.pushIncomplete(3_000e8);
        _oracle(address(ethFeed), OR_INCOMPLETE, T0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        ethFeed.pushAt(3_000e8, T0, 0);
        _oracle(address(ethFeed), OR_INCOMPLETE, 0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    function test_reportTrade_reverts_whenFeedCallFails() public {
        MockAggregator empty = new MockAggregator(8, "no rounds"); // latestRoundData reverts
        vm.prank(owner);
        engine.setUnderlying(ETH, address(empty), address(ethVolFeed), 3_600, 0.1e18, 600, 0.05e18);
        _oracle(address(empty), OR_CALL_FAILED, 0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    /// A stale vol feed does not block margin (it used to revert): the smile's
    /// stored ATM vol is used with the oracle-confidence add-on (source 3).
    function test_accountMargin_fallsBackOnStaleVolFeed() public {
        _trade(acct(alice), ETH_CALL, -W, 150e18);
        int128 fresh = _margin(acct(alice)).im;
        ethVolFeed.pushAt(0.8e8, T0 - 4_000, T0 - 4_000);
        (int128 vol, uint8 source) = engine.impliedVol(ETH);
        assertEq(vol, 0.8e18, "the smile's stored ATM vol");
        assertEq(source, 3, "fallback");
        assertGt(_margin(acct(alice)).im, fresh, "plus the oracle-confidence add-on");
    }

    /// `impliedVol`: 0 = no feed (the smile's ATM vol), 1 = the feed, 2 = the
    /// feed clamped into the smile's [minVol, maxVol] (10%, 300%), 3 = fallback.
    function test_impliedVol_reportsItsSource() public {
        (int128 vol, uint8 source) = engine.impliedVol(BTC);
        assertEq(vol, 0.8e18);
        assertEq(source, 0, "no vol feed");
        (vol, source) = engine.impliedVol(ETH);
        assertEq(vol, 0.8e18);
        assertEq(source, 1, "the feed");
        _setEthVol(3.5e8);
        (vol, source) = engine.impliedVol(ETH);
        assertEq(vol, 3e18, "clamped to the maximum");
        assertEq(source, 2);
        _setEthVol(0.05e8);
        (vol, source) = engine.impliedVol(ETH);
        assertEq(vol, 0.1e18, "clamped to the minimum");
        assertEq(source, 2);
        // poke reports a clamped answer.
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.VolClamped(ETH, 0.05e18, 0.1e18);
        engine.poke(ETH);
        // The vol feed has its own heartbeat (0 = the spot feed's, 1 h).
        ethVolFeed.pushAt(0.9e8, T0 - 5_000, T0 - 5_000);
        (, source) = engine.impliedVol(ETH);
        assertEq(source, 3, "stale after 1 h");
        vm.prank(owner);
        engine.setUnderlyingLimits(ETH, 7_200, 0, 0);
        (vol, source) = engine.impliedVol(ETH);
        assertEq(vol, 0.9e18);
        assertEq(source, 1, "fresh within its own 2 h heartbeat");
    }

    function test_accountMargin_reverts_onStaleCollateralFeed() public {
        _deposit(carol, WBTC_ID, 1e8);
        _trade(acct(carol), ETH_PERP, W, 3_000e18);
        btcFeed.pushAt(60_000e8, T0 - 7_200, T0 - 7_200);
        _oracle(address(btcFeed), OR_STALE, T0 - 7_200);
        engine.accountMargin(acct(carol));
    }

    function test_staleFeed_onlyAffectsAccountsThatUseIt() public {
        _trade(acct(alice), BTC_PERP, W / 10, 60_000e18);
        _trade(acct(bob), ETH_PERP, W, 3_000e18);
        btcFeed.pushAt(60_000e8, T0 - 7_200, T0 - 7_200);
        _oracle(address(btcFeed), OR_STALE, T0 - 7_200);
        engine.accountMargin(acct(alice));
        // Bob's ETH book is unaffected: he can still trade and withdraw excess.
        _trade(acct(bob), ETH_PERP, W, 3_000e18);
        vm.prank(bob);
        engine.withdraw(acct(bob), USDC_ID, usd(1_000));
        assertEq(engine.cashBalance(acct(bob)), 99_000e18);
    }

    function test_volFeed_setsTheAtmVolOfOptions() public {
        _trade(acct(alice), ETH_CALL, -W, 150e18);
        int128 low = _margin(acct(alice)).im;
        _setEthVol(2e8); // 200%
        int128 high = _margin(acct(alice)).im;
        assertGt(high, low, "a short call needs more margin at a higher implied vol");
        // Removing the vol feed falls back to the smile's ATM vol (80%).
        vm.prank(owner);
        engine.setUnderlying(ETH, address(ethFeed), address(0), 3_600, 0.1e18, 600, 0.05e18);
        assertEq(_margin(acct(alice)).im, low);
    }

    // ------------------------------------------------------------ sequencer

    function test_reportTrade_reverts_whenSequencerDown() public {
        sequencerFeed.pushAt(1, T0 - 100, T0 - 100);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, T0 - 100));
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    function test_reportTrade_reverts_duringSequencerGracePeriod() public {
        // Back up 100 s ago; the grace period is 3,600 s.
        sequencerFeed.pushAt(0, T0 - 100, T0 - 100);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, T0 - 100));
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        _warp(T0 - 100 + 3_600);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), W);
    }

    function test_reportTrade_reverts_whenSequencerStartedAtIsZero() public {
        sequencerFeed.pushAt(0, 0, T0);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, 0));
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
    }

    function test_setSequencer_graceIsConfigurable() public {
        sequencerFeed.pushAt(0, T0 - 100, T0 - 100);
        vm.prank(owner);
        engine.setSequencer(address(sequencerFeed), 60);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), W);
    }

    // ------------------------------------------------------------ poke

    function test_poke_initialisesTheScanRangeFromImpliedVol() public {
        vm.expectEmit(true, false, false, false, address(engine));
        emit IKeelEngine.Poked(ETH, 3_000e18, 0, 0, false); // data not checked: the EWMA numbers below
        engine.poke(ETH);
        (,, int128 last, int128 variance, int128 range, uint64 poked, uint64 guardUntil) = engine.underlying(ETH);
        assertEq(last, 3_000e18);
        assertEq(poked, T0);
        assertEq(guardUntil, 0);
        // 80% a year: 0.64 / 31,536,000 per second; R = 3 sigma over one day = 12.56%.
        assertApproxEqAbs(variance, int128(0.64e18) / 31_536_000, 1);
        assertApproxEqRel(range, 0.1256e18, 0.002e18);
        // The lower range lowers IM of a perp (was 50% of notional).
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        assertEq(_margin(acct(alice)).im, int128(3_000) * range);
    }

    function test_poke_reverts_whenTooSoon() public {
        engine.poke(ETH);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelPokeTooSoon.selector, ETH, uint64(T0 + 60)));
        engine.poke(ETH);
        _skip(59);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelPokeTooSoon.selector, ETH, uint64(T0 + 60)));
        engine.poke(ETH);
        _skip(1);
        engine.poke(ETH);
        (,,,,, uint64 poked,) = engine.underlying(ETH);
        assertEq(poked, T0 + 60);
    }

    function test_poke_reverts_onUnknownUnderlying() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 3));
        engine.poke(3);
    }

    function test_poke_reverts_onStaleFeedOrSequencerDown() public {
        ethFeed.pushAt(3_000e8, T0 - 3_601, T0 - 3_601);
        _oracle(address(ethFeed), OR_STALE, T0 - 3_601);
        engine.poke(ETH);
        ethFeed.push(3_000e8);
        sequencerFeed.pushAt(1, T0 - 5, T0 - 5);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, T0 - 5));
        engine.poke(ETH);
    }

    function test_poke_raisesRangeAtOnceAndLowersItSlowly() public {
        engine.poke(ETH);
        (,,,, int128 r0,,) = engine.underlying(ETH);
        _skip(1 hours);
        _setEth(3_270e8); // +9%, under the 10% guard
        engine.poke(ETH);
        (,,,, int128 r1,, uint64 guardUntil) = engine.underlying(ETH);
        assertGt(r1, r0, "a large move raises the range at once");
        assertEq(guardUntil, 0, "below the deviation threshold");
        _skip(1 days);
        engine.poke(ETH);
        (,,,, int128 r2,,) = engine.underlying(ETH);
        assertLt(r2, r1, "calm: the range falls");
        assertGe(r2, r1 * 8 / 10, "by at most 20% per day");
    }

    function test_poke_tripsTheDeviationGuard() public {
        engine.poke(ETH);
        _skip(120);
        _setEth(3_400e8); // +13.3%
        vm.expectEmit(true, false, false, false, address(engine));
        emit IKeelEngine.Poked(ETH, 3_400e18, 0, 0, true);
        engine.poke(ETH);
        (,,,,,, uint64 guardUntil) = engine.underlying(ETH);
        assertEq(guardUntil, T0 + 120 + 600);
        // Other underlyings are unaffected.
        _trade(acct(alice), BTC_PERP, W / 10, 60_000e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelNewRiskPaused.selector, ETH));
        _trade(acct(alice), ETH_PERP, W, 3_400e18);
    }
}
