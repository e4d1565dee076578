//! End-to-end tests of the `keel` binary (`keel risk price`, `keel risk margin`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use keel_risk::{black76, years_from_seconds, OptionKind, WAD};

fn keel(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keel");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/margin.json"
    ))
    .unwrap()
}

fn wad(s: &str) -> i128 {
    let (i, f) = s.split_once('.').unwrap();
    assert_eq!(f.len(), 18, "{s}");
    let neg = i.starts_with('-');
    let v = i.trim_start_matches('-').parse::<i128>().unwrap() * WAD + f.parse::<i128>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

#[test]
fn price_outputs_exact_library_values() {
    let out = keel(
        &["risk", "price"],
        "{\"kind\":\"call\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":7776000}\n",
    );
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("{\"price\":\""), "{line}");
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let g = black76(
        OptionKind::Call,
        2000 * WAD,
        2100 * WAD,
        WAD / 10 * 8,
        years_from_seconds(7_776_000),
    )
    .unwrap();
    assert_eq!(wad(v["price"].as_str().unwrap()), g.price);
    assert_eq!(wad(v["delta"].as_str().unwrap()), g.delta);
    assert_eq!(wad(v["gamma"].as_str().unwrap()), g.gamma);
    assert_eq!(wad(v["vega"].as_str().unwrap()), g.vega);
    // Sanity against the closed form: ~275.16.
    assert!((g.price - 275_159_574_206_309_111_858).abs() < WAD / 1_000_000);
}

#[test]
fn price_reports_bad_lines_and_continues() {
    let input = concat!(
        "{\"kind\":\"call\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":7776000}\n",
        "{\"kind\":\"straddle\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":1}\n",
        "{\"kind\":\"put\",\"spot\":2000.5,\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":7776000}\n",
        "{\"kind\":\"put\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8.1\",\"expiry_seconds\":7776000}\n",
        "\n",
        "garbage\n",
        "{\"kind\":\"put\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":0}\n",
    );
    let out = keel(&["risk", "price"], input);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        6,
        "blank lines are skipped, every other line answered"
    );
    assert!(lines[0]["price"].is_string());
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("\"call\" or \"put\""));
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("decimal string"));
    assert!(lines[3]["error"]
        .as_str()
        .unwrap()
        .contains("not a decimal number"));
    assert!(lines[4]["error"].as_str().unwrap().contains("line 6"));
    // Expired put: intrinsic 100.
    assert_eq!(lines[5]["price"], "100.000000000000000000");
}

#[test]
fn margin_text_report_on_example() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/margin.json");
    let out = keel(&["risk", "margin", path], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "initial margin (IM)",
        "maintenance margin (MM)",
        "health (equity_mm - MM)",
        "Underlying ETH",
        "worst scenario",
        "vega (per 1.00 vol)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn margin_json_matches_library() {
    let out = keel(&["risk", "margin", "-", "--json"], &example());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let im = wad(v["im"].as_str().unwrap());
    let mm = wad(v["mm"].as_str().unwrap());
    let health = wad(v["health"].as_str().unwrap());
    let equity_mm = wad(v["equity_mm"].as_str().unwrap());
    assert!(im > 0 && mm <= im);
    assert_eq!(health, equity_mm - mm);
    assert_eq!(v["liquidatable"], false);
    let u = &v["underlyings"][0];
    assert_eq!(u["name"], "ETH");
    let pnl = u["pnl"].as_array().unwrap();
    let worst = u["worst_index"].as_u64().unwrap() as usize;
    assert_eq!(
        wad(pnl[worst].as_str().unwrap()),
        -wad(u["scan_loss"].as_str().unwrap())
    );
    assert!(u["worst_scenario"]["description"].is_string());
}

#[test]
fn margin_errors_name_the_problem() {
    let bad = example().replace("\"strike\": \"2200\"", "\"strike\": \"22OO\"");
    let out = keel(&["risk", "margin", "--json"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("22OO") && err.contains("not a decimal number"),
        "{err}"
    );

    let bad = example().replace(
        "\"underlying\": \"BTC\", \"type\": \"perp\"",
        "\"underlying\": \"SOL\", \"type\": \"perp\"",
    );
    let out = keel(&["risk", "margin"], &bad);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("positions[3]") && err.contains("unknown underlying \"SOL\""),
        "{err}"
    );

    let bad = example().replace("\"mm_haircut\": \"0.10\"", "\"mm_haircut\": \"0.5\"");
    let out = keel(&["risk", "margin"], &bad);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("collateral.mm_haircut[1]"), "{err}");

    let out = keel(&["risk", "margin", "/nonexistent/margin.json"], "");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("reading /nonexistent/margin.json"), "{err}");
}
