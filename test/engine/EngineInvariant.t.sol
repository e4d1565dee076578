// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {console2} from "forge-std/Test.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {EngineBase} from "./EngineBase.sol";
import {EngineHandler} from "./handlers/EngineHandler.sol";

/// @title EngineInvariantTest
/// @notice Stateful invariants over random sequences of deposits, withdrawals,
/// market trades, price moves, flags and liquidations (see `EngineHandler`).
/// Each handler action and each invariant check runs several WASM processes,
/// so the campaign is small: 8 runs of depth 16 (inline config below) instead
/// of the profile's 64 x 32, about 130 actions with every invariant checked
/// after each.
/// forge-config: default.invariant.runs = 8
/// forge-config: default.invariant.depth = 16
contract EngineInvariantTest is EngineBase {
    EngineHandler internal handler;
    address internal liquidator = makeAddr("liquidator");
    address[3] internal traders;

    function setUp() public override {
        super.setUp();
        traders = [alice, bob, carol];
        for (uint256 i = 0; i < traders.length; i++) {
            _fund(traders[i], 20_000);
        }
        _fund(liquidator, 10_000_000);
        handler = new EngineHandler(
            engine, market, usdc, weth, ethFeed, btcFeed, ethVolFeed, traders, liquidator, keeper
        );
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = EngineHandler.deposit.selector;
        selectors[1] = EngineHandler.withdraw.selector;
        selectors[2] = EngineHandler.trade.selector;
        selectors[3] = EngineHandler.movePrice.selector;
        selectors[4] = EngineHandler.flag.selector;
        selectors[5] = EngineHandler.liquidate.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The engine holds at least the tokens it has credited, per collateral.
    function invariant_tokensHeldCoverCollateralCredited() public view {
        for (uint8 id = 0; id < 3; id++) {
            MockERC20 t = _token(id);
            assertGe(t.balanceOf(address(engine)), _totalHeld(id), "tokens held < collateral credited");
        }
    }

    /// Settlement cash is only moved between accounts (rounding in the engine's
    /// favour): all cash plus the insurance fund never exceeds the settlement
    /// tokens the engine holds for them.
    /// Settlement-token claims are covered: cash plus open perp PnL, summed over
    /// every account that can hold either, never exceeds the settlement tokens
    /// held. (Cash alone is not a claim that must be covered: a perp closed in
    /// profit realises into cash while its counterparty's loss stays open.)
    /// Summed over all holders, sizes net to zero per perp, so the open PnL is
    /// -sum(size x entry) at any mark; option premiums and values net to zero
    /// across holders likewise. Tolerance: one wei of rounding per position.
    function invariant_cashCoveredBySettlementTokens() public view {
        int256 sum = engine.insuranceFund();
        uint256 positions;
        uint256[] memory accounts = new uint256[](traders.length + 3);
        for (uint256 i = 0; i < traders.length; i++) {
            accounts[i] = acct(traders[i]);
        }
        accounts[traders.length] = acct(liquidator);
        accounts[traders.length + 1] = acct(keeper);
        accounts[traders.length + 2] = market.feeAccount();
        for (uint256 i = 0; i < accounts.length; i++) {
            sum += engine.cashBalance(accounts[i]);
            (uint32[] memory ids, int128[] memory sizes, int128[] memory entries) = engine.positions(accounts[i]);
            for (uint256 k = 0; k < ids.length; k++) {
                if (ids[k] == ETH_PERP || ids[k] == BTC_PERP) {
                    sum -= (int256(sizes[k]) * entries[k]) / 1e18;
                    positions++;
                }
            }
        }
        assertLe(sum, int256(_totalHeld(USDC_ID)) * 1e12 + int256(positions), "claims > settlement tokens held");
    }

    /// No withdrawal leaves an account that has positions or debt below IM.
    function invariant_noWithdrawalLeavesAccountBelowIm() public view {
        assertEq(handler.withdrawalsBelowIm(), 0);
    }

    /// A healthy account can be neither flagged nor liquidated.
    function invariant_healthyAccountsAreNeverFlaggedOrLiquidated() public view {
        assertEq(handler.healthyFlagged(), 0, "flagged at or above MM");
        assertEq(handler.healthyLiquidated(), 0, "liquidated while not flagged or above MM x 1.1");
    }

    /// Liquidation never lowers the health of an account that stays solvent.
    function invariant_liquidationNeverLowersHealthOfSolventAccounts() public view {
        assertEq(handler.liquidationsLoweringHealth(), 0);
    }

    function afterInvariant() public view {
        console2.log("deposits %d withdrawals %d", handler.deposits(), handler.withdrawals());
        console2.log("trades filled %d refused %d", handler.tradesFilled(), handler.tradesRefused());
        console2.log("flags %d liquidations %d", handler.flags(), handler.liquidations());
    }
}
