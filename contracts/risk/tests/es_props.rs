//! Properties of historical-simulation ES: ES >= VaR, monotone in confidence,
//! equal to an f64 reference, and IM = max(scan, ES) in the margin pipeline.

use keel_risk::*;
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("KEEL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(n)
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn es_is_at_least_var_and_monotone(
        losses in prop::collection::vec(-1_000_000i128..1_000_000, 1..300),
        c1 in 500i128..990,
        dc in 0i128..9,
    ) {
        let losses: Vec<Wad> = losses.iter().map(|l| l * WAD / 1000).collect();
        let lo = es_from_losses(&losses, c1 * WAD / 1000).unwrap();
        let hi = es_from_losses(&losses, (c1 + dc) * WAD / 1000).unwrap();
        prop_assert!(lo.es >= lo.var);
        prop_assert!(hi.es >= lo.es);
        prop_assert!(hi.var >= lo.var);
        // f64 reference: mean of the worst ceil(N (1 - c)) losses, floored at 0.
        let mut sorted: Vec<f64> = losses.iter().map(|l| *l as f64).collect();
        sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
        // Exact integer ceil(N (1000 - c) / 1000) (f64 would misround e.g. 0.6 x 100).
        let tail = (losses.len() * (1000 - c1 as usize)).div_ceil(1000).max(1);
        prop_assert_eq!(lo.tail as usize, tail);
        let mean = sorted[..tail].iter().sum::<f64>() / tail as f64;
        prop_assert!((lo.es as f64 - mean.max(0.0)).abs() <= 1e-9 * mean.abs() + 1.0);
    }
}

#[test]
fn historical_losses_of_a_perp_are_linear() {
    let p = RiskParams::standard(2);
    let smile = Smile {
        atm_vol: WAD,
        skew: 0,
        curvature: 0,
        min_vol: WAD / 10,
        max_vol: 2 * WAD,
    };
    let pos = vec![
        Position {
            underlying: 0,
            instrument: Instrument::Perp,
            size: 2 * WAD,
            entry_price: WAD,
        },
        Position {
            underlying: 1,
            instrument: Instrument::Perp,
            size: -WAD,
            entry_price: WAD,
        },
    ];
    let s0 = price_series(&pos, 0, 100 * WAD, &smile, 0, &p).unwrap();
    let s1 = price_series(&pos, 1, 50 * WAD, &smile, 0, &p).unwrap();
    let hist = vec![-WAD / 10, -WAD / 10, WAD / 5, 0];
    let l = historical_losses(&[s0, s1], &[100 * WAD, 50 * WAD], &hist).unwrap();
    // Epoch 0: 2 x -10 + (-1) x -5 = -15 pnl -> loss 15. Epoch 1: pnl +40 -> loss -40.
    assert_eq!(l, vec![15 * WAD, -40 * WAD]);
}
