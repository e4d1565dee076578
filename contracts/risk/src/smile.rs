//! Volatility smile: implied vol per strike as a clamped quadratic in log-moneyness.
//!
//! vol(K) = clamp(atm_vol + skew * m + curvature * m^2, min_vol, max_vol), m = ln(K / F).
//! The clamp keeps every vol inside the Black-76 domain (1%..500%) whatever the strike,
//! so a validated smile can never make the pricer fail with `Domain` on vol.

use crate::black76::{VOL_MAX, VOL_MIN};
use crate::error::{check_range, Field, RiskError};
use crate::fixed::{wdiv, wmul, MathError, Rounding, Wad, WAD};
use crate::math::ln;

/// Largest accepted |skew| (vol per unit of log-moneyness): 5.0 (WAD).
pub const SKEW_MAX: Wad = 5 * WAD;
/// Largest accepted |curvature| (vol per unit of squared log-moneyness): 10.0 (WAD).
pub const CURVATURE_MAX: Wad = 10 * WAD;

/// Quadratic smile in log-moneyness, clamped to [min_vol, max_vol]. All fields WAD;
/// vols annualised (0.8 = 80%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smile {
    /// At-the-money vol, in [1%, 500%].
    pub atm_vol: Wad,
    /// Slope in m = ln(K/F), |skew| <= 5 (negative: puts richer, the usual equity/crypto skew).
    pub skew: Wad,
    /// Coefficient of m^2, |curvature| <= 10 (positive: the usual convex smile).
    pub curvature: Wad,
    /// Lower clamp: 1% <= min_vol <= atm_vol.
    pub min_vol: Wad,
    /// Upper clamp: atm_vol <= max_vol <= 500%.
    pub max_vol: Wad,
}

impl Smile {
    /// A flat smile: every strike gets `vol` (min = max = atm).
    pub const fn flat(vol: Wad) -> Smile {
        Smile {
            atm_vol: vol,
            skew: 0,
            curvature: 0,
            min_vol: vol,
            max_vol: vol,
        }
    }

    /// Checks the hard bounds: atm in [1%, 500%], |skew| <= 5, |curvature| <= 10,
    /// 1% <= min_vol <= atm_vol <= max_vol <= 500%. Returns the first violation as
    /// `RiskError::OutOfRange` naming the field and its accepted range.
    pub fn validate(&self) -> Result<(), RiskError> {
        check_range(Field::SmileAtmVol, 0, self.atm_vol, VOL_MIN, VOL_MAX)?;
        check_range(Field::SmileSkew, 0, self.skew, -SKEW_MAX, SKEW_MAX)?;
        check_range(
            Field::SmileCurvature,
            0,
            self.curvature,
            -CURVATURE_MAX,
            CURVATURE_MAX,
        )?;
        check_range(Field::SmileMinVol, 0, self.min_vol, VOL_MIN, self.atm_vol)?;
        check_range(Field::SmileMaxVol, 0, self.max_vol, self.atm_vol, VOL_MAX)?;
        Ok(())
    }

