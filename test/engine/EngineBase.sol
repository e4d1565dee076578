// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Stylus} from "../stylus/Stylus.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {ExampleMarket} from "../market/ExampleMarket.sol";

/// @title EngineBase
/// @notice Deploys the Keel engine (its four Stylus programs, run through the
/// forge bridge) with mock tokens and Chainlink feeds, lists collaterals,
/// underlyings and instruments, and offers helpers to fund accounts, trade and
/// move prices and time. Every engine call in a test executes the real WASM.
///
/// Fixture (all at `T0`, the portfolio vectors' `now`):
/// - collateral 0 USDC (6 decimals, the settlement token = cash), 1 WETH (18,
///   ETH/USD feed, haircuts 10% IM / 5% MM, cap 1,000), 2 WBTC (8, BTC/USD
///   feed, haircuts 15% / 8%, cap 100);
/// - underlying 0 ETH (ETH/USD at 3,000, implied-vol feed at 80%), 1 BTC
///   (BTC/USD at 60,000, smile ATM 80%); heartbeats 1 h, deviation guard 10%
///   with a 600 s cooldown and a 5% confidence add-on; not poked, so the scan
///   range is the EWMA maximum (50%) until a test pokes;
/// - instruments 0 ETH perp, 1 BTC perp, 2 ETH 3,000 call and 3 ETH 3,000 put
///   expiring `EXPIRY` (T0 + 30 days);
/// - the sequencer-uptime feed reports "up since T0 - 10 days";
/// - two authorised markets: `market` (an `ExampleMarket`, maker 2 bps, taker
///   5 bps) and `desk` (an address the tests prank to report single trades);
/// - the engine's defaults for what a trade or liquidation may do: prices
///   within the scan range R of spot around the mark (R = 50% until a poke),
///   positions worth at least 10, liquidation steps of at most half a
///   position of an account solvent at mark (close factor), the flag reward
///   capped at the account's equity at mark.
abstract contract EngineBase is Test {
    // ---- programs
    // The deployed code (brotli, as activation takes it) of every program, in
    // `stylusDir`: `$KEEL_STYLUS_DIR` when set (e.g. `target/stylus-before`,
    // the programs built from an older revision, to see a test fail on the
    // code before a fix), else `target/stylus` (what `./dev wasm` builds).
    // The directory must be readable by forge (fs_permissions in foundry.toml).
    string internal stylusDir;
    string internal ENGINE_CODE;
    string internal ADMIN_CODE;
    string internal KEEPER_CODE;
    string internal MARGIN_CODE;
    string internal UPKEEP_CODE;
    string internal CALC_CODE;
    /// The programs speak the engine's ABI from before issue 10 (7-argument
    /// `setLiquidationParams`, 2-argument `recordSettlementPrice`, 6-value
    /// `marginFigures`, none of the limit setters and views added with it).
    /// True for a `stylus-before` directory or with `KEEL_LEGACY_ABI=true`; the
    /// helpers below then call the old selectors so that the same test runs
    /// against the old code, and `setUp` calls nothing that did not exist.
    bool internal legacy;

    // ---- units and time
    uint256 internal constant T0 = 1_767_225_600;
    int128 internal constant W = 1e18;
    uint64 internal constant EXPIRY = uint64(T0 + 30 days);
    /// Largest accepted size, price and fee (keel-risk MAX_AMOUNT), WAD.
    int128 internal constant MAX_PRICE = 1e33;

    // ---- registry ids
    uint8 internal constant USDC_ID = 0;
    uint8 internal constant WETH_ID = 1;
    uint8 internal constant WBTC_ID = 2;
    uint8 internal constant ETH = 0;
    uint8 internal constant BTC = 1;
    uint32 internal constant ETH_PERP = 0;
    uint32 internal constant BTC_PERP = 1;
    uint32 internal constant ETH_CALL = 2;
    uint32 internal constant ETH_PUT = 3;

    // ---- engine error codes (contracts/engine/src/errors.rs, params.rs)
    uint8 internal constant KIND_COLLATERAL = 0;
    uint8 internal constant KIND_UNDERLYING = 1;
    uint8 internal constant KIND_INSTRUMENT = 2;
    uint8 internal constant KIND_POSITIONS = 3;
    uint8 internal constant ST_HEALTHY = 0;
    uint8 internal constant ST_NOT_FLAGGED = 1;
    uint8 internal constant ST_FLAGGED = 2;
    uint8 internal constant ST_NOT_BANKRUPT = 3;
    uint8 internal constant ST_ABOVE_BUFFER = 4;
    uint8 internal constant ST_BELOW_BUFFER = 5;
    uint8 internal constant ST_HEALTH_WOULD_FALL = 6;
    uint8 internal constant OR_CALL_FAILED = 0;
    uint8 internal constant OR_NON_POSITIVE = 1;
    uint8 internal constant OR_INCOMPLETE = 2;
    uint8 internal constant OR_STALE = 3;
    uint8 internal constant OR_BEFORE_EXPIRY = 4;

    // ---- default liquidation parameters (params.rs)
    int128 internal constant FLAG_REWARD = 5e18;
    int128 internal constant DISCOUNT_START = 1e16; // 1%
    int128 internal constant DISCOUNT_RATE = int128(5e15) / 60; // 0.5% per minute, truncated as params.rs does
    int128 internal constant DISCOUNT_MAX = 1e17; // 10%

    // ---- deployment
    IKeelEngine internal engine;
    address internal riskCalc;
    address internal adminModule;
    address internal keeperModule;
    address internal marginModule;
    address internal upkeepModule;
    ExampleMarket internal market;

    MockERC20 internal usdc;
    MockERC20 internal weth;
    MockERC20 internal wbtc;
    MockAggregator internal ethFeed;
    MockAggregator internal btcFeed;
    MockAggregator internal ethVolFeed;
    MockAggregator internal sequencerFeed;

    // Current feed answers (8 decimals), re-pushed by `_warp`.
    int256 internal ethPx8 = 3_000e8;
    int256 internal btcPx8 = 60_000e8;
    int256 internal ethVol8 = 0.8e8;

    address internal owner = makeAddr("owner");
    address internal desk = makeAddr("desk");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal keeper = makeAddr("keeper");

    /// The program modules in constructor order: risk calculator, then the
    /// admin, keeper, margin and upkeep programs.
    function _modules() internal view returns (address[5] memory) {
        return [riskCalc, adminModule, keeperModule, marginModule, upkeepModule];
    }

    /// The engine constructor's arguments (sequencer feed: the test's).
    function _ctorArgs(address o, address token, address[5] memory m) internal view returns (bytes memory) {
        return abi.encode(o, token, address(sequencerFeed), m[0], m[1], m[2], m[3], m[4]);
    }

    /// Reads `KEEL_STYLUS_DIR` and derives the six program paths and `legacy`.
    function _programPaths() internal {
        stylusDir = vm.envOr("KEEL_STYLUS_DIR", string("target/stylus"));
        ENGINE_CODE = string.concat(stylusDir, "/keel_engine.code");
        ADMIN_CODE = string.concat(stylusDir, "/keel_engine_admin.code");
        KEEPER_CODE = string.concat(stylusDir, "/keel_engine_keeper.code");
        MARGIN_CODE = string.concat(stylusDir, "/keel_engine_margin.code");
        UPKEEP_CODE = string.concat(stylusDir, "/keel_engine_upkeep.code");
        CALC_CODE = string.concat(stylusDir, "/keel_risk_calc.code");
        legacy = vm.envOr("KEEL_LEGACY_ABI", _endsWith(stylusDir, "stylus-before"));
    }

    function _endsWith(string memory s, string memory suffix) internal pure returns (bool) {
        bytes memory a = bytes(s);
        bytes memory b = bytes(suffix);
        if (a.length > 0 && a[a.length - 1] == "/") {
            // Ignore one trailing slash.
            assembly {
                mstore(a, sub(mload(a), 1))
            }
        }
        if (b.length > a.length) return false;
        for (uint256 i = 0; i < b.length; i++) {
            if (a[a.length - b.length + i] != b[i]) return false;
        }
        return true;
    }

    function setUp() public virtual {
        _programPaths();
        vm.warp(T0);
        usdc = new MockERC20("USD Coin", "USDC", 6);
        weth = new MockERC20("Wrapped Ether", "WETH", 18);
        wbtc = new MockERC20("Wrapped BTC", "WBTC", 8);
        ethFeed = new MockAggregator(8, "ETH / USD");
        btcFeed = new MockAggregator(8, "BTC / USD");
        ethVolFeed = new MockAggregator(8, "ETH 30d implied vol");
        sequencerFeed = new MockAggregator(0, "L2 Sequencer Uptime Status");
        ethFeed.push(ethPx8);
        btcFeed.push(btcPx8);
        ethVolFeed.push(ethVol8);
        sequencerFeed.pushAt(0, T0 - 10 days, T0 - 10 days);

        riskCalc = Stylus.deploy(CALC_CODE);
        adminModule = Stylus.deploy(ADMIN_CODE);
        keeperModule = Stylus.deploy(KEEPER_CODE);
        marginModule = Stylus.deploy(MARGIN_CODE);
        upkeepModule = Stylus.deploy(UPKEEP_CODE);
        engine = IKeelEngine(Stylus.deploy(ENGINE_CODE, _ctorArgs(owner, address(usdc), _modules())));
        market = new ExampleMarket(engine, owner, 2, 5);

        vm.startPrank(owner);
        engine.setMarket(address(market), true);
        engine.setMarket(desk, true);
        engine.setUnderlying(ETH, address(ethFeed), address(ethVolFeed), 3_600, 0.1e18, 600, 0.05e18);
        engine.setUnderlying(BTC, address(btcFeed), address(0), 3_600, 0.1e18, 600, 0.05e18);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, 0.1e18, 0.05e18, 1_000e18);
        engine.setCollateral(WBTC_ID, address(wbtc), address(btcFeed), 3_600, 0.15e18, 0.08e18, 100e8);
        engine.listInstrument(ETH, 0, 0, 0);
        engine.listInstrument(BTC, 0, 0, 0);
        engine.listInstrument(ETH, 1, 3_000e18, EXPIRY);
        engine.listInstrument(ETH, 2, 3_000e18, EXPIRY);
        vm.stopPrank();

        vm.label(address(engine), "KeelEngine");
        vm.label(riskCalc, "keel_risk_calc");
        vm.label(adminModule, "keel_engine_admin");
        vm.label(keeperModule, "keel_engine_keeper");
        vm.label(marginModule, "keel_engine_margin");
        vm.label(upkeepModule, "keel_engine_upkeep");
        vm.label(address(market), "ExampleMarket");
        vm.label(address(usdc), "USDC");
        vm.label(address(weth), "WETH");
        vm.label(address(wbtc), "WBTC");
        vm.label(address(ethFeed), "ETH/USD");
        vm.label(address(btcFeed), "BTC/USD");
        vm.label(address(ethVolFeed), "ETH IV");
        vm.label(address(sequencerFeed), "Sequencer");
    }

    // ------------------------------------------------------------ accounts

    /// Account id of `who`'s sub-account 0 (`who << 96`).
    function acct(address who) internal pure returns (uint256) {
        return uint256(uint160(who)) << 96;
    }

    /// Account id of `who`'s sub-account `sub`.
    function acct(address who, uint64 sub) internal pure returns (uint256) {
        return (uint256(uint160(who)) << 96) | sub;
    }

    /// `n` whole USDC in token units.
    function usd(uint256 n) internal pure returns (uint256) {
        return n * 1e6;
    }

    function _token(uint8 id) internal view returns (MockERC20) {
        if (id == USDC_ID) return usdc;
        if (id == WETH_ID) return weth;
        if (id == WBTC_ID) return wbtc;
        revert("EngineBase: no such collateral");
    }

    /// Mints `amount` (token units) of collateral `id` to `who` and deposits it
    /// into `who`'s account 0.
    function _deposit(address who, uint8 id, uint256 amount) internal {
        _depositTo(who, acct(who), id, amount);
    }

    /// Mints `amount` of collateral `id` to `from` and deposits it into `account`.
    function _depositTo(address from, uint256 account, uint8 id, uint256 amount) internal {
        MockERC20 t = _token(id);
        t.mint(from, amount);
        vm.startPrank(from);
        t.approve(address(engine), amount);
        engine.deposit(account, id, amount);
        vm.stopPrank();
    }

    /// Deposits `n` whole USDC into `who`'s account 0.
    function _fund(address who, uint256 n) internal {
        _deposit(who, USDC_ID, usd(n));
    }

    /// Reports one side of a trade from the `desk` market (no fee).
    function _trade(uint256 account, uint32 instrument, int128 size, int128 price) internal returns (int128) {
        vm.prank(desk);
        return engine.reportTrade(account, instrument, size, price, 0);
    }

    /// `buyer` buys `size` (> 0) of `instrument` from `seller` at `price`
    /// through the desk (both sides reported, no fee).
    function _pair(address buyer, address seller, uint32 instrument, int128 size, int128 price) internal {
        _trade(acct(buyer), instrument, size, price);
        _trade(acct(seller), instrument, -size, price);
    }

    /// `maker` posts `size` at `price` on the ExampleMarket and `taker` fills it.
    function _match(address maker, address taker, uint32 instrument, int128 size, int128 price)
        internal
        returns (uint256 id)
    {
        vm.prank(maker);
        id = market.post(instrument, size, price);
        vm.prank(taker);
        market.fill(id, acct(taker));
    }

    // ------------------------------------------------------------ prices and time

    /// Publishes a new ETH/USD round (8 decimals) now.
    function _setEth(int256 px8) internal {
        ethPx8 = px8;
        ethFeed.push(px8);
    }

    /// Publishes a new BTC/USD round (8 decimals) now.
    function _setBtc(int256 px8) internal {
        btcPx8 = px8;
        btcFeed.push(px8);
    }

    /// Publishes a new ETH implied-vol round (8 decimals, 0.8e8 = 80%) now.
    function _setEthVol(int256 vol8) internal {
        ethVol8 = vol8;
        ethVolFeed.push(vol8);
    }

    /// Moves the block time to `t` and re-publishes every feed at its current
    /// answer, so the feeds stay fresh.
    function _warp(uint256 t) internal {
        vm.warp(t);
        ethFeed.push(ethPx8);
        btcFeed.push(btcPx8);
        ethVolFeed.push(ethVol8);
    }

    /// `_warp(now + dt)`.
    function _skip(uint256 dt) internal {
        _warp(block.timestamp + dt);
    }

    // ------------------------------------------------------------ views

    struct Margin {
        int128 equityIm;
        int128 equityMm;
        int128 im;
        int128 mm;
    }

    function _margin(uint256 account) internal view returns (Margin memory m) {
        (m.equityIm, m.equityMm, m.im, m.mm) = engine.accountMargin(account);
    }

    function _positionSize(uint256 account, uint32 instrument) internal view returns (int128) {
        (uint32[] memory ids, int128[] memory sizes,) = engine.positions(account);
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == instrument) return sizes[i];
        }
        return 0;
    }

    function _totalHeld(uint8 id) internal view returns (uint256 total) {
        (,,,,,, total) = engine.collateral(id);
    }

    // ------------------------------------------------------------ fixtures

    /// Alice: 2,000 USDC cash, long 1 ETH perp at 3,000 bought from Bob
    /// (100,000 USDC); then ETH falls to 1,500. With the scan range at 50%:
    /// equity 500 < MM 525 (0.7 x 1,500 x 50%), so Alice is liquidatable.
    function _underwater() internal {
        _fund(alice, 2_000);
        _fund(bob, 100_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        _setEth(1_500e8);
    }

    /// Every margin figure of `account` (`marginFigures(account, 255)`), WAD.
    /// `equity` is the account's value at mark without haircuts. On the legacy
    /// ABI (6 values, no `equity`) it is computed here the way the engine
    /// defines it: MM-view equity plus the MM haircut of every collateral.
    struct Figures {
        int128 equityIm;
        int128 equityMm;
        int128 im;
        int128 mm;
        int128 health;
        bool blocked;
        int128 equity;
    }

    function _figures(uint256 account) internal view returns (Figures memory f) {
        (bool ok, bytes memory ret) =
            address(engine).staticcall(abi.encodeWithSelector(IKeelEngine.marginFigures.selector, account, uint8(255)));
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (ret.length >= 7 * 32) {
            (f.equityIm, f.equityMm, f.im, f.mm, f.health, f.blocked, f.equity) =
                abi.decode(ret, (int128, int128, int128, int128, int128, bool, int128));
        } else {
            (f.equityIm, f.equityMm, f.im, f.mm, f.health, f.blocked) =
                abi.decode(ret, (int128, int128, int128, int128, int128, bool));
            f.equity = f.equityMm + _mmHaircutValue(account);
        }
    }

    /// Equity at mark without haircuts (`marginFigures(..).equity`), WAD.
    function _equity(uint256 account) internal view returns (int128) {
        return _figures(account).equity;
    }

    /// Sum over the account's collaterals of amount x oracle price x MM haircut,
    /// rounded down (legacy `equity` only).
    function _mmHaircutValue(uint256 account) internal view returns (int128 v) {
        (uint8 n,,) = engine.registryCounts();
        for (uint8 id = 1; id < n; id++) {
            uint256 bal = engine.collateralBalance(account, id);
            if (bal == 0) continue;
            (, address feed, uint8 dec,, uint64 mmh,,) = engine.collateral(id);
            MockAggregator f = MockAggregator(feed);
            int256 price = f.latestAnswer() * int256(10 ** (18 - f.decimals()));
            int256 amount = int256(bal * 10 ** (18 - dec));
            v += int128((amount * price / 1e18) * int256(uint256(mmh)) / 1e18);
        }
    }

    /// The owner sets the liquidation parameters (the legacy ABI has no close factor).
    function _setLiquidationParams(
        int128 flagReward,
        int128 discountStart,
        int128 discountPerSecond,
        int128 discountMax,
        int128 buffer,
        uint64 window,
        int128 cap,
        int128 closeFactor
    ) internal {
        bytes memory data = legacy
            ? abi.encodeWithSignature(
                "setLiquidationParams(int128,int128,int128,int128,int128,uint64,int128)",
                flagReward,
                discountStart,
                discountPerSecond,
                discountMax,
                buffer,
                window,
                cap
            )
            : abi.encodeCall(
                IKeelEngine.setLiquidationParams,
                (flagReward, discountStart, discountPerSecond, discountMax, buffer, window, cap, closeFactor)
            );
        vm.prank(owner);
        (bool ok, bytes memory ret) = address(engine).call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// The default liquidation parameters with the window cap and close factor given.
    function _setCapAndCloseFactor(int128 cap, int128 closeFactor) internal {
        _setLiquidationParams(FLAG_REWARD, DISCOUNT_START, DISCOUNT_RATE, DISCOUNT_MAX, 0.1e18, 3_600, cap, closeFactor);
    }

    /// Calls `recordSettlementPrice(underlying, expiry, roundId)` (legacy ABI:
    /// `recordSettlementPrice(underlying, expiry)`, which reads the latest
    /// round) from `caller`; returns the call's status and return or revert data.
    function _tryRecordSettlement(address caller, uint8 u, uint64 expiry, uint80 roundId)
        internal
        returns (bool ok, bytes memory ret)
    {
        bytes memory data = legacy
            ? abi.encodeWithSignature("recordSettlementPrice(uint8,uint64)", u, expiry)
            : abi.encodeCall(IKeelEngine.recordSettlementPrice, (u, expiry, roundId));
        vm.prank(caller);
        (ok, ret) = address(engine).call(data);
    }

    /// `vm.expectRevert` for `KeelInsufficientMargin(account, equity, requirement)`.
    function _expectInsufficientMargin(uint256 account, int256 equity, int256 requirement) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInsufficientMargin.selector, account, equity, requirement));
    }

    /// Revert data of a low-level call (empty when it succeeded).
    function _revertData(address target, bytes memory data) internal returns (bool ok, bytes memory ret) {
        (ok, ret) = target.call(data);
    }
}
