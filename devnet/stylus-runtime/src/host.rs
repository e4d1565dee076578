//! The environment a Stylus program runs in, as a trait: the same runtime
//! serves the forge bridge (state lives in an EVM, reached over FFI) and a
//! local chain (state in memory).
//!
//! The runtime owns everything Nitro's WASM side owns (storage cache, return
//! data, ink, memory pricing, the gas rules of each hostio); the host only
//! answers questions about state and performs side effects. Methods with a
//! default are optional: the defaults are what a host that keeps no access
//! lists, refunds or transaction-wide page counts would answer, and each
//! default says where that makes gas differ from Nitro.

use alloy_primitives::{keccak256, Address, B256, U256};

/// Block and transaction context, read once per invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// `chainid`.
    pub chain_id: u64,
    /// `block_basefee`, wei per gas.
    pub basefee: U256,
    /// `block_coinbase` (on Arbitrum the batch poster).
    pub coinbase: Address,
    /// `block_gas_limit`.
    pub gas_limit: u64,
    /// `block_number`: on Arbitrum the L1 block number estimate.
    pub number: u64,
    /// `block_timestamp`, seconds (L2 time).
    pub timestamp: u64,
    /// `tx_gas_price`, wei per gas (equals the basefee on Arbitrum).
    pub gas_price: U256,
    /// `tx_origin`.
    pub origin: Address,
}

impl Default for BlockContext {
    /// A Nitro dev node: chain 412346, basefee 0.1 gwei, 2^50 gas limit.
    fn default() -> Self {
        Self {
            chain_id: 412_346,
            basefee: U256::from(100_000_000u64),
            coinbase: Address::ZERO,
            gas_limit: 1 << 50,
            number: 1,
            timestamp: 1,
            gas_price: U256::from(100_000_000u64),
            origin: Address::ZERO,
        }
    }
}

/// The current call frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsgContext {
    /// `msg_sender`: the caller (for a DELEGATECALL, the original caller).
    pub sender: Address,
    /// `msg_value`, wei.
    pub value: U256,
    /// `contract_address`: the account whose storage the program uses.
    pub address: Address,
    /// Whether the frame is static (STATICCALL or below one): writes fail.
    pub is_static: bool,
    /// `msg_reentrant`: the program's address already has a frame below this
    /// one (Nitro counts frames per address, not for DELEGATECALL/CALLCODE).
    pub reentrant: bool,
}

/// Kind of a nested call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// CALL: the callee runs with its own storage; `value` moves.
    Call,
    /// DELEGATECALL: the callee's code runs on this contract's storage, with
    /// this frame's sender and value.
    DelegateCall,
    /// STATICCALL: no state changes allowed below.
    StaticCall,
}

/// A nested call the program makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest<'a> {
    /// CALL, DELEGATECALL or STATICCALL.
    pub kind: CallKind,
    /// Callee.
    pub to: Address,
    /// Calldata.
    pub input: &'a [u8],
    /// CALL: wei sent. DELEGATECALL: the current frame's value, which the
    /// callee sees but which is not transferred. STATICCALL: zero.
    pub value: U256,
    /// Gas limit of the callee (63/64 rule and stipend already applied).
    pub gas: u64,
}

/// What a nested call returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallResult {
    /// Whether the callee succeeded (false for reverts and every failure).
    pub success: bool,
    /// Return or revert data (becomes the program's return data).
    pub output: Vec<u8>,
    /// Gas the callee used, at most [`CallRequest::gas`].
    pub gas_used: u64,
}

/// A contract creation the program makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest<'a> {
    /// EVM init code.
    pub init_code: &'a [u8],
    /// Wei sent to the new contract.
    pub endowment: U256,
    /// `Some(salt)` for CREATE2, `None` for CREATE.
    pub salt: Option<B256>,
    /// Gas limit of the init code (base cost and 1/64 already withheld).
    pub gas: u64,
}

