//! `mul_div` / `wmul` / `wdiv` / `div` against exact big-integer arithmetic.
use keel_risk::{div, mul_div, mul_div_u128, wdiv, wmul, MathError, Rounding, WAD};
use num_bigint::BigInt;
use num_integer::Integer;
use proptest::prelude::*;

/// Exact floor/ceil of a*b/d in big integers, or None if it leaves i128.
fn reference(a: i128, b: i128, d: i128, r: Rounding) -> Option<i128> {
    let n = BigInt::from(a) * BigInt::from(b);
    let d = BigInt::from(d);
    let q = match r {
        Rounding::Down => n.div_floor(&d),
        Rounding::Up => -((-n).div_floor(&d)),
    };
    i128::try_from(q).ok()
}

fn check(a: i128, b: i128, d: i128) {
    for r in [Rounding::Down, Rounding::Up] {
        let got = mul_div(a, b, d, r);
        match reference(a, b, d, r) {
            Some(v) => assert_eq!(got, Ok(v), "a={a} b={b} d={d} {r:?}"),
            None => assert_eq!(got, Err(MathError::Overflow), "a={a} b={b} d={d} {r:?}"),
        }
    }
}

/// Values spread over all magnitudes, including the extremes.
fn any_magnitude() -> impl Strategy<Value = i128> {
    prop_oneof![
        any::<i128>(),
        (0u32..127, any::<bool>(), any::<u128>()).prop_map(|(bits, neg, m)| {
            let v = (m >> (127 - bits)) as i128;
            if neg {
                -v
            } else {
                v
            }
        }),
        Just(i128::MAX),
        Just(i128::MIN),
        Just(1),
        Just(-1),
    ]
}

proptest! {
    #[test]
    fn mul_div_matches_bigint(a in any_magnitude(), b in any_magnitude(), d in any_magnitude()) {
        prop_assume!(d != 0);
        check(a, b, d);
    }

    #[test]
    fn mul_div_u128_matches_bigint(a in any::<u128>(), b in any::<u128>(), d in 1u128..) {
        let n = BigInt::from(a) * BigInt::from(b);
        let dd = BigInt::from(d);
        let (q, rem) = n.div_rem(&dd);
        let down = u128::try_from(q.clone()).ok();
        let up = u128::try_from(if rem == BigInt::from(0) { q } else { q + 1 }).ok();
        prop_assert_eq!(mul_div_u128(a, b, d, Rounding::Down).ok(), down);
        prop_assert_eq!(mul_div_u128(a, b, d, Rounding::Up).ok(), up);
    }

    #[test]
    fn wmul_wdiv_match_bigint(a in any_magnitude(), b in any_magnitude()) {
        for r in [Rounding::Down, Rounding::Up] {
            prop_assert_eq!(wmul(a, b, r).ok(), reference(a, b, WAD, r));
            if b != 0 {
                prop_assert_eq!(wdiv(a, b, r).ok(), reference(a, WAD, b, r));
            }
        }
    }

    #[test]
    fn div_matches_bigint(a in any_magnitude(), b in any_magnitude()) {
        prop_assume!(b != 0);
        for r in [Rounding::Down, Rounding::Up] {
            prop_assert_eq!(div(a, b, r).ok(), reference(a, 1, b, r));
        }
    }
}

#[test]
fn mul_div_handles_divisors_near_every_limb_boundary() {
    let ds = [
        1i128,
        3,
        (1 << 63) - 1,
        1 << 63,
        (1 << 64) - 1,
        1 << 64,
        (1 << 64) + 1,
        (1 << 100) + 12345,
        i128::MAX,
        i128::MIN,
    ];
    let xs = [
        i128::MAX,
        i128::MIN,
        (1 << 100) - 7,
        1 << 64,
        -(1 << 90) + 3,
        WAD,
        7,
    ];
    for &d in &ds {
        for &a in &xs {
            for &b in &xs {
                check(a, b, d);
            }
        }
    }
}
