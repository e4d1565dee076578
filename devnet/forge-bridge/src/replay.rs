//! Deterministic re-execution of one engine call from an answer log.
//!
//! [`Replay`] is the environment a program sees during one round. Queries are
//! answered from the log while it lasts (the *replay zone*); effects met there
//! were already performed by the shim and are skipped. Once the log is used up
//! (the *recording zone*) every query and effect becomes a [`Step`]; queries
//! get speculated answers (this round's own writes, else the disk cache, else
//! zero). A call or create with nothing to speculate ends the round: the
//! program is suspended and the shim performs the call, then re-runs.
//!
//! Invariant the shim relies on: the steps it receives start exactly after the
//! last answered query, so every effect before that query has been performed
//! (`effectsDone`) and none after it. [`Replay::finish`] checks the count,
//! which catches a program that does not replay deterministically.

use crate::cache::{call_key, read_key, SpecCache};
use crate::protocol::{
    is_call, push_answer, Context, Response, Step, OP_BALANCE, OP_CALL, OP_CODE, OP_CODEHASH,
    OP_CODESIZE, OP_CREATE1, OP_CREATE2, OP_DELEGATECALL, OP_LOG, OP_SLOAD, OP_SSTORE,
    OP_STATICCALL,
};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use std::collections::HashMap;

/// The program cannot go on this round: a call or create has no answer yet
/// (or the replay diverged). The executor must unwind and return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("execution suspended until the shim answers the pending call")]
pub struct Suspend;

/// Kind of message call a program makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// CALL (may move value).
    Call,
    /// DELEGATECALL (callee runs on the engine's storage).
    Delegate,
    /// STATICCALL.
    Static,
}

impl CallKind {
    fn op(self) -> u8 {
        match self {
            CallKind::Call => OP_CALL,
            CallKind::Delegate => OP_DELEGATECALL,
            CallKind::Static => OP_STATICCALL,
        }
    }
}

/// How a program execution ended (when it was not suspended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramOutcome {
    /// True when `user_entrypoint` returned 0.
    pub success: bool,
    /// Return data, or revert data (empty after a trap).
    pub output: Vec<u8>,
    /// Gas used by Stylus ink metering.
    pub gas_used: u64,
}

/// Errors that make a round itself fail (bugs or broken inputs, not program reverts).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    /// Re-execution did not meet the performed effects where the log says it should.
    #[error("replay diverged: {0}")]
    Diverged(String),
    /// The executor could not run the program at all (bad code file, invalid WASM).
    #[error("cannot execute program: {0}")]
    Executor(String),
}

/// Something that runs a program against a [`Replay`] environment.
///
/// `Err(Suspend)` (propagated from a `Replay` method) means the round ended at
/// a pending call; any other outcome is the program's own result.
pub trait Program {
    /// Runs the program once from the start.
    ///
    /// # Errors
    /// [`ReplayError::Executor`] when the program cannot be run at all.
    fn run(&self, env: &mut Replay<'_>) -> Result<Result<ProgramOutcome, Suspend>, ReplayError>;
}

/// Environment of one round (see the module documentation).
#[derive(Debug)]
pub struct Replay<'c> {
    ctx: Context,
    input: Vec<u8>,
    answers: Vec<Vec<u8>>,
    next: usize,
    effects_done: u32,
    effects_replayed: u32,
    steps: Vec<Step>,
    spec_answers: Vec<u8>,
    suspended: bool,
    cache: &'c mut SpecCache,
    /// This round's own storage writes: the best guess for a later read.
    written: HashMap<B256, B256>,
    /// The shim's storage hints from the previous round: the next best guess.
    hints: HashMap<B256, B256>,
    /// Slot values known exactly since the last call or create (nothing else
    /// changes the engine's storage): repeated reads need no step. Same rule
    /// in both zones, so answer positions stay aligned.
    known: HashMap<B256, B256>,
    self_code: Option<Vec<u8>>,
}

impl<'c> Replay<'c> {
    /// Environment for a round with `answers` (already split) and `effects_done`.
    pub fn new(
        ctx: Context,
        input: Vec<u8>,
        answers: Vec<Vec<u8>>,
        effects_done: u32,
        cache: &'c mut SpecCache,
    ) -> Self {
        Self {
            ctx,
            input,
            answers,
            next: 0,
            effects_done,
            effects_replayed: 0,
            steps: Vec::new(),
            spec_answers: Vec::new(),
            suspended: false,
            cache,
            written: HashMap::new(),
            hints: HashMap::new(),
            known: HashMap::new(),
            self_code: None,
        }
    }

