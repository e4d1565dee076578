//! Forge bridge for Stylus programs.
//!
//! Stock forge cannot execute Stylus WASM, so a Solidity shim sits at the
//! program's address and, for every call it receives, runs
//! `stylus-forge-runner` through `vm.ffi`. The runner is stateless: each run
//! ("round") re-executes the program from the start with the answers the EVM
//! gave so far and returns the steps after them (see [`protocol`] for the wire
//! format and [`replay`] for the re-execution rules). The shim performs the
//! side effects exactly once, in program order, checks the runner's
//! speculated answers, and loops until the program completes.
//!
//! - [`protocol`]: ABI types shared with `test/stylus/StylusShim.sol`;
//! - [`replay`]: the deterministic replay environment and [`replay::run_round`];
//! - [`cache`]: the per-engine speculation cache under `target/stylus-bridge/`;
//! - [`wasm`]: the one place that runs a program on `stylus-runtime`;
//! - [`sim`]: a Rust model of the shim, used by the protocol tests.

pub mod cache;
pub mod protocol;
pub mod replay;
pub mod sim;
pub mod wasm;

pub use protocol::{Context, Request, Response, Step};
pub use replay::{run_round, CallKind, Program, ProgramOutcome, Replay, ReplayError, Suspend};
