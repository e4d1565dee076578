//! `keel risk margin`: what-if account margin from one JSON document.
//!
//! Schema (all numbers are decimal strings in human units; integers such as
//! timestamps and counts are JSON integers). See README-risk-cli / examples/margin.json.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use keel_risk::{
    account_margin, ConcentrationTier, Field, Instrument, MaintenanceMode, MarginReport,
    MarketData, OptionKind, Portfolio, Position, RiskError, RiskParams, ScenarioKind, Smile,
    UnderlyingMarket, VolShock, Wad,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::decimal::{format_human, format_wad, Dec};

/// The input document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginInput {
    /// Current unix time (seconds).
    pub now: u64,
    /// Underlyings (market data), in index order.
    pub underlyings: Vec<UnderlyingIn>,
    /// Collateral balances.
    #[serde(default)]
    pub collateral: Vec<CollateralIn>,
    /// Settlement cash balance.
    #[serde(default)]
    pub cash: Dec,
    /// Positions.
    #[serde(default)]
    pub positions: Vec<PositionIn>,
    /// ES history: one row per epoch, one simple return per underlying.
    #[serde(default)]
    pub history: Vec<Vec<Dec>>,
    /// Risk parameters; every field optional (defaults: `RiskParams::standard`).
    #[serde(default)]
    pub params: ParamsIn,
}

/// One underlying.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderlyingIn {
    /// Name used by positions ("ETH").
    pub name: String,
    /// Spot price.
    pub spot: Dec,
    /// Scan range R as a fraction (0.12 = 12%).
    pub scan_range: Dec,
    /// Oracle-confidence add-on rate (fraction of gross notional).
    #[serde(default)]
    pub oracle_confidence: Dec,
    /// Volatility smile.
    pub smile: SmileIn,
}

/// Smile parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmileIn {
    /// ATM vol (0.8 = 80%).
    pub atm_vol: Dec,
    /// Skew (slope in log-moneyness).
    #[serde(default)]
    pub skew: Dec,
    /// Curvature (coefficient of log-moneyness squared).
    #[serde(default)]
    pub curvature: Dec,
    /// Lower vol clamp.
    pub min_vol: Dec,
    /// Upper vol clamp.
    pub max_vol: Dec,
}

/// One collateral balance.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralIn {
    /// Label for the report.
    #[serde(default)]
    pub name: String,
    /// Token amount.
    pub amount: Dec,
    /// Price per token in settlement currency.
    pub price: Dec,
    /// IM haircut fraction.
    #[serde(default)]
    pub im_haircut: Dec,
    /// MM haircut fraction (<= IM haircut).
    #[serde(default)]
    pub mm_haircut: Dec,
}

/// One position.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionIn {
    /// Underlying name.
    pub underlying: String,
    /// "perp" or "option".
    #[serde(rename = "type")]
    pub kind: String,
    /// Signed size in underlying units (negative = short).
    pub size: Dec,
    /// Perp entry price.
    #[serde(default)]
    pub entry_price: Option<Dec>,
    /// Option: "call" or "put".
    #[serde(default)]
    pub option: Option<String>,
    /// Option strike.
    #[serde(default)]
    pub strike: Option<Dec>,
    /// Option expiry, unix seconds.
    #[serde(default)]
    pub expiry: Option<u64>,
}

/// Concentration tier.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierIn {
    /// Gross notional from which the tier applies.
    pub threshold: Dec,
    /// Multiplier (>= 1).
    pub multiplier: Dec,
}

/// Risk parameters (all optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ParamsIn {
    grid_k: Option<u32>,
    vol_down: Option<Dec>,
    vol_up: Option<Dec>,
    vol_up_power: Option<Dec>,
    extreme_moves: Option<Vec<Dec>>,
    extreme_cover: Option<Dec>,
    time_roll_seconds: Option<u64>,
    mm_mode: Option<String>,
    mm_fraction: Option<Dec>,
    correlation: Option<Vec<Vec<Dec>>>,
    max_offset_credit: Option<Dec>,
    short_option_min: Option<Dec>,
    concentration_tiers: Option<Vec<TierIn>>,
    es_enabled: Option<bool>,
    es_confidence: Option<Dec>,
    es_min_samples: Option<u32>,
    es_multiplier: Option<Dec>,
}

/// Converted inputs of keel-risk.
pub struct Converted {
    /// Portfolio.
    pub portfolio: Portfolio,
    /// Market data.
    pub market: MarketData,
    /// Risk parameters.
    pub params: RiskParams,
}

