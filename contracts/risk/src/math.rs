//! Transcendental functions on WAD numbers: `sqrt`, `ln`, `exp`, standard normal CDF/PDF.
//!
//! Internally everything is evaluated in signed binary fixed point with 64 fractional bits
//! ("Q64", `i128`, ulp = 2^-64 ~ 5.4e-20), i.e. ~18x finer than a WAD wei, so that the
//! final conversion to WAD dominates the error. Binary scaling turns every rescale after
//! a product into a shift instead of a 128-bit division, which is what makes the
//! Black-76 pricer cheap in WASM. The Q64 helpers are `pub(crate)` for `black76`.
//!
//! Error bounds quoted below are worst cases measured against a 224-bit big-integer
//! reference over dense and random samples of the whole domain (tests/math_accuracy.rs),
//! with the analytic reason in each function's comment.

use crate::fixed::{div_u256_by_u128, mul_u128_wide};
use crate::fixed::{mul_div, MathError, Rounding, Wad, WAD};

/// 1.0 in Q64.
pub(crate) const ONE_Q: i128 = 1 << 64;
/// 10^18 = 2^18 * 5^18: WAD <-> Q64 conversions only need the odd factor.
const FIVE_18: i128 = 3_814_697_265_625;
/// ln 2 * 2^96 (rounded to nearest).
const LN2_Q96: i128 = 54_916_777_467_707_473_351_141_471_128;
/// 18 ln 10 * 2^96 (rounded to nearest): ln(10^18), the WAD scale.
const LN_WAD_Q96: i128 = 3_283_732_547_111_784_853_622_338_894_909;
/// 64 ln 2 * 2^96: ln(2^64), the Q64 scale.
const LN_Q64_Q96: i128 = 64 * LN2_Q96;
/// 1/ln 2 in Q64.
const INV_LN2_Q: i128 = 26_613_026_195_688_644_983;
/// sqrt(2) in Q64 (floor).
const SQRT2_Q: u128 = 26_087_635_650_665_564_424;

/// 1/n! in Q64, n = 0..=16 (rounded to nearest); entries 0 and 1 (= 1.0, not
/// representable in u64) are unused and stored as 0. u64 halves the table size in WASM.
const INV_FACT: [u64; 17] = [
    0,
    0,
    9223372036854775808,
    3074457345618258603,
    768614336404564651,
    153722867280912930,
    25620477880152155,
    3660068268593165,
    457508533574146,
    50834281508238,
    5083428150824,
    462129831893,
    38510819324,
    2962370717,
    211597908,
    14106527,
    881658,
];

/// 1/(2n+1) in Q64, n = 0..=12 (rounded to nearest); entry 0 (= 1.0) unused, stored as 0.
const INV_ODD: [u64; 13] = [
    0,
    6148914691236517205,
    3689348814741910323,
    2635249153387078802,
    2049638230412172402,
    1676976733973595601,
    1418980313362273201,
    1229782938247303441,
    1085102592571150095,
    970881267037344822,
    878416384462359601,
    802032351030850070,
    737869762948382065,
];

/// 1/n in Q64 for n = 0..=39, rounded to nearest; entries 0 and 1 unused, stored as 0.
const INV_INT: [u64; 40] = [
    0,
    0,
    9223372036854775808,
    6148914691236517205,
    4611686018427387904,
    3689348814741910323,
    3074457345618258603,
    2635249153387078802,
    2305843009213693952,
    2049638230412172402,
    1844674407370955162,
    1676976733973595601,
    1537228672809129301,
    1418980313362273201,
    1317624576693539401,
    1229782938247303441,
    1152921504606846976,
    1085102592571150095,
    1024819115206086201,
    970881267037344822,
    922337203685477581,
    878416384462359601,
    838488366986797801,
    802032351030850070,
    768614336404564651,
    737869762948382065,
    709490156681136601,
    683212743470724134,
    658812288346769701,
    636094623231363849,
    614891469123651721,
    595056260442243601,
    576460752303423488,
    558992244657865200,
    542551296285575048,
    527049830677415760,
    512409557603043100,
    498560650640798692,
    485440633518672411,
    472993437787424400,
];

