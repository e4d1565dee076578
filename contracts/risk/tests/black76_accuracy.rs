//! Black-76 price and greeks against the 224-bit big-integer reference over the whole
//! domain (vol 1%..500%, t 1 minute..2 years, K/F 0.2..5, forwards from 1e-6 to 1e12).
//! Run with `--nocapture` for the measured maxima quoted in src/black76.rs.
#[path = "math_reference.rs"]
mod reference;

use keel_risk::black76::{T_MAX, T_MIN, VOL_MAX, VOL_MIN};
use keel_risk::{black76, black76_price, OptionKind, WAD};
use reference as r;

fn samples() -> usize {
    std::env::var("KEEL_ACCURACY_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500)
}

/// (forward, strike, vol, t) samples: random log-uniform plus the domain corners.
fn inputs() -> Vec<(i128, i128, i128, i128)> {
    let mut rng = r::Rng(11);
    let mut v = Vec::new();
    for f in [WAD, 2000 * WAD, 37 * WAD / 10] {
        for k in [f / 5, f / 2, f - 1, f, f + 1, 2 * f, 5 * f] {
            for vol in [VOL_MIN, WAD / 2, VOL_MAX] {
                for t in [T_MIN, WAD / 12, T_MAX] {
                    v.push((f, k, vol, t));
                }
            }
        }
    }
    for _ in 0..samples() {
        let f = rng.log_uniform(1e-6, 1e12);
        let k = (f as f64 * rng.log_uniform(0.2, 5.0) as f64 / 1e18) as i128;
        let k = k.clamp(f / 5 + 1, f * 5);
        let vol = rng.log_uniform(0.01, 5.0);
        let t = rng.log_uniform(T_MIN as f64 / 1e18 * 1.0000001, 2.0);
        v.push((f, k, vol.clamp(VOL_MIN, VOL_MAX), t.clamp(T_MIN, T_MAX)));
    }
    v
}

fn v_f64(vol: i128, t: i128) -> f64 {
    vol as f64 / 1e18 * (t as f64 / 1e18).sqrt()
}

#[test]
fn price_error_is_below_bound_over_the_domain() {
    let mut worst_rel = 0f64; // |error| / F
    let mut worst_rel_big = 0f64; // |error| / F for F >= 1
    let mut worst_excess = 0f64; // |error| - 4e-18 (F + K), in wei
    let mut worst_delta = 0f64; // absolute, in units of 1
    let mut worst_gamma = 0f64; // relative
    let mut worst_vega = 0f64; // relative
    let cases = inputs();
    for &(f, k, vol, t) in &cases {
        for (kind, call) in [(OptionKind::Call, true), (OptionKind::Put, false)] {
            let g = black76(kind, f, k, vol, t).unwrap();
            assert_eq!(g.price, black76_price(kind, f, k, vol, t).unwrap());
            let [p, d, ga, ve] = r::black76(call, f, k, vol, t);
            let e = r::err_wei(g.price, &p).abs();
            let bound = 2.0 + 4e-18 * (f + k) as f64;
            assert!(
                e <= bound,
                "{kind:?} F={f} K={k} vol={vol} t={t}: {} err {e}",
                g.price
            );
            worst_rel = worst_rel.max(e / f as f64);
            worst_excess = worst_excess.max(e - 4e-18 * (f + k) as f64);
            let ed = r::err_wei(g.delta, &d).abs() / 1e18;
            worst_delta = worst_delta.max(ed);
            let gref = r::to_f64(&ga) * 1e18;
            let eg = r::err_wei(g.gamma, &ga).abs();
            let vref = r::to_f64(&ve) * 1e18;
            let ev = r::err_wei(g.vega, &ve).abs();
            // Relative greek errors where phi(d1) is not negligible (|d1| <= 5, and
            // values well above the 1-wei floor); elsewhere the absolute bounds below rule.
            let d1 = (f as f64 / k as f64).ln() / v_f64(vol, t) + v_f64(vol, t) / 2.0;
            if d1.abs() <= 5.0 && gref > 1e6 && vref > 1e6 {
                worst_gamma = worst_gamma.max(eg / gref);
                worst_vega = worst_vega.max(ev / vref);
            }
            if f >= WAD {
                worst_rel_big = worst_rel_big.max(e / f as f64);
            }
            // Q64 absolute errors: ~3e-19 in ln(F/K) (moves d1 by that / v) and in phi(d1).
            let fh = f as f64 / 1e18;
            let v = vol as f64 / 1e18 * (t as f64 / 1e18).sqrt();
            assert!(
                ed <= 1e-18 + 4e-19 / v,
                "delta F={f} K={k} vol={vol} t={t}: err {ed}"
            );
            let gtol = 2.0 + 1e-15 * gref + 0.4 / (fh * v);
            assert!(eg <= gtol, "gamma F={f} K={k} vol={vol} t={t}: err {eg}");
            let vtol = 2.0 + 1e-15 * vref + 0.4 * fh * v / (vol as f64 / 1e18);
            assert!(ev <= vtol, "vega F={f} K={k} vol={vol} t={t}: err {ev}");
        }
    }
    eprintln!(
        "black76 over {} inputs x 2 kinds: max |price err|/F = {worst_rel:.3e} (F >= 1: {worst_rel_big:.3e}), \
         max(|err| - 4e-18(F+K)) = {worst_excess:.3} wei, max |delta err| = {worst_delta:.3e}, \
         max gamma rel err = {worst_gamma:.3e}, max vega rel err = {worst_vega:.3e}",
        cases.len()
    );
}
