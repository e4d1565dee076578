//! Dynamic scan range from an EWMA of oracle log-returns.
//!
//! State per underlying ([`EwmaState`], stored by the engine) and pure update
//! functions. Variance is kept *per second* so irregular oracle updates are
//! weighted by their real gap dt:
//!
//! - r = ln(P / P_prev), observed variance rate v_obs = r^2 / dt (rounded up);
//! - decay = lambda^(dt / interval) = exp(ln(lambda) x dt / interval);
//! - v' = decay x v + (1 - decay) x v_obs (rounded up);
//! - target R = clamp(k x sqrt(v' x horizon), R_min, R_max), then raised to the
//!   anti-procyclical floor `apc_floor_share x peak` (peak = highest R the state
//!   has ever held);
//! - R' = target if target >= R (rises at once); otherwise R falls at most by
//!   `max_fall_per_day x R x dt / 1 day`.
//!
//! Rounding: every step rounds toward a larger range (favours the protocol).

use crate::error::{check_range, Field, RiskError};
use crate::fixed::{add, mul_div, sub, wdiv, wmul, Rounding, Wad, WAD};
use crate::math::{exp, ln, sqrt};

/// Seconds per day (fall-rate unit).
pub const SECONDS_PER_DAY: u64 = 86_400;
/// Exponents below this make exp(.) smaller than 1 wei: decay is then exactly 0.
const EXP_FLOOR: Wad = -42 * WAD;

/// EWMA and range parameters (per underlying or global; validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EwmaParams {
    /// Decay per `lambda_interval_seconds` (WAD) in [0.5, 0.9999], e.g. 0.94 per day.
    pub lambda: Wad,
    /// Interval (seconds) to which `lambda` refers, in [1, 7 days].
    pub lambda_interval_seconds: u64,
    /// Multiplier of sigma (WAD) in [0.5, 20], e.g. 3.
    pub k: Wad,
    /// Margin horizon (seconds) in [60, 30 days], e.g. 1 day.
    pub horizon_seconds: u64,
    /// Lower clamp of R (WAD fraction) in (0, range_max].
    pub range_min: Wad,
    /// Upper clamp of R (WAD fraction) in [range_min, 0.9].
    pub range_max: Wad,
    /// Largest fall of R per day, as a fraction of R (WAD) in [0, 1].
    pub max_fall_per_day: Wad,
    /// Anti-procyclical floor: R >= share x peak R (WAD) in [0, 1]; 0 disables.
    pub apc_floor_share: Wad,
}

impl EwmaParams {
    /// Checks the bounds documented on the fields.
    pub fn validate(&self) -> Result<(), RiskError> {
        check_range(
            Field::EwmaLambda,
            0,
            self.lambda,
            WAD / 2,
            WAD / 10_000 * 9_999,
        )?;
        check_range(
            Field::EwmaInterval,
            0,
            self.lambda_interval_seconds as i128,
            1,
            7 * SECONDS_PER_DAY as i128,
        )?;
        check_range(Field::EwmaK, 0, self.k, WAD / 2, 20 * WAD)?;
        check_range(
            Field::EwmaHorizon,
            0,
            self.horizon_seconds as i128,
            60,
            30 * SECONDS_PER_DAY as i128,
        )?;
        check_range(Field::EwmaRangeBounds, 0, self.range_min, 1, WAD / 10 * 9)?;
        check_range(
            Field::EwmaRangeBounds,
            1,
            self.range_max,
            self.range_min,
            WAD / 10 * 9,
        )?;
        check_range(Field::EwmaMaxFall, 0, self.max_fall_per_day, 0, WAD)?;
        check_range(Field::EwmaApcShare, 0, self.apc_floor_share, 0, WAD)
    }
}

/// Stored EWMA state of one underlying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EwmaState {
    /// Variance of log-returns per second (WAD), >= 0. 80% annual vol is about
    /// 0.64 / 31,536,000 = 2.03e-8, i.e. 2.03e10 raw.
    pub variance_per_second: Wad,
    /// Last oracle price (WAD), > 0.
    pub last_price: Wad,
    /// Timestamp of `last_price` (unix seconds).
    pub last_update: u64,
    /// Current scan range R (WAD fraction).
    pub scan_range: Wad,
    /// Highest R ever held (anti-procyclical reference).
    pub peak_range: Wad,
}

/// R implied by a variance rate: clamp(k x sqrt(v x horizon), R_min, R_max),
/// rounded up (no floor, no fall limit).
pub fn target_range(variance_per_second: Wad, params: &EwmaParams) -> Result<Wad, RiskError> {
    let var_h = variance_per_second
        .checked_mul(params.horizon_seconds as i128)
        .ok_or(crate::fixed::MathError::Overflow)?;
    let sigma = sqrt(var_h, Rounding::Up)?;
    let r = wmul(params.k, sigma, Rounding::Up)?;
    Ok(r.clamp(params.range_min, params.range_max))
}

