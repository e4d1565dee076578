//! Liquidation state machine, bad debt and expiry settlement.
//!
//! ```text
//!  healthy --(equity_mm < MM: flag, keeper reward)--> flagged
//!  flagged --(liquidate / liquidateCollateral while equity_mm < MM x (1+buffer))--> flagged
//!  flagged --(equity_mm >= MM x (1+buffer): auto after a step, or unflag)--> healthy
//!  no positions, no collateral, cash < 0 --(settleBadDebt)--> cash 0
//!        deficit: insurance fund first, then the loss index (socialised)
//! ```
//!
//! Dutch auction: the discount is `min(start + rate x (now - flaggedAt), max)`,
//! a fraction of spot per unit of size, so both perps and options move at a
//! price that improves for the liquidator as time passes. Caps on what an
//! account pays, so that liquidation never creates bad debt:
//! - equity at mark (no haircuts) >= 0 before the step: the discount is
//!   capped at that equity after booking, so the account ends at >= 0;
//! - MM-view equity >= 0: also capped at the health the step releases, so a
//!   liquidation never leaves it less healthy than before; a step that
//!   releases none (taking a hedge) is refused;
//! - insolvent accounts (equity at mark < 0) pay the full auction discount
//!   (the shortfall goes to the insurance fund).
//!
//! Steps are bounded: one step takes at most the close factor of a position
//! or collateral balance (rounded up), unless what would remain is dust
//! (worth less than the instrument's minimum notional or
//! `params::DUST_NOTIONAL`); the flag reward is capped at the account's
//! equity at mark, so flagging never creates or deepens bad debt; and a
//! liquidator may not liquidate an account of its own owner (which would
//! consume the anti-cascade window cap at no cost).
use crate::margin::Figures;
use alloy_primitives::U256;
use keel_risk::{mul_div, wmul, Rounding, WAD};
use stylus_sdk::prelude::*;

use crate::errors::{
    bad_state, state, EngineError, KeelInsufficientBalance, KeelInvalidExpiry, KeelInvalidPosition,
    KeelLiquidationCapExceeded, KeelSettlementPrice, Result,
};
use crate::events::{
    AccountFlagged, BadDebtSettled, CollateralLiquidated, FlagCleared, Liquidated, PositionSettled,
};
use crate::params::DUST_NOTIONAL;
use crate::{account_id, ld, ld64, lda, st, st64, KeelEngine};

/// Auction discount after `elapsed` seconds: `min(start + rate x elapsed, max)` (WAD).
pub fn discount(start: i128, rate: i128, max: i128, elapsed: u64) -> i128 {
    rate.saturating_mul(elapsed as i128)
        .saturating_add(start)
        .min(max)
}

/// Intrinsic value of an option (kind 1 call, 2 put) at settlement price `s`.
pub fn intrinsic(kind: u8, s: i128, strike: i128) -> i128 {
    if kind == 1 {
        (s - strike).max(0)
    } else {
        (strike - s).max(0)
    }
}

/// `used + notional` when it stays within `cap`, else
/// `KeelLiquidationCapExceeded(underlying, used + notional, cap)`.
fn check_cap(underlying: u8, used: i128, notional: i128, cap: i128) -> Result<i128> {
    let total = used.saturating_add(notional);
    if total > cap {
        return Err(EngineError::LiquidationCapExceeded(
            KeelLiquidationCapExceeded {
                underlying,
                notional: crate::errors::i256(total),
                cap: crate::errors::i256(cap),
            },
        ));
    }
    Ok(total)
}

impl KeelEngine {
    /// The anti-cascade window the current time falls in.
    fn window_index(&self) -> u64 {
        self.now() / ld64(&self.liq.window).max(1)
    }

    /// One step of a liquidation of an account solvent at mark (`before`)
    /// may take `take` of `held` (both >= 0, WAD units worth `price` each)
    /// when it is at most `ceil(held x closeFactor)`, or anything when what
    /// such a step would leave is worth less than `dust` (so small remainders
    /// are closed at once instead of in ever smaller steps). An insolvent
    /// account (equity at mark < 0) has nothing left to protect and is closed
    /// out as fast as liquidators take it.
    ///
    /// # Errors
    /// `KeelLiquidationStepTooLarge(account, take, max)`.
    fn check_step(
        &self,
        account: U256,
        before: &Figures,
        take: i128,
        held: i128,
        price: i128,
        dust: i128,
    ) -> Result<()> {
        let max = wmul(held, ld(&self.liq.close_factor), Rounding::Up)?;
        let rest = wmul(held - max, price, Rounding::Down)?;
        if before.equity >= 0 && take > max && rest >= dust {
            return Err(EngineError::LiquidationStepTooLarge(
                crate::errors::KeelLiquidationStepTooLarge {
                    account,
                    requested: crate::errors::i256(take),
                    max: crate::errors::i256(max),
                },
            ));
        }
        Ok(())
    }

