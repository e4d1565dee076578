// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/Test.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {EngineBase} from "./EngineBase.sol";
import {EngineHandler} from "./handlers/EngineHandler.sol";

/// @title EngineInvariantBase
/// @notice The fixture of the invariant test (traders with a main, a pair and
/// a dust sub-account each, a liquidator, a keeper, an honest depositor, the
/// epilogue's actors) and every invariant as a `check_*` function, so that
/// `EngineInvariantNonVacuityTest` can show they fail on a broken engine.
abstract contract EngineInvariantBase is EngineBase {
    EngineHandler internal handler;
    address internal liquidator = makeAddr("liquidator");
    address internal dave = makeAddr("dave");
    address internal eve = makeAddr("eve");
    address internal frank = makeAddr("frank");
    address[3] internal traders;

    function setUp() public virtual override {
        super.setUp();
        traders = [alice, bob, carol];
        handler = new EngineHandler(
            engine, market, usdc, weth, ethFeed, btcFeed, ethVolFeed, traders, [liquidator, keeper, dave, eve, frank]
        );
        for (uint256 i = 0; i < traders.length; i++) {
            _fund(traders[i], 20_000);
            _deposit(traders[i], WETH_ID, 2e18);
            _depositTo(traders[i], acct(traders[i], 1), USDC_ID, usd(5_000));
            _depositTo(traders[i], acct(traders[i], 2), USDC_ID, usd(5)); // dust account
        }
        _fund(liquidator, 10_000_000);
        _fund(dave, 10_000);
        // A calm market: the scan ranges from the implied vol (~12.6%), not 50%.
        engine.poke(ETH);
        engine.poke(BTC);
    }

    // ------------------------------------------------------------ the invariants

    /// The engine holds at least the tokens it has credited, per collateral.
    function check_tokensHeldCoverCollateralCredited() public view {
        for (uint8 id = 0; id < 3; id++) {
            MockERC20 t = _token(id);
            assertGe(t.balanceOf(address(engine)), _totalHeld(id), "tokens held < collateral credited");
        }
    }

    /// Settlement-token claims reconcile with the tokens held plus the
    /// protocol deficit: the cash of every account plus open perp PnL
    /// (summed over all holders sizes net to zero per perp, so the open PnL
    /// is -sum(size x entry) at any mark; option values net to zero likewise)
    /// plus the insurance fund equals the settlement tokens held plus the
    /// losses no one could be charged for, up to rounding in the engine's
    /// favour (below 0.001 in total) and one wei per position of this sum's
    /// own truncation. Cash is never created, and a loss is never dropped.
    function check_claimsReconcileWithTokensHeldAndDeficit() public view {
        int256 claims = engine.insuranceFund();
        uint256 positions;
        uint256[] memory accounts = handler.touchedAccounts();
        for (uint256 i = 0; i < accounts.length; i++) {
            claims += engine.cashBalance(accounts[i]);
            (uint32[] memory ids, int128[] memory sizes, int128[] memory entries) = engine.positions(accounts[i]);
            for (uint256 k = 0; k < ids.length; k++) {
                if (ids[k] == ETH_PERP || ids[k] == BTC_PERP) {
                    claims -= (int256(sizes[k]) * entries[k]) / 1e18;
                    positions++;
                }
            }
        }
        int256 backing = int256(_totalHeld(USDC_ID)) * 1e12 + engine.protocolDeficit();
        assertEq(usdc.balanceOf(address(engine)), _totalHeld(USDC_ID), "settlement tokens held = credited");
        assertLe(claims, backing + int256(positions) + 1, "claims > settlement tokens held + deficit: cash created");
        assertGe(claims, backing - 1e15, "claims < settlement tokens held + deficit: a loss was dropped");
    }

    /// The socialised-loss index stays positive.
    function check_lossIndexStaysPositive() public view {
        assertGt(engine.lossIndex(), 0, "loss index reached zero");
        assertEq(handler.lossIndexNotPositive(), 0, "loss index seen at or below zero");
    }

    /// Every accepted action had its effect (a position moved, tokens arrived,
    /// a flag was set, cash settled): the invariants below are about real
    /// actions, not calls that returned without doing anything.
    function check_everyAcceptedActionHadItsEffect() public view {
        assertEq(handler.effectsMissing(), 0, "an accepted action had no effect");
    }

    /// No withdrawal leaves an account that has positions or debt below IM.
    function check_noWithdrawalLeavesAccountBelowIm() public view {
        check_everyAcceptedActionHadItsEffect();
        assertEq(handler.withdrawalsBelowIm(), 0, "a withdrawal left an account below IM");
    }

    /// No account gains or loses cash through another account's trade, no
    /// trade leaves a party with negative MM-view equity, at a price outside
    /// the band or with a dust position, and the honest depositor's cash only
    /// ever falls in a bad-debt settlement.
    function check_tradesNeverMoveValueToThirdParties() public view {
        check_everyAcceptedActionHadItsEffect();
        assertEq(handler.thirdPartyCashChanges(), 0, "a trade changed a third party's cash");
        assertEq(handler.tradesLeavingNegativeEquity(), 0, "a trade left a party with negative equity");
        assertEq(handler.outOfBandAccepted(), 0, "a trade outside the price band went through");
        assertEq(handler.dustAccepted(), 0, "a trade left a dust position");
        assertEq(handler.honestLosses(), 0, "the honest depositor lost cash outside a bad-debt settlement");
    }

    /// A flag or liquidation never makes an account with equity at mark >= 0
    /// go below 0, never lowers the health of an account solvent in the MM
    /// view before and after, and never touches a healthy account.
    function check_liquidationNeverLowersHealthOfSolventAccounts() public view {
        check_everyAcceptedActionHadItsEffect();
        assertEq(handler.solventMadeInsolvent(), 0, "a flag or liquidation made a solvent account insolvent");
        assertEq(handler.liquidationsLoweringHealth(), 0, "a liquidation lowered a solvent account's health");
        assertEq(handler.healthyFlagged(), 0, "flagged at or above MM");
        assertEq(handler.healthyLiquidated(), 0, "liquidated while not flagged or above MM x 1.1");
    }

    /// Liquidation of an account below MM is never blocked by a feed state the
    /// protocol resolves itself (vol feed stale, unreadable or out of bounds;
    /// option marks out of the model's domain), and the access rules hold: no
    /// self-liquidation, no collateral deposits into foreign accounts.
    function check_liquidationNeverBlockedByAResolvableFeed() public view {
        check_everyAcceptedActionHadItsEffect();
        assertEq(handler.blockedByResolvableFeed(), 0, "a flag or liquidation was blocked by the vol feed or a mark");
        assertEq(handler.selfLiquidationAccepted(), 0, "a self-liquidation through a sub-account went through");
        assertEq(handler.foreignCollateralAccepted(), 0, "a collateral deposit into a foreign account went through");
    }

    function _checkAll() internal view {
        check_tokensHeldCoverCollateralCredited();
        check_claimsReconcileWithTokensHeldAndDeficit();
        check_lossIndexStaysPositive();
        check_noWithdrawalLeavesAccountBelowIm();
        check_tradesNeverMoveValueToThirdParties();
        check_liquidationNeverLowersHealthOfSolventAccounts();
        check_liquidationNeverBlockedByAResolvableFeed();
    }

    /// Each path was taken at least once (after the epilogue).
    function _checkCoverage() internal view {
        assertGt(handler.deposits(), 0, "no deposit");
        assertGt(handler.foreignCashDeposits(), 0, "no settlement-cash deposit into a foreign account");
        assertGt(handler.foreignCollateralRefused(), 0, "no foreign collateral deposit tried");
        assertGt(handler.withdrawals(), 0, "no withdrawal");
        assertGt(handler.tradesFilled(), 0, "no trade");
        assertGt(handler.sameOwnerTrades(), 0, "no trade between sub-accounts of one owner");
        assertGt(handler.tradesRefused(), 0, "no refused trade");
        assertGt(handler.offBandTried(), 0, "no trade outside the band tried");
        assertGt(handler.flags(), 0, "no flag");
        assertGt(handler.liquidations(), 0, "no liquidation");
        assertGt(handler.volStressLiquidations(), 0, "no flag or liquidation under a stale or out-of-bounds vol feed");
        assertGt(handler.selfLiquidationsRefused(), 0, "no self-liquidation tried");
        assertGt(handler.collateralLiquidations(), 0, "no collateral liquidation");
        assertGt(handler.badDebtSettlements(), 0, "no bad-debt settlement");
    }

    uint256 internal constant COUNTERS = 15;

    /// The coverage counters, in `_log`'s order.
    function _counters() internal view returns (uint256[COUNTERS] memory c) {
        c = [
            handler.deposits(),
            handler.foreignCashDeposits(),
            handler.foreignCollateralRefused(),
            handler.withdrawals(),
            handler.tradesFilled(),
            handler.sameOwnerTrades(),
            handler.tradesRefused(),
            handler.offBandTried(),
            handler.flags(),
            handler.liquidations(),
            handler.volStressLiquidations(),
            handler.selfLiquidationsRefused(),
            handler.collateralLiquidations(),
            handler.badDebtSettlements(),
            handler.pokes()
        ];
    }

    function _log(string memory title, uint256[COUNTERS] memory c) internal pure {
        console2.log(title);
        console2.log("  deposits %d (into foreign accounts: cash %d)", c[0], c[1]);
        console2.log("  foreign collateral deposits refused %d, withdrawals %d", c[2], c[3]);
        console2.log("  trades filled %d (between sub-accounts of one owner %d)", c[4], c[5]);
        console2.log("  trades refused %d (price outside the band tried %d)", c[6], c[7]);
        console2.log("  flags %d, liquidations %d, self-liquidations refused %d", c[8], c[9], c[11]);
        console2.log("  flags/liquidations under a stale or out-of-bounds vol feed %d", c[10]);
        console2.log("  collateral liquidations %d, bad-debt settlements %d, pokes %d", c[12], c[13], c[14]);
    }

    /// Adds this run's counters to the campaign's totals (kept in the forge
    /// process's environment, which outlives each run's EVM state) and logs
    /// both; returns the number of runs so far.
    function _accumulate(string memory key, uint256[COUNTERS] memory c) internal returns (uint256 runs) {
        bytes memory prev = vm.envOr(key, bytes(""));
        uint256[COUNTERS] memory total;
        if (prev.length > 0) (runs, total) = abi.decode(prev, (uint256, uint256[15]));
        runs++;
        for (uint256 i = 0; i < COUNTERS; i++) {
            total[i] += c[i];
        }
        vm.setEnv(key, vm.toString(abi.encode(runs, total)));
        _log(string.concat(key, " (", vm.toString(runs), " runs):"), total);
    }
}

