//! Property tests of the volatility smile: validated smiles always yield vols inside the
//! Black-76 domain, ATM gives atm_vol, the quadratic is evaluated correctly (vs f64) and
//! a pure-curvature smile is symmetric in log-moneyness.
use keel_risk::black76::{VOL_MAX, VOL_MIN};
use keel_risk::smile::{CURVATURE_MAX, SKEW_MAX};
use keel_risk::{black76_price, OptionKind, Smile, WAD};
use proptest::prelude::*;

fn valid_smile() -> impl Strategy<Value = Smile> {
    (
        VOL_MIN..=VOL_MAX,
        -SKEW_MAX..=SKEW_MAX,
        -CURVATURE_MAX..=CURVATURE_MAX,
        0u32..=1000,
        0u32..=1000,
    )
        .prop_map(|(atm, skew, curvature, lo, hi)| Smile {
            atm_vol: atm,
            skew,
            curvature,
            min_vol: VOL_MIN + (atm - VOL_MIN) * lo as i128 / 1000,
            max_vol: atm + (VOL_MAX - atm) * hi as i128 / 1000,
        })
}

fn forward_strike() -> impl Strategy<Value = (i128, i128)> {
    (
        1_000_000_000_000i128..1_000_000_000_000_000_000_000_000,
        200_000u64..=5_000_000,
    )
        .prop_map(|(f, m)| {
            let k = ((f as f64) * (m as f64 / 1e6)) as i128;
            (f, k.clamp(f / 5 + 1, f * 5))
        })
}

proptest! {
    #[test]
    fn validated_smiles_stay_in_the_pricer_domain(s in valid_smile(), (f, k) in forward_strike()) {
        prop_assert_eq!(s.validate(), Ok(()));
        let v = s.implied_vol(f, k).unwrap();
        prop_assert!(v >= s.min_vol && v <= s.max_vol, "{v} outside {s:?}");
        prop_assert!((VOL_MIN..=VOL_MAX).contains(&v));
        prop_assert!(black76_price(OptionKind::Call, f, k, v, WAD / 12).is_ok());
        prop_assert_eq!(s.implied_vol(f, f).unwrap(), s.atm_vol);
    }

    #[test]
    fn implied_vol_matches_the_quadratic_in_f64(s in valid_smile(), (f, k) in forward_strike()) {
        let m = (k as f64 / f as f64).ln();
        let want = (s.atm_vol as f64 + s.skew as f64 * m + s.curvature as f64 * m * m)
            .clamp(s.min_vol as f64, s.max_vol as f64);
        let got = s.implied_vol(f, k).unwrap() as f64;
        // f64 ln of the ratio (~1e-16) times coefficients up to 10, plus K/F's rounding to
        // WAD (1e-18 / (K/F) relative) amplified by the slope.
        let slope = (s.skew as f64).abs() + 2.0 * (s.curvature as f64).abs() * m.abs();
        prop_assert!((got - want).abs() <= 1e3 + slope * (1e-15 + 5e-18), "{got} vs {want}");
    }

    #[test]
    fn pure_curvature_smile_is_symmetric(curv in 0i128..=CURVATURE_MAX, (f, k) in forward_strike()) {
        let s = Smile { atm_vol: WAD / 2, skew: 0, curvature: curv, min_vol: VOL_MIN, max_vol: VOL_MAX };
        // mirror strike F^2 / K has m' = -m
        let mirror = (f as f64 * f as f64 / k as f64) as i128;
        prop_assume!(mirror > 0);
        let a = s.implied_vol(f, k).unwrap();
        let b = s.implied_vol(f, mirror).unwrap();
        // |m| <= ln 5; the mirror strike is rounded to 53 bits (1e-16 relative in m)
        prop_assert!((a - b).abs() as f64 <= 1e3 + 4.0 * curv as f64 * 2e-16, "{a} vs {b}");
    }
}
