//! The runtime: loading (decode, validate, instrument, compile, cache) and
//! executing a program against a [`Host`].

use crate::host::{Erased, Host, HostError};
use crate::hostio::{self, Env, Escape};
use crate::instrument::{
    self, InstrumentError, CACHED_INIT_COST, INIT_COST, INK_LEFT, INK_STATUS, STACK_LEFT,
};
use crate::pricing::{evm_memory_gas, MemoryModel, DEFAULT_INK_PRICE};
use alloy_primitives::{keccak256, B256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use wasmtime::{Engine, InstancePre, Linker, Module, Store, Trap, Val};

/// Environment variable naming the compiled-module cache directory.
pub const CACHE_ENV: &str = "KEEL_STYLUS_CACHE";

/// Bumped whenever instrumentation or the host ABI changes, so stale
/// compiled modules are never loaded.
const CACHE_TAG: &str = "keel2-wasmtime48";

/// Runtime settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Ink per gas (Nitro default 10,000).
    pub ink_price: u32,
    /// Stack budget in words (Nitro's `MaxStackDepth`, 262,144 by default;
    /// ArbOS 50 chains may set it lower).
    pub max_stack_depth: u32,
    /// Memory pricing (2 free pages, 1,000 gas per page + exp table).
    pub memory_model: MemoryModel,
    /// Whether programs count as cached (ArbOS-cached, or already in the
    /// block's recent-WASM cache): then only `cachedGas` is charged at start,
    /// else `cachedGas + initGas` (see [`program_init_gas`]). Default false.
    pub program_cached: bool,
    /// Directory for compiled modules, or `None` for in-process caching only.
    pub cache_dir: Option<PathBuf>,
    /// Validate programs against activation rules before the first run.
    pub validate: bool,
    /// wasmtime's native stack limit for WASM frames, bytes (its default,
    /// 512 KiB). Deep recursion that fits Nitro's word budget can exhaust this
    /// first (reported as out-of-stack too); raise it only when the calling
    /// thread's stack is comfortably larger.
    pub native_stack: usize,
}

impl Default for Config {
    /// Nitro's defaults; cache directory from [`CACHE_ENV`], else
    /// `target/stylus-cache` under the working directory.
    fn default() -> Self {
        Self {
            ink_price: DEFAULT_INK_PRICE,
            max_stack_depth: 262_144,
            memory_model: MemoryModel::default(),
            program_cached: false,
            cache_dir: Some(default_cache_dir()),
            validate: true,
            native_stack: 512 << 10,
        }
    }
}

/// `$KEEL_STYLUS_CACHE` if set and non-empty, else `target/stylus-cache`.
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("target").join("stylus-cache"),
    }
}

/// Why a program could not be loaded or started (as opposed to an execution
/// outcome, which is always an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The code is not a valid Stylus program (activation would reject it).
    #[error(transparent)]
    Program(#[from] stylus_program::ProgramError),
    /// Instrumentation failed (Nitro's compile step would fail too).
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    /// wasmtime could not compile or instantiate the module.
    #[error("wasmtime: {0}")]
    Wasmtime(String),
    /// The invalid configuration named.
    #[error("invalid config: {0}")]
    Config(&'static str),
}

fn wt(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Wasmtime(e.to_string())
}

/// Why a program failed (Nitro: revert with empty data, leftover gas kept).
#[derive(Debug, Clone, PartialEq)]
pub enum FailureReason {
    /// A WASM trap (unreachable, bad memory access, division by zero, ...).
    Trap(String),
    /// The host returned an error.
    Host(HostError),
    /// A hostio got a pointer/length outside guest memory.
    BadPointer,
    /// A state change in a static frame (flush of dirty slots, log,
    /// transient store, create).
    WriteProtection(&'static str),
    /// `emit_log` with more than 4 topics or data shorter than the topics.
    BadLog,
    /// CREATE/CREATE2 could not start (static frame or gas below the base cost).
    CreateFailed(&'static str),
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// `user_entrypoint` returned 0, or `exit_early(0)`.
    Success,
    /// Non-zero return or `exit_early`: revert with the output.
    Revert,
    /// Trap or host error: revert with empty data, leftover gas refunded.
    Failure(FailureReason),
    /// Ink exhausted: all gas used.
    OutOfInk,
    /// Stack budget exhausted: all gas used.
    OutOfStack,
}

/// Result of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Return data for `Success`, revert data for `Revert`, empty otherwise.
    pub output: Vec<u8>,
    /// Gas returned to the caller: `floor(ink_left / ink_price)`, zero for
    /// out-of-ink/stack, capped so that a non-empty output pays at least its
    /// EVM memory cost.
    pub gas_left: u64,
    /// Ink consumed, including the start-up charge.
    pub ink_used: u64,
}

impl Outcome {
    /// True for [`Status::Success`].
    pub fn is_success(&self) -> bool {
        self.status == Status::Success
    }

    /// The host's own error, when the execution stopped on one of type `E`.
    pub fn host_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match &self.status {
            Status::Failure(FailureReason::Host(e)) => e.0.downcast_ref::<E>(),
            _ => None,
        }
    }

    fn all_gas_used(status: Status, gas: u64, price: u64) -> Self {
        Outcome {
            status,
            output: Vec::new(),
            gas_left: 0,
            ink_used: gas.saturating_mul(price),
        }
    }
}

/// Where a loaded program came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleSource {
    /// Already loaded in this runtime.
    Memory,
    /// Deserialized from the cache directory.
    Disk,
    /// Validated, instrumented and compiled now.
    Compiled,
}

