//! The engine's ABI: the checked-in Solidity interface equals the one generated
//! from `abi.rs`, every function of it is routed by exactly one of the five engine programs, and
//! the hand-written codec agrees with alloy's encoder and decoder.
//!
//! Regenerate the interface with
//! `cargo run -q -p keel-engine --features export-abi --bin keel-engine-abi > contracts/solidity/IKeelEngine.sol`.
#![allow(missing_docs)]

mod common;

use std::path::PathBuf;

use alloy_sol_types::SolCall;
use common::Env;
use keel_engine::abi::IKeelEngine;
use keel_engine::{router, KeelEngine};

#[test]
fn solidity_interface_matches_abi_rs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../solidity/IKeelEngine.sol");
    let checked_in = std::fs::read_to_string(&path).unwrap();
    assert!(
        keel_engine::solidity_interface() == checked_in,
        "{} is stale; regenerate it (see tests/abi.rs)",
        path.display()
    );
}

#[test]
fn every_function_is_routed_by_exactly_one_program() {
    let abi = IKeelEngine::abi::contract();
    let mut n = 0;
    for f in abi.functions() {
        let env = Env::new();
        let mut e = KeelEngine::from(&env);
        // Selector only: every routed function answers (with its result or a
        // calldata error); an unrouted one answers None.
        let sel = f.selector().0.to_vec();
        let by = [
            router::accounts(&mut e, &sel).is_some(),
            router::keeper(&mut e, &sel).is_some(),
            router::admin(&mut e, &sel).is_some(),
            router::margin(&mut e, &sel).is_some(),
            router::upkeep(&mut e, &sel).is_some(),
        ];
        assert_eq!(
            by.iter().filter(|b| **b).count(),
            1,
            "{} routed by [accounts, keeper, admin, margin, upkeep] = {by:?}",
            f.signature()
        );
        // The accounts program forwards exactly the keeper's, the margin
        // program's and the upkeep program's selectors to them.
        assert_eq!(by[1], router::KEEPER_SELECTORS.contains(&f.selector().0));
        assert_eq!(by[3], router::MARGIN_SELECTORS.contains(&f.selector().0));
        assert_eq!(by[4], router::UPKEEP_SELECTORS.contains(&f.selector().0));
        n += 1;
    }
    assert_eq!(n, 61);
}

#[test]
fn unknown_selector_is_not_routed_and_short_calldata_is_not_a_call() {
    let env = Env::new();
    let mut e = KeelEngine::from(&env);
    assert!(router::accounts(&mut e, &[1, 2, 3, 4]).is_none());
    assert!(router::admin(&mut e, &[1, 2, 3, 4]).is_none());
    assert!(router::keeper(&mut e, &[1, 2, 3, 4]).is_none());
    assert!(router::margin(&mut e, &[1, 2, 3, 4]).is_none());
    assert!(router::upkeep(&mut e, &[1, 2, 3, 4]).is_none());
    assert!(router::accounts(&mut e, &[1, 2]).is_none());
}

#[test]
fn arguments_are_checked_like_solidity_decodes_them() {
    let env = Env::new();
    let mut e = KeelEngine::from(&env);
    let mut data = IKeelEngine::accountIdCall {
        owner: alloy_primitives::Address::repeat_byte(7),
        sub: 3,
    }
    .abi_encode();
    let out = router::accounts(&mut e, &data).unwrap().unwrap();
    let id = IKeelEngine::accountIdCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        id,
        keel_engine::account_id(alloy_primitives::Address::repeat_byte(7), 3)
    );
    // A dirty high byte in the address word, then a uint64 that does not fit.
    data[4] = 1;
    let err = router::accounts(&mut e, &data).unwrap().unwrap_err();
    assert!(
        matches!(err, keel_engine::errors::EngineError::InvalidCalldata(c) if c.argument == alloy_primitives::U256::ZERO)
    );
    data[4] = 0;
    data[36 + 20] = 1;
    let err = router::accounts(&mut e, &data).unwrap().unwrap_err();
    assert!(
        matches!(err, keel_engine::errors::EngineError::InvalidCalldata(c) if c.argument == alloy_primitives::U256::from(1))
    );
}

/// The engine's reentrancy protection is its own lock (`router::locked`);
/// the SDK's `reentrant` feature, which turns the SDK entrypoint's guard off
/// (and which the example counter of the forge bridge enables in its own
/// workspace), must never be unified into this workspace's stylus-sdk.
#[test]
fn workspace_never_enables_the_sdks_reentrant_feature() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // `cargo tree` resolves features as the build does (unified over the
    // workspace) and, unlike `cargo metadata`, needs no other platform's crates.
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--workspace",
            "-e",
            "features",
            "-i",
            "stylus-sdk",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("stylus-sdk feature \"default\""), "{tree}");
    assert!(
        !tree.contains("stylus-sdk feature \"reentrant\""),
        "stylus-sdk is built with `reentrant`:\n{tree}"
    );
}
