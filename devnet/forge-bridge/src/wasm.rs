//! Running a Stylus program on `stylus-runtime` inside a [`Replay`] round.
//!
//! [`execute_on_runtime`] is the single point where the bridge calls the
//! runtime; everything else in the crate is runtime-agnostic.

use crate::replay::{CallKind, Program, ProgramOutcome, Replay, ReplayError, Suspend};
use alloy_primitives::{Address, B256, U256};
use std::sync::OnceLock;
use stylus_runtime as rt;

/// A Stylus program loaded from deployed code (`EF F0 00 00` + brotli) or raw WASM.
#[derive(Debug, Clone)]
pub struct WasmProgram {
    /// The code as read from disk (also answered for code queries about the engine's own address).
    pub code: Vec<u8>,
}

impl WasmProgram {
    /// Reads the program from `path`.
    ///
    /// # Errors
    /// [`ReplayError::Executor`] when the file cannot be read.
    pub fn load(path: &std::path::Path) -> Result<Self, ReplayError> {
        let code = std::fs::read(path)
            .map_err(|e| ReplayError::Executor(format!("reading {}: {e}", path.display())))?;
        Ok(Self { code })
    }
}

impl Program for WasmProgram {
    fn run(&self, env: &mut Replay<'_>) -> Result<Result<ProgramOutcome, Suspend>, ReplayError> {
        execute_on_runtime(&self.code, env)
    }
}

/// Why the bridge stopped a program from inside a host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BridgeHostError {
    /// The round is suspended at a call the shim has not answered yet.
    #[error("suspended at a pending call")]
    Suspended,
    /// A hook the bridge does not serve (transient storage: SDK 0.10 does not import it).
    #[error("{0} is not supported by the forge bridge")]
    Unsupported(&'static str),
}

impl From<Suspend> for BridgeHostError {
    fn from(_: Suspend) -> Self {
        BridgeHostError::Suspended
    }
}

/// Adapts a [`Replay`] round to `stylus_runtime::Host`.
struct BridgeHost<'r, 'c> {
    env: &'r mut Replay<'c>,
}

impl rt::Host for BridgeHost<'_, '_> {
    type Error = BridgeHostError;

    fn msg(&self) -> rt::MsgContext {
        let c = self.env.ctx();
        rt::MsgContext {
            sender: c.sender,
            value: c.value,
            address: c.contractAddress,
            is_static: c.isStatic,
            reentrant: c.reentrant,
        }
    }

    fn block(&self) -> rt::BlockContext {
        let c = self.env.ctx();
        rt::BlockContext {
            chain_id: c.chainId,
            basefee: c.basefee,
            coinbase: c.coinbase,
            gas_limit: c.gasLimit,
            number: c.blockNumber,
            timestamp: c.timestamp,
            gas_price: c.gasPrice,
            origin: c.origin,
        }
    }

    fn storage_load(&mut self, key: B256) -> Result<B256, BridgeHostError> {
        Ok(self.env.sload(key)?)
    }

    fn storage_store(&mut self, key: B256, value: B256) -> Result<(), BridgeHostError> {
        Ok(self.env.sstore(key, value)?)
    }

    fn transient_load(&mut self, _key: B256) -> Result<B256, BridgeHostError> {
        Err(BridgeHostError::Unsupported("transient_load_bytes32"))
    }

    fn transient_store(&mut self, _key: B256, _value: B256) -> Result<(), BridgeHostError> {
        Err(BridgeHostError::Unsupported("transient_store_bytes32"))
    }

    fn balance(&mut self, address: Address) -> Result<U256, BridgeHostError> {
        Ok(self.env.balance(address)?)
    }

    fn code(&mut self, address: Address) -> Result<Vec<u8>, BridgeHostError> {
        Ok(self.env.code(address)?)
    }

    fn code_size(&mut self, address: Address) -> Result<usize, BridgeHostError> {
        Ok(usize::try_from(self.env.code_size(address)?).unwrap_or(usize::MAX))
    }

    fn code_hash(&mut self, address: Address) -> Result<B256, BridgeHostError> {
        Ok(self.env.code_hash(address)?)
    }

    fn call(&mut self, r: rt::CallRequest<'_>) -> Result<rt::CallResult, BridgeHostError> {
        let kind = match r.kind {
            rt::CallKind::Call => CallKind::Call,
            rt::CallKind::DelegateCall => CallKind::Delegate,
            rt::CallKind::StaticCall => CallKind::Static,
        };
        let (success, output) = self.env.call(kind, r.to, r.value, r.gas, r.input)?;
        // The callee's gas is charged by the EVM itself when the shim makes
        // the call; the program is charged only the runtime's base cost.
        Ok(rt::CallResult {
            success,
            output,
            gas_used: 0,
        })
    }

    fn create(&mut self, r: rt::CreateRequest<'_>) -> Result<rt::CreateResult, BridgeHostError> {
        let (addr, output) = self.env.create(r.endowment, r.salt, r.init_code)?;
        Ok(rt::CreateResult {
            address: (!addr.is_zero()).then_some(addr),
            output,
            gas_used: 0,
        })
    }

    fn emit_log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), BridgeHostError> {
        Ok(self.env.log(topics, data)?)
    }
}

fn runtime() -> Result<&'static rt::Runtime, ReplayError> {
    static RT: OnceLock<Result<rt::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| rt::Runtime::new(rt::Config::default()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ReplayError::Executor(e.clone()))
}

/// Runs `user_entrypoint` of `code` with `env` as the host: the single call
/// from the bridge into `stylus-runtime`.
///
/// # Errors
/// [`ReplayError::Executor`] when the code is not a runnable Stylus program.
pub fn execute_on_runtime(
    code: &[u8],
    env: &mut Replay<'_>,
) -> Result<Result<ProgramOutcome, Suspend>, ReplayError> {
    let rt = runtime()?;
    let input = env.input().to_vec();
    let gas = env.ctx().gas;
    let out = rt
        .execute(code, &input, gas, &mut BridgeHost { env })
        .map_err(|e| ReplayError::Executor(e.to_string()))?;
    if out.host_error::<BridgeHostError>() == Some(&BridgeHostError::Suspended) {
        return Ok(Err(Suspend));
    }
    let gas_used = gas.saturating_sub(out.gas_left);
    Ok(Ok(match out.status {
        rt::Status::Success => ProgramOutcome {
            success: true,
            output: out.output,
            gas_used,
        },
        rt::Status::Revert => ProgramOutcome {
            success: false,
            output: out.output,
            gas_used,
        },
        _ => ProgramOutcome {
            success: false,
            output: Vec::new(),
            gas_used,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::SpecCache;
    use crate::protocol::Context;

    #[test]
    fn execute_on_runtime_errors_on_invalid_code() {
        let ctx = Context {
            contractAddress: Address::ZERO,
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
        };
        let mut cache = SpecCache::in_memory();
        let mut env = Replay::new(ctx, vec![], vec![], 0, &mut cache);
        let r = execute_on_runtime(b"not wasm", &mut env);
        assert!(matches!(r, Err(ReplayError::Executor(_))));
    }
}
