//! Fixed-point core: signed 18-decimal numbers ("WAD") in `i128`, with explicit rounding.
//!
//! Every operation is exact up to one final rounding step whose direction the caller
//! chooses ([`Rounding::Down`] = floor toward -inf, [`Rounding::Up`] = ceil toward +inf).
//! Overflow and division by zero are reported as [`MathError`], never wrapped or panicked.
//!
//! `mul_div` uses an exact 256-bit intermediate. It is hand-written (a 128x128->256
//! schoolbook multiply on 64-bit limbs and a normalised Knuth "algorithm D" 256/128
//! division) rather than pulled from a big-integer crate because: it is ~100 lines, has
//! no allocation and no dependency to audit for the on-chain WASM, and the common case
//! (product fits in 128 bits) short-circuits to one native multiply and divide.

/// A signed fixed-point number with 18 decimals: the value `x` represents `x / 10^18`.
/// Range: |value| < 1.7e20 in human units.
pub type Wad = i128;

/// 1.0 in WAD (10^18).
pub const WAD: Wad = 1_000_000_000_000_000_000;

/// Direction of the single rounding step of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward negative infinity (floor).
    Down,
    /// Toward positive infinity (ceil).
    Up,
}

impl Rounding {
    /// The opposite direction (Down <-> Up); used to bound a quantity from the other side.
    pub const fn flip(self) -> Rounding {
        match self {
            Rounding::Down => Rounding::Up,
            Rounding::Up => Rounding::Down,
        }
    }
}

/// Errors of the fixed-point and math layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    /// The exact result does not fit the target type (i128 / WAD).
    Overflow,
    /// A divisor was zero.
    DivisionByZero,
    /// An input lies outside the documented domain of the function.
    Domain,
}

impl core::fmt::Display for MathError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MathError::Overflow => "arithmetic overflow",
            MathError::DivisionByZero => "division by zero",
            MathError::Domain => "input outside the function's domain",
        })
    }
}

/// Checked addition. Exact; `Overflow` if the sum leaves the i128 range.
#[inline]
pub fn add(a: Wad, b: Wad) -> Result<Wad, MathError> {
    a.checked_add(b).ok_or(MathError::Overflow)
}

/// Checked subtraction `a - b`. Exact; `Overflow` if the difference leaves the i128 range.
#[inline]
pub fn sub(a: Wad, b: Wad) -> Result<Wad, MathError> {
    a.checked_sub(b).ok_or(MathError::Overflow)
}

/// Checked plain integer multiplication `a * b` (no rescaling). Exact or `Overflow`.
#[inline]
pub fn mul(a: i128, b: i128) -> Result<i128, MathError> {
    a.checked_mul(b).ok_or(MathError::Overflow)
}

/// Plain integer division `a / b` rounded in direction `r` (no rescaling).
/// Error: at most 1 unit, in direction `r`. `DivisionByZero` if `b == 0`,
/// `Overflow` for `i128::MIN / -1`.
#[inline]
pub fn div(a: i128, b: i128, r: Rounding) -> Result<i128, MathError> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    let q = a.checked_div(b).ok_or(MathError::Overflow)?;
    let rem = a % b;
    if rem == 0 {
        return Ok(q);
    }
    // The exact quotient is negative iff the signs differ; truncation went toward zero.
    let negative = (a < 0) != (b < 0);
    match (r, negative) {
        (Rounding::Down, true) => Ok(q - 1),
        (Rounding::Up, false) => Ok(q + 1),
        _ => Ok(q),
    }
}

/// Exact `a * b / d` rounded in direction `r`, through a 256-bit intermediate, so it never
/// overflows unless the final result does.
/// Error: at most 1 unit in direction `r` (0 when the division is exact).
/// Errors: `DivisionByZero` if `d == 0`; `Overflow` if the result is outside i128.
pub fn mul_div(a: i128, b: i128, d: i128, r: Rounding) -> Result<i128, MathError> {
    if d == 0 {
        return Err(MathError::DivisionByZero);
    }
    if let Some(p) = a.checked_mul(b) {
        return div(p, d, r);
    }
    let negative = (a < 0) != (b < 0) && a != 0 && b != 0;
    let negative = negative != (d < 0);
    let (hi, lo) = mul_u128_wide(a.unsigned_abs(), b.unsigned_abs());
    let (q, rem_nonzero) = div_u256_by_u128(hi, lo, d.unsigned_abs()).ok_or(MathError::Overflow)?;
    let away = rem_nonzero
        && match r {
            Rounding::Down => negative,
            Rounding::Up => !negative,
        };
    let q = if away {
        q.checked_add(1).ok_or(MathError::Overflow)?
    } else {
        q
    };
    to_signed(q, negative)
}