impl MarginInput {
    /// Converts to keel-risk types, with messages that name the offending entry.
    pub fn convert(&self) -> Result<Converted> {
        let n = self.underlyings.len();
        let underlyings = self
            .underlyings
            .iter()
            .map(|u| UnderlyingMarket {
                spot: u.spot.0,
                scan_range: u.scan_range.0,
                oracle_confidence: u.oracle_confidence.0,
                smile: Smile {
                    atm_vol: u.smile.atm_vol.0,
                    skew: u.smile.skew.0,
                    curvature: u.smile.curvature.0,
                    min_vol: u.smile.min_vol.0,
                    max_vol: u.smile.max_vol.0,
                },
            })
            .collect();
        let mut history = Vec::new();
        for (e, row) in self.history.iter().enumerate() {
            if row.len() != n {
                bail!(
                    "history[{e}] has {} returns; expected one per underlying ({n})",
                    row.len()
                );
            }
            history.extend(row.iter().map(|d| d.0));
        }
        let collaterals = self
            .collateral
            .iter()
            .map(|c| keel_risk::Collateral {
                amount: c.amount.0,
                price: c.price.0,
                im_haircut: c.im_haircut.0,
                mm_haircut: c.mm_haircut.0,
            })
            .collect();
        let mut positions = Vec::new();
        for (i, p) in self.positions.iter().enumerate() {
            positions.push(
                self.position(p)
                    .with_context(|| format!("positions[{i}]"))?,
            );
        }
        let params = self.params.convert(n).context("params")?;
        Ok(Converted {
            portfolio: Portfolio {
                collaterals,
                cash: self.cash.0,
                positions,
            },
            market: MarketData {
                now: self.now,
                underlyings,
                history,
            },
            params,
        })
    }

    fn position(&self, p: &PositionIn) -> Result<Position> {
        let names: Vec<&str> = self.underlyings.iter().map(|u| u.name.as_str()).collect();
        let underlying = names
            .iter()
            .position(|n| *n == p.underlying)
            .ok_or_else(|| anyhow!("unknown underlying {:?}; known: {names:?}", p.underlying))?
            as u32;
        let instrument = match p.kind.as_str() {
            "perp" => {
                if p.option.is_some() || p.strike.is_some() || p.expiry.is_some() {
                    bail!("a perp takes no option/strike/expiry");
                }
                Instrument::Perp
            }
            "option" => {
                let kind = match p.option.as_deref() {
                    Some("call") => OptionKind::Call,
                    Some("put") => OptionKind::Put,
                    other => bail!("option must be \"call\" or \"put\", got {other:?}"),
                };
                Instrument::Option {
                    kind,
                    strike: p
                        .strike
                        .ok_or_else(|| anyhow!("option needs \"strike\""))?
                        .0,
                    expiry: p
                        .expiry
                        .ok_or_else(|| anyhow!("option needs \"expiry\" (unix seconds)"))?,
                }
            }
            other => bail!("type must be \"perp\" or \"option\", got {other:?}"),
        };
        let entry_price = match (instrument, p.entry_price) {
            (Instrument::Perp, Some(e)) => e.0,
            (Instrument::Perp, None) => bail!("a perp needs \"entry_price\""),
            (_, _) => 0,
        };
        Ok(Position {
            underlying,
            instrument,
            size: p.size.0,
            entry_price,
        })
    }
}

impl ParamsIn {
    fn convert(&self, n: usize) -> Result<RiskParams> {
        let mut p = RiskParams::standard(n);
        let d = |o: &Option<Dec>, v: &mut Wad| {
            if let Some(x) = o {
                *v = x.0;
            }
        };
        if let Some(k) = self.grid_k {
            p.grid_k = k;
        }
        d(&self.vol_down, &mut p.vol_down);
        d(&self.vol_up, &mut p.vol_up);
        d(&self.vol_up_power, &mut p.vol_up_power);
        if let Some(m) = &self.extreme_moves {
            p.extreme_moves = m.iter().map(|x| x.0).collect();
        }
        d(&self.extreme_cover, &mut p.extreme_cover);
        if let Some(t) = self.time_roll_seconds {
            p.time_roll_seconds = t;
        }
        if let Some(m) = &self.mm_mode {
            p.mm_mode = match m.as_str() {
                "fraction_of_im" => MaintenanceMode::FractionOfIm,
                "reduced_grid" => MaintenanceMode::ReducedGrid,
                other => {
                    bail!("mm_mode must be \"fraction_of_im\" or \"reduced_grid\", got {other:?}")
                }
            };
        }
        d(&self.mm_fraction, &mut p.mm_fraction);
        if let Some(rows) = &self.correlation {
            if rows.len() != n || rows.iter().any(|r| r.len() != n) {
                bail!("correlation must be a {n} x {n} matrix (one row per underlying)");
            }
            p.correlation = rows.iter().flatten().map(|x| x.0).collect();
        }
        d(&self.max_offset_credit, &mut p.max_offset_credit);
        d(&self.short_option_min, &mut p.short_option_min);
        if let Some(t) = &self.concentration_tiers {
            p.concentration_tiers = t
                .iter()
                .map(|t| ConcentrationTier {
                    threshold: t.threshold.0,
                    multiplier: t.multiplier.0,
                })
                .collect();
        }
        if let Some(e) = self.es_enabled {
            p.es_enabled = e;
        }
        d(&self.es_confidence, &mut p.es_confidence);
        if let Some(s) = self.es_min_samples {
            p.es_min_samples = s;
        }
        d(&self.es_multiplier, &mut p.es_multiplier);
        Ok(p)
    }
}

