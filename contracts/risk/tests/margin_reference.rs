//! Whole-pipeline comparison of `account_margin` with an independent f64
//! re-implementation of the documented model (libm's erfc for N(x)).

use keel_risk::*;

const NOW: u64 = 1_767_225_600;
const YEAR: f64 = 31_536_000.0;

fn f(x: Wad) -> f64 {
    x as f64 / 1e18
}

fn ncdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

fn bs(call: bool, s: f64, k: f64, vol: f64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return if call {
            (s - k).max(0.0)
        } else {
            (k - s).max(0.0)
        };
    }
    let t = secs.max(60.0) / YEAR;
    let sd = vol.clamp(0.01, 5.0) * t.sqrt();
    let d1 = ((s / k).ln() + 0.5 * sd * sd) / sd;
    let d2 = d1 - sd;
    if call {
        s * ncdf(d1) - k * ncdf(d2)
    } else {
        k * ncdf(-d2) - s * ncdf(-d1)
    }
}

struct Ref {
    equity_im: f64,
    im: f64,
    mm: f64,
    losses: Vec<f64>,
}

fn reference(p: &Portfolio, m: &MarketData, params: &RiskParams) -> Ref {
    let mut equity_im = f(p.cash);
    for c in &p.collaterals {
        equity_im += f(c.amount) * f(c.price) * (1.0 - f(c.im_haircut));
    }
    let n = m.underlyings.len();
    let k = params.grid_k as i64;
    let mut charges = vec![0.0; n];
    let mut dirs = vec![0.0; n];
    let mut losses = vec![0.0; n];
    let mut oracle = 0.0;
    for (u, um) in m.underlyings.iter().enumerate() {
        let spot = f(um.spot);
        let r = f(um.scan_range);
        let vol = f(um.smile.atm_vol).clamp(f(um.smile.min_vol), f(um.smile.max_vol));
        // Scenarios: (shock, vol multiplier per series fn, roll, weight).
        let mut scen: Vec<(f64, i8, f64, f64)> = Vec::new();
        for j in -k..=k {
            for v in [-1i8, 0, 1] {
                scen.push((r * j as f64 / k as f64, v, 0.0, 1.0));
            }
        }
        for mlt in &params.extreme_moves {
            scen.push((f(*mlt) * r, 0, 0.0, f(params.extreme_cover)));
        }
        if params.time_roll_seconds > 0 {
            for j in -k..=k {
                scen.push((
                    r * j as f64 / k as f64,
                    0,
                    params.time_roll_seconds as f64,
                    1.0,
                ));
            }
        }
        let mut pnl = vec![0.0; scen.len()];
        let (mut notional, mut som) = (0.0, 0.0);
        for pos in p.positions.iter().filter(|x| x.underlying as usize == u) {
            let size = f(pos.size);
            notional += size.abs() * spot;
            match pos.instrument {
                Instrument::Perp => {
                    equity_im += size * (spot - f(pos.entry_price));
                    for (i, (s, _, _, w)) in scen.iter().enumerate() {
                        pnl[i] += size * spot * s * w;
                    }
                }
                Instrument::Option {
                    kind,
                    strike,
                    expiry,
                } => {
                    let call = kind == OptionKind::Call;
                    let kk = f(strike);
                    let secs = expiry as f64 - m.now as f64;
                    let v0 = bs(call, spot, kk, vol, secs);
                    equity_im += size * v0;
                    if size < 0.0 {
                        som += size.abs() * spot * f(params.short_option_min);
                    }
                    let shape = (30.0 * 86_400.0 / secs.max(86_400.0)).powf(f(params.vol_up_power));
                    for (i, (s, v, roll, w)) in scen.iter().enumerate() {
                        let sv = match v {
                            -1 => vol * (1.0 - f(params.vol_down)),
                            0 => vol,
                            _ => vol * (1.0 + f(params.vol_up) * shape),
                        };
                        let val = bs(call, spot * (1.0 + s).max(0.01), kk, sv, secs - roll);
                        pnl[i] += size * (val - v0) * w;
                    }
                }
            }
        }
        let (wi, worst) =
            pnl.iter().enumerate().fold(
                (0, f64::MAX),
                |a, (i, x)| if *x < a.1 { (i, *x) } else { a },
            );
        let loss = (-worst).max(0.0);
        losses[u] = loss;
        let mult = params
            .concentration_tiers
            .iter()
            .rev()
            .find(|t| notional >= f(t.threshold))
            .map_or(1.0, |t| f(t.multiplier));
        charges[u] = loss.max(som) * mult;
        dirs[u] = if loss >= som && !pnl.is_empty() {
            scen[wi].0.signum()
        } else {
            0.0
        };
        if scen[wi].0 == 0.0 {
            dirs[u] = 0.0;
        }
        oracle += notional * f(um.oracle_confidence);
    }
    let undiv: f64 = charges.iter().sum();
    let mut q = 0.0;
    let mut flat = 0.0;
    for i in 0..n {
        if dirs[i] == 0.0 {
            flat += charges[i];
            continue;
        }
        for j in 0..n {
            q += dirs[i] * dirs[j] * f(params.correlation[i * n + j]) * charges[i] * charges[j];
        }
    }
    let agg = (q.max(0.0).sqrt() + flat)
        .max(undiv * (1.0 - f(params.max_offset_credit)))
        .min(undiv);
    let im = agg + oracle;
    Ref {
        equity_im,
        im,
        mm: im * f(params.mm_fraction),
        losses,
    }
}