/// (Q(x_i), phi(x_i)) in Q64 (rounded to nearest, from a 60-digit reference) at
/// x_i = i/8, i = 0..=76, where Q = 1 - Phi is the upper normal tail.
#[rustfmt::skip]
const CDF_TAB: [(u64, u64); 77] = [
    (0x8000000000000000, 0x662114cf50d94234), // x = 0.0
    (0x73445b0efe5a99fa, 0x65559e5ff3b54d37), // x = 0.125
    (0x66bb2ea748949e58, 0x62fcae8412fb31c9), // x = 0.25
    (0x5a949e407a090c65, 0x5f31e53b058c0149), // x = 0.375
    (0x4efc50ee6a9c490d, 0x5a20f408821ab0a5), // x = 0.5
    (0x4417a0ac79327f4f, 0x54025b73bf5f20f7), // x = 0.625
    (0x3a04400ad6749b6a, 0x4d1757beb4d05237), // x = 0.75
    (0x30d769eb014973e1, 0x45a56578bfca16b7), // x = 0.875
    (0x289da176f964165b, 0x3df1cb1c662e6ee2), // x = 1.0
    (0x215afb41f3617102, 0x363d8c40648eead3), // x = 1.125
    (0x1b0bdd12ba9c2945, 0x2ec2172863e18f4f), // x = 1.25
    (0x15a61963dc9205f9, 0x27aee2429f4b1a6b), // x = 1.375
    (0x111a46d89647ee9e, 0x212810ada43d08d6), // x = 1.5
    (0xd5532dfd27c1706, 0x1b46178964b20e11), // x = 1.625
    (0xa415120a2ab6e54, 0x16164536bf162bc5), // x = 1.75
    (0x7c80e53b2fd9ebb, 0x119bfa3516dadc9f), // x = 1.875
    (0x5d2f3e0b27617e6, 0xdd25a1b741d6a37), // x = 2.0
    (0x44c90edfce009eb, 0xaae39fb3b9d880e), // x = 2.125
    (0x321249e43a6c24a, 0x82016fe9ee0d0d9), // x = 2.25
    (0x23f0b4393652fba, 0x615ea50a0d40300), // x = 2.375
    (0x196f4e57e49ce46, 0x47cbc155fd49589), // x = 2.5
    (0x11bee6c07df1464, 0x341e457d3a648f2), // x = 2.625
    (0xc34821a4f64016, 0x253f4a98c683c7e), // x = 2.75
    (0x84644873e6dfb7, 0x1a34ea57d8ce35b), // x = 2.875
    (0x587787e616d75b, 0x1227213fd77688a), // x = 3.0
    (0x3a435e95c1badb, 0xc611136bd729af), // x = 3.125
    (0x25d0dfafa0680d, 0x84f9c70c514102), // x = 3.25
    (0x18301be4097ac0, 0x57e43db3a1ecdd), // x = 3.375
    (0xf3ede495bbeea, 0x39312fa28fcc3e), // x = 3.5
    (0x977fbfe188f3c, 0x24a37ef4561f5b), // x = 3.625
    (0x5cb65592cb738, 0x171b92ecaaa791), // x = 3.75
    (0x37e6ecc749487, 0xe59103969051c), // x = 3.875
    (0x2135af2a95fff, 0x8c54c71605a5a), // x = 4.0
    (0x136feaecd8d1e, 0x5473e97b1739f), // x = 4.125
    (0xb352de5f9227, 0x32095fbbd1994), // x = 4.25
    (0x65dd6d1709a3, 0x1d2fa44486e8e), // x = 4.375
    (0x3900e51ba760, 0x10c29a533d0bc), // x = 4.5
    (0x1f6c707d24b1, 0x979afd8e9e83), // x = 4.625
    (0x111056da03cc, 0x546191beec32), // x = 4.75
    (0x920a4ced8d9, 0x2e3caeee7617), // x = 4.875
    (0x4cf28bc84ce, 0x18f16964c8fd), // x = 5.0
    (0x27ef51b1da5, 0xd3f443cbdfc), // x = 5.125
    (0x146a16cd7b7, 0x6ed2a2f899b), // x = 5.25
    (0xa475c6555c, 0x390bf3c0c18), // x = 5.375
    (0x518f3ea720, 0x1ce8ec39251), // x = 5.5
    (0x27d668a48e, 0xe6c7515a0f), // x = 5.625
    (0x132a35e336, 0x715ac9314d), // x = 5.75
    (0x9149b1bbc, 0x36d091653a), // x = 5.875
    (0x43cc3bc02, 0x1a1880fbd1), // x = 6.0
    (0x1f289d487, 0xc3b16d17f), // x = 6.125
    (0xe1a6147a, 0x5a4c2a194), // x = 6.25
    (0x6495bf0c, 0x2904fdb15), // x = 6.375
    (0x2c280966, 0x1258556ae), // x = 6.5
    (0x1317156a, 0x813c489c), // x = 6.625
    (0x820bc4f, 0x3804f9b6), // x = 6.75
    (0x3686e01, 0x17e7fa23), // x = 6.875
    (0x1683c36, 0xa0b31fa), // x = 7.0
    (0x927b05, 0x4277e18), // x = 7.125
    (0x3aa7c8, 0x1b10f58), // x = 7.25
    (0x172128, 0xad9c42), // x = 7.375
    (0x8fb48, 0x448521), // x = 7.5
    (0x36f3a, 0x1a9fbf), // x = 7.625
    (0x14b14, 0xa2f42), // x = 7.75
    (0x7ac4, 0x3d5e7), // x = 7.875
    (0x2cd4, 0x16c0e), // x = 8.0
    (0x101e, 0x84e3), // x = 8.125
    (0x5b5, 0x2fc1), // x = 8.25
    (0x1fd, 0x10e5), // x = 8.375
    (0xaf, 0x5e2), // x = 8.5
    (0x3b, 0x205), // x = 8.625
    (0x14, 0xae), // x = 8.75
    (0x6, 0x3a), // x = 8.875
    (0x2, 0x13), // x = 9.0
    (0x1, 0x6), // x = 9.125
    (0x0, 0x2), // x = 9.25
    (0x0, 0x1), // x = 9.375
    (0x0, 0x0), // x = 9.5
];

