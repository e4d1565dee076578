//! Property tests of Black-76: exact parity, no-arbitrage bounds, greek signs,
//! monotonicity in forward, vol and time, and agreement with an independent f64
//! implementation (libm erfc) within a stated tolerance.
use keel_risk::black76::{T_MAX, T_MIN, VOL_MAX, VOL_MIN};
use keel_risk::{black76, black76_price, OptionKind, Wad, WAD};
use proptest::prelude::*;

/// Monotonicity is checked up to the documented price error bound (the two prices
/// compared are independent evaluations; each may be off by up to this much).
fn tol(f: Wad, k: Wad) -> Wad {
    2 * (2 + (f + k) / 250_000_000_000_000_000)
}

/// (forward, strike, vol, t) over the whole domain.
fn domain() -> impl Strategy<Value = (Wad, Wad, Wad, Wad)> {
    (
        1_000_000_000_000i128..1_000_000_000_000_000_000_000_000,
        200_000u64..=5_000_000,
        VOL_MIN..=VOL_MAX,
        T_MIN..=T_MAX,
    )
        .prop_map(|(f, m, vol, t)| {
            let k = ((f as f64) * (m as f64 / 1e6)) as i128;
            (f, k.clamp(f / 5 + 1, f * 5), vol, t)
        })
}

/// Black-76 in f64 via libm's erfc (|rel error| ~1e-15 per term).
fn f64_price(call: bool, f: f64, k: f64, vol: f64, t: f64) -> f64 {
    let n = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
    let v = vol * t.sqrt();
    let d1 = (f / k).ln() / v + v / 2.0;
    let d2 = d1 - v;
    if call {
        f * n(d1) - k * n(d2)
    } else {
        k * n(-d2) - f * n(-d1)
    }
}

