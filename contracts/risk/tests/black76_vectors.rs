//! Known-value table vectors/black76.json (also read by the Foundry tests).
//!
//! Each vector holds the inputs (human decimal strings and WAD integer strings), the
//! exact outputs of this crate (WAD integer strings: price, delta, gamma, vega), the
//! 224-bit reference values rounded to the nearest wei (ref_*) and the tolerances in wei
//! that the code-vs-reference differences are guaranteed to stay within.
//! Regenerate (only after an intended change of the numerics) with:
//! `cargo test -p keel-risk --test black76_vectors -- --ignored write_vectors`
#[path = "math_reference.rs"]
mod reference;

use keel_risk::{black76, years_from_seconds, OptionKind, WAD};
use num_bigint::BigInt;
use reference as r;
use serde_json::{json, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/black76.json");

/// WAD integer -> human decimal string ("2000", "0.25", "-1.5").
fn human(x: i128) -> String {
    let neg = x < 0;
    let u = x.unsigned_abs();
    let (i, f) = (u / WAD as u128, u % WAD as u128);
    let mut s = format!("{}{}", if neg { "-" } else { "" }, i);
    if f != 0 {
        let frac = format!("{f:018}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s
}

/// Reference value rounded to the nearest wei.
fn ref_wei(x: &BigInt) -> i128 {
    let scaled = x * BigInt::from(WAD) + (r::one() >> 1);
    let v: BigInt = scaled >> r::PREC;
    i128::try_from(v).unwrap()
}

/// Tolerances (wei) of price, delta, gamma, vega: the bounds enforced by
/// tests/black76_accuracy.rs, plus 1 wei for rounding the reference itself.
fn tolerances(f: i128, k: i128, vol: i128, t: i128, gamma: i128, vega: i128) -> [i128; 4] {
    let fh = f as f64 / 1e18;
    let v = vol as f64 / 1e18 * (t as f64 / 1e18).sqrt();
    let price = 3.0 + 4e-18 * (f + k) as f64;
    let delta = 1.0 + 1e18 * (1e-18 + 4e-19 / v);
    let gamma = 3.0 + 1e-15 * gamma as f64 + 0.4 / (fh * v);
    let vega = 3.0 + 1e-15 * vega as f64 + 0.4 * fh * (t as f64 / 1e18).sqrt();
    [price, delta, gamma, vega].map(|x| x.ceil() as i128)
}

/// (kind, forward, strike, vol, expiry_seconds, note)
fn cases() -> Vec<(OptionKind, i128, i128, i128, u64, &'static str)> {
    use OptionKind::{Call, Put};
    let w = |s: &str| -> i128 {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        i.parse::<i128>().unwrap() * WAD + format!("{f:0<18}").parse::<i128>().unwrap()
    };
    let year = 31_536_000u64;
    let day = 86_400u64;
    let mut v = vec![
        // Hull (Options, Futures and Other Derivatives), futures option example: F = K = 20,
        // vol 25%, 4 months. Textbook discounts at r = 9% (1.12); here r = 0: 1.12 * e^{0.03}.
        (
            Put,
            w("20"),
            w("20"),
            w("0.25"),
            year / 3,
            "Hull futures put F=K=20 vol 25% 4m, undiscounted",
        ),
        (
            Call,
            w("20"),
            w("20"),
            w("0.25"),
            year / 3,
            "Hull futures call (= put at the money)",
        ),
        // Haug (Complete Guide to Option Pricing Formulas) Black-76: F = K = 19, vol 28%,
        // 9 months; textbook 1.7011 at r = 10%, undiscounted here (x e^{0.075}).
        (
            Call,
            w("19"),
            w("19"),
            w("0.28"),
            year * 3 / 4,
            "Haug Black-76 F=K=19 vol 28% 0.75y, undiscounted",
        ),
        (
            Put,
            w("19"),
            w("19"),
            w("0.28"),
            year * 3 / 4,
            "Haug Black-76 put",
        ),
        // The CLI's documented example line.
        (
            Call,
            w("2000"),
            w("2100"),
            w("0.8"),
            7_776_000,
            "CLI example: ETH-like call, 90 days",
        ),
        (
            Put,
            w("2000"),
            w("2100"),
            w("0.8"),
            7_776_000,
            "CLI example put",
        ),
        // Domain corners.
        (
            Call,
            w("2000"),
            w("2000"),
            w("0.01"),
            60,
            "min vol, min time, at the money",
        ),
        (
            Put,
            w("2000"),
            w("400"),
            w("5"),
            2 * year,
            "max vol, max time, K/F = 0.2",
        ),
        (
            Call,
            w("2000"),
            w("10000"),
            w("5"),
            2 * year,
            "max vol, max time, K/F = 5",
        ),
        (
            Call,
            w("2000"),
            w("400"),
            w("0.01"),
            60,
            "deep ITM call, tiny vol: intrinsic",
        ),
        (Put, w("1"), w("1.5"), w("0.3"), 30 * day, "unit forward"),
        (
            Call,
            w("0.000001"),
            w("0.0000011"),
            w("0.9"),
            7 * day,
            "micro forward",
        ),
        (
            Call,
            w("1000000000"),
            w("1200000000"),
            w("0.6"),
            year,
            "large forward",
        ),
        // Expired: intrinsic value.
        (
            Call,
            w("2000"),
            w("1900"),
            w("0.8"),
            0,
            "expired ITM call: intrinsic",
        ),
        (Put, w("2000"), w("1900"), w("0.8"), 0, "expired OTM put: 0"),
    ];
    for (k, note) in [
        ("1000", "grid"),
        ("1800", "grid"),
        ("2000", "grid"),
        ("2500", "grid"),
    ] {
        for vol in ["0.2", "0.8", "1.5"] {
            for secs in [day, 30 * day, year] {
                for kind in [Call, Put] {
                    v.push((kind, w("2000"), w(k), w(vol), secs, note));
                }
            }
        }
    }
    v
}

fn kind_name(k: OptionKind) -> &'static str {
    match k {
        OptionKind::Call => "call",
        OptionKind::Put => "put",
    }
}

fn build() -> Value {
    let mut out = Vec::new();
    for (kind, f, k, vol, secs, note) in cases() {
        let t = years_from_seconds(secs);
        let g = black76(kind, f, k, vol, t).unwrap();
        let (rp, rd, rg, rv) = if t > 0 {
            let [p, d, ga, ve] = r::black76(kind == OptionKind::Call, f, k, vol, t);
            (ref_wei(&p), ref_wei(&d), ref_wei(&ga), ref_wei(&ve))
        } else {
            (g.price, g.delta, 0, 0)
        };
        let tol = if t > 0 {
            tolerances(f, k, vol, t, g.gamma, g.vega)
        } else {
            [0; 4]
        };
        out.push(json!({
            "kind": kind_name(kind),
            "note": note,
            "forward": human(f), "strike": human(k), "vol": human(vol),
            "expiry_seconds": secs, "t_years": human(t),
            "forward_wad": f.to_string(), "strike_wad": k.to_string(),
            "vol_wad": vol.to_string(), "t_wad": t.to_string(),
            "price": g.price.to_string(), "delta": g.delta.to_string(),
            "gamma": g.gamma.to_string(), "vega": g.vega.to_string(),
            "ref_price": rp.to_string(), "ref_delta": rd.to_string(),
            "ref_gamma": rg.to_string(), "ref_vega": rv.to_string(),
            "tol_price": tol[0].to_string(), "tol_delta": tol[1].to_string(),
            "tol_gamma": tol[2].to_string(), "tol_vega": tol[3].to_string(),
        }));
    }
    json!({
        "description": "Black-76, rate 0 (undiscounted), WAD (18-decimal) integer strings. \
            price/delta/gamma/vega: exact output of keel-risk; ref_*: 224-bit reference rounded \
            to the nearest wei; tol_*: guaranteed |output - ref_*| bound in wei. \
            t_wad = floor(expiry_seconds * 1e18 / 31536000). vega per 1.00 vol, gamma per unit of forward.",
        "vectors": out
    })
}

#[test]
#[ignore = "regenerates vectors/black76.json"]
fn write_vectors() {
    let s = serde_json::to_string_pretty(&build()).unwrap();
    std::fs::write(PATH, s + "\n").unwrap();
}

fn field(v: &Value, k: &str) -> i128 {
    v[k].as_str()
        .unwrap_or_else(|| panic!("missing {k}"))
        .parse()
        .unwrap()
}

#[test]
fn vectors_match_the_code_exactly_and_the_reference_within_tolerance() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let vs = doc["vectors"].as_array().unwrap();
    assert!(vs.len() >= 80, "{} vectors", vs.len());
    for v in vs {
        let kind = match v["kind"].as_str().unwrap() {
            "call" => OptionKind::Call,
            "put" => OptionKind::Put,
            other => panic!("kind {other}"),
        };
        let (f, k, vol, t) = (
            field(v, "forward_wad"),
            field(v, "strike_wad"),
            field(v, "vol_wad"),
            field(v, "t_wad"),
        );
        assert_eq!(t, years_from_seconds(v["expiry_seconds"].as_u64().unwrap()));
        let g = black76(kind, f, k, vol, t).unwrap();
        let got = [g.price, g.delta, g.gamma, g.vega];
        for (i, name) in ["price", "delta", "gamma", "vega"].iter().enumerate() {
            assert_eq!(got[i], field(v, name), "{name} of {v}");
            let diff = (got[i] - field(v, &format!("ref_{name}"))).abs();
            assert!(
                diff <= field(v, &format!("tol_{name}")),
                "{name} vs reference: {diff} in {v}"
            );
        }
    }
}

#[test]
fn textbook_values_match_after_undiscounting() {
    // Hull: 1.12 at r = 9%, T = 1/3 => undiscounted 1.12 e^{0.03} = 1.154 (2 decimals in the book).
    let g = black76(
        OptionKind::Put,
        20 * WAD,
        20 * WAD,
        WAD / 4,
        years_from_seconds(10_512_000),
    )
    .unwrap();
    let disc = g.price as f64 / 1e18 * (-0.09f64 / 3.0).exp();
    assert!((disc - 1.12).abs() < 0.005, "{disc}");
    // Haug: 1.7011 at r = 10%, T = 0.75.
    let g = black76(
        OptionKind::Call,
        19 * WAD,
        19 * WAD,
        28 * WAD / 100,
        3 * WAD / 4,
    )
    .unwrap();
    let disc = g.price as f64 / 1e18 * (-0.075f64).exp();
    assert!((disc - 1.7011).abs() < 0.00005, "{disc}");
}