    /// Sets storage hints (see `Request.hints`).
    pub fn set_hints(&mut self, hints: HashMap<B256, B256>) {
        self.hints = hints;
    }

    /// Sets the engine's own Stylus code, answered locally for code queries
    /// about the engine's address (the EVM sees the shim there, Nitro the program).
    pub fn set_self_code(&mut self, code: Vec<u8>) {
        self.self_code = Some(code);
    }

    /// The call's context.
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// The calldata.
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    fn in_replay(&self) -> bool {
        self.next < self.answers.len()
    }

    /// Answers a query: from the log in the replay zone, else speculated
    /// (`guess`, then the cache under `key`, then `default`) and recorded.
    /// Calls and creates without a guess or cached answer suspend the round.
    fn query(
        &mut self,
        mut step: Step,
        key: Option<B256>,
        guess: Option<Vec<u8>>,
        default: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, Suspend> {
        if self.suspended {
            return Err(Suspend);
        }
        let is_call = is_call(step.op);
        if is_call {
            // The callee may write the engine's storage (reentrancy, DELEGATECALL).
            self.known.clear();
        }
        if self.in_replay() {
            let a = std::mem::take(&mut self.answers[self.next]);
            self.next += 1;
            if is_call {
                self.effects_replayed += 1;
            }
            if let Some(k) = key {
                self.cache.put(k, &a);
            }
            return Ok(a);
        }
        step.answerStart = len32(&self.spec_answers);
        let cached = key.and_then(|k| self.cache.get(&k).map(<[u8]>::to_vec));
        let Some(spec) = guess.or(cached).or(default) else {
            self.steps.push(step);
            self.suspended = true;
            return Err(Suspend);
        };
        match step.op {
            OP_CODE => step.value = U256::from_be_bytes(keccak256(&spec).0),
            _ if is_call => {
                step.spec = Bytes::from(spec.clone());
            }
            _ => step.value = U256::from_be_slice(&pad32(&spec)),
        }
        push_answer(&mut self.spec_answers, &spec);
        self.steps.push(step);
        Ok(spec)
    }

    fn effect(&mut self, mut step: Step) -> Result<(), Suspend> {
        if self.suspended {
            return Err(Suspend);
        }
        if self.in_replay() {
            self.effects_replayed += 1;
        } else {
            step.answerStart = len32(&self.spec_answers);
            self.steps.push(step);
        }
        Ok(())
    }

    /// SLOAD of the engine's storage.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn sload(&mut self, slot: B256) -> Result<B256, Suspend> {
        if self.suspended {
            return Err(Suspend);
        }
        if let Some(v) = self.known.get(&slot) {
            return Ok(*v);
        }
        let key = read_key(OP_SLOAD, Address::ZERO, slot);
        // The round's own write beats the shim's hint, which beats the cache.
        let guess = self
            .written
            .get(&slot)
            .or_else(|| self.hints.get(&slot))
            .map(|v| v.to_vec());
        let step = Step {
            op: OP_SLOAD,
            key: slot,
            ..empty_step()
        };
        let a = self.query(step, Some(key), guess, Some(vec![0u8; 32]))?;
        let v = B256::from(pad32(&a));
        self.known.insert(slot, v);
        Ok(v)
    }

