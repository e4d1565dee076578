//! Protocol tests: programs written in Rust against the replay environment,
//! driven by the Rust model of the shim (`forge_bridge::sim`).

use alloy_primitives::{Address, B256, U256};
use forge_bridge::cache::SpecCache;
use forge_bridge::protocol::{push_answer, split_answers, Context, Request, Response, OP_SLOAD};
use forge_bridge::replay::{
    run_round, CallKind, Program, ProgramOutcome, Replay, ReplayError, Suspend,
};
use forge_bridge::sim::{Performed, SimWorld};
use std::collections::HashMap;

type Body = dyn Fn(&mut Replay<'_>) -> Result<ProgramOutcome, Suspend>;

struct FnProgram(Box<Body>);

impl Program for FnProgram {
    fn run(&self, env: &mut Replay<'_>) -> Result<Result<ProgramOutcome, Suspend>, ReplayError> {
        Ok((self.0)(env))
    }
}

fn program(f: impl Fn(&mut Replay<'_>) -> Result<ProgramOutcome, Suspend> + 'static) -> FnProgram {
    FnProgram(Box::new(f))
}

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
        gas: 1_000_000,
        isStatic: false,
        reentrant: false,
    }
}

fn slot(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn word(n: u64) -> B256 {
    B256::from(U256::from(n))
}

fn ok(output: Vec<u8>) -> ProgramOutcome {
    ProgramOutcome {
        success: true,
        output,
        gas_used: 100,
    }
}

const ORACLE: Address = Address::repeat_byte(0x0A);
const TOKEN: Address = Address::repeat_byte(0x0B);

/// Reads slot 1, writes slot 1 = x + 1 (a flush), logs, calls the oracle,
/// stores its answer in slot 2, calls the token, logs again.
fn mixed() -> FnProgram {
    program(|env| {
        let x = U256::from_be_bytes(env.sload(slot(1))?.0);
        env.sstore(slot(1), B256::from(x + U256::from(1)))?;
        env.log(&[word(0xAA)], b"first")?;
        let (okc, price) = env.call(CallKind::Static, ORACLE, U256::ZERO, 50_000, b"price")?;
        assert!(okc);
        env.sstore(slot(2), B256::from_slice(&price))?;
        let (okt, _) = env.call(CallKind::Call, TOKEN, U256::ZERO, 50_000, b"transfer")?;
        env.log(&[word(0xBB), word(u64::from(okt))], b"second")?;
        Ok(ok(price))
    })
}

fn oracle_world(price: u64) -> SimWorld {
    let mut w = SimWorld::new();
    w.storage.insert(slot(1), word(41));
    w.on_call = Box::new(move |_, to, _, _| {
        if to == ORACLE {
            (true, word(price).to_vec())
        } else {
            (true, vec![1])
        }
    });
    w
}

#[test]
fn execute_performs_effects_exactly_once_in_program_order() {
    let mut w = oracle_world(7);
    let mut cache = SpecCache::in_memory();
    let out = w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    assert!(out.success);
    assert_eq!(out.output, word(7).to_vec());
    // Cold cache: the SLOAD guessed zero (one round), then one round per
    // call without a cached answer, then the last.
    assert_eq!(out.rounds, 4);
    assert_eq!(
        w.performed,
        vec![
            Performed::Store(slot(1), word(42)),
            Performed::Log(vec![word(0xAA)], b"first".to_vec()),
            Performed::Call(CallKind::Static, ORACLE, U256::ZERO, b"price".to_vec()),
            Performed::Store(slot(2), word(7)),
            Performed::Call(CallKind::Call, TOKEN, U256::ZERO, b"transfer".to_vec()),
            Performed::Log(vec![word(0xBB), word(1)], b"second".to_vec()),
        ]
    );
    assert_eq!(w.storage[&slot(1)], word(42));
    assert_eq!(w.storage[&slot(2)], word(7));
}

#[test]
fn execute_completes_in_one_round_when_speculation_holds() {
    let mut w = oracle_world(7);
    let mut cache = SpecCache::in_memory();
    w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    w.performed.clear();
    let out = w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 1, "reads and call results come from the cache");
    assert_eq!(w.storage[&slot(1)], word(43));
    assert_eq!(w.performed.len(), 6);
}