/// What a creation returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateResult {
    /// The new contract, or `None` when the creation failed.
    pub address: Option<Address>,
    /// Revert data when the init code reverted; ignored otherwise.
    pub output: Vec<u8>,
    /// Gas the init code used, at most [`CreateRequest::gas`].
    pub gas_used: u64,
}

/// Environment access for one Stylus invocation.
///
/// Errors: any `Err` aborts the program; the runtime reports it as
/// [`crate::Status::Failure`] with [`crate::FailureReason::Host`], which on
/// Nitro means "revert with empty data". A host may use that to stop an
/// execution it cannot finish (e.g. a stateless bridge missing a value), and
/// get its own error back with [`crate::Outcome::host_error`].
pub trait Host {
    /// The host's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The current frame (sender, value, address, static, reentrant).
    fn msg(&self) -> MsgContext;

    /// Block and transaction context. Default: [`BlockContext::default`].
    fn block(&self) -> BlockContext {
        BlockContext::default()
    }

    /// Current value of a storage slot of the executing contract.
    fn storage_load(&mut self, key: B256) -> Result<B256, Self::Error>;

    /// Writes a storage slot of the executing contract (called only by
    /// `storage_flush_cache`, in ascending key order, never in a static frame).
    fn storage_store(&mut self, key: B256, value: B256) -> Result<(), Self::Error>;

    /// Value of the slot at the start of the transaction (EIP-2200).
    /// Default: the current value, which prices every write as the first
    /// write of the transaction to that slot.
    fn storage_original(&mut self, key: B256) -> Result<B256, Self::Error> {
        self.storage_load(key)
    }

    /// Marks a slot of the executing contract warm (EIP-2929) and says
    /// whether it already was. Default: always cold (Nitro charges 2,000 gas
    /// less for warm slots).
    fn warm_slot(&mut self, key: B256) -> bool {
        let _ = key;
        false
    }

    /// Marks an account warm (EIP-2929) and says whether it already was.
    /// Default: always cold (2,500 gas more than a warm access).
    fn warm_account(&mut self, address: Address) -> bool {
        let _ = address;
        false
    }

    /// Adds `delta` to the transaction's gas refund counter. Default: ignored.
    fn add_refund(&mut self, delta: i64) {
        let _ = delta;
    }

    /// TLOAD of the executing contract.
    fn transient_load(&mut self, key: B256) -> Result<B256, Self::Error>;

    /// TSTORE of the executing contract (never called in a static frame).
    fn transient_store(&mut self, key: B256, value: B256) -> Result<(), Self::Error>;

    /// Balance of an account, wei.
    fn balance(&mut self, address: Address) -> Result<U256, Self::Error>;

    /// Code of an account (empty for none).
    fn code(&mut self, address: Address) -> Result<Vec<u8>, Self::Error>;

    /// Code size of an account. Default: `code(address).len()`.
    fn code_size(&mut self, address: Address) -> Result<usize, Self::Error> {
        Ok(self.code(address)?.len())
    }

    /// Whether an account is empty in the EIP-161 sense (no code, nonce 0,
    /// balance 0): EXTCODEHASH gives zero and a value call pays 25,000 more.
    /// Default: no code and zero balance (the nonce is not asked for).
    fn is_empty(&mut self, address: Address) -> Result<bool, Self::Error> {
        Ok(self.code_size(address)? == 0 && self.balance(address)?.is_zero())
    }

    /// EXTCODEHASH: zero for an empty account, keccak of the code otherwise
    /// (keccak("") for an account without code). Default: from
    /// [`Host::is_empty`] and [`Host::code`].
    fn code_hash(&mut self, address: Address) -> Result<B256, Self::Error> {
        if self.is_empty(address)? {
            return Ok(B256::ZERO);
        }
        Ok(keccak256(self.code(address)?))
    }

