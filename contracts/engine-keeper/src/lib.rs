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

keel_engine::program_entry!(keel_engine::router::keeper_main);