/// Parses the document and computes the report with keel-risk.
pub fn compute(doc: &str) -> Result<(MarginInput, Converted, MarginReport)> {
    let input: MarginInput = serde_json::from_str(doc)
        .context("parsing the margin document (see README: keel risk margin)")?;
    let c = input.convert()?;
    let report = account_margin(&c.portfolio, &c.market, &c.params)
        .map_err(|e| anyhow!("{}", describe(&e)))
        .context("margin computation rejected the input")?;
    Ok((input, c, report))
}

/// A [`RiskError`] in human units (WAD fields as decimals, counts as integers).
pub fn describe(e: &RiskError) -> String {
    match *e {
        RiskError::OutOfRange {
            field,
            index,
            value,
            min,
            max,
        } => {
            let integer = matches!(
                field,
                Field::GridK
                    | Field::TimeRoll
                    | Field::EsMinSamples
                    | Field::EwmaInterval
                    | Field::EwmaHorizon
                    | Field::OptionExpiry
            );
            let f = |v: Wad| {
                if integer {
                    v.to_string()
                } else {
                    format_human(v)
                }
            };
            let bounds = if min <= i64::MIN as i128 {
                format!("it must be at most {}", f(max))
            } else if max == i128::MAX {
                format!("it must be at least {}", f(min))
            } else {
                format!("it must be between {} and {}", f(min), f(max))
            };
            format!(
                "{}[{index}] = {} is out of range: {bounds}",
                field.name(),
                f(value)
            )
        }
        RiskError::CorrelationDiagonal { index, value } => format!(
            "correlation[{index}][{index}] = {}; diagonal entries must be exactly 1",
            format_human(value)
        ),
        ref other => other.to_string(),
    }
}

fn scenario_text(s: &keel_risk::Scenario) -> String {
    let vol = match s.vol {
        VolShock::Down => "vol down",
        VolShock::None => "vol unchanged",
        VolShock::Up => "vol up",
    };
    let spot = format!(
        "spot {}{}%",
        if s.spot_shock >= 0 { "+" } else { "" },
        format_human(s.spot_shock * 100)
    );
    match s.kind {
        ScenarioKind::Grid => format!("grid: {spot}, {vol}"),
        ScenarioKind::Extreme => {
            format!("extreme: {spot}, {vol}, cover {}", format_human(s.weight))
        }
        ScenarioKind::Roll => format!("time roll +{} s: {spot}, {vol}", s.roll_seconds),
    }
}

fn scenario_json(s: &keel_risk::Scenario) -> Value {
    json!({
        "kind": match s.kind { ScenarioKind::Grid => "grid", ScenarioKind::Extreme => "extreme", ScenarioKind::Roll => "roll" },
        "spot_shock": format_wad(s.spot_shock),
        "vol": match s.vol { VolShock::Down => "down", VolShock::None => "none", VolShock::Up => "up" },
        "roll_seconds": s.roll_seconds,
        "weight": format_wad(s.weight),
        "description": scenario_text(s),
    })
}

