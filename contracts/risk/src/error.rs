//! Crate-level error type: arithmetic failures plus parameter and input validation.
//!
//! Every error carries enough data to say *what* was wrong (which field, which
//! element, the offending value and the accepted bounds), so that the contract can
//! revert with a typed error and the CLI can print an actionable message.

use core::fmt;

use crate::fixed::MathError;

/// Names of validated inputs, used by [`RiskError`] to say which one was wrong.
///
/// `#[repr(u8)]` so that the engine can put the code in a Solidity custom error;
/// codes are stable: new fields are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Field {
    /// `Collateral::amount` (token units, WAD, must be >= 0).
    CollateralAmount = 0,
    /// `Collateral::price` (settlement units per token, WAD, > 0).
    CollateralPrice = 1,
    /// `Collateral::im_haircut` (fraction, WAD).
    CollateralImHaircut = 2,
    /// `Collateral::mm_haircut` (fraction, WAD, <= IM haircut).
    CollateralMmHaircut = 3,
    /// `Portfolio::collaterals` (list length).
    Collaterals = 4,
    /// `Portfolio::positions` (list length).
    Positions = 5,
    /// `Position::size` (signed contracts, WAD).
    PositionSize = 6,
    /// `Position::entry_price` of a perp (WAD, > 0 when size != 0).
    PositionEntryPrice = 7,
    /// Option strike (WAD, > 0).
    OptionStrike = 8,
    /// `MarketData::underlyings` (list length).
    Underlyings = 9,
    /// `UnderlyingMarket::spot` (WAD, > 0).
    Spot = 10,
    /// `UnderlyingMarket::scan_range` (fraction of spot, WAD).
    ScanRange = 11,
    /// `UnderlyingMarket::oracle_confidence` (fraction of spot, WAD).
    OracleConfidence = 12,
    /// `RiskParams::grid_k` (half-width of the spot grid, points).
    GridK = 13,
    /// `RiskParams::vol_down` (relative vol decrease, WAD).
    VolDown = 14,
    /// `RiskParams::vol_up` (relative vol increase at 30 days, WAD).
    VolUp = 15,
    /// `RiskParams::vol_up_power` (exponent p of the time shape, WAD).
    VolUpPower = 16,
    /// `RiskParams::extreme_moves` (multiples of the scan range, WAD).
    ExtremeMoves = 17,
    /// `RiskParams::extreme_cover` (fraction, WAD).
    ExtremeCover = 18,
    /// `RiskParams::time_roll_seconds`.
    TimeRoll = 19,
    /// `RiskParams::mm_fraction` (fraction, WAD).
    MmFraction = 20,
    /// `RiskParams::correlation` (matrix entries, WAD).
    Correlation = 21,
    /// `RiskParams::max_offset_credit` (fraction, WAD).
    MaxOffsetCredit = 22,
    /// `RiskParams::short_option_min` (fraction of spot per contract, WAD).
    ShortOptionMin = 23,
    /// `RiskParams::concentration_tiers` thresholds (notional, WAD).
    ConcentrationThreshold = 24,
    /// `RiskParams::concentration_tiers` multipliers (WAD, >= 1).
    ConcentrationMultiplier = 25,
    /// `RiskParams::es_confidence` (fraction, WAD).
    EsConfidence = 26,
    /// `RiskParams::es_min_samples`.
    EsMinSamples = 27,
    /// `MarketData::history` (ES return history: length or entries).
    History = 28,
    /// `EwmaParams::lambda` (WAD).
    EwmaLambda = 29,
    /// `EwmaParams::lambda_interval_seconds`.
    EwmaInterval = 30,
    /// `EwmaParams::k` (multiplier of sigma, WAD).
    EwmaK = 31,
    /// `EwmaParams::horizon_seconds`.
    EwmaHorizon = 32,
    /// `EwmaParams::range_min` / `range_max` (fractions, WAD).
    EwmaRangeBounds = 33,
    /// `EwmaParams::max_fall_per_day` (fraction, WAD).
    EwmaMaxFall = 34,
    /// `EwmaParams::apc_floor_share` (fraction, WAD).
    EwmaApcShare = 35,
    /// An oracle price fed to the EWMA (WAD, > 0).
    OraclePrice = 36,
    /// `EwmaState::variance_per_second` (WAD, >= 0).
    EwmaVariance = 37,
    /// `Smile::atm_vol` (owned by the smile module).
    SmileAtmVol = 38,
    /// `Smile::skew`.
    SmileSkew = 39,
    /// `Smile::curvature`.
    SmileCurvature = 40,
    /// `Smile::min_vol`.
    SmileMinVol = 41,
    /// `Smile::max_vol`.
    SmileMaxVol = 42,
    /// `RiskParams::es_multiplier` (WAD).
    EsMultiplier = 43,
    /// `Portfolio::cash` (WAD, signed).
    Cash = 44,
    /// Seconds from `MarketData::now` to an option's expiry (at most 2 years).
    OptionExpiry = 45,
}