    /// MM x (1 + buffer), rounded up: the level a liquidation may restore.
    fn target(&self, mm: i128) -> Result<i128> {
        Ok(mm.saturating_add(wmul(mm, ld(&self.liq.buffer), Rounding::Up)?))
    }

    fn current_discount(&self, account: U256) -> i128 {
        let at = ld64(&self.accounts.getter(account).flagged_at);
        let d = &self.liq.discount;
        discount(
            lda(d, 0),
            lda(d, 1),
            lda(d, 2),
            self.now().saturating_sub(at),
        )
    }

    /// Checks a liquidation may proceed: caller owns `liquidator`, the two differ,
    /// the account is flagged and below MM x (1 + buffer).
    fn check_liquidation(&self, account: U256, liquidator: U256) -> Result<Figures> {
        let owner = crate::account_owner(liquidator);
        let sender = self.vm().msg_sender();
        if owner != sender || crate::account_owner(account) == owner {
            return Err(crate::errors::unauthorized(sender));
        }
        if ld64(&self.accounts.getter(account).flagged_at) == 0 {
            return Err(bad_state(account, state::NOT_FLAGGED));
        }
        let r = self.margin_of(account)?;
        if r.equity_mm >= self.target(r.mm)? {
            return Err(bad_state(account, state::ABOVE_BUFFER));
        }
        Ok(r)
    }

    /// The discount actually paid by `account` to `liquidator` for a step
    /// already booked at mark (no discount): the auction's `wanted` (cash,
    /// WAD), capped (see the module docs) at the account's equity at mark
    /// after booking when it was solvent at mark, and at the health the step
    /// released when its MM-view equity was >= 0. Books the transfer.
    ///
    /// # Errors
    /// `KeelInvalidAccountState(account, 6)` when the step releases no health
    /// (e.g. taking the account's hedge): such a step is refused.
    fn pay_discount(
        &mut self,
        account: U256,
        liquidator: U256,
        before: &Figures,
        wanted: i128,
    ) -> Result<i128> {
        let mut paid = wanted;
        if before.equity >= 0 {
            let after = self.margin_of(account)?;
            paid = paid.min(after.equity.max(0));
            if before.equity_mm >= 0 {
                let released = after.health.saturating_sub(before.health);
                if released <= 0 {
                    return Err(bad_state(account, state::HEALTH_WOULD_FALL));
                }
                paid = paid.min(released);
            }
        }
        if paid > 0 {
            self.add_cash(account, -paid)?;
            self.add_cash(liquidator, paid)?;
        }
        Ok(paid)
    }

    /// After a liquidation step: the liquidator must hold IM; the flag clears
    /// when the account is back at MM x (1 + buffer).
    fn finish_liquidation(&mut self, account: U256, liquidator: U256) -> Result<()> {
        self.require_im(liquidator, None)?;
        let r = self.margin_of(account)?;
        if r.equity_mm >= self.target(r.mm)? {
            self.clear_flag(account);
        }
        Ok(())
    }

    fn clear_flag(&mut self, account: U256) {
        st64(&mut self.accounts.setter(account).flagged_at, 0);
        self.emit(FlagCleared { account });
    }

    pub(crate) fn flag_impl(&mut self, account: U256) -> Result<()> {
        if ld64(&self.accounts.getter(account).flagged_at) != 0 {
            return Err(bad_state(account, state::FLAGGED));
        }
        let r = self.margin_of(account)?;
        if r.equity_mm >= r.mm {
            return Err(bad_state(account, state::HEALTHY));
        }
        let now = self.now();
        st64(&mut self.accounts.setter(account).flagged_at, now);
        let reward = ld(&self.liq.flag_reward).min(r.equity.max(0));
        let keeper = self.vm().msg_sender();
        self.add_cash(account, -reward)?;
        self.add_cash(account_id(keeper, 0), reward)?;
        self.emit(AccountFlagged {
            account,
            keeper,
            equity: r.equity_mm,
            maintenance: r.mm,
            reward,
        });
        Ok(())
    }