impl EwmaState {
    /// Initial state from a first price and an initial annualised vol (WAD,
    /// e.g. 0.8): variance per second = vol^2 / 31,536,000 (rounded up); R =
    /// target range; peak = R.
    pub fn new(
        price: Wad,
        now: u64,
        annual_vol: Wad,
        params: &EwmaParams,
    ) -> Result<EwmaState, RiskError> {
        params.validate()?;
        check_range(Field::OraclePrice, 0, price, 1, i128::MAX)?;
        check_range(Field::EwmaVariance, 0, annual_vol, 0, 10 * WAD)?;
        let var_year = wmul(annual_vol, annual_vol, Rounding::Up)?;
        let variance_per_second = mul_div(
            var_year,
            1,
            crate::black76::SECONDS_PER_YEAR as i128,
            Rounding::Up,
        )?;
        let r = target_range(variance_per_second, params)?;
        Ok(EwmaState {
            variance_per_second,
            last_price: price,
            last_update: now,
            scan_range: r,
            peak_range: r,
        })
    }

    /// New state after an oracle price `price` at time `now` (> `last_update`).
    /// Errors: [`RiskError::NonMonotonicTime`] when `now <= last_update`,
    /// out-of-range price or params, arithmetic overflow.
    pub fn update(
        &self,
        price: Wad,
        now: u64,
        params: &EwmaParams,
    ) -> Result<EwmaState, RiskError> {
        params.validate()?;
        check_range(Field::OraclePrice, 0, price, 1, i128::MAX)?;
        check_range(
            Field::EwmaVariance,
            0,
            self.variance_per_second,
            0,
            i128::MAX,
        )?;
        check_range(Field::OraclePrice, 1, self.last_price, 1, i128::MAX)?;
        if now <= self.last_update {
            return Err(RiskError::NonMonotonicTime {
                last: self.last_update,
                now,
            });
        }
        let dt = (now - self.last_update) as i128;
        let r = ln(wdiv(price, self.last_price, Rounding::Down)?.max(1))?;
        let obs = mul_div(wmul(r, r, Rounding::Up)?, 1, dt, Rounding::Up)?;
        let exponent = mul_div(
            ln(params.lambda)?,
            dt,
            params.lambda_interval_seconds as i128,
            Rounding::Down,
        )?;
        let decay = if exponent < EXP_FLOOR {
            0
        } else {
            exp(exponent)?.clamp(0, WAD)
        };
        let variance_per_second = add(
            wmul(decay, self.variance_per_second, Rounding::Up)?,
            wmul(WAD - decay, obs, Rounding::Up)?,
        )?;
        let floor = wmul(params.apc_floor_share, self.peak_range, Rounding::Up)?;
        let target = target_range(variance_per_second, params)?
            .max(floor)
            .min(params.range_max);
        let scan_range = if target >= self.scan_range {
            target
        } else {
            let fall = mul_div(
                wmul(self.scan_range, params.max_fall_per_day, Rounding::Down)?,
                dt,
                SECONDS_PER_DAY as i128,
                Rounding::Down,
            )?;
            target.max(sub(self.scan_range, fall)?)
        };
        Ok(EwmaState {
            variance_per_second,
            last_price: price,
            last_update: now,
            scan_range,
            peak_range: self.peak_range.max(scan_range),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0.94 per day, k = 3, 1-day horizon, R in [5%, 50%], fall 10%/day, APC 25%.
    pub(crate) fn params() -> EwmaParams {
        EwmaParams {
            lambda: WAD / 100 * 94,
            lambda_interval_seconds: 86_400,
            k: 3 * WAD,
            horizon_seconds: 86_400,
            range_min: WAD / 20,
            range_max: WAD / 2,
            max_fall_per_day: WAD / 10,
            apc_floor_share: WAD / 4,
        }
    }

    #[test]
    fn validate_errors_on_inverted_bounds() {
        let mut p = params();
        assert_eq!(p.validate(), Ok(()));
        p.range_min = WAD / 2 + 1;
        assert!(matches!(
            p.validate(),
            Err(RiskError::OutOfRange {
                field: Field::EwmaRangeBounds,
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn update_errors_when_time_does_not_advance() {
        let p = params();
        let s = EwmaState::new(1000 * WAD, 100, WAD / 2, &p).unwrap();
        assert_eq!(
            s.update(1000 * WAD, 100, &p),
            Err(RiskError::NonMonotonicTime {
                last: 100,
                now: 100
            })
        );
    }

    #[test]
    fn update_errors_on_zero_price() {
        let p = params();
        let s = EwmaState::new(1000 * WAD, 100, WAD / 2, &p).unwrap();
        assert!(s.update(0, 200, &p).is_err());
    }
}
