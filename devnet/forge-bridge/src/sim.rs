//! A Rust model of the Solidity shim (`test/stylus/StylusShim.sol`): the same
//! round loop over an in-memory world. Used by the protocol tests; it is also
//! the reference for what the shim does with each step.

use crate::cache::SpecCache;
use crate::protocol::{
    push_answer, Context, Response, Step, OP_BALANCE, OP_CALL, OP_CODE, OP_CODEHASH, OP_CODESIZE,
    OP_CREATE1, OP_CREATE2, OP_DELEGATECALL, OP_LOG, OP_SLOAD, OP_SSTORE, OP_STATICCALL,
};
use crate::replay::{run_round, CallKind, Program, ReplayError};
use alloy_primitives::{keccak256, Address, B256, U256};
use std::collections::HashMap;

/// An effect the simulated shim performed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Performed {
    /// SSTORE(slot, value).
    Store(B256, B256),
    /// LOG with topics and data.
    Log(Vec<B256>, Vec<u8>),
    /// A call (kind, target, value, calldata).
    Call(CallKind, Address, U256, Vec<u8>),
    /// A create (salt, init code).
    Create(Option<B256>, Vec<u8>),
}

/// Handler for calls the program makes: (kind, target, value, calldata) -> (success, data).
pub type CallHandler = Box<dyn FnMut(CallKind, Address, U256, &[u8]) -> (bool, Vec<u8>)>;

/// The simulated EVM around one engine.
pub struct SimWorld {
    /// The engine's storage.
    pub storage: HashMap<B256, B256>,
    /// Balances.
    pub balances: HashMap<Address, U256>,
    /// Code of other accounts.
    pub codes: HashMap<Address, Vec<u8>>,
    /// Every effect performed, in order.
    pub performed: Vec<Performed>,
    /// Rounds (runner invocations) so far.
    pub rounds: u32,
    /// Call handler.
    pub on_call: CallHandler,
    /// Next address a create returns.
    pub next_create: Address,
}

/// Final result of one simulated engine call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOutcome {
    /// Program succeeded.
    pub success: bool,
    /// Output data.
    pub output: Vec<u8>,
    /// Stylus gas used.
    pub gas_used: u64,
    /// Rounds this call took.
    pub rounds: u32,
}

impl SimWorld {
    /// An empty world whose calls all succeed with empty data.
    pub fn new() -> Self {
        Self {
            storage: HashMap::new(),
            balances: HashMap::new(),
            codes: HashMap::new(),
            performed: Vec::new(),
            rounds: 0,
            on_call: Box::new(|_, _, _, _| (true, Vec::new())),
            next_create: Address::repeat_byte(0xCC),
        }
    }

    /// Runs one engine call the way the shim does. On a program revert the
    /// storage is rolled back, like the EVM rolls back the shim's frame.
    ///
    /// # Errors
    /// [`ReplayError`] from a round.
    pub fn execute(
        &mut self,
        program: &dyn Program,
        ctx: &Context,
        input: &[u8],
        cache: &mut SpecCache,
    ) -> Result<SimOutcome, ReplayError> {
        let snapshot = (self.storage.clone(), self.performed.len());
        let mut answers: Vec<u8> = Vec::new();
        let mut effects_done = 0u32;
        let mut rounds = 0u32;
        let mut hints: Vec<u8> = Vec::new();
        loop {
            rounds += 1;
            self.rounds += 1;
            let split = crate::protocol::split_answers(&answers)
                .map_err(|e| ReplayError::Diverged(e.to_string()))?;
            let r = run_round(
                program,
                ctx.clone(),
                input.to_vec(),
                split,
                effects_done,
                cache,
                None,
                crate::protocol::parse_hints(&hints),
            )?;
            // Round trip through the ABI, as the real shim sees it.
            let r =
                Response::decode(&r.encode()).map_err(|e| ReplayError::Diverged(e.to_string()))?;
            match self.walk(&r, &mut effects_done) {
                Some((i, real)) => {
                    let start = r.steps[i].answerStart as usize;
                    answers.extend_from_slice(&r.specAnswers[..start]);
                    push_answer(&mut answers, &real);
                    hints = self.hints_after(&r.steps[i + 1..]);
                }
                None if r.complete => {
                    if !r.success {
                        self.storage = snapshot.0;
                        self.performed.truncate(snapshot.1);
                    }
                    return Ok(SimOutcome {
                        success: r.success,
                        output: r.output.to_vec(),
                        gas_used: r.gasUsed,
                        rounds,
                    });
                }
                None => {
                    return Err(ReplayError::Diverged(
                        "incomplete response whose steps all checked out".into(),
                    ))
                }
            }
        }
    }