fn book() -> (Portfolio, MarketData, RiskParams) {
    let smile = |atm: Wad| Smile {
        atm_vol: atm,
        skew: 0,
        curvature: 0,
        min_vol: WAD / 10,
        max_vol: 3 * WAD,
    };
    let m = MarketData {
        now: NOW,
        underlyings: vec![
            UnderlyingMarket {
                spot: 2000 * WAD,
                smile: smile(WAD / 10 * 8),
                scan_range: WAD / 100 * 12,
                oracle_confidence: WAD / 1000,
            },
            UnderlyingMarket {
                spot: 60_000 * WAD,
                smile: smile(WAD / 10 * 6),
                scan_range: WAD / 10,
                oracle_confidence: 0,
            },
        ],
        history: vec![],
    };
    let opt = |u: u32, call: bool, strike: i128, days: u64, size: Wad| Position {
        underlying: u,
        instrument: Instrument::Option {
            kind: if call {
                OptionKind::Call
            } else {
                OptionKind::Put
            },
            strike: strike * WAD,
            expiry: NOW + days * 86_400,
        },
        size,
        entry_price: 0,
    };
    let p = Portfolio {
        collaterals: vec![Collateral {
            amount: 40_000 * WAD,
            price: WAD,
            im_haircut: WAD / 50,
            mm_haircut: WAD / 100,
        }],
        cash: -300 * WAD,
        positions: vec![
            Position {
                underlying: 0,
                instrument: Instrument::Perp,
                size: 7 * WAD,
                entry_price: 1980 * WAD,
            },
            opt(0, true, 2200, 21, -8 * WAD),
            opt(0, false, 1800, 45, 3 * WAD),
            opt(1, true, 65_000, 90, WAD / 2),
            opt(1, false, 50_000, 9, -WAD / 4),
        ],
    };
    let mut params = RiskParams::standard(2);
    params.correlation = vec![WAD, WAD / 4 * 3, WAD / 4 * 3, WAD];
    params.concentration_tiers = vec![ConcentrationTier {
        threshold: 20_000 * WAD,
        multiplier: WAD / 10 * 11,
    }];
    (p, m, params)
}

#[test]
fn margin_matches_f64_reference() {
    let (p, m, params) = book();
    let r = account_margin(&p, &m, &params).unwrap();
    let e = reference(&p, &m, &params);
    let tol = |x: f64| 1e-9 * x.abs().max(1.0);
    for (u, l) in e.losses.iter().enumerate() {
        let got = f(r.underlyings[u].scan_loss);
        assert!(
            (got - l).abs() < tol(*l),
            "underlying {u}: scan {got} vs {l}"
        );
    }
    assert!(
        (f(r.equity_im) - e.equity_im).abs() < tol(e.equity_im),
        "{} vs {}",
        f(r.equity_im),
        e.equity_im
    );
    assert!(
        (f(r.im) - e.im).abs() < tol(e.im),
        "IM {} vs {}",
        f(r.im),
        e.im
    );
    assert!(
        (f(r.mm) - e.mm).abs() < tol(e.mm),
        "MM {} vs {}",
        f(r.mm),
        e.mm
    );
}

#[test]
fn margin_greeks_match_finite_differences() {
    let (p, m, params) = book();
    let r = account_margin(&p, &m, &params).unwrap();
    for u in 0..2 {
        let value = |bump: f64| {
            let spot = f(m.underlyings[u].spot) * (1.0 + bump);
            let vol = f(m.underlyings[u].smile.atm_vol);
            p.positions
                .iter()
                .filter(|x| x.underlying as usize == u)
                .map(|x| match x.instrument {
                    Instrument::Perp => f(x.size) * spot,
                    Instrument::Option {
                        kind,
                        strike,
                        expiry,
                    } => {
                        f(x.size)
                            * bs(
                                kind == OptionKind::Call,
                                spot,
                                f(strike),
                                vol,
                                (expiry - NOW) as f64,
                            )
                    }
                })
                .sum::<f64>()
        };
        let h = 1e-4;
        let s = f(m.underlyings[u].spot);
        let delta = (value(h) - value(-h)) / (2.0 * h * s);
        let gamma = (value(h) - 2.0 * value(0.0) + value(-h)) / (h * s).powi(2);
        let got_d = f(r.underlyings[u].delta);
        let got_g = f(r.underlyings[u].gamma);
        assert!(
            (got_d - delta).abs() < 1e-5 * delta.abs().max(1.0),
            "delta {got_d} vs {delta}"
        );
        assert!(
            (got_g - gamma).abs() < 1e-3 * gamma.abs() + 1e-12,
            "gamma {got_g} vs {gamma}"
        );
    }
}