#[test]
fn execute_corrects_wrong_read_before_any_later_effect() {
    let mut w = oracle_world(7);
    let mut cache = SpecCache::in_memory();
    w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    // Someone else changed slot 1 behind the cache's back.
    w.storage.insert(slot(1), word(100));
    w.performed.clear();
    let out = w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 2);
    assert_eq!(w.performed[0], Performed::Store(slot(1), word(101)));
    assert_eq!(
        w.performed.len(),
        6,
        "nothing from the wrong guess was performed"
    );
}

#[test]
fn execute_discards_effects_after_wrong_call_speculation() {
    let mut w = oracle_world(7);
    let mut cache = SpecCache::in_memory();
    w.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    // The oracle now answers differently: the cached answer (7) is wrong.
    let mut w2 = oracle_world(9);
    w2.storage = w.storage.clone();
    let out = w2.execute(&mixed(), &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.output, word(9).to_vec());
    assert_eq!(out.rounds, 2);
    let oracle_calls = w2
        .performed
        .iter()
        .filter(|p| matches!(p, Performed::Call(_, a, _, _) if *a == ORACLE))
        .count();
    assert_eq!(oracle_calls, 1, "the call is performed once, not re-run");
    assert!(w2.performed.contains(&Performed::Store(slot(2), word(9))));
    assert!(!w2.performed.contains(&Performed::Store(slot(2), word(7))));
}

#[test]
fn execute_verifies_reads_after_the_effects_before_them() {
    // Increment slot 5, call out, read slot 5 again: the second read is guessed
    // from the round's own write and is only right if checked after the SSTORE.
    let p = program(|env| {
        let v = U256::from_be_bytes(env.sload(slot(5))?.0);
        env.sstore(slot(5), B256::from(v + U256::from(1)))?;
        env.call(CallKind::Call, TOKEN, U256::ZERO, 10_000, b"poke")?;
        let after = env.sload(slot(5))?;
        Ok(ok(after.to_vec()))
    });
    let mut w = SimWorld::new();
    let mut cache = SpecCache::in_memory();
    let first = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(first.output, word(1).to_vec());
    let out = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 1);
    assert_eq!(out.output, word(2).to_vec());
}

#[test]
fn run_round_reads_a_slot_once_between_calls() {
    let p = program(|env| {
        env.sload(slot(1))?;
        env.sload(slot(1))?;
        env.sstore(slot(1), word(3))?;
        let v = env.sload(slot(1))?;
        assert_eq!(v, word(3));
        env.call(CallKind::Call, TOKEN, U256::ZERO, 10_000, b"x")?;
        env.sload(slot(1))?;
        Ok(ok(Vec::new()))
    });
    let r = run_round(
        &p,
        ctx(),
        vec![],
        vec![],
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap();
    // One SLOAD, the SSTORE, the pending call; the read after the call is never reached.
    let ops: Vec<u8> = r.steps.iter().map(|s| s.op).collect();
    assert_eq!(ops, vec![OP_SLOAD, 2, 8]);
}

#[test]
fn execute_revert_keeps_data_and_rolls_back() {
    let p = program(|env| {
        env.sstore(slot(1), word(9))?;
        env.log(&[], b"gone")?;
        Ok(ProgramOutcome {
            success: false,
            output: b"custom error".to_vec(),
            gas_used: 5,
        })
    });
    let mut w = SimWorld::new();
    let mut cache = SpecCache::in_memory();
    let out = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert!(!out.success);
    assert_eq!(out.output, b"custom error".to_vec());
    assert!(w.storage.is_empty());
    assert!(w.performed.is_empty());
}

#[test]
fn execute_hints_fix_many_wrong_guesses_in_one_round() {
    // Twenty independent reads, all cached wrong: the shim's hints after the
    // first mismatch fix the rest, so two rounds instead of twenty-one.
    let p = program(|env| {
        let mut sum = U256::ZERO;
        for i in 0..20 {
            sum += U256::from_be_bytes(env.sload(slot(i))?.0);
        }
        env.sstore(slot(100), B256::from(sum))?;
        Ok(ok(Vec::new()))
    });
    let mut w = SimWorld::new();
    let mut cache = SpecCache::in_memory();
    for i in 0..20 {
        w.storage.insert(slot(i), word(i + 1));
    }
    let out = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 2);
    assert_eq!(w.storage[&slot(100)], word(210));
    for i in 0..20 {
        w.storage.insert(slot(i), word(2 * i));
    }
    let out = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 2);
    assert_eq!(w.storage[&slot(100)], word(380));
}

