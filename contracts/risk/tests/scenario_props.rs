//! Properties of the per-underlying scan: loss >= 0, consistency of the PnL vector,
//! linearity in size (hedges never add loss), and agreement with an f64 reference.

use keel_risk::*;
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("KEEL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(n)
}

const NOW: u64 = 1_700_000_000;

fn smile(atm: Wad) -> Smile {
    Smile {
        atm_vol: atm,
        skew: 0,
        curvature: 0,
        min_vol: WAD / 20,
        max_vol: 4 * WAD,
    }
}

/// (kind: 0 perp / 1 call / 2 put, strike ratio in %, days to expiry, size in 0.01 units)
fn position_strategy() -> impl Strategy<Value = (u8, i128, u64, i128)> {
    (0u8..3, 70i128..=140, 2u64..=180, -500i128..=500)
}

fn build(spec: &[(u8, i128, u64, i128)], spot: Wad) -> Vec<Position> {
    spec.iter()
        .map(|&(k, ratio, days, size)| {
            let instrument = match k {
                0 => Instrument::Perp,
                _ => Instrument::Option {
                    kind: if k == 1 {
                        OptionKind::Call
                    } else {
                        OptionKind::Put
                    },
                    strike: spot / 100 * ratio,
                    expiry: NOW + days * 86_400,
                },
            };
            Position {
                underlying: 0,
                instrument,
                size: size * WAD / 100,
                entry_price: spot,
            }
        })
        .collect()
}

fn scan_of(positions: &[Position], spot: Wad, atm: Wad, range: Wad, p: &RiskParams) -> ScanResult {
    let s = price_series(positions, 0, spot, &smile(atm), NOW, p).unwrap();
    scan(&s, spot, range, p).unwrap()
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn scan_loss_is_non_negative_and_matches_pnl(
        spec in prop::collection::vec(position_strategy(), 1..6),
        spot_units in 100i128..5000,
        atm_pct in 20i128..150,
        range_pct in 1i128..30,
    ) {
        let p = RiskParams::standard(1);
        let spot = spot_units * WAD;
        let r = scan_of(&build(&spec, spot), spot, atm_pct * WAD / 100, range_pct * WAD / 100, &p);
        prop_assert!(r.loss >= 0);
        if !r.pnl.is_empty() {
            prop_assert_eq!(r.pnl.len(), scenario_count(&p));
            let min = *r.pnl.iter().min().unwrap();
            prop_assert_eq!(r.loss, (-min).max(0));
            prop_assert_eq!(r.pnl[r.worst_index], min);
        }
    }

    /// Reducing every position by a common fraction x (i.e. adding the hedge -x P)
    /// never increases the loss beyond rounding (1 wei per series and scenario).
    #[test]
    fn partial_hedge_never_raises_loss(
        spec in prop::collection::vec(position_strategy(), 1..6),
        keep_pct in 0i128..=100,
        spot_units in 100i128..5000,
    ) {
        let p = RiskParams::standard(1);
        let spot = spot_units * WAD;
        let full = build(&spec, spot);
        let mut hedged = full.clone();
        for h in &mut hedged {
            h.size = h.size / 100 * keep_pct;
        }
        let a = scan_of(&full, spot, WAD / 10 * 8, WAD / 10, &p);
        let b = scan_of(&hedged, spot, WAD / 10 * 8, WAD / 10, &p);
        let slack = 2 * spec.len() as i128 + 2;
        prop_assert!(b.loss <= a.loss + slack, "hedged {} > unhedged {}", b.loss, a.loss);
        // And scales: loss(x P) ~ x loss(P).
        let expected = a.loss / 100 * keep_pct;
        prop_assert!((b.loss - expected).abs() <= slack + a.loss / 1_000_000_000_000,
            "loss(xP) = {} vs x loss(P) = {}", b.loss, expected);
    }

    /// A fully offset book (P plus -P in the same series) has no risk.
    #[test]
    fn full_offset_has_zero_loss(spec in prop::collection::vec(position_strategy(), 1..6)) {
        let p = RiskParams::standard(1);
        let spot = 2000 * WAD;
        let mut book = build(&spec, spot);
        let neg: Vec<Position> = book.iter().map(|x| Position { size: -x.size, ..x.clone() }).collect();
        book.extend(neg);
        let r = scan_of(&book, spot, WAD / 2, WAD / 10, &p);
        prop_assert_eq!(r.loss, 0);
        prop_assert!(r.pnl.is_empty());
    }
}

// ---- f64 reference ----

fn ncdf(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is too coarse; use erfc via a continued series.
    0.5 * libm_erfc(-x / std::f64::consts::SQRT_2)
}

/// erfc with relative error < 1.2e-7 (Numerical Recipes erfcc): enough for a
/// 1e-6-relative check of scenario PnL.
fn libm_erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

