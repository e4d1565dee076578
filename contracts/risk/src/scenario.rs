//! Stress scenarios per underlying (SPAN-like scan) and series revaluation.
//!
//! Scenario set of one underlying with scan range R (index order, which
//! [`scenario_at`] decodes):
//! 1. Grid: for spot point j = -k..=k (shock s = R x j / k) and vol shock in
//!    (Down, None, Up): index `(j + k) * 3 + v`, 3(2k+1) scenarios, valued now.
//! 2. Extremes: for each configured multiple m: s = m x R, vol unchanged, PnL
//!    multiplied by the cover fraction.
//! 3. Roll (only when `time_roll_seconds > 0`): spot points j = -k..=k, vol
//!    unchanged, options valued `time_roll_seconds` later. Perps do not move with
//!    time, so an unshocked roll isolates the options' time decay.
//!
//! Shocked spot = spot x (1 + s), rounded away from spot and floored at spot / 100 (a
//! shock beyond -99% is treated as -99%). Vol is *sticky strike*: each series
//! keeps the smile vol of its strike at the current spot, then the vol shock is
//! applied: Down = vol x (1 - vol_down) (rounded down), Up = vol x (1 + vol_up x
//! (30 d / max(T, 1 d))^p) (rounded up), both clamped to [`VOL_MIN`, `VOL_MAX`].
//!
//! Cost shape: positions are netted into distinct series (underlying, kind,
//! strike, expiry; all perps of an underlying form one series); each series is
//! valued once per scenario and the per-scenario portfolio PnL is the sum of
//! net size x per-series PnL. Work = series x scenarios Black-76 evaluations.

use alloc::vec::Vec;

use crate::black76::{black76, black76_price, years_from_seconds, OptionKind, VOL_MAX, VOL_MIN};
use crate::error::RiskError;
use crate::fixed::{add, mul_div, sub, wmul, MathError, Rounding, Wad, WAD};
use crate::math::{exp, ln};
use crate::portfolio::{Instrument, Position, RiskParams};
use crate::smile::Smile;

/// Floor of the shocked-spot factor (1 + s): 0.01.
pub const MIN_SPOT_FACTOR: Wad = WAD / 100;
/// 30 days in seconds: the reference expiry of the vol-up shape.
pub const VOL_UP_REFERENCE_SECONDS: i128 = 30 * 86_400;
/// 1 day in seconds: the shortest expiry the vol-up shape distinguishes.
pub const VOL_UP_MIN_SECONDS: i128 = 86_400;

/// Volatility shock of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolShock {
    /// vol x (1 - vol_down).
    Down,
    /// Vol unchanged.
    None,
    /// vol x (1 + vol_up x (30 d / max(T, 1 d))^p).
    Up,
}

/// Which family a scenario belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioKind {
    /// Spot grid point x vol shock, valued now.
    Grid,
    /// Extreme spot move (multiple of R), vol unchanged, PnL x cover.
    Extreme,
    /// Spot grid point, vol unchanged, valued `time_roll_seconds` later.
    Roll,
}

/// A decoded scenario (see the module docs for the index order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Family.
    pub kind: ScenarioKind,
    /// Relative spot shock s (WAD): shocked spot = spot x (1 + s).
    pub spot_shock: Wad,
    /// Vol shock.
    pub vol: VolShock,
    /// Seconds added to `now` before valuing options.
    pub roll_seconds: u64,
    /// Weight (WAD) applied to the scenario's PnL: 1, or the extreme cover.
    pub weight: Wad,
}

/// Number of scenarios per underlying: 3(2k+1) + extremes + (2k+1 if roll).
pub fn scenario_count(params: &RiskParams) -> usize {
    let points = 2 * params.grid_k as usize + 1;
    let roll = if params.time_roll_seconds > 0 {
        points
    } else {
        0
    };
    3 * points + params.extreme_moves.len() + roll
}

