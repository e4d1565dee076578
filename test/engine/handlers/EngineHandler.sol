// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MockERC20} from "../../mocks/MockERC20.sol";
import {MockAggregator} from "../../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../../contracts/solidity/IKeelEngine.sol";
import {ExampleMarket} from "../../market/ExampleMarket.sol";

/// @title EngineHandler
/// @notice Drives the engine for the invariant test with bounded, realistic
/// actions: deposits, withdrawals, trades through the example market, price
/// moves with time, flags and liquidations. Actions the engine may refuse
/// (margin, state) are tried and their outcome recorded; the handler never
/// reverts itself. Ghost counters record every observed violation of the
/// properties the invariants assert (a withdrawal that left an account with
/// positions or debt below IM, a flag or liquidation of a healthy account, a
/// liquidation that lowered a solvent account's health).
contract EngineHandler is Test {
    IKeelEngine public immutable engine;
    ExampleMarket public immutable market;
    MockERC20 public immutable usdc;
    MockERC20 public immutable weth;
    MockAggregator public immutable ethFeed;
    MockAggregator public immutable btcFeed;
    MockAggregator public immutable volFeed;

    address[3] public traders;
    address public immutable liquidator;
    address public immutable keeper;

    int256 public ethPx8 = 3_000e8;
    int256 public btcPx8 = 60_000e8;

    // ---- ghosts: violations (must stay 0)
    uint256 public withdrawalsBelowIm;
    uint256 public healthyFlagged;
    uint256 public healthyLiquidated;
    uint256 public liquidationsLoweringHealth;

    // ---- ghosts: coverage
    uint256 public deposits;
    uint256 public withdrawals;
    uint256 public tradesFilled;
    uint256 public tradesRefused;
    uint256 public flags;
    uint256 public liquidations;

    uint32 internal constant ETH_PERP = 0;
    uint32 internal constant BTC_PERP = 1;
    uint32 internal constant ETH_CALL = 2;
    uint32 internal constant ETH_PUT = 3;

    constructor(
        IKeelEngine engine_,
        ExampleMarket market_,
        MockERC20 usdc_,
        MockERC20 weth_,
        MockAggregator ethFeed_,
        MockAggregator btcFeed_,
        MockAggregator volFeed_,
        address[3] memory traders_,
        address liquidator_,
        address keeper_
    ) {
        engine = engine_;
        market = market_;
        usdc = usdc_;
        weth = weth_;
        ethFeed = ethFeed_;
        btcFeed = btcFeed_;
        volFeed = volFeed_;
        traders = traders_;
        liquidator = liquidator_;
        keeper = keeper_;
    }

    function acct(address who) public pure returns (uint256) {
        return uint256(uint160(who)) << 96;
    }

    function _trader(uint256 seed) internal view returns (address) {
        return traders[seed % traders.length];
    }

    function _margin(uint256 a) internal view returns (int128 eqIm, int128 eqMm, int128 im, int128 mm) {
        return engine.accountMargin(a);
    }

    function _position(uint256 a, uint32 instrument) internal view returns (int128) {
        (uint32[] memory ids, int128[] memory sizes,) = engine.positions(a);
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == instrument) return sizes[i];
        }
        return 0;
    }

    /// MM x 1.1 (rounded up), the default partial-liquidation target.
    function _target(int128 mm) internal pure returns (int256) {
        return int256(mm) + (int256(mm) + 9) / 10;
    }

    // ------------------------------------------------------------ actions

    /// Deposits 100..20,000 USDC or 0.1..5 WETH into a trader's account.
    function deposit(uint256 whoSeed, bool collateral, uint256 amountSeed) external {
        address who = _trader(whoSeed);
        MockERC20 t = collateral ? weth : usdc;
        uint256 amount = collateral ? bound(amountSeed, 0.1e18, 5e18) : bound(amountSeed, 100e6, 20_000e6);
        t.mint(who, amount);
        vm.startPrank(who);
        t.approve(address(engine), amount);
        engine.deposit(acct(who), collateral ? 1 : 0, amount);
        vm.stopPrank();
        deposits++;
    }

    /// Withdraws a random amount of USDC (up to the cash plus 1,000, i.e. it may
    /// borrow) or of the WETH balance. If it goes through, an account with
    /// positions or debt must still hold IM.
    function withdraw(uint256 whoSeed, bool collateral, uint256 amountSeed) external {
        address who = _trader(whoSeed);
        uint256 a = acct(who);
        uint256 amount;
        if (collateral) {
            uint256 bal = engine.collateralBalance(a, 1);
            if (bal == 0) return;
            amount = bound(amountSeed, 1, bal);
        } else {
            int256 cash = engine.cashBalance(a);
            uint256 max = cash > 0 ? uint256(cash) / 1e12 + 1_000e6 : 1_000e6;
            amount = bound(amountSeed, 1, max);
        }
        vm.prank(who);
        try engine.withdraw(a, collateral ? 1 : 0, amount) {
            withdrawals++;
            (uint32[] memory ids,,) = engine.positions(a);
            if (ids.length > 0 || engine.cashBalance(a) < 0) {
                (int128 eqIm,, int128 im,) = _margin(a);
                if (eqIm < im) withdrawalsBelowIm++;
            }
        } catch {}
    }

    /// One trader posts an order on the example market, another fills it:
    /// ETH or BTC perps at spot, or ETH options at a premium of 2-8% of spot.
    function trade(uint256 makerSeed, uint256 takerSeed, uint256 instSeed, int256 sizeSeed, uint256 premiumSeed)
        external
    {
        address maker = _trader(makerSeed);
        address taker = _trader(takerSeed);
        if (maker == taker) taker = _trader(takerSeed + 1);
        uint32 instrument = uint32(instSeed % 4);
        int256 k = bound(sizeSeed, -2_000, 2_000);
        if (k == 0) k = 1;
        int128 size;
        int128 price;
        if (instrument == BTC_PERP) {
            size = int128(k * 1e14); // up to 0.2 BTC
            price = int128(btcPx8 * 1e10);
        } else if (instrument == ETH_PERP) {
            size = int128(k * 1e15); // up to 2 ETH
            price = int128(ethPx8 * 1e10);
        } else {
            size = int128(k * 1e15);
            price = int128(ethPx8 * 1e10 * int256(bound(premiumSeed, 2, 8)) / 100);
        }
        vm.prank(maker);
        uint256 id = market.post(instrument, size, price);
        vm.prank(taker);
        try market.fill(id, acct(taker)) {
            tradesFilled++;
        } catch {
            tradesRefused++;
            vm.prank(maker);
            market.cancel(id);
        }
    }

    /// Moves ETH and BTC by up to +-15% each (ETH kept in [800, 9,000], BTC in
    /// [20,000, 150,000]) after 1 minute to 1 hour; every feed gets a fresh round.
    function movePrice(int256 ethMoveSeed, int256 btcMoveSeed, uint256 dtSeed) external {
        vm.warp(block.timestamp + bound(dtSeed, 60, 3_600));
        int256 e = ethPx8 * (1_000 + bound(ethMoveSeed, -150, 150)) / 1_000;
        int256 b = btcPx8 * (1_000 + bound(btcMoveSeed, -150, 150)) / 1_000;
        ethPx8 = e < 800e8 ? int256(800e8) : e > 9_000e8 ? int256(9_000e8) : e;
        btcPx8 = b < 20_000e8 ? int256(20_000e8) : b > 150_000e8 ? int256(150_000e8) : b;
        ethFeed.push(ethPx8);
        btcFeed.push(btcPx8);
        volFeed.push(0.8e8);
    }

    /// The keeper tries to flag a trader. A flag that goes through for an
    /// account at or above MM is a violation.
    function flag(uint256 whoSeed) external {
        uint256 a = acct(_trader(whoSeed));
        bool liquidatable = engine.isLiquidatable(a);
        vm.prank(keeper);
        try engine.flag(a) {
            flags++;
            if (!liquidatable) healthyFlagged++;
        } catch {}
    }

    /// The liquidator tries to take 10-100% of one of a trader's positions. One
    /// that goes through for an account that was not flagged, or was at or
    /// above MM x 1.1, is a violation; so is one that lowered the health of an
    /// account that was solvent before and after.
    function liquidate(uint256 whoSeed, uint256 instSeed, uint256 fractionSeed) external {
        uint256 a = acct(_trader(whoSeed));
        uint32 instrument = uint32(instSeed % 4);
        int128 pos = _position(a, instrument);
        int128 size = pos == 0 ? int128(1e18) : int128(int256(pos) * int256(bound(fractionSeed, 10, 100)) / 100);
        if (pos != 0 && size == 0) size = pos;
        bool flagged = engine.flaggedAt(a) != 0;
        (, int128 eqBefore,, int128 mmBefore) = _margin(a);
        int256 healthBefore = int256(eqBefore) - mmBefore;
        vm.prank(liquidator);
        try engine.liquidate(a, acct(liquidator), instrument, size) {
            liquidations++;
            if (!flagged || eqBefore >= _target(mmBefore)) healthyLiquidated++;
            (, int128 eqAfter,, int128 mmAfter) = _margin(a);
            int256 healthAfter = int256(eqAfter) - mmAfter;
            if (eqBefore >= 0 && eqAfter >= 0 && healthAfter < healthBefore) liquidationsLoweringHealth++;
        } catch {}
    }
}
