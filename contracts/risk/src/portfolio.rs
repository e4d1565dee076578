//! Input and output types of the account margin computation.
//!
//! All amounts are [`Wad`] (signed, 18 decimals, human units x 1e18). The types are
//! plain data (integers, bools, `Vec`) so that the engine can build them from
//! contract storage and the CLI from JSON. Field meanings and units are part of
//! the API: engine, CLI and Foundry vectors rely on them.
//!
//! Validation: each input struct has a `validate()` with hard bounds and typed
//! errors ([`RiskError`]); [`crate::margin::account_margin`] calls all of them.

use alloc::vec::Vec;

use crate::black76::OptionKind;
use crate::error::{check_len, check_range, Field, RiskError};
use crate::fixed::{Wad, WAD};
use crate::scenario::Scenario;
use crate::smile::Smile;

/// Maximum number of underlyings (size of the correlation matrix side).
pub const MAX_UNDERLYINGS: usize = 16;
/// Maximum number of collateral entries per account.
pub const MAX_COLLATERALS: usize = 32;
/// Maximum number of positions per account.
pub const MAX_POSITIONS: usize = 256;
/// Maximum spot-grid half-width `k` (2k+1 spot points).
pub const MAX_GRID_K: u32 = 16;
/// Maximum number of extreme moves.
pub const MAX_EXTREME_MOVES: usize = 8;
/// Maximum number of concentration tiers.
pub const MAX_CONCENTRATION_TIERS: usize = 8;
/// Maximum number of epochs in the ES history.
pub const MAX_HISTORY_EPOCHS: usize = 1024;
/// Largest accepted price, strike or amount: 1e15 human units (raw 1e33).
/// Keeps every product of two such numbers inside the 256-bit intermediate and
/// every sum of positions far from the i128 limit of ~1.7e20 human units.
pub const MAX_AMOUNT: Wad = 1_000_000_000_000_000 * WAD;
/// Longest accepted time-roll horizon: 30 days.
pub const MAX_TIME_ROLL_SECONDS: u64 = 30 * 86_400;

/// One collateral balance of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collateral {
    /// Token amount in token units (WAD: 1.5 tokens = 1.5e18), >= 0.
    pub amount: Wad,
    /// Oracle price in settlement currency per token unit (WAD), > 0.
    pub price: Wad,
    /// Haircut used for the initial-margin view of equity, fraction in [0, 1] (WAD).
    pub im_haircut: Wad,
    /// Haircut used for the maintenance view, fraction in [0, `im_haircut`] (WAD).
    pub mm_haircut: Wad,
}

impl Collateral {
    /// Checks: 0 <= amount <= MAX_AMOUNT, 0 < price <= MAX_AMOUNT,
    /// 0 <= mm_haircut <= im_haircut <= 1. `index` is reported in errors.
    pub fn validate(&self, index: usize) -> Result<(), RiskError> {
        check_range(Field::CollateralAmount, index, self.amount, 0, MAX_AMOUNT)?;
        check_range(Field::CollateralPrice, index, self.price, 1, MAX_AMOUNT)?;
        check_range(Field::CollateralImHaircut, index, self.im_haircut, 0, WAD)?;
        check_range(
            Field::CollateralMmHaircut,
            index,
            self.mm_haircut,
            0,
            self.im_haircut,
        )
    }
}

/// What a position is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instrument {
    /// Perpetual future, linear in spot: value = size x (spot - entry_price).
    Perp,
    /// European cash-settled option on the underlying, valued with Black-76
    /// (forward = spot, rate 0) at the smile's implied vol for `strike`.
    Option {
        /// Call or put.
        kind: OptionKind,
        /// Strike (WAD, settlement units per underlying unit), > 0.
        strike: Wad,
        /// Expiry, unix seconds. At or after expiry the option is worth intrinsic.
        expiry: u64,
    },
}

/// One position of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Index into `MarketData::underlyings`.
    pub underlying: u32,
    /// Perp or option series.
    pub instrument: Instrument,
    /// Signed size in underlying units (WAD): positive long, negative short.
    pub size: Wad,
    /// Perps: average entry price (WAD), > 0 unless `size == 0`. Options: ignored
    /// (premiums are settled into the cash balance when traded).
    pub entry_price: Wad,
}

