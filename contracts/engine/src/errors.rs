//! Typed Solidity errors of the engine (EIP-6093 naming: `Keel` + what is wrong).
//!
//! Every failure a caller can hit is one of these; the revert data is the
//! ABI-encoded custom error, so Solidity callers can `catch` and decode it.
use alloc::vec::Vec;
use alloy_sol_types::sol;
use keel_risk::{error::RiskError, MathError};
use stylus_sdk::prelude::*;

sol! {
    /// `account` lacks the role (owner, risk admin, guardian, authorised market) the call needs.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelUnauthorizedAccount(address account);
    /// The zero address was given where an account is required.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInvalidAddress();
    /// Parameter `field` (see `params::Field`) is `value`, outside `[min, max]`.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelParameterOutOfBounds(uint8 field, int256 value, int256 min, int256 max);
    /// A registry (kind 0 collateral, 1 underlying, 2 instrument) has no entry `id`.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelUnknownEntry(uint8 kind, uint256 id);
    /// A registry (kind as above) or an account list (3 positions) is full.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelCapacityExceeded(uint8 kind, uint256 max);
    /// The collateral `id` would exceed its deposit cap.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelDepositCapExceeded(uint8 id, uint256 cap, uint256 total);
    /// `account` holds `balance` of collateral `id`, less than `needed`.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInsufficientBalance(uint256 account, uint8 id, uint256 balance, uint256 needed);
    /// An ERC-20 call to `token` failed or returned false.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelTokenCallFailed(address token);
    /// A zero or otherwise unusable amount or size.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInvalidAmount();
    /// After the call `account` would hold `equity` below the `requirement` (IM), WAD.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInsufficientMargin(uint256 account, int256 equity, int256 requirement);
    /// Feed `feed` failed: reason 0 call failed, 1 non-positive answer, 2 incomplete
    /// round, 3 stale (`updatedAt` older than the heartbeat), 4 round before expiry.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelOracleInvalid(address feed, uint8 reason, uint256 updatedAt);
    /// The L2 sequencer is down, or restarted at `startedAt` and is in its grace period.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelSequencerUnavailable(uint256 startedAt);
    /// New risk is paused globally (`underlying` = 255) or for `underlying` (oracle guard).
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelNewRiskPaused(uint8 underlying);
    /// `poke` for `underlying` is rate-limited until `nextAllowed` (seconds).
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelPokeTooSoon(uint8 underlying, uint64 nextAllowed);
    /// `account` is in a state (0 healthy, 1 not flagged, 2 already flagged, 3 not
    /// bankrupt, 4 above the liquidation buffer, 5 below it) where the call is not allowed.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInvalidAccountState(uint256 account, uint8 state);
    /// Liquidating `notional` more of `underlying` in this window would exceed `cap`.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelLiquidationCapExceeded(uint8 underlying, int256 notional, int256 cap);
    /// Instrument `instrument` cannot be traded or settled at this time (`expiry`).
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInvalidExpiry(uint32 instrument, uint64 expiry);
    /// Settlement price for (`underlying`, `expiry`) is already set (`set` true) or missing.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelSettlementPrice(uint8 underlying, uint64 expiry, bool set);
    /// `account` has no position in `instrument`, or `size` does not reduce it.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelInvalidPosition(uint256 account, uint32 instrument, int256 size);
    /// The risk library rejected an input or overflowed: `kind` 0 math, 1 out of
    /// range, 2 too many, 3 other; `field` is keel-risk's `Field` code.
    #[derive(Debug)]
    #[allow(missing_docs)]
    error KeelRiskError(uint8 kind, uint8 field, int256 value);
}

/// Every revert of the engine. Derives the Solidity encoding of the wrapped error.
#[derive(SolidityError, Debug)]
pub enum EngineError {
    /// See [`KeelUnauthorizedAccount`].
    UnauthorizedAccount(KeelUnauthorizedAccount),
    /// See [`KeelInvalidAddress`].
    InvalidAddress(KeelInvalidAddress),
    /// See [`KeelParameterOutOfBounds`].
    ParameterOutOfBounds(KeelParameterOutOfBounds),
    /// See [`KeelUnknownEntry`].
    UnknownEntry(KeelUnknownEntry),
    /// See [`KeelCapacityExceeded`].
    CapacityExceeded(KeelCapacityExceeded),
    /// See [`KeelDepositCapExceeded`].
    DepositCapExceeded(KeelDepositCapExceeded),
    /// See [`KeelInsufficientBalance`].
    InsufficientBalance(KeelInsufficientBalance),
    /// See [`KeelTokenCallFailed`].
    TokenCallFailed(KeelTokenCallFailed),
    /// See [`KeelInvalidAmount`].
    InvalidAmount(KeelInvalidAmount),
    /// See [`KeelInsufficientMargin`].
    InsufficientMargin(KeelInsufficientMargin),
    /// See [`KeelOracleInvalid`].
    OracleInvalid(KeelOracleInvalid),
    /// See [`KeelSequencerUnavailable`].
    SequencerUnavailable(KeelSequencerUnavailable),
    /// See [`KeelNewRiskPaused`].
    NewRiskPaused(KeelNewRiskPaused),
    /// See [`KeelPokeTooSoon`].
    PokeTooSoon(KeelPokeTooSoon),
    /// See [`KeelInvalidAccountState`].
    InvalidAccountState(KeelInvalidAccountState),
    /// See [`KeelLiquidationCapExceeded`].
    LiquidationCapExceeded(KeelLiquidationCapExceeded),
    /// See [`KeelInvalidExpiry`].
    InvalidExpiry(KeelInvalidExpiry),
    /// See [`KeelSettlementPrice`].
    SettlementPrice(KeelSettlementPrice),
    /// See [`KeelInvalidPosition`].
    InvalidPosition(KeelInvalidPosition),
    /// See [`KeelRiskError`].
    Risk(KeelRiskError),
}

