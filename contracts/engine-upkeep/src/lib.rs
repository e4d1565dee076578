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

/// The program's Stylus entry point (wasm32 only).
#[cfg(target_arch = "wasm32")]
mod program {
    #![allow(missing_docs)]
    use stylus_sdk::prelude::*;

    #[entrypoint]
    fn user_main(input: alloc::vec::Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
        keel_engine::router::upkeep_main(input, host)
    }
}