    pub(crate) fn unflag_impl(&mut self, account: U256) -> Result<()> {
        if ld64(&self.accounts.getter(account).flagged_at) == 0 {
            return Err(bad_state(account, state::NOT_FLAGGED));
        }
        let r = self.margin_of(account)?;
        if r.equity_mm < self.target(r.mm)? {
            return Err(bad_state(account, state::BELOW_BUFFER));
        }
        self.clear_flag(account);
        Ok(())
    }

    pub(crate) fn liquidate_impl(
        &mut self,
        account: U256,
        liquidator: U256,
        instrument: u32,
        size: i128,
    ) -> Result<i128> {
        self.instrument_exists(instrument)?;
        let expiry = ld64(&self.instruments.getter(instrument).expiry);
        if expiry != 0 && self.now() >= expiry {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument,
                expiry,
            }));
        }
        let (pos, _) = self.position(account, instrument);
        if size == 0
            || pos == 0
            || (size > 0) != (pos > 0)
            || size.unsigned_abs() > pos.unsigned_abs()
        {
            return Err(EngineError::InvalidPosition(KeelInvalidPosition {
                account,
                instrument,
                size: crate::errors::i256(size),
            }));
        }
        let before = self.check_liquidation(account, liquidator)?;
        let (mark, spot, u) = self.mark(instrument, pos)?;
        let d = self.current_discount(account);
        let dust = ld(&self.instruments.getter(instrument).min_notional).max(DUST_NOTIONAL);
        self.check_step(account, &before, size.abs(), pos.abs(), spot, dust)?;
        // Anti-cascade: notional liquidated per underlying per window.
        let notional = wmul(size.abs(), spot, Rounding::Up)?;
        let cap = self.liquidation_cap(u)?;
        let window = self.window_index();
        let used = {
            let c = self.underlyings.getter(u);
            if ld64(&c.liq_window) == window {
                ld(&c.liq_notional)
            } else {
                0
            }
        };
        let total = check_cap(u, used, notional, cap)?;
        {
            let mut c = self.underlyings.setter(u);
            st64(&mut c.liq_window, window);
            st(&mut c.liq_notional, total);
        }
        // Book at mark, then move the auction discount (capped, see
        // `pay_discount`) from the account to the liquidator in cash: the same
        // as trading at mark -/+ discount, with the cap known exactly.
        self.apply_trade(account, instrument, -size, mark)?;
        self.apply_trade(liquidator, instrument, size, mark)?;
        let wanted = wmul(wmul(d, spot, Rounding::Up)?, size.abs(), Rounding::Up)?
            .min(wmul(mark, size.abs(), Rounding::Down)?.max(0));
        let paid = self.pay_discount(account, liquidator, &before, wanted)?;
        let shift = mul_div(paid, WAD, size.abs(), Rounding::Down)?;
        let price = if size > 0 { mark - shift } else { mark + shift };
        let d = mul_div(shift, WAD, spot, Rounding::Down)?;
        self.emit(Liquidated {
            account,
            liquidator,
            instrument,
            size,
            price,
            discount: d,
        });
        self.finish_liquidation(account, liquidator)?;
        Ok(price)
    }

    pub(crate) fn liquidate_collateral_impl(
        &mut self,
        account: U256,
        liquidator: U256,
        id: u8,
        amount: U256,
    ) -> Result<i128> {
        if id == 0 || id >= self.collateral_count.get().to::<u8>() {
            return Err(crate::errors::unknown(
                crate::errors::kind::COLLATERAL,
                id as u64,
            ));
        }
        let bal = self.accounts.getter(account).collateral.get(id);
        if amount.is_zero() || bal < amount {
            return Err(EngineError::InsufficientBalance(KeelInsufficientBalance {
                account,
                id,
                balance: bal,
                needed: amount,
            }));
        }
        let before = self.check_liquidation(account, liquidator)?;
        let (feed, dec, hb) = {
            let c = self.collaterals.getter(id);
            (
                c.price_feed.get(),
                c.feed_decimals.get().to::<u8>(),
                ld64(&c.heartbeat),
            )
        };
        let (price, _) = self.read_price(feed, dec, hb)?;
        let d = self.current_discount(account);
        let at_mark = wmul(self.token_to_wad(id, amount)?, price, Rounding::Up)?;
        let (amt, b) = (self.token_to_wad(id, amount)?, self.token_to_wad(id, bal)?);
        self.check_step(account, &before, amt, b, price, DUST_NOTIONAL)?;
        // Anti-cascade: value of this collateral liquidated per window
        // (underlying code 255 in the error: a collateral, not an underlying).
        let window = self.window_index();
        let used = {
            let c = self.collaterals.getter(id);
            if ld64(&c.liq_window) == window {
                ld(&c.liq_notional)
            } else {
                0
            }
        };
        let total = check_cap(255, used, at_mark, ld(&self.liq.cap))?;
        {
            let mut c = self.collaterals.setter(id);
            st64(&mut c.liq_window, window);
            st(&mut c.liq_notional, total);
        }
        self.move_collateral(account, liquidator, id, amount);
        self.add_cash(liquidator, -at_mark)?;
        self.add_cash(account, at_mark)?;
        let wanted = wmul(at_mark, d, Rounding::Up)?.min(at_mark);
        let paid = at_mark - self.pay_discount(account, liquidator, &before, wanted)?;
        self.emit(CollateralLiquidated {
            account,
            liquidator,
            id,
            amount,
            paid,
        });
        self.finish_liquidation(account, liquidator)?;
        Ok(paid)
    }

    fn move_collateral(&mut self, from: U256, to: U256, id: u8, amount: U256) {
        for (acct, add) in [(from, false), (to, true)] {
            let mut a = self.accounts.setter(acct);
            let bal = a.collateral.get(id);
            let bal = if add {
                bal.saturating_add(amount)
            } else {
                bal - amount
            };
            a.collateral.setter(id).set(bal);
            let m = a.collateral_mask.get().to::<u8>();
            let m = if bal.is_zero() {
                m & !(1 << id)
            } else {
                m | (1 << id)
            };
            a.collateral_mask.set(alloy_primitives::U8::from(m));
        }
    }

    pub(crate) fn settle_bad_debt_impl(&mut self, account: U256) -> Result<()> {
        let cash = self.cash_of(account);
        let mask = self
            .accounts
            .getter(account)
            .collateral_mask
            .get()
            .to::<u8>();
        if cash >= 0 || mask != 0 || self.position_count(account) != 0 {
            return Err(bad_state(account, state::NOT_BANKRUPT));
        }
        let deficit = -cash;
        self.set_cash(account, 0)?;
        let fund = ld(&self.insurance).max(0);
        let from_insurance = deficit.min(fund);
        if from_insurance > 0 {
            self.change_insurance(-from_insurance)?;
        }
        let socialised = self.socialise(deficit - from_insurance)?;
        if ld64(&self.accounts.getter(account).flagged_at) != 0 {
            self.clear_flag(account);
        }
        self.emit(BadDebtSettled {
            account,
            deficit,
            fromInsurance: from_insurance,
            socialised,
            lossIndex: ld(&self.loss_index),
        });
        Ok(())
    }

    pub(crate) fn settle_impl(&mut self, account: U256, instrument: u32) -> Result<i128> {
        self.instrument_exists(instrument)?;
        let (u, k, strike, expiry) = {
            let i = self.instruments.getter(instrument);
            (
                i.underlying.get().to::<u8>(),
                i.kind.get().to::<u8>(),
                ld(&i.strike),
                ld64(&i.expiry),
            )
        };
        if k == 0 || self.now() < expiry {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument,
                expiry,
            }));
        }
        let s = self.settlement_price(u, expiry);
        if s == 0 {
            return Err(EngineError::SettlementPrice(KeelSettlementPrice {
                underlying: u,
                expiry,
                set: false,
            }));
        }
        let (size, _) = self.position(account, instrument);
        if size == 0 {
            return Err(EngineError::InvalidPosition(KeelInvalidPosition {
                account,
                instrument,
                size: crate::errors::i256(0),
            }));
        }
        let payout = wmul(size, intrinsic(k, s, strike), Rounding::Down)?;
        self.write_position(account, instrument, 0, 0)?;
        self.add_cash(account, payout)?;
        self.emit(PositionSettled {
            account,
            instrument,
            size,
            payout,
        });
        Ok(payout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discount_grows_linearly_and_caps() {
        assert_eq!(discount(10, 2, 30, 0), 10);
        assert_eq!(discount(10, 2, 30, 5), 20);
        assert_eq!(discount(10, 2, 30, 1_000), 30);
        assert_eq!(discount(10, i128::MAX, 30, u64::MAX), 30);
    }

    #[test]
    fn intrinsic_of_call_and_put() {
        assert_eq!(intrinsic(1, 120, 100), 20);
        assert_eq!(intrinsic(1, 80, 100), 0);
        assert_eq!(intrinsic(2, 80, 100), 20);
        assert_eq!(intrinsic(2, 120, 100), 0);
    }
}
