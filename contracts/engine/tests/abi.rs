//! The checked-in Solidity interface must equal what `export-abi` prints.
//!
//! Runs `cargo run -p keel-engine --features export-abi --bin keel-engine-abi`
//! in its own target directory (the outer `cargo test` holds the lock on the
//! main one) and compares with `contracts/solidity/IKeelEngine.sol`.
//! Regenerate with:
//! `cargo run -q -p keel-engine --features export-abi --bin keel-engine-abi > contracts/solidity/IKeelEngine.sol`
#![allow(missing_docs)]

use std::{path::PathBuf, process::Command};

#[test]
fn solidity_interface_matches_export_abi() {
    let engine = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = engine.join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("abi-drift");
    let out = Command::new(env!("CARGO"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "run",
            "-q",
            "-p",
            "keel-engine",
            "--features",
            "export-abi",
            "--bin",
            "keel-engine-abi",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "export-abi failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let checked_in =
        std::fs::read_to_string(root.join("contracts/solidity/IKeelEngine.sol")).unwrap();
    assert!(
        generated == checked_in,
        "contracts/solidity/IKeelEngine.sol is stale; regenerate it (see tests/abi.rs)"
    );
}
