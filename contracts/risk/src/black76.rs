//! Black-76 option pricing (rate 0, forward = spot unless the caller adds a basis), WAD.
//!
//! price(call) = F N(d1) - K N(d2), price(put) = K N(-d2) - F N(-d1),
//! d1 = ln(F/K) / (sigma sqrt t) + sigma sqrt t / 2, d2 = d1 - sigma sqrt t.
//!
//! All internal arithmetic is Q64 binary fixed point (see [`crate::math`]); no floats.
//! Cost: one `sqrt`, one `ln`, two normal-CDF evaluations (which also yield phi(d1)
//! for the greeks at no extra transcendental call) and three 256/128 divisions.
//!
//! Put-call parity is exact (0 wei): only the out-of-the-money side (put if F >= K,
//! call otherwise) is evaluated from the formula, the other side is derived as
//! `call = put + F - K` in exact integer arithmetic. The OTM side is the small one,
//! so its absolute error is the smaller, and the derived side inherits it unchanged.
//!
//! Error bounds (vs a 224-bit big-integer reference over random + corner samples of the
//! whole domain, enforced by tests/black76_accuracy.rs; F, K in human units below):
//! - price: |error| <= 2 wei + 4e-18 (F + K); measured max excess over 4e-18 (F + K) is
//!   0.49 wei, and max |error| / F = 6.1e-19 for F >= 1 (the 1e-12 x F target is met
//!   with ~6 orders of margin; for F < 1e-6 the 1-wei output resolution dominates);
//! - delta: <= 1 wei + 0.4 / (sigma sqrt t) wei (a Q64-ulp error in ln(F/K) moves d1 by
//!   ulp / (sigma sqrt t)); measured max 4.7e-15 at sigma sqrt t = 1.4e-5;
//! - gamma: <= 2 wei + 1e-15 gamma + 0.4 / (F sigma sqrt t) wei (phi's Q64 ulp);
//! - vega: <= 2 wei + 1e-15 vega + 0.4 F sqrt t wei.
//!
//! Cost: native (`cargo bench -p keel-risk --bench black76 --profile native`) price-only
//! ~0.65 us, with greeks ~0.75 us; in WASM under Stylus ink metering (the devnet
//! stylus-runtime) ~1,010 gas price-only and ~1,260 gas with greeks (1.25x): the greeks
//! reuse phi(d1) from the CDF evaluation. Of a price: 2 x norm_cdf ~230 gas each,
//! sqrt(t) ~230 gas (Newton with 256/128 divisions), ln ~130 gas.

use crate::fixed::mul_u128_wide;
use crate::fixed::{mul_div, MathError, Rounding, Wad, WAD};
use crate::math::{cdf_pdf_q, ln_q, q_to_wad, qdiv, sqrt_wad_q, ONE_Q};

/// Seconds in a (365-day) year: t_years = seconds / 31_536_000.
pub const SECONDS_PER_YEAR: u64 = 31_536_000;

/// Smallest accepted volatility: 1% (WAD).
pub const VOL_MIN: Wad = WAD / 100;
/// Largest accepted volatility: 500% (WAD).
pub const VOL_MAX: Wad = 5 * WAD;
/// Shortest accepted unexpired time: one minute in years (= `years_from_seconds(60)`).
pub const T_MIN: Wad = 1_902_587_519_025;
/// Longest accepted time to expiry: 2 years (WAD).
pub const T_MAX: Wad = 2 * WAD;
/// Bounds of strike/forward: [1/5, 5] (checked as 5K >= F and K <= 5F).
pub const MONEYNESS_MAX: i128 = 5;

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Right to buy at the strike.
    Call,
    /// Right to sell at the strike.
    Put,
}

/// Price and sensitivities of one option on one unit of underlying, all WAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeks {
    /// Option value in units of the forward's currency (WAD).
    pub price: Wad,
    /// dPrice/dForward: call in [0, 1], put in [-1, 0] (WAD).
    pub delta: Wad,
    /// d2Price/dForward2 per unit of forward (WAD, >= 0).
    pub gamma: Wad,
    /// dPrice/dVol per 1.00 (= 100 vol points) change in vol (WAD, >= 0).
    pub vega: Wad,
}

