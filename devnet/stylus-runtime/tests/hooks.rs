//! Per-hook behaviour of the runtime against `tests/fixtures/hooks.wat`
//! (one operation per calldata opcode, see the fixture).

use std::sync::OnceLock;
use stylus_runtime::{
    Address, CallKind, CallResult, Config, CreateResult, FailureReason, MemoryHost,
    MemoryHostError, Outcome, Runtime, Status, B256, U256,
};

const GAS: u64 = 10_000_000;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(Config {
            cache_dir: None,
            ..Config::default()
        })
        .unwrap()
    })
}

fn hooks_wasm() -> &'static [u8] {
    static W: OnceLock<Vec<u8>> = OnceLock::new();
    W.get_or_init(|| {
        wat::parse_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/hooks.wat"
        ))
        .unwrap()
    })
}

fn run(host: &mut MemoryHost, calldata: &[u8]) -> Outcome {
    runtime()
        .execute(hooks_wasm(), calldata, GAS, host)
        .unwrap()
}

fn word(x: u8) -> B256 {
    B256::with_last_byte(x)
}

fn host() -> MemoryHost {
    MemoryHost::new(Address::repeat_byte(0xaa), Address::repeat_byte(0xbb))
}

fn op(code: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![code];
    for p in parts {
        v.extend_from_slice(p);
    }
    v
}

#[test]
fn storage_load_reads_host_value() {
    let mut h = host();
    h.storage.insert(word(1), word(7));
    let out = run(&mut h, &op(0, &[word(1).as_slice()]));
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(7).as_slice());
}

#[test]
fn storage_cache_is_visible_to_loads_but_discarded_without_flush() {
    let mut h = host();
    let out = run(&mut h, &op(1, &[word(1).as_slice(), word(9).as_slice()]));
    assert_eq!(out.status, Status::Success);
    assert_eq!(
        out.output,
        word(9).as_slice(),
        "load sees the unflushed write"
    );
    assert!(h.storage.is_empty(), "unflushed writes are discarded");
    assert!(h.writes.is_empty());
    assert_eq!(h.loads, 0, "a cached slot is not read from the host");
}

#[test]
fn storage_flush_writes_dirty_slots_at_sstore_cost() {
    let mut h = host();
    let out = run(&mut h, &op(2, &[word(1).as_slice(), word(9).as_slice()]));
    assert_eq!(out.status, Status::Success);
    assert_eq!(h.storage.get(&word(1)), Some(&word(9)));
    assert_eq!(h.writes, vec![(word(1), word(9))]);
    // a cold zero -> non-zero SSTORE costs 22,100 gas
    assert!(
        GAS - out.gas_left > 22_100,
        "gas used {}",
        GAS - out.gas_left
    );
}

#[test]
fn storage_flush_clear_drops_the_cache() {
    let mut kept = host();
    let out = run(
        &mut kept,
        &op(3, &[word(1).as_slice(), word(0).as_slice(), &[0]]),
    );
    assert_eq!(out.status, Status::Success);
    assert_eq!(
        kept.loads, 1,
        "without clear the second load hits the cache"
    );
    let mut cleared = host();
    run(
        &mut cleared,
        &op(3, &[word(1).as_slice(), word(0).as_slice(), &[1]]),
    );
    assert_eq!(
        cleared.loads, 2,
        "with clear the second load goes to the host"
    );
}

#[test]
fn storage_flush_errors_in_static_context_with_dirty_slots() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(&mut h, &op(2, &[word(1).as_slice(), word(9).as_slice()]));
    assert_eq!(
        out.status,
        Status::Failure(FailureReason::WriteProtection("storage_flush_cache"))
    );
    assert!(out.output.is_empty());
    assert!(out.gas_left > 0, "a failure refunds the gas left");
    assert!(h.storage.is_empty());
}

#[test]
fn storage_flush_succeeds_in_static_context_when_clean() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(
        &mut h,
        &op(3, &[word(1).as_slice(), word(0).as_slice(), &[0]]),
    );
    assert_eq!(out.status, Status::Success);
}