/// Largest |x| (Q64) handled by the table: 9.5625. Beyond it Q(x) < 1e-21 and
/// phi(x) < 1e-20, both far below half a WAD wei, so 0 is the correctly rounded value.
const CDF_CUT_Q: u128 = (9 << 64) + (9 << 60);

// ---------------------------------------------------------------------------
// Q64 primitives
// ---------------------------------------------------------------------------

/// Q64 product `a * b / 2^64`, truncated toward zero (error < 1 ulp).
/// Caller keeps |a * b| < 2^191 (result < 2^127); every call site has bounded inputs.
#[inline]
pub(crate) fn qmul(a: i128, b: i128) -> i128 {
    let (ua, ub) = (a.unsigned_abs(), b.unsigned_abs());
    let m = if (ua | ub) >> 64 == 0 {
        (ua * ub) >> 64
    } else {
        let (hi, lo) = mul_u128_wide(ua, ub);
        (hi << 64) | (lo >> 64)
    };
    let m = m as i128;
    if (a < 0) != (b < 0) {
        -m
    } else {
        m
    }
}

/// Q64 product for factors below 1 in magnitude (|a|, |b| < 2^64): one 64x64->128
/// multiply, truncated toward zero (error < 1 ulp). The hot loops of `ln`, `exp` and the
/// normal CDF only ever multiply such numbers. Always inlined: in WASM an out-of-line
/// call returning i128 goes through linear memory (Stylus: call 3,800 ink, store 950,
/// load 680), measured at ~10% of a Black-76 price.
#[inline(always)]
pub(crate) fn qmul_s(a: i128, b: i128) -> i128 {
    debug_assert!(a.unsigned_abs() >> 64 == 0 && b.unsigned_abs() >> 64 == 0);
    let m = (((a.unsigned_abs() as u64) as u128 * (b.unsigned_abs() as u64) as u128) >> 64) as i128;
    if (a < 0) != (b < 0) {
        -m
    } else {
        m
    }
}