/// @title EngineInvariantTest
/// @notice Stateful invariants over random sequences of what attackers do
/// (see `EngineHandler`): trades at any price a maker may post, dust and
/// same-owner sub-accounts, feeds at and beyond their bounds and stale,
/// crashes, insolvency chains, foreign deposits, liquidations of every kind.
/// Each handler action and each invariant check runs several WASM processes,
/// so the default campaign is small: 8 runs of depth 16 (inline config below;
/// shrinking a failure is capped too, each replay being as slow),
/// after each of which `afterInvariant` runs the handler's epilogue (every
/// path once more, from whatever state the run left), re-checks every
/// invariant and asserts that each path was taken. A soak run:
/// `FOUNDRY_PROFILE=deep npx --no-install forge test --match-contract EngineInvariant`
/// (64 runs of depth 64: inline config below and foundry.toml's `deep` profile).
/// forge-config: default.invariant.runs = 8
/// forge-config: default.invariant.depth = 16
/// forge-config: default.invariant.shrink-run-limit = 64
/// forge-config: deep.invariant.runs = 64
/// forge-config: deep.invariant.depth = 64
/// forge-config: deep.invariant.shrink-run-limit = 256
contract EngineInvariantTest is EngineInvariantBase {
    function setUp() public override {
        super.setUp();
        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = EngineHandler.deposit.selector;
        selectors[1] = EngineHandler.withdraw.selector;
        selectors[2] = EngineHandler.trade.selector;
        selectors[3] = EngineHandler.movePrice.selector;
        selectors[4] = EngineHandler.setVol.selector;
        selectors[5] = EngineHandler.poke.selector;
        selectors[6] = EngineHandler.flag.selector;
        selectors[7] = EngineHandler.liquidate.selector;
        selectors[8] = EngineHandler.liquidateCollateral.selector;
        selectors[9] = EngineHandler.settleBadDebt.selector;
        selectors[10] = EngineHandler.unflag.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Every property, checked after every call. (One invariant function:
    /// forge runs a separate campaign per `invariant_*` function, and each
    /// action here runs several WASM processes; the properties are the
    /// `check_*` functions above, each failing with its own message.)
    function invariant_engine() public view {
        _checkAll();
    }

    /// After each run: drive every path once more (epilogue), re-check
    /// everything, require full coverage, and log what the campaign exercised
    /// so far: the random sequences alone, and with the epilogues.
    function afterInvariant() public {
        uint256[COUNTERS] memory random = _counters();
        handler.epilogue();
        _checkAll();
        _checkCoverage();
        uint256[COUNTERS] memory all = _counters();
        _accumulate("KEEL_INVARIANT_RANDOM", random);
        _accumulate("KEEL_INVARIANT_WITH_EPILOGUES", all);
        if (handler.handlerErrors() > 0) {
            console2.log("handler steps reverted in this run: %d, the last with:", handler.handlerErrors());
            console2.logBytes(handler.lastHandlerError());
        }
    }
}

/// @title EngineInvariantNonVacuityTest
/// @notice The invariants do not hold vacuously: with the engine replaced by a
/// program that returns 32 zero bytes to every call, each of them fails
/// after a few handler actions (and so does the coverage requirement).
contract EngineInvariantNonVacuityTest is EngineInvariantBase {
    function test_invariantsFailAgainstAProgramThatReturnsZeros() public {
        bytes memory zeros = hex"60206000f3"; // PUSH1 32 PUSH1 0 RETURN
        vm.etch(address(engine), zeros);
        vm.etch(riskCalc, zeros);
        vm.etch(adminModule, zeros);
        vm.etch(keeperModule, zeros);
        vm.etch(marginModule, zeros);
        vm.etch(upkeepModule, zeros);
        // A few actions: each may revert on the garbage views; what completes counts.
        try handler.deposit(0, 1, 0, 100e6) {} catch {}
        try handler.deposit(1, 2, 1, 1e18) {} catch {}
        try handler.withdraw(0, false, 10e6) {} catch {}
        try handler.trade(0, 1, 0, 500, 0, 0) {} catch {}
        try handler.flag(0) {} catch {}
        try handler.liquidate(0, 0, 50) {} catch {}
        try handler.epilogue() {} catch {}
        bytes4[7] memory checks = [
            this.check_tokensHeldCoverCollateralCredited.selector,
            this.check_claimsReconcileWithTokensHeldAndDeficit.selector,
            this.check_lossIndexStaysPositive.selector,
            this.check_noWithdrawalLeavesAccountBelowIm.selector,
            this.check_tradesNeverMoveValueToThirdParties.selector,
            this.check_liquidationNeverLowersHealthOfSolventAccounts.selector,
            this.check_liquidationNeverBlockedByAResolvableFeed.selector
        ];
        for (uint256 i = 0; i < checks.length; i++) {
            (bool ok,) = address(this).staticcall(abi.encodeWithSelector(checks[i]));
            assertFalse(ok, string.concat("invariant holds against a zero program: #", vm.toString(i)));
        }
        (bool covered,) = address(this).staticcall(abi.encodeCall(this.coverage, ()));
        assertFalse(covered, "coverage holds against a zero program");
    }

    function coverage() external view {
        _checkCoverage();
    }
}
