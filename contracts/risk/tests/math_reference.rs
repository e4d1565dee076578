//! High-precision reference arithmetic for the accuracy tests: real numbers as big
//! integers scaled by 2^PREC (PREC = 224 bits, ~1e-67), with exp/ln/sqrt/Phi/phi and
//! Black-76 evaluated by convergent series to full precision. Other test files include
//! this file with `#[path]`; its own tests check it against known constants.
#![allow(dead_code)]

use num_bigint::BigInt;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Fractional bits of the reference fixed point.
pub const PREC: usize = 224;

/// 1.0 in the reference scale.
pub fn one() -> BigInt {
    BigInt::one() << PREC
}

/// WAD integer -> reference (floor; error 2^-224).
pub fn from_wad(x: i128) -> BigInt {
    (BigInt::from(x) << PREC) / BigInt::from(10u64.pow(18))
}

/// Reference value -> WAD as f64 (for messages and error reports).
pub fn to_f64(x: &BigInt) -> f64 {
    // Keep 60 fractional bits before converting.
    let v = x >> (PREC - 60);
    v.to_f64().unwrap() / 2f64.powi(60)
}

/// (code - reference) in wei, as f64, where `code` is a WAD integer.
pub fn err_wei(code: i128, reference: &BigInt) -> f64 {
    let diff = (BigInt::from(code) << PREC) - reference * BigInt::from(10u64.pow(18));
    // diff / 2^PREC wei
    let v = diff >> (PREC - 40);
    v.to_f64().unwrap() / 2f64.powi(40)
}

/// a*b.
pub fn mul(a: &BigInt, b: &BigInt) -> BigInt {
    (a * b) >> PREC
}

/// a/b.
pub fn div(a: &BigInt, b: &BigInt) -> BigInt {
    (a << PREC) / b
}

/// 2 atanh(s) = ln((1+s)/(1-s)) by the odd power series; |s| <= 1/3.
fn two_atanh(s: &BigInt) -> BigInt {
    let z = mul(s, s);
    let mut term = s.clone();
    let mut sum = BigInt::zero();
    let mut n = 0u32;
    while !term.is_zero() {
        sum += &term / BigInt::from(2 * n + 1);
        term = mul(&term, &z);
        n += 1;
    }
    sum * 2
}

/// ln 2 = 2 atanh(1/3).
pub fn ln2() -> BigInt {
    two_atanh(&(one() / 3))
}

/// arctan(1/n) by its series.
fn atan_inv(n: u32) -> BigInt {
    let n2 = BigInt::from(n * n);
    let mut term = one() / n;
    let mut sum = BigInt::zero();
    let mut k = 0u32;
    while !term.is_zero() {
        let t = &term / BigInt::from(2 * k + 1);
        if k.is_multiple_of(2) {
            sum += t;
        } else {
            sum -= t;
        }
        term /= &n2;
        k += 1;
    }
    sum
}

/// pi by Machin's formula.
pub fn pi() -> BigInt {
    atan_inv(5) * 16 - atan_inv(239) * 4
}

/// sqrt(x), x >= 0.
pub fn sqrt(x: &BigInt) -> BigInt {
    (x << PREC).sqrt()
}

/// e^x.
pub fn exp(x: &BigInt) -> BigInt {
    let l2 = ln2();
    // k = round(x / ln2)
    let k: BigInt = (div(x, &l2) + (one() >> 1)) >> PREC;
    let r = x - &k * &l2;
    let mut term = one();
    let mut sum = BigInt::zero();
    let mut n = 1u32;
    while !term.is_zero() {
        sum += &term;
        term = mul(&term, &r) / BigInt::from(n);
        n += 1;
    }
    let k = k.to_i64().unwrap();
    if k >= 0 {
        sum << k as usize
    } else {
        sum >> (-k) as usize
    }
}

/// ln(x), x > 0.
pub fn ln(x: &BigInt) -> BigInt {
    assert!(x.is_positive());
    let k = x.bits() as i64 - 1 - PREC as i64;
    let f = if k >= 0 {
        x >> k as usize
    } else {
        x << (-k) as usize
    };
    let s = div(&(&f - one()), &(&f + one()));
    ln2() * k + two_atanh(&s)
}

