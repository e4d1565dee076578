//! Keel risk calculator: a stateless Arbitrum Stylus program that runs
//! keel-risk's [`account_margin`], option marks and the EWMA scan-range update
//! for any caller.
//!
//! First step of the engine split (see `contracts/engine/src/lib.rs`, "Size"):
//! the engine gathers an account's collateral, positions and the market from its
//! storage and static-calls this program, which holds the whole fixed-point
//! margin pipeline (Black-76, smile, scenario grid, correlation, ES). The program
//! has no storage and no external calls; the same input always gives the same
//! output, bit for bit equal to keel-risk run natively.
//!
//! # ABI
//!
//! ```solidity
//! function accountMargin(uint256 now, int256 cash, int256[] collaterals, int256[] positions,
//!     int256[] markets, int256[] params, int256[] history) external view
//!     returns (int256 equityIm, int256 equityMm, int256 im, int256 mm, int256 health,
//!              int256[] scanLoss, uint256[] worstIndex);
//! function scenarioPnl(uint256 underlying, uint256 now, int256 cash, int256[] collaterals,
//!     int256[] positions, int256[] markets, int256[] params, int256[] history)
//!     external view returns (int256[] pnl);
//! function accountGreeks(uint256 now, int256 cash, int256[] collaterals, int256[] positions,
//!     int256[] markets, int256[] params, int256[] history) external view
//!     returns (int256[] delta, int256[] gamma, int256[] vega);
//! function markPrice(uint256 now, int256[] market, uint256 kind, int256 strike, uint256 expiry,
//!     int256 size) external view returns (int256 price);
//! function ewmaUpdate(uint256 now, int256 price, int256 initialVol, int256[] params,
//!     int256[] state) external view returns (int256[] newState);
//! error RiskInvalidInput(uint8 field, uint256 index);
//! error RiskMathError(uint8 kind);
//! ```
//!
//! The flat word layout of the arrays and the error codes are documented in
//! [`codec`]. Standard ABI encoding; the decoder is hand-written (the SDK's
//! router and alloy's array decoder cost several KB of the 24 KB budget).
//!
//! # Build
//!
//! With the `entrypoint` feature (default) on wasm32 the crate is the program:
//! `#![no_std]`, its own `user_entrypoint`, a trapping panic handler and
//! `mini-alloc` as global allocator (`program.rs`). No stylus-sdk: its
//! entrypoint and host layer took the program to 24,518 B of Stylus' 24,576 B
//! deployed-code limit, leaving no room for more entry points. Without the feature
//! (the engine's dependency, for the [`codec`]) none of those exist; the crate
//! then links `std` on wasm32 too, because Cargo also builds the `cdylib` of a
//! dependency and a `no_std` cdylib needs a panic handler.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(all(target_arch = "wasm32", feature = "entrypoint", not(test)), no_std)]

extern crate alloc;

pub mod codec;
#[cfg(all(target_arch = "wasm32", feature = "entrypoint", not(test)))]
mod program;

use alloc::vec::Vec;
use alloy_sol_types::{SolCall, SolError};
use core::num::NonZeroU64;
use keel_risk::{
    account_margin, scenario::option_value, EwmaState, Field, Instrument, Rounding, Wad,
    MAX_AMOUNT, SECONDS_PER_YEAR,
};

pub use abi::{
    accountGreeksCall, accountMarginCall, ewmaUpdateCall, markPriceCall, scenarioPnlCall,
    RiskInvalidInput, RiskMathError,
};
use codec::{code, risk_error, EwmaUpdateArgs, MarkPriceArgs};

/// The program's Solidity surface (errors and function signatures).
pub mod abi {
    #![allow(missing_docs)]
    use alloy_sol_types::sol;

    sol! {
        /// Input `field` (a keel-risk `Field` code 0..63, or a calculator code
        /// 64.. from `codec::code`) is invalid at element `index`.
        #[derive(Debug, PartialEq, Eq)]
        error RiskInvalidInput(uint8 field, uint256 index);
        /// Fixed-point arithmetic failed: `kind` 0 overflow, 1 division by zero, 2 domain.
        #[derive(Debug, PartialEq, Eq)]
        error RiskMathError(uint8 kind);

        /// Account margin (all amounts WAD); per underlying its scan loss and worst scenario index.
        function accountMargin(uint256 now, int256 cash, int256[] collaterals, int256[] positions, int256[] markets, int256[] params, int256[] history) external pure returns (int256 equityIm, int256 equityMm, int256 im, int256 mm, int256 health, int256[] scanLoss, uint256[] worstIndex);
        /// The full scenario PnL vector (IM pass) of underlying `underlying`.
        function scenarioPnl(uint256 underlying, uint256 now, int256 cash, int256[] collaterals, int256[] positions, int256[] markets, int256[] params, int256[] history) external pure returns (int256[] pnl);
        /// Per underlying of the margin report: net delta, gamma, vega (WAD) at the current market.
        function accountGreeks(uint256 now, int256 cash, int256[] collaterals, int256[] positions, int256[] markets, int256[] params, int256[] history) external pure returns (int256[] delta, int256[] gamma, int256[] vega);
        /// Value (WAD) of one unit: kind 0 perp = spot; 1 call / 2 put = Black-76 at the smile vol, intrinsic once expired,
        /// bounded outside Black-76's moneyness domain as margin values it (the bound of the holder of `size`: long lower, short upper).
        function markPrice(uint256 now, int256[] market, uint256 kind, int256 strike, uint256 expiry, int256 size) external pure returns (int256 price);
        /// The EWMA scan-range state after oracle `price` at `now`; state.lastUpdate == 0: the initial state from `initialVol`.
        function ewmaUpdate(uint256 now, int256 price, int256 initialVol, int256[] params, int256[] state) external pure returns (int256[] newState);
    }
}

