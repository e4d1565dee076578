//! Account bookkeeping: settlement cash under the socialised-loss index,
//! positions and the trade arithmetic (perp average entry and realised PnL,
//! option premium).
//!
//! Loss index: a positive cash balance `c` written when the index was `i0` is
//! worth `c x i / i0` now (rounded down). Lowering the index by a factor
//! (P - L) / P charges a loss L pro rata to all positive balances P at once,
//! without iterating accounts; negative balances (debts) are not scaled.
//!
//! Epochs keep the index usable after extreme losses: when a loss would take
//! the index below [`MIN_LOSS_INDEX`] (9 significant digits left), the epoch
//! ends at that index and a new one starts at 1 (WAD). A balance written in
//! the previous epoch is worth `c x end / i0 x i / WAD`; one written two or
//! more epochs ago is worth less than 1e-18 of what it was and counts as 0
//! (at most 1e15 wei for a balance at the 1e33 amount bound, rounding in the
//! protocol's favour). So the index never reaches 0 and every later loss is
//! charged to the positive balances of its time; only a loss larger than all
//! positive cash is left over, and that rest is the protocol deficit.
use alloc::vec::Vec;
use alloy_primitives::U256;
use keel_risk::{mul_div, wmul, Rounding};

use crate::errors::{kind, overflow, EngineError, KeelCapacityExceeded, Result};
use crate::events::{DeficitChanged, InsuranceFundChanged};
use crate::params::{MAX_POSITIONS, MIN_LOSS_INDEX};
use crate::{ld, ld64, st, st64, KeelEngine};
use keel_risk::WAD;

/// Perp trade arithmetic: new (size, entry) and the realised PnL (cash, rounded
/// down) when trading `delta` at `price` against a position (`size`, `entry`).
///
/// Growing keeps the size-weighted average entry (rounded up for longs and down
/// for shorts, i.e. against the account); reducing realises
/// `closed x (price - entry)`; flipping realises the whole old position and
/// opens the rest at `price`.
pub fn perp_trade(size: i128, entry: i128, delta: i128, price: i128) -> Result<(i128, i128, i128)> {
    let new = size.checked_add(delta).ok_or_else(overflow)?;
    if size == 0 || (size > 0) == (delta > 0) {
        let notional = size
            .unsigned_abs()
            .checked_add(delta.unsigned_abs())
            .ok_or_else(overflow)? as i128;
        let weighted = mul_div(size.abs(), entry, notional, Rounding::Down)?
            .checked_add(mul_div(
                delta.abs(),
                price,
                notional,
                if new > 0 {
                    Rounding::Up
                } else {
                    Rounding::Down
                },
            )?)
            .ok_or_else(overflow)?;
        return Ok((new, weighted, 0));
    }
    let closed = if delta.unsigned_abs() >= size.unsigned_abs() {
        size
    } else {
        -delta
    };
    let pnl = wmul(closed, price - entry, Rounding::Down)?;
    let entry = match new {
        0 => 0,
        n if (n > 0) == (size > 0) => entry,
        _ => price,
    };
    Ok((new, entry, pnl))
}

/// Option premium cash flow of buying `delta` at `price`: `-delta x price`,
/// rounded down (the account pays a little more / receives a little less).
pub fn premium(delta: i128, price: i128) -> Result<i128> {
    Ok(-wmul(delta, price, Rounding::Up)?)
}

/// The loss index's state: the current epoch, the index in it (WAD, starts
/// at 1), and the index at which the previous epoch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LossIndex {
    /// Current epoch (0 from the constructor).
    pub epoch: u64,
    /// Index in the current epoch (WAD, in [`MIN_LOSS_INDEX`], 1e18]).
    pub index: i128,
    /// Index at which the previous epoch ended (< [`MIN_LOSS_INDEX`]; may be 0).
    pub prev_end: i128,
}

/// An account's `cash_index` word: the epoch in the high 64 bits, the index
/// (< 2^60) in the low ones.
pub fn pack(epoch: u64, index: i128) -> i128 {
    ((epoch as i128) << 64) | index
}