/// Decodes scenario `index` for scan range `range` (WAD fraction); `None` when
/// `index >= scenario_count(params)`. Shocks (`range x j / k`, `m x range`)
/// are rounded away from zero, so no move is smaller than nominal.
pub fn scenario_at(
    params: &RiskParams,
    range: Wad,
    index: usize,
) -> Result<Option<Scenario>, RiskError> {
    let k = params.grid_k as i128;
    let points = 2 * params.grid_k as usize + 1;
    let grid = 3 * points;
    let grid_shock = |point: usize| {
        let j = point as i128 - k;
        mul_div(range, j, k.max(1), away_from_zero(j))
    };
    if index < grid {
        let vol = match index % 3 {
            0 => VolShock::Down,
            1 => VolShock::None,
            _ => VolShock::Up,
        };
        return Ok(Some(Scenario {
            kind: ScenarioKind::Grid,
            spot_shock: grid_shock(index / 3)?,
            vol,
            roll_seconds: 0,
            weight: WAD,
        }));
    }
    let index = index - grid;
    if let Some(m) = params.extreme_moves.get(index) {
        return Ok(Some(Scenario {
            kind: ScenarioKind::Extreme,
            spot_shock: wmul(*m, range, away_from_zero(*m))?,
            vol: VolShock::None,
            roll_seconds: 0,
            weight: params.extreme_cover,
        }));
    }
    let index = index - params.extreme_moves.len();
    if params.time_roll_seconds > 0 && index < points {
        return Ok(Some(Scenario {
            kind: ScenarioKind::Roll,
            spot_shock: grid_shock(index)?,
            vol: VolShock::None,
            roll_seconds: params.time_roll_seconds,
            weight: WAD,
        }));
    }
    Ok(None)
}