proptest! {
    #[test]
    fn parity_is_exact((f, k, vol, t) in domain()) {
        let c = black76_price(OptionKind::Call, f, k, vol, t).unwrap();
        let p = black76_price(OptionKind::Put, f, k, vol, t).unwrap();
        prop_assert_eq!(c - p, f - k);
        let gc = black76(OptionKind::Call, f, k, vol, t).unwrap();
        let gp = black76(OptionKind::Put, f, k, vol, t).unwrap();
        prop_assert_eq!(gc.delta - gp.delta, WAD);
        prop_assert_eq!(gc.gamma, gp.gamma);
        prop_assert_eq!(gc.vega, gp.vega);
    }

    #[test]
    fn prices_and_greeks_respect_bounds((f, k, vol, t) in domain()) {
        let c = black76(OptionKind::Call, f, k, vol, t).unwrap();
        let p = black76(OptionKind::Put, f, k, vol, t).unwrap();
        prop_assert!(c.price >= (f - k).max(0) && c.price <= f, "call {c:?}");
        prop_assert!(p.price >= (k - f).max(0) && p.price <= k, "put {p:?}");
        prop_assert!((0..=WAD).contains(&c.delta));
        prop_assert!((-WAD..=0).contains(&p.delta));
        prop_assert!(c.gamma >= 0 && c.vega >= 0);
    }

    #[test]
    fn price_is_monotone_in_forward((f, k, vol, t) in domain(), bump in 1u32..1000) {
        let f2 = f + f / 1000 * bump as i128 / 1000 + 1;
        prop_assume!(f2 <= 5 * k);
        let t_ = tol(f2, k);
        let c1 = black76_price(OptionKind::Call, f, k, vol, t).unwrap();
        let c2 = black76_price(OptionKind::Call, f2, k, vol, t).unwrap();
        prop_assert!(c2 >= c1 - t_, "call {c1} -> {c2}");
        let p1 = black76_price(OptionKind::Put, f, k, vol, t).unwrap();
        let p2 = black76_price(OptionKind::Put, f2, k, vol, t).unwrap();
        prop_assert!(p2 <= p1 + t_, "put {p1} -> {p2}");
    }

    #[test]
    fn price_is_monotone_in_vol_and_time((f, k, vol, t) in domain(), bump in 1i128..1_000_000) {
        let t_ = tol(f, k);
        let vol2 = (vol + bump * 1_000_000_000_000).min(VOL_MAX);
        let t2 = (t + bump * 1_000_000_000_000).min(T_MAX);
        for kind in [OptionKind::Call, OptionKind::Put] {
            let base = black76_price(kind, f, k, vol, t).unwrap();
            prop_assert!(black76_price(kind, f, k, vol2, t).unwrap() >= base - t_);
            prop_assert!(black76_price(kind, f, k, vol, t2).unwrap() >= base - t_);
        }
    }

    #[test]
    fn price_agrees_with_f64_reference((f, k, vol, t) in domain()) {
        for (kind, call) in [(OptionKind::Call, true), (OptionKind::Put, false)] {
            let got = black76_price(kind, f, k, vol, t).unwrap() as f64 / 1e18;
            let fx = f as f64 / 1e18;
            let want = f64_price(call, fx, k as f64 / 1e18, vol as f64 / 1e18, t as f64 / 1e18);
            // f64: ~1e-15 relative on each of the two terms, amplified by 1/(vol sqrt t)
            // through d1 when ln(F/K) dominates.
            let v = vol as f64 / 1e18 * (t as f64 / 1e18).sqrt();
            let tol = 1e-13 * (fx + k as f64 / 1e18) * (1.0 + 1.0 / v);
            prop_assert!((got - want).abs() <= tol, "{kind:?}: {got} vs f64 {want}");
        }
    }

    #[test]
    fn expired_is_intrinsic(f in 1i128..1_000_000_000_000_000_000_000, k in 1i128..1_000_000_000_000_000_000_000, t in i128::MIN..=0) {
        let c = black76(OptionKind::Call, f, k, WAD, t).unwrap();
        let p = black76(OptionKind::Put, f, k, WAD, t).unwrap();
        prop_assert_eq!(c.price, (f - k).max(0));
        prop_assert_eq!(p.price, (k - f).max(0));
        prop_assert_eq!(c.delta, if f > k { WAD } else { 0 });
        prop_assert_eq!(p.delta, if f < k { -WAD } else { 0 });
        prop_assert_eq!((c.gamma, c.vega, p.gamma, p.vega), (0, 0, 0, 0));
    }
}

proptest! {
    /// Arbitrary i128 inputs (debug build: overflow checks on) never panic: every
    /// outcome is a value or a typed error.
    #[test]
    fn arbitrary_inputs_never_panic(
        f in prop_oneof![any::<i128>(), 1i128..1_000_000_000_000_000_000_000_000_000_000],
        k in prop_oneof![any::<i128>(), 1i128..1_000_000_000_000_000_000_000_000_000_000],
        vol in prop_oneof![any::<i128>(), VOL_MIN..=VOL_MAX],
        t in prop_oneof![any::<i128>(), T_MIN..=T_MAX],
    ) {
        for kind in [OptionKind::Call, OptionKind::Put] {
            let _ = black76(kind, f, k, vol, t);
            let _ = black76_price(kind, f, k, vol, t);
        }
    }

    /// Extreme but in-domain magnitudes: the largest forwards either price or report
    /// `Overflow` (never a wrong value): parity and bounds hold whenever they price.
    #[test]
    fn huge_forwards_price_or_overflow(
        f in (i128::MAX / 8)..(i128::MAX / 5),
        m in 200_000u64..=1_000_000,
        vol in VOL_MIN..=VOL_MAX,
        t in T_MIN..=T_MAX,
    ) {
        let k = (f as f64 * m as f64 / 1e6) as i128;
        let k = k.clamp(f / 5 + 1, f);
        if let (Ok(c), Ok(p)) = (
            black76_price(OptionKind::Call, f, k, vol, t),
            black76_price(OptionKind::Put, f, k, vol, t),
        ) {
            prop_assert_eq!(c - p, f - k);
            prop_assert!(c <= f && p <= k && p >= 0);
        }
    }
}