impl Position {
    /// Checks |size| <= MAX_AMOUNT, strike in (0, MAX_AMOUNT], perp entry price in
    /// (0, MAX_AMOUNT] when size != 0. The underlying index is checked against
    /// the market data by [`crate::margin::account_margin`].
    pub fn validate(&self, index: usize) -> Result<(), RiskError> {
        check_range(
            Field::PositionSize,
            index,
            self.size,
            -MAX_AMOUNT,
            MAX_AMOUNT,
        )?;
        match self.instrument {
            Instrument::Perp => {
                if self.size != 0 {
                    check_range(
                        Field::PositionEntryPrice,
                        index,
                        self.entry_price,
                        1,
                        MAX_AMOUNT,
                    )?;
                }
            }
            Instrument::Option { strike, .. } => {
                check_range(Field::OptionStrike, index, strike, 1, MAX_AMOUNT)?;
            }
        }
        Ok(())
    }
}

/// An account: collateral, settlement cash and positions (cross-margined together).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Portfolio {
    /// Collateral balances (at most [`MAX_COLLATERALS`]).
    pub collaterals: Vec<Collateral>,
    /// Settlement-currency cash balance (WAD), signed: realised PnL, premiums,
    /// funding and fees end up here. Counted at face value (no haircut).
    pub cash: Wad,
    /// Positions (at most [`MAX_POSITIONS`]). Several positions in the same series
    /// are allowed; they are netted.
    pub positions: Vec<Position>,
}

impl Portfolio {
    /// Validates list lengths, every collateral and every position.
    pub fn validate(&self) -> Result<(), RiskError> {
        check_len(Field::Collaterals, self.collaterals.len(), MAX_COLLATERALS)?;
        check_len(Field::Positions, self.positions.len(), MAX_POSITIONS)?;
        check_range(Field::Cash, 0, self.cash, -MAX_AMOUNT, MAX_AMOUNT)?;
        for (i, c) in self.collaterals.iter().enumerate() {
            c.validate(i)?;
        }
        for (i, p) in self.positions.iter().enumerate() {
            p.validate(i)?;
        }
        Ok(())
    }
}

/// Market state of one underlying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderlyingMarket {
    /// Oracle spot price (WAD, settlement units), in (0, MAX_AMOUNT]. Used as the
    /// Black-76 forward (no basis).
    pub spot: Wad,
    /// Volatility smile (ATM vol, skew, curvature, bounds) for this underlying.
    pub smile: Smile,
    /// Scan range R: the grid covers spot x (1 + s) for s in [-R, +R]. Fraction
    /// (WAD) in [0, 0.9]; usually the output of [`crate::ewma`].
    pub scan_range: Wad,
    /// Oracle-confidence add-on rate: fraction (WAD) in [0, 1] of this
    /// underlying's gross notional charged as extra IM (0 when feeds are fresh
    /// and agree; the engine raises it when they are stale or diverge).
    pub oracle_confidence: Wad,
}

impl UnderlyingMarket {
    /// Checks spot, scan range, confidence bounds and the smile.
    pub fn validate(&self, index: usize) -> Result<(), RiskError> {
        check_range(Field::Spot, index, self.spot, 1, MAX_AMOUNT)?;
        check_range(Field::ScanRange, index, self.scan_range, 0, WAD / 10 * 9)?;
        check_range(
            Field::OracleConfidence,
            index,
            self.oracle_confidence,
            0,
            WAD,
        )?;
        self.smile.validate()
    }
}

/// Market data for a margin computation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MarketData {
    /// Current time, unix seconds (decides time to expiry).
    pub now: u64,
    /// Per-underlying market state; `Position::underlying` indexes this list.
    pub underlyings: Vec<UnderlyingMarket>,
    /// Historical joint returns for expected shortfall, row-major: epoch `e`
    /// holds `history[e * n .. (e + 1) * n]` for n = `underlyings.len()`; each
    /// entry is the simple return (WAD, in [-0.99, 10]) of that underlying over
    /// one epoch. Order of epochs is irrelevant (ring buffer). May be empty when
    /// ES is disabled.
    pub history: Vec<Wad>,
}