#[test]
fn emit_log_records_topics_and_data() {
    let mut h = host();
    let out = run(&mut h, &op(4, &[&[1], word(5).as_slice(), b"hello"]));
    assert_eq!(out.status, Status::Success);
    assert_eq!(h.logs.len(), 1);
    assert_eq!(h.logs[0].topics, vec![word(5)]);
    assert_eq!(h.logs[0].data, b"hello");
}

#[test]
fn emit_log_errors_in_static_context() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(&mut h, &op(4, &[&[0], b"x"]));
    assert_eq!(
        out.status,
        Status::Failure(FailureReason::WriteProtection("emit_log"))
    );
    assert!(h.logs.is_empty());
}

#[test]
fn emit_log_errors_on_too_many_topics_or_short_data() {
    let mut h = host();
    let five = [0u8; 160];
    assert_eq!(
        run(&mut h, &op(4, &[&[5], &five])).status,
        Status::Failure(FailureReason::BadLog)
    );
    assert_eq!(
        run(&mut h, &op(4, &[&[2], &[0u8; 40]])).status,
        Status::Failure(FailureReason::BadLog)
    );
}

#[test]
fn transient_store_then_load_round_trips() {
    let mut h = host();
    let out = run(&mut h, &op(5, &[word(3).as_slice(), word(4).as_slice()]));
    assert_eq!(out.output, word(4).as_slice());
    assert_eq!(h.transient.get(&word(3)), Some(&word(4)));
}

#[test]
fn transient_store_errors_in_static_context() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(&mut h, &op(5, &[word(3).as_slice(), word(4).as_slice()]));
    assert_eq!(
        out.status,
        Status::Failure(FailureReason::WriteProtection("transient_store_bytes32"))
    );
}

fn call_args(to: Address, value: u8, data: &[u8]) -> Vec<u8> {
    op(6, &[to.as_slice(), word(value).as_slice(), data])
}

#[test]
fn call_contract_returns_status_lengths_and_overlap_without_padding() {
    let mut h = host();
    h.on_call = Some(Box::new(|_| CallResult {
        success: true,
        output: (0u8..10).collect(),
        gas_used: 1_000,
    }));
    let to = Address::repeat_byte(0x11);
    let out = run(&mut h, &call_args(to, 0, b"ping"));
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output[0], 0, "status 0");
    assert_eq!(&out.output[1..5], &10u32.to_le_bytes(), "ret_len");
    assert_eq!(&out.output[5..9], &10u32.to_le_bytes(), "return_data_size");
    assert_eq!(
        &out.output[9..],
        &[2, 3, 4, 5, 6, 7, 8, 9],
        "bytes 2..10 only"
    );
    let call = &h.calls[0];
    assert_eq!(
        (call.kind, call.to, call.input.as_slice()),
        (CallKind::Call, to, &b"ping"[..])
    );
    assert!(
        call.gas <= (GAS - 2_600) * 63 / 64,
        "63/64 rule: {}",
        call.gas
    );
}

#[test]
fn call_contract_returns_status_2_on_revert_with_revert_data() {
    let mut h = host();
    h.on_call = Some(Box::new(|_| CallResult {
        success: false,
        output: vec![0xde, 0xad, 0xbe, 0xef],
        gas_used: 50,
    }));
    let out = run(&mut h, &call_args(Address::repeat_byte(0x11), 0, b""));
    assert_eq!(out.output[0], 2);
    assert_eq!(&out.output[9..], &[0xbe, 0xef]);
}

#[test]
fn call_contract_with_value_in_static_context_returns_2_without_calling() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(&mut h, &call_args(Address::repeat_byte(0x11), 1, b""));
    assert_eq!(out.status, Status::Success, "the program goes on");
    assert_eq!(out.output[0], 2);
    assert_eq!(&out.output[1..5], &0u32.to_le_bytes());
    assert!(h.calls.is_empty());
}

#[test]
fn call_contract_with_value_adds_stipend() {
    let mut h = host();
    h.balances.insert(Address::repeat_byte(0x11), U256::from(1));
    run(&mut h, &call_args(Address::repeat_byte(0x11), 5, b""));
    let call = &h.calls[0];
    assert_eq!(call.value, U256::from(5));
    assert!(call.gas > 2_300);
}