/// A program ready to run.
#[derive(Clone)]
pub struct Program {
    /// keccak256 of the code as given (deployed code or raw WASM).
    pub hash: B256,
    /// Initial memory in pages (charged at start).
    pub footprint: u16,
    /// Where it came from.
    pub source: ModuleSource,
    pre: InstancePre<Env>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("hash", &self.hash)
            .field("footprint", &self.footprint)
            .field("source", &self.source)
            .finish()
    }
}

/// Runs Stylus programs. Cheap to share by reference; loaded programs are
/// kept in memory and (with a cache directory) on disk.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Env>,
    config: Config,
    loaded: Mutex<HashMap<B256, Program>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .finish()
    }
}

impl Runtime {
    /// A runtime with `config`.
    ///
    /// # Errors
    /// [`RuntimeError::Config`] for a zero ink price; [`RuntimeError::Wasmtime`]
    /// if the engine cannot be created.
    pub fn new(config: Config) -> Result<Self, RuntimeError> {
        if config.ink_price == 0 {
            return Err(RuntimeError::Config("ink_price must be non-zero"));
        }
        let mut wc = wasmtime::Config::new();
        wc.cranelift_opt_level(wasmtime::OptLevel::Speed);
        wc.max_wasm_stack(config.native_stack);
        let engine = Engine::new(&wc).map_err(wt)?;
        let mut linker = Linker::new(&engine);
        hostio::link(&mut linker).map_err(wt)?;
        Ok(Self {
            engine,
            linker,
            config,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Loads a program: from memory, else from the cache directory, else by
    /// decoding (EF F0 00 prefix + brotli, or raw WASM), validating,
    /// instrumenting and compiling it (then writing the cache).
    ///
    /// # Errors
    /// [`RuntimeError::Program`] when the code is not a valid Stylus program,
    /// [`RuntimeError::Instrument`] / [`RuntimeError::Wasmtime`] when it
    /// cannot be compiled. Cache I/O failures are not errors (the module is
    /// compiled instead, or simply not written).
    pub fn load(&self, code: &[u8]) -> Result<Program, RuntimeError> {
        let hash = keccak256(code);
        if let Some(p) = self.loaded_get(&hash) {
            return Ok(Program {
                source: ModuleSource::Memory,
                ..p
            });
        }
        let path = self.cache_path(&hash);
        let mut module = None;
        let mut source = ModuleSource::Compiled;
        if let Some(path) = path.as_deref().filter(|p| p.exists()) {
            // SAFETY: wasmtime requires deserialized bytes to come from its own
            // `serialize` for a compatible engine; it checks the header and the
            // engine configuration, not the machine code. The files are
            // written only by `store_cache` below, into a directory the user
            // controls, under a name that includes the code hash and this
            // crate's cache tag.
            if let Ok(m) = unsafe { Module::deserialize_file(&self.engine, path) } {
                module = Some(m);
                source = ModuleSource::Disk;
            }
        }
        let module = match module {
            Some(m) => m,
            None => {
                let m = self.compile(code)?;
                if let Some(path) = &path {
                    store_cache(path, &m);
                }
                m
            }
        };
        let footprint = module
            .exports()
            .find_map(|e| match e.ty() {
                wasmtime::ExternType::Memory(m) => Some(m.minimum()),
                _ => None,
            })
            .unwrap_or(0);
        let pre = self.linker.instantiate_pre(&module).map_err(wt)?;
        let program = Program {
            hash,
            footprint: u16::try_from(footprint).unwrap_or(u16::MAX),
            source,
            pre,
        };
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(hash, program.clone());
        }
        Ok(program)
    }

    fn loaded_get(&self, hash: &B256) -> Option<Program> {
        self.loaded.lock().ok()?.get(hash).cloned()
    }

    fn cache_path(&self, hash: &B256) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        Some(dir.join(format!(
            "{}-{CACHE_TAG}-{}.cwasm",
            alloy_primitives::hex::encode(hash),
            std::env::consts::ARCH
        )))
    }

    fn compile(&self, code: &[u8]) -> Result<Module, RuntimeError> {
        let wasm = stylus_program::decode(code)?;
        if self.config.validate {
            stylus_program::validate(&wasm)?;
        }
        let inst = instrument::instrument(&wasm)?;
        Module::new(&self.engine, &inst.wasm).map_err(wt)
    }

    /// Loads `code` (see [`Runtime::load`]) and runs it: `user_entrypoint`
    /// with `calldata`, `gas` gas, against `host`.
    ///
    /// # Errors
    /// Only load/instantiation errors; every execution result, including
    /// traps, host errors and out-of-ink, is an [`Outcome`].
    pub fn execute<H: Host>(
        &self,
        code: &[u8],
        calldata: &[u8],
        gas: u64,
        host: &mut H,
    ) -> Result<Outcome, RuntimeError> {
        let program = self.load(code)?;
        self.run(&program, calldata, gas, host)
    }

    /// Runs a loaded program (see [`Runtime::execute`]).
    ///
    /// # Errors
    /// [`RuntimeError::Wasmtime`] when the module cannot be instantiated.
    pub fn run<H: Host>(
        &self,
        program: &Program,
        calldata: &[u8],
        gas: u64,
        host: &mut H,
    ) -> Result<Outcome, RuntimeError> {
        let price = u64::from(self.config.ink_price);
        let len = u32::try_from(calldata.len())
            .map_err(|_| RuntimeError::Config("calldata longer than 4 GiB"))?;
        let msg = host.msg();
        let block = host.block();
        let (open, ever) = host.stylus_pages();
        let start_ink = gas.saturating_mul(price);

        let result = {
            let mut erased = Erased(&mut *host);
            let dyn_host: &mut (dyn Host<Error = HostError> + '_) = &mut erased;
            // SAFETY: only the lifetime is changed. The pointer is stored in the
            // store's data and dereferenced by hostios while `entry.call` runs;
            // the store is dropped at the end of this block, before `erased`
            // (and the borrow of `host`) ends, so it never dangles.
            let host_ptr: *mut (dyn Host<Error = HostError> + 'static) =
                unsafe { std::mem::transmute(dyn_host as *mut (dyn Host<Error = HostError> + '_)) };
            let env = Env::new(
                host_ptr,
                calldata.to_vec(),
                msg,
                block,
                price,
                self.config.memory_model,
            );
            let mut store = Store::new(&self.engine, env);
            let instance = program.pre.instantiate(&mut store).map_err(wt)?;
            let global = |store: &mut Store<Env>, name: &str| {
                instance
                    .get_global(&mut *store, name)
                    .ok_or_else(|| RuntimeError::Wasmtime(format!("missing global {name}")))
            };
            let read_u16 = |store: &mut Store<Env>, name: &str| -> Result<u16, RuntimeError> {
                let v = global(store, name)?.get(&mut *store).i32().unwrap_or(0);
                Ok(u16::try_from(v).unwrap_or(u16::MAX))
            };

            // Start-up charge (Nitro `CallProgram`): memory footprint in the
            // transaction-wide page model, cached-init gas, and init gas unless
            // the program counts as cached.
            let init_cost = read_u16(&mut store, INIT_COST)?;
            let cached_cost = read_u16(&mut store, CACHED_INIT_COST)?;
            let init_gas = self
                .config
                .memory_model
                .gas_cost(program.footprint, open, ever)
                .saturating_add(program_init_gas(
                    init_cost,
                    cached_cost,
                    self.config.program_cached,
                ));
            if init_gas > gas {
                None
            } else {
                let now_open = open.saturating_add(program.footprint);
                store
                    .data_mut()
                    .host()
                    .set_stylus_pages(now_open, ever.max(now_open));
                let ink = start_ink.saturating_sub(init_gas.saturating_mul(price));
                let ink_g = global(&mut store, INK_LEFT)?;
                let status_g = global(&mut store, INK_STATUS)?;
                let stack_g = global(&mut store, STACK_LEFT)?;
                ink_g.set(&mut store, Val::I64(ink as i64)).map_err(wt)?;
                status_g.set(&mut store, Val::I32(0)).map_err(wt)?;
                stack_g
                    .set(&mut store, Val::I32(self.config.max_stack_depth as i32))
                    .map_err(wt)?;
                let memory = instance.get_memory(&mut store, "memory");
                {
                    let env = store.data_mut();
                    env.memory = memory;
                    env.ink = Some(ink_g);
                    env.status = Some(status_g);
                }
                let entry = instance
                    .get_typed_func::<u32, u32>(&mut store, "user_entrypoint")
                    .map_err(wt)?;
                let ret = entry.call(&mut store, len);
                let ink_left = ink_g.get(&mut store).i64().unwrap_or(0) as u64;
                let ink_status = status_g.get(&mut store).i32().unwrap_or(1);
                let stack_left = stack_g.get(&mut store).i32().unwrap_or(0);
                let env = store.data_mut();
                let escape = env.escape.take();
                let outs = std::mem::take(&mut env.outs);
                drop(store);
                Some(classify(
                    ret, escape, outs, ink_left, ink_status, stack_left,
                ))
            }
        };
        // Nitro restores the open-page count after the call (the high-water mark stays).
        let (_, ever_now) = host.stylus_pages();
        host.set_stylus_pages(open, ever_now);

        let Some((status, output, ink_left)) = result else {
            return Ok(Outcome::all_gas_used(Status::OutOfInk, gas, price));
        };
        Ok(match status {
            Status::OutOfInk | Status::OutOfStack => Outcome::all_gas_used(status, gas, price),
            status => {
                let mut gas_left = ink_left / price;
                if !output.is_empty() {
                    // Returned data costs at least its EVM memory expansion.
                    let cost = evm_memory_gas(output.len());
                    if gas < cost {
                        return Ok(Outcome::all_gas_used(Status::OutOfInk, gas, price));
                    }
                    gas_left = gas_left.min(gas - cost);
                }
                Outcome {
                    status,
                    output,
                    gas_left,
                    ink_used: start_ink.saturating_sub(ink_left),
                }
            }
        })
    }
}

/// Nitro's program start-up gas for Stylus v2 with default parameters:
/// `cachedGas = 11 * 32 + ceil(cached_cost * 50 * 2 / 100)` always, plus
/// `initGas = 69 * 128 + ceil(init_cost * 50 * 2 / 100)` when not cached.
pub fn program_init_gas(init_cost: u16, cached_cost: u16, cached: bool) -> u64 {
    let cached_gas = 352 + u64::from(cached_cost);
    if cached {
        cached_gas
    } else {
        cached_gas + 8_832 + u64::from(init_cost)
    }
}

/// Maps the entrypoint's result to (status, output, ink left).
fn classify(
    ret: wasmtime::Result<u32>,
    escape: Option<Escape>,
    outs: Vec<u8>,
    ink_left: u64,
    ink_status: i32,
    stack_left: i32,
) -> (Status, Vec<u8>, u64) {
    let failure = |r| (Status::Failure(r), Vec::new(), ink_left);
    match ret {
        Ok(0) => (Status::Success, outs, ink_left),
        Ok(_) => (Status::Revert, outs, ink_left),
        Err(e) => match escape {
            Some(Escape::Exit(0)) => (Status::Success, outs, ink_left),
            Some(Escape::Exit(_)) => (Status::Revert, outs, ink_left),
            Some(Escape::OutOfInk) => (Status::OutOfInk, Vec::new(), 0),
            Some(Escape::Failure(r)) => failure(r),
            None if ink_status != 0 => (Status::OutOfInk, Vec::new(), 0),
            None if stack_left == 0 => (Status::OutOfStack, Vec::new(), 0),
            None => match e.downcast_ref::<Trap>() {
                // wasmtime's native stack guard fired before the budget did.
                Some(Trap::StackOverflow) => (Status::OutOfStack, Vec::new(), 0),
                Some(t) => failure(FailureReason::Trap(t.to_string())),
                None => failure(FailureReason::Trap(e.to_string())),
            },
        },
    }
}

/// Writes a compiled module atomically (temp file + rename); errors are ignored
/// because the cache is only an optimisation.
fn store_cache(path: &Path, module: &Module) {
    let Ok(bytes) = module.serialize() else {
        return;
    };
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("module"),
        std::process::id()
    ));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}
