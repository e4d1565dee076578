// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, console2} from "forge-std/Test.sol";
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
}

/// Differential test: the real keel_risk_calc WASM, run through the forge bridge,
/// must reproduce the keel-risk vectors (contracts/risk/vectors/portfolios.json,
/// the file contracts/risk/tests/portfolio_vectors.rs checks natively) bit for bit.
contract RiskCalcTest is Test {
    string constant CODE = "target/stylus/keel_risk_calc.code";
    string constant VECTORS = "contracts/risk/vectors/portfolios.json";
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
