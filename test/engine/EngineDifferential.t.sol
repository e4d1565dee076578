// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/Test.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineDifferentialTest
/// @notice Differential test against the keel-risk portfolio vectors
/// (contracts/risk/vectors/portfolios.json, also checked natively and by
/// test/risk/RiskCalc.t.sol): each portfolio is built through the engine's
/// public interface only (admin parameters, oracle feeds, deposits, trades
/// reported by a market, withdrawals, `poke`), and the engine's
/// `accountMargin` must equal the library's expected equity (IM and MM views),
/// IM and MM to the wei.
///
/// How a vector maps onto the engine:
/// - underlying 0 -> ETH (spot from ETH/USD, ATM vol from the implied-vol
///   feed, skew/curvature/min/max from `setSmile`), underlying 1 -> BTC (ATM
///   from `setSmile`); the scan range is fixed with `setEwma(range_min =
///   range_max = R)`;
/// - risk parameters from `setRiskParams` (the engine's extremes are always
///   the symmetric pair -m, +m), tiers from `setConcentrationTiers`, the
///   correlation from `setCorrelation`;
/// - a collateral priced 1 with no haircut is settlement cash (same equity);
///   one priced 1 with haircuts is a USDT collateral (id 3); one priced at an
///   underlying's spot is WETH / WBTC with the vector's haircuts;
/// - perps are traded at their entry price; options are listed with the
///   vector's terms and traded at a premium of 100, and the account's cash is
///   then brought to the vector's cash with a deposit or withdrawal;
/// - an oracle-confidence add-on is the engine's deviation-guard charge: the
///   underlying is poked 1% away from the vector's spot (max deviation 0.5%),
///   so the live guard applies `confidenceAddon`;
/// - options that have already expired at the vector's `now` are listed and
///   traded two days earlier.
///
/// Not reproducible, skipped: `es_fat_tail` — it enables the expected-shortfall
/// add-on over a return history (`es_enabled`, `history`); the engine never
/// enables ES and has no way to supply a history (see `risk_params_from` in
/// contracts/engine/src/margin.rs).
contract EngineDifferentialTest is EngineBase {
    string constant VECTORS = "contracts/risk/vectors/portfolios.json";
    uint8 constant USDT_ID = 3;
    int128 constant PREMIUM = 100e18;

    string json;
    MockERC20 usdt;
    MockAggregator usdtFeed;
    address holder = makeAddr("holder");
    address bank = makeAddr("bank");

    function setUp() public override {
        super.setUp();
        json = vm.readFile(VECTORS);
        usdt = new MockERC20("Tether USD", "USDT", 6);
        usdtFeed = new MockAggregator(8, "USDT / USD");
        usdtFeed.push(1e8);
        vm.prank(owner);
        engine.setCollateral(USDT_ID, address(usdt), address(usdtFeed), 86_400, 0, 0, type(uint256).max);
        _fund(bank, 10_000_000); // liquidity for withdrawals beyond the holder's own deposits
    }

    // ------------------------------------------------------------ reading portfolios.json

    function _key(uint256 k, string memory path) internal pure returns (string memory) {
        return string.concat(".portfolios[", vm.toString(k), "]", path);
    }

    function _idx(string memory path, uint256 i) internal pure returns (string memory) {
        return string.concat(path, "[", vm.toString(i), "]");
    }

    function _count(string memory path) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, _idx(path, n))) n++;
    }

    function _int(string memory path) internal view returns (int256) {
        return vm.parseJsonInt(json, path);
    }

    function _uint(string memory path) internal view returns (uint256) {
        return vm.parseJsonUint(json, path);
    }

    function _eq(string memory a, string memory b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    function _find(string memory name) internal view returns (uint256 k) {
        uint256 n = _count(".portfolios");
        for (k = 0; k < n; k++) {
            if (_eq(vm.parseJsonString(json, _key(k, ".name")), name)) return k;
        }
        revert(string.concat("no vector ", name));
    }

    // ------------------------------------------------------------ building a vector through the engine

    /// Why vector `k` cannot be built through the engine ("" when it can).
    function _unsupported(uint256 k) internal view returns (string memory) {
        string memory p = _key(k, ".params");
        if (vm.parseJsonBool(json, string.concat(p, ".es_enabled")) || _count(_key(k, ".history")) > 0) {
            return "expected-shortfall add-on over a return history: the engine never enables ES";
        }
        if (_count(string.concat(p, ".extreme_moves")) != 2) return "the engine's extremes are one symmetric pair";
        if (
            _int(_idx(string.concat(p, ".extreme_moves"), 0)) != -_int(_idx(string.concat(p, ".extreme_moves"), 1))
        ) return "asymmetric extreme moves";
        if (_count(_key(k, ".underlyings")) > 2) return "more underlyings than the fixture lists";
        return "";
    }

    /// Spot used while trading and adjusting cash: the vector's spot, except
    /// where the final portfolio is below IM (the engine refuses to build an
    /// account below IM, as it should): there the book is built at a spot
    /// where it holds IM and the price then moves to the vector's spot.
    function _buildSpotFactor(string memory name) internal pure returns (uint256) {
        if (_eq(name, "underwater_short_puts")) return 2; // short puts: safe at twice the spot
        return 1;
    }

    function _setSpot(uint8 u, int256 spotWad) internal {
        require(spotWad % 1e10 == 0, "spot not representable with 8 decimals");
        if (u == ETH) _setEth(spotWad / 1e10);
        else _setBtc(spotWad / 1e10);
    }

    function _setRange(uint8 u, int128 r) internal {
        vm.prank(owner);
        engine.setEwma(u, 0.94e18, 86_400, 3e18, 86_400, r, r, 0.2e18, 0.25e18);
    }

    function _applyParams(uint256 k) internal {
        string memory p = _key(k, ".params");
        vm.startPrank(owner);
        engine.setRiskParams(
            uint32(_uint(string.concat(p, ".grid_k"))),
            int128(_int(string.concat(p, ".vol_down"))),
            int128(_int(string.concat(p, ".vol_up"))),
            int128(_int(string.concat(p, ".vol_up_power"))),
            int128(_int(_idx(string.concat(p, ".extreme_moves"), 1))),
            int128(_int(string.concat(p, ".extreme_cover"))),
            uint64(_uint(string.concat(p, ".time_roll_seconds"))),
            _eq(vm.parseJsonString(json, string.concat(p, ".mm_mode")), "reduced_grid"),
            int128(_int(string.concat(p, ".mm_fraction"))),
            int128(_int(string.concat(p, ".max_offset_credit"))),
            int128(_int(string.concat(p, ".short_option_min")))
        );
        uint256 nt = _count(string.concat(p, ".concentration_threshold"));
        if (nt > 0) {
            int128[] memory t = new int128[](nt);
            int128[] memory m = new int128[](nt);
            for (uint256 i = 0; i < nt; i++) {
                t[i] = int128(_int(_idx(string.concat(p, ".concentration_threshold"), i)));
                m[i] = int128(_int(_idx(string.concat(p, ".concentration_multiplier"), i)));
            }
            engine.setConcentrationTiers(t, m);
        }
        if (_count(_key(k, ".underlyings")) == 2) {
            engine.setCorrelation(0, 1, int128(_int(_idx(string.concat(p, ".correlation"), 1))));
        }
        vm.stopPrank();
    }

    /// Smile, ATM vol, scan range and (when the vector has an oracle-confidence
    /// add-on) the guard's add-on rate and a tight deviation threshold.
    function _applyMarkets(uint256 k, uint256 factor) internal {
        uint256 n = _count(_key(k, ".underlyings"));
        for (uint8 u = 0; u < n; u++) {
            string memory e = _idx(_key(k, ".underlyings"), u);
            int128 atm = int128(_int(string.concat(e, ".atm_vol")));
            int256 conf = _int(string.concat(e, ".oracle_confidence"));
            vm.startPrank(owner);
            if (conf != 0) {
                engine.setUnderlying(
                    u,
                    u == ETH ? address(ethFeed) : address(btcFeed),
                    u == ETH ? address(ethVolFeed) : address(0),
                    3_600,
                    0.005e18,
                    600,
                    uint64(uint256(conf))
                );
            }
            engine.setSmile(
                u,
                atm,
                int128(_int(string.concat(e, ".skew"))),
                int128(_int(string.concat(e, ".curvature"))),
                int128(_int(string.concat(e, ".min_vol"))),
                int128(_int(string.concat(e, ".max_vol")))
            );
            vm.stopPrank();
            if (u == ETH) _setEthVol(int256(atm) / 1e10);
            _setRange(u, int128(_int(string.concat(e, ".scan_range"))));
            _setSpot(u, _int(string.concat(e, ".spot")) * int256(factor));
        }
    }

    /// Deposits the vector's non-cash collaterals; returns the cash the account
    /// must end with (vector cash + cash-like collaterals).
    function _applyCollaterals(uint256 k) internal returns (int256 cashTarget) {
        cashTarget = _int(_key(k, ".cash"));
        string memory p = _key(k, ".collaterals");
        uint256 n = _count(p);
        int256 ethSpot = _int(string.concat(_idx(_key(k, ".underlyings"), 0), ".spot"));
        for (uint256 i = 0; i < n; i++) {
            string memory e = _idx(p, i);
            int256 amount = _int(string.concat(e, ".amount"));
            int256 price = _int(string.concat(e, ".price"));
            uint64 imh = uint64(uint256(_int(string.concat(e, ".im_haircut"))));
            uint64 mmh = uint64(uint256(_int(string.concat(e, ".mm_haircut"))));
            if (price == 1e18 && imh == 0 && mmh == 0) {
                cashTarget += amount;
            } else if (price == 1e18) {
                vm.prank(owner);
                engine.setCollateral(USDT_ID, address(usdt), address(usdtFeed), 86_400, imh, mmh, type(uint256).max);
                require(amount % 1e12 == 0, "USDT amount");
                usdt.mint(holder, uint256(amount / 1e12));
                vm.startPrank(holder);
                usdt.approve(address(engine), uint256(amount / 1e12));
                engine.deposit(acct(holder), USDT_ID, uint256(amount / 1e12));
                vm.stopPrank();
            } else if (price == ethSpot) {
                vm.prank(owner);
                engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, imh, mmh, type(uint256).max);
                _deposit(holder, WETH_ID, uint256(amount));
            } else {
                revert("collateral not mapped");
            }
        }
    }

    /// Trades the vector's positions from the `desk`; returns the cash they moved.
    function _applyPositions(uint256 k) internal returns (int256 flows) {
        string memory p = _key(k, ".positions");
        uint256 n = _count(p);
        for (uint256 i = 0; i < n; i++) {
            string memory e = _idx(p, i);
            uint8 u = uint8(_uint(string.concat(e, ".underlying")));
            string memory kind = vm.parseJsonString(json, string.concat(e, ".kind"));
            int128 size = int128(_int(string.concat(e, ".size")));
            if (_eq(kind, "perp")) {
                _trade(acct(holder), u == ETH ? ETH_PERP : BTC_PERP, size, int128(_int(string.concat(e, ".entry_price"))));
            } else {
                vm.prank(owner);
                uint32 id = engine.listInstrument(
                    u,
                    _eq(kind, "call") ? 1 : 2,
                    int128(_int(string.concat(e, ".strike"))),
                    uint64(_uint(string.concat(e, ".expiry")))
                );
                require((int256(size) * PREMIUM) % 1e18 == 0, "premium flow not exact");
                flows += -(int256(size) * PREMIUM) / 1e18;
                assertEq(_trade(acct(holder), id, size, PREMIUM), -(int256(size) * PREMIUM) / 1e18, "premium");
            }
        }
    }

    /// Earliest time a vector's options may be listed at, or its `now`.
    function _buildTime(uint256 k, uint256 vectorNow) internal view returns (uint256 t) {
        t = vectorNow;
        string memory p = _key(k, ".positions");
        uint256 n = _count(p);
        for (uint256 i = 0; i < n; i++) {
            uint256 expiry = _uint(string.concat(_idx(p, i), ".expiry"));
            if (expiry != 0 && expiry < t + 3_600) t = vectorNow - 2 days;
        }
    }

    /// Builds vector `k` in `holder`'s account and compares the engine's margin
    /// with the vector's expected numbers.
    function _check(string memory name) internal {
        uint256 k = _find(name);
        assertEq(bytes(_unsupported(k)).length, 0, _unsupported(k));
        uint256 vectorNow = _uint(_key(k, ".now"));
        assertEq(vectorNow, T0, "the fixture runs at the vectors' now");
        uint256 factor = _buildSpotFactor(name);
        uint256 n = _count(_key(k, ".underlyings"));

        _warp(_buildTime(k, vectorNow));
        _applyParams(k);
        _applyMarkets(k, factor);
        int256 cashTarget = _applyCollaterals(k);
        _fund(holder, 10_000_000); // ample IM while the book is built
        _applyPositions(k);
        int256 diff = int256(engine.cashBalance(acct(holder))) - cashTarget;
        require(diff % 1e12 == 0, "cash not representable in USDC units");
        if (diff > 0) {
            vm.prank(holder);
            engine.withdraw(acct(holder), USDC_ID, uint256(diff / 1e12));
        } else if (diff < 0) {
            _deposit(holder, USDC_ID, uint256(-diff / 1e12));
        }
        assertEq(engine.cashBalance(acct(holder)), cashTarget, "cash");

        // The vector's market: its time, spots and (for an add-on) a live deviation guard.
        _warp(vectorNow);
        bool poked;
        for (uint8 u = 0; u < n; u++) {
            string memory e = _idx(_key(k, ".underlyings"), u);
            int256 spot = _int(string.concat(e, ".spot"));
            if (_int(string.concat(e, ".oracle_confidence")) != 0) {
                _setSpot(u, spot / 100 * 99);
                engine.poke(u);
                poked = true;
            }
            _setSpot(u, spot);
        }
        if (poked) {
            for (uint8 u = 0; u < n; u++) {
                _setRange(u, int128(_int(string.concat(_idx(_key(k, ".underlyings"), u), ".scan_range"))));
            }
        }

        Margin memory m = _margin(acct(holder));
        string memory x = _key(k, ".expected");
        assertEq(m.equityIm, _int(string.concat(x, ".equity_im")), string.concat(name, ": equityIm"));
        assertEq(m.equityMm, _int(string.concat(x, ".equity_mm")), string.concat(name, ": equityMm"));
        assertEq(m.im, _int(string.concat(x, ".im")), string.concat(name, ": im"));
        assertEq(m.mm, _int(string.concat(x, ".mm")), string.concat(name, ": mm"));
        assertEq(engine.health(acct(holder)), _int(string.concat(x, ".health")), string.concat(name, ": health"));
        console2.log("%s: engine margin equals the vector", name);
    }

    // ------------------------------------------------------------ one test per vector

    function test_differential_longPerp() public {
        _check("long_perp");
    }

    function test_differential_coveredShortCalls() public {
        _check("covered_short_calls");
    }

    function test_differential_twoUnderlyingsStrangle() public {
        _check("two_underlyings_strangle");
    }

    function test_differential_protectivePutReducedGrid() public {
        _check("protective_put_reduced_grid");
    }

    function test_differential_underwaterShortPuts() public {
        _check("underwater_short_puts");
    }

    function test_differential_expiredAndExpiring() public {
        _check("expired_and_expiring");
    }

    /// Every vector in the file is either compared above or skipped for a
    /// documented reason; a vector added to the file without either fails here.
    function test_differential_accountsForEveryVector() public view {
        string[6] memory compared = [
            "long_perp",
            "covered_short_calls",
            "two_underlyings_strangle",
            "protective_put_reduced_grid",
            "underwater_short_puts",
            "expired_and_expiring"
        ];
        uint256 n = _count(".portfolios");
        uint256 skipped;
        for (uint256 k = 0; k < n; k++) {
            string memory name = vm.parseJsonString(json, _key(k, ".name"));
            bool found;
            for (uint256 j = 0; j < compared.length; j++) {
                if (_eq(name, compared[j])) found = true;
            }
            if (found) {
                assertEq(bytes(_unsupported(k)).length, 0, string.concat(name, " is compared but unsupported"));
            } else {
                assertTrue(_eq(name, "es_fat_tail"), string.concat("vector neither compared nor skipped: ", name));
                assertGt(bytes(_unsupported(k)).length, 0, "es_fat_tail is skipped for a reason");
                console2.log("skipped %s: %s", name, _unsupported(k));
                skipped++;
            }
        }
        assertEq(n, compared.length + skipped);
        assertGe(compared.length, 1);
    }
}
