//! Worst-case error of `ln`, `exp`, `sqrt`, `norm_cdf`, `norm_pdf` against the 224-bit
//! big-integer reference (tests/math_reference.rs), over random and structured samples.
//! Run with `--nocapture` to see the measured maxima (quoted in the module docs).
#[path = "math_reference.rs"]
mod reference;

use keel_risk::{exp, ln, norm_cdf, norm_pdf, sqrt, Rounding, WAD};
use num_bigint::BigInt;
use reference as r;

/// Number of random samples per function (raise with KEEL_ACCURACY_SAMPLES).
fn samples() -> usize {
    std::env::var("KEEL_ACCURACY_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn ln_error_is_at_most_one_wei() {
    let mut rng = r::Rng(1);
    let mut xs: Vec<i128> = vec![1, 2, 3, WAD - 1, WAD, WAD + 1, i128::MAX, i128::MAX - 1];
    for k in 0..127 {
        xs.push(1i128 << k);
        xs.push((1i128 << k) + 1);
        // around sqrt(2) * 2^k, where the reduction switches
        xs.push(((1u128 << k) as f64 * std::f64::consts::SQRT_2) as i128);
    }
    for _ in 0..samples() {
        let bits = rng.range(1, 126) as u32;
        xs.push(rng.range(1i128 << (bits - 1), (1i128 << bits) - 1));
        xs.push(rng.range(WAD / 2, 2 * WAD));
    }
    let mut worst = 0f64;
    for &x in &xs {
        let got = ln(x).unwrap();
        let e = r::err_wei(got, &r::ln(&r::from_wad(x))).abs();
        // from_wad truncation of x costs < 2^-224 / x relative: negligible
        assert!(e <= 1.0, "ln({x}) = {got}, error {e} wei");
        worst = worst.max(e);
    }
    eprintln!("ln: max |error| = {worst:.3} wei over {} inputs", xs.len());
}

#[test]
fn exp_error_is_at_most_one_wei_plus_relative_3e19() {
    let mut rng = r::Rng(2);
    let mut xs: Vec<i128> = vec![0, 1, -1, WAD, -WAD, 46 * WAD, -42 * WAD, -43 * WAD];
    for _ in 0..samples() {
        xs.push(rng.range(-43 * WAD, 46_580_000_000_000_000_000));
        xs.push(rng.range(-2 * WAD, 2 * WAD));
    }
    let mut worst_abs = 0f64; // for x <= 1.6 (absolute error)
    let mut worst_rel = 0f64; // beyond: error relative to e^x
    for &x in &xs {
        let got = exp(x).unwrap();
        let reference = r::exp(&r::from_wad(x));
        let e = r::err_wei(got, &reference).abs();
        let val = r::to_f64(&reference) * 1e18;
        assert!(e <= 1.0 + 3e-19 * val, "exp({x}) = {got}, error {e} wei");
        if x <= 1_600_000_000_000_000_000 {
            worst_abs = worst_abs.max(e);
        } else {
            worst_rel = worst_rel.max(e / val);
        }
    }
    eprintln!(
        "exp: max |error| = {worst_abs:.3} wei for x <= 1.6; max relative = {worst_rel:.3e} above; {} inputs",
        xs.len()
    );
}

#[test]
fn exp_of_ln_round_trips_within_relative_bound() {
    let mut rng = r::Rng(3);
    for _ in 0..samples() {
        let x = rng.range(WAD / 1000, 1000 * WAD);
        let y = exp(ln(x).unwrap()).unwrap();
        // ln error <= 1 wei => relative 1e-18 after exp, plus exp's own error
        let tol = 2 + x / 200_000_000_000_000_000;
        assert!((y - x).abs() <= tol, "exp(ln({x})) = {y}");
    }
}

#[test]
fn sqrt_is_exact_in_both_directions() {
    let mut rng = r::Rng(4);
    let mut xs: Vec<i128> = vec![0, 1, 2, WAD, i128::MAX, i128::MAX - 1];
    for _ in 0..samples() {
        let bits = rng.range(1, 126) as u32;
        xs.push(rng.range(1i128 << (bits - 1), (1i128 << bits) - 1));
        let s = rng.range(0, 13_043_817_825); // s^2 * 1e18 ... perfect squares
        xs.push(s * s);
    }
    for &x in &xs {
        let n = BigInt::from(x) * BigInt::from(WAD);
        let down = BigInt::from(sqrt(x, Rounding::Down).unwrap());
        let up = BigInt::from(sqrt(x, Rounding::Up).unwrap());
        assert!(
            &down * &down <= n && (&down + 1) * (&down + 1) > n,
            "sqrt down {x}"
        );
        assert!(&up * &up >= n, "sqrt up {x}");
        assert!(
            up == BigInt::from(0) || (&up - 1) * (&up - 1) < n,
            "sqrt up {x}"
        );
    }
}

fn normal_inputs() -> Vec<i128> {
    let mut rng = r::Rng(5);
    let mut xs = vec![
        0,
        1,
        -1,
        9_562_500_000_000_000_000,
        -9_562_500_000_000_000_000,
    ];
    // grid points and the farthest points from them (h = +-1/16), both signs
    for i in 0..=77i128 {
        for off in [-62_500_000_000_000_000, -1, 0, 1, 62_499_999_999_999_999] {
            let x = i * 125_000_000_000_000_000 + off;
            xs.push(x);
            xs.push(-x);
        }
    }
    for _ in 0..samples() {
        xs.push(rng.range(-10 * WAD, 10 * WAD));
        xs.push(rng.range(-3 * WAD, 3 * WAD));
    }
    xs
}

#[test]
fn norm_cdf_error_is_at_most_one_wei() {
    let xs = normal_inputs();
    let mut worst = 0f64;
    for &x in &xs {
        let got = norm_cdf(x).unwrap();
        assert!((0..=WAD).contains(&got));
        let e = r::err_wei(got, &r::cdf(&r::from_wad(x))).abs();
        assert!(e <= 1.0, "norm_cdf({x}) = {got}, error {e} wei");
        worst = worst.max(e);
    }
    eprintln!(
        "norm_cdf: max |error| = {worst:.3} wei over {} inputs",
        xs.len()
    );
}

#[test]
fn norm_pdf_error_is_at_most_one_wei() {
    let xs = normal_inputs();
    let mut worst = 0f64;
    for &x in &xs {
        let got = norm_pdf(x).unwrap();
        let e = r::err_wei(got, &r::pdf(&r::from_wad(x))).abs();
        assert!(e <= 1.0, "norm_pdf({x}) = {got}, error {e} wei");
        worst = worst.max(e);
    }
    eprintln!(
        "norm_pdf: max |error| = {worst:.3} wei over {} inputs",
        xs.len()
    );
}

#[test]
fn norm_cdf_is_monotone_on_a_fine_grid() {
    let mut prev = 0;
    let mut x = -10 * WAD;
    while x <= 10 * WAD {
        let v = norm_cdf(x).unwrap();
        assert!(v >= prev, "norm_cdf not monotone at {x}");
        prev = v;
        x += 1_000_000_000_000_000; // 0.001
    }
}