impl Field {
    /// Human-readable name of the field, as it appears in the Rust structs.
    pub fn name(self) -> &'static str {
        match self {
            Field::CollateralAmount => "collateral.amount",
            Field::CollateralPrice => "collateral.price",
            Field::CollateralImHaircut => "collateral.im_haircut",
            Field::CollateralMmHaircut => "collateral.mm_haircut",
            Field::Collaterals => "portfolio.collaterals",
            Field::Positions => "portfolio.positions",
            Field::PositionSize => "position.size",
            Field::PositionEntryPrice => "position.entry_price",
            Field::OptionStrike => "position.strike",
            Field::Underlyings => "market.underlyings",
            Field::Spot => "market.spot",
            Field::ScanRange => "market.scan_range",
            Field::OracleConfidence => "market.oracle_confidence",
            Field::GridK => "params.grid_k",
            Field::VolDown => "params.vol_down",
            Field::VolUp => "params.vol_up",
            Field::VolUpPower => "params.vol_up_power",
            Field::ExtremeMoves => "params.extreme_moves",
            Field::ExtremeCover => "params.extreme_cover",
            Field::TimeRoll => "params.time_roll_seconds",
            Field::MmFraction => "params.mm_fraction",
            Field::Correlation => "params.correlation",
            Field::MaxOffsetCredit => "params.max_offset_credit",
            Field::ShortOptionMin => "params.short_option_min",
            Field::ConcentrationThreshold => "params.concentration_tiers.threshold",
            Field::ConcentrationMultiplier => "params.concentration_tiers.multiplier",
            Field::EsConfidence => "params.es_confidence",
            Field::EsMinSamples => "params.es_min_samples",
            Field::History => "market.history",
            Field::EwmaLambda => "ewma.lambda",
            Field::EwmaInterval => "ewma.lambda_interval_seconds",
            Field::EwmaK => "ewma.k",
            Field::EwmaHorizon => "ewma.horizon_seconds",
            Field::EwmaRangeBounds => "ewma.range_min/range_max",
            Field::EwmaMaxFall => "ewma.max_fall_per_day",
            Field::EwmaApcShare => "ewma.apc_floor_share",
            Field::OraclePrice => "oracle price",
            Field::EwmaVariance => "ewma.variance_per_second",
            Field::SmileAtmVol => "smile.atm_vol",
            Field::SmileSkew => "smile.skew",
            Field::SmileCurvature => "smile.curvature",
            Field::SmileMinVol => "smile.min_vol",
            Field::SmileMaxVol => "smile.max_vol",
            Field::EsMultiplier => "params.es_multiplier",
            Field::Cash => "portfolio.cash",
            Field::OptionExpiry => "position.expiry (seconds from now)",
        }
    }
}

/// Every failure of the risk library. `Copy`, no allocation, `no_std`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskError {
    /// Fixed-point arithmetic failed (overflow, division by zero, domain).
    Math(MathError),
    /// A numeric input is outside its hard bounds `[min, max]` (inclusive).
    /// `index` is the element index for list fields (0 for scalars). Values are
    /// WAD for fractions and amounts, plain integers for counts and seconds.
    OutOfRange {
        /// Which input.
        field: Field,
        /// Element index within a list (0 for scalar fields).
        index: u32,
        /// The rejected value.
        value: i128,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A list is longer than the library accepts.
    TooMany {
        /// Which list.
        field: Field,
        /// Its length.
        len: u32,
        /// Maximum accepted length.
        max: u32,
    },
    /// A list that must be ordered is not: element `index` is not above (or, for
    /// multipliers, not at least) element `index - 1`.
    NotIncreasing {
        /// Which list.
        field: Field,
        /// First offending element.
        index: u32,
    },
    /// The correlation matrix has `len` entries; `expected` (= n x n for n
    /// underlyings) were required.
    CorrelationShape {
        /// Number of entries given.
        len: u32,
        /// Number required.
        expected: u32,
    },
    /// Correlation entry (row, col) differs from (col, row).
    CorrelationNotSymmetric {
        /// Row of the offending entry.
        row: u32,
        /// Column of the offending entry.
        col: u32,
    },
    /// Correlation diagonal entry `index` is not exactly 1 (WAD).
    CorrelationDiagonal {
        /// Diagonal index.
        index: u32,
        /// The entry found.
        value: i128,
    },
    /// Position `position` refers to underlying `underlying`, but the market data
    /// has only `count` underlyings.
    UnknownUnderlying {
        /// Index of the position in `Portfolio::positions`.
        position: u32,
        /// Underlying it refers to.
        underlying: u32,
        /// Number of underlyings in the market data.
        count: u32,
    },
    /// The ES history has `len` entries, not a multiple of `underlyings`.
    HistoryShape {
        /// Entries given.
        len: u32,
        /// Underlyings per epoch row.
        underlyings: u32,
    },
    /// ES is enabled but only `have` epochs are stored; `need` are required.
    InsufficientHistory {
        /// Epochs stored.
        have: u32,
        /// Epochs required (`es_min_samples`).
        need: u32,
    },
    /// An EWMA update is not later than the previous one.
    NonMonotonicTime {
        /// Timestamp of the stored state (seconds).
        last: u64,
        /// Timestamp of the rejected update (seconds).
        now: u64,
    },
}

