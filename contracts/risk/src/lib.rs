//! Keel risk library: fixed-point (WAD, 18 decimals) stress-scenario portfolio margin.
//!
//! `no_std` (with `alloc`), no floating point: the same code runs in the Stylus
//! contract and in off-chain tools, so both compute bit for bit the same margin.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

pub mod addons;
pub mod aggregate;
pub mod black76;
pub mod error;
pub mod es;
pub mod ewma;
pub mod fixed;
pub mod margin;
pub mod math;
pub mod portfolio;
pub mod scenario;
pub mod smile;

// Core fixed-point, math, Black-76 and smile API (owned by the core module authors).
pub use black76::{
    black76, black76_price, years_from_seconds, Greeks, OptionKind, MONEYNESS_MAX,
    SECONDS_PER_YEAR, T_MAX, T_MIN, VOL_MAX, VOL_MIN,
};
pub use fixed::{
    add, div, from_int, mul, mul_div, mul_div_u128, sub, wdiv, wmul, MathError, Rounding, Wad, WAD,
};
pub use math::{exp, ln, norm_cdf, norm_pdf, sqrt};
pub use smile::{Smile, CURVATURE_MAX, SKEW_MAX};

// Portfolio margin API (owned by the portfolio/margin module authors).
pub use addons::{concentration_multiplier, gross_notional, oracle_addon, short_option_minimum};
pub use aggregate::{aggregate, direction, validate_correlation, Aggregation};
pub use error::{Field, RiskError};
pub use es::{es_from_losses, historical_losses, EsResult};
pub use ewma::{target_range, EwmaParams, EwmaState};
pub use margin::{account_margin, collateral_value};
pub use portfolio::{
    Collateral, ConcentrationTier, Instrument, MaintenanceMode, MarginReport, MarketData,
    Portfolio, Position, RiskParams, UnderlyingMarket, UnderlyingReport, MAX_AMOUNT,
    MAX_COLLATERALS, MAX_CONCENTRATION_TIERS, MAX_EXTREME_MOVES, MAX_GRID_K, MAX_HISTORY_EPOCHS,
    MAX_POSITIONS, MAX_TIME_ROLL_SECONDS, MAX_UNDERLYINGS,
};
pub use scenario::{
    price_series, scan, scenario_at, scenario_count, scenarios, PricedSeries, ScanResult, Scenario,
    ScenarioKind, VolShock,
};
