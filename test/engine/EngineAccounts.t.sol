// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MockERC20, FeeOnTransferERC20} from "../mocks/MockERC20.sol";
import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";
import {EngineBase} from "./EngineBase.sol";

/// @title EngineAccountsTest
/// @notice Unit tests of account ids, deposits, withdrawals, the insurance fund
/// and the account views, with every typed error they can raise.
contract EngineAccountsTest is EngineBase {
    function _mintApprove(address who, MockERC20 t, uint256 amount) internal {
        t.mint(who, amount);
        vm.prank(who);
        t.approve(address(engine), amount);
    }

    // ------------------------------------------------------------ account ids and empty views

    function test_accountId_packsOwnerAndSub() public view {
        assertEq(engine.accountId(alice, 0), uint256(uint160(alice)) << 96);
        assertEq(engine.accountId(alice, 7), (uint256(uint160(alice)) << 96) | 7);
        assertEq(engine.accountId(alice, type(uint64).max), (uint256(uint160(alice)) << 96) | type(uint64).max);
        assertTrue(engine.accountId(alice, 1) != engine.accountId(bob, 1));
    }

    function test_views_ofAnEmptyAccountAreZero() public view {
        uint256 a = acct(carol, 3);
        assertEq(engine.cashBalance(a), 0);
        assertEq(engine.collateralBalance(a, WETH_ID), 0);
        assertEq(engine.flaggedAt(a), 0);
        (uint32[] memory ids, int128[] memory sizes, int128[] memory entries) = engine.positions(a);
        assertEq(ids.length + sizes.length + entries.length, 0);
        Margin memory m = _margin(a);
        assertEq(m.equityIm, 0);
        assertEq(m.equityMm, 0);
        assertEq(m.im, 0);
        assertEq(m.mm, 0);
        assertEq(engine.health(a), 0);
        assertFalse(engine.isLiquidatable(a));
    }

    // ------------------------------------------------------------ deposit

    function test_deposit_reverts_onZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        vm.prank(alice);
        engine.deposit(acct(alice), USDC_ID, 0);
    }

    function test_deposit_reverts_onUnknownCollateral() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_COLLATERAL, 5));
        vm.prank(alice);
        engine.deposit(acct(alice), 5, 1);
    }

    function test_deposit_reverts_whenTransferFails() public {
        usdc.mint(alice, usd(100)); // no allowance
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelTokenCallFailed.selector, address(usdc)));
        vm.prank(alice);
        engine.deposit(acct(alice), USDC_ID, usd(100));
        assertEq(usdc.balanceOf(alice), usd(100));
        assertEq(engine.cashBalance(acct(alice)), 0);
    }

    function test_deposit_reverts_overDepositCap() public {
        _deposit(alice, WETH_ID, 600e18);
        _mintApprove(bob, weth, 401e18);
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelDepositCapExceeded.selector, WETH_ID, 1_000e18, 1_001e18)
        );
        vm.prank(bob);
        engine.deposit(acct(bob), WETH_ID, 401e18);
        assertEq(weth.balanceOf(bob), 401e18, "the pull was rolled back");
        vm.prank(bob);
        engine.deposit(acct(bob), WETH_ID, 400e18); // exactly at the cap
        assertEq(_totalHeld(WETH_ID), 1_000e18);
    }

    function test_deposit_creditsSettlementTokenAsWadCashAndEmits() public {
        _mintApprove(alice, usdc, usd(1_000));
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.Deposited(acct(alice), USDC_ID, alice, usd(1_000));
        vm.prank(alice);
        engine.deposit(acct(alice), USDC_ID, usd(1_000));
        assertEq(engine.cashBalance(acct(alice)), 1_000e18);
        assertEq(_totalHeld(USDC_ID), usd(1_000));
        assertEq(usdc.balanceOf(address(engine)), usd(1_000));
        assertEq(usdc.balanceOf(alice), 0);
    }

    function test_deposit_creditsCollateralAtHaircutValue() public {
        _deposit(alice, WBTC_ID, 1e8); // 1 BTC at 60,000; haircuts 15% IM, 8% MM
        assertEq(engine.collateralBalance(acct(alice), WBTC_ID), 1e8);
        assertEq(_totalHeld(WBTC_ID), 1e8);
        assertEq(engine.cashBalance(acct(alice)), 0);
        Margin memory m = _margin(acct(alice));
        assertEq(m.equityIm, 51_000e18);
        assertEq(m.equityMm, 55_200e18);
        assertEq(m.im, 0);
        assertEq(m.mm, 0);
        // The collateral is valued at the live oracle price.
        _setBtc(50_000e8);
        assertEq(_margin(acct(alice)).equityIm, 42_500e18);
    }

    /// Anyone may fund any account with settlement cash (e.g. to rescue it),
    /// but only the owner may add other collateral to it (a foreign deposit
    /// adds oracle reads to its margin and would keep a bankrupt account from
    /// `settleBadDebt`).
    function test_deposit_settlementCashByAnyone_collateralOnlyByTheOwner() public {
        _mintApprove(bob, usdc, usd(500));
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.Deposited(acct(alice), USDC_ID, bob, usd(500));
        vm.prank(bob);
        engine.deposit(acct(alice), USDC_ID, usd(500));
        assertEq(engine.cashBalance(acct(alice)), 500e18);
        assertEq(engine.cashBalance(acct(bob)), 0);
        _mintApprove(bob, weth, 2e18);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, bob));
        vm.prank(bob);
        engine.deposit(acct(alice), WETH_ID, 2e18);
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 0);
        assertEq(weth.balanceOf(bob), 2e18, "nothing pulled");
        // The owner may deposit collateral into any of their sub-accounts.
        _mintApprove(alice, weth, 2e18);
        vm.prank(alice);
        engine.deposit(acct(alice, 5), WETH_ID, 2e18);
        assertEq(engine.collateralBalance(acct(alice, 5), WETH_ID), 2e18);
    }

    /// Balances stay below the engine's amount bound (1e33 WAD), beyond which
    /// no margin of the account could be computed.
    function test_deposit_reverts_whenTheBalanceWouldExceedTheAmountBound() public {
        MockERC20 big = new MockERC20("Big", "BIG", 18);
        vm.prank(owner);
        engine.setCollateral(3, address(big), address(ethFeed), 3_600, 0.1e18, 0.05e18, type(uint256).max);
        _mintApprove(alice, big, 1e33 + 1);
        vm.prank(alice);
        engine.deposit(acct(alice), 3, 1e33 - 1);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        vm.prank(alice);
        engine.deposit(acct(alice), 3, 2);
        vm.prank(alice);
        engine.deposit(acct(alice), 3, 1); // exactly at the bound
        assertEq(engine.collateralBalance(acct(alice), 3), 1e33);
    }

    function test_deposit_creditsOnlyWhatArrived() public {
        FeeOnTransferERC20 fot = new FeeOnTransferERC20(100); // 1% fee
        vm.prank(owner);
        engine.setCollateral(3, address(fot), address(ethFeed), 3_600, 0.1e18, 0.05e18, 1e24);
        _mintApprove(alice, fot, 100e18);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.Deposited(acct(alice), 3, alice, 99e18);
        vm.prank(alice);
        engine.deposit(acct(alice), 3, 100e18);
        assertEq(engine.collateralBalance(acct(alice), 3), 99e18);
        assertEq(_totalHeld(3), 99e18);
        assertEq(fot.balanceOf(address(engine)), 99e18);
    }

    function test_deposit_worksWhilePaused() public {
        vm.prank(owner);
        engine.setPaused(true);
        _fund(alice, 500);
        _deposit(alice, WETH_ID, 1e18);
        assertEq(engine.cashBalance(acct(alice)), 500e18);
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 1e18);
    }

    // ------------------------------------------------------------ withdraw

    function test_withdraw_reverts_whenNotAccountOwner() public {
        _fund(alice, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnauthorizedAccount.selector, bob));
        vm.prank(bob);
        engine.withdraw(acct(alice), USDC_ID, usd(1));
    }

    function test_withdraw_reverts_onZeroAmount() public {
        _fund(alice, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, 0);
    }

    function test_withdraw_reverts_onUnknownCollateral() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelUnknownEntry.selector, KIND_COLLATERAL, 7));
        vm.prank(alice);
        engine.withdraw(acct(alice), 7, 1);
    }

    function test_withdraw_reverts_overCollateralBalance() public {
        _deposit(alice, WETH_ID, 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(IKeelEngine.KeelInsufficientBalance.selector, acct(alice), WETH_ID, 1e18, 2e18)
        );
        vm.prank(alice);
        engine.withdraw(acct(alice), WETH_ID, 2e18);
    }

    function test_withdraw_paysOwnerAndEmits() public {
        _fund(alice, 1_000);
        _deposit(alice, WETH_ID, 1e18);
        vm.expectEmit(true, true, false, true, address(engine));
        emit IKeelEngine.Withdrawn(acct(alice), USDC_ID, alice, usd(400));
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(400));
        assertEq(usdc.balanceOf(alice), usd(400));
        assertEq(engine.cashBalance(acct(alice)), 600e18);
        assertEq(_totalHeld(USDC_ID), usd(600));
        vm.prank(alice);
        engine.withdraw(acct(alice), WETH_ID, 1e18);
        assertEq(weth.balanceOf(alice), 1e18);
        assertEq(engine.collateralBalance(acct(alice), WETH_ID), 0);
        assertEq(_totalHeld(WETH_ID), 0);
    }

    function test_withdraw_fromSubAccountKeepsAccountsApart() public {
        _depositTo(alice, acct(alice, 1), USDC_ID, usd(300));
        _fund(alice, 100);
        vm.prank(alice);
        engine.withdraw(acct(alice, 1), USDC_ID, usd(300));
        assertEq(engine.cashBalance(acct(alice, 1)), 0);
        assertEq(engine.cashBalance(acct(alice)), 100e18);
        assertEq(usdc.balanceOf(alice), usd(300));
    }

    function test_withdraw_borrowsAgainstCollateralWithinIm() public {
        _deposit(alice, WETH_ID, 1e18); // 3,000, IM value 2,700
        _fund(bob, 10_000); // the engine holds USDC to lend
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(2_000));
        assertEq(engine.cashBalance(acct(alice)), -2_000e18);
        assertEq(usdc.balanceOf(alice), usd(2_000));
        // 800 more would leave IM equity at 2,700 - 2,800 = -100 against no requirement.
        _expectInsufficientMargin(acct(alice), -100e18, 0);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(800));
        // Neither may the collateral backing the loan leave.
        _expectInsufficientMargin(acct(alice), -2_000e18, 0);
        vm.prank(alice);
        engine.withdraw(acct(alice), WETH_ID, 1e18);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(700)); // exactly to zero IM equity
        assertEq(_margin(acct(alice)).equityIm, 0);
    }

    function test_withdraw_reverts_whenPositionsNeedTheMargin() public {
        _fund(alice, 2_000);
        _fund(bob, 10_000);
        _pair(alice, bob, ETH_PERP, W, 3_000e18); // IM 1,500 (50% scan range)
        _expectInsufficientMargin(acct(alice), 1_499e18, 1_500e18);
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(501));
        vm.prank(alice);
        engine.withdraw(acct(alice), USDC_ID, usd(500));
        Margin memory m = _margin(acct(alice));
        assertEq(m.equityIm, m.im, "withdrew down to exactly IM");
    }

    // ------------------------------------------------------------ insurance fund

    function test_fundInsurance_reverts_onZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelInvalidAmount.selector));
        vm.prank(carol);
        engine.fundInsurance(0);
    }

    function test_fundInsurance_reverts_whenTransferFails() public {
        usdc.mint(carol, usd(10));
        vm.expectRevert(abi.encodeWithSelector(IKeelEngine.KeelTokenCallFailed.selector, address(usdc)));
        vm.prank(carol);
        engine.fundInsurance(usd(10));
    }

    function test_fundInsurance_addsToTheFundAndEmits() public {
        _mintApprove(carol, usdc, usd(300));
        vm.expectEmit(false, false, false, true, address(engine));
        emit IKeelEngine.InsuranceFundChanged(200e18, 200e18);
        vm.prank(carol);
        engine.fundInsurance(usd(200));
        vm.expectEmit(false, false, false, true, address(engine));
        emit IKeelEngine.InsuranceFundChanged(100e18, 300e18);
        vm.prank(carol);
        engine.fundInsurance(usd(100));
        assertEq(engine.insuranceFund(), 300e18);
        assertEq(_totalHeld(USDC_ID), usd(300));
        assertEq(usdc.balanceOf(address(engine)), usd(300));
        assertEq(engine.cashBalance(acct(carol)), 0, "the fund is not an account");
    }
}
