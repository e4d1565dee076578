// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console2} from "forge-std/Test.sol";
import {Stylus} from "../stylus/Stylus.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";

/// Smoke test of the six Keel programs wired together under the bridge, from
/// their deployed code: constructor, admin forwarding (delegatecall), a trade
/// with the IM check (delegatecall into the margin program, static call into
/// the risk calculator), a margin view, and an upkeep call (poke).
contract EngineSmokeTest is Test {
    function test_engine_programs_work_together() public {
        vm.warp(1_767_225_600);
        // The programs' directory: `$KEEL_STYLUS_DIR`, as in EngineBase.
        string memory dir = vm.envOr("KEEL_STYLUS_DIR", string("target/stylus"));
        MockERC20 usdc = new MockERC20("USD Coin", "USDC", 6);
        MockAggregator feed = new MockAggregator(8, "ETH / USD");
        feed.push(3_000e8);
        address calc = Stylus.deploy(string.concat(dir, "/keel_risk_calc.code"));
        address admin = Stylus.deploy(string.concat(dir, "/keel_engine_admin.code"));
        address keeper = Stylus.deploy(string.concat(dir, "/keel_engine_keeper.code"));
        address margin = Stylus.deploy(string.concat(dir, "/keel_engine_margin.code"));
        address upkeep = Stylus.deploy(string.concat(dir, "/keel_engine_upkeep.code"));
        IKeelEngine e = IKeelEngine(
            Stylus.deploy(
                string.concat(dir, "/keel_engine.code"),
                abi.encode(address(this), address(usdc), address(0), calc, admin, keeper, margin, upkeep)
            )
        );
        assertEq(e.owner(), address(this));
        (address c, address a, address k, address m, address u) = e.modules();
        assertEq(c, calc);
        assertEq(a, admin);
        assertEq(k, keeper);
        assertEq(m, margin);
        assertEq(u, upkeep);
        e.setMarket(address(this), true);
        e.setUnderlying(0, address(feed), address(0), 3_600, 0.1e18, 600, 0.05e18);
        e.listInstrument(0, 0, 0, 0);
        usdc.mint(address(this), 10_000e6);
        usdc.approve(address(e), 10_000e6);
        uint256 acct = e.accountId(address(this), 1);
        e.deposit(acct, 0, 10_000e6);
        assertEq(e.cashBalance(acct), 10_000e18);
        e.reportTrade(acct, 0, 1e18, 3_000e18, 0);
        (int128 eqIm,, int128 im, int128 mm) = e.accountMargin(acct);
        assertEq(eqIm, 10_000e18);
        // 1 ETH perp at the default 50% scan range: IM = 1,500 (x scan), MM = 70%.
        assertGt(im, 0);
        assertEq(mm, im * 7 / 10 + (im * 7 % 10 == 0 ? int128(0) : int128(1)));
        console2.log("IM of 1 ETH perp", im);
        vm.expectPartialRevert(IKeelEngine.KeelInsufficientMargin.selector);
        e.reportTrade(acct, 0, 100e18, 3_000e18, 0);
        e.poke(0);
        (,,,, int128 r,,) = e.underlying(0);
        assertGt(r, 0);
        assertFalse(e.isLiquidatable(acct));
    }
}