#[test]
fn static_call_contract_passes_kind_and_capped_gas() {
    let mut h = host();
    let to = Address::repeat_byte(0x22);
    let out = run(&mut h, &op(21, &[to.as_slice(), b"q"]));
    assert_eq!(out.output, [0, 0, 0, 0, 0]);
    assert_eq!(h.calls[0].kind, CallKind::StaticCall);
    assert_eq!(h.calls[0].gas, 100_000, "requested gas below the 63/64 cap");
}

#[test]
fn flush_before_call_makes_writes_visible_to_the_callee() {
    let mut h = host();
    let to = Address::repeat_byte(0x33);
    run(
        &mut h,
        &op(22, &[to.as_slice(), word(1).as_slice(), word(2).as_slice()]),
    );
    assert_eq!(h.calls[0].storage_at_call.get(&word(1)), Some(&word(2)));
}

#[test]
fn revert_returns_output() {
    let out = run(&mut host(), &op(7, &[b"why"]));
    assert_eq!(out.status, Status::Revert);
    assert_eq!(out.output, b"why");
    assert!(out.gas_left > 0);
}

#[test]
fn trap_is_failure_with_empty_output_and_gas_refunded() {
    let out = run(&mut host(), &op(8, &[b"lost"]));
    assert!(
        matches!(out.status, Status::Failure(FailureReason::Trap(_))),
        "{:?}",
        out.status
    );
    assert!(out.output.is_empty());
    assert!(out.gas_left > GAS / 2);
}

#[test]
fn exit_early_zero_is_success_with_last_result() {
    let out = run(&mut host(), &op(9, &[&[0], b"done"]));
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, b"done");
}

#[test]
fn exit_early_nonzero_is_revert_with_last_result() {
    let out = run(&mut host(), &op(9, &[&[3], b"nope"]));
    assert_eq!(out.status, Status::Revert);
    assert_eq!(out.output, b"nope");
}

#[test]
fn msg_reentrant_reports_the_frame_flag() {
    let mut h = host();
    assert_eq!(run(&mut h, &[10]).output, 0u32.to_le_bytes());
    h.msg.reentrant = true;
    assert_eq!(run(&mut h, &[10]).output, 1u32.to_le_bytes());
}

#[test]
fn spin_runs_out_of_ink_and_uses_all_gas() {
    let out = run(&mut host(), &[11]);
    assert_eq!(out.status, Status::OutOfInk);
    assert_eq!(out.gas_left, 0);
    assert_eq!(out.ink_used, GAS * 10_000);
}

#[test]
fn recursion_runs_out_of_stack_budget() {
    let rt = Runtime::new(Config {
        cache_dir: None,
        max_stack_depth: 1_000,
        ..Config::default()
    })
    .unwrap();
    let out = rt.execute(hooks_wasm(), &[12], GAS, &mut host()).unwrap();
    assert_eq!(out.status, Status::OutOfStack);
    assert_eq!(out.gas_left, 0);
}

#[test]
fn recursion_with_default_budget_is_out_of_stack() {
    let out = run(&mut host(), &[12]);
    assert_eq!(out.status, Status::OutOfStack);
}

#[test]
fn bad_pointer_is_failure() {
    let out = run(&mut host(), &[13]);
    assert_eq!(out.status, Status::Failure(FailureReason::BadPointer));
}

#[test]
fn context_hooks_copy_frame_and_block() {
    let mut h = host();
    h.msg.value = U256::from(12_345);
    h.block.number = 77;
    h.block.chain_id = 42_161;
    let out = run(&mut h, &[14]);
    assert_eq!(&out.output[..20], Address::repeat_byte(0xbb).as_slice());
    assert_eq!(&out.output[20..40], Address::repeat_byte(0xaa).as_slice());
    assert_eq!(&out.output[40..72], &U256::from(12_345).to_be_bytes::<32>());
    assert_eq!(&out.output[72..80], &77u64.to_le_bytes());
    assert_eq!(&out.output[80..88], &42_161u64.to_le_bytes());
}

