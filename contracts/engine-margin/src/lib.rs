//! `keel_engine_margin`: the Keel engine's margin program.
//!
//! Everything that turns an account's storage into margin: gathering its
//! positions, collateral at oracle prices, cash, the market data of each
//! underlying it trades and the risk parameters, and having the
//! `keel_risk_calc` program compute them, i.e. [`keel_engine::router::margin`]:
//! the margin views (`accountMargin`, `health`, `isLiquidatable`,
//! `scenarioPnl`, `greeks`) and `marginFigures`. The accounts and keeper
//! programs call `marginFigures` by `delegatecall` for every IM check and
//! liquidation decision, so an account's margin is computed by this one
//! program only. It owns no storage of its own: it runs on the engine's
//! storage (through the engine's fallback, or a delegatecall from another
//! engine program). Called directly, it runs on its own empty storage.
//!
//! A separate program because the engine does not fit one Stylus program's
//! 24,576-byte code limit (see `keel_engine`'s crate docs).
#![cfg_attr(not(test), no_main)]

extern crate alloc;

keel_engine::program_entry!(keel_engine::router::margin_main);
