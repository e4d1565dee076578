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

keel_engine::program_entry!(keel_engine::router::admin_main);
