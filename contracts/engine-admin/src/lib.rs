//! `keel_engine_admin`: the Keel engine's admin program.
//!
//! Roles, registries (collaterals, underlyings, instruments, markets) and
//! risk/liquidation parameters, i.e. [`keel_engine::router::admin`]. It owns
//! no storage of its own: the `keel_engine` program forwards every selector it
//! does not serve to this program by `delegatecall`, so the code below runs
//! on the engine's storage with the original `msg.sender`. Called directly,
//! it runs on its own (empty) storage, where no role is held and nothing can
//! change.
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
        keel_engine::router::admin_main(input, host)
    }
}
