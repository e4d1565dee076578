//! Criterion benchmarks: Black-76 price-only vs with greeks, and the math kernels.
//! `cargo bench -p keel-risk --bench black76` (native; WASM cost is proportional to the
//! same operation counts: i128 multiplies and 256/128 divisions, no floats).
use criterion::{criterion_group, criterion_main, Criterion};
use keel_risk::{black76, black76_price, exp, ln, norm_cdf, sqrt, OptionKind, Rounding, WAD};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let f = 2000 * WAD;
    let k = 2100 * WAD;
    let vol = 8 * WAD / 10;
    let t = WAD / 4;
    c.bench_function("black76_price", |b| {
        b.iter(|| {
            black76_price(
                OptionKind::Call,
                black_box(f),
                black_box(k),
                black_box(vol),
                black_box(t),
            )
        })
    });
    c.bench_function("black76_greeks", |b| {
        b.iter(|| {
            black76(
                OptionKind::Call,
                black_box(f),
                black_box(k),
                black_box(vol),
                black_box(t),
            )
        })
    });
    // A strip of 21 strikes x 3 expiries: the per-scenario valuation shape of a margin check.
    c.bench_function("black76_price_strip_63", |b| {
        b.iter(|| {
            let mut s = 0i128;
            for i in 0..21 {
                let k = f / 2 + i * f / 20;
                for t in [WAD / 52, WAD / 4, WAD] {
                    s += black76_price(OptionKind::Put, black_box(f), k, vol, t).unwrap();
                }
            }
            s
        })
    });
    c.bench_function("ln", |b| {
        b.iter(|| ln(black_box(1_234_567_890_123_456_789)))
    });
    c.bench_function("exp", |b| {
        b.iter(|| exp(black_box(-1_234_567_890_123_456_789)))
    });
    c.bench_function("norm_cdf", |b| {
        b.iter(|| norm_cdf(black_box(-1_234_567_890_123_456_789)))
    });
    c.bench_function("sqrt", |b| {
        b.iter(|| sqrt(black_box(1_234_567_890_123_456_789), Rounding::Down))
    });
}

criterion_group! {
    name = group;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(group);
