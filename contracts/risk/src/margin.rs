//! Account margin: equity, initial and maintenance margin, health, greeks.
//!
//! Pipeline of [`account_margin`]:
//! 1. Validate portfolio, market data and parameters (typed errors).
//! 2. Equity: collateral amount x price x (1 - haircut) per view (IM and MM
//!    haircuts), rounded **down**; + cash + perp unrealised PnL + option values
//!    (each rounded down, so a short option's liability rounds up).
//! 3. Per underlying: net positions into series, scan all scenarios
//!    ([`crate::scenario`]), charge = max(scan loss, short-option minimum) x
//!    concentration multiplier, rounded **up**; oracle-confidence add-on.
//! 4. Correlated aggregation with a capped credit ([`mod@crate::aggregate`]).
//! 5. Optional ES ([`crate::es`]); IM = max(aggregated, ES) + oracle add-ons.
//! 6. MM = fraction of IM (rounded up), or the same pipeline on a scan range
//!    scaled by `mm_fraction` (capped at IM).
//! 7. health = equity_mm - MM; free collateral = equity_im - IM.
//!
//! Every requirement rounds up and every value rounds down, so the protocol is
//! never short by a rounding error.

use alloc::vec::Vec;

use crate::addons::{concentration_multiplier, gross_notional, oracle_addon, short_option_minimum};
use crate::aggregate::{aggregate, direction};
use crate::black76::SECONDS_PER_YEAR;
use crate::error::{check_range, Field, RiskError};
use crate::es::{es_from_losses, historical_losses};
use crate::fixed::{add, mul_div, sub, wmul, Rounding, Wad, WAD};
use crate::portfolio::{
    Collateral, Instrument, MaintenanceMode, MarginReport, MarketData, Portfolio, RiskParams,
    UnderlyingReport,
};
use crate::scenario::{
    price_series, scan, scenario_at, PricedSeries, Scenario, ScenarioKind, VolShock,
};

/// Collateral value with haircut `h`: amount x price x (1 - h), rounded down.
pub fn collateral_value(c: &Collateral, haircut: Wad) -> Result<Wad, RiskError> {
    let gross = wmul(c.amount, c.price, Rounding::Down)?;
    Ok(wmul(gross, sub(WAD, haircut)?, Rounding::Down)?)
}

/// Margin figures of one pass over the scenarios (IM pass or reduced-grid MM pass).
struct Pass {
    undiversified: Wad,
    aggregated: Wad,
    es: Wad,
    oracle: Wad,
    total: Wad,
}

/// Runs charges -> aggregation -> ES for all underlyings at `range_scale` x R
/// (WAD; 1 for IM), with short-option minimum, ES and oracle add-ons scaled by
/// `addon_scale`. Fills `reports` when `keep` is set.
fn pass(
    series: &[Vec<PricedSeries>],
    market: &MarketData,
    params: &RiskParams,
    range_scale: Wad,
    addon_scale: Wad,
    mut reports: Option<&mut Vec<UnderlyingReport>>,
) -> Result<Pass, RiskError> {
    let n = market.underlyings.len();
    let mut charges = Vec::with_capacity(n);
    let mut directions = Vec::with_capacity(n);
    let mut oracle: Wad = 0;
    for (u, m) in market.underlyings.iter().enumerate() {
        let range = wmul(m.scan_range, range_scale, Rounding::Up)?;
        let s = scan(&series[u], m.spot, range, params)?;
        let worst = if s.pnl.is_empty() {
            Scenario {
                kind: ScenarioKind::Grid,
                spot_shock: 0,
                vol: VolShock::None,
                roll_seconds: 0,
                weight: WAD,
            }
        } else {
            scenario_at(params, range, s.worst_index)?
                .ok_or(RiskError::Math(crate::fixed::MathError::Domain))?
        };
        let som = wmul(
            short_option_minimum(&series[u], m.spot, params.short_option_min)?,
            addon_scale,
            Rounding::Up,
        )?;
        let notional = gross_notional(&series[u], m.spot)?;
        let mult = concentration_multiplier(notional, &params.concentration_tiers);
        let charge = wmul(s.loss.max(som), mult, Rounding::Up)?;
        let addon = wmul(
            oracle_addon(notional, m.oracle_confidence)?,
            addon_scale,
            Rounding::Up,
        )?;
        oracle = add(oracle, addon)?;
        charges.push(charge);
        directions.push(if s.loss >= som {
            direction(worst.spot_shock)
        } else {
            0
        });
        if let Some(out) = reports.as_deref_mut() {
            let (mut delta, mut gamma, mut vega) = (0, 0, 0);
            for ps in &series[u] {
                delta = add(delta, wmul(ps.size, ps.delta, Rounding::Down)?)?;
                gamma = add(gamma, wmul(ps.size, ps.gamma, Rounding::Down)?)?;
                vega = add(vega, wmul(ps.size, ps.vega, Rounding::Down)?)?;
            }
            out.push(UnderlyingReport {
                underlying: u as u32,
                scan_loss: s.loss,
                worst_index: s.worst_index as u32,
                worst,
                pnl: s.pnl,
                short_option_min: som,
                gross_notional: notional,
                concentration_multiplier: mult,
                charge,
                oracle_addon: addon,
                delta,
                gamma,
                vega,
            });
        }
    }
    let agg = aggregate(
        &charges,
        &directions,
        &params.correlation,
        params.max_offset_credit,
    )?;
    let es = if params.es_enabled {
        let have = market.history_epochs();
        if have < params.es_min_samples as usize {
            return Err(RiskError::InsufficientHistory {
                have: have as u32,
                need: params.es_min_samples,
            });
        }
        let spots: Vec<Wad> = market.underlyings.iter().map(|m| m.spot).collect();
        let losses = historical_losses(series, &spots, &market.history)?;
        let r = es_from_losses(&losses, params.es_confidence)?;
        let scaled = wmul(r.es, params.es_multiplier, Rounding::Up)?;
        wmul(scaled, addon_scale, Rounding::Up)?
    } else {
        0
    };
    let total = add(agg.charge.max(es), oracle)?;
    Ok(Pass {
        undiversified: agg.undiversified,
        aggregated: agg.charge,
        es,
        oracle,
        total,
    })
}

