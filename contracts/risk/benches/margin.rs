//! One account check (`account_margin`) as the book grows:
//! - `positions/N`: N positions, each its own option series (1 underlying, k = 5);
//! - `series/S`: 64 positions netted into S distinct series (k = 5);
//! - `grid_k/K`: 16 option series, spot grid half-width K (2K+1 points x 3 vols).
//!
//! Run: `cargo bench -p keel-risk --bench margin` (native; the WASM cost scales the same way).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use keel_risk::*;
use std::hint::black_box;
use std::time::Duration;

const NOW: u64 = 1_767_225_600;

fn market() -> MarketData {
    MarketData {
        now: NOW,
        underlyings: vec![UnderlyingMarket {
            spot: 2000 * WAD,
            smile: Smile {
                atm_vol: WAD / 10 * 8,
                skew: -WAD / 10,
                curvature: WAD / 5,
                min_vol: WAD / 5,
                max_vol: 3 * WAD,
            },
            scan_range: WAD / 10,
            oracle_confidence: 0,
        }],
        history: Vec::new(),
    }
}

/// `n` option positions spread over `series` distinct (strike, expiry, kind) series.
fn book(n: usize, series: usize) -> Portfolio {
    let positions = (0..n)
        .map(|i| {
            let s = i % series;
            Position {
                underlying: 0,
                instrument: Instrument::Option {
                    kind: if s.is_multiple_of(2) {
                        OptionKind::Call
                    } else {
                        OptionKind::Put
                    },
                    strike: (1500 + 25 * (s as i128 % 40)) * WAD,
                    expiry: NOW + (7 + 7 * (s as u64 / 40)) * 86_400,
                },
                size: if i.is_multiple_of(3) { -WAD } else { WAD / 2 },
                entry_price: 0,
            }
        })
        .collect();
    Portfolio {
        collaterals: vec![Collateral {
            amount: 100_000 * WAD,
            price: WAD,
            im_haircut: 0,
            mm_haircut: 0,
        }],
        cash: 0,
        positions,
    }
}

fn bench(c: &mut Criterion) {
    let m = market();
    let params = RiskParams::standard(1);
    let mut g = c.benchmark_group("positions");
    for n in [1usize, 4, 16, 64] {
        let p = book(n, n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &p, |b, p| {
            b.iter(|| account_margin(black_box(p), &m, &params).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("series");
    for s in [1usize, 4, 16, 64] {
        let p = book(64, s);
        g.bench_with_input(BenchmarkId::from_parameter(s), &p, |b, p| {
            b.iter(|| account_margin(black_box(p), &m, &params).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("grid_k");
    let p = book(16, 16);
    for k in [3u32, 5, 7, 10] {
        let mut params = RiskParams::standard(1);
        params.grid_k = k;
        g.bench_with_input(BenchmarkId::from_parameter(k), &params, |b, params| {
            b.iter(|| account_margin(black_box(&p), &m, params).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