/// Engine result type.
pub type Result<T> = core::result::Result<T, EngineError>;

/// Registry kinds used in [`KeelUnknownEntry`] and [`KeelCapacityExceeded`].
pub mod kind {
    /// Collateral registry.
    pub const COLLATERAL: u8 = 0;
    /// Underlying registry.
    pub const UNDERLYING: u8 = 1;
    /// Instrument registry.
    pub const INSTRUMENT: u8 = 2;
    /// Positions of one account.
    pub const POSITIONS: u8 = 3;
}

/// Account states used in [`KeelInvalidAccountState`].
pub mod state {
    /// The account is at or above maintenance margin.
    pub const HEALTHY: u8 = 0;
    /// The account is not flagged for liquidation.
    pub const NOT_FLAGGED: u8 = 1;
    /// The account is already flagged.
    pub const FLAGGED: u8 = 2;
    /// The account still has positions, collateral or non-negative cash.
    pub const NOT_BANKRUPT: u8 = 3;
    /// The account is at or above MM plus the partial-liquidation buffer.
    pub const ABOVE_BUFFER: u8 = 4;
    /// The account is still below MM plus the buffer (cannot be unflagged).
    pub const BELOW_BUFFER: u8 = 5;
}

/// Oracle failure reasons used in [`KeelOracleInvalid`].
pub mod oracle_reason {
    /// The static call failed or returned malformed data.
    pub const CALL_FAILED: u8 = 0;
    /// The answer is zero or negative (or does not fit).
    pub const NON_POSITIVE: u8 = 1;
    /// `updatedAt == 0` or `answeredInRound < roundId`.
    pub const INCOMPLETE: u8 = 2;
    /// `now - updatedAt` exceeds the feed heartbeat.
    pub const STALE: u8 = 3;
    /// The round was updated before the expiry being settled.
    pub const BEFORE_EXPIRY: u8 = 4;
}

/// Shorthand constructors keep call sites short (and the WASM small).
pub(crate) fn unauthorized(account: alloy_primitives::Address) -> EngineError {
    EngineError::UnauthorizedAccount(KeelUnauthorizedAccount { account })
}

/// Out-of-bounds parameter error.
pub(crate) fn out_of_bounds(field: u8, value: i128, min: i128, max: i128) -> EngineError {
    EngineError::ParameterOutOfBounds(KeelParameterOutOfBounds {
        field,
        value: i256(value),
        min: i256(min),
        max: i256(max),
    })
}

/// Widens an `i128` to the ABI's `int256`.
pub(crate) fn i256(v: i128) -> alloy_primitives::I256 {
    alloy_primitives::I256::try_from(v).unwrap_or_default()
}

/// Unknown registry entry error.
pub(crate) fn unknown(kind: u8, id: u64) -> EngineError {
    EngineError::UnknownEntry(KeelUnknownEntry {
        kind,
        id: alloy_primitives::U256::from(id),
    })
}

/// Account-state error.
pub(crate) fn bad_state(account: alloy_primitives::U256, state: u8) -> EngineError {
    EngineError::InvalidAccountState(KeelInvalidAccountState { account, state })
}

impl From<MathError> for EngineError {
    fn from(e: MathError) -> Self {
        RiskError::Math(e).into()
    }
}

impl From<RiskError> for EngineError {
    fn from(e: RiskError) -> Self {
        let (kind, field, value) = match e {
            RiskError::Math(m) => (0u8, m as u8, 0i128),
            RiskError::OutOfRange { field, value, .. } => (1, field as u8, value),
            RiskError::TooMany { field, len, .. } => (2, field as u8, len as i128),
            _ => (3, 0, 0),
        };
        EngineError::Risk(KeelRiskError {
            kind,
            field,
            value: i256(value),
        })
    }
}

/// Arithmetic overflow in engine bookkeeping (not a risk-library input problem).
pub(crate) fn overflow() -> EngineError {
    MathError::Overflow.into()
}

#[allow(dead_code)]
fn _assert_vec(e: EngineError) -> Vec<u8> {
    e.into()
}
