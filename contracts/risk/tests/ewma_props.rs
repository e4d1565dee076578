//! Properties of the dynamic scan range: bounds, immediate rise, bounded fall,
//! anti-procyclical floor, and agreement of the variance recursion with f64.

use keel_risk::*;
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("KEEL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(n)
}

fn params() -> EwmaParams {
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

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn range_rules_hold_along_a_price_path(
        steps in prop::collection::vec((-300i128..300, 1u64..200_000), 1..40),
        vol_pct in 5i128..200,
    ) {
        let p = params();
        let mut s = EwmaState::new(1000 * WAD, 1_000, vol_pct * WAD / 100, &p).unwrap();
        let mut price = 1000 * WAD;
        let mut now = 1_000u64;
        for (bps, dt) in steps {
            price = (price + price / 10_000 * bps).max(WAD);
            now += dt;
            let next = s.update(price, now, &p).unwrap();
            // Bounds.
            prop_assert!(next.scan_range >= p.range_min && next.scan_range <= p.range_max);
            // Peak ratchets.
            prop_assert!(next.peak_range >= s.peak_range && next.peak_range >= next.scan_range);
            // Anti-procyclical floor.
            prop_assert!(next.scan_range * 4 >= s.peak_range - 4);
            // Immediate rise to the target; bounded fall.
            let target = target_range(next.variance_per_second, &p).unwrap();
            if target >= s.scan_range {
                prop_assert!(next.scan_range >= target);
            } else {
                let fall = s.scan_range - next.scan_range;
                let allowed = (s.scan_range as f64) * 0.1 * dt as f64 / 86_400.0;
                prop_assert!(fall as f64 <= allowed + 1.0, "fell {fall} > {allowed}");
            }
            prop_assert!(next.variance_per_second >= 0);
            s = next;
        }
    }

    #[test]
    fn variance_matches_f64_recursion(
        ret_bps in -2000i128..2000,
        dt in 1u64..604_800,
        vol_pct in 5i128..200,
    ) {
        let p = params();
        let s = EwmaState::new(1000 * WAD, 0, vol_pct * WAD / 100, &p).unwrap();
        let price = 1000 * WAD + 1000 * WAD / 10_000 * ret_bps;
        let n = s.update(price, dt, &p).unwrap();
        let v0 = s.variance_per_second as f64 / 1e18;
        let r = (price as f64 / (1000.0 * 1e18)).ln();
        let decay = 0.94f64.powf(dt as f64 / 86_400.0);
        let expected = decay * v0 + (1.0 - decay) * r * r / dt as f64;
        let got = n.variance_per_second as f64 / 1e18;
        prop_assert!((got - expected).abs() <= expected * 1e-9 + 3e-18, "{got} vs {expected}");
    }
}

#[test]
fn range_rises_at_once_after_a_shock() {
    let p = params();
    let s = EwmaState::new(1000 * WAD, 0, WAD / 5, &p).unwrap();
    // sigma_day = 0.2 / sqrt(365) = 1.05%, x3 = 3.1% -> clamped up to 5%.
    assert_eq!(s.scan_range, p.range_min);
    // A 30% crash in one hour.
    let n = s.update(700 * WAD, 3600, &p).unwrap();
    assert!(n.scan_range > WAD / 5, "{}", n.scan_range);
    assert_eq!(n.peak_range, n.scan_range);
}

#[test]
fn range_falls_slowly_then_stops_at_the_floor() {
    let p = params();
    let s = EwmaState::new(1000 * WAD, 0, WAD / 5, &p).unwrap();
    let crash = s.update(700 * WAD, 3600, &p).unwrap();
    // One calm day later: the target is far lower but R may fall only 10%.
    let calm = crash.update(700 * WAD, 3600 + 86_400, &p).unwrap();
    let max_fall = crash.scan_range / 10;
    assert!(calm.scan_range >= crash.scan_range - max_fall);
    assert!(calm.scan_range < crash.scan_range);
    // Many calm days later: held at 25% of the peak (APC floor), not at R_min.
    let mut st = calm;
    for d in 2..200u64 {
        st = st.update(700 * WAD, 3600 + d * 86_400, &p).unwrap();
    }
    let floor = crash.peak_range / 4;
    assert!(
        st.scan_range >= floor && st.scan_range <= floor + 1,
        "{} vs {}",
        st.scan_range,
        floor
    );
}

#[test]
fn long_gap_forgets_old_variance() {
    let p = params();
    let s = EwmaState::new(1000 * WAD, 0, 2 * WAD, &p).unwrap();
    // After three years without updates and no move, the old 200% vol has decayed away.
    let n = s.update(1000 * WAD, 3 * 31_536_000, &p).unwrap();
    assert_eq!(n.variance_per_second, 0);
}
