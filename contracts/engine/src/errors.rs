//! Typed Solidity errors of the engine (EIP-6093 naming: `Keel` + what is wrong).
//!
//! Every failure a caller can hit is one of these; the revert data is the
//! ABI-encoded custom error, so Solidity callers can `catch` and decode it.
use alloc::{vec, vec::Vec};
use alloy_primitives::U256;
use keel_risk::{error::RiskError, MathError};
use stylus_sdk::prelude::*;

pub use crate::abi::IKeelEngine::{
    KeelAlreadyInitialized, KeelCapacityExceeded, KeelDepositCapExceeded, KeelInsufficientBalance,
    KeelInsufficientMargin, KeelInvalidAccountState, KeelInvalidAddress, KeelInvalidAmount,
    KeelInvalidCalldata, KeelInvalidExpiry, KeelInvalidPosition, KeelLiquidationCapExceeded,
    KeelLiquidationStepTooLarge, KeelNewRiskPaused, KeelOracleInvalid, KeelParameterOutOfBounds,
    KeelPokeTooSoon, KeelReentrantCall, KeelRiskError, KeelSequencerUnavailable,
    KeelSettlementPrice, KeelTokenCallFailed, KeelUnauthorizedAccount, KeelUnknownEntry,
};

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
    /// See [`KeelInvalidCalldata`].
    InvalidCalldata(KeelInvalidCalldata),
    /// See [`KeelAlreadyInitialized`].
    AlreadyInitialized(KeelAlreadyInitialized),
    /// See [`KeelReentrantCall`].
    ReentrantCall(KeelReentrantCall),
    /// See [`KeelLiquidationStepTooLarge`].
    LiquidationStepTooLarge(KeelLiquidationStepTooLarge),
}

impl EngineError {
    /// The revert data: selector + ABI words, equal to the `SolidityError`
    /// encoding (`Vec::<u8>::from(err)`, tested for every variant) without
    /// alloy's generic encoder in the WASM (every engine error has only
    /// static fields, so each is one word).
    pub fn revert_data(&self) -> Vec<u8> {
        use alloy_sol_types::SolError;
        use EngineError as E;
        let a = crate::token::addr_word;
        let n = |v: u64| U256::from(v);
        let i = |v: &alloy_primitives::I256| v.into_raw();
        let (sel, w): ([u8; 4], Vec<U256>) = match self {
            E::UnauthorizedAccount(e) => (KeelUnauthorizedAccount::SELECTOR, vec![a(e.account)]),
            E::InvalidAddress(_) => (KeelInvalidAddress::SELECTOR, vec![]),
            E::ParameterOutOfBounds(e) => (
                KeelParameterOutOfBounds::SELECTOR,
                vec![n(e.field as u64), i(&e.value), i(&e.min), i(&e.max)],
            ),
            E::UnknownEntry(e) => (KeelUnknownEntry::SELECTOR, vec![n(e.kind as u64), e.id]),
            E::CapacityExceeded(e) => (
                KeelCapacityExceeded::SELECTOR,
                vec![n(e.kind as u64), e.max],
            ),
            E::DepositCapExceeded(e) => (
                KeelDepositCapExceeded::SELECTOR,
                vec![n(e.id as u64), e.cap, e.total],
            ),
            E::InsufficientBalance(e) => (
                KeelInsufficientBalance::SELECTOR,
                vec![e.account, n(e.id as u64), e.balance, e.needed],
            ),
            E::TokenCallFailed(e) => (KeelTokenCallFailed::SELECTOR, vec![a(e.token)]),
            E::InvalidAmount(_) => (KeelInvalidAmount::SELECTOR, vec![]),
            E::InsufficientMargin(e) => (
                KeelInsufficientMargin::SELECTOR,
                vec![e.account, i(&e.equity), i(&e.requirement)],
            ),
            E::OracleInvalid(e) => (
                KeelOracleInvalid::SELECTOR,
                vec![a(e.feed), n(e.reason as u64), e.updatedAt],
            ),
            E::SequencerUnavailable(e) => (KeelSequencerUnavailable::SELECTOR, vec![e.startedAt]),
            E::NewRiskPaused(e) => (KeelNewRiskPaused::SELECTOR, vec![n(e.underlying as u64)]),
            E::PokeTooSoon(e) => (
                KeelPokeTooSoon::SELECTOR,
                vec![n(e.underlying as u64), n(e.nextAllowed)],
            ),
            E::InvalidAccountState(e) => (
                KeelInvalidAccountState::SELECTOR,
                vec![e.account, n(e.state as u64)],
            ),
            E::LiquidationCapExceeded(e) => (
                KeelLiquidationCapExceeded::SELECTOR,
                vec![n(e.underlying as u64), i(&e.notional), i(&e.cap)],
            ),
            E::InvalidExpiry(e) => (
                KeelInvalidExpiry::SELECTOR,
                vec![n(e.instrument as u64), n(e.expiry)],
            ),
            E::SettlementPrice(e) => (
                KeelSettlementPrice::SELECTOR,
                vec![n(e.underlying as u64), n(e.expiry), n(e.set as u64)],
            ),
            E::InvalidPosition(e) => (
                KeelInvalidPosition::SELECTOR,
                vec![e.account, n(e.instrument as u64), i(&e.size)],
            ),
            E::Risk(e) => (
                KeelRiskError::SELECTOR,
                vec![n(e.kind as u64), n(e.field as u64), i(&e.value)],
            ),
            E::InvalidCalldata(e) => (KeelInvalidCalldata::SELECTOR, vec![e.argument]),
            E::AlreadyInitialized(_) => (KeelAlreadyInitialized::SELECTOR, vec![]),
            E::ReentrantCall(_) => (KeelReentrantCall::SELECTOR, vec![]),
            E::LiquidationStepTooLarge(e) => (
                KeelLiquidationStepTooLarge::SELECTOR,
                vec![e.account, i(&e.requested), i(&e.max)],
            ),
        };
        let mut out = Vec::with_capacity(4 + 32 * w.len());
        out.extend_from_slice(&sel);
        for x in w {
            out.extend_from_slice(&x.to_be_bytes::<32>());
        }
        out
    }
}