impl MarketData {
    /// Validates list sizes, every underlying and the ES history shape/entries.
    pub fn validate(&self) -> Result<(), RiskError> {
        check_len(Field::Underlyings, self.underlyings.len(), MAX_UNDERLYINGS)?;
        for (i, u) in self.underlyings.iter().enumerate() {
            u.validate(i)?;
        }
        let n = self.underlyings.len();
        if !self.history.is_empty() {
            if n == 0 || !self.history.len().is_multiple_of(n) {
                return Err(RiskError::HistoryShape {
                    len: self.history.len().min(u32::MAX as usize) as u32,
                    underlyings: n as u32,
                });
            }
            check_len(Field::History, self.history.len() / n, MAX_HISTORY_EPOCHS)?;
            for (i, r) in self.history.iter().enumerate() {
                check_range(Field::History, i, *r, -(WAD / 100 * 99), 10 * WAD)?;
            }
        }
        Ok(())
    }

    /// Number of ES epochs stored.
    pub fn history_epochs(&self) -> usize {
        match self.underlyings.len() {
            0 => 0,
            n => self.history.len() / n,
        }
    }
}

/// How maintenance margin is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceMode {
    /// MM = `mm_fraction` x IM (rounded up).
    FractionOfIm,
    /// MM = the whole IM computation with every scan range multiplied by
    /// `mm_fraction` and the ES measure and add-ons scaled by `mm_fraction`;
    /// capped at IM.
    ReducedGrid,
}

/// One concentration tier: when an underlying's gross notional is at least
/// `threshold`, its scan charge is multiplied by `multiplier` (the highest tier
/// reached applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcentrationTier {
    /// Gross notional (WAD, settlement units) from which the tier applies, >= 0.
    pub threshold: Wad,
    /// Multiplier (WAD) in [1, 10], non-decreasing across tiers.
    pub multiplier: Wad,
}

/// Risk parameters (set by the risk admin; validated with hard bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskParams {
    /// Spot-grid half-width k in [1, MAX_GRID_K]: 2k+1 spot points, evenly spaced
    /// over [-R, +R].
    pub grid_k: u32,
    /// Vol-down shock: vol x (1 - vol_down); fraction (WAD) in [0, 0.9].
    pub vol_down: Wad,
    /// Vol-up shock at 30 days to expiry: vol x (1 + vol_up x shape(T)), with
    /// shape(T) = (30 d / max(T, 1 d))^p; fraction (WAD) in [0, 5].
    pub vol_up: Wad,
    /// Exponent p of the vol-up time shape (WAD) in [0, 1]; 0 = flat.
    pub vol_up_power: Wad,
    /// Extreme spot moves as signed multiples of R (WAD, each in [-5, 5]), e.g.
    /// [-2, +2]. Valued at unchanged vol; their PnL counts x `extreme_cover`.
    pub extreme_moves: Vec<Wad>,
    /// Fraction (WAD) in [0, 1] of an extreme move's loss that counts.
    pub extreme_cover: Wad,
    /// Time-roll horizon in seconds (<= 30 days); 0 disables. When > 0, the spot
    /// grid (vol unchanged) is also valued with every option `time_roll_seconds`
    /// closer to expiry. Perps are unaffected by time.
    pub time_roll_seconds: u64,
    /// How MM is derived from the IM machinery.
    pub mm_mode: MaintenanceMode,
    /// MM fraction (WAD) in [0.01, 1]: of IM, or of the scan range (see mode).
    pub mm_fraction: Wad,
    /// Correlation matrix between underlyings, n x n row-major (WAD entries in
    /// [-1, 1], symmetric, unit diagonal), n = number of underlyings in the
    /// market data.
    pub correlation: Vec<Wad>,
    /// Largest share (WAD, in [0, 0.9]) of the undiversified sum of
    /// per-underlying charges that correlation may credit back.
    pub max_offset_credit: Wad,
    /// Short-option minimum per contract, as a fraction (WAD, in [0, 1]) of spot:
    /// an underlying's charge is at least sum over short option series of
    /// |size| x spot x short_option_min.
    pub short_option_min: Wad,
    /// Concentration tiers, thresholds strictly increasing (at most
    /// [`MAX_CONCENTRATION_TIERS`]). Empty = multiplier 1.
    pub concentration_tiers: Vec<ConcentrationTier>,
    /// Opt-in historical-simulation expected shortfall.
    pub es_enabled: bool,
    /// ES confidence (WAD) in [0.5, 0.9999], e.g. 0.975.
    pub es_confidence: Wad,
    /// Minimum number of stored epochs for ES, in [1, MAX_HISTORY_EPOCHS]; with
    /// fewer, the margin computation errors (the engine must not enable ES before
    /// it has history).
    pub es_min_samples: u32,
    /// Multiplier (WAD, in [0, 10]) applied to the ES (e.g. sqrt of the ratio of
    /// margin horizon to epoch length).
    pub es_multiplier: Wad,
}