    /// One SSTORE of a storage flush.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn sstore(&mut self, slot: B256, value: B256) -> Result<(), Suspend> {
        self.effect(Step {
            op: OP_SSTORE,
            key: slot,
            value: U256::from_be_bytes(value.0),
            ..empty_step()
        })?;
        self.written.insert(slot, value);
        self.known.insert(slot, value);
        self.cache
            .put(read_key(OP_SLOAD, Address::ZERO, slot), value.as_slice());
        Ok(())
    }

    /// LOG0..LOG4 from the engine's address.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), Suspend> {
        let mut d = Vec::with_capacity(topics.len() * 32 + data.len());
        for t in topics {
            d.extend_from_slice(t.as_slice());
        }
        d.extend_from_slice(data);
        self.effect(Step {
            op: OP_LOG,
            key: B256::from(U256::from(topics.len())),
            data: Bytes::from(d),
            ..empty_step()
        })
    }

    /// BALANCE of `addr` in wei.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn balance(&mut self, addr: Address) -> Result<U256, Suspend> {
        let a = self.word_query(OP_BALANCE, addr)?;
        Ok(U256::from_be_bytes(a.0))
    }

    /// EXTCODESIZE of `addr`.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn code_size(&mut self, addr: Address) -> Result<u64, Suspend> {
        if let Some(c) = self.own_code(addr) {
            return Ok(c.len() as u64);
        }
        let a = self.word_query(OP_CODESIZE, addr)?;
        Ok(u64::try_from(U256::from_be_bytes(a.0)).unwrap_or(u64::MAX))
    }

    /// EXTCODEHASH of `addr` (zero for an account that does not exist).
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn code_hash(&mut self, addr: Address) -> Result<B256, Suspend> {
        if let Some(c) = self.own_code(addr) {
            return Ok(keccak256(c));
        }
        self.word_query(OP_CODEHASH, addr)
    }

    /// Full code of `addr`.
    ///
    /// # Errors
    /// [`Suspend`] when the round is already suspended.
    pub fn code(&mut self, addr: Address) -> Result<Vec<u8>, Suspend> {
        if let Some(c) = self.own_code(addr) {
            return Ok(c.to_vec());
        }
        let key = read_key(OP_CODE, addr, B256::ZERO);
        self.query(
            Step {
                op: OP_CODE,
                target: addr,
                ..empty_step()
            },
            Some(key),
            None,
            Some(Vec::new()),
        )
    }

    fn own_code(&self, addr: Address) -> Option<&[u8]> {
        if addr == self.ctx.contractAddress {
            self.self_code.as_deref()
        } else {
            None
        }
    }

    fn word_query(&mut self, op: u8, addr: Address) -> Result<B256, Suspend> {
        let key = read_key(op, addr, B256::ZERO);
        let a = self.query(
            Step {
                op,
                target: addr,
                ..empty_step()
            },
            Some(key),
            None,
            Some(vec![0u8; 32]),
        )?;
        Ok(B256::from(pad32(&a)))
    }

    /// A message call performed by the shim. Returns (success, return data);
    /// a revert is `(false, revert data)`.
    ///
    /// # Errors
    /// [`Suspend`] when the call has no answer yet: the round ends here.
    pub fn call(
        &mut self,
        kind: CallKind,
        to: Address,
        value: U256,
        gas: u64,
        data: &[u8],
    ) -> Result<(bool, Vec<u8>), Suspend> {
        let op = kind.op();
        let key = call_key(op, to, value, data);
        let a = self.query(
            Step {
                op,
                target: to,
                key: B256::from(U256::from(gas)),
                value,
                data: Bytes::copy_from_slice(data),
                ..empty_step()
            },
            Some(key),
            None,
            None,
        )?;
        let ok = a.first().copied().unwrap_or(0) == 1;
        Ok((ok, a.get(1..).unwrap_or_default().to_vec()))
    }

    /// CREATE (salt `None`) or CREATE2 performed by the shim with EVM init code.
    /// Returns the new address (zero on failure) and the return data (the
    /// revert data when the init code reverted).
    ///
    /// # Errors
    /// [`Suspend`] when the create has no answer yet: the round ends here.
    pub fn create(
        &mut self,
        value: U256,
        salt: Option<B256>,
        init: &[u8],
    ) -> Result<(Address, Vec<u8>), Suspend> {
        let op = if salt.is_some() {
            OP_CREATE2
        } else {
            OP_CREATE1
        };
        // Creates are never speculated: the new address depends on the nonce.
        let a = self.query(
            Step {
                op,
                key: salt.unwrap_or_default(),
                value,
                data: Bytes::copy_from_slice(init),
                ..empty_step()
            },
            None,
            None,
            None,
        )?;
        let addr = a.get(..20).map(Address::from_slice).unwrap_or_default();
        Ok((addr, a.get(20..).unwrap_or_default().to_vec()))
    }

    /// Ends the round: checks the replay invariant and builds the response.
    /// `outcome` is `Err(Suspend)` when the program stopped at a pending call.
    ///
    /// # Errors
    /// [`ReplayError::Diverged`] when answers were left unused or the effects
    /// met before the log's end differ from what the shim performed.
    pub fn finish(self, outcome: Result<ProgramOutcome, Suspend>) -> Result<Response, ReplayError> {
        if self.in_replay() {
            return Err(ReplayError::Diverged(format!(
                "program ended after {} of {} answers",
                self.next,
                self.answers.len()
            )));
        }
        if self.effects_replayed != self.effects_done {
            return Err(ReplayError::Diverged(format!(
                "{} effects before the log's end, shim performed {}",
                self.effects_replayed, self.effects_done
            )));
        }
        let (complete, success, output, gas_used) = match outcome {
            Ok(o) if !self.suspended => (true, o.success, o.output, o.gas_used),
            _ => (false, false, Vec::new(), 0),
        };
        if !complete && !self.suspended {
            return Err(ReplayError::Diverged(
                "program suspended without a pending call".into(),
            ));
        }
        Ok(Response {
            steps: self.steps,
            specAnswers: Bytes::from(self.spec_answers),
            complete,
            success,
            output: Bytes::from(output),
            gasUsed: gas_used,
        })
    }
}