    /// Implied vol (WAD) at `strike` for `forward` (both WAD, > 0).
    ///
    /// m = ln(K/F) (K/F rounded down to WAD, then `ln`, error <= 1 wei + 1e-18/(K/F)),
    /// vol = atm + skew m + curvature m^2 (products rounded down), clamped to
    /// [min_vol, max_vol]. For a validated smile the result is in [1%, 500%].
    /// Errors: `Domain` if forward or strike <= 0 or K/F < 1e-18; `Overflow` only for
    /// unvalidated parameters.
    pub fn implied_vol(&self, forward: Wad, strike: Wad) -> Result<Wad, MathError> {
        if forward <= 0 || strike <= 0 {
            return Err(MathError::Domain);
        }
        if strike == forward || (self.skew == 0 && self.curvature == 0) {
            return Ok(self
                .atm_vol
                .clamp(self.min_vol, self.max_vol.max(self.min_vol)));
        }
        let m = ln(wdiv(strike, forward, Rounding::Down)?)?;
        let lin = wmul(self.skew, m, Rounding::Down)?;
        let quad = wmul(self.curvature, wmul(m, m, Rounding::Down)?, Rounding::Down)?;
        let vol = self
            .atm_vol
            .checked_add(lin)
            .and_then(|v| v.checked_add(quad))
            .ok_or(MathError::Overflow)?;
        Ok(vol.clamp(self.min_vol, self.max_vol.max(self.min_vol)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smile() -> Smile {
        Smile {
            atm_vol: 8 * WAD / 10,
            skew: -WAD / 5,
            curvature: WAD / 2,
            min_vol: WAD / 10,
            max_vol: 3 * WAD,
        }
    }

    #[test]
    fn validate_accepts_a_typical_smile() {
        assert_eq!(smile().validate(), Ok(()));
        assert_eq!(Smile::flat(WAD).validate(), Ok(()));
    }

    fn field_of(e: RiskError) -> Field {
        match e {
            RiskError::OutOfRange { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn validate_errors_on_each_bound() {
        let cases: [(Smile, Field); 8] = [
            (
                Smile {
                    atm_vol: VOL_MIN - 1,
                    ..smile()
                },
                Field::SmileAtmVol,
            ),
            (
                Smile {
                    atm_vol: VOL_MAX + 1,
                    max_vol: VOL_MAX + 1,
                    ..smile()
                },
                Field::SmileAtmVol,
            ),
            (
                Smile {
                    skew: SKEW_MAX + 1,
                    ..smile()
                },
                Field::SmileSkew,
            ),
            (
                Smile {
                    skew: -SKEW_MAX - 1,
                    ..smile()
                },
                Field::SmileSkew,
            ),
            (
                Smile {
                    curvature: CURVATURE_MAX + 1,
                    ..smile()
                },
                Field::SmileCurvature,
            ),
            (
                Smile {
                    min_vol: VOL_MIN - 1,
                    ..smile()
                },
                Field::SmileMinVol,
            ),
            (
                Smile {
                    min_vol: WAD,
                    ..smile()
                },
                Field::SmileMinVol,
            ),
            (
                Smile {
                    max_vol: WAD / 2,
                    ..smile()
                },
                Field::SmileMaxVol,
            ),
        ];
        for (s, field) in cases {
            assert_eq!(field_of(s.validate().unwrap_err()), field, "{s:?}");
        }
        let e = Smile {
            max_vol: VOL_MAX + 1,
            ..smile()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e,
            RiskError::OutOfRange {
                field: Field::SmileMaxVol,
                index: 0,
                value: VOL_MAX + 1,
                min: 8 * WAD / 10,
                max: VOL_MAX
            }
        );
    }

    #[test]
    fn implied_vol_errors_on_non_positive_inputs() {
        assert_eq!(smile().implied_vol(0, WAD), Err(MathError::Domain));
        assert_eq!(smile().implied_vol(WAD, -1), Err(MathError::Domain));
    }

    #[test]
    fn implied_vol_is_atm_at_the_forward_and_quadratic_elsewhere() {
        let s = smile();
        assert_eq!(s.implied_vol(2000 * WAD, 2000 * WAD), Ok(8 * WAD / 10));
        // K/F = e: m = 1 -> 0.8 - 0.2 + 0.5 = 1.1 (ln(e) is 1 to within a wei)
        let e = 2_718_281_828_459_045_235;
        let v = s.implied_vol(WAD, e).unwrap();
        assert!((v - 11 * WAD / 10).abs() <= 2, "{v}");
    }

    #[test]
    fn implied_vol_is_clamped() {
        let s = Smile {
            curvature: 10 * WAD,
            max_vol: WAD,
            ..smile()
        };
        assert_eq!(s.implied_vol(WAD, 5 * WAD), Ok(WAD));
        let s = Smile {
            curvature: -10 * WAD,
            ..smile()
        };
        assert_eq!(s.implied_vol(WAD, 5 * WAD), Ok(WAD / 10));
    }
}
