//! Margin add-ons: short-option minimum, concentration tiers, oracle confidence.
//!
//! All add-ons are requirements: they round up.

use crate::error::RiskError;
use crate::fixed::{add, wmul, Rounding, Wad, WAD};
use crate::portfolio::{ConcentrationTier, Instrument};
use crate::scenario::PricedSeries;

/// Gross notional of an underlying: sum over series of |net size| x spot
/// (rounded up, WAD).
pub fn gross_notional(series: &[PricedSeries], spot: Wad) -> Result<Wad, RiskError> {
    let mut total: Wad = 0;
    for s in series {
        total = add(total, wmul(s.size.abs(), spot, Rounding::Up)?)?;
    }
    Ok(total)
}

/// Short-option minimum: sum over *short* option series of |size| x spot x
/// `rate` (rounded up, WAD). Floors an underlying's scan charge so that deep
/// out-of-the-money short options, whose scan loss is near zero, still carry
/// a charge.
pub fn short_option_minimum(
    series: &[PricedSeries],
    spot: Wad,
    rate: Wad,
) -> Result<Wad, RiskError> {
    let mut total: Wad = 0;
    for s in series {
        if matches!(s.instrument, Instrument::Option { .. }) && s.size < 0 {
            let notional = wmul(s.size.abs(), spot, Rounding::Up)?;
            total = add(total, wmul(notional, rate, Rounding::Up)?)?;
        }
    }
    Ok(total)
}

/// Concentration multiplier for `notional`: the multiplier of the highest tier
/// whose threshold is <= notional, or 1 (WAD) when none applies. Tiers must be
/// validated (thresholds increasing, multipliers non-decreasing).
pub fn concentration_multiplier(notional: Wad, tiers: &[ConcentrationTier]) -> Wad {
    tiers
        .iter()
        .rev()
        .find(|t| notional >= t.threshold)
        .map_or(WAD, |t| t.multiplier)
}

/// Oracle-confidence add-on: gross notional x confidence rate (rounded up).
pub fn oracle_addon(notional: Wad, confidence: Wad) -> Result<Wad, RiskError> {
    Ok(wmul(notional, confidence, Rounding::Up)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::black76::OptionKind;

    fn series(instrument: Instrument, size: Wad) -> PricedSeries {
        PricedSeries {
            instrument,
            size,
            vol: 0,
            vol_down: 0,
            vol_up: 0,
            seconds: 0,
            value: 0,
            delta: 0,
            gamma: 0,
            vega: 0,
        }
    }

    fn call() -> Instrument {
        Instrument::Option {
            kind: OptionKind::Call,
            strike: 100 * WAD,
            expiry: 1,
        }
    }

    #[test]
    fn short_option_minimum_counts_only_short_options() {
        let s = [
            series(call(), -2 * WAD),
            series(Instrument::Perp, -5 * WAD),
            series(
                Instrument::Option {
                    kind: OptionKind::Put,
                    strike: 90 * WAD,
                    expiry: 1,
                },
                3 * WAD,
            ),
        ];
        // 2 x 1000 x 1% = 20.
        assert_eq!(
            short_option_minimum(&s, 1000 * WAD, WAD / 100),
            Ok(20 * WAD)
        );
        assert_eq!(gross_notional(&s, 1000 * WAD), Ok(10_000 * WAD));
    }

    #[test]
    fn concentration_multiplier_steps_up() {
        let tiers = [
            ConcentrationTier {
                threshold: 1_000 * WAD,
                multiplier: WAD / 2 * 3,
            },
            ConcentrationTier {
                threshold: 10_000 * WAD,
                multiplier: 2 * WAD,
            },
        ];
        assert_eq!(concentration_multiplier(999 * WAD, &tiers), WAD);
        assert_eq!(concentration_multiplier(1_000 * WAD, &tiers), WAD / 2 * 3);
        assert_eq!(concentration_multiplier(50_000 * WAD, &tiers), 2 * WAD);
        assert_eq!(concentration_multiplier(50_000 * WAD, &[]), WAD);
    }

    #[test]
    fn oracle_addon_rounds_up() {
        assert_eq!(oracle_addon(3, WAD / 2), Ok(2));
    }
}