/// Q64 quotient `a * 2^64 / b`, truncated toward zero (error < 1 ulp).
#[inline]
pub(crate) fn qdiv(a: i128, b: i128) -> Result<i128, MathError> {
    if b == 0 {
        return Err(MathError::DivisionByZero);
    }
    let ua = a.unsigned_abs();
    let (q, _) =
        div_u256_by_u128(ua >> 64, ua << 64, b.unsigned_abs()).ok_or(MathError::Overflow)?;
    let q = i128::try_from(q).map_err(|_| MathError::Overflow)?;
    Ok(if (a < 0) != (b < 0) { -q } else { q })
}

/// 2^128 / 10^18 (rounded to nearest): WAD -> Q64 is a multiply by this, then >> 64.
const WAD_TO_Q: i128 = 340_282_366_920_938_463_463;

/// WAD -> Q64 by multiplying with the rounded reciprocal (no division).
/// Error < 1 ulp + |x| * 1.1e-21 (relative error of the constant), i.e. < 7 ulp (4e-19)
/// for |x| <= 100 (every call site saturates or rejects larger inputs first).
#[inline]
pub(crate) fn wad_to_q(x: Wad) -> i128 {
    qmul(x, WAD_TO_Q)
}

/// WAD -> Q64, floor, exact (one i128 division): for `exp`, whose relative error is
/// the absolute error of its argument. Requires |x| < 2^81.
#[inline]
fn wad_to_q_exact(x: Wad) -> i128 {
    // x * 2^64 / 10^18 = x * 2^46 / 5^18.
    (x << 46).div_euclid(FIVE_18)
}

/// Q64 -> WAD rounded to nearest (ties up) for |q| < 2^85 (beyond: floor).
/// Error <= 0.5 wei.
#[inline]
pub(crate) fn q_to_wad(q: i128) -> Result<Wad, MathError> {
    // q * 10^18 / 2^64 = q * 5^18 / 2^46.
    if q.unsigned_abs() < (1u128 << 85) {
        Ok((q * FIVE_18 + (1 << 45)) >> 46)
    } else {
        mul_div(q, WAD, ONE_Q, Rounding::Down)
    }
}

/// floor(sqrt(hi * 2^128 + lo)) by Newton's method from an over-estimate (monotone
/// decreasing iterates, stops at the first non-decrease: the classic integer sqrt).
fn isqrt_u256(hi: u128, lo: u128) -> u128 {
    if hi == 0 && lo < 2 {
        return lo;
    }
    let bits = if hi != 0 {
        256 - hi.leading_zeros()
    } else {
        128 - lo.leading_zeros()
    };
    // Over-estimate 2^ceil(bits/2) >= sqrt(n); bits <= 254 in every use (inputs < 2^192),
    // so the shift stays below 128.
    let mut y: u128 = 1u128 << bits.div_ceil(2).min(127);
    loop {
        // y >= floor(sqrt(n)) > hi, so the quotient fits 128 bits.
        let (q, _) = match div_u256_by_u128(hi, lo, y) {
            Some(v) => v,
            None => return y,
        };
        let ny = (y >> 1) + (q >> 1) + (y & q & 1);
        if ny >= y {
            return y;
        }
        y = ny;
    }
}