impl RiskParams {
    /// Conservative defaults for `n` underlyings: k = 5 (11 spot points), vol
    /// -20% / +30% with p = 0.5, extremes ±2R at 35% cover, 1-day time roll,
    /// MM = 70% of IM, identity correlation with at most 50% credit, 1% short
    /// option minimum, no concentration tiers, ES off.
    pub fn standard(n: usize) -> RiskParams {
        let mut correlation = alloc::vec![0; n * n];
        for i in 0..n {
            correlation[i * n + i] = WAD;
        }
        RiskParams {
            grid_k: 5,
            vol_down: WAD / 5,
            vol_up: WAD / 10 * 3,
            vol_up_power: WAD / 2,
            extreme_moves: alloc::vec![-2 * WAD, 2 * WAD],
            extreme_cover: WAD / 100 * 35,
            time_roll_seconds: 86_400,
            mm_mode: MaintenanceMode::FractionOfIm,
            mm_fraction: WAD / 10 * 7,
            correlation,
            max_offset_credit: WAD / 2,
            short_option_min: WAD / 100,
            concentration_tiers: Vec::new(),
            es_enabled: false,
            es_confidence: WAD / 1000 * 975,
            es_min_samples: 20,
            es_multiplier: WAD,
        }
    }

    /// Number of underlyings implied by the correlation matrix (its side), or a
    /// [`RiskError::CorrelationShape`] when the length is not a square.
    pub fn underlying_count(&self) -> Result<usize, RiskError> {
        let len = self.correlation.len();
        let mut n = 0usize;
        while n * n < len {
            n += 1;
        }
        if n * n != len {
            return Err(RiskError::CorrelationShape {
                len: len.min(u32::MAX as usize) as u32,
                expected: (n * n) as u32,
            });
        }
        Ok(n)
    }

    /// Checks every hard bound documented on the fields, tier ordering and the
    /// correlation matrix (square, at most MAX_UNDERLYINGS, symmetric, unit
    /// diagonal, entries in [-1, 1]).
    pub fn validate(&self) -> Result<(), RiskError> {
        check_range(Field::GridK, 0, self.grid_k as i128, 1, MAX_GRID_K as i128)?;
        check_range(Field::VolDown, 0, self.vol_down, 0, WAD / 10 * 9)?;
        check_range(Field::VolUp, 0, self.vol_up, 0, 5 * WAD)?;
        check_range(Field::VolUpPower, 0, self.vol_up_power, 0, WAD)?;
        check_len(
            Field::ExtremeMoves,
            self.extreme_moves.len(),
            MAX_EXTREME_MOVES,
        )?;
        for (i, m) in self.extreme_moves.iter().enumerate() {
            check_range(Field::ExtremeMoves, i, *m, -5 * WAD, 5 * WAD)?;
        }
        check_range(Field::ExtremeCover, 0, self.extreme_cover, 0, WAD)?;
        check_range(
            Field::TimeRoll,
            0,
            self.time_roll_seconds as i128,
            0,
            MAX_TIME_ROLL_SECONDS as i128,
        )?;
        check_range(Field::MmFraction, 0, self.mm_fraction, WAD / 100, WAD)?;
        check_range(
            Field::MaxOffsetCredit,
            0,
            self.max_offset_credit,
            0,
            WAD / 10 * 9,
        )?;
        check_range(Field::ShortOptionMin, 0, self.short_option_min, 0, WAD)?;
        check_len(
            Field::ConcentrationThreshold,
            self.concentration_tiers.len(),
            MAX_CONCENTRATION_TIERS,
        )?;
        for (i, t) in self.concentration_tiers.iter().enumerate() {
            check_range(Field::ConcentrationThreshold, i, t.threshold, 0, i128::MAX)?;
            check_range(
                Field::ConcentrationMultiplier,
                i,
                t.multiplier,
                WAD,
                10 * WAD,
            )?;
            if i > 0 {
                let prev = self.concentration_tiers[i - 1];
                if t.threshold <= prev.threshold {
                    return Err(RiskError::NotIncreasing {
                        field: Field::ConcentrationThreshold,
                        index: i as u32,
                    });
                }
                if t.multiplier < prev.multiplier {
                    return Err(RiskError::NotIncreasing {
                        field: Field::ConcentrationMultiplier,
                        index: i as u32,
                    });
                }
            }
        }
        check_range(
            Field::EsConfidence,
            0,
            self.es_confidence,
            WAD / 2,
            WAD / 10_000 * 9_999,
        )?;
        check_range(
            Field::EsMinSamples,
            0,
            self.es_min_samples as i128,
            1,
            MAX_HISTORY_EPOCHS as i128,
        )?;
        check_range(Field::EsMultiplier, 0, self.es_multiplier, 0, 10 * WAD)?;
        let n = self.underlying_count()?;
        check_len(Field::Correlation, n, MAX_UNDERLYINGS)?;
        crate::aggregate::validate_correlation(&self.correlation, n)
    }
}

