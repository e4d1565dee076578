//! Hard bounds of every admin parameter, per-account caps, and defaults.
//!
//! Out-of-bounds values revert with `KeelParameterOutOfBounds(field, value, min, max)`;
//! `field` is one of the codes in [`field`]. Fractions are WAD (1e18 = 100%).
use keel_risk::WAD;

use crate::errors::{out_of_bounds, Result};

/// Most collateral types (ids 0..8; id 0 is the settlement token). An account's
/// collateral set is a bitmask over these, so this also caps collaterals per
/// account: 8 oracle reads at most per margin check.
pub const MAX_COLLATERALS: u8 = 8;
/// Most underlyings. Each one an account touches costs one price read (plus an
/// optional vol-feed read) and one scan per margin check.
pub const MAX_UNDERLYINGS: u8 = 8;
/// Most positions per account. The margin check revalues every option position on
/// (2k+1) x 3 grid points plus extremes and time roll (about 40 Black-76
/// evaluations each with k = 5); liquidation runs two checks (account and
/// liquidator). 16 keeps the worst case of a liquidation well inside one block.
pub const MAX_POSITIONS: usize = 16;
/// Most listed instruments (ids are u32; the bound keeps ids dense and small).
pub const MAX_INSTRUMENTS: u32 = 1 << 20;
/// Longest option expiry from listing, seconds (two years, the Black-76 domain).
pub const MAX_EXPIRY_SECONDS: u64 = 2 * 365 * 86_400;
/// Shortest option life at listing, seconds (one hour).
pub const MIN_EXPIRY_SECONDS: u64 = 3_600;
/// Largest accepted strike or trade price (WAD), keel-risk's `MAX_AMOUNT`.
pub const MAX_PRICE: i128 = keel_risk::portfolio::MAX_AMOUNT;

/// Shortest interval between two pokes of one underlying, seconds: bounds the
/// rate at which anyone can move the EWMA with fresh-but-noisy rounds.
pub const MIN_POKE_INTERVAL: u64 = 60;

/// Field codes used in `KeelParameterOutOfBounds`.
pub mod field {
    /// Collateral IM haircut (WAD, [0, 0.95]).
    pub const IM_HAIRCUT: u8 = 1;
    /// Collateral MM haircut (WAD, [0, IM haircut]).
    pub const MM_HAIRCUT: u8 = 2;
    /// Oracle heartbeat (seconds, [60, 172800]).
    pub const HEARTBEAT: u8 = 3;
    /// Token or feed decimals ([0, 18]; vol feeds [0, 18]).
    pub const DECIMALS: u8 = 4;
    /// Max oracle deviation between pokes (WAD, [0.005, 0.5]).
    pub const MAX_DEVIATION: u8 = 5;
    /// Oracle-confidence add-on (WAD, [0, 0.5]).
    pub const CONFIDENCE_ADDON: u8 = 6;
    /// Deviation-guard cooldown (seconds, [60, 86400]).
    pub const GUARD_COOLDOWN: u8 = 7;
    /// Option strike (WAD, (0, MAX_PRICE]).
    pub const STRIKE: u8 = 8;
    /// Option expiry (unix seconds, [now + 1 h, now + 2 y]).
    pub const EXPIRY: u8 = 9;
    /// Instrument kind (0 perp, 1 call, 2 put).
    pub const KIND: u8 = 10;
    /// Correlation (WAD, [-1, 1]; the pair must be two different listed underlyings).
    pub const CORRELATION: u8 = 11;
    /// Sequencer grace period (seconds, [0, 86400]).
    pub const GRACE: u8 = 12;
    /// Flag keeper reward (WAD cash, [0, 1000]).
    pub const FLAG_REWARD: u8 = 13;
    /// Liquidation discount start / max (WAD, start <= max <= 0.5).
    pub const DISCOUNT: u8 = 14;
    /// Discount growth per second (WAD, [0, 0.01]).
    pub const DISCOUNT_RATE: u8 = 15;
    /// Partial-liquidation buffer above MM (WAD, [0, 1]).
    pub const BUFFER: u8 = 16;
    /// Anti-cascade window (seconds, [60, 86400]).
    pub const WINDOW: u8 = 17;
    /// Anti-cascade base cap (WAD notional, > 0).
    pub const CAP: u8 = 18;
    /// Trade price (WAD, (0, MAX_PRICE]).
    pub const PRICE: u8 = 19;
    /// Trade fee (WAD cash, [0, MAX_PRICE]).
    pub const FEE: u8 = 20;
    /// Trade size (WAD, non-zero, |size| <= MAX_PRICE).
    pub const SIZE: u8 = 21;
    /// Settlement-token collateral haircuts must be zero.
    pub const SETTLEMENT_HAIRCUT: u8 = 22;
    /// Collateral token address must not change on update.
    pub const TOKEN: u8 = 23;
    /// Registry id (must be an existing id or the next free one).
    pub const ID: u8 = 24;
    /// Sub-account index of the liquidator's account owner mismatch.
    pub const ACCOUNT: u8 = 25;
    /// Position notional after a trade (WAD, 0 or >= the instrument's minimum).
    pub const MIN_NOTIONAL: u8 = 26;
    /// Liquidation close factor (WAD, [0.05, 1]).
    pub const CLOSE_FACTOR: u8 = 27;
    /// Trade price band (WAD fraction of spot, 0 or [0.001, 0.5]).
    pub const PRICE_BAND: u8 = 28;
    /// Settlement delay (seconds, 0 or [60, 7 days]).
    pub const SETTLEMENT_DELAY: u8 = 29;
    /// Option strike at listing (WAD, [spot / 5, 5 x spot]: Black-76's domain).
    pub const STRIKE_RANGE: u8 = 30;
    /// Open-interest cap (WAD of size, [0, MAX_PRICE]; 0 = none).
    pub const OI_CAP: u8 = 31;
}