/// ln(m) - offset for an integer m > 0, in Q64; `offset_q96` in Q96.
/// m = 2^k * f, f in [1/sqrt2, sqrt2); ln f = 2 atanh(s), s = (f-1)/(f+1), |s| <= 0.1716,
/// series sum_{n<=12} s^(2n+1)/(2n+1) (truncation < 0.03^13/27 ~ 4e-22).
/// Error: <= 4 Q64 ulp (~2.2e-19).
fn ln_core(m: u128, offset_q96: i128) -> i128 {
    let k = 127 - m.leading_zeros() as i32;
    // f in [2^64, 2^65) (Q64); bits below 2^-64 are dropped (relative error < 2^-64).
    let f: u128 = if k <= 64 {
        m << (64 - k)
    } else {
        m >> (k - 64)
    };
    let (num, den, k) = if f > SQRT2_Q {
        // f/2 in [sqrt2/2, 1): (f/2-1)/(f/2+1) = (f-2)/(f+2), exact.
        (f as i128 - 2 * ONE_Q, f as i128 + 2 * ONE_Q, k + 1)
    } else {
        (f as i128 - ONE_Q, f as i128 + ONE_Q, k)
    };
    // |num| < 0.59 * 2^64 so |num| << 64 fits u128: plain division on magnitudes.
    let s_mag = ((num.unsigned_abs() << 64) / den as u128) as i128;
    let s = if num < 0 { -s_mag } else { s_mag };
    // ln f = 2 s (1 + z R(z)), R(z) = sum_{n>=1} z^(n-1)/(2n+1) < 0.35: every Horner
    // factor stays below 1 (single-multiply products).
    let z = qmul_s(s, s);
    let mut r = INV_ODD[12] as i128;
    for &c in INV_ODD[1..12].iter().rev() {
        r = c as i128 + qmul_s(z, r);
    }
    let ln_f = 2 * (s + qmul_s(s, qmul_s(z, r)));
    let base = ((k as i128) * LN2_Q96 - offset_q96) >> 32;
    base + ln_f
}

/// sqrt of a WAD number (x >= 0) as Q64, floor: isqrt(x * 2^128 / 10^18) keeps full
/// relative precision for small x (unlike converting x to Q64 first). Error < 1 Q64 ulp
/// (+ ~1e-33 relative). Domain: 0 <= x < 2^127.
pub(crate) fn sqrt_wad_q(x: Wad) -> Result<i128, MathError> {
    if x < 0 {
        return Err(MathError::Domain);
    }
    // x * 2^128 / 10^18 = x * 2^110 / 5^18; x * 2^110 < 2^237 as a 256-bit (hi, lo) pair.
    let ux = x as u128;
    let (hi, lo) = (ux >> 18, ux << 110);
    let (nh, r1) = (hi / FIVE_18 as u128, hi % FIVE_18 as u128);
    let (nl, _) = div_u256_by_u128(r1, lo, FIVE_18 as u128).ok_or(MathError::Overflow)?;
    Ok(isqrt_u256(nh, nl) as i128)
}

/// ln of a positive Q64 number, in Q64. Error <= 4 ulp. `Domain` if x <= 0.
#[inline]
pub(crate) fn ln_q(x: i128) -> Result<i128, MathError> {
    if x <= 0 {
        return Err(MathError::Domain);
    }
    Ok(ln_core(x as u128, LN_Q64_Q96))
}

/// e^x for Q64 x with |x| <= 48: returns (mantissa in Q64, in [0.70, 1.42]), k) with
/// e^x = mantissa * 2^k. x = k ln2 + r, |r| <= 0.347; e^r by Taylor to r^16/16!
/// (truncation < 5e-23). Mantissa error <= 3 ulp.
fn exp_parts(x: i128) -> (i128, i32) {
    let k = (qmul(x, INV_LN2_Q) + (1 << 63)) >> 64;
    let r = x - ((k * LN2_Q96) >> 32);
    // e^r = 1 + r + r^2 Q(r), Q(r) = sum_{n>=2} r^(n-2)/n! in [0.44, 0.56]: every
    // Horner factor stays below 1 (single-multiply products).
    let mut q = INV_FACT[16] as i128;
    for &c in INV_FACT[2..16].iter().rev() {
        q = c as i128 + qmul_s(r, q);
    }
    (ONE_Q + r + qmul_s(qmul_s(r, r), q), k as i32)
}

