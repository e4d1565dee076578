//! Test host for the engine: the SDK's `TestVM` plus per-call return data,
//! a stateful ERC-20 simulation and Chainlink feeds.
//!
//! Why a wrapper: `TestVM::read_return_data` returns the data of the *last
//! registered mock*, not of the call just made, so a contract making several
//! external calls in one entry point (feeds, sequencer, `balanceOf` before and
//! after `transferFrom`) would read the wrong bytes. This host keeps its own
//! mock tables (`mock_call`, `mock_static_call`, same shapes as TestVM's) and
//! remembers the return data of each call. Everything else (storage, block,
//! sender, logs) is delegated to the wrapped `TestVM`.
#![allow(dead_code, missing_docs)]

use std::{cell::RefCell, collections::HashMap, rc::Rc, slice};

use alloy_primitives::{Address, B256, U256};
use stylus_sdk::stylus_core::*;
use stylus_sdk::testing::TestVM;

/// Address of the risk-calculator program in tests (served natively by
/// `keel_risk_calc::dispatch`).
pub const RISK_CALC: Address = Address::repeat_byte(0xCA);
/// Address of the admin program in tests (delegatecalls run `router::admin_main`).
pub const ADMIN: Address = Address::repeat_byte(0xAD);

/// Address of the keeper program in tests (delegatecalls run `router::keeper_main`).
pub const KEEPER: Address = Address::repeat_byte(0xEE);

/// Address of the margin program in tests (delegatecalls run `router::margin_main`).
pub const MARGIN: Address = Address::repeat_byte(0x3A);

/// Address of the upkeep program in tests (delegatecalls run `router::upkeep_main`).
pub const UPKEEP: Address = Address::repeat_byte(0x5E);

/// The engine's modules as this host serves them.
pub fn modules() -> keel_engine::Modules {
    keel_engine::Modules {
        risk_calc: RISK_CALC,
        admin: ADMIN,
        keeper: KEEPER,
        margin: MARGIN,
        upkeep: UPKEEP,
    }
}

/// A simulated ERC-20.
#[derive(Default, Clone)]
pub struct Token {
    pub balances: HashMap<Address, U256>,
    pub decimals: u8,
    /// Fee taken from every transfer, basis points (fee-on-transfer tokens).
    pub fee_bps: u32,
}

/// Mocked results keyed by (target, calldata).
type Mocks = HashMap<(Address, Vec<u8>), Result<Vec<u8>, Vec<u8>>>;

#[derive(Default)]
pub struct Sim {
    ret: Vec<u8>,
    calls: Mocks,
    statics: Mocks,
    pub tokens: HashMap<Address, Token>,
    pub call_log: Vec<(Address, Vec<u8>)>,
    /// Current spot answer of the test's main feed (8 decimals), if changed.
    pub price: Option<i128>,
}

#[derive(Clone)]
pub struct Env {
    pub vm: TestVM,
    pub sim: Rc<RefCell<Sim>>,
}

pub fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