/// Years (WAD) from seconds: `seconds * 10^18 / 31_536_000`, rounded down (exact in i128
/// for every u64).
pub fn years_from_seconds(seconds: u64) -> Wad {
    (seconds as i128) * WAD / SECONDS_PER_YEAR as i128
}

/// Validated intermediate quantities shared by the price and greek paths (Q64).
struct Prepared {
    sqrt_t: i128,
    /// vol * sqrt(t) scaled by 10^18 * 2^64.
    v_wq: i128,
    d1: i128,
    d2: i128,
}

fn check_positive(forward: Wad, strike: Wad) -> Result<(), MathError> {
    if forward <= 0 || strike <= 0 {
        return Err(MathError::Domain);
    }
    Ok(())
}

fn prepare(forward: Wad, strike: Wad, vol: Wad, t: Wad) -> Result<Prepared, MathError> {
    check_positive(forward, strike)?;
    if !(VOL_MIN..=VOL_MAX).contains(&vol) || !(T_MIN..=T_MAX).contains(&t) {
        return Err(MathError::Domain);
    }
    // 5K >= F and K <= 5F; a multiplication that overflows means "certainly large enough".
    let k5_ok = strike
        .checked_mul(MONEYNESS_MAX)
        .is_none_or(|k5| k5 >= forward);
    let f5_ok = forward
        .checked_mul(MONEYNESS_MAX)
        .is_none_or(|f5| strike <= f5);
    if !k5_ok || !f5_ok {
        return Err(MathError::Domain);
    }
    let sqrt_t = sqrt_wad_q(t)?;
    // v = vol sqrt t keeps full relative precision as vol_wad * sqrt_t (WAD*Q64 scale,
    // < 2^127): v in Q64 alone is only ~4e-15 relative at v = 1.4e-5, which would show
    // up in d1 (delta) and gamma.
    let v_wq = vol * sqrt_t;
    let v = v_wq / WAD;
    let x = ln_q(qdiv(forward, strike)?)?;
    // d1 = x / v + v / 2 with x / v = x * 2^64 * 10^18 / v_wq (2^64 * 10^18 < 2^127).
    let d1 = mul_div(x, ONE_Q * WAD, v_wq, Rounding::Down)? + (v >> 1);
    Ok(Prepared {
        sqrt_t,
        v_wq,
        d1,
        d2: d1 - v,
    })
}

/// round((a * p - b * q) / 2^64), floored at 0, for a, b >= 0 (WAD) and p, q in [0, 2^64]
/// (Q64 probabilities): the exact 256-bit difference is rounded once.
fn combine(a: Wad, p: i128, b: Wad, q: i128) -> Wad {
    let (h1, l1) = mul_u128_wide(a as u128, p as u128);
    let (h2, l2) = mul_u128_wide(b as u128, q as u128);
    if (h1, l1) <= (h2, l2) {
        return 0;
    }
    let (l, borrow) = l1.overflowing_sub(l2);
    let h = h1 - h2 - borrow as u128;
    // The difference is <= a * 2^64 < 2^191, so the shifted value fits i128.
    (((h << 64) | (l >> 64)) + ((l >> 63) & 1)) as i128
}

/// round(a * q / 2^64) for a >= 0 (WAD) and 0 <= q < 2^66 (Q64); `Overflow` past i128.
fn scale(a: Wad, q: i128) -> Result<Wad, MathError> {
    let (h, l) = mul_u128_wide(a as u128, q as u128);
    if h >> 63 != 0 {
        return Err(MathError::Overflow);
    }
    let v = ((h << 64) | (l >> 64)) + ((l >> 63) & 1);
    i128::try_from(v).map_err(|_| MathError::Overflow)
}

