//! [`MemoryHost`]: a self-contained [`Host`] keeping all state in memory,
//! for tests, examples and simple local runs. Nested calls and creates are
//! answered by optional closures (default: call succeeds with empty data and
//! no gas used; create fails).

use crate::host::{
    BlockContext, CallKind, CallRequest, CallResult, CreateRequest, CreateResult, Host, MsgContext,
};
use alloy_primitives::{Address, B256, U256};
use std::collections::{HashMap, HashSet};

/// A call the program made, as recorded by [`MemoryHost`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    /// CALL, DELEGATECALL or STATICCALL.
    pub kind: CallKind,
    /// Callee.
    pub to: Address,
    /// Calldata.
    pub input: Vec<u8>,
    /// Value seen by the callee.
    pub value: U256,
    /// Gas given to the callee.
    pub gas: u64,
    /// Storage of the executing contract as the callee would see it (to
    /// check flush-before-call).
    pub storage_at_call: HashMap<B256, B256>,
}

/// A log the program emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Topics (0 to 4).
    pub topics: Vec<B256>,
    /// Data.
    pub data: Vec<u8>,
}

/// Handler answering nested calls.
pub type CallHandler = Box<dyn FnMut(&CallRequest<'_>) -> CallResult>;
/// Handler answering creations.
pub type CreateHandler = Box<dyn FnMut(&CreateRequest<'_>) -> CreateResult>;

/// Error returned by [`MemoryHost`] when told to fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("memory host: {0}")]
pub struct MemoryHostError(pub String);

/// An in-memory host with EIP-2929 warm sets, refunds and page counts.
#[derive(Default)]
pub struct MemoryHost {
    /// The frame.
    pub msg: MsgContext,
    /// Block and transaction context.
    pub block: BlockContext,
    /// Storage of the executing contract.
    pub storage: HashMap<B256, B256>,
    /// Storage values at the start of the transaction (missing = current).
    pub original: HashMap<B256, B256>,
    /// Transient storage.
    pub transient: HashMap<B256, B256>,
    /// Balances.
    pub balances: HashMap<Address, U256>,
    /// Codes.
    pub codes: HashMap<Address, Vec<u8>>,
    /// Logs emitted, in order.
    pub logs: Vec<Log>,
    /// Calls made, in order.
    pub calls: Vec<RecordedCall>,
    /// Slots written through `storage_store`, in order.
    pub writes: Vec<(B256, B256)>,
    /// Warm storage slots.
    pub warm_slots: HashSet<B256>,
    /// Warm accounts.
    pub warm_accounts: HashSet<Address>,
    /// Refund counter.
    pub refund: i64,
    /// Transaction-wide (open, ever) pages.
    pub pages: (u16, u16),
    /// Answers nested calls.
    pub on_call: Option<CallHandler>,
    /// Answers creations.
    pub on_create: Option<CreateHandler>,
    /// When set, `storage_load` of this key fails (to test host errors).
    pub fail_on_load: Option<B256>,
    /// Number of `storage_load` calls (to observe the runtime's cache).
    pub loads: usize,
}

impl MemoryHost {
    /// A host whose contract lives at `address`, called by `sender`.
    pub fn new(address: Address, sender: Address) -> Self {
        Self {
            msg: MsgContext {
                address,
                sender,
                ..MsgContext::default()
            },
            ..Self::default()
        }
    }
}

impl Host for MemoryHost {
    type Error = MemoryHostError;

    fn msg(&self) -> MsgContext {
        self.msg.clone()
    }
    fn block(&self) -> BlockContext {
        self.block.clone()
    }
    fn storage_load(&mut self, key: B256) -> Result<B256, Self::Error> {
        self.loads += 1;
        if self.fail_on_load == Some(key) {
            return Err(MemoryHostError(format!("no value for slot {key}")));
        }
        Ok(self.storage.get(&key).copied().unwrap_or_default())
    }
    fn storage_store(&mut self, key: B256, value: B256) -> Result<(), Self::Error> {
        let current = self.storage.get(&key).copied().unwrap_or_default();
        self.original.entry(key).or_insert(current);
        self.storage.insert(key, value);
        self.writes.push((key, value));
        Ok(())
    }
    fn storage_original(&mut self, key: B256) -> Result<B256, Self::Error> {
        match self.original.get(&key) {
            Some(v) => Ok(*v),
            None => self.storage_load(key),
        }
    }
    fn warm_slot(&mut self, key: B256) -> bool {
        !self.warm_slots.insert(key)
    }
    fn warm_account(&mut self, address: Address) -> bool {
        !self.warm_accounts.insert(address)
    }
    fn add_refund(&mut self, delta: i64) {
        self.refund += delta;
    }
    fn transient_load(&mut self, key: B256) -> Result<B256, Self::Error> {
        Ok(self.transient.get(&key).copied().unwrap_or_default())
    }
    fn transient_store(&mut self, key: B256, value: B256) -> Result<(), Self::Error> {
        self.transient.insert(key, value);
        Ok(())
    }
    fn balance(&mut self, address: Address) -> Result<U256, Self::Error> {
        Ok(self.balances.get(&address).copied().unwrap_or_default())
    }
    fn code(&mut self, address: Address) -> Result<Vec<u8>, Self::Error> {
        Ok(self.codes.get(&address).cloned().unwrap_or_default())
    }
    fn call(&mut self, request: CallRequest<'_>) -> Result<CallResult, Self::Error> {
        self.calls.push(RecordedCall {
            kind: request.kind,
            to: request.to,
            input: request.input.to_vec(),
            value: request.value,
            gas: request.gas,
            storage_at_call: self.storage.clone(),
        });
        Ok(match &mut self.on_call {
            Some(f) => f(&request),
            None => CallResult {
                success: true,
                ..CallResult::default()
            },
        })
    }
    fn create(&mut self, request: CreateRequest<'_>) -> Result<CreateResult, Self::Error> {
        Ok(match &mut self.on_create {
            Some(f) => f(&request),
            None => CreateResult::default(),
        })
    }
    fn emit_log(&mut self, topics: &[B256], data: &[u8]) -> Result<(), Self::Error> {
        self.logs.push(Log {
            topics: topics.to_vec(),
            data: data.to_vec(),
        });
        Ok(())
    }
    fn stylus_pages(&mut self) -> (u16, u16) {
        self.pages
    }
    fn set_stylus_pages(&mut self, open: u16, ever: u16) {
        self.pages = (open, ever);
    }
}