/// Upper tail Q(|x|) = 1 - Phi(|x|) and phi(x), both Q64, for Q64 x.
///
/// Taylor expansion around the nearest grid point x_i = i/8 (|h| <= 1/16):
/// phi(x_i + h) = phi(x_i) g(h), g(h) = exp(-x_i h - h^2/2) = sum u_k with
/// u_0 = 1, u_1 = -x_i h, u_{k+1} = -(x_i h u_k + h^2 u_{k-1})/(k+1) (from g' = -(x_i+h) g),
/// Q(x_i + h) = Q(x_i) - phi(x_i) h sum u_k/(k+1).
/// All u_k are bounded by 1, so no cancellation; the loop stops when two consecutive
/// terms are below 1 ulp (the tail is then < 1 ulp). Error <= 3 ulp for both outputs.
pub(crate) fn tail_pdf_q(x: i128) -> (i128, i128) {
    let a = x.unsigned_abs();
    if a >= CDF_CUT_Q {
        return (0, 0);
    }
    let i = ((a + (1 << 60)) >> 61) as usize;
    let h = a as i128 - ((i as i128) << 61);
    let (q_i, phi_i) = CDF_TAB[i];
    // x_i h exactly as i*h/8 (floor); h^2 fits i128 (|h| <= 2^60).
    let c1 = ((i as i128) * h) >> 3;
    let c2 = (h * h) >> 64;
    // u_0 = 1, u_1 = -c1, u_2 = -(c1 u_1 + c2) / 2; from here every factor is < 1,
    // so the loop uses the single 64x64 multiply.
    let u1 = -c1;
    let mut u_prev = u1;
    let inv = |n: usize| INV_INT[n] as i128;
    let mut u = -qmul_s(qmul_s(c1, u1) + c2, inv(2));
    let mut s_int = ONE_Q + qmul_s(u1, inv(2)) + qmul_s(u, inv(3));
    let mut s_pdf = ONE_Q + u1 + u;
    let mut k = 2;
    while k + 2 < INV_INT.len() {
        let next = -qmul_s(qmul_s(c1, u) + qmul_s(c2, u_prev), inv(k + 1));
        s_int += qmul_s(next, inv(k + 2));
        s_pdf += next;
        if next.unsigned_abs() <= 1 && u.unsigned_abs() <= 1 {
            break;
        }
        u_prev = u;
        u = next;
        k += 1;
    }
    let phi_i = phi_i as i128;
    let q = q_i as i128 - qmul(phi_i, qmul(h, s_int));
    (q.max(0), qmul(phi_i, s_pdf).max(0))
}

/// Phi(x) and phi(x) in Q64 for Q64 x; Phi(-x) = ONE_Q - Phi(x) exactly.
#[inline]
pub(crate) fn cdf_pdf_q(x: i128) -> (i128, i128) {
    let (q, p) = tail_pdf_q(x);
    if x >= 0 {
        (ONE_Q - q, p)
    } else {
        (q, p)
    }
}

// ---------------------------------------------------------------------------
// Public WAD API
// ---------------------------------------------------------------------------