/// Value of a positive balance `cash` written at packed index `at` (see
/// [`pack`]) under the index state `now`, rounded down; debts unscaled.
pub fn scaled(cash: i128, at: i128, now: &LossIndex) -> i128 {
    let (epoch, i0) = ((at >> 64) as u64, at & ((1 << 64) - 1));
    if cash <= 0 || i0 == 0 {
        return cash;
    }
    let (c, from) = if epoch == now.epoch {
        (cash, i0)
    } else if epoch.wrapping_add(1) == now.epoch {
        (
            mul_div(cash, now.prev_end, i0, Rounding::Down).unwrap_or(0),
            WAD,
        )
    } else {
        return 0;
    };
    if from == now.index {
        return c;
    }
    mul_div(c, now.index, from, Rounding::Down).unwrap_or(0)
}

/// Charges `loss` (WAD, >= 0) to positive cash `p` under index state `now`:
/// the amount charged (min(loss, p)) and the next index state. The index
/// falls by (p - charged) / p, rounded down; below [`MIN_LOSS_INDEX`] the
/// epoch ends at that index and the next starts at WAD.
///
/// # Errors
/// `Overflow` (not reachable for p, loss <= the amount bound).
pub fn charge(now: &LossIndex, p: i128, loss: i128) -> Result<(i128, LossIndex)> {
    let charged = loss.min(p).max(0);
    if charged == 0 {
        return Ok((0, *now));
    }
    let index = mul_div(now.index, p - charged, p, Rounding::Down)?;
    let next = if index < MIN_LOSS_INDEX {
        LossIndex {
            epoch: now.epoch + 1,
            index: WAD,
            prev_end: index,
        }
    } else {
        LossIndex { index, ..*now }
    };
    Ok((charged, next))
}

impl KeelEngine {
    /// Effective settlement cash of `account` (after the loss index).
    pub(crate) fn cash_of(&self, account: U256) -> i128 {
        let a = self.accounts.getter(account);
        scaled(ld(&a.cash), ld(&a.cash_index), &self.loss_state())
    }

    /// The loss index's state from storage.
    pub(crate) fn loss_state(&self) -> LossIndex {
        LossIndex {
            epoch: ld64(&self.loss_epoch),
            index: ld(&self.loss_index),
            prev_end: ld(&self.loss_epoch_end),
        }
    }

    /// Writes the effective cash of `account`, keeping the sum of positive balances.
    ///
    /// # Errors
    /// `KeelInvalidAmount` when |v| exceeds the engine's amount bound
    /// ([`crate::params::MAX_PRICE`]): margin could no longer value the
    /// account (a frozen account can be neither liquidated nor withdrawn).
    pub(crate) fn set_cash(&mut self, account: U256, v: i128) -> Result<()> {
        if v.unsigned_abs() > crate::params::MAX_PRICE as u128 {
            return Err(EngineError::InvalidAmount(
                crate::errors::KeelInvalidAmount {},
            ));
        }
        let old = self.cash_of(account);
        let pos = ld(&self.positive_cash)
            .checked_add(v.max(0) - old.max(0))
            .ok_or_else(overflow)?
            .max(0);
        st(&mut self.positive_cash, pos);
        let at = pack(ld64(&self.loss_epoch), ld(&self.loss_index));
        let mut a = self.accounts.setter(account);
        st(&mut a.cash, v);
        st(&mut a.cash_index, at);
        Ok(())
    }

    /// Adds `d` (WAD, signed) to the cash of `account`.
    pub(crate) fn add_cash(&mut self, account: U256, d: i128) -> Result<()> {
        let v = self.cash_of(account).checked_add(d).ok_or_else(overflow)?;
        self.set_cash(account, v)
    }

    /// Changes the insurance fund by `d` and emits `InsuranceFundChanged`.
    pub(crate) fn change_insurance(&mut self, d: i128) -> Result<()> {
        let v = ld(&self.insurance).checked_add(d).ok_or_else(overflow)?;
        st(&mut self.insurance, v);
        self.emit(InsuranceFundChanged {
            delta: d,
            balance: v,
        });
        Ok(())
    }

