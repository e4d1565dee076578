// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console2} from "forge-std/Test.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Stylus} from "../stylus/Stylus.sol";

/// The risk-calculator Stylus program (contracts/risk-calc). Word layout of the
/// arrays: see contracts/risk-calc/src/codec.rs.
interface IRiskCalc {
    error RiskInvalidInput(uint8 field, uint256 index);
    error RiskMathError(uint8 kind);

    function accountMargin(
        uint256 timestamp,
        int256 cash,
        int256[] calldata collaterals,
        int256[] calldata positions,
        int256[] calldata markets,
        int256[] calldata params,
        int256[] calldata history
    )
        external
        view
        returns (
            int256 equityIm,
            int256 equityMm,
            int256 im,
            int256 mm,
            int256 health,
            int256[] memory scanLoss,
            uint256[] memory worstIndex
        );

    function scenarioPnl(
        uint256 underlying,
        uint256 timestamp,
        int256 cash,
        int256[] calldata collaterals,
        int256[] calldata positions,
        int256[] calldata markets,
        int256[] calldata params,
        int256[] calldata history
    ) external view returns (int256[] memory pnl);

    /// Per underlying of the margin report: net delta, gamma, vega (WAD).
    function accountGreeks(
        uint256 timestamp,
        int256 cash,
        int256[] calldata collaterals,
        int256[] calldata positions,
        int256[] calldata markets,
        int256[] calldata params,
        int256[] calldata history
    ) external view returns (int256[] memory delta, int256[] memory gamma, int256[] memory vega);

    /// One unit of kind 0 perp (= spot), 1 call, 2 put on one underlying's 8 market words,
    /// for a holder of signed `size` (WAD; only its sign matters): outside Black-76's
    /// moneyness domain the bound margin uses, the lower for longs, the upper for shorts.
    function markPrice(
        uint256 timestamp,
        int256[] calldata market,
        uint256 kind,
        int256 strike,
        uint256 expiry,
        int256 size
    ) external view returns (int256 price);

    /// params: lambda, lambdaIntervalSeconds, k, horizonSeconds, rangeMin, rangeMax,
    /// maxFallPerDay, apcFloorShare; state and newState: variancePerSecond,
    /// lastPrice, lastUpdate, scanRange, peakRange (lastUpdate 0: no state yet).
    function ewmaUpdate(
        uint256 timestamp,
        int256 price,
        int256 initialVol,
        int256[] calldata params,
        int256[] calldata state
    ) external view returns (int256[] memory newState);
}