impl EngineError {
    /// The error a margin-program call reverted with, decoded from its revert
    /// data: the errors the margin path can raise (`KeelOracleInvalid`,
    /// `KeelSequencerUnavailable`, `KeelInvalidAmount`, `KeelRiskError`) come
    /// back as themselves; anything else (empty or foreign data, no code at
    /// the module address) is `KeelRiskError(3, 0, 0)`, the calculator-failure
    /// code. Inverse of [`Self::revert_data`] on those four (tested).
    pub fn from_revert_data(d: &[u8]) -> EngineError {
        let w = |i: usize| revert_word(d, i);
        let small = |i: usize| w(i).saturating_to::<u8>();
        let signed = |i: usize| alloy_primitives::I256::from_raw(w(i));
        use alloy_sol_types::SolError;
        match d.get(..4) {
            Some(s) if s == KeelOracleInvalid::SELECTOR => {
                EngineError::OracleInvalid(KeelOracleInvalid {
                    feed: alloy_primitives::Address::from_word(w(0).into()),
                    reason: small(1),
                    updatedAt: w(2),
                })
            }
            Some(s) if s == KeelSequencerUnavailable::SELECTOR => {
                EngineError::SequencerUnavailable(KeelSequencerUnavailable { startedAt: w(0) })
            }
            Some(s) if s == KeelInvalidAmount::SELECTOR => {
                EngineError::InvalidAmount(KeelInvalidAmount {})
            }
            Some(s) if s == KeelRiskError::SELECTOR => EngineError::Risk(KeelRiskError {
                kind: small(0),
                field: small(1),
                value: signed(2),
            }),
            _ => EngineError::Risk(KeelRiskError {
                kind: 3,
                field: 0,
                value: alloy_primitives::I256::ZERO,
            }),
        }
    }
}

