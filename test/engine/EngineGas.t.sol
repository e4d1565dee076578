// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/Test.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineGasTest
/// @notice Logs the gas of `deposit`, `reportTrade`, `accountMargin`, `flag`
/// and `liquidate` for accounts holding 1, 2, 4, 8 and 16 positions (short ETH
/// calls at distinct strikes; 16 is the engine's per-account cap). The bridge
/// charges each Stylus frame the gas its runtime metered, so the numbers
/// approximate Stylus costs (plus about 1,000 per call and 10,000 per extra
/// bridge round; see README "Gas").
contract EngineGasTest is EngineBase {
    uint32 constant FIRST_SERIES = 4;

    struct Gas {
        uint256 deposit;
        uint256 reportTrade;
        uint256 accountMargin;
        uint256 flag;
        uint256 liquidate;
    }

    function setUp() public override {
        super.setUp();
        vm.startPrank(owner);
        for (uint256 i = 0; i < 16; i++) {
            engine.listInstrument(ETH, 1, int128(int256(2_500 + 100 * i)) * 1e18, EXPIRY); // ids 4..19
        }
        vm.stopPrank();
        _fund(carol, 10_000_000); // the liquidator
    }

    /// An account short `n` calls, left with a 2% cushion above IM.
    function _build(address a, uint256 n, Gas memory g) internal {
        _fund(a, 1_000_000);
        for (uint256 i = 0; i + 1 < n; i++) {
            _trade(acct(a), FIRST_SERIES + uint32(i), -W, 10e18);
        }
        uint32 last = FIRST_SERIES + uint32(n - 1);
        vm.prank(desk);
        uint256 g0 = gasleft();
        engine.reportTrade(acct(a), last, -W, 10e18, 0);
        g.reportTrade = g0 - gasleft();

        g0 = gasleft();
        Margin memory m = _margin(acct(a));
        g.accountMargin = g0 - gasleft();
        assertGt(m.im, 0);

        usdc.mint(a, usd(1));
        vm.startPrank(a);
        usdc.approve(address(engine), usd(1));
        g0 = gasleft();
        engine.deposit(acct(a), USDC_ID, usd(1));
        g.deposit = g0 - gasleft();
        // Withdraw down to IM + 2%.
        m = _margin(acct(a));
        uint256 free = uint256(int256(m.equityIm - m.im - m.im / 50)) / 1e12;
        engine.withdraw(acct(a), USDC_ID, free);
        vm.stopPrank();
        assertFalse(engine.isLiquidatable(acct(a)));
    }

    function test_gas_byPositionCount() public {
        uint256[5] memory counts = [uint256(1), 2, 4, 8, 16];
        Gas[5] memory g;
        address[5] memory accounts;
        // Warm-up book: the first margin check of the test reads the registry
        // cold (2,100 gas per slot); measure every book warm.
        Gas memory warmUp;
        _build(makeAddr("warm-up"), 1, warmUp);
        for (uint256 j = 0; j < counts.length; j++) {
            accounts[j] = makeAddr(string.concat("book-", vm.toString(counts[j])));
            _build(accounts[j], counts[j], g[j]);
        }
        // ETH +40%: every book is deep under water.
        _setEth(4_200e8);
        for (uint256 j = 0; j < counts.length; j++) {
            uint256 a = acct(accounts[j]);
            assertTrue(engine.isLiquidatable(a));
            vm.prank(keeper);
            uint256 g0 = gasleft();
            engine.flag(a);
            g[j].flag = g0 - gasleft();
            // Half the position: the largest step (close factor 50%) while
            // the account is still solvent at mark.
            vm.prank(carol);
            g0 = gasleft();
            engine.liquidate(a, acct(carol), FIRST_SERIES, -W / 2);
            g[j].liquidate = g0 - gasleft();
            assertEq(_positionSize(a, FIRST_SERIES), -W / 2);
        }
        for (uint256 j = 0; j < counts.length; j++) {
            console2.log("positions=%d deposit=%d reportTrade=%d", counts[j], g[j].deposit, g[j].reportTrade);
            console2.log("  accountMargin=%d flag=%d liquidate=%d", g[j].accountMargin, g[j].flag, g[j].liquidate);
        }
        // Compared end to end (16 series vs 1), not pair by pair: the bridge's
        // replay rounds (~10-50k gas each, depending on what its speculation
        // cache guessed) make neighbouring measurements overlap between runs.
        assertGt(g[4].accountMargin, 2 * g[0].accountMargin, "accountMargin grows with positions");
        assertGt(g[4].reportTrade, 2 * g[0].reportTrade, "reportTrade grows with positions");
        assertGt(g[4].flag, g[0].flag, "flag values the whole book");
        assertGt(g[4].liquidate, g[0].liquidate, "liquidate values the whole book");
        // Deposits do not value the book: their cost does not grow with it.
        // (Compared with a margin check, not with the other deposits: the bridge's
        // replay rounds make equal calls differ by ~10-50k gas between runs.)
        assertLt(g[4].deposit, g[0].accountMargin, "deposit independent of positions");
        // A full 16-position account stays inside Arbitrum's 32M per-transaction gas cap.
        assertLt(g[4].liquidate, 32_000_000, "liquidating a 16-position account fits a transaction");
        assertLt(g[4].reportTrade, 32_000_000);
    }
}