    /// (size, entry) of `account` in `instrument`.
    pub(crate) fn position(&self, account: U256, instrument: u32) -> (i128, i128) {
        let a = self.accounts.getter(account);
        let p = a.positions.getter(instrument);
        (ld(&p.size), ld(&p.entry))
    }

    /// Instrument ids with a non-zero position.
    pub(crate) fn position_list(&self, account: U256) -> Vec<u32> {
        let a = self.accounts.getter(account);
        (0..a.position_ids.len())
            .filter_map(|i| a.position_ids.get(i))
            .map(|v| v.to::<u32>())
            .collect()
    }

    /// Number of non-zero positions.
    pub(crate) fn position_count(&self, account: U256) -> usize {
        self.accounts.getter(account).position_ids.len()
    }

    /// Writes a position, keeping the id list (cap [`MAX_POSITIONS`]) and the
    /// instrument's open interest (the sum of long sizes) in sync.
    pub(crate) fn write_position(
        &mut self,
        account: U256,
        instrument: u32,
        size: i128,
        entry: i128,
    ) -> Result<()> {
        let (old, _) = self.position(account, instrument);
        if old.max(0) != size.max(0) {
            let mut i = self.instruments.setter(instrument);
            let oi = ld(&i.open_interest)
                .checked_add(size.max(0) - old.max(0))
                .ok_or_else(overflow)?;
            st(&mut i.open_interest, oi.max(0));
        }
        let mut a = self.accounts.setter(account);
        if old == 0 && size != 0 {
            if a.position_ids.len() >= MAX_POSITIONS {
                return Err(EngineError::CapacityExceeded(KeelCapacityExceeded {
                    kind: kind::POSITIONS,
                    max: U256::from(MAX_POSITIONS),
                }));
            }
            a.position_ids.push(alloy_primitives::U32::from(instrument));
        } else if old != 0 && size == 0 {
            let n = a.position_ids.len();
            let at =
                (0..n).find(|i| a.position_ids.get(*i).map(|v| v.to::<u32>()) == Some(instrument));
            if let (Some(at), Some(last)) = (at, a.position_ids.get(n - 1)) {
                if let Some(mut slot) = a.position_ids.setter(at) {
                    slot.set(last);
                }
                a.position_ids.erase_last();
            }
        }
        let mut p = a.positions.setter(instrument);
        st(&mut p.size, size);
        st(&mut p.entry, entry);
        Ok(())
    }

    /// Applies a trade of `delta` at `price` to `account`; returns the cash change
    /// (realised perp PnL or option premium), already booked.
    pub(crate) fn apply_trade(
        &mut self,
        account: U256,
        instrument: u32,
        delta: i128,
        price: i128,
    ) -> Result<i128> {
        let is_perp = self.instruments.getter(instrument).kind.get().to::<u8>() == 0;
        let (size, entry) = self.position(account, instrument);
        let (new, entry, cash) = if is_perp {
            perp_trade(size, entry, delta, price)?
        } else {
            (
                size.checked_add(delta).ok_or_else(overflow)?,
                0,
                premium(delta, price)?,
            )
        };
        self.write_position(account, instrument, new, entry)?;
        if cash != 0 {
            self.add_cash(account, cash)?;
        }
        Ok(cash)
    }