/// Word `i` (after the 4-byte selector) of custom-error revert data `d`;
/// zero when the data is too short (a truncated error decodes, it does not
/// panic).
pub(crate) fn revert_word(d: &[u8], i: usize) -> U256 {
    d.get(4 + 32 * i..4 + 32 * (i + 1))
        .map(U256::from_be_slice)
        .unwrap_or_default()
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
    /// An instrument's open interest (`max` = its cap).
    pub const OPEN_INTEREST: u8 = 4;
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
    /// The liquidation step would leave the (solvent) account less healthy.
    pub const HEALTH_WOULD_FALL: u8 = 6;
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
    /// The round given for a settlement is not the first at or after the
    /// expiry (the round before it is also at or after the expiry, or unreadable).
    pub const NOT_FIRST_ROUND: u8 = 5;
    /// The first round at or after the expiry came later than the
    /// underlying's settlement delay allows.
    pub const TOO_LATE: u8 = 6;
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, I256};
    use alloy_sol_types::SolError;

    fn every_variant() -> Vec<EngineError> {
        let u = U256::from(0xabcdefu64) << 100;
        let neg = I256::try_from(-12345i64).unwrap();
        let pos = I256::try_from(i128::MAX).unwrap();
        let addr = Address::repeat_byte(0x5a);
        vec![
            unauthorized(addr),
            EngineError::InvalidAddress(KeelInvalidAddress {}),
            EngineError::ParameterOutOfBounds(KeelParameterOutOfBounds {
                field: 7,
                value: neg,
                min: I256::MIN,
                max: pos,
            }),
            unknown(2, u64::MAX),
            EngineError::CapacityExceeded(KeelCapacityExceeded { kind: 3, max: u }),
            EngineError::DepositCapExceeded(KeelDepositCapExceeded {
                id: 1,
                cap: u,
                total: U256::MAX,
            }),
            EngineError::InsufficientBalance(KeelInsufficientBalance {
                account: u,
                id: 255,
                balance: U256::from(1u8),
                needed: u,
            }),
            EngineError::TokenCallFailed(KeelTokenCallFailed { token: addr }),
            EngineError::InvalidAmount(KeelInvalidAmount {}),
            EngineError::InsufficientMargin(KeelInsufficientMargin {
                account: u,
                equity: neg,
                requirement: pos,
            }),
            EngineError::OracleInvalid(KeelOracleInvalid {
                feed: addr,
                reason: 4,
                updatedAt: u,
            }),
            EngineError::SequencerUnavailable(KeelSequencerUnavailable { startedAt: u }),
            EngineError::NewRiskPaused(KeelNewRiskPaused { underlying: 255 }),
            EngineError::PokeTooSoon(KeelPokeTooSoon {
                underlying: 3,
                nextAllowed: u64::MAX,
            }),
            bad_state(u, state::BELOW_BUFFER),
            EngineError::LiquidationCapExceeded(KeelLiquidationCapExceeded {
                underlying: 1,
                notional: pos,
                cap: neg,
            }),
            EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument: u32::MAX,
                expiry: 9,
            }),
            EngineError::SettlementPrice(KeelSettlementPrice {
                underlying: 2,
                expiry: 5,
                set: true,
            }),
            EngineError::InvalidPosition(KeelInvalidPosition {
                account: u,
                instrument: 4,
                size: neg,
            }),
            EngineError::Risk(KeelRiskError {
                kind: 1,
                field: 9,
                value: neg,
            }),
            EngineError::InvalidCalldata(KeelInvalidCalldata {
                argument: U256::from(3u8),
            }),
            EngineError::AlreadyInitialized(KeelAlreadyInitialized {}),
        ]
    }

    #[test]
    fn revert_data_equals_the_solidity_error_encoding_for_every_variant() {
        let all = every_variant();
        assert_eq!(all.len(), 22);
        for e in all {
            let hand = e.revert_data();
            let alloy: Vec<u8> = e.into();
            assert_eq!(hand, alloy);
        }
    }

    #[test]
    fn from_revert_data_inverts_revert_data_for_the_margin_path_errors() {
        let margin_path = |e: &EngineError| {
            matches!(
                e,
                EngineError::OracleInvalid(_)
                    | EngineError::SequencerUnavailable(_)
                    | EngineError::InvalidAmount(_)
                    | EngineError::Risk(_)
            )
        };
        let mut seen = 0;
        for e in every_variant() {
            let data = e.revert_data();
            let back = EngineError::from_revert_data(&data).revert_data();
            if margin_path(&e) {
                assert_eq!(back, data);
                seen += 1;
            } else {
                assert_eq!(back, calc_failure().revert_data(), "{e:?}");
            }
        }
        assert_eq!(seen, 4);
    }

    fn calc_failure() -> EngineError {
        EngineError::Risk(KeelRiskError {
            kind: 3,
            field: 0,
            value: I256::ZERO,
        })
    }

    #[test]
    fn from_revert_data_errors_with_the_calculator_failure_on_foreign_data() {
        for d in [&[][..], &[1, 2, 3][..], &[0xde, 0xad, 0xbe, 0xef, 0][..]] {
            assert_eq!(
                EngineError::from_revert_data(d).revert_data(),
                calc_failure().revert_data()
            );
        }
        // A truncated known error decodes with zero words rather than panicking.
        let short = &KeelSequencerUnavailable::SELECTOR[..];
        assert!(matches!(
            EngineError::from_revert_data(short),
            EngineError::SequencerUnavailable(KeelSequencerUnavailable { startedAt }) if startedAt.is_zero()
        ));
    }
}