/// Differential test: the real keel_risk_calc WASM, run through the forge bridge,
/// must reproduce the keel-risk vectors (contracts/risk/vectors/portfolios.json,
/// the file contracts/risk/tests/portfolio_vectors.rs checks natively) bit for bit.
contract RiskCalcTest is Test {
    string constant CODE = "target/stylus/keel_risk_calc.code";
    string constant VECTORS = "contracts/risk/vectors/portfolios.json";
    string constant BLACK76 = "contracts/risk/vectors/black76.json";
    int256 constant WAD = 1e18;

    // Calculator field codes (codec::code) and keel-risk Field codes used below.
    uint8 constant F_SPOT = 10;
    uint8 constant F_COLLATERAL_MM_HAIRCUT = 3;
    uint8 constant C_CALLDATA = 64;
    uint8 constant C_POSITIONS_LENGTH = 66;
    uint8 constant C_POSITION_UNDERLYING = 70;
    uint8 constant C_POSITION_KIND = 71;
    uint8 constant C_CORRELATION_SHAPE = 74;
    uint8 constant C_SCENARIO_UNDERLYING = 77;
    uint8 constant C_MARKETS_LENGTH = 67;
    uint8 constant C_NON_MONOTONIC_TIME = 79;
    uint8 constant C_EWMA_PARAMS_LENGTH = 80;
    uint8 constant F_EWMA_LAMBDA = 29;
    uint8 constant F_SMILE_MIN_VOL = 41;
    uint8 constant MATH_DOMAIN = 2;
    uint8 constant F_POSITION_SIZE = 6;

    struct Case {
        uint256 timestamp;
        int256 cash;
        int256[] collaterals;
        int256[] positions;
        int256[] markets;
        int256[] params;
        int256[] history;
    }

    IRiskCalc calc;
    string json;

    function setUp() public {
        calc = IRiskCalc(Stylus.deploy(CODE));
        json = vm.readFile(VECTORS);
    }

    // ---- reading portfolios.json ----

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

    function _ints(string memory path) internal view returns (int256[] memory v) {
        v = new int256[](_count(path));
        for (uint256 i = 0; i < v.length; i++) {
            v[i] = _int(_idx(path, i));
        }
    }

    function _eq(string memory a, string memory b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    function _load(uint256 k) internal view returns (Case memory c) {
        c.timestamp = vm.parseJsonUint(json, _key(k, ".now"));
        c.cash = _int(_key(k, ".cash"));
        c.history = _ints(_key(k, ".history"));

        string memory p = _key(k, ".collaterals");
        uint256 n = _count(p);
        c.collaterals = new int256[](4 * n);
        for (uint256 i = 0; i < n; i++) {
            string memory e = _idx(p, i);
            c.collaterals[4 * i] = _int(string.concat(e, ".amount"));
            c.collaterals[4 * i + 1] = _int(string.concat(e, ".price"));
            c.collaterals[4 * i + 2] = _int(string.concat(e, ".im_haircut"));
            c.collaterals[4 * i + 3] = _int(string.concat(e, ".mm_haircut"));
        }

        p = _key(k, ".positions");
        n = _count(p);
        c.positions = new int256[](6 * n);
        for (uint256 i = 0; i < n; i++) {
            string memory e = _idx(p, i);
            string memory kind = vm.parseJsonString(json, string.concat(e, ".kind"));
            c.positions[6 * i] = int256(vm.parseJsonUint(json, string.concat(e, ".underlying")));
            c.positions[6 * i + 1] = _eq(kind, "perp") ? int256(0) : _eq(kind, "call") ? int256(1) : int256(2);
            c.positions[6 * i + 2] = _int(string.concat(e, ".size"));
            c.positions[6 * i + 3] = _int(string.concat(e, ".entry_price"));
            c.positions[6 * i + 4] = _int(string.concat(e, ".strike"));
            c.positions[6 * i + 5] = int256(vm.parseJsonUint(json, string.concat(e, ".expiry")));
        }

        p = _key(k, ".underlyings");
        n = _count(p);
        c.markets = new int256[](8 * n);
        string[8] memory mk =
            [".spot", ".scan_range", ".oracle_confidence", ".atm_vol", ".skew", ".curvature", ".min_vol", ".max_vol"];
        for (uint256 i = 0; i < n; i++) {
            for (uint256 j = 0; j < 8; j++) {
                c.markets[8 * i + j] = _int(string.concat(_idx(p, i), mk[j]));
            }
        }

        c.params = _params(_key(k, ".params"));
    }

    function _params(string memory p) internal view returns (int256[] memory v) {
        int256[] memory ext = _ints(string.concat(p, ".extreme_moves"));
        int256[] memory thr = _ints(string.concat(p, ".concentration_threshold"));
        int256[] memory mul = _ints(string.concat(p, ".concentration_multiplier"));
        int256[] memory corr = _ints(string.concat(p, ".correlation"));
        v = new int256[](16 + ext.length + 2 * thr.length + corr.length);
        v[0] = int256(vm.parseJsonUint(json, string.concat(p, ".grid_k")));
        v[1] = _int(string.concat(p, ".vol_down"));
        v[2] = _int(string.concat(p, ".vol_up"));
        v[3] = _int(string.concat(p, ".vol_up_power"));
        v[4] = _int(string.concat(p, ".extreme_cover"));
        v[5] = int256(vm.parseJsonUint(json, string.concat(p, ".time_roll_seconds")));
        v[6] = _eq(vm.parseJsonString(json, string.concat(p, ".mm_mode")), "reduced_grid") ? int256(1) : int256(0);
        v[7] = _int(string.concat(p, ".mm_fraction"));
        v[8] = _int(string.concat(p, ".max_offset_credit"));
        v[9] = _int(string.concat(p, ".short_option_min"));
        v[10] = vm.parseJsonBool(json, string.concat(p, ".es_enabled")) ? int256(1) : int256(0);
        v[11] = _int(string.concat(p, ".es_confidence"));
        v[12] = int256(vm.parseJsonUint(json, string.concat(p, ".es_min_samples")));
        v[13] = _int(string.concat(p, ".es_multiplier"));
        v[14] = int256(ext.length);
        v[15] = int256(thr.length);
        uint256 o = 16;
        for (uint256 i = 0; i < ext.length; i++) v[o++] = ext[i];
        for (uint256 i = 0; i < thr.length; i++) {
            v[o++] = thr[i];
            v[o++] = mul[i];
        }
        for (uint256 i = 0; i < corr.length; i++) v[o++] = corr[i];
    }

    function _margin(Case memory c)
        internal
        view
        returns (int256 eqIm, int256 eqMm, int256 im, int256 mm, int256 health, int256[] memory loss, uint256[] memory worst)
    {
        return calc.accountMargin(c.timestamp, c.cash, c.collaterals, c.positions, c.markets, c.params, c.history);
    }

    function _expectInvalid(Case memory c, uint8 field, uint256 index) internal {
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, field, index));
        _margin(c);
    }

    // ---- differential: every vector, bit for bit ----

    function test_accountMargin_matchesVectorsBitForBit() public view {
        uint256 n = _count(".portfolios");
        assertGe(n, 7, "vector count");
        for (uint256 k = 0; k < n; k++) {
            Case memory c = _load(k);
            string memory name = vm.parseJsonString(json, _key(k, ".name"));
            (int256 eqIm, int256 eqMm, int256 im, int256 mm, int256 health, int256[] memory loss, uint256[] memory worst)
            = _margin(c);
            assertEq(eqIm, _int(_key(k, ".expected.equity_im")), string.concat(name, ": equityIm"));
            assertEq(eqMm, _int(_key(k, ".expected.equity_mm")), string.concat(name, ": equityMm"));
            assertEq(im, _int(_key(k, ".expected.im")), string.concat(name, ": im"));
            assertEq(mm, _int(_key(k, ".expected.mm")), string.concat(name, ": mm"));
            assertEq(health, _int(_key(k, ".expected.health")), string.concat(name, ": health"));
            assertEq(loss.length, c.markets.length / 8, string.concat(name, ": scanLoss length"));
            assertEq(worst.length, loss.length, string.concat(name, ": worstIndex length"));
        }
    }

    /// scenarioPnl returns the vector the scan loss and worst index come from:
    /// scanLoss = max(0, -pnl[worstIndex]) and no scenario is worse.
    function test_scenarioPnl_agreesWithScanLoss() public view {
        uint256 n = _count(".portfolios");
        uint256 checked;
        for (uint256 k = 0; k < n; k++) {
            Case memory c = _load(k);
            (,,,,, int256[] memory loss, uint256[] memory worst) = _margin(c);
            for (uint256 u = 0; u < loss.length; u++) {
                int256[] memory pnl = calc.scenarioPnl(
                    u, c.timestamp, c.cash, c.collaterals, c.positions, c.markets, c.params, c.history
                );
                if (pnl.length == 0) {
                    assertEq(loss[u], 0);
                    continue;
                }
                int256 low = pnl[worst[u]];
                for (uint256 i = 0; i < pnl.length; i++) {
                    assertGe(pnl[i], low, "worst index is not the minimum");
                }
                assertEq(loss[u], low < 0 ? -low : int256(0), "scan loss");
                checked++;
            }
        }
        assertGe(checked, 7);
    }

    // ---- typed errors ----

    function test_accountMargin_revertsWithTypedError_onInvalidSpot() public {
        Case memory c = _load(0);
        c.markets[0] = 0;
        _expectInvalid(c, F_SPOT, 0);
    }

    function test_accountMargin_revertsWithTypedError_onMmHaircutAboveIm() public {
        Case memory c = _load(1); // two collaterals
        c.collaterals[7] = c.collaterals[6] + 1;
        _expectInvalid(c, F_COLLATERAL_MM_HAIRCUT, 1);
    }

    function test_accountMargin_revertsWithTypedError_onRaggedPositions() public {
        Case memory c = _load(0);
        int256[] memory p = new int256[](c.positions.length + 1);
        for (uint256 i = 0; i < c.positions.length; i++) p[i] = c.positions[i];
        c.positions = p;
        _expectInvalid(c, C_POSITIONS_LENGTH, p.length);
    }

    function test_accountMargin_revertsWithTypedError_onUnknownUnderlyingAndKind() public {
        Case memory c = _load(0);
        c.positions[0] = 1; // only underlying 0 exists
        _expectInvalid(c, C_POSITION_UNDERLYING, 0);
        c = _load(0);
        c.positions[1] = 3; // kinds are 0 perp, 1 call, 2 put
        _expectInvalid(c, C_POSITION_KIND, 0);
    }

    function test_accountMargin_revertsWithTypedError_onCorrelationShape() public {
        Case memory c = _load(0);
        int256[] memory p = new int256[](c.params.length + 1);
        for (uint256 i = 0; i < c.params.length; i++) p[i] = c.params[i];
        p[c.params.length] = WAD;
        c.params = p;
        _expectInvalid(c, C_CORRELATION_SHAPE, 2);
    }

    function test_scenarioPnl_revertsWithTypedError_onUnknownUnderlying() public {
        Case memory c = _load(0);
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_SCENARIO_UNDERLYING, 1));
        calc.scenarioPnl(1, c.timestamp, c.cash, c.collaterals, c.positions, c.markets, c.params, c.history);
    }

    function test_accountMargin_revertsOnValue() public {
        Case memory c = _load(0);
        vm.deal(address(this), 1 ether);
        (bool ok, bytes memory ret) = address(calc).call{value: 1}(
            abi.encodeCall(
                IRiskCalc.accountMargin,
                (c.timestamp, c.cash, c.collaterals, c.positions, c.markets, c.params, c.history)
            )
        );
        assertFalse(ok, "non-payable program accepted value");
        assertEq(ret.length, 0, "value is refused with empty revert data, like the SDK router");
        assertEq(address(calc).balance, 0);
    }

    function test_revertsWithTypedError_onUnknownSelectorAndShortCalldata() public view {
        (bool ok, bytes memory ret) = address(calc).staticcall(hex"deadbeef");
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_CALLDATA, 0xdeadbeef));
        (ok, ret) = address(calc).staticcall(abi.encodePacked(IRiskCalc.accountMargin.selector, uint256(1)));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_CALLDATA, 1));
    }

    // ---- accountGreeks ----

    function _greeks(Case memory c)
        internal
        view
        returns (int256[] memory delta, int256[] memory gamma, int256[] memory vega)
    {
        return calc.accountGreeks(c.timestamp, c.cash, c.collaterals, c.positions, c.markets, c.params, c.history);
    }

    /// One long 30-day call at the money: positive delta (below 1 per contract),
    /// gamma and vega; a perp alone has delta = size and no gamma or vega.
    function test_accountGreeks_longCallAndPerp() public view {
        Case memory c = _load(0); // one underlying at spot 2000
        c.positions = new int256[](6);
        c.positions[1] = 1; // call
        c.positions[2] = 2 * WAD;
        c.positions[4] = 2000 * WAD;
        c.positions[5] = int256(c.timestamp + 30 days);
        (int256[] memory delta, int256[] memory gamma, int256[] memory vega) = _greeks(c);
        assertEq(delta.length, 1);
        assertGt(delta[0], 0, "delta");
        assertLt(delta[0], 2 * WAD, "delta below size");
        assertGt(gamma[0], 0, "gamma");
        assertGt(vega[0], 0, "vega");

        c.positions[1] = 0; // perp
        c.positions[3] = 1900 * WAD;
        (delta, gamma, vega) = _greeks(c);
        assertEq(delta[0], 2 * WAD);
        assertEq(gamma[0], 0);
        assertEq(vega[0], 0);
    }

    /// Every vector: one entry per underlying, and the same typed errors as accountMargin.
    function test_accountGreeks_shapesAndTypedError() public {
        uint256 n = _count(".portfolios");
        for (uint256 k = 0; k < n; k++) {
            Case memory c = _load(k);
            (int256[] memory delta, int256[] memory gamma, int256[] memory vega) = _greeks(c);
            assertEq(delta.length, c.markets.length / 8);
            assertEq(gamma.length, delta.length);
            assertEq(vega.length, delta.length);
        }
        Case memory bad = _load(0);
        bad.markets[0] = 0;
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, F_SPOT, 0));
        _greeks(bad);
    }

    // ---- markPrice ----

    /// A flat smile at `vol` (scan range and confidence 0).
    function _flat(int256 spot, int256 vol) internal pure returns (int256[] memory m) {
        m = new int256[](8);
        m[0] = spot;
        m[3] = vol;
        m[6] = vol;
        m[7] = vol;
    }

    /// Every Black-76 vector (textbook values and a grid), 0 wei: the program
    /// runs keel-risk's Black-76 at the smile vol, t = expiry_seconds / 365 days.
    function test_markPrice_matchesBlack76VectorsBitForBit() public view {
        string memory b76 = vm.readFile(BLACK76);
        uint256 t0 = 1_700_000_000;
        uint256 n;
        while (vm.keyExistsJson(b76, string.concat(".vectors[", vm.toString(n), "]"))) n++;
        assertGe(n, 80, "vector count");
        for (uint256 i = 0; i < n; i++) {
            string memory v = string.concat(".vectors[", vm.toString(i), "]");
            int256 spot = vm.parseJsonInt(b76, string.concat(v, ".forward_wad"));
            int256 strike = vm.parseJsonInt(b76, string.concat(v, ".strike_wad"));
            int256 vol = vm.parseJsonInt(b76, string.concat(v, ".vol_wad"));
            uint256 expiry = t0 + vm.parseJsonUint(b76, string.concat(v, ".expiry_seconds"));
            uint256 kind = _eq(vm.parseJsonString(b76, string.concat(v, ".kind")), "call") ? 1 : 2;
            int256 want = vm.parseJsonInt(b76, string.concat(v, ".price"));
            string memory note = vm.parseJsonString(b76, string.concat(v, ".note"));
            // Inside the domain the holder's side does not matter.
            assertEq(calc.markPrice(t0, _flat(spot, vol), kind, strike, expiry, WAD), want, note);
            assertEq(calc.markPrice(t0, _flat(spot, vol), kind, strike, expiry, -WAD), want, note);
        }
    }

    function test_markPrice_perpIsSpotAndExpiredIsIntrinsic() public view {
        int256[] memory m = _flat(2000 * WAD, 8e17);
        assertEq(calc.markPrice(1e9, m, 0, 0, 0, 0), 2000 * WAD, "perp");
        assertEq(calc.markPrice(1e9, m, 1, 1900 * WAD, 1e9, WAD), 100 * WAD, "expired ITM call");
        assertEq(calc.markPrice(1e9, m, 2, 1900 * WAD, 1e9 - 1, -WAD), 0, "expired OTM put");
    }

    /// Strikes outside [spot / 5, 5 x spot] (a put at 3,000 with spot 550, the
    /// finding that made such positions unliquidatable) get margin's bounded value
    /// instead of a domain error: the out-of-the-money side between 0 (longs) and
    /// its value at the boundary strike (shorts), the other side by parity.
    function test_markPrice_outsideBlack76DomainIsBounded() public view {
        uint256 t0 = 1e9;
        uint256 expiry = t0 + 30 days;
        int256[] memory m = _flat(550 * WAD, 8e17); // flat: the same vol at every strike
        int256 boundaryCall = calc.markPrice(t0, m, 1, 2750 * WAD, expiry, WAD); // K = 5 x spot
        assertGt(boundaryCall, 0, "boundary call");
        // Deep ITM put K = 3,000: intrinsic 2,450 plus the call bound.
        assertEq(calc.markPrice(t0, m, 2, 3000 * WAD, expiry, WAD), 2450 * WAD, "long put");
        assertEq(calc.markPrice(t0, m, 2, 3000 * WAD, expiry, -WAD), 2450 * WAD + boundaryCall, "short put");
        // Deep OTM call K = 3,000: 0 for longs, the boundary call for shorts.
        assertEq(calc.markPrice(t0, m, 1, 3000 * WAD, expiry, 0), 0, "long call");
        assertEq(calc.markPrice(t0, m, 1, 3000 * WAD, expiry, -1), boundaryCall, "short call");
        // Below spot / 5: the put side is bounded by the put at ceil(spot / 5) = 110.
        int256 boundaryPut = calc.markPrice(t0, m, 2, 110 * WAD, expiry, WAD);
        assertEq(calc.markPrice(t0, m, 2, 100 * WAD, expiry, WAD), 0, "long put below");
        assertEq(calc.markPrice(t0, m, 2, 100 * WAD, expiry, -WAD), boundaryPut, "short put below");
        assertEq(calc.markPrice(t0, m, 1, 100 * WAD, expiry, -WAD), 450 * WAD + boundaryPut, "short call below");
    }

    function test_markPrice_revertsWithTypedErrors() public {
        int256[] memory m = _flat(2000 * WAD, 8e17);
        m[6] = m[3] + 1; // minVol above atmVol
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, F_SMILE_MIN_VOL, 0));
        calc.markPrice(1e9, m, 1, 2000 * WAD, 1e9 + 1 days, WAD);

        int256[] memory seven = new int256[](7);
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_MARKETS_LENGTH, 7));
        calc.markPrice(1e9, seven, 0, 0, 0, 0);

        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_POSITION_KIND, 0));
        calc.markPrice(1e9, _flat(2000 * WAD, 8e17), 3, 2000 * WAD, 1e9 + 1 days, WAD);

        // An option's size must fit int128.
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, F_POSITION_SIZE, 0));
        calc.markPrice(1e9, _flat(2000 * WAD, 8e17), 2, 2000 * WAD, 1e9 + 1 days, type(int256).min);

        // A strike so far below spot that a skewed smile's ln(K / F) is undefined:
        // a domain error, as in margin.
        int256[] memory skewed = _flat(2000 * WAD, 8e17);
        skewed[4] = -2e17;
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskMathError.selector, MATH_DOMAIN));
        calc.markPrice(1e9, skewed, 2, 1, 1e9 + 1 days, WAD);
    }

    // ---- ewmaUpdate ----

    /// 0.94 per day, k = 3, 1-day horizon, R in [5%, 50%], fall 10%/day, APC 25%.
    function _ewmaParams() internal pure returns (int256[] memory p) {
        p = new int256[](8);
        p[0] = 94e16;
        p[1] = 1 days;
        p[2] = 3 * WAD;
        p[3] = 1 days;
        p[4] = 5e16;
        p[5] = 5e17;
        p[6] = 1e17;
        p[7] = 25e16;
    }

    /// keel-risk's initial state, recomputed here: variance per second =
    /// ceil(ceil(vol^2) / 365 days); R = clamp(ceil(k sqrt_up(v x horizon)), min, max).
    function test_ewmaUpdate_firstUpdateIsTheInitialState() public view {
        int256[] memory p = _ewmaParams();
        int256 vol = 8e17;
        int256[] memory s = calc.ewmaUpdate(1e9, 2000 * WAD, vol, p, new int256[](5));
        assertEq(s.length, 5);
        uint256 v = Math.ceilDiv(Math.mulDiv(uint256(vol), uint256(vol), 1e18, Math.Rounding.Ceil), 365 days);
        uint256 sigma = Math.sqrt(v * 1 days * 1e18, Math.Rounding.Ceil);
        uint256 r = Math.mulDiv(3e18, sigma, 1e18, Math.Rounding.Ceil);
        r = Math.max(5e16, Math.min(r, 5e17));
        assertEq(s[0], int256(v), "variancePerSecond");
        assertEq(s[1], 2000 * WAD, "lastPrice = price");
        assertEq(s[2], 1e9, "lastUpdate = now");
        assertEq(s[3], int256(r), "scanRange");
        assertEq(s[4], int256(r), "peakRange = scanRange");
    }

    /// A 30% crash a day later raises R at once (and the peak with it); calm
    /// afterwards lets it fall at most 10% a day, never below 25% of the peak.
    function test_ewmaUpdate_subsequentUpdates() public view {
        int256[] memory p = _ewmaParams();
        int256[] memory s0 = calc.ewmaUpdate(1e9, 2000 * WAD, 5e17, p, new int256[](5));
        int256[] memory s1 = calc.ewmaUpdate(1e9 + 1 days, 1400 * WAD, 0, p, s0);
        assertEq(s1[1], 1400 * WAD);
        assertEq(s1[2], 1e9 + 1 days);
        assertGt(s1[0], s0[0], "variance up");
        assertGt(s1[3], s0[3], "range up");
        assertEq(s1[4], s1[3], "peak follows");
        int256[] memory s2 = calc.ewmaUpdate(1e9 + 2 days, 1401 * WAD, 0, p, s1);
        assertLe(s2[3], s1[3]);
        assertGe(s2[3], s1[3] - s1[3] / 10, "falls at most 10% a day");
        assertEq(s2[4], s1[4], "peak kept");
    }

    function test_ewmaUpdate_revertsWithTypedErrors() public {
        int256[] memory p = _ewmaParams();
        int256[] memory s = calc.ewmaUpdate(1e9, 2000 * WAD, 5e17, p, new int256[](5));
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_NON_MONOTONIC_TIME, 1e9));
        calc.ewmaUpdate(1e9, 2000 * WAD, 0, p, s);

        p[0] = WAD; // lambda 1: no decay
        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, F_EWMA_LAMBDA, 0));
        calc.ewmaUpdate(1e9 + 1, 2000 * WAD, 0, p, s);

        vm.expectRevert(abi.encodeWithSelector(IRiskCalc.RiskInvalidInput.selector, C_EWMA_PARAMS_LENGTH, 7));
        calc.ewmaUpdate(1e9 + 1, 2000 * WAD, 0, new int256[](7), s);
    }

    // ---- gas as the number of option series grows ----

    /// n short calls at distinct strikes on one underlying (n series), standard
    /// parameters, ample collateral.
    function _series(uint256 n) internal view returns (Case memory c) {
        c = _load(0); // one underlying at spot 2000, standard params
        c.positions = new int256[](6 * n);
        for (uint256 i = 0; i < n; i++) {
            c.positions[6 * i] = 0;
            c.positions[6 * i + 1] = i % 2 == 0 ? int256(1) : int256(2);
            c.positions[6 * i + 2] = -WAD;
            c.positions[6 * i + 4] = int256(1500 + 50 * i) * WAD;
            c.positions[6 * i + 5] = int256(c.timestamp + 30 days);
        }
    }

    /// Logs the gas of accountMargin for 1..32 series (the shim charges the
    /// Stylus gas the runtime metered). Bounds: grows with n, and a 16-series
    /// account (the engine's per-account cap) stays far below a block.
    function test_gas_accountMargin_bySeriesCount() public view {
        uint256[6] memory counts = [uint256(1), 2, 4, 8, 16, 32];
        uint256 prev;
        for (uint256 j = 0; j < counts.length; j++) {
            Case memory c = _series(counts[j]);
            uint256 g = gasleft();
            (,, int256 im,,,,) = _margin(c);
            g -= gasleft();
            console2.log("accountMargin series=%d gas=%d", counts[j], g);
            assertGt(im, 0);
            assertGt(g, prev, "gas grows with the series count");
            if (counts[j] == 16) assertLt(g, 10_000_000, "16 series under 10M gas");
            prev = g;
        }
    }
}
