// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineFuzzTest
/// @notice Property tests over trade sizes, prices and price paths. Every engine
/// call runs the WASM in a child process (~5-10 ms, more with the calculator
/// and delegatecalls), so each test runs few cases (inline `forge-config`) over
/// short, bounded sequences; the properties are exact, not statistical.
contract EngineFuzzTest is EngineBase {
    function setUp() public override {
        super.setUp();
        _fund(alice, 1_000_000);
        _fund(bob, 1_000_000);
        _fund(carol, 1_000_000);
    }

    /// A price in whole dollars within [lo, hi], as (8-decimal feed answer, WAD).
    function _price(uint256 seed, uint256 lo, uint256 hi) internal pure returns (int256 px8, int128 wad) {
        uint256 d = bound(seed, lo, hi);
        return (int256(d) * 1e8, int128(int256(d) * 1e18));
    }

    /// A size in thousandths of a unit with min <= |size| <= max (WAD), sign
    /// from the seed. (Every non-zero position must be worth at least the
    /// instrument's minimum notional, 10: callers pick `min` for their spot.)
    function _size(int256 seed, uint256 minThousandths, uint256 maxThousandths) internal pure returns (int128) {
        int256 k = bound(seed, -int256(maxThousandths - minThousandths), int256(maxThousandths - minThousandths));
        k = k < 0 ? k - int256(minThousandths) : k + int256(minThousandths);
        return int128(k * 1e15);
    }

    /// Perp PnL is zero-sum: a round trip between two accounts at any two prices
    /// moves exactly |size| x |p2 - p1| between them, less at most one wei of
    /// rounding, which the engine keeps (never creates).
    /// forge-config: default.fuzz.runs = 24
    function testFuzz_reportTrade_perpRoundTripIsZeroSum(int256 sizeSeed, uint256 p1Seed, uint256 p2Seed) public {
        int128 size = _size(sizeSeed, 4, 5_000); // >= 0.004 ETH: 12 of notional at 3,000
        (, int128 p1) = _price(p1Seed, 2_000, 4_000); // inside the 50% band around 3,000
        (, int128 p2) = _price(p2Seed, 2_000, 4_000);
        int256 before = int256(engine.cashBalance(acct(alice))) + engine.cashBalance(acct(bob));
        assertEq(_trade(acct(alice), ETH_PERP, size, p1), 0);
        assertEq(_trade(acct(bob), ETH_PERP, -size, p1), 0);
        int128 aliceCash = _trade(acct(alice), ETH_PERP, -size, p2);
        int128 bobCash = _trade(acct(bob), ETH_PERP, size, p2);
        assertEq(int256(aliceCash), int256(size) * (int256(p2) - p1) / 1e18, "size x (p2 - p1), exact here");
        int256 sum = int256(aliceCash) + bobCash;
        assertLe(sum, 0, "never creates cash");
        assertGe(sum, -1, "at most one wei of rounding");
        assertEq(int256(engine.cashBalance(acct(alice))) + engine.cashBalance(acct(bob)), before + sum);
        assertEq(_positionSize(acct(alice), ETH_PERP), 0);
        assertEq(_positionSize(acct(bob), ETH_PERP), 0);
    }

    /// Option premium is zero-sum to the wei, rounded against both accounts,
    /// at any premium inside the engine's band and any size of at least the
    /// minimum notional (0.004 ETH = 12 at 3,000).
    /// forge-config: default.fuzz.runs = 24
    function testFuzz_reportTrade_optionPremiumIsZeroSum(uint256 sizeSeed, uint256 premiumSeed, bool call)
        public
    {
        int128 size = int128(int256(bound(sizeSeed, 0.004e18, 20e18)));
        uint32 inst = call ? ETH_CALL : ETH_PUT;
        (,, int128 low, int128 high) = engine.priceBand(inst);
        int128 premium = int128(int256(bound(premiumSeed, uint256(int256(low)), uint256(int256(high)))));
        int128 paid = _trade(acct(alice), inst, size, premium);
        int128 received = _trade(acct(bob), inst, -size, premium);
        uint256 exact = uint256(uint128(size)) * uint256(uint128(premium));
        int256 floor = int256(exact / 1e18);
        int256 ceil = int256((exact + 1e18 - 1) / 1e18);
        assertEq(int256(paid), -ceil, "the buyer pays the premium rounded up");
        assertEq(int256(received), floor, "the writer receives it rounded down");
        assertEq(_positionSize(acct(alice), inst), size);
        assertEq(_positionSize(acct(bob), inst), -size);
    }

    /// A trade that adds risk is accepted exactly when the account holds IM
    /// afterwards; otherwise it reverts with the account's equity and the
    /// requirement. At a 50% scan range a perp's IM is |size| x spot / 2, so
    /// the expectation is exact.
    /// forge-config: default.fuzz.runs = 32
    function testFuzz_reportTrade_acceptedIffImHolds(uint256 cashSeed, int256 sizeSeed, uint256 spotSeed) public {
        address trader = makeAddr("trader");
        uint256 cash = bound(cashSeed, 1, 50_000);
        _fund(trader, cash);
        (int256 px8, int128 spot) = _price(spotSeed, 500, 8_000);
        _setEth(px8);
        int128 size = _size(sizeSeed, 20, 20_000); // >= 0.02 ETH: at least 10 of notional at 500
        int256 im = (int256(size < 0 ? -size : size) * spot / 1e18) / 2;
        vm.prank(desk);
        (bool ok, bytes memory ret) =
            address(engine).call(abi.encodeCall(IKeelEngine.reportTrade, (acct(trader), ETH_PERP, size, spot, 0)));
        if (int256(cash) * 1e18 >= im) {
            assertTrue(ok, "a trade within IM must be accepted");
            Margin memory m = _margin(acct(trader));
            assertEq(m.im, im);
            assertGe(m.equityIm, m.im);
            assertEq(_positionSize(acct(trader), ETH_PERP), size);
        } else {
            assertFalse(ok, "a trade beyond IM must be refused");
            assertEq(
                ret,
                abi.encodeWithSelector(
                    IKeelEngine.KeelInsufficientMargin.selector, acct(trader), int256(cash) * 1e18, im
                )
            );
            assertEq(_positionSize(acct(trader), ETH_PERP), 0);
        }
    }

    /// Along a random ETH path, for a covered-call book (long 1 perp, short 0.5
    /// call; liquidatable below about 1,700): health < 0 exactly when the
    /// account is liquidatable, `flag` succeeds exactly then, and once flagged
    /// `unflag` succeeds exactly at MM x 1.1.
    /// forge-config: default.fuzz.runs = 12
    function testFuzz_priceSequence_flagIffBelowMaintenance(uint256[4] memory path) public {
        address t = makeAddr("trader");
        _fund(t, 1_800);
        _trade(acct(t), ETH_PERP, W, 3_000e18);
        _trade(acct(t), ETH_CALL, -W / 2, 150e18);
        for (uint256 i = 0; i < path.length; i++) {
            (int256 px8,) = _price(path[i], 1_000, 4_000);
            _skip(60);
            _setEth(px8);
            Margin memory m = _margin(acct(t));
            int256 h = engine.health(acct(t));
            bool liq = engine.isLiquidatable(acct(t));
            assertEq(h, int256(m.equityMm) - m.mm, "health = MM equity - MM");
            assertEq(liq, h < 0, "liquidatable exactly below MM");
            if (engine.flaggedAt(acct(t)) == 0) {
                vm.prank(keeper);
                (bool ok, bytes memory ret) = address(engine).call(abi.encodeCall(IKeelEngine.flag, (acct(t))));
                assertEq(ok, liq, "flag succeeds exactly when liquidatable");
                if (ok) {
                    assertEq(engine.flaggedAt(acct(t)), block.timestamp);
                } else {
                    assertEq(
                        ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(t), ST_HEALTHY)
                    );
                }
            } else {
                int256 target = int256(m.mm) + (int256(m.mm) + 9) / 10;
                (bool ok, bytes memory ret) = address(engine).call(abi.encodeCall(IKeelEngine.unflag, (acct(t))));
                assertEq(ok, m.equityMm >= target, "unflag succeeds exactly at MM x 1.1");
                if (!ok) {
                    assertEq(
                        ret,
                        abi.encodeWithSelector(IKeelEngine.KeelInvalidAccountState.selector, acct(t), ST_BELOW_BUFFER)
                    );
                }
            }
        }
    }

    /// A withdrawal either keeps the account at or above IM or reverts with
    /// `KeelInsufficientMargin` (equity below the requirement); it never leaves
    /// an account with positions below IM.
    /// forge-config: default.fuzz.runs = 24
    function testFuzz_withdraw_neverLeavesAccountBelowIm(uint256 amountSeed, uint256 spotSeed, bool collateral)
        public
    {
        address t = makeAddr("trader");
        _fund(t, 1_000);
        _deposit(t, WETH_ID, 1e18);
        _trade(acct(t), ETH_PERP, -W / 2, 3_000e18);
        (int256 px8,) = _price(spotSeed, 2_000, 4_000);
        _setEth(px8);
        uint8 id = collateral ? WETH_ID : USDC_ID;
        uint256 amount = collateral ? bound(amountSeed, 1, 1e18) : bound(amountSeed, 1, 4_000e6);
        vm.prank(t);
        (bool ok, bytes memory ret) = address(engine).call(abi.encodeCall(IKeelEngine.withdraw, (acct(t), id, amount)));
        Margin memory m = _margin(acct(t));
        if (ok) {
            assertGe(m.equityIm, m.im, "a withdrawal that went through left IM");
        } else {
            assertEq(bytes4(ret), IKeelEngine.KeelInsufficientMargin.selector);
            (, int256 equity, int256 req) = abi.decode(_args(ret), (uint256, int256, int256));
            assertLt(equity, req);
            assertGe(m.equityIm, m.im, "and the refused one changed nothing");
        }
    }

    /// Liquidating any part of a perp position of an account that is under MM
    /// but solvent raises its health (the MM released exceeds the discount);
    /// steps are at most half the position (close factor).
    /// forge-config: default.fuzz.runs = 16
    function testFuzz_liquidate_raisesHealthOfASolventAccount(uint256 crashSeed, uint256 fractionSeed, uint256 waitSeed)
        public
    {
        // setUp gave Alice 1,000,000: take it back so `_underwater` leaves her
        // with 2,000 against a long 1 ETH from 3,000.
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(1_000_000));
        _underwater(); // Alice long 1 ETH from 3,000 with 2,000; ETH at 1,500
        (int256 px8,) = _price(crashSeed, 1_200, 1_530); // liquidatable below 1,538
        _setEth(px8);
        vm.prank(keeper);
        engine.flag(acct(alice));
        _skip(bound(waitSeed, 0, 1_200));
        int128 size = int128(int256(bound(fractionSeed, 1, 500)) * 1e15);
        int256 before = engine.health(acct(alice));
        vm.prank(carol);
        engine.liquidate(acct(alice), acct(carol), ETH_PERP, size);
        assertGt(engine.health(acct(alice)), before);
        assertEq(_positionSize(acct(alice), ETH_PERP), W - size);
        assertEq(_positionSize(acct(carol), ETH_PERP), size);
    }

    /// Strips the selector of revert data.
    function _args(bytes memory ret) internal pure returns (bytes memory a) {
        a = new bytes(ret.length - 4);
        for (uint256 i = 0; i < a.length; i++) {
            a[i] = ret[i + 4];
        }
    }
}