/// Machine-readable report (every amount a decimal string with 18 decimals).
pub fn report_json(input: &MarginInput, r: &MarginReport) -> Value {
    let f = format_wad;
    let und: Vec<Value> = r
        .underlyings
        .iter()
        .map(|u| {
            json!({
                "name": input.underlyings[u.underlying as usize].name,
                "scan_loss": f(u.scan_loss),
                "worst_index": u.worst_index,
                "worst_scenario": scenario_json(&u.worst),
                "short_option_min": f(u.short_option_min),
                "gross_notional": f(u.gross_notional),
                "concentration_multiplier": f(u.concentration_multiplier),
                "charge": f(u.charge),
                "oracle_addon": f(u.oracle_addon),
                "delta": f(u.delta),
                "gamma": f(u.gamma),
                "vega": f(u.vega),
                "pnl": u.pnl.iter().map(|x| f(*x)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "collateral_value_im": f(r.collateral_value_im),
        "collateral_value_mm": f(r.collateral_value_mm),
        "perp_pnl": f(r.perp_pnl),
        "option_value": f(r.option_value),
        "equity_im": f(r.equity_im),
        "equity_mm": f(r.equity_mm),
        "scan_undiversified": f(r.scan_undiversified),
        "scan_aggregated": f(r.scan_aggregated),
        "es": f(r.es),
        "oracle_addon": f(r.oracle_addon),
        "im": f(r.im),
        "mm": f(r.mm),
        "health": f(r.health),
        "free_collateral": f(r.free_collateral),
        "liquidatable": r.health < 0,
        "underlyings": und,
    })
}

/// Human-readable report.
pub fn report_text(input: &MarginInput, c: &Converted, r: &MarginReport) -> String {
    let h = format_human;
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: Wad| {
        let _ = writeln!(s, "  {k:<34}{:>32}", h(v));
    };
    let _ = writeln!(s, "Keel account margin (now = {})", c.market.now);
    let _ = writeln!(s, "Equity");
    for (i, (ci, cc)) in input
        .collateral
        .iter()
        .zip(&c.portfolio.collaterals)
        .enumerate()
    {
        let label = if ci.name.is_empty() {
            format!("collateral #{i}")
        } else {
            ci.name.clone()
        };
        let v = keel_risk::collateral_value(cc, cc.im_haircut).unwrap_or(0);
        line(
            &mut s,
            &format!("{label} ({} x {}, IM view)", h(cc.amount), h(cc.price)),
            v,
        );
    }
    line(
        &mut s,
        "collateral value (IM haircuts)",
        r.collateral_value_im,
    );
    line(
        &mut s,
        "collateral value (MM haircuts)",
        r.collateral_value_mm,
    );
    line(&mut s, "cash", c.portfolio.cash);
    line(&mut s, "perp unrealised PnL", r.perp_pnl);
    line(&mut s, "option value", r.option_value);
    line(&mut s, "equity (IM view)", r.equity_im);
    line(&mut s, "equity (MM view)", r.equity_mm);
    let _ = writeln!(s, "Requirements");
    line(&mut s, "scan charges, undiversified", r.scan_undiversified);
    line(&mut s, "scan charges, after correlation", r.scan_aggregated);
    line(&mut s, "expected shortfall", r.es);
    line(&mut s, "oracle-confidence add-on", r.oracle_addon);
    line(&mut s, "initial margin (IM)", r.im);
    line(&mut s, "maintenance margin (MM)", r.mm);
    let _ = writeln!(s, "Result");
    line(&mut s, "health (equity_mm - MM)", r.health);
    line(
        &mut s,
        "free collateral (equity_im - IM)",
        r.free_collateral,
    );
    let status = if r.health < 0 {
        "LIQUIDATABLE (health < 0)"
    } else if r.free_collateral < 0 {
        "below IM: no new risk, no withdrawals"
    } else {
        "healthy"
    };
    let _ = writeln!(s, "  {:<34}{:>32}", "status", status);
    for u in &r.underlyings {
        let name = &input.underlyings[u.underlying as usize].name;
        let m = &c.market.underlyings[u.underlying as usize];
        let _ = writeln!(
            s,
            "Underlying {name} (spot {}, scan range {}%)",
            h(m.spot),
            h(m.scan_range * 100)
        );
        if u.pnl.is_empty() {
            let _ = writeln!(s, "  no positions");
            continue;
        }
        line(&mut s, "scan loss", u.scan_loss);
        let _ = writeln!(
            s,
            "  {:<34}{:>32}",
            "worst scenario",
            format!("#{} {}", u.worst_index, scenario_text(&u.worst))
        );
        line(&mut s, "short-option minimum", u.short_option_min);
        line(&mut s, "gross notional", u.gross_notional);
        line(
            &mut s,
            "concentration multiplier",
            u.concentration_multiplier,
        );
        line(&mut s, "charge", u.charge);
        line(&mut s, "oracle add-on", u.oracle_addon);
        line(&mut s, "delta", u.delta);
        line(&mut s, "gamma", u.gamma);
        line(&mut s, "vega (per 1.00 vol)", u.vega);
    }
    s
}
