//! Properties of aggregation and of the whole account margin: bounded credit,
//! agreement with f64, IM >= MM >= 0, and rounding in the protocol's favour.

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

/// A random valid correlation matrix: symmetric, unit diagonal, entries in [-1, 1].
fn corr_strategy(n: usize) -> impl Strategy<Value = Vec<Wad>> {
    prop::collection::vec(-100i128..=100, n * (n - 1) / 2).prop_map(move |upper| {
        let mut c = vec![0; n * n];
        let mut it = upper.into_iter();
        for i in 0..n {
            c[i * n + i] = WAD;
            for j in i + 1..n {
                let v = it.next().unwrap() * WAD / 100;
                c[i * n + j] = v;
                c[j * n + i] = v;
            }
        }
        c
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn aggregate_credit_is_bounded_and_matches_f64(
        (n, charges, dirs, c) in (1usize..6).prop_flat_map(|n| (
            Just(n),
            prop::collection::vec(0i128..1_000_000_000, n),
            prop::collection::vec(-1i8..=1, n),
            corr_strategy(n),
        )),
        credit_pct in 0i128..=90,
    ) {
        let charges: Vec<Wad> = charges.iter().map(|x| x * WAD / 1000).collect();
        let max_credit = credit_pct * WAD / 100;
        let a = aggregate(&charges, &dirs, &c, max_credit).unwrap();
        let u: Wad = charges.iter().sum();
        prop_assert_eq!(a.undiversified, u);
        prop_assert!(a.charge <= u);
        // Credit never above the configured share.
        prop_assert!(u - a.charge <= u / 100 * credit_pct + 1);
        // f64 reference of the correlated part.
        let mut q = 0.0f64;
        let mut flat = 0.0f64;
        for i in 0..n {
            if dirs[i] == 0 { flat += charges[i] as f64; continue; }
            for j in 0..n {
                if dirs[j] == 0 { continue; }
                q += dirs[i] as f64 * dirs[j] as f64 * (c[i * n + j] as f64 / 1e18)
                    * charges[i] as f64 * charges[j] as f64;
            }
        }
        let expected = q.max(0.0).sqrt() + flat;
        let floor = u as f64 * (1.0 - credit_pct as f64 / 100.0);
        let expected = expected.max(floor).min(u as f64);
        prop_assert!((a.charge as f64 - expected).abs() <= 1e-9 * u as f64 + 1e3,
            "{} vs {}", a.charge, expected);
        // Rounds up relative to the exact value (within f64 noise).
        prop_assert!(a.charge as f64 >= expected - 1e-12 * u as f64 - 1e3);
    }
}

fn smile() -> Smile {
    Smile {
        atm_vol: WAD / 10 * 7,
        skew: -WAD / 10,
        curvature: WAD / 5,
        min_vol: WAD / 5,
        max_vol: 3 * WAD,
    }
}

fn market(spots: &[i128]) -> MarketData {
    MarketData {
        now: NOW,
        underlyings: spots
            .iter()
            .map(|s| UnderlyingMarket {
                spot: s * WAD,
                smile: smile(),
                scan_range: WAD / 10,
                oracle_confidence: WAD / 1000,
            })
            .collect(),
        history: Vec::new(),
    }
}

/// (underlying 0..2, kind 0 perp/1 call/2 put, strike %, days, size in 0.01)
fn pos_strategy() -> impl Strategy<Value = (u32, u8, i128, u64, i128)> {
    (0u32..2, 0u8..3, 70i128..=140, 1u64..=120, -1000i128..=1000)
}

fn build(spec: &[(u32, u8, i128, u64, i128)], m: &MarketData) -> Vec<Position> {
    spec.iter()
        .map(|&(u, k, ratio, days, size)| {
            let spot = m.underlyings[u as usize].spot;
            Position {
                underlying: u,
                instrument: match k {
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
                },
                size: size * WAD / 100,
                entry_price: spot / 100 * ratio,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn account_margin_invariants(
        spec in prop::collection::vec(pos_strategy(), 0..8),
        usdc in 0i128..1_000_000,
        haircut_pct in 0i128..50,
        reduced in any::<bool>(),
    ) {
        let m = market(&[2000, 60000]);
        let mut params = RiskParams::standard(2);
        params.correlation = vec![WAD, WAD / 10 * 8, WAD / 10 * 8, WAD];
        if reduced { params.mm_mode = MaintenanceMode::ReducedGrid; }
        let p = Portfolio {
            collaterals: vec![Collateral {
                amount: usdc * WAD,
                price: WAD,
                im_haircut: haircut_pct * WAD / 100,
                mm_haircut: haircut_pct * WAD / 200,
            }],
            cash: 0,
            positions: build(&spec, &m),
        };
        let r = account_margin(&p, &m, &params).unwrap();
        prop_assert!(r.im >= r.mm && r.mm >= 0);
        prop_assert!(r.equity_im <= r.equity_mm);
        prop_assert_eq!(r.health, r.equity_mm - r.mm);
        prop_assert_eq!(r.free_collateral, r.equity_im - r.im);
        prop_assert_eq!(r.im, r.scan_aggregated.max(r.es) + r.oracle_addon);
        prop_assert!(r.scan_aggregated <= r.scan_undiversified);
        prop_assert!(r.scan_undiversified - r.scan_aggregated <= r.scan_undiversified / 2 + 1);
        let sum: Wad = r.underlyings.iter().map(|u| u.charge).sum();
        prop_assert_eq!(sum, r.scan_undiversified);
        for u in &r.underlyings {
            prop_assert!(u.charge >= u.scan_loss && u.charge >= u.short_option_min);
        }
        // Deterministic: same inputs, same report.
        prop_assert_eq!(account_margin(&p, &m, &params).unwrap(), r);
    }

    /// Perp-only books have an exact answer: rounding must never favour the account.
    #[test]
    fn perp_margin_rounds_in_protocol_favour(
        size in -1_000_000_000_000_000_000_000i128..1_000_000_000_000_000_000_000,
        spot in 1i128..10_000_000_000_000_000_000_000,
        range_bp in 1i128..9000,
        amount in 0i128..1_000_000_000_000_000_000_000,
        price in 1i128..1_000_000_000_000_000_000_000,
        haircut in 0i128..1_000_000_000_000_000_000,
    ) {
        let mut m = market(&[1]);
        m.underlyings[0].spot = spot;
        m.underlyings[0].scan_range = range_bp * WAD / 10_000;
        m.underlyings[0].oracle_confidence = 0;
        let mut params = RiskParams::standard(1);
        params.extreme_moves.clear();
        let p = Portfolio {
            collaterals: vec![Collateral { amount, price, im_haircut: haircut, mm_haircut: 0 }],
            cash: 0,
            positions: vec![Position { underlying: 0, instrument: Instrument::Perp, size, entry_price: spot }],
        };
        let r = account_margin(&p, &m, &params).unwrap();
        // IM >= |size| x spot x R (exact), collateral <= amount x price x (1 - h) (raw WAD units).
        let exact_im = (size.unsigned_abs() as f64) * (spot as f64) * (range_bp as f64 / 10_000.0) / 1e18;
        prop_assert!(r.im as f64 >= exact_im * (1.0 - 1e-12) - 1.0);
        let exact_cv = (amount as f64) * (price as f64) / 1e18 * (1.0 - haircut as f64 / 1e18);
        prop_assert!(r.collateral_value_im as f64 <= exact_cv * (1.0 + 1e-12) + 1.0);
        // Integer check of the rounding direction itself: IM x 1e36 >= |size| x spot x R.
        let lhs = mul_div(r.im, WAD, range_bp * WAD / 10_000, Rounding::Down).unwrap_or(i128::MAX);
        let rhs = wmul(size.abs(), spot, Rounding::Down).unwrap();
        prop_assert!(lhs >= rhs, "IM {} x 1/R = {} < notional {}", r.im, lhs, rhs);
    }
}