/// Per-underlying part of a [`MarginReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderlyingReport {
    /// Index of the underlying in the market data.
    pub underlying: u32,
    /// Worst scenario loss (WAD, >= 0): max(0, -min(pnl)).
    pub scan_loss: Wad,
    /// Index into `pnl` of the worst scenario (0 when there are no positions).
    pub worst_index: u32,
    /// Decoded worst scenario.
    pub worst: Scenario,
    /// Portfolio PnL (WAD) of this underlying's positions in every scenario
    /// (order: see [`crate::scenario::scenario_at`]); extreme moves already
    /// multiplied by the cover fraction. Empty when there are no positions.
    pub pnl: Vec<Wad>,
    /// Short-option minimum for this underlying (WAD).
    pub short_option_min: Wad,
    /// Gross notional: sum over positions of |size| x spot (WAD).
    pub gross_notional: Wad,
    /// Concentration multiplier applied (WAD, >= 1).
    pub concentration_multiplier: Wad,
    /// Charge entering the aggregation: max(scan_loss, short_option_min) x
    /// multiplier, rounded up (WAD).
    pub charge: Wad,
    /// Oracle-confidence add-on: gross_notional x oracle_confidence (WAD, up).
    pub oracle_addon: Wad,
    /// Net delta in underlying units (WAD).
    pub delta: Wad,
    /// Net gamma: d(delta)/d(spot), underlying units per settlement unit (WAD).
    pub gamma: Wad,
    /// Net vega: value change per 1.00 change of vol (WAD settlement units).
    pub vega: Wad,
}