/// Unsigned variant of [`mul_div`]: exact `a * b / d` for `u128`, rounded in direction `r`.
/// Errors: `DivisionByZero` if `d == 0`; `Overflow` if the result exceeds `u128::MAX`.
pub fn mul_div_u128(a: u128, b: u128, d: u128, r: Rounding) -> Result<u128, MathError> {
    if d == 0 {
        return Err(MathError::DivisionByZero);
    }
    let (hi, lo) = mul_u128_wide(a, b);
    let (q, rem_nonzero) = div_u256_by_u128(hi, lo, d).ok_or(MathError::Overflow)?;
    if rem_nonzero && r == Rounding::Up {
        q.checked_add(1).ok_or(MathError::Overflow)
    } else {
        Ok(q)
    }
}

/// WAD multiplication `a * b / 10^18`, rounded in direction `r` (error < 1 wei, in direction `r`).
/// `Overflow` if the result leaves i128.
#[inline]
pub fn wmul(a: Wad, b: Wad, r: Rounding) -> Result<Wad, MathError> {
    mul_div(a, b, WAD, r)
}

/// WAD division `a * 10^18 / b`, rounded in direction `r` (error < 1 wei, in direction `r`).
/// `DivisionByZero` if `b == 0`; `Overflow` if the result leaves i128.
#[inline]
pub fn wdiv(a: Wad, b: Wad, r: Rounding) -> Result<Wad, MathError> {
    mul_div(a, WAD, b, r)
}

/// Converts an integer number of units to WAD (`n * 10^18`). `Overflow` if |n| >= 1.7e20.
#[inline]
pub fn from_int(n: i128) -> Result<Wad, MathError> {
    n.checked_mul(WAD).ok_or(MathError::Overflow)
}

/// Magnitude `q` with sign -> i128, or `Overflow` (the negative side reaches 2^127).
#[inline]
fn to_signed(q: u128, negative: bool) -> Result<i128, MathError> {
    if negative {
        if q <= i128::MIN.unsigned_abs() {
            Ok((q as i128).wrapping_neg())
        } else {
            Err(MathError::Overflow)
        }
    } else {
        i128::try_from(q).map_err(|_| MathError::Overflow)
    }
}

const LO64: u128 = u64::MAX as u128;

