//! Exact conversion between human decimal strings and WAD integers (no f64).

use std::fmt;

use keel_risk::{Wad, WAD};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Parses a decimal string in human units ("2000", "-0.25", "0.000000000000000001")
/// into WAD (x 10^18), exactly. Accepts an optional sign, digits, an optional
/// point and at most 18 fractional digits; no exponent, no separators.
pub fn parse_wad(s: &str) -> Result<Wad, String> {
    let hint = "write a plain decimal like \"2000\" or \"0.25\" (at most 18 decimals, no exponent)";
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("empty number: {hint}"));
    }
    let (negative, body) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(format!("{s:?} has no digits: {hint}"));
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{s:?} is not a decimal number: {hint}"));
    }
    if frac_part.len() > 18 {
        return Err(format!(
            "{s:?} has {} decimals; at most 18 are representable exactly",
            frac_part.len()
        ));
    }
    let too_big = || format!("{s:?} is too large (the limit is about 1.7e20)");
    let mut v: i128 = 0;
    for b in int_part.bytes() {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((b - b'0') as i128))
            .ok_or_else(too_big)?;
    }
    v = v.checked_mul(WAD).ok_or_else(too_big)?;
    let mut frac: i128 = 0;
    for b in frac_part.bytes() {
        frac = frac * 10 + (b - b'0') as i128;
    }
    frac *= 10i128.pow(18 - frac_part.len() as u32);
    v = v.checked_add(frac).ok_or_else(too_big)?;
    Ok(if negative { -v } else { v })
}

/// Formats WAD as a decimal string with exactly 18 decimals ("-1.500000000000000000").
pub fn format_wad(v: Wad) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let w = WAD as u128;
    format!("{sign}{}.{:018}", a / w, a % w)
}

/// Formats WAD for humans: 18 decimals with trailing zeros (and a bare point) removed.
pub fn format_human(v: Wad) -> String {
    let s = format_wad(v);
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A WAD value deserialised from a JSON decimal string (or a JSON integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dec(pub Wad);

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string such as \"2000\" or \"0.8\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dec, E> {
                parse_wad(s).map(Dec).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Dec, E> {
                (n as i128)
                    .checked_mul(WAD)
                    .map(Dec)
                    .ok_or_else(|| E::custom("number too large"))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Dec, E> {
                (n as i128)
                    .checked_mul(WAD)
                    .map(Dec)
                    .ok_or_else(|| E::custom("number too large"))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Dec, E> {
                Err(E::custom(format!(
                    "{n} is a JSON float; write it as a decimal string (\"{n}\") so it is parsed exactly"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_wad_is_exact() {
        assert_eq!(parse_wad("2000"), Ok(2000 * WAD));
        assert_eq!(parse_wad("0.8"), Ok(WAD / 10 * 8));
        assert_eq!(parse_wad("-1.5"), Ok(-WAD / 2 * 3));
        assert_eq!(parse_wad("0.000000000000000001"), Ok(1));
        assert_eq!(parse_wad(".5"), Ok(WAD / 2));
        assert_eq!(parse_wad("7."), Ok(7 * WAD));
        assert_eq!(parse_wad(" 3 "), Ok(3 * WAD));
    }

    #[test]
    fn parse_wad_errors_on_bad_input() {
        for bad in ["", "-", ".", "1e5", "1,000", "abc", "1.2.3", "--1", "0x10"] {
            assert!(parse_wad(bad).is_err(), "{bad}");
        }
        assert!(parse_wad("0.0000000000000000001")
            .unwrap_err()
            .contains("18"));
        assert!(parse_wad("1000000000000000000000")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn format_wad_round_trips() {
        for v in [0, 1, -1, WAD, -WAD / 2 * 3, i128::MAX, i128::MIN + 1] {
            assert_eq!(parse_wad(&format_wad(v)), Ok(v), "{v}");
        }
        assert_eq!(format_wad(-WAD / 2), "-0.500000000000000000");
        assert_eq!(format_human(2 * WAD), "2");
        assert_eq!(format_human(-WAD / 4), "-0.25");
    }
}