/// Intrinsic value and delta at expiry (t <= 0).
fn expired(kind: OptionKind, forward: Wad, strike: Wad) -> Result<Greeks, MathError> {
    check_positive(forward, strike)?;
    let (price, delta) = match kind {
        OptionKind::Call if forward > strike => (forward - strike, WAD),
        OptionKind::Put if forward < strike => (strike - forward, -WAD),
        _ => (0, 0),
    };
    Ok(Greeks {
        price,
        delta,
        gamma: 0,
        vega: 0,
    })
}

/// Price from N(d1), N(d2) (Q64): the OTM side by formula, the ITM side by exact parity.
fn price_from(kind: OptionKind, forward: Wad, strike: Wad, n1: i128, n2: i128) -> Wad {
    if forward >= strike {
        let put = combine(strike, ONE_Q - n2, forward, ONE_Q - n1);
        match kind {
            OptionKind::Put => put,
            OptionKind::Call => put + (forward - strike),
        }
    } else {
        let call = combine(forward, n1, strike, n2);
        match kind {
            OptionKind::Call => call,
            OptionKind::Put => call + (strike - forward),
        }
    }
}

/// Black-76 price only (the cheap path used for every scenario), WAD.
///
/// Inputs: forward F and strike K in WAD (> 0), vol in WAD (0.8 = 80%), t in years (WAD).
/// Domain: vol in [1%, 500%], t in [1 minute, 2 years], K/F in [0.2, 5], else `Domain`;
/// t <= 0 means expired: the intrinsic value (vol ignored, only F, K > 0 required).
/// Rounding: nearest on the OTM side; parity `call - put = F - K` holds exactly.
/// Error bound: |error| <= 2 wei + 4e-18 * (F + K) (see module docs).
pub fn black76_price(
    kind: OptionKind,
    forward: Wad,
    strike: Wad,
    vol: Wad,
    t_years: Wad,
) -> Result<Wad, MathError> {
    if t_years <= 0 {
        return expired(kind, forward, strike).map(|g| g.price);
    }
    let p = prepare(forward, strike, vol, t_years)?;
    let (n1, _) = cdf_pdf_q(p.d1);
    let (n2, _) = cdf_pdf_q(p.d2);
    Ok(price_from(kind, forward, strike, n1, n2))
}