    /// Lowers the loss index to charge `loss` (WAD, >= 0) to all positive
    /// cash P; returns the amount socialised (at most P). The index falls by
    /// the factor (P - charged) / P; below [`MIN_LOSS_INDEX`] the epoch ends
    /// there and the next starts at 1 (see the module docs), so the index
    /// never reaches 0. The part of the loss beyond P is added to the
    /// protocol deficit, never dropped.
    ///
    /// Rounding: the new index rounds down, so balances lose at most one
    /// index unit more than their share (the index is >= 1e9, so at most
    /// 1e-9 of P in total, plus a wei per balance; tested in
    /// tests/loss_index.rs); `charged` is what P fell by, so P stays an upper
    /// bound of the claims.
    ///
    /// # Events
    /// `DeficitChanged` when part of the loss is uncovered.
    pub(crate) fn socialise(&mut self, loss: i128) -> Result<i128> {
        let p = ld(&self.positive_cash);
        let (charged, next) = charge(&self.loss_state(), p, loss)?;
        if charged > 0 {
            st(&mut self.loss_index, next.index);
            if next.epoch != ld64(&self.loss_epoch) {
                st(&mut self.loss_epoch_end, next.prev_end);
                st64(&mut self.loss_epoch, next.epoch);
            }
            st(&mut self.positive_cash, p - charged);
        }
        if loss > charged {
            self.change_deficit(loss - charged)?;
        }
        Ok(charged)
    }

    /// Changes the protocol deficit by `d` and emits `DeficitChanged`.
    pub(crate) fn change_deficit(&mut self, d: i128) -> Result<()> {
        let v = ld(&self.deficit).checked_add(d).ok_or_else(overflow)?;
        st(&mut self.deficit, v);
        self.emit(DeficitChanged {
            delta: d,
            deficit: v,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_risk::WAD;

    const W: i128 = WAD;

    #[test]
    fn perp_trade_averages_entry_when_growing() {
        let (n, e, pnl) = perp_trade(W, 100 * W, W, 200 * W).unwrap();
        assert_eq!((n, e, pnl), (2 * W, 150 * W, 0));
        let (n, e, _) = perp_trade(0, 0, -3 * W, 10 * W).unwrap();
        assert_eq!((n, e), (-3 * W, 10 * W));
    }

    #[test]
    fn perp_trade_realises_on_reduce_and_flip() {
        let (n, e, pnl) = perp_trade(2 * W, 100 * W, -W, 110 * W).unwrap();
        assert_eq!((n, e, pnl), (W, 100 * W, 10 * W));
        let (n, e, pnl) = perp_trade(-2 * W, 100 * W, 2 * W, 90 * W).unwrap();
        assert_eq!((n, e, pnl), (0, 0, 20 * W));
        let (n, e, pnl) = perp_trade(W, 100 * W, -3 * W, 80 * W).unwrap();
        assert_eq!((n, e, pnl), (-2 * W, 80 * W, -20 * W));
    }

    #[test]
    fn premium_charges_buyer_and_rounds_against_account() {
        assert_eq!(premium(2 * W, 5 * W).unwrap(), -10 * W);
        assert_eq!(premium(-2 * W, 5 * W).unwrap(), 10 * W);
        assert_eq!(premium(1, 1).unwrap(), -1);
        assert_eq!(premium(-1, 1).unwrap(), 0);
    }

    fn now(epoch: u64, index: i128, prev_end: i128) -> LossIndex {
        LossIndex {
            epoch,
            index,
            prev_end,
        }
    }

    #[test]
    fn scaled_applies_index_to_positive_only() {
        let n = now(0, W / 2, 0);
        assert_eq!(scaled(100 * W, pack(0, W), &n), 50 * W);
        assert_eq!(scaled(-100 * W, pack(0, W), &n), -100 * W);
        assert_eq!(scaled(7, 0, &n), 7);
    }

    #[test]
    fn scaled_carries_balances_across_one_epoch_and_drops_older_ones() {
        // Written at 0.5 in epoch 3, which ended at 1e-10; now 0.8 in epoch 4.
        let n = now(4, 8 * W / 10, W / 10_000_000_000);
        let v = scaled(1_000 * W, pack(3, W / 2), &n);
        // 1,000 x (1e-10 / 0.5) x 0.8 = 1.6e-7, two roundings down.
        assert_eq!(v, 160_000_000_000);
        assert_eq!(scaled(1_000 * W, pack(4, W), &n), 800 * W);
        assert_eq!(scaled(1_000 * W, pack(2, W), &n), 0);
        // An epoch that ended at 0 (every balance charged in full).
        assert_eq!(scaled(1_000 * W, pack(3, W), &now(4, W, 0)), 0);
    }
}
