//! `keel_engine_upkeep`: the Keel engine's upkeep program.
//!
//! The permissionless upkeep of each underlying's market state, i.e.
//! [`keel_engine::router::upkeep`]: `poke` (oracle -> EWMA volatility -> scan
//! range, deviation guard) and expiry (`recordSettlementPrice` from the oracle
//! round at or after expiry, `settlementPrice`, and `settle` of expired
//! positions into cash). It owns no storage of its own: the `keel_engine`
//! program forwards these selectors to this program by `delegatecall`, so the
//! code runs on the engine's storage with the original `msg.sender`. Called
//! directly, it runs on its own empty storage, where no underlying exists.
//!
//! A separate program because the engine does not fit one Stylus program's
//! 24,576-byte code limit (see `keel_engine`'s crate docs).
#![cfg_attr(not(test), no_main)]

extern crate alloc;

keel_engine::program_entry!(keel_engine::router::upkeep_main);
