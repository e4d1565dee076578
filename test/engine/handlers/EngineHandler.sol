// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {MockERC20} from "../../mocks/MockERC20.sol";
import {MockAggregator} from "../../mocks/MockAggregator.sol";
import {IKeelEngine} from "../../../contracts/solidity/IKeelEngine.sol";
import {ExampleMarket} from "../../market/ExampleMarket.sol";

/// @title EngineHandler
/// @notice Drives the engine for the invariant test the way attackers do, not
/// only the way honest users do:
/// - trades through the example market at any price a maker may post: the
///   engine's mark, anywhere inside its band, just outside it, or absurd (1
///   wei, twice the band's top); any size, dust included; between different
///   owners and between two sub-accounts of one owner;
/// - dust accounts (a few USDC in sub-account 2 of each trader), deposits of
///   settlement cash into foreign accounts, and attempted deposits of
///   collateral into foreign accounts;
/// - spot moves of up to +-15% per step and crashes or rallies of 20-45%;
///   spot feeds left stale; the implied-vol feed at and beyond the smile's
///   bounds (5%, 10%, 300%, 350%, 500%) or stale; pokes;
/// - flags, liquidations of any size (above the close factor too), collateral
///   liquidations, attempted self-liquidations through a sub-account of the
///   same owner, bad-debt settlements (insolvency chains), unflags.
///
/// Every action the engine may refuse is tried with a low-level call and its
/// outcome recorded; the handler never reverts itself. Each accepted action is
/// checked against what it must have done (its effect: a position moved,
/// tokens arrived, a flag was set) and against the properties below; every
/// violation increments a ghost counter that the invariants assert to be 0.
/// Coverage counters record what the campaign exercised; `epilogue` (run by
/// the test after each sequence) drives a fresh account through every path
/// (deposit, withdrawal, trade, refused off-market close, crash, flag under a
/// stale and out-of-bounds vol feed, liquidation, collateral liquidation,
/// bad-debt settlement) so that no run ends with a path unexercised.
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
    /// Deposits 10,000 and never acts: an honest depositor.
    address public immutable dave;
    /// Epilogue actors.
    address public immutable eve;
    address public immutable frank;

    int256 public ethPx8 = 3_000e8;
    int256 public btcPx8 = 60_000e8;
    int256 public volPx8 = 0.8e8;

    uint32 internal constant ETH_PERP = 0;
    uint32 internal constant BTC_PERP = 1;
    uint32 internal constant ETH_CALL = 2;
    uint32 internal constant ETH_PUT = 3;
    uint8 internal constant ST_HEALTHY = 0;
    int256 internal constant MIN_NOTIONAL = 10e18;

    // ---- ghosts: violations (must stay 0)
    /// A withdrawal left an account with positions or debt below IM.
    uint256 public withdrawalsBelowIm;
    /// A flag went through for an account at or above MM.
    uint256 public healthyFlagged;
    /// A liquidation went through for an account not flagged or at/above MM x 1.1.
    uint256 public healthyLiquidated;
    /// A liquidation lowered the health of an account solvent (MM view) before and after.
    uint256 public liquidationsLoweringHealth;
    /// A flag or liquidation took an account with equity at mark >= 0 below 0.
    uint256 public solventMadeInsolvent;
    /// A trade changed the cash of an account that was not one of its parties
    /// (other than the market's fee account, which may only gain).
    uint256 public thirdPartyCashChanges;
    /// A trade went through leaving one of its parties with MM-view equity < 0.
    uint256 public tradesLeavingNegativeEquity;
    /// A trade went through at a price outside the band the engine reported.
    uint256 public outOfBandAccepted;
    /// A trade went through leaving a position below the minimum notional.
    uint256 public dustAccepted;
    /// A deposit of non-settlement collateral into a foreign account went through.
    uint256 public foreignCollateralAccepted;
    /// A liquidation by a sub-account of the liquidated account's owner went through.
    uint256 public selfLiquidationAccepted;
    /// A flag or liquidation was refused for a feed state the protocol resolves
    /// itself (the vol feed stale, unreadable or out of bounds; an option's
    /// mark out of the model's domain).
    uint256 public blockedByResolvableFeed;
    /// An accepted action did not have its effect (position, tokens, flag, cash).
    uint256 public effectsMissing;
    /// The honest depositor's cash fell outside a bad-debt settlement.
    uint256 public honestLosses;
    /// The loss index was seen at or below zero.
    uint256 public lossIndexNotPositive;

    // ---- ghosts: coverage
    uint256 public deposits;
    uint256 public foreignCashDeposits;
    uint256 public foreignCollateralRefused;
    uint256 public withdrawals;
    uint256 public tradesFilled;
    uint256 public tradesRefused;
    uint256 public offBandTried;
    uint256 public sameOwnerTrades;
    uint256 public flags;
    uint256 public liquidations;
    uint256 public collateralLiquidations;
    uint256 public badDebtSettlements;
    uint256 public selfLiquidationsRefused;
    uint256 public volStressLiquidations;
    uint256 public pokes;
    uint256 public unflags;
    /// Refused trades by the selector of the engine's (or market's) error.
    mapping(bytes4 => uint256) public refusals;

    /// Every account the handler may ever credit (third-party checks).
    uint256[] internal tracked;
    /// The tracked accounts that hold or held anything (the claims sum; an
    /// account credited without being touched would show as a shortfall).
    uint256[] internal touchedList;
    mapping(uint256 => bool) internal touched;

    constructor(
        IKeelEngine engine_,
        ExampleMarket market_,
        MockERC20 usdc_,
        MockERC20 weth_,
        MockAggregator ethFeed_,
        MockAggregator btcFeed_,
        MockAggregator volFeed_,
        address[3] memory traders_,
        address[5] memory others // liquidator, keeper, dave, eve, frank
    ) {
        engine = engine_;
        market = market_;
        usdc = usdc_;
        weth = weth_;
        ethFeed = ethFeed_;
        btcFeed = btcFeed_;
        volFeed = volFeed_;
        traders = traders_;
        liquidator = others[0];
        keeper = others[1];
        dave = others[2];
        eve = others[3];
        frank = others[4];
        for (uint256 i = 0; i < 3; i++) {
            for (uint64 sub = 0; sub < 3; sub++) {
                tracked.push(acct(traders_[i], sub));
            }
        }
        for (uint256 i = 0; i < 5; i++) {
            tracked.push(acct(others[i], 0));
        }
        tracked.push(acct(others[3], 1)); // eve's pair sub-account
        tracked.push(acct(others[4], 1)); // frank's trading sub-account
        tracked.push(market_.feeAccount());
        // Funded by the test's setUp.
        for (uint256 i = 0; i < 9; i++) {
            _touch(tracked[i]);
        }
        _touch(acct(others[0], 0));
        _touch(acct(others[2], 0));
    }

    function _touch(uint256 a) internal {
        if (!touched[a]) {
            touched[a] = true;
            touchedList.push(a);
        }
    }

    function touchedAccounts() external view returns (uint256[] memory) {
        return touchedList;
    }

    // ------------------------------------------------------------ views

    function acct(address who, uint64 sub) public pure returns (uint256) {
        return (uint256(uint160(who)) << 96) | sub;
    }

    function ownerOf(uint256 account) public pure returns (address) {
        return address(uint160(account >> 96));
    }

    function trackedAccounts() external view returns (uint256[] memory) {
        return tracked;
    }

    /// (equityMm, mm, health, equity at mark) of `a`; ok = false when the
    /// engine cannot value it now (e.g. a stale spot feed).
    function _figures(uint256 a) internal view returns (bool ok, int128 eqMm, int128 mm, int128 equity) {
        try engine.marginFigures(a, 255) returns (
            int128, int128 eqMm_, int128, int128 mm_, int128, bool, int128 equity_
        ) {
            return (true, eqMm_, mm_, equity_);
        } catch {
            return (false, 0, 0, 0);
        }
    }

    function _position(uint256 a, uint32 instrument) internal view returns (int128) {
        (uint32[] memory ids, int128[] memory sizes,) = engine.positions(a);
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == instrument) return sizes[i];
        }
        return 0;
    }

    function _positionCount(uint256 a) internal view returns (uint256) {
        (uint32[] memory ids,,) = engine.positions(a);
        return ids.length;
    }

    /// MM x 1.1 (rounded up), the default partial-liquidation target.
    function _target(int128 mm) internal pure returns (int256) {
        return int256(mm) + (int256(mm) + 9) / 10;
    }

    function _sel(bytes memory ret) internal pure returns (bytes4 s) {
        if (ret.length >= 4) s = bytes4(ret);
    }

    /// The refusal is for a feed state the protocol resolves itself: the vol
    /// feed (clamped or replaced by the fallback) or a model-domain error
    /// (option marks are bounded).
    function _resolvableFeedError(bytes memory ret) internal view returns (bool) {
        bytes4 s = _sel(ret);
        if (s == IKeelEngine.KeelRiskError.selector) return true;
        if (s == IKeelEngine.KeelOracleInvalid.selector && ret.length >= 36) {
            address feed;
            assembly {
                feed := mload(add(ret, 36))
            }
            return feed == address(volFeed);
        }
        return false;
    }

    function _volStressed() internal view returns (bool) {
        (, uint8 source) = engine.impliedVol(0);
        return source >= 2;
    }

    function _cashOf(uint256[] memory accounts) internal view returns (int128[] memory cash) {
        cash = new int128[](accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            cash[i] = engine.cashBalance(accounts[i]);
        }
    }

    function _checkLossIndex() internal {
        if (engine.lossIndex() <= 0) lossIndexNotPositive++;
    }

    /// The honest depositor's cash may only fall in a bad-debt settlement.
    int128 internal daveLast = type(int128).min;

    function _checkHonest(bool settlement) internal {
        int128 c = engine.cashBalance(acct(dave, 0));
        if (daveLast != type(int128).min && c < daveLast && !settlement) honestLosses++;
        daveLast = c;
    }

    // ------------------------------------------------------------ checked primitives

    function _deposit(address from, uint256 account, uint8 id, uint256 amount) internal returns (bool ok) {
        MockERC20 t = id == 0 ? usdc : weth;
        t.mint(from, amount);
        vm.prank(from);
        t.approve(address(engine), amount);
        uint256 held = t.balanceOf(address(engine));
        int128 cashBefore = engine.cashBalance(account);
        vm.prank(from);
        (ok,) = address(engine).call(abi.encodeCall(IKeelEngine.deposit, (account, id, amount)));
        bool foreign = ownerOf(account) != from;
        if (ok) {
            _touch(account);
            deposits++;
            if (t.balanceOf(address(engine)) != held + amount) effectsMissing++;
            if (id == 0 && engine.cashBalance(account) != cashBefore + int128(int256(amount)) * 1e12) effectsMissing++;
            if (foreign && id != 0) foreignCollateralAccepted++;
            if (foreign && id == 0) foreignCashDeposits++;
        } else if (foreign && id != 0) {
            foreignCollateralRefused++;
        }
        vm.prank(from);
        t.approve(address(engine), 0);
    }

    function _withdraw(uint256 account, uint8 id, uint256 amount) internal returns (bool ok) {
        address who = ownerOf(account);
        MockERC20 t = id == 0 ? usdc : weth;
        uint256 before = t.balanceOf(who);
        vm.prank(who);
        (ok,) = address(engine).call(abi.encodeCall(IKeelEngine.withdraw, (account, id, amount)));
        if (!ok) return false;
        withdrawals++;
        if (t.balanceOf(who) != before + amount) effectsMissing++;
        if (_positionCount(account) > 0 || engine.cashBalance(account) < 0) {
            (int128 eqIm,, int128 im,) = engine.accountMargin(account);
            if (eqIm < im) withdrawalsBelowIm++;
        }
    }

    /// What a trade is checked against: the band the engine reported before it,
    /// the parties' positions and every tracked account's cash.
    struct TradeCtx {
        uint256 makerAccount;
        uint256 takerAccount;
        int128 spot;
        bool inBand;
        int128 makerPos;
        int128 takerPos;
        uint256[] others;
        int128[] cash;
    }

    function _tradeCtx(uint256 makerAccount, uint256 takerAccount, uint32 instrument, int128 price)
        internal
        view
        returns (TradeCtx memory c)
    {
        c.makerAccount = makerAccount;
        c.takerAccount = takerAccount;
        (bool banded, bytes memory b) = address(engine).staticcall(abi.encodeCall(IKeelEngine.priceBand, (instrument)));
        if (banded) {
            (, int128 spot, int128 low, int128 high) = abi.decode(b, (int128, int128, int128, int128));
            c.spot = spot;
            c.inBand = price >= low && price <= high;
        }
        c.makerPos = _position(makerAccount, instrument);
        c.takerPos = _position(takerAccount, instrument);
        c.others = touchedList;
        c.cash = _cashOf(c.others);
    }

    /// `maker` (account `maker << 96`) posts `size` at `price`; the owner of
    /// `takerAccount` fills it. Checks band, dust, third parties, equity.
    function _trade(address maker, uint256 takerAccount, uint32 instrument, int128 size, int128 price)
        internal
        returns (bool ok)
    {
        TradeCtx memory c = _tradeCtx(acct(maker, 0), takerAccount, instrument, price);
        if (!c.inBand) offBandTried++;
        vm.prank(maker);
        uint256 id = market.post(instrument, size, price);
        vm.prank(ownerOf(takerAccount));
        bytes memory why;
        (ok, why) = address(market).call(abi.encodeCall(ExampleMarket.fill, (id, takerAccount)));
        if (!ok) {
            tradesRefused++;
            refusals[_sel(why)]++;
            vm.prank(maker);
            market.cancel(id);
            return false;
        }
        tradesFilled++;
        _touch(c.makerAccount);
        _touch(takerAccount);
        _touch(market.feeAccount());
        if (ownerOf(takerAccount) == maker) sameOwnerTrades++;
        if (!c.inBand) outOfBandAccepted++;
        if (
            _position(c.makerAccount, instrument) != c.makerPos + size
                || _position(takerAccount, instrument) != c.takerPos - size
        ) effectsMissing++;
        if (_dust(c.makerPos + size, c.spot) || _dust(c.takerPos - size, c.spot)) dustAccepted++;
        _checkThirdParties(c);
        for (uint256 k = 0; k < 2; k++) {
            (bool valued, int128 eqMm,,) = _figures(k == 0 ? c.makerAccount : takerAccount);
            if (valued && eqMm < 0) tradesLeavingNegativeEquity++;
        }
    }

    /// No account but the trade's parties changed cash (the market's fee
    /// account may only gain). Checked over every account holding anything
    /// (an untouched account credited by mistake would show in the claims
    /// invariant instead, as the value it took from the books).
    function _checkThirdParties(TradeCtx memory c) internal {
        int128[] memory cashAfter = _cashOf(c.others);
        uint256 fees = market.feeAccount();
        for (uint256 i = 0; i < c.others.length; i++) {
            uint256 a = c.others[i];
            if (a == c.makerAccount || a == c.takerAccount) continue;
            if (a == fees ? cashAfter[i] < c.cash[i] : cashAfter[i] != c.cash[i]) thirdPartyCashChanges++;
        }
    }

    function _dust(int128 pos, int128 spot) internal pure returns (bool) {
        if (pos == 0 || spot == 0) return false;
        int256 n = (int256(pos < 0 ? -pos : pos) * spot) / 1e18;
        return n < MIN_NOTIONAL;
    }

    function _flag(uint256 a) internal returns (bool ok) {
        (bool valued, int128 eqMm, int128 mm, int128 equity) = _figures(a);
        bytes memory ret;
        vm.prank(keeper);
        (ok, ret) = address(engine).call(abi.encodeCall(IKeelEngine.flag, (a)));
        if (!ok) {
            if (_resolvableFeedError(ret)) blockedByResolvableFeed++;
            return false;
        }
        flags++;
        _touch(acct(keeper, 0));
        if (engine.flaggedAt(a) == 0) effectsMissing++;
        if (valued && eqMm >= mm) healthyFlagged++;
        (bool after_,,, int128 equityAfter) = _figures(a);
        if (valued && after_ && equity >= 0 && equityAfter < 0) solventMadeInsolvent++;
        if (_volStressed()) volStressLiquidations++;
    }

    /// An account's state before a liquidation step.
    struct Before {
        bool flagged;
        bool valued;
        int128 eqMm;
        int128 mm;
        int128 equity;
    }

    function _before(uint256 a) internal view returns (Before memory b) {
        b.flagged = engine.flaggedAt(a) != 0;
        (b.valued, b.eqMm, b.mm, b.equity) = _figures(a);
    }

    function _liquidate(uint256 a, uint32 instrument, int128 size, bool self) internal returns (bool ok) {
        Before memory b = _before(a);
        uint256 liq = self ? (a & ~uint256(type(uint64).max)) | ((uint64(a) + 1) % 3) : acct(liquidator, 0);
        int128 pos = _position(a, instrument);
        int128 liqPos = _position(liq, instrument);
        bytes memory ret;
        vm.prank(self ? ownerOf(a) : liquidator);
        (ok, ret) = address(engine).call(abi.encodeCall(IKeelEngine.liquidate, (a, liq, instrument, size)));
        if (ok) _touch(liq);
        if (self) {
            if (ok) selfLiquidationAccepted++;
            else selfLiquidationsRefused++;
            return ok;
        }
        if (!ok) {
            if (b.flagged && b.valued && b.eqMm < b.mm && _resolvableFeedError(ret)) blockedByResolvableFeed++;
            return false;
        }
        liquidations++;
        if (_volStressed()) volStressLiquidations++;
        if (_position(a, instrument) != pos - size || _position(liq, instrument) != liqPos + size) effectsMissing++;
        _afterLiquidation(a, b);
    }

    function _afterLiquidation(uint256 a, Before memory b) internal {
        if (!b.flagged || (b.valued && b.eqMm >= _target(b.mm))) healthyLiquidated++;
        (bool after_, int128 eqMmAfter, int128 mmAfter, int128 equityAfter) = _figures(a);
        if (!b.valued || !after_) return;
        if (b.equity >= 0 && equityAfter < 0) solventMadeInsolvent++;
        if (b.eqMm >= 0 && eqMmAfter >= 0 && int256(eqMmAfter) - mmAfter < int256(b.eqMm) - b.mm) {
            liquidationsLoweringHealth++;
        }
    }

    function _liquidateCollateral(uint256 a, uint256 amount) internal returns (bool ok) {
        Before memory b = _before(a);
        uint256 liq = acct(liquidator, 0);
        uint256 bal = engine.collateralBalance(a, 1);
        uint256 liqBal = engine.collateralBalance(liq, 1);
        bytes memory ret;
        vm.prank(liquidator);
        (ok, ret) = address(engine).call(abi.encodeCall(IKeelEngine.liquidateCollateral, (a, liq, 1, amount)));
        if (!ok) {
            if (b.flagged && b.valued && b.eqMm < b.mm && _resolvableFeedError(ret)) blockedByResolvableFeed++;
            return false;
        }
        collateralLiquidations++;
        if (_volStressed()) volStressLiquidations++;
        if (engine.collateralBalance(a, 1) != bal - amount || engine.collateralBalance(liq, 1) != liqBal + amount) {
            effectsMissing++;
        }
        _afterLiquidation(a, b);
    }

    function _settle(uint256 a) internal returns (bool ok) {
        (ok,) = address(engine).call(abi.encodeCall(IKeelEngine.settleBadDebt, (a)));
        if (!ok) return false;
        badDebtSettlements++;
        if (engine.cashBalance(a) != 0) effectsMissing++;
        _checkLossIndex();
    }

    // ------------------------------------------------------------ fuzzed actions

    /// Each action runs as a self-call (`xStep`) so that a revert anywhere in
    /// it (a view the engine refuses, gas) is caught, counted and kept for the
    /// log instead of being an anonymous revert of the handler: the handler
    /// never reverts, and a reverted step leaves no unchecked state behind.
    uint256 public handlerErrors;
    bytes public lastHandlerError;

    modifier onlySelf() {
        require(msg.sender == address(this), "EngineHandler: internal step");
        _;
    }

    function _handlerError(bytes memory e) internal {
        handlerErrors++;
        lastHandlerError = e;
    }

    function _trader(uint256 seed) internal view returns (address) {
        return traders[seed % traders.length];
    }

    /// An account of a trader: sub-account 0 (main), 1 (its pair) or 2 (dust).
    function _account(uint256 seed) internal view returns (uint256) {
        return acct(_trader(seed), uint64((seed / 3) % 3));
    }

    /// Deposits: own settlement cash (dust-sized into dust accounts), own
    /// WETH, settlement cash into a foreign account, or an attempt at WETH
    /// into a foreign account (must be refused).
    function deposit(uint256 whoSeed, uint256 targetSeed, uint256 kindSeed, uint256 amountSeed) external {
        try this.depositStep(whoSeed, targetSeed, kindSeed, amountSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function depositStep(uint256 whoSeed, uint256 targetSeed, uint256 kindSeed, uint256 amountSeed) external onlySelf {
        address from = _trader(whoSeed);
        uint256 kind = kindSeed % 4;
        uint256 target = kind < 2 ? acct(from, uint64(targetSeed % 3)) : _account(targetSeed);
        if (kind >= 2 && ownerOf(target) == from) target = acct(_trader(whoSeed % 3 + 1), uint64(targetSeed % 3));
        if (kind == 1 || kind == 3) {
            _deposit(from, target, 1, bound(amountSeed, 0.01e18, 5e18));
        } else {
            bool dust = uint64(target) == 2;
            _deposit(from, target, 0, dust ? bound(amountSeed, 1e6, 20e6) : bound(amountSeed, 1e6, 20_000e6));
        }
        _checkHonest(false);
    }

    /// Withdraws up to the cash plus 1,000 (borrowing) or the WETH balance.
    function withdraw(uint256 whoSeed, bool collateral, uint256 amountSeed) external {
        try this.withdrawStep(whoSeed, collateral, amountSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function withdrawStep(uint256 whoSeed, bool collateral, uint256 amountSeed) external onlySelf {
        uint256 a = _account(whoSeed);
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
        _withdraw(a, collateral ? 1 : 0, amount);
        _checkHonest(false);
    }

    /// A trader posts an order on the example market, another account fills
    /// it (any trader's main, pair or dust sub-account; the maker's own other
    /// sub-accounts included). Price: the mark, inside the band, just outside,
    /// or absurd. Size: 0.001-3 units (some below the minimum notional).
    function trade(
        uint256 makerSeed,
        uint256 takerSeed,
        uint256 instSeed,
        int256 sizeSeed,
        uint256 priceMode,
        uint256 priceSeed
    ) external {
        try this.tradeStep(makerSeed, takerSeed, instSeed, sizeSeed, priceMode, priceSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function tradeStep(
        uint256 makerSeed,
        uint256 takerSeed,
        uint256 instSeed,
        int256 sizeSeed,
        uint256 priceMode,
        uint256 priceSeed
    ) external onlySelf {
        address maker = _trader(makerSeed);
        uint256 takerAccount = _account(takerSeed);
        if (takerAccount == acct(maker, 0)) takerAccount = acct(maker, 1);
        uint32 instrument = uint32(instSeed % 4);
        int256 k = bound(sizeSeed, -3_000, 3_000);
        if (k == 0) k = 1;
        int128 size = int128(k * (instrument == BTC_PERP ? int256(1e14) : int256(1e15)));
        int128 price = _tradePrice(instrument, priceMode % 8, priceSeed);
        // One perp trade in three: the maker takes all the leverage its free
        // margin allows (what makes accounts liquidatable, and dust accounts
        // worth flagging, after the next move).
        if (instrument <= BTC_PERP && uint256(sizeSeed) % 3 == 0) {
            int128 levered = _maxLeverage(acct(maker, 0), instrument, price);
            if (levered != 0) size = k < 0 ? -levered : levered;
        }
        _trade(maker, takerAccount, instrument, size, price);
        _checkHonest(false);
    }

    /// 95% of the size `account`'s free IM margin supports at the scan range
    /// (0 when it has none).
    function _maxLeverage(uint256 account, uint32 instrument, int128 price) internal view returns (int128) {
        (bool ok, bytes memory m) = address(engine).staticcall(abi.encodeCall(IKeelEngine.accountMargin, (account)));
        if (!ok || price <= 0) return 0;
        (int128 eqIm,, int128 im,) = abi.decode(m, (int128, int128, int128, int128));
        (,,,, int128 range,,) = engine.underlying(instrument == BTC_PERP ? 1 : 0);
        int256 free = int256(eqIm) - im;
        if (free <= 0 || range <= 0) return 0;
        int256 perUnit = int256(range) * price / 1e18 + int256(price) / 50; // scan range + ~2% for the fee and extremes
        if (perUnit <= 0) return 0;
        int256 size = free * 95 / 100 * 1e18 / perUnit;
        return size > type(int128).max / 2 ? int128(0) : int128(size);
    }

    /// A trade price: 0 the mark; 1-4 inside the band; 5 just outside it
    /// (below or above); 6 one wei; 7 twice the band's top.
    function _tradePrice(uint32 instrument, uint256 mode, uint256 seed) internal view returns (int128) {
        (bool ok, bytes memory b) = address(engine).staticcall(abi.encodeCall(IKeelEngine.priceBand, (instrument)));
        int128 mark;
        int128 low;
        int128 high;
        if (ok) {
            (mark,, low, high) = abi.decode(b, (int128, int128, int128, int128));
        } else {
            mark = int128(instrument == BTC_PERP ? btcPx8 * 1e10 : ethPx8 * 1e10);
            if (instrument >= ETH_CALL) mark = mark / 20;
            (low, high) = (mark / 2, mark * 3 / 2);
        }
        if (mode == 0) return mark;
        if (mode <= 4) return int128(int256(bound(seed, uint256(int256(low)), uint256(int256(high)))));
        if (mode == 5) {
            int128 off = int128(int256(bound(seed, 1, 1e18)));
            return seed % 2 == 0 && low > off ? low - off : high + off;
        }
        if (mode == 6) return 1;
        return high * 2;
    }

    /// Time passes (1 minute to 1.5 hours) and prices move: mode 0-1 moves of
    /// up to +-15%; mode 2 a crash or rally of 20-45%; mode 3 ETH/USD and the
    /// vol feed publish nothing (both may go stale); mode 4 the vol feed
    /// publishes nothing.
    function movePrice(int256 ethMoveSeed, int256 btcMoveSeed, uint256 dtSeed, uint256 modeSeed) external {
        try this.movePriceStep(ethMoveSeed, btcMoveSeed, dtSeed, modeSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function movePriceStep(int256 ethMoveSeed, int256 btcMoveSeed, uint256 dtSeed, uint256 modeSeed) external onlySelf {
        uint256 mode = modeSeed % 5;
        vm.warp(block.timestamp + bound(dtSeed, 60, 5_400));
        int256 m = mode == 2 ? _crash(ethMoveSeed) : bound(ethMoveSeed, -150, 150);
        int256 e = ethPx8 * (1_000 + m) / 1_000;
        int256 b = btcPx8 * (1_000 + bound(btcMoveSeed, -150, 150)) / 1_000;
        ethPx8 = e < 300e8 ? int256(300e8) : e > 9_000e8 ? int256(9_000e8) : e;
        btcPx8 = b < 20_000e8 ? int256(20_000e8) : b > 150_000e8 ? int256(150_000e8) : b;
        if (mode != 3) ethFeed.push(ethPx8);
        btcFeed.push(btcPx8);
        if (mode < 3 && volPx8 > 0) volFeed.push(volPx8);
        // Every other move a keeper pokes both underlyings right away (the
        // scan range follows, a large move trips the deviation guard).
        if (dtSeed % 2 == 0) {
            poke(0);
            poke(1);
        }
        _checkHonest(false);
    }

    function _crash(int256 seed) internal pure returns (int256) {
        int256 m = bound(seed, -450, 450);
        if (m > -200 && m < 200) m = m < 0 ? m - 200 : m + 200;
        return m < -450 ? int256(-450) : m > 450 ? int256(450) : m;
    }

    /// The implied-vol feed answers at or beyond the smile's bounds (5%, 10%,
    /// 80%, 300%, 350%, 500%), or its latest round is stale.
    function setVol(uint256 seed) external {
        try this.setVolStep(seed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function setVolStep(uint256 seed) external onlySelf {
        int256[6] memory vols = [int256(0.05e8), 0.1e8, 0.8e8, 3e8, 3.5e8, 5e8];
        if (seed % 7 == 6) {
            volFeed.pushAt(volPx8, block.timestamp - 3_601, block.timestamp - 3_601);
        } else {
            volPx8 = vols[seed % 7];
            volFeed.push(volPx8);
        }
    }

    function poke(uint256 seed) public {
        (bool ok,) = address(engine).call(abi.encodeCall(IKeelEngine.poke, (uint8(seed % 2))));
        if (ok) pokes++;
    }

    /// The keeper flags an account: the one picked, or (as keepers do) the
    /// first liquidatable one.
    function flag(uint256 whoSeed) external {
        try this.flagStep(whoSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function flagStep(uint256 whoSeed) external onlySelf {
        uint256 a = _account(whoSeed);
        if (engine.flaggedAt(a) != 0 || !_liquidatable(a)) {
            for (uint256 i = 0; i < tracked.length; i++) {
                uint256 c = tracked[(whoSeed % tracked.length + i) % tracked.length];
                if (engine.flaggedAt(c) == 0 && _liquidatable(c)) {
                    a = c;
                    break;
                }
            }
        }
        _flag(a);
        _checkHonest(false);
    }

    /// Whether `a` is below MM (false when it cannot be valued now). Only an
    /// account with positions or debt can be: the cheap views go first.
    function _liquidatable(uint256 a) internal view returns (bool) {
        if (_positionCount(a) == 0 && engine.cashBalance(a) >= 0) return false;
        try engine.isLiquidatable(a) returns (bool l) {
            return l;
        } catch {
            return false;
        }
    }

    /// The liquidator takes 10-100% of a position of a flagged account (the
    /// one picked, else the first flagged one), above the close factor too;
    /// one time in five the account's owner tries it through its own other
    /// sub-account instead (must be refused).
    function liquidate(uint256 whoSeed, uint256 instSeed, uint256 fractionSeed) external {
        try this.liquidateStep(whoSeed, instSeed, fractionSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function liquidateStep(uint256 whoSeed, uint256 instSeed, uint256 fractionSeed) external onlySelf {
        uint256 a = _flaggedAccount(whoSeed);
        (uint32[] memory ids, int128[] memory sizes,) = engine.positions(a);
        uint32 instrument = ids.length == 0 ? uint32(instSeed % 4) : ids[instSeed % ids.length];
        int128 pos = ids.length == 0 ? int128(1e18) : sizes[instSeed % ids.length];
        int128 size = int128(int256(pos) * int256(bound(fractionSeed, 10, 100)) / 100);
        if (size == 0) size = pos;
        _liquidate(a, instrument, size, fractionSeed % 5 == 0);
        _checkHonest(false);
    }

    function _flaggedAccount(uint256 seed) internal view returns (uint256 a) {
        a = _account(seed);
        if (engine.flaggedAt(a) != 0) return a;
        for (uint256 i = 0; i < tracked.length; i++) {
            uint256 c = tracked[(seed % tracked.length + i) % tracked.length];
            if (engine.flaggedAt(c) != 0) return c;
        }
    }

    /// The liquidator buys 10-100% of a flagged account's WETH.
    function liquidateCollateral(uint256 whoSeed, uint256 fractionSeed) external {
        try this.liquidateCollateralStep(whoSeed, fractionSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function liquidateCollateralStep(uint256 whoSeed, uint256 fractionSeed) external onlySelf {
        uint256 a = _flaggedAccount(whoSeed);
        uint256 bal = engine.collateralBalance(a, 1);
        if (bal == 0) {
            for (uint256 i = 0; i < tracked.length; i++) {
                uint256 c = tracked[(whoSeed % tracked.length + i) % tracked.length];
                if (engine.flaggedAt(c) != 0 && engine.collateralBalance(c, 1) > 0) {
                    a = c;
                    bal = engine.collateralBalance(c, 1);
                    break;
                }
            }
        }
        if (bal == 0) return;
        uint256 amount = bal * bound(fractionSeed, 10, 100) / 100;
        _liquidateCollateral(a, amount == 0 ? bal : amount);
        _checkHonest(false);
    }

    /// Anyone settles the first bankrupt account (negative cash, nothing else).
    function settleBadDebt(uint256 whoSeed) external {
        try this.settleBadDebtStep(whoSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function settleBadDebtStep(uint256 whoSeed) external onlySelf {
        for (uint256 i = 0; i < tracked.length; i++) {
            uint256 c = tracked[(whoSeed % tracked.length + i) % tracked.length];
            if (engine.cashBalance(c) < 0 && _positionCount(c) == 0 && engine.collateralBalance(c, 1) == 0) {
                _settle(c);
                break;
            }
        }
        _checkHonest(true);
    }

    function unflag(uint256 whoSeed) external {
        try this.unflagStep(whoSeed) {}
        catch (bytes memory e) {
            _handlerError(e);
        }
    }

    function unflagStep(uint256 whoSeed) external onlySelf {
        uint256 a = _flaggedAccount(whoSeed);
        (bool ok,) = address(engine).call(abi.encodeCall(IKeelEngine.unflag, (a)));
        if (ok) unflags++;
    }

    // ------------------------------------------------------------ epilogue

    /// Drives Eve (an option and perp account with WETH) through every path,
    /// with every check above: a deposit, a withdrawal, a trade at the mark, a
    /// refused close at 1 wei, a crash of 60%, a flag and liquidations under a
    /// stale then out-of-bounds vol feed, a collateral liquidation and the
    /// bad-debt settlement. Works from whatever state the run left.
    function epilogue() external {
        // Fresh feeds; clear any live or stored deviation guard.
        for (uint256 i = 0; i < 2; i++) {
            vm.warp(block.timestamp + 601);
            _refresh(0.8e8);
            poke(0);
            poke(1);
        }
        vm.warp(block.timestamp + 601);
        _refresh(0.8e8);
        uint256 e = acct(eve, 0);
        uint256 f = acct(frank, 1);
        _deposit(eve, e, 0, 1_000e6);
        _deposit(eve, e, 1, 1e18);
        _deposit(frank, f, 0, 1_000_000e6);
        _deposit(frank, e, 0, 100e6); // settlement cash into a foreign account: allowed
        _deposit(frank, e, 1, 1e18); // collateral into a foreign account: refused
        _withdraw(e, 0, 100e6);
        // Eve trades with her own sub-account (a same-owner pair): 0.001 BTC at the mark.
        _deposit(eve, acct(eve, 1), 0, 1_000e6);
        (, bytes memory bb) = address(engine).staticcall(abi.encodeCall(IKeelEngine.priceBand, (BTC_PERP)));
        (int128 btcMark,,,) = abi.decode(bb, (int128, int128, int128, int128));
        _trade(eve, acct(eve, 1), BTC_PERP, 0.001e18, btcMark);
        // A long perp sized to ~90% of Eve's IM capacity (the scan range is
        // whatever the run left), and a short call (an option account).
        (,,,, int128 range,,) = engine.underlying(0);
        int256 p = ethPx8 * 1e10;
        int256 capacity = 1_000e18 + p * 9 / 10;
        int128 size = int128(capacity * 9 / 10 * 1e18 / (int256(range) * p / 1e18 + p / 50));
        size = size / 1e15 * 1e15;
        for (uint256 i = 0; i < 6 && !_trade(eve, f, ETH_PERP, size, int128(p)); i++) {
            size = size * 7 / 10 / 1e15 * 1e15;
        }
        (bool banded, bytes memory b) = address(engine).staticcall(abi.encodeCall(IKeelEngine.priceBand, (ETH_CALL)));
        if (banded) {
            (int128 callMark,,,) = abi.decode(b, (int128, int128, int128, int128));
            _trade(eve, f, ETH_CALL, -0.1e18, callMark);
        }
        // Frank tries to buy Eve's long back at 1 wei: refused.
        _trade(frank, e, ETH_PERP, size, 1);
        // ETH -60%: Eve is below zero at mark.
        vm.warp(block.timestamp + 60);
        ethPx8 = ethPx8 * 4 / 10;
        _refresh(0.8e8);
        volFeed.pushAt(0.8e8, block.timestamp - 3_601, block.timestamp - 3_601); // stale vol
        _flag(e);
        _liquidate(e, ETH_PERP, size / 2, true); // Eve through her own sub-account: refused
        (uint32[] memory ids, int128[] memory sizes,) = engine.positions(e);
        for (uint256 i = 0; i < ids.length; i++) {
            if (i == 1) volFeed.push(3.5e8); // beyond the smile's 300%
            _liquidate(e, ids[i], sizes[i], false);
        }
        _liquidateCollateral(e, engine.collateralBalance(e, 1));
        _settle(e);
        volFeed.push(0.8e8);
        volPx8 = 0.8e8;
        _checkHonest(true);
    }

    function _refresh(int256 vol8) internal {
        ethFeed.push(ethPx8);
        btcFeed.push(btcPx8);
        volFeed.push(vol8);
    }
}