impl From<MathError> for RiskError {
    fn from(e: MathError) -> Self {
        RiskError::Math(e)
    }
}

impl fmt::Display for RiskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RiskError::Math(e) => write!(f, "fixed-point arithmetic failed: {e:?}"),
            RiskError::OutOfRange {
                field,
                index,
                value,
                min,
                max,
            } => write!(
                f,
                "{}[{index}] = {value} is out of range [{min}, {max}] (raw units: WAD for fractions/amounts)",
                field.name()
            ),
            RiskError::TooMany { field, len, max } => {
                write!(f, "{} has {len} entries; at most {max} are allowed", field.name())
            }
            RiskError::NotIncreasing { field, index } => write!(
                f,
                "{} must be increasing; entry {index} is not above entry {}",
                field.name(),
                index.saturating_sub(1)
            ),
            RiskError::CorrelationShape { len, expected } => write!(
                f,
                "correlation matrix has {len} entries; expected {expected} (n x n, row-major)"
            ),
            RiskError::CorrelationNotSymmetric { row, col } => {
                write!(f, "correlation[{row}][{col}] differs from correlation[{col}][{row}]")
            }
            RiskError::CorrelationDiagonal { index, value } => write!(
                f,
                "correlation[{index}][{index}] = {value}; diagonal entries must be exactly 1 (1e18 raw)"
            ),
            RiskError::UnknownUnderlying {
                position,
                underlying,
                count,
            } => write!(
                f,
                "position {position} refers to underlying {underlying}, but the market data has {count}"
            ),
            RiskError::HistoryShape { len, underlyings } => write!(
                f,
                "ES history has {len} returns, not a multiple of {underlyings} underlyings per epoch"
            ),
            RiskError::InsufficientHistory { have, need } => write!(
                f,
                "ES is enabled but only {have} epochs are stored; at least {need} are required"
            ),
            RiskError::NonMonotonicTime { last, now } => write!(
                f,
                "EWMA update at {now} is not after the last update at {last}"
            ),
        }
    }
}

/// Checks `min <= value <= max`, returning a [`RiskError::OutOfRange`] otherwise.
pub(crate) fn check_range(
    field: Field,
    index: usize,
    value: i128,
    min: i128,
    max: i128,
) -> Result<(), RiskError> {
    if value < min || value > max {
        return Err(RiskError::OutOfRange {
            field,
            index: index as u32,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Checks `len <= max`, returning a [`RiskError::TooMany`] otherwise.
pub(crate) fn check_len(field: Field, len: usize, max: usize) -> Result<(), RiskError> {
    if len > max {
        return Err(RiskError::TooMany {
            field,
            len: len.min(u32::MAX as usize) as u32,
            max: max as u32,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn check_range_errors_outside_bounds() {
        assert_eq!(check_range(Field::GridK, 0, 3, 1, 16), Ok(()));
        assert_eq!(
            check_range(Field::GridK, 2, 17, 1, 16),
            Err(RiskError::OutOfRange {
                field: Field::GridK,
                index: 2,
                value: 17,
                min: 1,
                max: 16
            })
        );
        assert!(check_range(Field::GridK, 0, 0, 1, 16).is_err());
    }

    #[test]
    fn check_len_errors_when_too_long() {
        assert_eq!(check_len(Field::Positions, 4, 4), Ok(()));
        assert_eq!(
            check_len(Field::Positions, 5, 4),
            Err(RiskError::TooMany {
                field: Field::Positions,
                len: 5,
                max: 4
            })
        );
    }

    #[test]
    fn display_names_the_field_and_bounds() {
        let e = RiskError::OutOfRange {
            field: Field::VolDown,
            index: 0,
            value: 2,
            min: 0,
            max: 1,
        };
        let s = e.to_string();
        assert!(s.contains("params.vol_down"), "{s}");
        assert!(s.contains("[0, 1]"), "{s}");
    }

    #[test]
    fn math_error_converts() {
        let e: RiskError = MathError::Overflow.into();
        assert_eq!(e, RiskError::Math(MathError::Overflow));
    }
}