pub fn aw(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

pub fn iw(v: i128) -> U256 {
    if v < 0 {
        U256::ZERO.wrapping_sub(U256::from(v.unsigned_abs()))
    } else {
        U256::from(v as u128)
    }
}

fn read_word(d: &[u8], i: usize) -> U256 {
    U256::from_be_slice(&d[4 + 32 * i..4 + 32 * i + 32])
}

fn read_addr(d: &[u8], i: usize) -> Address {
    Address::from_slice(&d[4 + 32 * i + 12..4 + 32 * i + 32])
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Self {
        Env {
            vm: TestVM::new(),
            sim: Rc::new(RefCell::new(Sim::default())),
        }
    }

    pub fn mock_call(&self, to: Address, data: Vec<u8>, ret: Result<Vec<u8>, Vec<u8>>) {
        self.sim.borrow_mut().calls.insert((to, data), ret);
    }

    pub fn mock_static_call(&self, to: Address, data: Vec<u8>, ret: Result<Vec<u8>, Vec<u8>>) {
        self.sim.borrow_mut().statics.insert((to, data), ret);
    }

    pub fn clear_mocks(&self) {
        let mut s = self.sim.borrow_mut();
        s.calls.clear();
        s.statics.clear();
    }

    /// Registers a Chainlink feed answer (AggregatorV3 `latestRoundData` ABI).
    pub fn set_round(
        &self,
        feed: Address,
        round: u64,
        answer: i128,
        started: u64,
        updated: u64,
        answered_in: u64,
    ) {
        let mut d = Vec::new();
        for w in [
            U256::from(round),
            iw(answer),
            U256::from(started),
            U256::from(updated),
            U256::from(answered_in),
        ] {
            d.extend_from_slice(&word(w));
        }
        self.mock_static_call(feed, vec![0xfe, 0xaf, 0x96, 0x8c], Ok(d.clone()));
        // The same round also answers `getRoundData(round)`, as a real
        // aggregator keeps its history.
        let mut call = vec![0x9a, 0x6f, 0xc8, 0xf5];
        call.extend_from_slice(&word(U256::from(round)));
        self.mock_static_call(feed, call, Ok(d));
    }

    /// A fresh complete round with `answer` updated at `updated`.
    pub fn set_feed(&self, feed: Address, answer: i128, updated: u64) {
        self.set_round(feed, 10, answer, updated, updated, 10);
    }

    pub fn set_decimals(&self, target: Address, decimals: u8) {
        self.mock_static_call(
            target,
            vec![0x31, 0x3c, 0xe5, 0x67],
            Ok(word(U256::from(decimals)).to_vec()),
        );
    }

    pub fn add_token(&self, token: Address, decimals: u8) {
        self.sim.borrow_mut().tokens.insert(
            token,
            Token {
                decimals,
                ..Default::default()
            },
        );
    }

    pub fn set_fee_bps(&self, token: Address, bps: u32) {
        self.sim
            .borrow_mut()
            .tokens
            .get_mut(&token)
            .unwrap()
            .fee_bps = bps;
    }

    pub fn mint(&self, token: Address, to: Address, amount: U256) {
        let mut s = self.sim.borrow_mut();
        let b = s
            .tokens
            .get_mut(&token)
            .unwrap()
            .balances
            .entry(to)
            .or_default();
        *b += amount;
    }

    pub fn balance(&self, token: Address, who: Address) -> U256 {
        self.sim.borrow().tokens[&token]
            .balances
            .get(&who)
            .copied()
            .unwrap_or_default()
    }

    /// Storage and token balances, to emulate a revert (TestVM writes storage
    /// immediately and never rolls back).
    pub fn snap(&self) -> (HashMap<U256, B256>, HashMap<Address, Token>) {
        (self.vm.snapshot().storage, self.sim.borrow().tokens.clone())
    }

    /// Restores a [`Env::snap`].
    pub fn restore(&self, snap: (HashMap<U256, B256>, HashMap<Address, Token>)) {
        self.vm.clear_storage();
        for (k, v) in snap.0 {
            self.vm.set_storage(k, v);
        }
        self.sim.borrow_mut().tokens = snap.1;
    }

    pub fn logs(&self) -> Vec<(Vec<B256>, Vec<u8>)> {
        self.vm.get_emitted_logs()
    }

    fn token_call(
        &self,
        token: Address,
        from: Address,
        data: &[u8],
    ) -> Option<Result<Vec<u8>, Vec<u8>>> {
        let mut s = self.sim.borrow_mut();
        let t = s.tokens.get_mut(&token)?;
        let sel = &data[..4];
        let mv = |t: &mut Token, f: Address, to: Address, amt: U256| -> Result<Vec<u8>, Vec<u8>> {
            let bf = t.balances.get(&f).copied().unwrap_or_default();
            if bf < amt {
                return Err(b"insufficient".to_vec());
            }
            let fee = amt * U256::from(t.fee_bps) / U256::from(10_000u32);
            t.balances.insert(f, bf - amt);
            *t.balances.entry(to).or_default() += amt - fee;
            Ok(word(U256::from(1u8)).to_vec())
        };
        Some(match sel {
            [0x23, 0xb8, 0x72, 0xdd] => mv(
                t,
                read_addr(data, 0),
                read_addr(data, 1),
                read_word(data, 2),
            ),
            [0xa9, 0x05, 0x9c, 0xbb] => mv(t, from, read_addr(data, 0), read_word(data, 1)),
            [0x70, 0xa0, 0x82, 0x31] => Ok(word(
                t.balances
                    .get(&read_addr(data, 0))
                    .copied()
                    .unwrap_or_default(),
            )
            .to_vec()),
            [0x31, 0x3c, 0xe5, 0x67] => Ok(word(U256::from(t.decimals)).to_vec()),
            _ => Err(Vec::new()),
        })
    }

    fn finish(&self, r: Result<Vec<u8>, Vec<u8>>, outs_len: &mut usize) -> u8 {
        let (status, data) = match r {
            Ok(d) => (0, d),
            Err(d) => (1, d),
        };
        *outs_len = data.len();
        self.sim.borrow_mut().ret = data;
        status
    }

    fn dispatch(&self, to: Address, data: &[u8], is_static: bool) -> Result<Vec<u8>, Vec<u8>> {
        self.sim.borrow_mut().call_log.push((to, data.to_vec()));
        let key = (to, data.to_vec());
        let mocked = {
            let s = self.sim.borrow();
            if is_static {
                s.statics.get(&key).cloned()
            } else {
                s.calls.get(&key).cloned()
            }
        };
        if let Some(r) = mocked {
            return r;
        }
        if to == RISK_CALC {
            // The real calculator program, run natively (same code as its WASM).
            return keel_risk_calc::dispatch(data).map_err(|e| e.revert_data());
        }
        let me = self.vm.contract_address();
        if let Some(r) = self.token_call(to, me, data) {
            return r;
        }
        // Like TestVM: unmocked calls succeed with empty data.
        Ok(Vec::new())
    }
}

impl Host for Env {}

impl CryptographyAccess for Env {
    fn native_keccak256(&self, input: &[u8]) -> B256 {
        self.vm.native_keccak256(input)
    }
}

impl CalldataAccess for Env {
    fn read_args(&self, len: usize) -> Vec<u8> {
        self.vm.read_args(len)
    }
    fn read_return_data(&self, offset: usize, size: Option<usize>) -> Vec<u8> {
        let s = self.sim.borrow();
        let start = offset.min(s.ret.len());
        let end = size
            .map(|n| (start + n).min(s.ret.len()))
            .unwrap_or(s.ret.len());
        s.ret[start..end].to_vec()
    }
    fn return_data_size(&self) -> usize {
        self.sim.borrow().ret.len()
    }
    fn write_result(&self, data: &[u8]) {
        self.vm.write_result(data)
    }
}

unsafe impl UnsafeDeploymentAccess for Env {
    unsafe fn create1(&self, code: *const u8, len: usize, e: *const u8, c: *mut u8, r: *mut usize) {
        unsafe { self.vm.create1(code, len, e, c, r) }
    }
    unsafe fn create2(
        &self,
        code: *const u8,
        len: usize,
        e: *const u8,
        s: *const u8,
        c: *mut u8,
        r: *mut usize,
    ) {
        unsafe { self.vm.create2(code, len, e, s, c, r) }
    }
}

impl StorageAccess for Env {
    fn storage_load_bytes32(&self, key: U256) -> B256 {
        self.vm.storage_load_bytes32(key)
    }
    unsafe fn storage_cache_bytes32(&self, key: U256, value: B256) {
        unsafe { self.vm.storage_cache_bytes32(key, value) }
    }
    fn flush_cache(&self, clear: bool) {
        self.vm.flush_cache(clear)
    }
}

unsafe impl UnsafeCallAccess for Env {
    unsafe fn call_contract(
        &self,
        to: *const u8,
        data: *const u8,
        data_len: usize,
        _value: *const u8,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        let (to, data) = unsafe {
            (
                Address::from_slice(slice::from_raw_parts(to, 20)),
                slice::from_raw_parts(data, data_len),
            )
        };
        let r = self.dispatch(to, data, false);
        self.finish(r, outs_len)
    }
    unsafe fn static_call_contract(
        &self,
        to: *const u8,
        data: *const u8,
        data_len: usize,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        let (to, data) = unsafe {
            (
                Address::from_slice(slice::from_raw_parts(to, 20)),
                slice::from_raw_parts(data, data_len),
            )
        };
        let r = self.dispatch(to, data, true);
        self.finish(r, outs_len)
    }
    unsafe fn delegate_call_contract(
        &self,
        to: *const u8,
        data: *const u8,
        len: usize,
        _gas: u64,
        outs_len: &mut usize,
    ) -> u8 {
        let (to, data) = unsafe {
            (
                Address::from_slice(slice::from_raw_parts(to, 20)),
                slice::from_raw_parts(data, len),
            )
        };
        self.sim.borrow_mut().call_log.push((to, data.to_vec()));
        // The engine's programs run on this host's storage, as a DELEGATECALL does.
        let vm = stylus_sdk::host::VM {
            host: Box::new(self.clone()),
        };
        let r = match to {
            ADMIN => keel_engine::router::admin_main(data.to_vec(), vm),
            KEEPER => keel_engine::router::keeper_main(data.to_vec(), vm),
            MARGIN => keel_engine::router::margin_main(data.to_vec(), vm),
            UPKEEP => keel_engine::router::upkeep_main(data.to_vec(), vm),
            _ => Err(Vec::new()),
        };
        self.finish(r, outs_len)
    }
}

impl BlockAccess for Env {
    fn block_basefee(&self) -> U256 {
        self.vm.block_basefee()
    }
    fn block_coinbase(&self) -> Address {
        self.vm.block_coinbase()
    }
    fn block_number(&self) -> u64 {
        self.vm.block_number()
    }
    fn block_timestamp(&self) -> u64 {
        self.vm.block_timestamp()
    }
    fn block_gas_limit(&self) -> u64 {
        self.vm.block_gas_limit()
    }
}

impl ChainAccess for Env {
    fn chain_id(&self) -> u64 {
        self.vm.chain_id()
    }
}

impl AccountAccess for Env {
    fn balance(&self, account: Address) -> U256 {
        AccountAccess::balance(&self.vm, account)
    }
    fn contract_address(&self) -> Address {
        self.vm.contract_address()
    }
    fn code(&self, account: Address) -> Vec<u8> {
        self.vm.code(account)
    }
    fn code_size(&self, account: Address) -> usize {
        self.vm.code_size(account)
    }
    fn code_hash(&self, account: Address) -> B256 {
        self.vm.code_hash(account)
    }
}

impl MemoryAccess for Env {
    fn pay_for_memory_grow(&self, pages: u16) {
        self.vm.pay_for_memory_grow(pages)
    }
}

impl MessageAccess for Env {
    fn msg_sender(&self) -> Address {
        self.vm.msg_sender()
    }
    fn msg_reentrant(&self) -> bool {
        self.vm.msg_reentrant()
    }
    fn msg_value(&self) -> U256 {
        self.vm.msg_value()
    }
    fn tx_origin(&self) -> Address {
        self.vm.tx_origin()
    }
}

impl MeteringAccess for Env {
    fn evm_gas_left(&self) -> u64 {
        self.vm.evm_gas_left()
    }
    fn evm_ink_left(&self) -> u64 {
        self.vm.evm_ink_left()
    }
    fn tx_gas_price(&self) -> U256 {
        self.vm.tx_gas_price()
    }
    fn tx_ink_price(&self) -> u32 {
        self.vm.tx_ink_price()
    }
}

impl RawLogAccess for Env {
    fn emit_log(&self, input: &[u8], num_topics: usize) {
        self.vm.emit_log(input, num_topics)
    }
    fn raw_log(&self, topics: &[B256], data: &[u8]) -> Result<(), &'static str> {
        self.vm.raw_log(topics, data)
    }
}
