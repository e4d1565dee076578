//! `keel_engine_keeper`: the Keel engine's keeper program.
//!
//! The engine's liquidation state machine: flag (keeper reward), unflag,
//! liquidation of positions and collateral (Dutch auction, anti-cascade cap,
//! partial down to the buffer) and bad debt (insurance fund, then the
//! socialised-loss index), i.e. [`keel_engine::router::keeper`]. It owns
//! no storage of its own: the `keel_engine` program forwards these selectors
//! to this program by `delegatecall`, so the code runs on the engine's storage
//! with the original `msg.sender` (the keeper or liquidator). Called directly,
//! it runs on its own empty storage, where no account exists.
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
        keel_engine::router::keeper_main(input, host)
    }
}