/// Computes the margin report of one account. See the module docs for the
/// pipeline and rounding. Errors: any validation failure (typed, naming the
/// field), a position on an unknown underlying, a correlation matrix whose side
/// differs from the number of underlyings, ES enabled with too little history,
/// arithmetic overflow.
pub fn account_margin(
    portfolio: &Portfolio,
    market: &MarketData,
    params: &RiskParams,
) -> Result<MarginReport, RiskError> {
    portfolio.validate()?;
    market.validate()?;
    params.validate()?;
    let n = market.underlyings.len();
    if params.correlation.len() != n * n {
        return Err(RiskError::CorrelationShape {
            len: params.correlation.len().min(u32::MAX as usize) as u32,
            expected: (n * n) as u32,
        });
    }
    for (i, p) in portfolio.positions.iter().enumerate() {
        if p.underlying as usize >= n {
            return Err(RiskError::UnknownUnderlying {
                position: i as u32,
                underlying: p.underlying,
                count: n as u32,
            });
        }
        if let Instrument::Option { expiry, .. } = p.instrument {
            // Black-76's domain ends at 2 years; expired options (<= 0) are fine.
            check_range(
                Field::OptionExpiry,
                i,
                expiry as i128 - market.now as i128,
                i64::MIN as i128,
                2 * SECONDS_PER_YEAR as i128,
            )?;
        }
    }

    let (mut cv_im, mut cv_mm) = (0, 0);
    for c in &portfolio.collaterals {
        cv_im = add(cv_im, collateral_value(c, c.im_haircut)?)?;
        cv_mm = add(cv_mm, collateral_value(c, c.mm_haircut)?)?;
    }
    let mut perp_pnl: Wad = 0;
    for p in &portfolio.positions {
        if p.instrument == Instrument::Perp && p.size != 0 {
            let spot = market.underlyings[p.underlying as usize].spot;
            perp_pnl = add(
                perp_pnl,
                wmul(p.size, sub(spot, p.entry_price)?, Rounding::Down)?,
            )?;
        }
    }

    let mut series = Vec::with_capacity(n);
    let mut option_value: Wad = 0;
    for (u, m) in market.underlyings.iter().enumerate() {
        let s = price_series(
            &portfolio.positions,
            u as u32,
            m.spot,
            &m.smile,
            market.now,
            params,
        )?;
        for ps in s
            .iter()
            .filter(|ps| matches!(ps.instrument, Instrument::Option { .. }))
        {
            option_value = add(option_value, wmul(ps.size, ps.value, Rounding::Down)?)?;
        }
        series.push(s);
    }

    let mut reports = Vec::with_capacity(n);
    let im_pass = pass(&series, market, params, WAD, WAD, Some(&mut reports))?;
    let im = im_pass.total;
    let mm = match params.mm_mode {
        MaintenanceMode::FractionOfIm => mul_div(im, params.mm_fraction, WAD, Rounding::Up)?,
        MaintenanceMode::ReducedGrid => {
            let f = params.mm_fraction;
            pass(&series, market, params, f, f, None)?.total.min(im)
        }
    };
    let equity_base = add(add(portfolio.cash, perp_pnl)?, option_value)?;
    let equity_im = add(cv_im, equity_base)?;
    let equity_mm = add(cv_mm, equity_base)?;
    Ok(MarginReport {
        collateral_value_im: cv_im,
        collateral_value_mm: cv_mm,
        perp_pnl,
        option_value,
        equity_im,
        equity_mm,
        scan_undiversified: im_pass.undiversified,
        scan_aggregated: im_pass.aggregated,
        es: im_pass.es,
        oracle_addon: im_pass.oracle,
        im,
        mm,
        health: sub(equity_mm, mm)?,
        free_collateral: sub(equity_im, im)?,
        underlyings: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::black76::OptionKind;
    use crate::portfolio::{Position, UnderlyingMarket};
    use crate::smile::Smile;
    use alloc::vec;

    fn smile() -> Smile {
        Smile {
            atm_vol: WAD / 10 * 8,
            skew: 0,
            curvature: 0,
            min_vol: WAD / 10,
            max_vol: 3 * WAD,
        }
    }

    fn market(n: usize) -> MarketData {
        MarketData {
            now: 1_700_000_000,
            underlyings: (0..n)
                .map(|i| UnderlyingMarket {
                    spot: (1000 + 1000 * i as i128) * WAD,
                    smile: smile(),
                    scan_range: WAD / 10,
                    oracle_confidence: 0,
                })
                .collect(),
            history: Vec::new(),
        }
    }

    fn usdc(amount: Wad) -> Collateral {
        Collateral {
            amount,
            price: WAD,
            im_haircut: 0,
            mm_haircut: 0,
        }
    }

    fn perp(u: u32, size: Wad, entry: Wad) -> Position {
        Position {
            underlying: u,
            instrument: Instrument::Perp,
            size,
            entry_price: entry,
        }
    }

    #[test]
    fn collateral_value_rounds_down() {
        let c = Collateral {
            amount: 1,
            price: WAD / 3 * 2 + 1,
            im_haircut: WAD / 3,
            mm_haircut: 0,
        };
        // 1 wei x 0.666.. = 0.666 wei -> 0.
        assert_eq!(collateral_value(&c, 0), Ok(0));
        let c = Collateral {
            amount: 3 * WAD,
            price: WAD,
            im_haircut: WAD / 3,
            mm_haircut: 0,
        };
        // 3 x (1 - 0.333333333333333333) = 2.000000000000000001 exactly.
        assert_eq!(collateral_value(&c, c.im_haircut), Ok(2 * WAD + 1));
        assert_eq!(collateral_value(&c, WAD), Ok(0));
    }

    #[test]
    fn account_margin_single_perp_charges_full_range() {
        let p = Portfolio {
            collaterals: vec![usdc(500 * WAD)],
            cash: 10 * WAD,
            positions: vec![perp(0, 2 * WAD, 900 * WAD)],
        };
        let r = account_margin(&p, &market(1), &RiskParams::standard(1)).unwrap();
        assert_eq!(r.perp_pnl, 200 * WAD);
        assert_eq!(r.equity_im, 710 * WAD);
        // 2 x 1000 x 10% = 200; 70% MM.
        assert_eq!(r.im, 200 * WAD);
        assert_eq!(r.mm, 140 * WAD);
        assert_eq!(r.health, 570 * WAD);
        assert_eq!(r.free_collateral, 510 * WAD);
        assert_eq!(r.underlyings[0].delta, 2 * WAD);
        assert_eq!(r.underlyings[0].worst.spot_shock, -WAD / 10);
    }

    #[test]
    fn account_margin_mm_fraction_rounds_up() {
        let p = Portfolio {
            collaterals: vec![usdc(WAD)],
            cash: 0,
            positions: vec![perp(0, 1, 1000 * WAD)],
        };
        let mut params = RiskParams::standard(1);
        params.mm_fraction = WAD / 3;
        let r = account_margin(&p, &market(1), &params).unwrap();
        // 1e-18 contracts x 100 = 1e-16 -> 100 wei; a third is 33.3 -> 34.
        assert_eq!(r.im, 100);
        assert_eq!(r.mm, 34);
    }

    #[test]
    fn account_margin_errors_on_unknown_underlying() {
        let p = Portfolio {
            collaterals: vec![],
            cash: 0,
            positions: vec![perp(3, WAD, WAD)],
        };
        assert_eq!(
            account_margin(&p, &market(1), &RiskParams::standard(1)),
            Err(RiskError::UnknownUnderlying {
                position: 0,
                underlying: 3,
                count: 1
            })
        );
    }

    #[test]
    fn account_margin_errors_on_correlation_size_mismatch() {
        let p = Portfolio::default();
        assert!(matches!(
            account_margin(&p, &market(2), &RiskParams::standard(1)),
            Err(RiskError::CorrelationShape {
                len: 1,
                expected: 4
            })
        ));
    }

    #[test]
    fn account_margin_errors_when_es_lacks_history() {
        let mut params = RiskParams::standard(1);
        params.es_enabled = true;
        params.es_min_samples = 2;
        let mut m = market(1);
        m.history = vec![WAD / 10];
        assert_eq!(
            account_margin(&Portfolio::default(), &m, &params),
            Err(RiskError::InsufficientHistory { have: 1, need: 2 })
        );
    }

    #[test]
    fn account_margin_es_raises_im_for_fat_tail() {
        let p = Portfolio {
            collaterals: vec![usdc(10_000 * WAD)],
            cash: 0,
            positions: vec![perp(0, WAD, 1000 * WAD)],
        };
        let mut params = RiskParams::standard(1);
        params.es_enabled = true;
        params.es_min_samples = 4;
        params.es_confidence = WAD / 2;
        let mut m = market(1);
        // Worst two returns -30%, -20%: ES = 250 > scan 100.
        m.history = vec![-WAD / 10 * 3, -WAD / 5, WAD / 10, 0];
        let r = account_margin(&p, &m, &params).unwrap();
        assert_eq!(r.es, 250 * WAD);
        assert_eq!(r.im, 250 * WAD);
    }

    #[test]
    fn account_margin_short_call_has_liability_and_greeks() {
        let m = market(1);
        let p = Portfolio {
            collaterals: vec![usdc(1000 * WAD)],
            cash: 0,
            positions: vec![Position {
                underlying: 0,
                instrument: Instrument::Option {
                    kind: OptionKind::Call,
                    strike: 1100 * WAD,
                    expiry: m.now + 30 * 86_400,
                },
                size: -WAD,
                entry_price: 0,
            }],
        };
        let r = account_margin(&p, &m, &RiskParams::standard(1)).unwrap();
        assert!(r.option_value < 0);
        assert!(r.underlyings[0].delta < 0);
        assert!(r.underlyings[0].gamma < 0);
        assert!(r.underlyings[0].vega < 0);
        assert!(r.im > 0 && r.mm <= r.im);
        // Worst case for a short call is an up move.
        assert!(r.underlyings[0].worst.spot_shock > 0);
        assert_eq!(r.equity_im, 1000 * WAD + r.option_value);
    }

    #[test]
    fn account_margin_reduced_grid_mm_is_at_most_im() {
        let m = market(1);
        let p = Portfolio {
            collaterals: vec![usdc(1000 * WAD)],
            cash: 0,
            positions: vec![perp(0, WAD, 1000 * WAD)],
        };
        let mut params = RiskParams::standard(1);
        params.mm_mode = MaintenanceMode::ReducedGrid;
        params.mm_fraction = WAD / 2;
        let r = account_margin(&p, &m, &params).unwrap();
        assert_eq!(r.im, 100 * WAD);
        assert_eq!(r.mm, 50 * WAD);
    }

    #[test]
    fn account_margin_hedged_perps_get_capped_credit() {
        let mut params = RiskParams::standard(2);
        params.correlation = vec![WAD, WAD / 10 * 9, WAD / 10 * 9, WAD];
        params.max_offset_credit = WAD / 2;
        let p = Portfolio {
            collaterals: vec![usdc(10_000 * WAD)],
            cash: 0,
            // Long 1 @1000 and short 0.5 @2000: both charges 100, opposite directions.
            positions: vec![perp(0, WAD, 1000 * WAD), perp(1, -WAD / 2, 2000 * WAD)],
        };
        let r = account_margin(&p, &market(2), &params).unwrap();
        assert_eq!(r.scan_undiversified, 200 * WAD);
        // sqrt(100^2 + 100^2 - 2 x 0.9 x 100^2) = 44.7 < cap floor 100.
        assert_eq!(r.scan_aggregated, 100 * WAD);
    }

    #[test]
    fn account_margin_errors_on_expiry_beyond_two_years() {
        let m = market(1);
        let p = Portfolio {
            collaterals: vec![],
            cash: 0,
            positions: vec![
                perp(0, WAD, WAD),
                Position {
                    underlying: 0,
                    instrument: Instrument::Option {
                        kind: OptionKind::Put,
                        strike: 1000 * WAD,
                        expiry: m.now + 2 * SECONDS_PER_YEAR + 1,
                    },
                    size: WAD,
                    entry_price: 0,
                },
            ],
        };
        assert!(matches!(
            account_margin(&p, &m, &RiskParams::standard(1)),
            Err(RiskError::OutOfRange {
                field: Field::OptionExpiry,
                index: 1,
                ..
            })
        ));
    }
}