/// All scenarios for scan range `range`, in index order.
pub fn scenarios(params: &RiskParams, range: Wad) -> Result<Vec<Scenario>, RiskError> {
    let n = scenario_count(params);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(s) = scenario_at(params, range, i)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// Rounding that moves a value of sign `x` away from zero (Down for x < 0).
fn away_from_zero(x: i128) -> Rounding {
    if x < 0 {
        Rounding::Down
    } else {
        Rounding::Up
    }
}

/// Spot after shock `s`: spot x max(1 + s, [`MIN_SPOT_FACTOR`]), rounded away
/// from the unshocked spot (down for s < 0, up for s > 0), so a rounded move is
/// never smaller than the nominal one and directional losses never round in the
/// account's favour.
pub fn shocked_spot(spot: Wad, shock: Wad) -> Result<Wad, MathError> {
    let factor = add(WAD, shock)?.max(MIN_SPOT_FACTOR);
    wmul(spot, factor, away_from_zero(shock))
}

/// Intrinsic value per unit: max(S - K, 0) for calls, max(K - S, 0) for puts.
pub fn intrinsic(kind: OptionKind, spot: Wad, strike: Wad) -> Result<Wad, MathError> {
    let v = match kind {
        OptionKind::Call => sub(spot, strike)?,
        OptionKind::Put => sub(strike, spot)?,
    };
    Ok(v.max(0))
}

/// Option value per unit with `seconds` to expiry, Black-76 with forward = spot.
///
/// Keeps every evaluation inside Black-76's domain:
/// - `seconds <= 0`: expired, intrinsic value;
/// - 0 < seconds < 60: valued at 60 s (the model's shortest expiry);
/// - more than 2 years: `Domain` error (the engine lists nothing that long);
/// - vol clamped to [`VOL_MIN`, `VOL_MAX`];
/// - strike/spot outside [0.2, 5]: the out-of-the-money side (call above 5 x
///   spot, put below spot / 5) lies between 0 and its value at the boundary
///   strike (calls fall, puts rise with the strike); `bias` picks the bound —
///   `Down` the lower (for long holders), `Up` the upper (for short holders) —
///   and the in-the-money side follows by exact parity.
pub fn option_value(
    kind: OptionKind,
    spot: Wad,
    strike: Wad,
    vol: Wad,
    seconds: i128,
    bias: Rounding,
) -> Result<Wad, MathError> {
    if seconds <= 0 {
        return intrinsic(kind, spot, strike);
    }
    let t = years_from_seconds(u64::try_from(seconds.max(60)).map_err(|_| MathError::Overflow)?);
    let vol = vol.clamp(VOL_MIN, VOL_MAX);
    let five_spot = spot.checked_mul(5).ok_or(MathError::Overflow)?;
    let five_strike = strike.checked_mul(5).ok_or(MathError::Overflow)?;
    if strike > five_spot {
        let call = match bias {
            Rounding::Down => 0,
            Rounding::Up => black76_price(OptionKind::Call, spot, five_spot, vol, t)?,
        };
        return match kind {
            OptionKind::Call => Ok(call),
            OptionKind::Put => add(call, sub(strike, spot)?),
        };
    }
    if five_strike < spot {
        let put = match bias {
            Rounding::Down => 0,
            Rounding::Up => {
                // Smallest strike inside the domain: ceil(spot / 5).
                let k = mul_div(spot, 1, 5, Rounding::Up)?;
                black76_price(OptionKind::Put, spot, k, vol, t)?
            }
        };
        return match kind {
            OptionKind::Put => Ok(put),
            OptionKind::Call => add(put, sub(spot, strike)?),
        };
    }
    black76_price(kind, spot, strike, vol, t)
}

/// Bound choice for a holder of signed `size`: lower values for longs, upper for shorts.
fn bias_for(size: Wad) -> Rounding {
    if size < 0 {
        Rounding::Up
    } else {
        Rounding::Down
    }
}

/// Vol-up time shape (30 d / max(T, 1 d))^p in WAD, computed as
/// exp(p x ln(ratio)); exactly 1 when p = 0 or T = 30 d.
pub fn vol_up_shape(seconds_to_expiry: i128, power: Wad) -> Result<Wad, MathError> {
    let t = seconds_to_expiry.max(VOL_UP_MIN_SECONDS);
    if power == 0 || t == VOL_UP_REFERENCE_SECONDS {
        return Ok(WAD);
    }
    let ratio = mul_div(VOL_UP_REFERENCE_SECONDS, WAD, t, Rounding::Up)?;
    exp(wmul(power, ln(ratio)?, Rounding::Up)?)
}

/// A distinct series of one underlying, priced at the current market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricedSeries {
    /// Perp or option series (perps of one underlying are one series).
    pub instrument: Instrument,
    /// Net size over all positions in the series (WAD, signed).
    pub size: Wad,
    /// Smile vol at the strike and current spot (0 for perps).
    pub vol: Wad,
    /// Vol under the Down shock.
    pub vol_down: Wad,
    /// Vol under the Up shock (time-shaped).
    pub vol_up: Wad,
    /// Seconds to expiry at `now` (may be <= 0: expired; 0 for perps).
    pub seconds: i128,
    /// Per-unit value now (options: Black-76 or intrinsic; perps: spot).
    pub value: Wad,
    /// Per-unit delta now (perps: 1).
    pub delta: Wad,
    /// Per-unit gamma now.
    pub gamma: Wad,
    /// Per-unit vega now (per 1.00 vol).
    pub vega: Wad,
}

impl PricedSeries {
    /// Per-unit value at spot `s`, vol shock `v` and `roll` extra seconds
    /// (perps: `s`, independent of vol and time).
    pub fn value_at(&self, s: Wad, v: VolShock, roll: u64) -> Result<Wad, MathError> {
        match self.instrument {
            Instrument::Perp => Ok(s),
            Instrument::Option { kind, strike, .. } => {
                let vol = match v {
                    VolShock::Down => self.vol_down,
                    VolShock::None => self.vol,
                    VolShock::Up => self.vol_up,
                };
                option_value(
                    kind,
                    s,
                    strike,
                    vol,
                    self.seconds - roll as i128,
                    bias_for(self.size),
                )
            }
        }
    }
}

