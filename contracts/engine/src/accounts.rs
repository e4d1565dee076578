//! The accounts program's entry points: the constructor, accounts and
//! collateral, trades, margin views, dynamic margin, liquidation and expiry
//! (methods of [`KeelEngine`]; routed by [`crate::router`]).
use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use stylus_sdk::prelude::*;

use crate::abi::Args;
use crate::errors::{
    self, unauthorized, EngineError, KeelDepositCapExceeded, KeelInsufficientBalance,
    KeelInvalidAddress, KeelInvalidAmount, KeelInvalidExpiry, KeelPokeTooSoon, KeelSettlementPrice,
};
use crate::events::*;
use crate::margin::{calc_error, Figures};
use crate::params::{self, check, field};
use crate::{account_id, ld, ld64, st, KeelEngine};
use keel_risk::{wmul, Rounding};
use keel_risk_calc::codec;

/// Engine result.
type R<T> = errors::Result<T>;

/// The programs the engine is made of besides `keel_engine` itself, in the
/// order of the constructor's and `modules()`'s ABI (see `router`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modules {
    /// The risk calculator (`keel_risk_calc`), static-called for every figure.
    pub risk_calc: Address,
    /// The admin program (`keel_engine_admin`).
    pub admin: Address,
    /// The keeper program (`keel_engine_keeper`).
    pub keeper: Address,
    /// The margin program (`keel_engine_margin`).
    pub margin: Address,
    /// The upkeep program (`keel_engine_upkeep`).
    pub upkeep: Address,
}