/// Full 128x128 -> 256-bit product `(hi, lo)` from four 64x64->128 partial products.
#[inline]
pub(crate) fn mul_u128_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & LO64);
    let (b1, b0) = (b >> 64, b & LO64);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Middle column: carries cannot overflow u128 (each term < 2^128 - 2^65 + 1 ... summed
    // as three 64-bit-high pieces).
    let mid = (p00 >> 64) + (p01 & LO64) + (p10 & LO64);
    let lo = (mid << 64) | (p00 & LO64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// 256/128 division: `floor((hi*2^128 + lo) / d)` and whether the remainder is non-zero.
/// `None` if `d == 0` or the quotient does not fit in 128 bits (`hi >= d`).
pub(crate) fn div_u256_by_u128(hi: u128, lo: u128, d: u128) -> Option<(u128, bool)> {
    if d == 0 || hi >= d {
        return None;
    }
    if hi == 0 {
        return Some((lo / d, !lo.is_multiple_of(d)));
    }
    if d <= LO64 {
        // Two 128/64 steps: the running remainder is < d < 2^64 so each step fits u128.
        let cur = (hi << 64) | (lo >> 64);
        let (q1, r1) = (cur / d, cur % d);
        let cur = (r1 << 64) | (lo & LO64);
        let (q0, r0) = (cur / d, cur % d);
        return Some(((q1 << 64) | q0, r0 != 0));
    }
    // Knuth algorithm D with 64-bit digits: normalise so the divisor's top bit is set,
    // then produce two quotient digits, each by a 3-by-2 digit step.
    let s = d.leading_zeros();
    let dn = d << s;
    let (un_hi, un_lo) = if s == 0 {
        (hi, lo)
    } else {
        ((hi << s) | (lo >> (128 - s)), lo << s)
    };
    let (q1, r) = div_3by2(un_hi, (un_lo >> 64) as u64, dn);
    let (q0, r) = div_3by2(r, un_lo as u64, dn);
    Some((((q1 as u128) << 64) | q0 as u128, r != 0))
}

/// Divides the 192-bit number `(u_hi * 2^64 + u0)` by the normalised 128-bit `d`
/// (top bit set), given `u_hi < d`. Returns the 64-bit quotient digit and the remainder.
#[inline]
fn div_3by2(u_hi: u128, u0: u64, d: u128) -> (u64, u128) {
    let d1 = d >> 64;
    let top = u_hi >> 64;
    // Estimate from the top two digits; Knuth: the estimate is at most 2 too large.
    let mut qhat: u128 = if top >= d1 { LO64 } else { u_hi / d1 };
    // 256-bit comparison of qhat*d with u = u_hi*2^64 + u0.
    let u_h = u_hi >> 64;
    let u_l = (u_hi << 64) | u0 as u128;
    let (mut p_h, mut p_l) = mul_u128_wide(qhat, d);
    while p_h > u_h || (p_h == u_h && p_l > u_l) {
        qhat -= 1;
        let (nl, borrow) = p_l.overflowing_sub(d);
        p_l = nl;
        p_h -= borrow as u128;
    }
    // Remainder u - qhat*d < d fits in 128 bits.
    let rem = u_l.wrapping_sub(p_l);
    (qhat as u64, rem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_errors_on_overflow() {
        assert_eq!(add(i128::MAX, 1), Err(MathError::Overflow));
        assert_eq!(add(2, 3), Ok(5));
    }

    #[test]
    fn sub_errors_on_overflow() {
        assert_eq!(sub(i128::MIN, 1), Err(MathError::Overflow));
        assert_eq!(sub(2, 3), Ok(-1));
    }

    #[test]
    fn div_rounds_floor_and_ceil_for_both_signs() {
        assert_eq!(div(7, 2, Rounding::Down), Ok(3));
        assert_eq!(div(7, 2, Rounding::Up), Ok(4));
        assert_eq!(div(-7, 2, Rounding::Down), Ok(-4));
        assert_eq!(div(-7, 2, Rounding::Up), Ok(-3));
        assert_eq!(div(7, -2, Rounding::Down), Ok(-4));
        assert_eq!(div(-7, -2, Rounding::Up), Ok(4));
        assert_eq!(div(6, 2, Rounding::Up), Ok(3));
    }

    #[test]
    fn div_errors_on_zero_and_min_over_minus_one() {
        assert_eq!(div(1, 0, Rounding::Down), Err(MathError::DivisionByZero));
        assert_eq!(div(i128::MIN, -1, Rounding::Down), Err(MathError::Overflow));
    }

    #[test]
    fn mul_div_errors_on_zero_divisor() {
        assert_eq!(
            mul_div(1, 1, 0, Rounding::Down),
            Err(MathError::DivisionByZero)
        );
    }

    #[test]
    fn mul_div_uses_wide_intermediate() {
        // (2^126 * 2^126) / 2^125 = 2^127 overflows; / 2^126 = 2^126 fits.
        let p = 1i128 << 126;
        assert_eq!(mul_div(p, p, p, Rounding::Down), Ok(p));
        assert_eq!(
            mul_div(p, p, 1i128 << 125, Rounding::Down),
            Err(MathError::Overflow)
        );
        assert_eq!(mul_div(-p, p, 1i128 << 125, Rounding::Down), Ok(i128::MIN));
        assert_eq!(
            mul_div(i128::MAX, i128::MAX, i128::MAX, Rounding::Up),
            Ok(i128::MAX)
        );
        assert_eq!(
            mul_div(i128::MIN, i128::MIN, i128::MIN, Rounding::Up),
            Ok(i128::MIN)
        );
    }

    #[test]
    fn mul_div_rounds_wide_results_in_the_requested_direction() {
        let a = i128::MAX;
        let b = 3;
        let d = 7;
        let lo = mul_div(a, b, d, Rounding::Down).unwrap();
        let hi = mul_div(a, b, d, Rounding::Up).unwrap();
        assert_eq!(hi - lo, 1);
        let lo_n = mul_div(-a, b, d, Rounding::Down).unwrap();
        let hi_n = mul_div(-a, b, d, Rounding::Up).unwrap();
        assert_eq!(lo_n, -hi);
        assert_eq!(hi_n, -lo);
    }

    #[test]
    fn wmul_and_wdiv_round_in_the_requested_direction() {
        assert_eq!(wmul(WAD / 3, 3 * WAD, Rounding::Down), Ok(WAD - 1));
        assert_eq!(
            wdiv(WAD, 3 * WAD, Rounding::Down),
            Ok(333_333_333_333_333_333)
        );
        assert_eq!(
            wdiv(WAD, 3 * WAD, Rounding::Up),
            Ok(333_333_333_333_333_334)
        );
        assert_eq!(
            wdiv(-WAD, 3 * WAD, Rounding::Down),
            Ok(-333_333_333_333_333_334)
        );
        assert_eq!(
            wdiv(-WAD, 3 * WAD, Rounding::Up),
            Ok(-333_333_333_333_333_333)
        );
        assert_eq!(wdiv(1, 0, Rounding::Up), Err(MathError::DivisionByZero));
        assert_eq!(
            wmul(i128::MAX, 2 * WAD, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn mul_div_u128_errors_on_overflow() {
        assert_eq!(
            mul_div_u128(u128::MAX, 2, 1, Rounding::Down),
            Err(MathError::Overflow)
        );
        assert_eq!(
            mul_div_u128(u128::MAX, u128::MAX, u128::MAX, Rounding::Up),
            Ok(u128::MAX)
        );
        assert_eq!(
            mul_div_u128(u128::MAX, 3, 7, Rounding::Up).unwrap()
                - mul_div_u128(u128::MAX, 3, 7, Rounding::Down).unwrap(),
            1
        );
    }

    #[test]
    fn from_int_errors_on_overflow() {
        assert_eq!(from_int(2), Ok(2 * WAD));
        assert_eq!(from_int(i128::MAX / WAD + 1), Err(MathError::Overflow));
    }

    #[test]
    fn mul_u128_wide_matches_known_products() {
        assert_eq!(mul_u128_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_u128_wide(1 << 64, 1 << 64), (1, 0));
        assert_eq!(mul_u128_wide(0, u128::MAX), (0, 0));
    }
}