#[test]
fn native_keccak256_matches_keccak() {
    let out = run(&mut host(), &op(15, &[b"abc"]));
    assert_eq!(out.output, alloy_primitives::keccak256(b"abc").as_slice());
}

#[test]
fn memory_grow_pays_beyond_two_free_pages() {
    let mut small = host();
    let one = run(&mut small, &op(16, &[&[1]]));
    assert_eq!(one.output, 1u32.to_le_bytes(), "old size 1 page");
    assert_eq!(small.pages, (0, 2), "open restored, high-water 2");
    let mut big = host();
    let four = run(&mut big, &op(16, &[&[4]]));
    assert_eq!(big.pages, (0, 5));
    // same code path, so the runs differ by the page gas only:
    // 3 pages past the free 2 at 1,000 each, exp(5) - exp(1) = 0
    assert_eq!(one.gas_left - four.gas_left, 3_000);
}

#[test]
fn create1_reports_address_or_revert_data() {
    let mut h = host();
    let created = Address::repeat_byte(0x44);
    h.on_create = Some(Box::new(move |_| CreateResult {
        address: Some(created),
        output: vec![1, 2, 3],
        gas_used: 10,
    }));
    let out = run(&mut h, &op(17, &[&[0x60, 0x00]]));
    assert_eq!(&out.output[..20], created.as_slice());
    assert_eq!(
        &out.output[20..28],
        &[0u8; 8],
        "no return data after success"
    );

    let mut h = host();
    h.on_create = Some(Box::new(|_| CreateResult {
        address: None,
        output: vec![9, 9],
        gas_used: 10,
    }));
    let out = run(&mut h, &op(17, &[&[0x60, 0x00]]));
    assert_eq!(&out.output[..20], &[0u8; 20]);
    assert_eq!(&out.output[20..24], &2u32.to_le_bytes());
}

#[test]
fn create1_in_static_context_fails() {
    let mut h = host();
    h.msg.is_static = true;
    let out = run(&mut h, &op(17, &[&[0x00]]));
    assert_eq!(
        out.status,
        Status::Failure(FailureReason::CreateFailed("write protection"))
    );
}

#[test]
fn math_pow_is_256_bit_wrapping() {
    let out = run(
        &mut host(),
        &op(
            18,
            &[
                &U256::from(3).to_be_bytes::<32>(),
                &U256::from(5).to_be_bytes::<32>(),
            ],
        ),
    );
    assert_eq!(out.output, U256::from(243).to_be_bytes::<32>());
}

#[test]
fn account_code_copies_overlap_only() {
    let mut h = host();
    let who = Address::repeat_byte(0x55);
    h.codes.insert(who, (0u8..10).collect());
    let out = run(
        &mut h,
        &op(
            19,
            &[who.as_slice(), &8u32.to_le_bytes(), &10u32.to_le_bytes()],
        ),
    );
    assert_eq!(out.output, [8, 9]);
}

#[test]
fn account_balance_reads_host() {
    let mut h = host();
    let who = Address::repeat_byte(0x66);
    h.balances.insert(who, U256::from(99));
    let out = run(&mut h, &op(23, &[who.as_slice()]));
    assert_eq!(out.output, U256::from(99).to_be_bytes::<32>());
    assert!(h.warm_accounts.contains(&who));
}

#[test]
fn evm_gas_left_is_below_the_gas_given() {
    let out = run(&mut host(), &[20]);
    let seen = u64::from_le_bytes(out.output[..8].try_into().unwrap());
    assert!(seen < GAS - 9_184 && seen > GAS - 20_000, "{seen}");
    assert!(out.gas_left <= seen);
}

#[test]
fn host_error_is_failure_with_typed_error() {
    let mut h = host();
    h.fail_on_load = Some(word(1));
    let out = run(&mut h, &op(0, &[word(1).as_slice()]));
    assert!(out.output.is_empty());
    let err = out
        .host_error::<MemoryHostError>()
        .expect("typed host error");
    assert!(err.0.contains("no value"));
}

#[test]
fn unknown_op_reverts_with_empty_output() {
    let out = run(&mut host(), &[200]);
    assert_eq!(out.status, Status::Revert);
    assert!(out.output.is_empty());
}