    /// Performs a nested call. The runtime has already charged the base cost
    /// and computed the callee's gas; a value CALL from a static frame never
    /// reaches the host.
    fn call(&mut self, request: CallRequest<'_>) -> Result<CallResult, Self::Error>;

    /// Performs CREATE / CREATE2 (never from a static frame).
    fn create(&mut self, request: CreateRequest<'_>) -> Result<CreateResult, Self::Error>;

    /// Emits a log from the executing contract (never from a static frame).
    fn emit_log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), Self::Error>;

    /// Transaction-wide Stylus memory pages: (open now, most ever open).
    /// Default: (0, 0), i.e. every invocation is priced as the first of its
    /// transaction.
    fn stylus_pages(&mut self) -> (u16, u16) {
        (0, 0)
    }

    /// Records the transaction-wide page counts. Default: ignored.
    fn set_stylus_pages(&mut self, open: u16, ever: u16) {
        let _ = (open, ever);
    }
}

/// A host error with its concrete type erased (kept for downcasting).
#[derive(Debug, Clone)]
pub struct HostError(pub std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HostError {}

impl PartialEq for HostError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Wraps a host so the runtime can hold it as a trait object with one error type.
pub(crate) struct Erased<'a, H: Host>(pub &'a mut H);

fn erase<E: std::error::Error + Send + Sync + 'static>(e: E) -> HostError {
    HostError(std::sync::Arc::new(e))
}

impl<H: Host> Host for Erased<'_, H> {
    type Error = HostError;
    fn msg(&self) -> MsgContext {
        self.0.msg()
    }
    fn block(&self) -> BlockContext {
        self.0.block()
    }
    fn storage_load(&mut self, key: B256) -> Result<B256, HostError> {
        self.0.storage_load(key).map_err(erase)
    }
    fn storage_store(&mut self, key: B256, value: B256) -> Result<(), HostError> {
        self.0.storage_store(key, value).map_err(erase)
    }
    fn storage_original(&mut self, key: B256) -> Result<B256, HostError> {
        self.0.storage_original(key).map_err(erase)
    }
    fn warm_slot(&mut self, key: B256) -> bool {
        self.0.warm_slot(key)
    }
    fn warm_account(&mut self, address: Address) -> bool {
        self.0.warm_account(address)
    }
    fn add_refund(&mut self, delta: i64) {
        self.0.add_refund(delta)
    }
    fn transient_load(&mut self, key: B256) -> Result<B256, HostError> {
        self.0.transient_load(key).map_err(erase)
    }
    fn transient_store(&mut self, key: B256, value: B256) -> Result<(), HostError> {
        self.0.transient_store(key, value).map_err(erase)
    }
    fn balance(&mut self, address: Address) -> Result<U256, HostError> {
        self.0.balance(address).map_err(erase)
    }
    fn code(&mut self, address: Address) -> Result<Vec<u8>, HostError> {
        self.0.code(address).map_err(erase)
    }
    fn code_size(&mut self, address: Address) -> Result<usize, HostError> {
        self.0.code_size(address).map_err(erase)
    }
    fn is_empty(&mut self, address: Address) -> Result<bool, HostError> {
        self.0.is_empty(address).map_err(erase)
    }
    fn code_hash(&mut self, address: Address) -> Result<B256, HostError> {
        self.0.code_hash(address).map_err(erase)
    }
    fn call(&mut self, request: CallRequest<'_>) -> Result<CallResult, HostError> {
        self.0.call(request).map_err(erase)
    }
    fn create(&mut self, request: CreateRequest<'_>) -> Result<CreateResult, HostError> {
        self.0.create(request).map_err(erase)
    }
    fn emit_log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), HostError> {
        self.0.emit_log(topics, data).map_err(erase)
    }
    fn stylus_pages(&mut self) -> (u16, u16) {
        self.0.stylus_pages()
    }
    fn set_stylus_pages(&mut self, open: u16, ever: u16) {
        self.0.set_stylus_pages(open, ever)
    }
}