/// Result of [`crate::margin::account_margin`]. Requirements are rounded up,
/// collateral values down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginReport {
    /// Sum of amount x price x (1 - im_haircut), rounded down (WAD).
    pub collateral_value_im: Wad,
    /// Sum of amount x price x (1 - mm_haircut), rounded down (WAD).
    pub collateral_value_mm: Wad,
    /// Unrealised PnL of perps: sum of size x (spot - entry), rounded down (WAD).
    pub perp_pnl: Wad,
    /// Mark-to-model value of options (long positive, short negative), rounded
    /// down (WAD).
    pub option_value: Wad,
    /// collateral_value_im + cash + perp_pnl + option_value (WAD).
    pub equity_im: Wad,
    /// collateral_value_mm + cash + perp_pnl + option_value (WAD).
    pub equity_mm: Wad,
    /// Sum of per-underlying charges before correlation credit (WAD).
    pub scan_undiversified: Wad,
    /// Charges after correlation, credit capped by `max_offset_credit` (WAD).
    pub scan_aggregated: Wad,
    /// ES measure (x es_multiplier), 0 when ES is disabled (WAD).
    pub es: Wad,
    /// Sum of oracle-confidence add-ons (WAD).
    pub oracle_addon: Wad,
    /// Initial margin: max(scan_aggregated, es) + oracle_addon (WAD).
    pub im: Wad,
    /// Maintenance margin (see [`MaintenanceMode`]), <= im (WAD).
    pub mm: Wad,
    /// equity_mm - mm (WAD); negative = liquidatable.
    pub health: Wad,
    /// equity_im - im (WAD); negative = no new risk, no withdrawals.
    pub free_collateral: Wad,
    /// One entry per underlying of the market data, in order.
    pub underlyings: Vec<UnderlyingReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collateral() -> Collateral {
        Collateral {
            amount: WAD,
            price: 2000 * WAD,
            im_haircut: WAD / 10,
            mm_haircut: WAD / 20,
        }
    }

    #[test]
    fn collateral_validate_errors_when_mm_haircut_above_im() {
        let mut c = collateral();
        assert_eq!(c.validate(0), Ok(()));
        c.mm_haircut = WAD / 5;
        assert!(matches!(
            c.validate(3),
            Err(RiskError::OutOfRange {
                field: Field::CollateralMmHaircut,
                index: 3,
                ..
            })
        ));
    }

    #[test]
    fn collateral_validate_errors_on_zero_price_or_negative_amount() {
        let mut c = collateral();
        c.price = 0;
        assert!(c.validate(0).is_err());
        let mut c = collateral();
        c.amount = -1;
        assert!(c.validate(0).is_err());
    }

    #[test]
    fn position_validate_errors_on_zero_strike_and_missing_entry() {
        let p = Position {
            underlying: 0,
            instrument: Instrument::Option {
                kind: OptionKind::Call,
                strike: 0,
                expiry: 10,
            },
            size: WAD,
            entry_price: 0,
        };
        assert!(matches!(
            p.validate(0),
            Err(RiskError::OutOfRange {
                field: Field::OptionStrike,
                ..
            })
        ));
        let perp = Position {
            underlying: 0,
            instrument: Instrument::Perp,
            size: WAD,
            entry_price: 0,
        };
        assert!(perp.validate(0).is_err());
        let flat = Position { size: 0, ..perp };
        assert_eq!(flat.validate(0), Ok(()));
    }

    #[test]
    fn risk_params_standard_is_valid() {
        for n in [0, 1, 3, MAX_UNDERLYINGS] {
            assert_eq!(RiskParams::standard(n).validate(), Ok(()));
            assert_eq!(RiskParams::standard(n).underlying_count(), Ok(n));
        }
    }

    #[test]
    fn risk_params_validate_errors_on_bad_bounds() {
        let mut p = RiskParams::standard(1);
        p.grid_k = 0;
        assert!(matches!(
            p.validate(),
            Err(RiskError::OutOfRange {
                field: Field::GridK,
                ..
            })
        ));
        let mut p = RiskParams::standard(1);
        p.extreme_moves = alloc::vec![WAD, 6 * WAD];
        assert!(matches!(
            p.validate(),
            Err(RiskError::OutOfRange {
                field: Field::ExtremeMoves,
                index: 1,
                ..
            })
        ));
        let mut p = RiskParams::standard(1);
        p.max_offset_credit = WAD;
        assert!(p.validate().is_err());
        let mut p = RiskParams::standard(1);
        p.time_roll_seconds = MAX_TIME_ROLL_SECONDS + 1;
        assert!(p.validate().is_err());
    }

    #[test]
    fn risk_params_validate_errors_on_unordered_tiers() {
        let mut p = RiskParams::standard(1);
        p.concentration_tiers = alloc::vec![
            ConcentrationTier {
                threshold: 100 * WAD,
                multiplier: 2 * WAD
            },
            ConcentrationTier {
                threshold: 100 * WAD,
                multiplier: 3 * WAD
            },
        ];
        assert_eq!(
            p.validate(),
            Err(RiskError::NotIncreasing {
                field: Field::ConcentrationThreshold,
                index: 1
            })
        );
        p.concentration_tiers[1].threshold = 200 * WAD;
        p.concentration_tiers[1].multiplier = WAD;
        assert_eq!(
            p.validate(),
            Err(RiskError::NotIncreasing {
                field: Field::ConcentrationMultiplier,
                index: 1
            })
        );
    }

    #[test]
    fn risk_params_validate_errors_on_non_square_correlation() {
        let mut p = RiskParams::standard(2);
        p.correlation.push(0);
        assert!(matches!(
            p.validate(),
            Err(RiskError::CorrelationShape { len: 5, .. })
        ));
    }

    #[test]
    fn market_validate_errors_on_history_shape() {
        let m = MarketData {
            now: 0,
            underlyings: Vec::new(),
            history: alloc::vec![0],
        };
        assert!(matches!(m.validate(), Err(RiskError::HistoryShape { .. })));
    }
}