#[test]
fn execute_create_is_never_speculated() {
    let p = program(|env| {
        let (a, _) = env.create(U256::ZERO, None, &[0x60, 0x00])?;
        env.sstore(slot(0), B256::left_padding_from(a.as_slice()))?;
        Ok(ok(Vec::new()))
    });
    let mut w = SimWorld::new();
    let mut cache = SpecCache::in_memory();
    w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    let out = w.execute(&p, &ctx(), b"", &mut cache).unwrap();
    assert_eq!(out.rounds, 2);
    assert_eq!(
        w.performed
            .iter()
            .filter(|p| matches!(p, Performed::Create(..)))
            .count(),
        2
    );
}

#[test]
fn run_round_is_deterministic_for_identical_inputs() {
    let mut answers = Vec::new();
    push_answer(&mut answers, word(41).as_slice());
    let split = split_answers(&answers).unwrap();
    let a = run_round(
        &mixed(),
        ctx(),
        vec![],
        split.clone(),
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap();
    let b = run_round(
        &mixed(),
        ctx(),
        vec![],
        split,
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap();
    assert_eq!(a, b);
    assert!(!a.complete, "suspended at the uncached oracle call");
    // Steps after the answered SLOAD: SSTORE, LOG, then the pending call.
    let ops: Vec<u8> = a.steps.iter().map(|s| s.op).collect();
    assert_eq!(ops, vec![2, 3, 10]);
}

#[test]
fn run_round_records_speculated_reads_with_answer_offsets() {
    let r = run_round(
        &mixed(),
        ctx(),
        vec![],
        vec![],
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap();
    assert_eq!(r.steps[0].op, OP_SLOAD);
    assert_eq!(r.steps[0].value, U256::ZERO, "cold cache guesses zero");
    assert_eq!(r.steps[0].answerStart, 0);
    // The SLOAD's answer is the first entry of specAnswers.
    assert_eq!(split_answers(&r.specAnswers).unwrap(), vec![vec![0u8; 32]]);
    assert_eq!(r.steps.last().unwrap().answerStart, 36);
}

#[test]
fn run_round_errors_when_effect_count_disagrees() {
    let mut answers = Vec::new();
    push_answer(&mut answers, word(41).as_slice());
    push_answer(&mut answers, &[&[1u8][..], word(7).as_slice()].concat());
    let err = run_round(
        &mixed(),
        ctx(),
        vec![],
        split_answers(&answers).unwrap(),
        1, // the shim claims one effect; replay meets three before the call answer
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ReplayError::Diverged(_)), "{err}");
}

#[test]
fn run_round_errors_on_unused_answers() {
    let p = program(|_| Ok(ok(Vec::new())));
    let err = run_round(
        &p,
        ctx(),
        vec![],
        vec![vec![1]],
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ReplayError::Diverged(_)));
}

#[test]
fn run_round_answers_own_code_locally() {
    let p = program(|env| {
        let me = env.ctx().contractAddress;
        let n = env.code_size(me)?;
        Ok(ok(n.to_be_bytes().to_vec()))
    });
    let r = run_round(
        &p,
        ctx(),
        vec![],
        vec![],
        0,
        &mut SpecCache::in_memory(),
        Some(vec![0xEF, 0xF0, 0, 0, 1]),
        HashMap::new(),
    )
    .unwrap();
    assert!(r.complete && r.steps.is_empty());
    assert_eq!(r.output.to_vec(), 5u64.to_be_bytes().to_vec());
}

#[test]
fn request_abi_round_trips() {
    let req = Request {
        codePath: "target/stylus/x.code".into(),
        ctx: ctx(),
        input: vec![1, 2, 3].into(),
        answers: vec![0, 0, 0, 1, 9].into(),
        effectsDone: 4,
        round: 2,
        hints: vec![7; 64].into(),
    };
    assert_eq!(Request::decode(&req.encode()).unwrap(), req);
    let resp = run_round(
        &mixed(),
        ctx(),
        vec![],
        vec![],
        0,
        &mut SpecCache::in_memory(),
        None,
        HashMap::new(),
    )
    .unwrap();
    assert_eq!(Response::decode(&resp.encode()).unwrap(), resp);
}