/// Every failure of the calculator: `RiskInvalidInput(field, index)` or
/// `RiskMathError(kind)`, the Solidity errors the program reverts with
/// ([`Self::revert_data`]); [`Self::get`] unpacks it.
///
/// Packed into one non-zero `u64` (bits 0..48 index, 48..56 field or kind,
/// bit 56 set for a math error, bit 57 always set) so that a
/// `Result<_, RiskCalcError>` goes through each `?` of the decoder in a
/// register, which keeps the WASM small. Indices above 2^48 - 1 (only a
/// caller-supplied `lastUpdate` can be that large) saturate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RiskCalcError(NonZeroU64);

/// A [`RiskCalcError`], unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `RiskInvalidInput(field, index)`: malformed calldata or an input outside
    /// its bounds (see [`codec::code`]).
    RiskInvalidInput {
        /// keel-risk [`Field`] code (0..63) or calculator code (64..).
        field: u8,
        /// Element index, list length, argument number or selector (see the codes).
        index: u64,
    },
    /// `RiskMathError(kind)`: arithmetic failure inside keel-risk.
    RiskMathError {
        /// 0 overflow, 1 division by zero, 2 domain.
        kind: u8,
    },
}

/// Bit 57, set in every packed error (keeps it non-zero).
const ERROR_BASE: NonZeroU64 = NonZeroU64::new(1 << 57).unwrap();
/// Largest index a packed error holds.
const INDEX_MAX: u64 = (1 << 48) - 1;

impl RiskCalcError {
    /// `RiskMathError(kind)`.
    pub fn math(kind: u8) -> Self {
        RiskCalcError(ERROR_BASE | 1 << 56 | (kind as u64) << 48)
    }

    /// The error, unpacked.
    pub fn get(self) -> Failure {
        let v = self.0.get();
        let code = (v >> 48) as u8;
        if v & 1 << 56 != 0 {
            Failure::RiskMathError { kind: code }
        } else {
            Failure::RiskInvalidInput {
                field: code,
                index: v & INDEX_MAX,
            }
        }
    }

    /// The revert data: selector + ABI words. Equal to the stylus-sdk
    /// `SolidityError` encoding of the `sol!` errors (tested) but without
    /// alloy's generic encoder, which costs ~0.5 KB of the deployed-size budget.
    pub fn revert_data(&self) -> Vec<u8> {
        let (selector, words): (_, &[u64]) = match self.get() {
            Failure::RiskInvalidInput { field, index } => {
                (RiskInvalidInput::SELECTOR, &[field as u64, index])
            }
            Failure::RiskMathError { kind } => (RiskMathError::SELECTOR, &[kind as u64]),
        };
        let mut out = Vec::with_capacity(4 + 32 * words.len());
        out.extend_from_slice(&selector);
        for w in words {
            out.extend_from_slice(&[0; 24]);
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }
}

impl core::fmt::Debug for RiskCalcError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.get().fmt(f)
    }
}

/// `RiskInvalidInput(field, index)`.
pub fn invalid(field: u8, index: u64) -> RiskCalcError {
    RiskCalcError(ERROR_BASE | (field as u64) << 48 | index.min(INDEX_MAX))
}