/// Default flag keeper reward: 5 units of settlement currency.
pub const DEFAULT_FLAG_REWARD: i128 = 5 * WAD;
/// Default initial liquidation discount: 1%.
pub const DEFAULT_DISCOUNT_START: i128 = WAD / 100;
/// Default discount growth: 0.5% per minute.
pub const DEFAULT_DISCOUNT_RATE: i128 = WAD / 200 / 60;
/// Default discount cap: 10%.
pub const DEFAULT_DISCOUNT_MAX: i128 = WAD / 10;
/// Default partial-liquidation buffer: liquidate until equity >= MM x 1.1.
pub const DEFAULT_BUFFER: i128 = WAD / 10;
/// Default anti-cascade window: 1 hour.
pub const DEFAULT_WINDOW: u64 = 3_600;
/// Default anti-cascade cap: 10 million of notional per underlying per window.
pub const DEFAULT_CAP: i128 = 10_000_000 * WAD;
/// Default close factor: one liquidation step takes at most half of a
/// position or collateral balance (unless what would remain is dust).
pub const DEFAULT_CLOSE_FACTOR: i128 = WAD / 2;
/// Default minimum position notional of a new instrument: 10 units of
/// settlement currency (|size| x spot). Dust positions are what makes
/// flag-reward farming and unliquidatable remainders cheap.
pub const DEFAULT_MIN_NOTIONAL: i128 = 10 * WAD;
/// What remains of a position or collateral after a liquidation step may be
/// taken whole when it is worth less than this (cash, WAD), or less than the
/// instrument's minimum notional.
pub const DUST_NOTIONAL: i128 = 10 * WAD;
/// Default settlement delay: the first oracle round at or after an expiry
/// must come within one hour of it.
pub const DEFAULT_SETTLEMENT_DELAY: u64 = 3_600;
/// Longest settlement delay the risk admin may set (a week): the escape hatch
/// when a feed did not update in time.
pub const MAX_SETTLEMENT_DELAY: u64 = 7 * 86_400;
/// A loss that would take the loss index below this (1e-9 of its start, 9
/// significant digits left) ends its epoch; the next starts at 1 (see
/// `ledger`), so the index never reaches 0 and later losses are charged.
pub const MIN_LOSS_INDEX: i128 = WAD / 1_000_000_000;

/// Checks `lo <= v <= hi`, else `KeelParameterOutOfBounds(field, v, lo, hi)`.
pub fn check(field: u8, v: i128, lo: i128, hi: i128) -> Result<()> {
    if v < lo || v > hi {
        return Err(out_of_bounds(field, v, lo, hi));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_errors_outside_bounds() {
        assert!(check(field::BUFFER, 0, 0, 1).is_ok());
        assert!(check(field::BUFFER, 1, 0, 1).is_ok());
        assert!(check(field::BUFFER, 2, 0, 1).is_err());
        assert!(check(field::BUFFER, -1, 0, 1).is_err());
    }
}