#[test]
fn gas_out_is_ink_left_over_price() {
    let out = run(
        &mut host(),
        &op(2, &[word(1).as_slice(), word(2).as_slice()]),
    );
    assert!(out.output.is_empty());
    let price = 10_000;
    assert_eq!(out.gas_left, (GAS * price - out.ink_used) / price);
}

#[test]
fn execute_errors_when_gas_below_start_cost() {
    let out = run_with_gas(9_000);
    assert_eq!(out.status, Status::OutOfInk);
    assert_eq!(out.gas_left, 0);
}

fn run_with_gas(gas: u64) -> Outcome {
    runtime()
        .execute(hooks_wasm(), &[0], gas, &mut host())
        .unwrap()
}

#[test]
fn deployed_code_runs_like_raw_wasm() {
    let code = stylus_program::process(hooks_wasm()).unwrap().code;
    assert_eq!(&code[..4], &[0xEF, 0xF0, 0x00, 0x00]);
    let out = runtime()
        .execute(&code, &op(15, &[b"abc"]), GAS, &mut host())
        .unwrap();
    assert_eq!(out.output, alloy_primitives::keccak256(b"abc").as_slice());
}

#[test]
fn execute_errors_on_invalid_program() {
    let float = wat::parse_str(
        r#"(module (memory (export "memory") 1 1)
             (func (export "user_entrypoint") (param i32) (result i32)
               f32.const 1 drop i32.const 0))"#,
    )
    .unwrap();
    let err = runtime()
        .execute(&float, &[], GAS, &mut host())
        .unwrap_err();
    assert!(
        matches!(err, stylus_runtime::RuntimeError::Program(_)),
        "{err}"
    );
}