impl KeelEngine {
    /// Initialises roles, the settlement token (collateral id 0), the program
    /// modules (the risk calculator the margin program static-calls for every
    /// margin figure, and the admin, keeper, margin and upkeep programs the
    /// fallback delegates to, see `router`) and the default risk and
    /// liquidation parameters. Runs once, at deploy (selector
    /// `0x5585258d`, as StylusDeployer calls it).
    ///
    /// # Errors
    /// `KeelAlreadyInitialized` on a second call; `KeelInvalidAddress` for a
    /// zero owner, token, risk calculator or engine program;
    /// `KeelParameterOutOfBounds` when the token reports more than 18 decimals;
    /// `KeelOracleInvalid` when its `decimals()` cannot be read.
    ///
    /// # Events
    /// `OwnershipTransferred(0, owner)`, `CollateralSet(0, ...)`.
    pub fn constructor(
        &mut self,
        owner: Address,
        settlement_token: Address,
        sequencer_feed: Address,
        modules: Modules,
    ) -> R<()> {
        if !self.owner.get().is_zero() {
            return Err(EngineError::AlreadyInitialized(
                errors::KeelAlreadyInitialized {},
            ));
        }
        let m = modules;
        if [
            owner,
            settlement_token,
            m.risk_calc,
            m.admin,
            m.keeper,
            m.margin,
            m.upkeep,
        ]
        .iter()
        .any(|a| a.is_zero())
        {
            return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
        }
        let dec = self.read_decimals(settlement_token)?;
        self.owner.set(owner);
        self.risk_admin.set(owner);
        self.guardian.set(owner);
        self.sequencer.set(sequencer_feed);
        self.risk_calc.set(m.risk_calc);
        self.admin_module.set(m.admin);
        self.keeper_module.set(m.keeper);
        self.margin_module.set(m.margin);
        self.upkeep_module.set(m.upkeep);
        self.sequencer_grace
            .set(alloy_primitives::U32::from(3_600u32));
        st(&mut self.loss_index, keel_risk::WAD);
        {
            let mut c = self.collaterals.setter(0);
            c.token.set(settlement_token);
            c.decimals.set(alloy_primitives::U8::from(dec));
            c.cap.set(U256::MAX);
        }
        self.collateral_count.set(alloy_primitives::U8::from(1u8));
        self.set_default_params();
        self.emit(OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: owner,
        });
        self.emit_collateral(0);
        Ok(())
    }

    /// The program modules the constructor installed (all zero before).
    pub fn modules(&self) -> Modules {
        Modules {
            risk_calc: self.risk_calc.get(),
            admin: self.admin_module.get(),
            keeper: self.keeper_module.get(),
            margin: self.margin_module.get(),
            upkeep: self.upkeep_module.get(),
        }
    }

    // ------------------------------------------------------------ accounts

    /// `owner << 96 | sub`.
    pub fn account_id(&self, owner: Address, sub: u64) -> U256 {
        account_id(owner, sub)
    }

    /// Deposits `amount` (token units) of collateral `id` from the caller into
    /// `account`. Credits what actually arrived; the settlement token (id 0)
    /// credits cash, and anyone may pay cash into any account (it can only
    /// improve it). Other collateral only its owner may deposit: a stranger's
    /// 1 wei of a token would otherwise add a feed read to every margin
    /// check of the account and block `settleBadDebt` (which needs an account
    /// without collateral). Works while new risk is paused.
    ///
    /// # Errors
    /// `KeelInvalidAmount` (zero, or a balance beyond the engine's amount
    /// bound, which margin could not value); `KeelUnauthorizedAccount`
    /// (collateral into another's account); `KeelUnknownEntry`;
    /// `KeelTokenCallFailed`; `KeelDepositCapExceeded`.
    ///
    /// # Events
    /// `Deposited`.
    pub fn deposit(&mut self, account: U256, id: u8, amount: U256) -> R<()> {
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        self.collateral_exists(id)?;
        if id != 0 {
            self.only_account_owner(account)?;
        }
        let from = self.vm().msg_sender();
        let token = self.collaterals.getter(id).token.get();
        let got = self.pull(token, from, amount)?;
        let (cap, total) = {
            let c = self.collaterals.getter(id);
            (c.cap.get(), c.total.get().saturating_add(got))
        };
        if total > cap {
            return Err(EngineError::DepositCapExceeded(KeelDepositCapExceeded {
                id,
                cap,
                total,
            }));
        }
        self.collaterals.setter(id).total.set(total);
        if id == 0 {
            let w = self.token_to_wad(0, got)?;
            self.add_cash(account, w)?;
        } else {
            let bal = self
                .accounts
                .getter(account)
                .collateral
                .get(id)
                .saturating_add(got);
            // Margin values every balance in WAD below the amount bound.
            self.token_to_wad(id, bal)?;
            let mut a = self.accounts.setter(account);
            a.collateral.setter(id).set(bal);
            let m = a.collateral_mask.get().to::<u8>() | (1 << id);
            a.collateral_mask.set(alloy_primitives::U8::from(m));
        }
        self.emit(Deposited {
            account,
            collateral: id,
            from,
            amount: got,
        });
        Ok(())
    }

    /// Withdraws `amount` (token units) of collateral `id` from `account` to its
    /// owner (owner only). Settlement-token withdrawals may take cash negative
    /// (a loan against collateral). Requires IM afterwards unless the account has
    /// no positions and no debt.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelInvalidAmount`; `KeelUnknownEntry`;
    /// `KeelInsufficientBalance`; `KeelInsufficientMargin`; oracle errors;
    /// `KeelTokenCallFailed`.
    ///
    /// # Events
    /// `Withdrawn`.
    pub fn withdraw(&mut self, account: U256, id: u8, amount: U256) -> R<()> {
        self.only_account_owner(account)?;
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        self.collateral_exists(id)?;
        if id == 0 {
            let w = self.token_to_wad(0, amount)?;
            self.add_cash(account, -w)?;
        } else {
            let mut a = self.accounts.setter(account);
            let bal = a.collateral.get(id);
            if bal < amount {
                return Err(EngineError::InsufficientBalance(KeelInsufficientBalance {
                    account,
                    id,
                    balance: bal,
                    needed: amount,
                }));
            }
            let left = bal - amount;
            a.collateral.setter(id).set(left);
            if left.is_zero() {
                let m = a.collateral_mask.get().to::<u8>() & !(1 << id);
                a.collateral_mask.set(alloy_primitives::U8::from(m));
            }
        }
        let (token, total) = {
            let c = self.collaterals.getter(id);
            (c.token.get(), c.total.get().saturating_sub(amount))
        };
        self.collaterals.setter(id).total.set(total);
        if self.position_count(account) > 0 || self.cash_of(account) < 0 {
            self.require_im(account, None)?;
        }
        let to = self.vm().msg_sender();
        self.push(token, to, amount)?;
        self.emit(Withdrawn {
            account,
            collateral: id,
            to,
            amount,
        });
        Ok(())
    }

    /// Adds `amount` (token units) of the settlement token from the caller to the
    /// insurance fund; while there is a protocol deficit, the amount repays it
    /// first (the claims it stands for are then backed again).
    ///
    /// # Errors
    /// `KeelInvalidAmount`; `KeelTokenCallFailed`.
    ///
    /// # Events
    /// `DeficitChanged` (when it repays), `InsuranceFundChanged`.
    pub fn fund_insurance(&mut self, amount: U256) -> R<()> {
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        let token = self.collaterals.getter(0).token.get();
        let from = self.vm().msg_sender();
        let got = self.pull(token, from, amount)?;
        let w = self.token_to_wad(0, got)?;
        let total = self.collaterals.getter(0).total.get().saturating_add(got);
        self.collaterals.setter(0).total.set(total);
        let repaid = w.min(ld(&self.deficit));
        if repaid > 0 {
            self.change_deficit(-repaid)?;
        }
        if w > repaid {
            self.change_insurance(w - repaid)?;
        }
        Ok(())
    }

    /// Losses no one could be charged for (cash, WAD, >= 0): positive cash
    /// balances exceed the settlement tokens that back them by this much.
    pub fn protocol_deficit(&self) -> i128 {
        ld(&self.deficit)
    }

    /// Insurance fund balance (cash, WAD).
    pub fn insurance_fund(&self) -> i128 {
        ld(&self.insurance)
    }

    /// Socialised-loss index (WAD; 1e18 = no loss so far).
    pub fn loss_index(&self) -> i128 {
        ld(&self.loss_index)
    }

    /// Settlement cash of `account` (WAD, after the loss index).
    pub fn cash_balance(&self, account: U256) -> i128 {
        self.cash_of(account)
    }

    /// Collateral `id` balance of `account` (token units).
    pub fn collateral_balance(&self, account: U256, id: u8) -> U256 {
        self.accounts.getter(account).collateral.get(id)
    }

    /// Positions of `account`: instrument ids, signed sizes and perp entry prices (WAD).
    pub fn positions(&self, account: U256) -> (Vec<u32>, Vec<i128>, Vec<i128>) {
        let ids = self.position_list(account);
        let mut sizes = Vec::with_capacity(ids.len());
        let mut entries = Vec::with_capacity(ids.len());
        for id in &ids {
            let (s, e) = self.position(account, *id);
            sizes.push(s);
            entries.push(e);
        }
        (ids, sizes, entries)
    }

    /// Liquidation flag time of `account` (0 = not flagged).
    pub fn flagged_at(&self, account: U256) -> u64 {
        ld64(&self.accounts.getter(account).flagged_at)
    }

    // ------------------------------------------------------------ trades

    /// Reports a trade of `sizeDelta` (WAD, signed) of `instrument` at `price`
    /// (WAD) for `account`, with a `fee` (cash, WAD, >= 0) credited to the
    /// market's own account `accountId(market, 0)` (authorised markets only).
    /// Perp PnL realises into cash on reduction; option premium moves through
    /// cash. Rules, so that no trade moves value out of an account that cannot
    /// afford it:
    /// - the price lies in the band around the engine's own mark
    ///   (`priceBand`: perps spot, options Black-76);
    /// - a non-zero position afterwards is worth at least the instrument's
    ///   minimum notional (|size| x spot);
    /// - a trade that adds risk (grows or flips the position) needs new risk
    ///   not paused for the underlying, the open-interest cap respected and
    ///   IM afterwards;
    /// - any other trade needs IM afterwards too, unless the account was
    ///   already below IM: then its health must not fall and its MM-view
    ///   equity must stay non-negative.
    ///
    /// Returns the cash change from PnL or premium.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount` (not a market); `KeelUnknownEntry`;
    /// `KeelParameterOutOfBounds` (size, fee, price outside the band 19,
    /// position below the minimum notional 26); `KeelInvalidExpiry` (expired
    /// option); `KeelNewRiskPaused`; `KeelCapacityExceeded(3, 16)` (positions)
    /// or `(4, cap)` (open interest); `KeelInsufficientMargin`; oracle errors.
    ///
    /// # Events
    /// `TradeReported`.
    pub fn report_trade(
        &mut self,
        account: U256,
        instrument: u32,
        size_delta: i128,
        price: i128,
        fee: i128,
    ) -> R<i128> {
        let market = self.vm().msg_sender();
        if !self.markets.get(market) {
            return Err(unauthorized(market));
        }
        self.instrument_exists(instrument)?;
        let max = params::MAX_PRICE;
        check(field::SIZE, size_delta, -max, max)?;
        if size_delta == 0 {
            return Err(errors::out_of_bounds(field::SIZE, 0, 1, max));
        }
        check(field::PRICE, price, 1, max)?;
        check(field::FEE, fee, 0, max)?;
        let (u, expiry) = {
            let i = self.instruments.getter(instrument);
            (i.underlying.get().to::<u8>(), ld64(&i.expiry))
        };
        if expiry != 0 && self.now() >= expiry {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument,
                expiry,
            }));
        }
        let (old, _) = self.position(account, instrument);
        let new = old.checked_add(size_delta).ok_or_else(errors::overflow)?;
        let adds_risk = new.unsigned_abs() > old.unsigned_abs()
            || (old != 0 && new != 0 && (old < 0) != (new < 0));
        if adds_risk {
            self.check_new_risk(u)?;
        }
        // The engine's own mark bounds the price (an off-market price moves
        // value between the two sides of a trade).
        let (_, spot, low, high) = self.band(instrument)?;
        check(field::PRICE, price, low, high)?;
        let min = ld(&self.instruments.getter(instrument).min_notional);
        let notional = wmul(new.abs(), spot, Rounding::Down)?;
        if new != 0 && notional < min {
            return Err(errors::out_of_bounds(
                field::MIN_NOTIONAL,
                notional,
                min,
                max,
            ));
        }
        let before = if adds_risk {
            None
        } else {
            Some(self.margin_of(account)?)
        };
        let pnl = self.apply_trade(account, instrument, size_delta, price)?;
        if adds_risk {
            let i = self.instruments.getter(instrument);
            let (oi, cap) = (ld(&i.open_interest), ld(&i.oi_cap));
            if cap != 0 && oi > cap {
                return Err(EngineError::CapacityExceeded(
                    errors::KeelCapacityExceeded {
                        kind: errors::kind::OPEN_INTEREST,
                        max: U256::from(cap as u128),
                    },
                ));
            }
        }
        if fee != 0 {
            self.add_cash(account, -fee)?;
            self.add_cash(account_id(market, 0), fee)?;
        }
        self.require_margin(account, adds_risk.then_some(u), before.as_ref())?;
        self.emit(TradeReported {
            account,
            instrument,
            market,
            sizeDelta: size_delta,
            price,
            fee,
            realisedPnl: pnl,
        });
        Ok(pnl)
    }

    // ------------------------------------------------------------ margin views

    /// Margin of `account`: (equity IM view, equity MM view, IM, MM), WAD.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn account_margin(&self, account: U256) -> R<(i128, i128, i128, i128)> {
        let r = self.figures_here(account, None)?;
        Ok((r.equity_im, r.equity_mm, r.im, r.mm))
    }

    /// Health = equity (MM view) - MM (WAD; negative = liquidatable).
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn health(&self, account: U256) -> R<i128> {
        Ok(self.figures_here(account, None)?.health)
    }

    /// Whether `account` is below maintenance margin (equity MM view < MM).
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn is_liquidatable(&self, account: U256) -> R<bool> {
        let r = self.figures_here(account, None)?;
        Ok(r.equity_mm < r.mm)
    }

    /// The ATM implied vol margin uses for `underlying` (WAD) and its source
    /// (`margin::vol_source`: 0 stored, 1 feed, 2 clamped feed, 3 fallback).
    ///
    /// # Errors
    /// `KeelUnknownEntry`.
    pub fn implied_vol(&self, underlying: u8) -> R<(i128, u8)> {
        self.underlying_exists(underlying)?;
        let (v, src, _) = self.atm_vol(underlying);
        Ok((v, src))
    }

    /// Every margin figure of `account`, and whether new risk on
    /// `new_risk_underlying` is blocked by its live deviation guard (only when
    /// the account trades it; [`crate::margin::NO_UNDERLYING`] = none). What
    /// the accounts and keeper programs ask the margin program for.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn margin_figures(&self, account: U256, new_risk_underlying: u8) -> R<Figures> {
        let new_risk =
            (new_risk_underlying != crate::margin::NO_UNDERLYING).then_some(new_risk_underlying);
        self.figures_here(account, new_risk)
    }

    /// The auditable worst case of `account` on `underlying`: the PnL of every
    /// scenario (WAD, keel-risk's scenario order), the index of the worst one and
    /// the scan loss. Empty when the account has no position on it.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn scenario_pnl(&self, account: U256, underlying: u8) -> R<(Vec<i128>, u32, i128)> {
        let g = self.gather(account, None)?;
        let Some(i) = g.map.iter().position(|u| *u == underlying) else {
            return Ok((Vec::new(), 0, 0));
        };
        let r = self.margin_with(&g)?;
        let out = self.calc(&codec::encode_scenario_pnl(i as u64, &g.inputs))?;
        let pnl = Args(&out).i128_array(0).map_err(|_| calc_error(&[]))?;
        let worst = r.worst_index.get(i).copied().unwrap_or(0);
        Ok((pnl, worst, r.scan_loss.get(i).copied().unwrap_or(0)))
    }

    /// Greeks of `account` on `underlying`: (delta, gamma, vega), WAD.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn greeks(&self, account: U256, underlying: u8) -> R<(i128, i128, i128)> {
        let g = self.gather(account, None)?;
        let Some(i) = g.map.iter().position(|u| *u == underlying) else {
            return Ok((0, 0, 0));
        };
        let out = self.calc(&codec::encode_account_greeks(&g.inputs))?;
        let a = Args(&out);
        let at = |k: usize| -> R<i128> {
            let v = a.i128_array(k).map_err(|_| calc_error(&[]))?;
            v.get(i).copied().ok_or_else(|| calc_error(&[]))
        };
        Ok((at(0)?, at(1)?, at(2)?))
    }

    // ------------------------------------------------------------ dynamic margin

    /// Reads the spot oracle of `underlying` and updates its EWMA variance and
    /// scan range (rises at once, falls at a bounded rate, floored); trips the
    /// deviation guard when the price moved more than `maxDeviation` since the
    /// last poke. Permissionless; at most once per `params::MIN_POKE_INTERVAL`.
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelPokeTooSoon`; `KeelSequencerUnavailable`;
    /// `KeelOracleInvalid`; `KeelRiskError`.
    ///
    /// # Events
    /// `Poked`; `VolClamped` when the implied-vol feed answers outside the
    /// smile's bounds (every margin check then uses the clamped value).
    pub fn poke(&mut self, underlying: u8) -> R<()> {
        self.underlying_exists(underlying)?;
        let now = self.now();
        let next = self.next_poke(underlying);
        if now < next {
            return Err(EngineError::PokeTooSoon(KeelPokeTooSoon {
                underlying,
                nextAllowed: next,
            }));
        }
        self.check_sequencer()?;
        let price = self.spot(underlying)?;
        let (state, tripped) = self.update_dynamics(underlying, price, now)?;
        self.emit(Poked {
            underlying,
            price,
            variancePerSecond: state.variance_per_second,
            scanRange: state.scan_range,
            deviation: tripped,
        });
        let (used, source, answer) = self.atm_vol(underlying);
        if source == crate::margin::vol_source::CLAMPED {
            self.emit(VolClamped {
                underlying,
                answer,
                used,
            });
        }
        Ok(())
    }

    // ------------------------------------------------------------ liquidation

    /// Flags `account` (equity MM view < MM) for liquidation; the caller earns the
    /// flag reward (cash from the account into `accountId(caller, 0)`).
    ///
    /// # Errors
    /// `KeelInvalidAccountState` (healthy 0 / already flagged 2); oracle errors.
    ///
    /// # Events
    /// `AccountFlagged`.
    pub fn flag(&mut self, account: U256) -> R<()> {
        self.flag_impl(account)
    }

    /// Clears the flag of a recovered account (equity MM view >= MM x (1 + buffer)).
    ///
    /// # Errors
    /// `KeelInvalidAccountState` (not flagged 1 / still below the buffer 4).
    ///
    /// # Events
    /// `FlagCleared`.
    pub fn unflag(&mut self, account: U256) -> R<()> {
        self.unflag_impl(account)
    }

    /// Takes `size` (WAD, same sign as the position, |size| <= |position|) of
    /// `instrument` from flagged `account` into `liquidatorAccount` (owned by the
    /// caller) at mark minus the auction discount (discount grows from flag time,
    /// capped). Allowed while the account's MM-view equity is below
    /// MM x (1 + buffer); the liquidator must hold IM afterwards; liquidated
    /// notional per underlying per window is capped (scaled up with the scan range).
    /// Returns the transfer price.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelInvalidAccountState`; `KeelInvalidPosition`;
    /// `KeelInvalidExpiry`; `KeelLiquidationCapExceeded`; `KeelInsufficientMargin`;
    /// oracle errors.
    ///
    /// # Events
    /// `Liquidated`, and `FlagCleared` when the account is back above the buffer.
    pub fn liquidate(
        &mut self,
        account: U256,
        liquidator_account: U256,
        instrument: u32,
        size: i128,
    ) -> R<i128> {
        self.liquidate_impl(account, liquidator_account, instrument, size)
    }

    /// Buys `amount` (token units) of collateral `id` from flagged `account` into
    /// `liquidatorAccount` (owned by the caller), paying oracle price x (1 -
    /// discount) in cash. Same state rules as `liquidate`. Returns the cash paid.
    ///
    /// # Errors
    /// As `liquidate`, plus `KeelInsufficientBalance`.
    ///
    /// # Events
    /// `CollateralLiquidated`, maybe `FlagCleared`.
    pub fn liquidate_collateral(
        &mut self,
        account: U256,
        liquidator_account: U256,
        id: u8,
        amount: U256,
    ) -> R<i128> {
        self.liquidate_collateral_impl(account, liquidator_account, id, amount)
    }

    /// Covers the negative cash of a bankrupt account (no positions, no non-
    /// settlement collateral): first from the insurance fund, the rest by
    /// lowering the loss index over all positive cash balances. Permissionless.
    ///
    /// # Errors
    /// `KeelInvalidAccountState(3)` when the account is not bankrupt.
    ///
    /// # Events
    /// `BadDebtSettled`, `InsuranceFundChanged`.
    pub fn settle_bad_debt(&mut self, account: U256) -> R<()> {
        self.settle_bad_debt_impl(account)
    }

    // ------------------------------------------------------------ expiry

    /// Records the settlement price of (`underlying`, `expiry`): the answer of
    /// the spot feed's round `round_id` (a Chainlink `uint80` round id, read
    /// with `getRoundData`), which must be the first round at or after
    /// `expiry`: complete with a positive answer, `updatedAt >= expiry`, round
    /// `round_id - 1` readable with `updatedAt < expiry`, and `updatedAt` at
    /// most the underlying's settlement delay after `expiry` (its
    /// `settlementDelay`, or `params::DEFAULT_SETTLEMENT_DELAY` when 0). So
    /// the price does not depend on who calls when; the heartbeat does not
    /// apply (the round is historical). Once only. Permissionless; the
    /// sequencer must be up (out of its grace period).
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelInvalidExpiry` (before expiry, or expiry 0);
    /// `KeelSettlementPrice(set = true)`; `KeelSequencerUnavailable`;
    /// `KeelOracleInvalid(feed, reason, updatedAt)`: 0 the round cannot be
    /// read, 1 answer not positive, 2 incomplete, 4 round before expiry, 6
    /// round later than expiry + delay (with the round's `updatedAt`), 5 not
    /// the first round (round 0, or round `round_id - 1` unreadable or at or
    /// after expiry; with that round's `updatedAt`, 0 if unreadable).
    ///
    /// # Events
    /// `SettlementPriceSet`.
    pub fn record_settlement_price(
        &mut self,
        underlying: u8,
        expiry: u64,
        round_id: u128,
    ) -> R<i128> {
        self.underlying_exists(underlying)?;
        if self.now() < expiry || expiry == 0 {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument: u32::MAX,
                expiry,
            }));
        }
        let key = (U256::from(underlying) << 64) | U256::from(expiry);
        if ld(&self.settlement_prices.getter(key)) != 0 {
            return Err(EngineError::SettlementPrice(KeelSettlementPrice {
                underlying,
                expiry,
                set: true,
            }));
        }
        self.check_sequencer()?;
        let (feed, dec, _) = self.spot_feed(underlying);
        let delay = match ld64(&self.underlyings.getter(underlying).settlement_delay) {
            0 => params::DEFAULT_SETTLEMENT_DELAY,
            d => d,
        };
        let bad = |reason, at: u64| {
            EngineError::OracleInvalid(errors::KeelOracleInvalid {
                feed,
                reason,
                updatedAt: U256::from(at),
            })
        };
        use errors::oracle_reason as why;
        let r = self.read_round_at(feed, round_id)?;
        let at = r.updated_at;
        let price = match r.answer.filter(|a| *a > 0) {
            Some(a) => crate::oracle::to_wad(a, dec).ok_or(bad(why::NON_POSITIVE, at))?,
            None => return Err(bad(why::NON_POSITIVE, at)),
        };
        if at == 0 || !r.complete {
            return Err(bad(why::INCOMPLETE, at));
        }
        if at < expiry {
            return Err(bad(why::BEFORE_EXPIRY, at));
        }
        if at > expiry.saturating_add(delay) {
            return Err(bad(why::TOO_LATE, at));
        }
        // The round before must be readable and predate expiry: `round_id` is the first.
        // Exception: the first round of a Chainlink phase (proxy ids are
        // `phase << 64 | n`, n from 1) has no readable predecessor; refusing
        // it would leave the expiry unsettleable after a phase change. Its
        // predecessor lies in the previous phase, which ended before it began.
        let prev = round_id.checked_sub(1).map(|p| self.read_round_at(feed, p));
        match prev {
            Some(Ok(p)) if p.updated_at < expiry => {}
            Some(Err(_)) | None if round_id as u64 == 1 => {}
            Some(Ok(p)) => return Err(bad(why::NOT_FIRST_ROUND, p.updated_at)),
            _ => return Err(bad(why::NOT_FIRST_ROUND, 0)),
        }
        st(&mut self.settlement_prices.setter(key), price);
        self.emit(SettlementPriceSet {
            underlying,
            expiry,
            price,
        });
        Ok(price)
    }

    /// Settlement price of (`underlying`, `expiry`) (WAD; 0 = not recorded).
    pub fn settlement_price(&self, underlying: u8, expiry: u64) -> i128 {
        ld(&self
            .settlement_prices
            .getter((U256::from(underlying) << 64) | U256::from(expiry)))
    }

    /// Settles `account`'s expired option `instrument` into cash at the recorded
    /// settlement price (payout = size x intrinsic, rounded down). Permissionless.
    /// Returns the payout.
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelInvalidExpiry` (perp or not expired);
    /// `KeelSettlementPrice(set = false)`; `KeelInvalidPosition` (no position).
    ///
    /// # Events
    /// `PositionSettled`.
    pub fn settle(&mut self, account: U256, instrument: u32) -> R<i128> {
        self.settle_impl(account, instrument)
    }
}