/// Nets the positions of `underlying` into distinct series and prices each at
/// `spot` / `now`. Zero net-size series are dropped. Errors on overflow or a
/// failing smile/Black-76 evaluation.
pub fn price_series(
    positions: &[Position],
    underlying: u32,
    spot: Wad,
    smile: &Smile,
    now: u64,
    params: &RiskParams,
) -> Result<Vec<PricedSeries>, RiskError> {
    let mut nets: Vec<(Instrument, Wad)> = Vec::new();
    for p in positions.iter().filter(|p| p.underlying == underlying) {
        match nets.iter_mut().find(|(i, _)| *i == p.instrument) {
            Some((_, size)) => *size = add(*size, p.size)?,
            None => nets.push((p.instrument, p.size)),
        }
    }
    let mut out = Vec::with_capacity(nets.len());
    for (instrument, size) in nets.into_iter().filter(|(_, s)| *s != 0) {
        out.push(match instrument {
            Instrument::Perp => PricedSeries {
                instrument,
                size,
                vol: 0,
                vol_down: 0,
                vol_up: 0,
                seconds: 0,
                value: spot,
                delta: WAD,
                gamma: 0,
                vega: 0,
            },
            Instrument::Option {
                kind,
                strike,
                expiry,
            } => {
                let seconds = expiry as i128 - now as i128;
                let vol = smile.implied_vol(spot, strike)?.clamp(VOL_MIN, VOL_MAX);
                let vol_down = wmul(vol, WAD - params.vol_down, Rounding::Down)?;
                let bump = wmul(
                    params.vol_up,
                    vol_up_shape(seconds, params.vol_up_power)?,
                    Rounding::Up,
                )?;
                let vol_up = wmul(vol, add(WAD, bump)?, Rounding::Up)?;
                let in_domain =
                    strike <= spot.saturating_mul(5) && strike.saturating_mul(5) >= spot;
                let greeks = if seconds > 0 && in_domain {
                    let secs = u64::try_from(seconds.max(60)).map_err(|_| MathError::Overflow)?;
                    black76(kind, spot, strike, vol, years_from_seconds(secs))?
                } else {
                    // Expired (intrinsic) or outside the moneyness domain (bounded
                    // value): greeks of the limit, delta +-1 in the money, 0 out
                    // of it, gamma = vega = 0.
                    let delta = match kind {
                        OptionKind::Call if spot > strike => WAD,
                        OptionKind::Put if spot < strike => -WAD,
                        _ => 0,
                    };
                    crate::black76::Greeks {
                        price: option_value(kind, spot, strike, vol, seconds, bias_for(size))?,
                        delta,
                        gamma: 0,
                        vega: 0,
                    }
                };
                PricedSeries {
                    instrument,
                    size,
                    vol,
                    vol_down: vol_down.clamp(VOL_MIN, VOL_MAX),
                    vol_up: vol_up.clamp(VOL_MIN, VOL_MAX),
                    seconds,
                    value: greeks.price,
                    delta: greeks.delta,
                    gamma: greeks.gamma,
                    vega: greeks.vega,
                }
            }
        });
    }
    Ok(out)
}

/// Result of scanning one underlying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResult {
    /// Weighted portfolio PnL per scenario (WAD), in scenario index order.
    pub pnl: Vec<Wad>,
    /// Index of the first scenario with the lowest PnL (0 if `pnl` is empty).
    pub worst_index: usize,
    /// max(0, -min(pnl)) (WAD).
    pub loss: Wad,
}

