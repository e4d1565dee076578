//! The bridge on the real runtime: a small WAT program run in rounds by the
//! Rust model of the shim (the forge example covers SDK-built WASM).

use alloy_primitives::{Address, B256, U256};
use forge_bridge::cache::SpecCache;
use forge_bridge::protocol::Context;
use forge_bridge::replay::CallKind;
use forge_bridge::sim::{Performed, SimWorld};
use forge_bridge::wasm::WasmProgram;

/// Loads slot 0, stores slot 0 + 1 (flush with clear, as the SDK does before a
/// call), static-calls 0x0a..0a with empty data, logs (topic = the call's
/// 32-byte answer, data = new value) and returns the call's answer.
const PROGRAM: &str = r#"
(module
  (import "vm_hooks" "storage_load_bytes32" (func $load (param i32 i32)))
  (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
  (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
  (import "vm_hooks" "static_call_contract" (func $scall (param i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "read_return_data" (func $rrd (param i32 i32 i32) (result i32)))
  (import "vm_hooks" "emit_log" (func $log (param i32 i32 i32)))
  (import "vm_hooks" "write_result" (func $wr (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 64) "\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a\0a")
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (call $load (i32.const 0) (i32.const 32))
    (i32.store8 (i32.const 63) (i32.add (i32.load8_u (i32.const 63)) (i32.const 1)))
    (call $cache (i32.const 0) (i32.const 32))
    (call $flush (i32.const 1))
    (if (call $scall (i32.const 64) (i32.const 0) (i32.const 0) (i64.const 100000) (i32.const 100))
      (then (return (i32.const 1))))
    (drop (call $rrd (i32.const 128) (i32.const 0) (i32.const 32)))
    (memory.copy (i32.const 160) (i32.const 32) (i32.const 32))
    (call $log (i32.const 128) (i32.const 64) (i32.const 1))
    (call $wr (i32.const 128) (i32.const 32))
    (i32.const 0)))
"#;

fn ctx() -> Context {
    Context {
        contractAddress: Address::repeat_byte(0xE0),
        sender: Address::repeat_byte(0x5E),
        value: U256::ZERO,
        origin: Address::repeat_byte(0x5E),
        gasPrice: U256::ZERO,
        blockNumber: 1,
        timestamp: 2,
        chainId: 31337,
        basefee: U256::ZERO,
        coinbase: Address::ZERO,
        gasLimit: 30_000_000,
        gas: 10_000_000,
        isStatic: false,
        reentrant: false,
    }
}

#[test]
fn wasm_program_runs_in_rounds_with_effects_in_order() {
    let dir = std::env::temp_dir().join(format!("fb-wasm-{}", std::process::id()));
    std::env::set_var(stylus_runtime::CACHE_ENV, &dir);
    let program = WasmProgram {
        code: wat::parse_str(PROGRAM).unwrap(),
    };
    let oracle = Address::repeat_byte(0x0a);
    let answer = B256::from(U256::from(7u8));
    let mut w = SimWorld::new();
    w.storage.insert(B256::ZERO, B256::from(U256::from(41u8)));
    w.on_call = Box::new(move |_, _, _, _| (true, answer.to_vec()));
    let mut cache = SpecCache::in_memory();

    let out = w.execute(&program, &ctx(), b"", &mut cache).unwrap();
    assert!(out.success, "{out:?}");
    assert_eq!(out.output, answer.to_vec());
    assert!(out.gas_used > 0);
    // SLOAD guessed zero, then the call had no cached answer: three rounds.
    assert_eq!(out.rounds, 3);
    let new = B256::from(U256::from(42u8));
    assert_eq!(
        w.performed,
        vec![
            Performed::Store(B256::ZERO, new),
            Performed::Call(CallKind::Static, oracle, U256::ZERO, vec![]),
            Performed::Log(vec![answer], new.to_vec()),
        ]
    );

    // Warm cache: one round, same effects.
    w.performed.clear();
    let out = w.execute(&program, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 1);
    assert_eq!(w.performed.len(), 3);
    assert_eq!(w.storage[&B256::ZERO], B256::from(U256::from(43u8)));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn wasm_program_in_static_context_fails_on_flush() {
    let dir = std::env::temp_dir().join(format!("fb-wasm-s-{}", std::process::id()));
    std::env::set_var(stylus_runtime::CACHE_ENV, &dir);
    let program = WasmProgram {
        code: wat::parse_str(PROGRAM).unwrap(),
    };
    let mut c = ctx();
    c.isStatic = true;
    let mut w = SimWorld::new();
    let out = w
        .execute(&program, &c, b"", &mut SpecCache::in_memory())
        .unwrap();
    assert!(!out.success);
    assert!(out.output.is_empty(), "a failure reverts with empty data");
    assert!(w.performed.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}