/// Black-76 price and greeks (delta, gamma per unit of forward, vega per 1.00 vol), WAD.
///
/// Same inputs, domain and price as [`black76_price`] (the price is bit-identical).
/// delta(call) = N(d1), delta(put) = N(d1) - 1 (so delta_call - delta_put = 1 exactly),
/// gamma = phi(d1) / (F sigma sqrt t), vega = F phi(d1) sqrt t; expired: delta 0 / +-1
/// by moneyness (at the money: 0), gamma = vega = 0.
/// Errors: `Domain` as above; `Overflow` if gamma does not fit (F of a few wei).
pub fn black76(
    kind: OptionKind,
    forward: Wad,
    strike: Wad,
    vol: Wad,
    t_years: Wad,
) -> Result<Greeks, MathError> {
    if t_years <= 0 {
        return expired(kind, forward, strike);
    }
    let p = prepare(forward, strike, vol, t_years)?;
    let (n1, phi1) = cdf_pdf_q(p.d1);
    let (n2, _) = cdf_pdf_q(p.d2);
    let price = price_from(kind, forward, strike, n1, n2);
    let call_delta = q_to_wad(n1)?;
    let delta = match kind {
        OptionKind::Call => call_delta,
        OptionKind::Put => call_delta - WAD,
    };
    // gamma = (phi / v) / F. phi / v (<= 0.4 / 1.4e-5) is kept with 32 extra bits
    // (WAD * 2^32 scale) so the division by a small F does not magnify its rounding.
    let ratio = mul_div(phi1, WAD * WAD, p.v_wq >> 32, Rounding::Down)?;
    let gamma = match mul_div(ratio, WAD, forward, Rounding::Down) {
        Ok(g) => g >> 32,
        // gamma * 2^32 beyond i128 (gamma > 4e10 per unit, F of micro-units): drop the guard bits.
        Err(_) => mul_div(ratio >> 32, WAD, forward, Rounding::Down)?,
    };
    // vega = (F sqrt t) phi: F sqrt t first (WAD, >= 1.4e-3 F) so that a small phi is not
    // truncated in a Q64 product before the (possibly large) F scales it up.
    let vega = scale(scale(forward, p.sqrt_t)?, phi1)?;
    Ok(Greeks {
        price,
        delta,
        gamma,
        vega,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Wad = 2000 * WAD;

    #[test]
    fn black76_errors_outside_the_domain() {
        let t = WAD / 4;
        let v = WAD / 2;
        let c = OptionKind::Call;
        assert_eq!(black76_price(c, 0, F, v, t), Err(MathError::Domain));
        assert_eq!(black76_price(c, F, -1, v, t), Err(MathError::Domain));
        assert_eq!(
            black76_price(c, F, F, VOL_MIN - 1, t),
            Err(MathError::Domain)
        );
        assert_eq!(
            black76_price(c, F, F, VOL_MAX + 1, t),
            Err(MathError::Domain)
        );
        assert_eq!(black76_price(c, F, F, v, T_MIN - 1), Err(MathError::Domain));
        assert_eq!(black76_price(c, F, F, v, T_MAX + 1), Err(MathError::Domain));
        assert_eq!(black76_price(c, F, F / 5 - 1, v, t), Err(MathError::Domain));
        assert_eq!(black76_price(c, F, F * 5 + 1, v, t), Err(MathError::Domain));
        assert!(black76_price(c, F, F / 5, v, t).is_ok());
        assert!(black76_price(c, F, F * 5, v, t).is_ok());
        assert!(black76(c, F, F, VOL_MIN, T_MIN).is_ok());
        assert!(black76(c, F, F, VOL_MAX, T_MAX).is_ok());
    }

    #[test]
    fn expired_options_are_intrinsic() {
        let g = black76(OptionKind::Call, F, F - WAD, WAD, 0).unwrap();
        assert_eq!(
            g,
            Greeks {
                price: WAD,
                delta: WAD,
                gamma: 0,
                vega: 0
            }
        );
        let g = black76(OptionKind::Put, F, F - WAD, WAD, -5).unwrap();
        assert_eq!(
            g,
            Greeks {
                price: 0,
                delta: 0,
                gamma: 0,
                vega: 0
            }
        );
        let g = black76(OptionKind::Put, F, F + WAD, 0, 0).unwrap();
        assert_eq!(
            g,
            Greeks {
                price: WAD,
                delta: -WAD,
                gamma: 0,
                vega: 0
            }
        );
        let g = black76(OptionKind::Call, F, F, 0, 0).unwrap();
        assert_eq!(g.delta, 0);
        assert_eq!(
            black76_price(OptionKind::Call, 0, F, WAD, 0),
            Err(MathError::Domain)
        );
    }

    #[test]
    fn years_from_seconds_matches_t_min() {
        assert_eq!(years_from_seconds(60), T_MIN);
        assert_eq!(years_from_seconds(SECONDS_PER_YEAR), WAD);
        assert!(years_from_seconds(u64::MAX) > 0);
    }

    #[test]
    fn atm_call_matches_closed_form() {
        // ATM: C = F (2 N(v/2) - 1); F = 2000, vol 80%, t = 0.25 -> v = 0.4,
        // C = 2000 * (2 N(0.2) - 1) = 317.038837756412092169751811825... (mpmath, 30 digits)
        let c = black76_price(OptionKind::Call, F, F, 8 * WAD / 10, WAD / 4).unwrap();
        assert!((c - 317_038_837_756_412_092_170).abs() <= 200, "{c}");
    }

    #[test]
    fn parity_is_exact() {
        for k in [F / 5, F / 2, F - 1, F, F + 1, 2 * F, 5 * F] {
            let c = black76_price(OptionKind::Call, F, k, WAD / 2, WAD / 3).unwrap();
            let p = black76_price(OptionKind::Put, F, k, WAD / 2, WAD / 3).unwrap();
            assert_eq!(c - p, F - k);
        }
    }
}
