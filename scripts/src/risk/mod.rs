//! `keel risk ...` subcommands.
pub mod margin;
pub mod price;