    /// Current values of the slots later SLOAD steps guessed wrong (the shim's hints).
    fn hints_after(&self, steps: &[Step]) -> Vec<u8> {
        let mut h = Vec::new();
        for s in steps.iter().filter(|s| s.op == OP_SLOAD) {
            let v = self.storage.get(&s.key).copied().unwrap_or_default();
            if U256::from_be_bytes(v.0) != s.value {
                h.extend_from_slice(s.key.as_slice());
                h.extend_from_slice(v.as_slice());
            }
        }
        h
    }

    /// Walks the steps; returns the index and real answer of the first query
    /// whose speculation was wrong or missing.
    fn walk(&mut self, r: &Response, effects_done: &mut u32) -> Option<(usize, Vec<u8>)> {
        for (i, s) in r.steps.iter().enumerate() {
            let real = match s.op {
                OP_SSTORE => {
                    let v = B256::from(s.value);
                    self.storage.insert(s.key, v);
                    self.performed.push(Performed::Store(s.key, v));
                    *effects_done += 1;
                    continue;
                }
                OP_LOG => {
                    let n = usize::try_from(U256::from_be_bytes(s.key.0)).unwrap_or(0);
                    let topics = (0..n)
                        .map(|t| B256::from_slice(&s.data[t * 32..t * 32 + 32]))
                        .collect();
                    self.performed
                        .push(Performed::Log(topics, s.data[n * 32..].to_vec()));
                    *effects_done += 1;
                    continue;
                }
                OP_SLOAD => {
                    let v = self.storage.get(&s.key).copied().unwrap_or_default();
                    if U256::from_be_bytes(v.0) == s.value {
                        continue;
                    }
                    v.to_vec()
                }
                OP_BALANCE => {
                    let v = self.balances.get(&s.target).copied().unwrap_or_default();
                    if v == s.value {
                        continue;
                    }
                    v.to_be_bytes::<32>().to_vec()
                }
                OP_CODESIZE | OP_CODEHASH | OP_CODE => {
                    let code = self.codes.get(&s.target).cloned();
                    let real = match s.op {
                        OP_CODESIZE => U256::from(code.map_or(0, |c| c.len()))
                            .to_be_bytes::<32>()
                            .to_vec(),
                        OP_CODEHASH => code.map_or(vec![0; 32], |c| keccak256(c).to_vec()),
                        _ => code.unwrap_or_default(),
                    };
                    let word = if s.op == OP_CODE {
                        U256::from_be_bytes(keccak256(&real).0)
                    } else {
                        U256::from_be_slice(&real)
                    };
                    if word == s.value {
                        continue;
                    }
                    real
                }
                OP_CALL | OP_DELEGATECALL | OP_STATICCALL => {
                    let kind = match s.op {
                        OP_CALL => CallKind::Call,
                        OP_DELEGATECALL => CallKind::Delegate,
                        _ => CallKind::Static,
                    };
                    self.performed
                        .push(Performed::Call(kind, s.target, s.value, s.data.to_vec()));
                    *effects_done += 1;
                    let (ok, data) = (self.on_call)(kind, s.target, s.value, &s.data);
                    let mut real = vec![u8::from(ok)];
                    real.extend_from_slice(&data);
                    if !s.spec.is_empty() && s.spec[..] == real[..] {
                        continue;
                    }
                    real
                }
                OP_CREATE1 | OP_CREATE2 => {
                    let salt = (s.op == OP_CREATE2).then_some(s.key);
                    self.performed
                        .push(Performed::Create(salt, s.data.to_vec()));
                    *effects_done += 1;
                    let a = self.next_create;
                    self.codes.insert(a, vec![0xfe]);
                    let real = a.to_vec();
                    if !s.spec.is_empty() && s.spec[..] == real[..] {
                        continue;
                    }
                    real
                }
                _ => return Some((i, Vec::new())),
            };
            return Some((i, real));
        }
        None
    }
}

impl Default for SimWorld {
    fn default() -> Self {
        Self::new()
    }
}

/// A test step constructor kept public for integration tests.
pub fn step_ops(steps: &[Step]) -> Vec<u8> {
    steps.iter().map(|s| s.op).collect()
}