/// Scans the priced series of one underlying over every scenario for scan range
/// `range`. Per series and scenario: PnL = net size x (value' - value), rounded
/// down; the scenario's sum is multiplied by its weight, rounded down (losses
/// grow, gains shrink: favours the protocol). Empty `series` => empty PnL, loss 0.
pub fn scan(
    series: &[PricedSeries],
    spot: Wad,
    range: Wad,
    params: &RiskParams,
) -> Result<ScanResult, RiskError> {
    if series.is_empty() {
        return Ok(ScanResult {
            pnl: Vec::new(),
            worst_index: 0,
            loss: 0,
        });
    }
    let list = scenarios(params, range)?;
    let mut shocked = Vec::with_capacity(list.len());
    for sc in &list {
        shocked.push(shocked_spot(spot, sc.spot_shock)?);
    }
    let mut sums: Vec<Wad> = alloc::vec![0; list.len()];
    for s in series {
        for ((sum, sc), &sp) in sums.iter_mut().zip(&list).zip(&shocked) {
            let dv = sub(s.value_at(sp, sc.vol, sc.roll_seconds)?, s.value)?;
            *sum = add(*sum, wmul(s.size, dv, Rounding::Down)?)?;
        }
    }
    let mut pnl = Vec::with_capacity(list.len());
    let (mut worst_index, mut worst) = (0usize, Wad::MAX);
    for (i, (sum, sc)) in sums.iter().zip(&list).enumerate() {
        let v = if sc.weight == WAD {
            *sum
        } else {
            wmul(*sum, sc.weight, Rounding::Down)?
        };
        if v < worst {
            worst = v;
            worst_index = i;
        }
        pnl.push(v);
    }
    Ok(ScanResult {
        pnl,
        worst_index,
        loss: worst.min(0).checked_neg().ok_or(MathError::Overflow)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RiskParams {
        RiskParams::standard(1)
    }

    #[test]
    fn scenario_at_decodes_grid_extremes_and_roll() {
        let p = params();
        let r = WAD / 10;
        assert_eq!(scenario_count(&p), 33 + 2 + 11);
        let first = scenario_at(&p, r, 0).unwrap().unwrap();
        assert_eq!(first.kind, ScenarioKind::Grid);
        assert_eq!(first.spot_shock, -r);
        assert_eq!(first.vol, VolShock::Down);
        let mid = scenario_at(&p, r, 5 * 3 + 2).unwrap().unwrap();
        assert_eq!((mid.spot_shock, mid.vol), (0, VolShock::Up));
        let ext = scenario_at(&p, r, 33).unwrap().unwrap();
        assert_eq!(ext.kind, ScenarioKind::Extreme);
        assert_eq!(ext.spot_shock, -2 * r);
        assert_eq!(ext.weight, p.extreme_cover);
        let roll = scenario_at(&p, r, 35 + 10).unwrap().unwrap();
        assert_eq!(roll.kind, ScenarioKind::Roll);
        assert_eq!(roll.spot_shock, r);
        assert_eq!(roll.roll_seconds, 86_400);
        assert_eq!(scenario_at(&p, r, 46).unwrap(), None);
    }

    #[test]
    fn scenario_count_drops_roll_when_disabled() {
        let mut p = params();
        p.time_roll_seconds = 0;
        assert_eq!(scenario_count(&p), 35);
        assert_eq!(scenarios(&p, WAD / 10).unwrap().len(), 35);
    }

    #[test]
    fn shocked_spot_floors_at_one_percent() {
        assert_eq!(shocked_spot(100 * WAD, -WAD / 10).unwrap(), 90 * WAD);
        assert_eq!(shocked_spot(100 * WAD, -3 * WAD).unwrap(), WAD);
    }

    #[test]
    fn intrinsic_is_non_negative() {
        assert_eq!(
            intrinsic(OptionKind::Call, 110 * WAD, 100 * WAD),
            Ok(10 * WAD)
        );
        assert_eq!(intrinsic(OptionKind::Call, 90 * WAD, 100 * WAD), Ok(0));
        assert_eq!(
            intrinsic(OptionKind::Put, 90 * WAD, 100 * WAD),
            Ok(10 * WAD)
        );
        assert_eq!(
            option_value(OptionKind::Put, 90 * WAD, 100 * WAD, WAD, 0, Rounding::Down),
            Ok(10 * WAD)
        );
    }

    #[test]
    fn scan_of_perp_is_linear_loss() {
        let p = params();
        let series = [PricedSeries {
            instrument: Instrument::Perp,
            size: 2 * WAD,
            vol: 0,
            vol_down: 0,
            vol_up: 0,
            seconds: 0,
            value: 1000 * WAD,
            delta: WAD,
            gamma: 0,
            vega: 0,
        }];
        let r = scan(&series, 1000 * WAD, WAD / 10, &p).unwrap();
        // Full grid down move: 2 x 100 = 200; extreme -2R x 35% = 2 x 200 x 0.35 = 140.
        assert_eq!(r.loss, 200 * WAD);
        assert_eq!(r.worst_index, 0);
        assert_eq!(r.pnl[33], -140 * WAD);
        assert_eq!(r.pnl.len(), scenario_count(&p));
        // Perps ignore vol and time: every vol shock and the time roll at the
        // same spot point give the same PnL.
        for j in 0..11 {
            let grid = r.pnl[3 * j + 1];
            assert_eq!(r.pnl[3 * j], grid);
            assert_eq!(r.pnl[3 * j + 2], grid);
            assert_eq!(r.pnl[35 + j], grid);
        }
    }

    #[test]
    fn scan_of_nothing_is_zero() {
        let r = scan(&[], 1000 * WAD, WAD / 10, &params()).unwrap();
        assert_eq!(r.loss, 0);
        assert!(r.pnl.is_empty());
    }

    #[test]
    fn option_value_bounds_far_out_of_domain_strikes() {
        let spot = 100 * WAD;
        let t = 90 * 86_400;
        // Strike 10x spot: call lower bound 0, upper = call at 5x spot (> 0 at 300% vol).
        let lo = option_value(
            OptionKind::Call,
            spot,
            1000 * WAD,
            3 * WAD,
            t,
            Rounding::Down,
        )
        .unwrap();
        let hi =
            option_value(OptionKind::Call, spot, 1000 * WAD, 3 * WAD, t, Rounding::Up).unwrap();
        assert_eq!(lo, 0);
        assert!(hi > 0);
        // Put side by parity: P = C + K - F.
        let p = option_value(OptionKind::Put, spot, 1000 * WAD, 3 * WAD, t, Rounding::Up).unwrap();
        assert_eq!(p, hi + 900 * WAD);
        // Strike below spot / 5.
        let c = option_value(OptionKind::Call, spot, 10 * WAD, WAD, t, Rounding::Down).unwrap();
        assert_eq!(c, 90 * WAD);
    }

    #[test]
    fn option_value_clamps_last_minute_and_errors_beyond_two_years() {
        let spot = 100 * WAD;
        let a = option_value(OptionKind::Call, spot, spot, WAD, 30, Rounding::Down).unwrap();
        let b = option_value(OptionKind::Call, spot, spot, WAD, 60, Rounding::Down).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            option_value(
                OptionKind::Call,
                spot,
                spot,
                WAD,
                3 * 31_536_000,
                Rounding::Down
            ),
            Err(MathError::Domain)
        );
    }

    #[test]
    fn scan_time_roll_charges_theta_to_long_options() {
        let p = params();
        let smile = Smile {
            atm_vol: WAD / 10 * 8,
            skew: 0,
            curvature: 0,
            min_vol: WAD / 10,
            max_vol: 2 * WAD,
        };
        let call = |size: Wad| Position {
            underlying: 0,
            instrument: Instrument::Option {
                kind: OptionKind::Call,
                strike: 1000 * WAD,
                expiry: 10 * 86_400,
            },
            size,
            entry_price: 0,
        };
        let spot = 1000 * WAD;
        let long = price_series(&[call(WAD)], 0, spot, &smile, 0, &p).unwrap();
        let short = price_series(&[call(-WAD)], 0, spot, &smile, 0, &p).unwrap();
        let rl = scan(&long, spot, WAD / 10, &p).unwrap();
        let rs = scan(&short, spot, WAD / 10, &p).unwrap();
        let centre_roll = 35 + 5;
        assert_eq!(
            scenario_at(&p, WAD / 10, centre_roll)
                .unwrap()
                .unwrap()
                .spot_shock,
            0
        );
        assert!(rl.pnl[centre_roll] < 0, "long call must lose theta");
        assert!(rs.pnl[centre_roll] > 0);
        // Unshocked, un-rolled, vol unchanged: exactly zero.
        assert_eq!(rl.pnl[5 * 3 + 1], 0);
        // Vol up helps the long, vol down hurts it.
        assert!(rl.pnl[5 * 3 + 2] > 0 && rl.pnl[5 * 3] < 0);
    }
}