/// Standard normal density.
pub fn pdf(x: &BigInt) -> BigInt {
    let half_sq: BigInt = mul(x, x) >> 1;
    let e = exp(&-half_sq);
    div(&e, &sqrt(&(pi() * 2)))
}

/// Standard normal CDF: Phi(a) = 1/2 + phi(a) sum a^(2n+1)/(2n+1)!! (positive terms,
/// no cancellation in the sum); exact to ~2^-200 for |a| <= 14, saturates beyond.
pub fn cdf(x: &BigInt) -> BigInt {
    let a = x.abs();
    if a > one() * 14 {
        return if x.is_negative() {
            BigInt::zero()
        } else {
            one()
        };
    }
    let a2 = mul(&a, &a);
    let mut term = a.clone();
    let mut sum = BigInt::zero();
    let mut n = 0u32;
    while !term.is_zero() {
        sum += &term;
        term = mul(&term, &a2) / BigInt::from(2 * n + 3);
        n += 1;
    }
    let half = one() >> 1;
    let d = mul(&pdf(&a), &sum);
    if x.is_negative() {
        half - d
    } else {
        half + d
    }
}

/// Reference Black-76 (rate 0) from WAD inputs: (price, delta, gamma, vega) in
/// human units (reference scale). `call` selects call/put.
pub fn black76(call: bool, f: i128, k: i128, vol: i128, t: i128) -> [BigInt; 4] {
    let (fb, kb, vb, tb) = (from_wad(f), from_wad(k), from_wad(vol), from_wad(t));
    let sq = sqrt(&tb);
    let v = mul(&vb, &sq);
    let x = ln(&div(&fb, &kb));
    let d1 = div(&x, &v) + (&v >> 1);
    let d2 = &d1 - &v;
    let n1 = cdf(&d1);
    let n2 = cdf(&d2);
    let c = mul(&fb, &n1) - mul(&kb, &n2);
    let p1 = pdf(&d1);
    let gamma = div(&p1, &mul(&fb, &v));
    let vega = mul(&mul(&fb, &p1), &sq);
    if call {
        [c, n1, gamma, vega]
    } else {
        [c - &fb + &kb, n1 - one(), gamma, vega]
    }
}

/// Deterministic 64-bit generator (splitmix64) for reproducible sampling.
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in [lo, hi].
    pub fn range(&mut self, lo: i128, hi: i128) -> i128 {
        let span = (hi - lo) as u128 + 1;
        let r = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        lo + (r % span) as i128
    }

    /// Log-uniform WAD value in [lo, hi] (both > 0), for ratios and vols.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> i128 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let v = (lo.ln() + u * (hi.ln() - lo.ln())).exp();
        (v * 1e18) as i128
    }
}

#[cfg(test)]
mod self_check {
    use super::*;

    fn digits(x: &BigInt, n: u32) -> String {
        ((x * BigInt::from(10).pow(n)) >> PREC).to_string()
    }

    #[test]
    fn reference_constants_match_known_digits() {
        assert_eq!(
            digits(&pi(), 40),
            "31415926535897932384626433832795028841971"
        );
        assert_eq!(
            digits(&ln2(), 40),
            "6931471805599453094172321214581765680755"
        );
        assert_eq!(
            digits(&exp(&one()), 40),
            "27182818284590452353602874713526624977572"
        );
        assert_eq!(
            digits(&ln(&(one() * 10)), 40),
            "23025850929940456840179914546843642076011"
        );
        assert_eq!(
            digits(&sqrt(&(one() * 2)), 40),
            "14142135623730950488016887242096980785696"
        );
    }

    #[test]
    fn reference_normal_matches_known_values() {
        // Phi(1) = 0.8413447460685429485852325456320379224779...
        assert_eq!(
            digits(&cdf(&one()), 40),
            "8413447460685429485852325456320379224779"
        );
        // Phi(-5) = 2.866515718791939116737523328746...e-7
        assert_eq!(
            digits(&cdf(&(-(one() * 5u32))), 37),
            "2866515718791939116737523328746"
        );
        // phi(0) = 0.3989422804014326779399460599343818684758...
        assert_eq!(
            digits(&pdf(&BigInt::zero()), 40),
            "3989422804014326779399460599343818684758"
        );
    }
}