fn len32(v: &[u8]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

fn pad32(a: &[u8]) -> [u8; 32] {
    let mut w = [0u8; 32];
    let n = a.len().min(32);
    w[32 - n..].copy_from_slice(&a[a.len() - n..]);
    w
}

fn empty_step() -> Step {
    Step {
        op: 0,
        target: Address::ZERO,
        key: B256::ZERO,
        value: U256::ZERO,
        data: Bytes::new(),
        spec: Bytes::new(),
        answerStart: 0,
    }
}

/// Runs one round of `program`: the runner's whole job minus I/O.
#[allow(clippy::too_many_arguments)]
///
/// # Errors
/// [`ReplayError`] when the program cannot run or the replay diverged.
pub fn run_round(
    program: &dyn Program,
    ctx: Context,
    input: Vec<u8>,
    answers: Vec<Vec<u8>>,
    effects_done: u32,
    cache: &mut SpecCache,
    self_code: Option<Vec<u8>>,
    hints: HashMap<B256, B256>,
) -> Result<Response, ReplayError> {
    let mut env = Replay::new(ctx, input, answers, effects_done, cache);
    if let Some(c) = self_code {
        env.set_self_code(c);
    }
    env.set_hints(hints);
    let outcome = program.run(&mut env)?;
    env.finish(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OP_SLOAD;

    fn ctx() -> Context {
        Context {
            contractAddress: Address::repeat_byte(0xE0),
            sender: Address::ZERO,
            value: U256::ZERO,
            origin: Address::ZERO,
            gasPrice: U256::ZERO,
            blockNumber: 0,
            timestamp: 0,
            chainId: 1,
            basefee: U256::ZERO,
            coinbase: Address::ZERO,
            gasLimit: 0,
            gas: 1_000,
            isStatic: false,
            reentrant: false,
        }
    }

    #[test]
    fn sload_errors_after_suspend() {
        let mut cache = SpecCache::in_memory();
        let mut env = Replay::new(ctx(), vec![], vec![], 0, &mut cache);
        assert_eq!(
            env.call(CallKind::Call, Address::ZERO, U256::ZERO, 0, b""),
            Err(Suspend)
        );
        assert_eq!(env.sload(B256::ZERO), Err(Suspend));
        assert_eq!(env.log(&[], b""), Err(Suspend));
        let r = env.finish(Err(Suspend)).unwrap();
        assert!(!r.complete);
        assert_eq!(r.steps.len(), 1, "only the pending call");
    }

    #[test]
    fn sload_speculates_cache_then_zero() {
        let mut cache = SpecCache::in_memory();
        cache.put(
            read_key(OP_SLOAD, Address::ZERO, B256::repeat_byte(1)),
            B256::repeat_byte(9).as_slice(),
        );
        let mut env = Replay::new(ctx(), vec![], vec![], 0, &mut cache);
        assert_eq!(env.sload(B256::repeat_byte(1)), Ok(B256::repeat_byte(9)));
        assert_eq!(env.sload(B256::repeat_byte(2)), Ok(B256::ZERO));
        let r = env
            .finish(Ok(ProgramOutcome {
                success: true,
                output: vec![],
                gas_used: 0,
            }))
            .unwrap();
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.steps[0].value, U256::from_be_bytes([9u8; 32]));
    }

    #[test]
    fn finish_errors_when_answers_unused() {
        let mut cache = SpecCache::in_memory();
        let env = Replay::new(ctx(), vec![], vec![vec![0; 32]], 0, &mut cache);
        assert!(matches!(
            env.finish(Ok(ProgramOutcome {
                success: true,
                output: vec![],
                gas_used: 0
            })),
            Err(ReplayError::Diverged(_))
        ));
    }

    #[test]
    fn pad32_left_pads_short_answers() {
        assert_eq!(pad32(&[1])[31], 1);
        assert_eq!(pad32(&[])[..], [0u8; 32][..]);
    }
}
