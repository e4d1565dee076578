//! `keel risk price`: Black-76 price and greeks for JSON lines on stdin.

use std::io::{BufRead, Write};

use anyhow::{bail, Context, Result};
use keel_risk::black76::{VOL_MAX, VOL_MIN};
use keel_risk::{black76, years_from_seconds, OptionKind, SECONDS_PER_YEAR};
use serde::Deserialize;
use serde_json::json;

use crate::decimal::{format_wad, Dec};

/// One input line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceInput {
    kind: String,
    spot: Dec,
    strike: Dec,
    vol: Dec,
    expiry_seconds: u64,
}

/// Prices one JSON line; the error is the message for `{"error": ...}`.
pub fn price_line(line: &str) -> Result<String> {
    let input: PriceInput = serde_json::from_str(line).context(
        "expected {\"kind\":\"call\"|\"put\",\"spot\":\"2000\",\"strike\":\"2100\",\"vol\":\"0.8\",\"expiry_seconds\":7776000}",
    )?;
    let kind = match input.kind.to_ascii_lowercase().as_str() {
        "call" => OptionKind::Call,
        "put" => OptionKind::Put,
        other => bail!("kind must be \"call\" or \"put\", got {other:?}"),
    };
    if input.spot.0 <= 0 {
        bail!("spot must be > 0, got {}", format_wad(input.spot.0));
    }
    if input.strike.0 <= 0 {
        bail!("strike must be > 0, got {}", format_wad(input.strike.0));
    }
    if input.vol.0 <= 0 {
        bail!(
            "vol must be > 0 (annualised, 0.8 = 80%), got {}",
            format_wad(input.vol.0)
        );
    }
    let (spot, strike, vol) = (input.spot.0, input.strike.0, input.vol.0);
    if !(VOL_MIN..=VOL_MAX).contains(&vol) {
        bail!(
            "vol {} is outside the model's domain 0.01..5 (1%..500%)",
            format_wad(vol)
        );
    }
    let secs = input.expiry_seconds;
    if secs != 0 && !(60..=2 * SECONDS_PER_YEAR).contains(&secs) {
        bail!(
            "expiry_seconds {secs} is outside the model's domain: use 0 (expired: intrinsic value) or 60..{}",
            2 * SECONDS_PER_YEAR
        );
    }
    if secs != 0 && (strike > spot.saturating_mul(5) || strike.saturating_mul(5) < spot) {
        bail!(
            "strike/spot = {}/{} is outside the model's domain 0.2..5",
            format_wad(strike),
            format_wad(spot)
        );
    }
    let t = years_from_seconds(secs);
    let g = black76(kind, input.spot.0, input.strike.0, input.vol.0, t).map_err(|e| {
        anyhow::anyhow!(
            "black-76 failed: {e} (supported domain: vol 0.01..5, expiry 60 s..2 years, strike/spot 0.2..5)"
        )
    })?;
    // Written by hand to keep the documented key order (values need no escaping).
    Ok(format!(
        "{{\"price\":\"{}\",\"delta\":\"{}\",\"gamma\":\"{}\",\"vega\":\"{}\"}}",
        format_wad(g.price),
        format_wad(g.delta),
        format_wad(g.gamma),
        format_wad(g.vega)
    ))
}

/// Reads JSON lines from `input`, writes one JSON line per non-blank input line.
/// Bad lines produce `{"error": "..."}`; processing continues.
pub fn run(input: impl BufRead, mut out: impl Write) -> Result<()> {
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("reading stdin line {}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v = price_line(&line)
            .unwrap_or_else(|e| json!({ "error": format!("line {}: {e:#}", n + 1) }).to_string());
        writeln!(out, "{v}")?;
    }
    out.flush()?;
    Ok(())
}
