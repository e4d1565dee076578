// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Stylus} from "../stylus/Stylus.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockAggregator} from "../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineAdminTest
/// @notice Unit tests of the constructor, the module wiring and every admin
/// entry point (roles, markets, sequencer, registries, parameters), including
/// each typed error they can raise. Admin selectors reach the admin program
/// through the engine's delegatecall fallback.
contract EngineAdminTest is EngineBase {
    // Field codes of KeelParameterOutOfBounds (contracts/engine/src/params.rs).
    uint8 constant F_IM_HAIRCUT = 1;
    uint8 constant F_MM_HAIRCUT = 2;
    uint8 constant F_HEARTBEAT = 3;
    uint8 constant F_DECIMALS = 4;
    uint8 constant F_MAX_DEVIATION = 5;
    uint8 constant F_CONFIDENCE_ADDON = 6;
    uint8 constant F_GUARD_COOLDOWN = 7;
    uint8 constant F_STRIKE = 8;
    uint8 constant F_EXPIRY = 9;
    uint8 constant F_KIND = 10;
    uint8 constant F_CORRELATION = 11;
    uint8 constant F_GRACE = 12;
    uint8 constant F_FLAG_REWARD = 13;
    uint8 constant F_DISCOUNT = 14;
    uint8 constant F_DISCOUNT_RATE = 15;
    uint8 constant F_BUFFER = 16;
    uint8 constant F_WINDOW = 17;
    uint8 constant F_CAP = 18;
    uint8 constant F_SETTLEMENT_HAIRCUT = 22;
    uint8 constant F_TOKEN = 23;
    uint8 constant F_ID = 24;
    uint8 constant F_MIN_NOTIONAL = 26;
    uint8 constant F_CLOSE_FACTOR = 27;
    uint8 constant F_PRICE_BAND = 28;
    uint8 constant F_SETTLEMENT_DELAY = 29;
    uint8 constant F_STRIKE_RANGE = 30;
    uint8 constant F_OI_CAP = 31;

    // keel-risk Field codes (contracts/risk/src/error.rs) in KeelRiskError(1, field, value).
    uint8 constant R_GRID_K = 13;
    uint8 constant R_MM_FRACTION = 20;
    uint8 constant R_EWMA_LAMBDA = 29;
    uint8 constant R_SMILE_ATM = 38;

    function _oob(uint8 field, int256 value, int256 min, int256 max) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelParameterOutOfBounds.selector, field, value, min, max));
    }

    function _unauthorized(address who) internal {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, who));
    }

    /// Installs a fresh engine program and runs its constructor with `args`;
    /// returns the call's status and revert data.
    function _construct(bytes memory args) internal returns (address program, bool ok, bytes memory ret) {
        program = Stylus.deploy(ENGINE_CODE);
        (ok, ret) = program.call(bytes.concat(Stylus.CONSTRUCTOR_SELECTOR, args));
    }

    // ------------------------------------------------------------ constructor and modules

    function test_constructor_setsRolesSettlementTokenAndDefaults() public view {
        assertEq(engine.owner(), owner);
        assertEq(engine.riskAdmin(), owner);
        assertEq(engine.guardian(), owner);
        assertEq(engine.pendingOwner(), address(0));
        assertFalse(engine.paused());
        assertEq(engine.lossIndex(), W);
        assertEq(engine.insuranceFund(), 0);
        (address token, address feed, uint8 dec, uint64 imh, uint64 mmh, uint256 cap, uint256 total) =
            engine.collateral(USDC_ID);
        assertEq(token, address(usdc));
        assertEq(feed, address(0));
        assertEq(dec, 6);
        assertEq(imh, 0);
        assertEq(mmh, 0);
        assertEq(cap, type(uint256).max);
        assertEq(total, 0);
        (uint8 c, uint8 u, uint32 i) = engine.registryCounts();
        assertEq(c, 3);
        assertEq(u, 2);
        assertEq(i, 4);
    }

    function test_modules_returnsTheFivePrograms() public view {
        (address c, address a, address k, address m, address u) = engine.modules();
        assertEq(c, riskCalc);
        assertEq(a, adminModule);
        assertEq(k, keeperModule);
        assertEq(m, marginModule);
        assertEq(u, upkeepModule);
    }

    function test_constructor_emitsOwnershipAndSettlementCollateral() public {
        address program = Stylus.deploy(ENGINE_CODE);
        vm.expectEmit(true, true, false, true, program);
        emit IKeelEngine.OwnershipTransferred(address(0), bob);
        vm.expectEmit(true, true, false, true, program);
        emit IKeelEngine.CollateralSet(0, address(usdc), address(0), 0, 0, type(uint256).max);
        Stylus.construct(program, _ctorArgs(bob, address(usdc), _modules()), 0);
        assertEq(IKeelEngine(program).owner(), bob);
    }

    function test_constructor_reverts_whenCalledTwice() public {
        (bool ok, bytes memory ret) = address(engine).call(
            bytes.concat(Stylus.CONSTRUCTOR_SELECTOR, _ctorArgs(bob, address(usdc), _modules()))
        );
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelAlreadyInitialized.selector));
        assertEq(engine.owner(), owner, "owner unchanged");
    }

    function test_constructor_reverts_onZeroOwnerTokenOrModule() public {
        bytes memory invalid = abi.encodeWithSelector(IKeelEngine.KeelInvalidAddress.selector);
        address t = address(usdc);
        // Zero owner, zero token, then each of the five modules zero.
        bytes[7] memory cases;
        cases[0] = _ctorArgs(address(0), t, _modules());
        cases[1] = _ctorArgs(owner, address(0), _modules());
        for (uint256 m = 0; m < 5; m++) {
            address[5] memory mods = _modules();
            mods[m] = address(0);
            cases[2 + m] = _ctorArgs(owner, t, mods);
        }
        for (uint256 i = 0; i < cases.length; i++) {
            (address program, bool ok, bytes memory ret) = _construct(cases[i]);
            assertFalse(ok, "zero address accepted");
            assertEq(ret, invalid);
            // Nothing initialised: no modules (so forwarded selectors such as
            // owner() revert until a constructor succeeds).
            (address c, address a, address k, address m, address u) = IKeelEngine(program).modules();
            assertEq(c, address(0), "nothing initialised");
            assertEq(a, address(0), "nothing initialised");
            assertEq(k, address(0), "nothing initialised");
            assertEq(m, address(0), "nothing initialised");
            assertEq(u, address(0), "nothing initialised");
            vm.expectRevert(bytes(""));
            IKeelEngine(program).owner();
        }
    }

    function test_constructor_reverts_onSettlementTokenDecimals() public {
        MockERC20 d24 = new MockERC20("Too precise", "P24", 24);
        (, bool ok, bytes memory ret) = _construct(_ctorArgs(owner, address(d24), _modules()));
        assertFalse(ok);
        assertEq(
            ret, abi.encodeWithSelector(IKeelEngine.KeelParameterOutOfBounds.selector, F_DECIMALS, int256(24), 0, 18)
        );
        address eoa = makeAddr("not a token");
        (, ok, ret) = _construct(_ctorArgs(owner, eoa, _modules()));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, eoa, OR_CALL_FAILED, 0));
    }

    // ------------------------------------------------------------ ABI edge cases

    function test_calldata_reverts_onDirtyOrShortArguments() public {
        // deposit(uint256, uint8, uint256) with id = 256: argument 1 does not fit uint8.
        (bool ok, bytes memory ret) =
            address(engine).call(abi.encodeWithSelector(IKeelEngine.deposit.selector, acct(alice), uint256(256), 1));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidCalldata.selector, 1));
        // Only the first argument present.
        (ok, ret) = address(engine).call(abi.encodePacked(IKeelEngine.deposit.selector, acct(alice)));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidCalldata.selector, 1));
        // An admin selector (forwarded by delegatecall) with a bool word of 2.
        (ok, ret) = address(engine).call(abi.encodeWithSelector(IKeelEngine.setMarket.selector, bob, uint256(2)));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidCalldata.selector, 1));
        assertFalse(engine.isMarket(bob));
        // A keeper selector without its argument.
        (ok, ret) = address(engine).call(abi.encodeWithSelector(IKeelEngine.flag.selector));
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeelEngine.KeelInvalidCalldata.selector, 0));
    }

    function test_calldata_reverts_onUnknownSelectorOrValue() public {
        (bool ok, bytes memory ret) = address(engine).call(hex"deadbeef");
        assertFalse(ok);
        assertEq(ret.length, 0, "unknown selector: empty revert data");
        vm.deal(address(this), 1 ether);
        (ok, ret) = address(engine).call{value: 1}(abi.encodeCall(IKeelEngine.accountMargin, (acct(alice))));
        assertFalse(ok);
        assertEq(ret.length, 0, "value: empty revert data");
        (ok, ret) = address(engine).call{value: 1}(abi.encodeCall(IKeelEngine.owner, ()));
        assertFalse(ok, "admin selector with value");
        assertEq(address(engine).balance, 0);
    }

    // ------------------------------------------------------------ ownership and roles

    function test_transferOwnership_reverts_whenNotOwner() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.transferOwnership(bob);
    }

    function test_acceptOwnership_reverts_withoutPendingOrFromStranger() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.acceptOwnership();
        vm.prank(owner);
        engine.transferOwnership(bob);
        _unauthorized(carol);
        vm.prank(carol);
        engine.acceptOwnership();
    }

    function test_transferOwnership_isTwoStepAndEmits() public {
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.OwnershipTransferStarted(owner, bob);
        vm.prank(owner);
        engine.transferOwnership(bob);
        assertEq(engine.pendingOwner(), bob);
        assertEq(engine.owner(), owner, "not yet transferred");
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.OwnershipTransferred(owner, bob);
        vm.prank(bob);
        engine.acceptOwnership();
        assertEq(engine.owner(), bob);
        assertEq(engine.pendingOwner(), address(0));
        // The old owner lost owner-only rights.
        _unauthorized(owner);
        vm.prank(owner);
        engine.setMarket(carol, true);
    }

    function test_setRole_reverts_whenNotOwner() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.setRole(1, bob);
    }

    function test_setRole_reverts_onZeroAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAddress.selector));
        vm.prank(owner);
        engine.setRole(1, address(0));
    }

    function test_setRole_reverts_onUnknownRole() public {
        _oob(F_ID, 3, 1, 2);
        vm.prank(owner);
        engine.setRole(3, bob);
    }

    function test_setRole_grantsRiskAdminAndGuardian() public {
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.RoleSet(1, bob);
        vm.prank(owner);
        engine.setRole(1, bob);
        vm.prank(owner);
        engine.setRole(2, carol);
        assertEq(engine.riskAdmin(), bob);
        assertEq(engine.guardian(), carol);
        // The new risk admin may list; a stranger may not; the owner still may.
        vm.prank(bob);
        assertEq(engine.listInstrument(BTC, 0, 0, 0), 4);
        _unauthorized(alice);
        vm.prank(alice);
        engine.listInstrument(BTC, 0, 0, 0);
        vm.prank(owner);
        assertEq(engine.listInstrument(BTC, 0, 0, 0), 5);
        // The new guardian may pause; the old role holder (Bob, risk admin) may not.
        vm.prank(carol);
        engine.setPaused(true);
        assertTrue(engine.paused());
        _unauthorized(bob);
        vm.prank(bob);
        engine.setPaused(false);
    }

    // ------------------------------------------------------------ pause and markets

    function test_setPaused_reverts_whenNotGuardianOrOwner() public {
        _unauthorized(alice);
        vm.prank(alice);
        engine.setPaused(true);
    }

    function test_setPaused_togglesAndEmits() public {
        vm.expectEmit(false, false, false, true, address(engine));
        emit IKeelEngine.PauseSet(true);
        vm.prank(owner);
        engine.setPaused(true);
        assertTrue(engine.paused());
        vm.prank(owner);
        engine.setPaused(false);
        assertFalse(engine.paused());
    }

    function test_setMarket_reverts_whenNotOwner() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.setMarket(bob, true);
    }

    function test_setMarket_reverts_onZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAddress.selector));
        vm.prank(owner);
        engine.setMarket(address(0), true);
    }

    function test_setMarket_revokesReporting() public {
        _fund(alice, 10_000);
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.MarketSet(desk, false);
        vm.prank(owner);
        engine.setMarket(desk, false);
        assertFalse(engine.isMarket(desk));
        assertTrue(engine.isMarket(address(market)));
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, desk));
        vm.prank(desk);
        engine.reportTrade(acct(alice), ETH_PERP, W, 3_000e18, 0);
    }

    function test_setSequencer_reverts_whenNotRiskAdminOrGraceTooLong() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.setSequencer(address(sequencerFeed), 60);
        _oob(F_GRACE, 86_401, 0, 86_400);
        vm.prank(owner);
        engine.setSequencer(address(sequencerFeed), 86_401);
    }

    function test_setSequencer_zeroFeedDisablesTheCheck() public {
        _fund(alice, 10_000);
        sequencerFeed.pushAt(1, block.timestamp, block.timestamp); // down
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelSequencerUnavailable.selector, block.timestamp));
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.ParamsSet(2);
        vm.prank(owner);
        engine.setSequencer(address(0), 0);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        assertEq(_positionSize(acct(alice), ETH_PERP), W);
    }

    // ------------------------------------------------------------ collaterals

    function test_setCollateral_reverts_whenNotRiskAdmin() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, 0, 0, 1);
    }

    function test_setCollateral_reverts_outOfBounds() public {
        vm.startPrank(owner);
        _oob(F_MM_HAIRCUT, 0.2e18, 0, 0.1e18);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, 0.1e18, 0.2e18, 1);
        _oob(F_IM_HAIRCUT, 0.96e18, 0, 0.95e18);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, 0.96e18, 0, 1);
        _oob(F_HEARTBEAT, 10, 60, 172_800);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 10, 0, 0, 1);
        _oob(F_HEARTBEAT, 172_801, 60, 172_800);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 172_801, 0, 0, 1);
        _oob(F_ID, 5, 0, 3); // ids are dense: next free is 3
        engine.setCollateral(5, address(weth), address(ethFeed), 3_600, 0, 0, 1);
        _oob(F_SETTLEMENT_HAIRCUT, 1, 0, 0);
        engine.setCollateral(USDC_ID, address(usdc), address(0), 0, 1, 0, 1);
        _oob(F_TOKEN, 0, 0, 0); // an existing entry keeps its token
        engine.setCollateral(WETH_ID, address(wbtc), address(ethFeed), 3_600, 0, 0, 1);
        vm.stopPrank();
    }

    /// One token, one collateral id: listing a token already listed under
    /// another id (the settlement token included) is refused, with that id.
    function test_setCollateral_reverts_onTokenListedTwice() public {
        vm.startPrank(owner);
        _oob(F_TOKEN, int256(uint256(WETH_ID)), 0, 0);
        engine.setCollateral(3, address(weth), address(ethFeed), 3_600, 0.1e18, 0.05e18, 1e24);
        _oob(F_TOKEN, int256(uint256(USDC_ID)), 0, 0);
        engine.setCollateral(3, address(usdc), address(ethFeed), 3_600, 0.1e18, 0.05e18, 1e24);
        vm.stopPrank();
        (uint8 c,,) = engine.registryCounts();
        assertEq(c, 3, "nothing listed");
    }

    function test_setCollateral_reverts_onBadTokenOrFeed() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAddress.selector));
        engine.setCollateral(3, address(0), address(ethFeed), 3_600, 0, 0, 1);
        address eoa = makeAddr("no decimals");
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, eoa, OR_CALL_FAILED, 0));
        engine.setCollateral(3, eoa, address(ethFeed), 3_600, 0, 0, 1);
        MockERC20 d24 = new MockERC20("Too precise", "P24", 24);
        _oob(F_DECIMALS, 24, 0, 18);
        engine.setCollateral(3, address(d24), address(ethFeed), 3_600, 0, 0, 1);
        MockERC20 ok = new MockERC20("Fine", "OK", 18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, eoa, OR_CALL_FAILED, 0));
        engine.setCollateral(3, address(ok), eoa, 3_600, 0, 0, 1);
        vm.stopPrank();
        (uint8 c,,) = engine.registryCounts();
        assertEq(c, 3, "nothing listed");
    }

    function test_setCollateral_reverts_whenRegistryFull() public {
        vm.startPrank(owner);
        for (uint8 id = 3; id < 8; id++) {
            MockERC20 t = new MockERC20("Collateral", "C", 18);
            engine.setCollateral(id, address(t), address(ethFeed), 3_600, 0.5e18, 0.25e18, 1e24);
        }
        MockERC20 ninth = new MockERC20("Ninth", "C9", 18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, KIND_COLLATERAL, 8));
        engine.setCollateral(8, address(ninth), address(ethFeed), 3_600, 0, 0, 1);
        vm.stopPrank();
        (uint8 c,,) = engine.registryCounts();
        assertEq(c, 8);
    }

    function test_setCollateral_listsAndUpdatesWithEvent() public {
        MockERC20 usdt = new MockERC20("Tether", "USDT", 6);
        MockAggregator usdtFeed = new MockAggregator(8, "USDT / USD");
        usdtFeed.push(1e8);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.CollateralSet(3, address(usdt), address(usdtFeed), 0.02e18, 0.01e18, 1e12);
        vm.prank(owner);
        engine.setCollateral(3, address(usdt), address(usdtFeed), 86_400, 0.02e18, 0.01e18, 1e12);
        (address token, address feed, uint8 dec, uint64 imh, uint64 mmh, uint256 cap, uint256 total) =
            engine.collateral(3);
        assertEq(token, address(usdt));
        assertEq(feed, address(usdtFeed));
        assertEq(dec, 6);
        assertEq(imh, 0.02e18);
        assertEq(mmh, 0.01e18);
        assertEq(cap, 1e12);
        assertEq(total, 0);
        // Update haircuts and cap of WETH (same token).
        vm.prank(owner);
        engine.setCollateral(WETH_ID, address(weth), address(ethFeed), 3_600, 0.2e18, 0.1e18, 5e18);
        (,,, imh, mmh, cap,) = engine.collateral(WETH_ID);
        assertEq(imh, 0.2e18);
        assertEq(mmh, 0.1e18);
        assertEq(cap, 5e18);
        // The settlement token's cap may change (haircuts stay 0).
        vm.prank(owner);
        engine.setCollateral(USDC_ID, address(usdc), address(0), 0, 0, 0, 1e12);
        (,,,,, cap,) = engine.collateral(USDC_ID);
        assertEq(cap, 1e12);
    }

    function test_collateral_reverts_onUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_COLLATERAL, 9));
        engine.collateral(9);
    }

    // ------------------------------------------------------------ underlyings

    function test_setUnderlying_reverts_whenNotRiskAdmin() public {
        _unauthorized(bob);
        vm.prank(bob);
        engine.setUnderlying(2, address(ethFeed), address(0), 3_600, 0.1e18, 600, 0);
    }

    function test_setUnderlying_reverts_outOfBounds() public {
        address f = address(ethFeed);
        vm.startPrank(owner);
        _oob(F_HEARTBEAT, 30, 60, 172_800);
        engine.setUnderlying(2, f, address(0), 30, 0.1e18, 600, 0);
        _oob(F_MAX_DEVIATION, 1, 0.005e18, 0.5e18);
        engine.setUnderlying(2, f, address(0), 3_600, 1, 600, 0);
        _oob(F_GUARD_COOLDOWN, 10, 60, 86_400);
        engine.setUnderlying(2, f, address(0), 3_600, 0.1e18, 10, 0);
        _oob(F_CONFIDENCE_ADDON, 1e18, 0, 0.5e18);
        engine.setUnderlying(2, f, address(0), 3_600, 0.1e18, 600, 1e18);
        _oob(F_ID, 3, 0, 2);
        engine.setUnderlying(3, f, address(0), 3_600, 0.1e18, 600, 0);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAddress.selector));
        engine.setUnderlying(2, address(0), address(0), 3_600, 0.1e18, 600, 0);
        address eoa = makeAddr("no decimals");
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelOracleInvalid.selector, eoa, OR_CALL_FAILED, 0));
        engine.setUnderlying(2, f, eoa, 3_600, 0.1e18, 600, 0);
        vm.stopPrank();
    }

    function test_setUnderlying_reverts_whenRegistryFull() public {
        vm.startPrank(owner);
        for (uint8 id = 2; id < 8; id++) {
            engine.setUnderlying(id, address(ethFeed), address(0), 3_600, 0.1e18, 600, 0);
        }
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, KIND_UNDERLYING, 8));
        engine.setUnderlying(8, address(ethFeed), address(0), 3_600, 0.1e18, 600, 0);
        vm.stopPrank();
        (, uint8 u,) = engine.registryCounts();
        assertEq(u, 8);
    }

    function test_setUnderlying_listsWithDefaultsAndEmits() public {
        MockAggregator solFeed = new MockAggregator(8, "SOL / USD");
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.UnderlyingSet(2, address(solFeed), address(0));
        vm.prank(owner);
        engine.setUnderlying(2, address(solFeed), address(0), 3_600, 0.1e18, 600, 0);
        (address pf, address vf, int128 last, int128 variance, int128 range, uint64 poked, uint64 guardUntil) =
            engine.underlying(2);
        assertEq(pf, address(solFeed));
        assertEq(vf, address(0));
        assertEq(last, 0);
        assertEq(variance, 0);
        assertEq(range, 0.5e18, "scan range starts at the EWMA maximum");
        assertEq(poked, 0);
        assertEq(guardUntil, 0);
    }

    function test_underlying_reverts_onUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 5));
        engine.underlying(5);
    }

    function test_setSmile_reverts_onUnknownBoundsOrRole() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 4));
        engine.setSmile(4, 0.5e18, 0, 0, 0.1e18, 3e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelRiskError.selector, 1, R_SMILE_ATM, 0));
        engine.setSmile(BTC, 0, 0, 0, 0.1e18, 3e18);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setSmile(BTC, 0.5e18, 0, 0, 0.1e18, 3e18);
    }

    function test_setSmile_changesOptionMargin() public {
        // Sticky strike: the smile moves the vol of strikes away from the
        // current forward, so make the 3,000 put out of the money first.
        _setEth(3_300e8);
        _fund(alice, 100_000);
        _trade(acct(alice), ETH_PUT, -W, 150e18);
        Margin memory before = _margin(acct(alice));
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.UnderlyingSet(ETH, address(ethFeed), address(ethVolFeed));
        vm.prank(owner);
        engine.setSmile(ETH, 0.8e18, 0, 2e18, 0.1e18, 3e18); // a smile: vol rises away from the money
        Margin memory smiled = _margin(acct(alice));
        // The OTM put's vol rises: the short is marked dearer (equity falls) and
        // the account's free margin (equity - IM) shrinks.
        assertLt(smiled.equityIm, before.equityIm, "the short put is marked at the higher smile vol");
        assertLt(
            smiled.equityIm - smiled.im, before.equityIm - before.im, "free margin shrinks when the put's vol rises"
        );
    }

    function test_setEwma_reverts_onUnknownBoundsOrRole() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 2));
        engine.setEwma(2, 0.94e18, 86_400, 3e18, 86_400, 0.05e18, 0.5e18, 0.2e18, 0.25e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelRiskError.selector, 1, R_EWMA_LAMBDA, 0.25e18));
        engine.setEwma(ETH, 0.25e18, 86_400, 3e18, 86_400, 0.05e18, 0.5e18, 0.2e18, 0.25e18);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setEwma(ETH, 0.94e18, 86_400, 3e18, 86_400, 0.05e18, 0.5e18, 0.2e18, 0.25e18);
    }

    function test_setEwma_reclampsTheScanRange() public {
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.ParamsSet(0);
        vm.prank(owner);
        engine.setEwma(ETH, 0.94e18, 86_400, 3e18, 86_400, 0.05e18, 0.2e18, 0.2e18, 0.25e18);
        (,,,, int128 range,,) = engine.underlying(ETH);
        assertEq(range, 0.2e18, "clamped down to the new maximum");
        vm.prank(owner);
        engine.setEwma(ETH, 0.94e18, 86_400, 3e18, 86_400, 0.3e18, 0.4e18, 0.2e18, 0.25e18);
        (,,,, range,,) = engine.underlying(ETH);
        assertEq(range, 0.3e18, "clamped up to the new minimum");
    }

    function test_setCorrelation_reverts_onDiagonalBoundsUnknownOrRole() public {
        vm.startPrank(owner);
        _oob(F_CORRELATION, 2e18, -1e18, 1e18);
        engine.setCorrelation(ETH, ETH, 0.5e18);
        _oob(F_CORRELATION, 1.5e18, -1e18, 1e18);
        engine.setCorrelation(ETH, BTC, 1.5e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 7));
        engine.setCorrelation(ETH, 7, 0.5e18);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setCorrelation(ETH, BTC, 0.5e18);
    }

    function test_setCorrelation_isSymmetric() public {
        assertEq(engine.correlation(ETH, BTC), 0, "unset pairs are uncorrelated");
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.CorrelationSet(BTC, ETH, -0.3e18);
        vm.prank(owner);
        engine.setCorrelation(BTC, ETH, -0.3e18);
        assertEq(engine.correlation(ETH, BTC), -0.3e18);
        assertEq(engine.correlation(BTC, ETH), -0.3e18);
        assertEq(engine.correlation(BTC, BTC), W);
    }

    // ------------------------------------------------------------ risk and liquidation parameters

    function _setRisk(uint32 k, bool reduced, int128 mmFraction) internal {
        engine.setRiskParams(k, 0.2e18, 0.3e18, 0.5e18, 2e18, 0.35e18, 86_400, reduced, mmFraction, 0.5e18, 0.01e18);
    }

    function test_setRiskParams_reverts_onBoundsOrRole() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelRiskError.selector, 1, R_GRID_K, 0));
        _setRisk(0, false, 0.7e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelRiskError.selector, 1, R_MM_FRACTION, 0));
        _setRisk(5, false, 0);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        _setRisk(5, false, 0.7e18);
    }

    function test_setRiskParams_mmFractionScalesMaintenance() public {
        _fund(alice, 100_000);
        _trade(acct(alice), ETH_PERP, W, 3_000e18);
        Margin memory m = _margin(acct(alice));
        assertEq(m.im, 1_500e18, "1 ETH x 50% scan range");
        assertEq(m.mm, 1_050e18, "70% of IM");
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.ParamsSet(0);
        vm.prank(owner);
        _setRisk(5, false, 0.5e18);
        m = _margin(acct(alice));
        assertEq(m.im, 1_500e18);
        assertEq(m.mm, 750e18, "50% of IM");
    }

    function test_setConcentrationTiers_reverts_onShapeOrderOrRole() public {
        int128[] memory five = new int128[](5);
        int128[] memory one = new int128[](1);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, 4, 4));
        engine.setConcentrationTiers(five, five);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelCapacityExceeded.selector, 4, 4));
        engine.setConcentrationTiers(one, five);
        int128[] memory t = new int128[](2);
        int128[] memory m = new int128[](2);
        (t[0], t[1], m[0], m[1]) = (1_000e18, 1_000e18, 2e18, 2e18); // thresholds not increasing
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelRiskError.selector, 3, 0, 0));
        engine.setConcentrationTiers(t, m);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setConcentrationTiers(one, one);
    }

    function test_setConcentrationTiers_raisesMarginOfLargePositions() public {
        _fund(alice, 1_000_000);
        _trade(acct(alice), ETH_PERP, 10 * W, 3_000e18); // 30,000 notional
        int128 base = _margin(acct(alice)).im;
        int128[] memory t = new int128[](1);
        int128[] memory m = new int128[](1);
        (t[0], m[0]) = (10_000e18, 2e18);
        vm.prank(owner);
        engine.setConcentrationTiers(t, m);
        int128 concentrated = _margin(acct(alice)).im;
        assertGt(concentrated, base, "above the threshold the multiplier applies");
        assertLe(concentrated, 2 * base, "at most the tier multiplier");
    }

    function test_setLiquidationParams_reverts_outOfBounds() public {
        vm.startPrank(owner);
        _oob(F_FLAG_REWARD, -1, 0, 1_000e18);
        engine.setLiquidationParams(-1, 0, 0, 0.1e18, 0, 600, W, 0.5e18);
        _oob(F_DISCOUNT, 0.6e18, 0, 0.5e18);
        engine.setLiquidationParams(0, 0, 0, 0.6e18, 0, 600, W, 0.5e18);
        _oob(F_DISCOUNT, 0.2e18, 0, 0.1e18);
        engine.setLiquidationParams(0, 0.2e18, 0, 0.1e18, 0, 600, W, 0.5e18);
        _oob(F_DISCOUNT_RATE, 1e18, 0, 0.01e18);
        engine.setLiquidationParams(0, 0, 1e18, 0.1e18, 0, 600, W, 0.5e18);
        _oob(F_BUFFER, 2e18, 0, 1e18);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 2e18, 600, W, 0.5e18);
        _oob(F_WINDOW, 10, 60, 86_400);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 0, 10, W, 0.5e18);
        _oob(F_CAP, 0, 1, MAX_PRICE);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 0, 600, 0, 0.5e18);
        _oob(F_CLOSE_FACTOR, 0.04e18, 0.05e18, 1e18);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 0, 600, W, 0.04e18);
        _oob(F_CLOSE_FACTOR, 1e18 + 1, 0.05e18, 1e18);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 0, 600, W, 1e18 + 1);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setLiquidationParams(0, 0, 0, 0.1e18, 0, 600, W, 0.5e18);
    }

    function test_liquidationParams_defaultsAndUpdate() public {
        (
            int128 reward,
            int128 start,
            int128 rate,
            int128 max,
            int128 buffer,
            uint64 window,
            int128 cap,
            int128 closeFactor
        ) = engine.liquidationParams();
        assertEq(reward, FLAG_REWARD);
        assertEq(start, DISCOUNT_START);
        assertEq(rate, DISCOUNT_RATE);
        assertEq(max, DISCOUNT_MAX);
        assertEq(buffer, 0.1e18);
        assertEq(window, 3_600);
        assertEq(cap, 10_000_000e18);
        assertEq(closeFactor, 0.5e18, "default close factor: half a position per step");
        vm.prank(owner);
        engine.setLiquidationParams(7e18, 0.02e18, 1e12, 0.2e18, 0.05e18, 600, 1e24, 0.25e18);
        (reward, start, rate, max, buffer, window, cap, closeFactor) = engine.liquidationParams();
        assertEq(reward, 7e18);
        assertEq(start, 0.02e18);
        assertEq(rate, 1e12);
        assertEq(max, 0.2e18);
        assertEq(buffer, 0.05e18);
        assertEq(window, 600);
        assertEq(cap, 1e24);
        assertEq(closeFactor, 0.25e18);
    }

    function test_setLiquidationParams_setsTheFlagReward() public {
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.ParamsSet(1);
        vm.prank(owner);
        engine.setLiquidationParams(12e18, 0.01e18, 0, 0.1e18, 0.1e18, 3_600, 1e24, 0.5e18);
        _underwater();
        vm.prank(keeper);
        engine.flag(acct(alice));
        assertEq(engine.cashBalance(acct(keeper)), 12e18);
    }

    // ------------------------------------------------------------ per-underlying and per-instrument limits

    function test_setUnderlyingLimits_reverts_onBoundsUnknownOrRole() public {
        vm.startPrank(owner);
        _oob(F_HEARTBEAT, 59, 60, 172_800);
        engine.setUnderlyingLimits(ETH, 59, 0, 0);
        _oob(F_HEARTBEAT, 172_801, 60, 172_800);
        engine.setUnderlyingLimits(ETH, 172_801, 0, 0);
        _oob(F_PRICE_BAND, 1e15 - 1, 1e15, 5e17);
        engine.setUnderlyingLimits(ETH, 0, 1e15 - 1, 0);
        _oob(F_PRICE_BAND, 5e17 + 1, 1e15, 5e17);
        engine.setUnderlyingLimits(ETH, 0, 5e17 + 1, 0);
        _oob(F_SETTLEMENT_DELAY, 59, 60, 604_800);
        engine.setUnderlyingLimits(ETH, 0, 0, 59);
        _oob(F_SETTLEMENT_DELAY, 604_801, 60, 604_800);
        engine.setUnderlyingLimits(ETH, 0, 0, 604_801);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 5));
        engine.setUnderlyingLimits(5, 0, 0, 0);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setUnderlyingLimits(ETH, 0, 0, 0);
    }

    function test_setUnderlyingLimits_storesAndEmits() public {
        (uint64 hb, uint64 band, uint64 delay) = engine.underlyingLimits(ETH);
        assertEq(hb, 0, "0 = the spot feed's heartbeat");
        assertEq(band, 0, "0 = the scan range");
        assertEq(delay, 0, "0 = one hour");
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.UnderlyingLimitsSet(ETH, 7_200, 0.05e18, 600);
        vm.prank(owner);
        engine.setUnderlyingLimits(ETH, 7_200, 0.05e18, 600);
        (hb, band, delay) = engine.underlyingLimits(ETH);
        assertEq(hb, 7_200);
        assertEq(band, 0.05e18);
        assertEq(delay, 600);
        // The band applies to trades at once: 5% of 3,000 around the perp's mark.
        (int128 mark, int128 spot, int128 low, int128 high) = engine.priceBand(ETH_PERP);
        assertEq(mark, 3_000e18);
        assertEq(spot, 3_000e18);
        assertEq(low, 2_850e18);
        assertEq(high, 3_150e18);
    }

    function test_setInstrumentLimits_reverts_onBoundsUnknownOrRole() public {
        vm.startPrank(owner);
        _oob(F_MIN_NOTIONAL, -1, 0, MAX_PRICE);
        engine.setInstrumentLimits(ETH_PERP, -1, 0);
        _oob(F_MIN_NOTIONAL, int256(MAX_PRICE) + 1, 0, MAX_PRICE);
        engine.setInstrumentLimits(ETH_PERP, MAX_PRICE + 1, 0);
        _oob(F_OI_CAP, -1, 0, MAX_PRICE);
        engine.setInstrumentLimits(ETH_PERP, 0, -1);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_INSTRUMENT, 9));
        engine.setInstrumentLimits(9, 0, 0);
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.setInstrumentLimits(ETH_PERP, 0, 0);
    }

    function test_setInstrumentLimits_storesAndEmits() public {
        (int128 minNotional, int128 cap, int128 oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(minNotional, 10e18, "default minimum notional: 10");
        assertEq(cap, 0, "no open-interest cap by default");
        assertEq(oi, 0);
        vm.expectEmit(true, false, false, true, address(engine));
        emit IKeelEngine.InstrumentLimitsSet(ETH_PERP, 100e18, 5e18);
        vm.prank(owner);
        engine.setInstrumentLimits(ETH_PERP, 100e18, 5e18);
        (minNotional, cap, oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(minNotional, 100e18);
        assertEq(cap, 5e18);
        // Open interest counts the long side of every trade.
        _fund(alice, 10_000);
        _fund(bob, 10_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18);
        (,, oi) = engine.instrumentLimits(ETH_PERP);
        assertEq(oi, W);
    }

    // ------------------------------------------------------------ instruments

    function test_listInstrument_reverts_onBadTerms() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_UNDERLYING, 9));
        engine.listInstrument(9, 0, 0, 0);
        _oob(F_KIND, 3, 0, 2);
        engine.listInstrument(ETH, 3, W, EXPIRY);
        _oob(F_STRIKE, W, 0, 0);
        engine.listInstrument(ETH, 0, W, 0);
        _oob(F_EXPIRY, int256(uint256(EXPIRY)), 0, 0);
        engine.listInstrument(ETH, 0, 0, EXPIRY);
        _oob(F_STRIKE, 0, 1, MAX_PRICE);
        engine.listInstrument(ETH, 1, 0, EXPIRY);
        _oob(F_STRIKE, int256(MAX_PRICE) + 1, 1, MAX_PRICE);
        engine.listInstrument(ETH, 1, MAX_PRICE + 1, EXPIRY);
        int256 lo = int256(block.timestamp + 3_600);
        int256 hi = int256(block.timestamp + 2 * 365 days);
        _oob(F_EXPIRY, int256(block.timestamp + 60), lo, hi);
        engine.listInstrument(ETH, 2, 3_000e18, uint64(block.timestamp + 60));
        _oob(F_EXPIRY, hi + 1, lo, hi);
        engine.listInstrument(ETH, 2, 3_000e18, uint64(uint256(hi) + 1));
        vm.stopPrank();
        _unauthorized(bob);
        vm.prank(bob);
        engine.listInstrument(ETH, 0, 0, 0);
        (,, uint32 n) = engine.registryCounts();
        assertEq(n, 4, "nothing listed");
    }

    /// Strikes must lie in [spot / 5, 5 x spot] of the underlying's current
    /// oracle spot (Black-76's domain, where the mark is a model price).
    function test_listInstrument_reverts_onStrikeFarFromSpot() public {
        vm.startPrank(owner);
        _oob(F_STRIKE_RANGE, 599e18, 600e18, 15_000e18);
        engine.listInstrument(ETH, 2, 599e18, EXPIRY);
        _oob(F_STRIKE_RANGE, 15_001e18, 600e18, 15_000e18);
        engine.listInstrument(ETH, 1, 15_001e18, EXPIRY);
        assertEq(engine.listInstrument(ETH, 2, 600e18, EXPIRY), 4, "the bounds are inclusive");
        assertEq(engine.listInstrument(ETH, 1, 15_000e18, EXPIRY), 5);
        vm.stopPrank();
        // The range follows the oracle: at 1,000 a 5,000 strike is fine, 5,001 is not.
        _setEth(1_000e8);
        vm.startPrank(owner);
        assertEq(engine.listInstrument(ETH, 1, 5_000e18, EXPIRY), 6);
        _oob(F_STRIKE_RANGE, 5_001e18, 200e18, 5_000e18);
        engine.listInstrument(ETH, 1, 5_001e18, EXPIRY);
        vm.stopPrank();
    }

    function test_listInstrument_assignsDenseIdsAndEmits() public {
        uint64 exp = uint64(block.timestamp + 3_600);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.InstrumentListed(4, BTC, 2, 55_000e18, exp);
        vm.prank(owner);
        assertEq(engine.listInstrument(BTC, 2, 55_000e18, exp), 4);
        (uint8 u, uint8 k, int128 strike, uint64 e) = engine.instrument(4);
        assertEq(u, BTC);
        assertEq(k, 2);
        assertEq(strike, 55_000e18);
        assertEq(e, exp);
        (u, k, strike, e) = engine.instrument(ETH_CALL);
        assertEq(u, ETH);
        assertEq(k, 1);
        assertEq(strike, 3_000e18);
        assertEq(e, EXPIRY);
        (,, uint32 n) = engine.registryCounts();
        assertEq(n, 5);
    }

    function test_instrument_reverts_onUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_INSTRUMENT, 77));
        engine.instrument(77);
    }
}