#[test]
fn fixture_imports_every_nitro_hook() {
    let mut imported: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(hooks_wasm())
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::ImportSection(r) => Some(
                r.into_iter()
                    .map(|i| i.unwrap().name.to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    imported.sort();
    let mut all: Vec<String> = stylus_program::VM_HOOKS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    all.sort();
    assert_eq!(imported, all);
}

#[test]
fn delegate_call_contract_passes_frame_value() {
    let mut h = host();
    h.msg.value = U256::from(77);
    let to = Address::repeat_byte(0x12);
    let out = run(&mut h, &op(24, &[to.as_slice(), b"d"]));
    assert_eq!(out.output, [0, 0, 0, 0, 0]);
    assert_eq!(h.calls[0].kind, CallKind::DelegateCall);
    assert_eq!(
        h.calls[0].value,
        U256::from(77),
        "callee sees the frame's value"
    );
}

#[test]
fn create2_passes_salt_and_charges_hashing() {
    let mut h = host();
    let seen = std::rc::Rc::new(std::cell::RefCell::new(None));
    let seen2 = seen.clone();
    let created = Address::repeat_byte(0x45);
    h.on_create = Some(Box::new(move |r| {
        *seen2.borrow_mut() = Some((r.salt, r.init_code.to_vec(), r.gas));
        CreateResult {
            address: Some(created),
            output: Vec::new(),
            gas_used: 0,
        }
    }));
    let out = run(&mut h, &op(25, &[word(9).as_slice(), &[0x60, 0x01]]));
    assert_eq!(&out.output[..20], created.as_slice());
    let (salt, init, gas) = seen.borrow().clone().unwrap();
    assert_eq!((salt, init), (Some(word(9)), vec![0x60, 0x01]));
    assert!(
        gas < (GAS - 32_006) * 63 / 64,
        "base + 6/word withheld, then 1/64"
    );
}

#[test]
fn block_and_tx_hooks_copy_context() {
    let mut h = host();
    h.block.basefee = U256::from(5);
    h.block.coinbase = Address::repeat_byte(0xc0);
    h.block.gas_limit = 30_000_000;
    h.block.timestamp = 1_700_000_000;
    h.block.gas_price = U256::from(6);
    h.block.origin = Address::repeat_byte(0x0f);
    let out = run(&mut h, &[26]).output;
    assert_eq!(&out[..32], &U256::from(5).to_be_bytes::<32>());
    assert_eq!(&out[32..52], Address::repeat_byte(0xc0).as_slice());
    assert_eq!(&out[52..60], &30_000_000u64.to_le_bytes());
    assert_eq!(&out[60..68], &1_700_000_000u64.to_le_bytes());
    assert_eq!(&out[68..100], &U256::from(6).to_be_bytes::<32>());
    assert_eq!(&out[100..104], &10_000u32.to_le_bytes());
    assert_eq!(&out[104..124], Address::repeat_byte(0x0f).as_slice());
    let ink = u64::from_le_bytes(out[124..132].try_into().unwrap());
    assert!(ink < GAS * 10_000 && ink > (GAS - 20_000) * 10_000);
}

fn math(a: U256, b: U256, m: U256) -> Vec<U256> {
    let out = run(
        &mut host(),
        &op(
            27,
            &[
                &a.to_be_bytes::<32>(),
                &b.to_be_bytes::<32>(),
                &m.to_be_bytes::<32>(),
            ],
        ),
    )
    .output;
    out.chunks(32).map(|c| U256::from_be_slice(c)).collect()
}

#[test]
fn math_hooks_compute_256_bit_results() {
    let r = math(U256::from(17), U256::from(5), U256::from(7));
    assert_eq!(r, [3, 2, 1, 1].map(U256::from));
    let max = U256::MAX;
    let r = math(max, max, U256::from(10));
    assert_eq!(
        r[2],
        (max % U256::from(10) * U256::from(2)) % U256::from(10)
    );
}

#[test]
fn math_hooks_give_zero_for_zero_divisor_or_modulus() {
    let r = math(U256::from(17), U256::ZERO, U256::ZERO);
    assert_eq!(r, [U256::ZERO; 4]);
}

#[test]
fn account_code_size_and_codehash_follow_extcode_rules() {
    let mut h = host();
    let with_code = Address::repeat_byte(0x71);
    h.codes.insert(with_code, vec![1, 2, 3]);
    let out = run(&mut h, &op(28, &[with_code.as_slice()])).output;
    assert_eq!(&out[..4], &3u32.to_le_bytes());
    assert_eq!(&out[4..], alloy_primitives::keccak256([1, 2, 3]).as_slice());

    let funded = Address::repeat_byte(0x72);
    h.balances.insert(funded, U256::from(1));
    let out = run(&mut h, &op(28, &[funded.as_slice()])).output;
    assert_eq!(
        &out[4..],
        alloy_primitives::keccak256([]).as_slice(),
        "existing, no code"
    );

    let out = run(&mut h, &op(28, &[Address::repeat_byte(0x73).as_slice()])).output;
    assert_eq!(&out[4..], &[0u8; 32], "nonexistent account");
}

#[test]
fn memory_fill_charges_100_ink_per_byte() {
    let small = run(&mut host(), &op(29, &[&1u32.to_le_bytes()]));
    let big = run(&mut host(), &op(29, &[&1_001u32.to_le_bytes()]));
    assert_eq!(big.ink_used - small.ink_used, 1_000 * 100);
}

#[test]
fn warm_storage_load_costs_2000_gas_less_than_cold() {
    let mut cold = host();
    let cold_out = run(&mut cold, &op(0, &[word(1).as_slice()]));
    let mut warm = host();
    warm.warm_slots.insert(word(1));
    let warm_out = run(&mut warm, &op(0, &[word(1).as_slice()]));
    assert_eq!(warm_out.gas_left - cold_out.gas_left, 2_000);
}

#[test]
fn start_charge_adds_init_gas_unless_cached() {
    let cached = Runtime::new(Config {
        cache_dir: None,
        program_cached: true,
        ..Config::default()
    })
    .unwrap();
    let warm = cached
        .execute(hooks_wasm(), &[200], GAS, &mut host())
        .unwrap();
    let cold = run(&mut host(), &[200]);
    let diff = warm.gas_left - cold.gas_left;
    // initGas = 8,832 + init_cost, where init_cost grows with the module size
    assert!(diff > 8_832 && diff < 8_832 + 2_000, "{diff}");
}