/// Square root: floor/ceil(sqrt(x / 10^18) * 10^18) = isqrt(x * 10^18), rounded in
/// direction `r`.
///
/// Domain: x >= 0 (else `Domain`). Computed exactly (Newton on the 256-bit integer
/// x * 10^18), so the result is the exact root rounded in direction `r`: error < 1 wei.
pub fn sqrt(x: Wad, r: Rounding) -> Result<Wad, MathError> {
    if x < 0 {
        return Err(MathError::Domain);
    }
    let (hi, lo) = mul_u128_wide(x as u128, WAD as u128);
    let y = isqrt_u256(hi, lo);
    let (sh, sl) = mul_u128_wide(y, y);
    let exact = sh == hi && sl == lo;
    let y = if r == Rounding::Up && !exact {
        y + 1
    } else {
        y
    };
    Ok(y as i128)
}

/// Natural logarithm ln(x) of a WAD number, WAD result rounded to nearest.
///
/// Formula: x = 2^k f 10^-18 with f in [1/sqrt2, sqrt2]; ln x = k ln2 - 18 ln10 + 2 atanh((f-1)/(f+1)),
/// atanh by its odd power series in Q64. Domain: x > 0 (else `Domain`); the result lies in
/// [-41.45, 46.59]. Error bound: |ln(x) - exact| <= 1 wei (Q64 error <= 5 * 2^-64 plus
/// nearest rounding; measured max 0.78 wei over 80k inputs, tests/math_accuracy.rs).
pub fn ln(x: Wad) -> Result<Wad, MathError> {
    if x <= 0 {
        return Err(MathError::Domain);
    }
    q_to_wad(ln_core(x as u128, LN_WAD_Q96))
}

/// Exponential e^x of a WAD number, WAD result rounded to nearest.
///
/// Formula: x = k ln2 + r, |r| <= ln2/2, e^x = 2^k (1 + r + r^2 sum_{n=2}^{16} r^(n-2)/n!)
/// in Q64 (truncation < 5e-23). Domain: all x; x < -43 returns 0 (e^x < 0.5 wei), and
/// `Overflow` when e^x exceeds i128::MAX wei (x > ~46.58).
/// Error bound: |e^x - exact| <= 1 wei + 3e-19 * e^x (nearest rounding plus the Q64
/// mantissa error, relative). Measured over 80k inputs: max 0.84 wei for x <= 1.6,
/// max 2.0e-19 relative above.
pub fn exp(x: Wad) -> Result<Wad, MathError> {
    if x > 47 * WAD {
        return Err(MathError::Overflow);
    }
    if x < -43 * WAD {
        return Ok(0);
    }
    let (m, k) = exp_parts(wad_to_q_exact(x));
    // m * 10^18 < 1.42 * 2^64 * 2^60 fits u128; then scale by 2^(k-64).
    let v = (m as u128) * (WAD as u128);
    let shift = 64 - k;
    let out = if shift > 0 {
        let s = shift as u32;
        if s >= 128 {
            0
        } else {
            (v >> s) + ((v >> (s - 1)) & 1)
        }
    } else {
        let s = (-shift) as u32;
        if v.leading_zeros() <= s {
            return Err(MathError::Overflow);
        }
        v << s
    };
    i128::try_from(out).map_err(|_| MathError::Overflow)
}

/// Standard normal cumulative distribution Phi(x) = (1 + erf(x / sqrt2)) / 2, WAD in,
/// WAD out in [0, WAD], rounded to nearest.
///
/// Formula: Taylor expansion of the tail around the nearest point of a 1/8 grid of
/// tabulated Q(x_i), phi(x_i) (see `tail_pdf_q`). Domain: all i128; saturates to 0 / WAD
/// for |x| >= 9.5625 (true tail < 1e-21). Error bound: <= 1 wei
/// (Q64 error <= 4 * 2^-64 plus nearest rounding; measured max 0.59 wei).
/// Phi(-x) = WAD - Phi(x) exactly; monotone non-decreasing.
pub fn norm_cdf(x: Wad) -> Result<Wad, MathError> {
    if x >= 10 * WAD {
        return Ok(WAD);
    }
    if x <= -10 * WAD {
        return Ok(0);
    }
    let (q, _) = tail_pdf_q(wad_to_q(x));
    // Round the tail once, then mirror: keeps the symmetry exact.
    let qw = q_to_wad(q)?;
    Ok(if x >= 0 { WAD - qw } else { qw })
}