fn bs(call: bool, f: f64, k: f64, vol: f64, t: f64) -> f64 {
    if t <= 0.0 {
        return if call {
            (f - k).max(0.0)
        } else {
            (k - f).max(0.0)
        };
    }
    let sd = vol * t.sqrt();
    let d1 = ((f / k).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    if call {
        f * ncdf(d1) - k * ncdf(d2)
    } else {
        k * ncdf(-d2) - f * ncdf(-d1)
    }
}

#[test]
fn scan_matches_f64_reference_for_a_straddle() {
    let p = RiskParams::standard(1);
    let spot = 2000.0;
    let (atm, range) = (0.8, 0.12);
    let days = 20.0;
    let book = vec![
        Position {
            underlying: 0,
            instrument: Instrument::Option {
                kind: OptionKind::Call,
                strike: 2000 * WAD,
                expiry: NOW + 20 * 86_400,
            },
            size: -3 * WAD,
            entry_price: 0,
        },
        Position {
            underlying: 0,
            instrument: Instrument::Option {
                kind: OptionKind::Put,
                strike: 2000 * WAD,
                expiry: NOW + 20 * 86_400,
            },
            size: -3 * WAD,
            entry_price: 0,
        },
    ];
    let r = scan_of(&book, 2000 * WAD, WAD / 10 * 8, WAD / 100 * 12, &p);
    let t = days * 86_400.0 / 31_536_000.0;
    let base = bs(true, spot, 2000.0, atm, t) + bs(false, spot, 2000.0, atm, t);
    let shape = (30.0 / days).powf(0.5);
    for (i, pnl) in r.pnl.iter().enumerate() {
        let sc = scenario_at(&p, WAD / 100 * 12, i).unwrap().unwrap();
        let s = spot * (1.0 + sc.spot_shock as f64 / 1e18);
        let vol = match sc.vol {
            VolShock::Down => atm * 0.8,
            VolShock::None => atm,
            VolShock::Up => atm * (1.0 + 0.3 * shape),
        };
        let tt = t - sc.roll_seconds as f64 / 31_536_000.0;
        let v = bs(true, s, 2000.0, vol, tt) + bs(false, s, 2000.0, vol, tt);
        let expected = -3.0 * (v - base) * sc.weight as f64 / 1e18;
        let got = *pnl as f64 / 1e18;
        assert!(
            (got - expected).abs() < 1e-5 * spot,
            "scenario {i}: {got} vs {expected}"
        );
    }
    let _ = range;
    // A short straddle loses most in the largest move with vol up.
    assert!(r.loss > 0);
    let worst = scenario_at(&p, WAD / 100 * 12, r.worst_index)
        .unwrap()
        .unwrap();
    assert_eq!(worst.kind, ScenarioKind::Grid);
    assert_eq!(worst.vol, VolShock::Up);
    assert_eq!(worst.spot_shock.abs(), WAD / 100 * 12);
}

#[test]
fn expired_option_scans_at_intrinsic() {
    let p = RiskParams::standard(1);
    let book = vec![Position {
        underlying: 0,
        instrument: Instrument::Option {
            kind: OptionKind::Call,
            strike: 1900 * WAD,
            expiry: NOW - 1,
        },
        size: WAD,
        entry_price: 0,
    }];
    let s = price_series(&book, 0, 2000 * WAD, &smile(WAD), NOW, &p).unwrap();
    assert_eq!(s[0].value, 100 * WAD);
    assert_eq!((s[0].delta, s[0].gamma, s[0].vega), (WAD, 0, 0));
    let r = scan(&s, 2000 * WAD, WAD / 10, &p).unwrap();
    // Down 10%: 1800 -> intrinsic 0: loss 100 (vol shocks irrelevant).
    assert_eq!(r.loss, 100 * WAD);
}

#[test]
fn vol_up_shape_follows_time_to_expiry() {
    let half = WAD / 2;
    assert_eq!(
        keel_risk::scenario::vol_up_shape(30 * 86_400, half).unwrap(),
        WAD
    );
    assert_eq!(
        keel_risk::scenario::vol_up_shape(5 * 86_400, 0).unwrap(),
        WAD
    );
    let short = keel_risk::scenario::vol_up_shape(3600, half).unwrap();
    // Below one day the shape is capped at (30)^0.5.
    assert!(
        (short as f64 / 1e18 - 30f64.sqrt()).abs() < 1e-12,
        "{short}"
    );
    let long = keel_risk::scenario::vol_up_shape(120 * 86_400, half).unwrap();
    assert!((long as f64 / 1e18 - 0.5).abs() < 1e-12, "{long}");
}

proptest! {
    #![proptest_config(cases(64))]

    /// Inside the documented input domain (strike/spot 0.2..5 now, expiry up to
    /// 2 years, any valid R and extreme moves) no scenario leaves Black-76's domain:
    /// the account check never fails, whatever the shocks do to moneyness.
    #[test]
    fn account_margin_never_errors_inside_the_domain(
        strikes in prop::collection::vec((20i128..=500, 0u64..=730 * 24, -1000i128..=1000, any::<bool>()), 1..6),
        range_pct in 0i128..=90,
        extreme in -50i128..=50,
        atm_pct in 1i128..=500,
        roll_hours in 0u64..=720,
    ) {
        let spot = 1000 * WAD;
        let mut params = RiskParams::standard(1);
        params.extreme_moves = vec![extreme * WAD / 10, -extreme * WAD / 10];
        params.time_roll_seconds = roll_hours * 3600;
        let atm = atm_pct * WAD / 100;
        let m = MarketData {
            now: NOW,
            underlyings: vec![UnderlyingMarket {
                spot,
                smile: Smile { atm_vol: atm, skew: -WAD, curvature: 2 * WAD, min_vol: WAD / 100, max_vol: 5 * WAD },
                scan_range: range_pct * WAD / 100,
                oracle_confidence: 0,
            }],
            history: vec![],
        };
        let positions = strikes
            .iter()
            .map(|&(ratio, hours, size, call)| Position {
                underlying: 0,
                instrument: Instrument::Option {
                    kind: if call { OptionKind::Call } else { OptionKind::Put },
                    strike: spot / 100 * ratio,
                    expiry: NOW + hours * 3600,
                },
                size: size * WAD / 100,
                entry_price: 0,
            })
            .collect();
        let p = Portfolio { collaterals: vec![], cash: 0, positions };
        let r = account_margin(&p, &m, &params);
        prop_assert!(r.is_ok(), "{:?}", r.err());
    }
}