/// Value (WAD) of one unit of `a.instrument` on `a.market` at `a.now` for a
/// holder of signed `a.size` (`markPrice`): the valuation margin uses,
/// keel-risk's [`option_value`].
///
/// The market is validated as by `account_margin` ([`keel_risk::UnderlyingMarket::validate`],
/// errors name the field with index 0). A perp is worth the spot. An option:
/// strike in (0, MAX_AMOUNT] as in [`keel_risk::Position::validate`], at most 2 years to
/// expiry ([`Field::OptionExpiry`]), the smile's implied vol for the strike;
/// expired (`expiry <= now`): the intrinsic value; less than a minute left:
/// valued at 60 s, the model's shortest expiry; strike inside Black-76's
/// moneyness domain [spot / 5, 5 x spot]: Black-76
/// ([`keel_risk::black76_price`], rounding nearest on the out-of-the-money
/// side, exact put-call parity); outside it: the no-arbitrage bound margin
/// uses, the out-of-the-money side between 0 and its value at the boundary
/// strike, the lower bound for a long or flat holder (`size >= 0`,
/// [`Rounding::Down`]) and the upper for a short one ([`Rounding::Up`]), the
/// in-the-money side by exact parity. Errors: `RiskMathError` only where
/// margin fails too (e.g. a strike so far below spot that the smile's ln(K/F)
/// is undefined).
pub fn mark_price(a: &MarkPriceArgs) -> Result<Wad, RiskCalcError> {
    let market = &a.market;
    market.validate(0).map_err(risk_error)?;
    let Instrument::Option {
        kind,
        strike,
        expiry,
    } = a.instrument
    else {
        return Ok(market.spot);
    };
    if !(1..=MAX_AMOUNT).contains(&strike) {
        return Err(invalid(Field::OptionStrike as u8, 0));
    }
    let seconds = expiry.saturating_sub(a.now);
    if seconds > 2 * SECONDS_PER_YEAR {
        return Err(invalid(Field::OptionExpiry as u8, 0));
    }
    let vol = market
        .smile
        .implied_vol(market.spot, strike)
        .map_err(risk_error)?;
    let bias = if a.size < 0 {
        Rounding::Up
    } else {
        Rounding::Down
    };
    option_value(kind, market.spot, strike, vol, seconds as i128, bias).map_err(risk_error)
}

/// The next EWMA state (`ewmaUpdate`): [`EwmaState::new`]`(price, now,
/// initial_vol, params)` when `state.last_update == 0` (no state yet; so a
/// state created at `now == 0` is created again by the next update), else
/// [`EwmaState::update`]`(price, now, params)`. Both validate the params
/// ([`keel_risk::EwmaParams::validate`]) and the price first; `now <=
/// last_update` is [`code::NON_MONOTONIC_TIME`]. Rounding: towards a larger range.
pub fn ewma_update(a: &EwmaUpdateArgs) -> Result<EwmaState, RiskCalcError> {
    if a.state.last_update == 0 {
        EwmaState::new(a.price, a.now, a.initial_vol, &a.params)
    } else {
        a.state.update(a.price, a.now, &a.params)
    }
    .map_err(risk_error)
}

/// The selectors as big-endian `u32`s (a `u32` match is smaller WASM than `[u8; 4]` patterns).
const ACCOUNT_MARGIN: u32 = u32::from_be_bytes(accountMarginCall::SELECTOR);
const SCENARIO_PNL: u32 = u32::from_be_bytes(scenarioPnlCall::SELECTOR);
const ACCOUNT_GREEKS: u32 = u32::from_be_bytes(accountGreeksCall::SELECTOR);
const MARK_PRICE: u32 = u32::from_be_bytes(markPriceCall::SELECTOR);
const EWMA_UPDATE: u32 = u32::from_be_bytes(ewmaUpdateCall::SELECTOR);

/// Runs one call: `input` is the full calldata (selector + ABI arguments); the
/// result is the ABI-encoded return data or the error to revert with. Bad
/// input of any shape or size is a typed error, never a panic; an unknown
/// selector is `RiskInvalidInput(CALLDATA, selector)`.
pub fn dispatch(input: &[u8]) -> Result<Vec<u8>, RiskCalcError> {
    let (selector, args) = match input.split_first_chunk::<4>() {
        Some(s) => s,
        None => return Err(invalid(code::CALLDATA, 0)),
    };
    let selector = u32::from_be_bytes(*selector);
    match selector {
        ACCOUNT_MARGIN | ACCOUNT_GREEKS | SCENARIO_PNL => {
            let pnl = selector == SCENARIO_PNL;
            let u = if pnl {
                codec::head_u64(args, 0, code::SCENARIO_UNDERLYING)?
            } else {
                0
            };
            let i = codec::decode_inputs(args, pnl as usize)?;
            let r = account_margin(&i.portfolio, &i.market, &i.params).map_err(risk_error)?;
            Ok(if pnl {
                let rep = usize::try_from(u)
                    .ok()
                    .and_then(|u| r.underlyings.get(u))
                    .ok_or(invalid(code::SCENARIO_UNDERLYING, u))?;
                codec::encode_words(&rep.pnl)
            } else if selector == ACCOUNT_GREEKS {
                codec::GreeksOutput::from_report(&r).encode()
            } else {
                codec::MarginOutput::from_report(&r).encode()
            })
        }
        MARK_PRICE => {
            let p = mark_price(&codec::decode_mark_price_args(args)?)?;
            Ok(codec::encode_word(p))
        }
        EWMA_UPDATE => {
            let s = ewma_update(&codec::decode_ewma_update_args(args)?)?;
            Ok(codec::encode_ewma_state(&s))
        }
        _ => Err(invalid(code::CALLDATA, selector as u64)),
    }
}