/// Standard normal density phi(x) = exp(-x^2/2) / sqrt(2 pi), WAD in, WAD out, rounded to nearest.
///
/// Formula: same grid expansion as [`norm_cdf`]. Domain: all i128; returns 0 for
/// |x| >= 9.5625 (true value < 1e-20). Error bound: <= 1 wei (measured max 0.58 wei).
/// Even: phi(-x) = phi(x).
pub fn norm_pdf(x: Wad) -> Result<Wad, MathError> {
    if x.unsigned_abs() >= 10 * WAD as u128 {
        return Ok(0);
    }
    let (_, p) = tail_pdf_q(wad_to_q(x));
    q_to_wad(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_errors_on_non_positive() {
        assert_eq!(ln(0), Err(MathError::Domain));
        assert_eq!(ln(-1), Err(MathError::Domain));
    }

    #[test]
    fn ln_of_one_is_zero_and_of_e_is_one() {
        assert_eq!(ln(WAD), Ok(0));
        let e = 2_718_281_828_459_045_235;
        assert!((ln(e).unwrap() - WAD).abs() <= 1);
    }

    #[test]
    fn exp_errors_on_overflow_and_underflows_to_zero() {
        assert_eq!(exp(47 * WAD), Err(MathError::Overflow));
        assert_eq!(exp(i128::MAX), Err(MathError::Overflow));
        assert_eq!(exp(46_600_000_000_000_000_000), Err(MathError::Overflow));
        assert!(exp(46_500_000_000_000_000_000).is_ok());
        assert_eq!(exp(-44 * WAD), Ok(0));
        assert_eq!(exp(i128::MIN), Ok(0));
        assert_eq!(exp(0), Ok(WAD));
    }

    #[test]
    fn sqrt_errors_on_negative_and_is_exact_on_squares() {
        assert_eq!(sqrt(-1, Rounding::Down), Err(MathError::Domain));
        assert_eq!(sqrt(4 * WAD, Rounding::Down), Ok(2 * WAD));
        assert_eq!(sqrt(4 * WAD, Rounding::Up), Ok(2 * WAD));
        assert_eq!(sqrt(2 * WAD, Rounding::Down), Ok(1_414_213_562_373_095_048));
        assert_eq!(sqrt(2 * WAD, Rounding::Up), Ok(1_414_213_562_373_095_049));
        assert_eq!(sqrt(0, Rounding::Up), Ok(0));
        assert!(sqrt(i128::MAX, Rounding::Up).is_ok());
    }

    #[test]
    fn norm_cdf_saturates_and_is_symmetric() {
        assert_eq!(norm_cdf(i128::MIN), Ok(0));
        assert_eq!(norm_cdf(i128::MAX), Ok(WAD));
        assert_eq!(norm_cdf(0), Ok(WAD / 2));
        for x in [1, WAD / 3, WAD, 3 * WAD, 7 * WAD + 12345] {
            assert_eq!(norm_cdf(x).unwrap() + norm_cdf(-x).unwrap(), WAD);
        }
    }

    #[test]
    fn norm_pdf_at_zero_is_inverse_sqrt_two_pi() {
        // 1/sqrt(2 pi) = 0.398942280401432677939946...
        assert_eq!(norm_pdf(0), Ok(398_942_280_401_432_678));
        assert_eq!(norm_pdf(i128::MIN), Ok(0));
    }

    #[test]
    fn qdiv_errors_on_zero_divisor() {
        assert_eq!(qdiv(ONE_Q, 0), Err(MathError::DivisionByZero));
        assert_eq!(qdiv(ONE_Q, 2 * ONE_Q), Ok(ONE_Q / 2));
        assert_eq!(qdiv(-ONE_Q, 2 * ONE_Q), Ok(-ONE_Q / 2));
    }
}
