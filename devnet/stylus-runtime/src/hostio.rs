//! The `vm_hooks` imports: Nitro's 41 hostios plus `native_keccak256`, with
//! the semantics and ink/gas charges of Nitro's `user-host-trait` and
//! `arbos/programs/api.go` (see the crate docs for where this differs).

use crate::host::{
    BlockContext, CallKind, CallRequest, CreateRequest, Host, HostError, MsgContext,
};
use crate::pricing::{self, gas, hostio as ink, MemoryModel, EVM_API_INK};
use crate::runtime::FailureReason;
use crate::storage::StorageCache;
use alloy_primitives::{keccak256, Address, B256, U256};
use wasmtime::{Caller, Global, Linker, Memory, Val};

type R<T> = wasmtime::Result<T>;

/// Why a hostio stopped the program.
#[derive(Debug)]
pub(crate) enum Escape {
    /// `exit_early(status)`.
    Exit(u32),
    /// Ink ran out inside a hostio.
    OutOfInk,
    /// The program failed (revert with empty data).
    Failure(FailureReason),
}

/// Per-invocation state (wasmtime store data).
pub(crate) struct Env {
    host: *mut (dyn Host<Error = HostError> + 'static),
    args: Vec<u8>,
    pub(crate) outs: Vec<u8>,
    return_data: Vec<u8>,
    cache: StorageCache,
    msg: MsgContext,
    block: BlockContext,
    ink_price: u64,
    model: MemoryModel,
    last_code: Option<(Address, Vec<u8>)>,
    pub(crate) memory: Option<Memory>,
    pub(crate) ink: Option<Global>,
    pub(crate) status: Option<Global>,
    pub(crate) escape: Option<Escape>,
}

impl Env {
    pub(crate) fn new(
        host: *mut (dyn Host<Error = HostError> + 'static),
        args: Vec<u8>,
        msg: MsgContext,
        block: BlockContext,
        ink_price: u64,
        model: MemoryModel,
    ) -> Self {
        Self {
            host,
            args,
            outs: Vec::new(),
            return_data: Vec::new(),
            cache: StorageCache::default(),
            msg,
            block,
            ink_price,
            model,
            last_code: None,
            memory: None,
            ink: None,
            status: None,
            escape: None,
        }
    }

    pub(crate) fn host(&mut self) -> &mut (dyn Host<Error = HostError> + 'static) {
        // SAFETY: `Runtime::run` sets this pointer from a live `&mut` that
        // outlives the store, and nothing else uses that borrow while the
        // program runs; `&mut self` makes this the only access path.
        unsafe { &mut *self.host }
    }
}

type C<'a> = Caller<'a, Env>;

/// Stops the program with `reason` (the first escape wins).
fn escape(c: &mut C<'_>, reason: Escape) -> wasmtime::Error {
    let msg = format!("{reason:?}");
    let env = c.data_mut();
    if env.escape.is_none() {
        env.escape = Some(reason);
    }
    wasmtime::Error::msg(msg)
}

fn fail(c: &mut C<'_>, reason: FailureReason) -> wasmtime::Error {
    escape(c, Escape::Failure(reason))
}

fn host_fail(c: &mut C<'_>, e: HostError) -> wasmtime::Error {
    fail(c, FailureReason::Host(e))
}

fn out_of_ink(c: &mut C<'_>) -> wasmtime::Error {
    if let Some(s) = c.data().status {
        let _ = s.set(&mut *c, Val::I32(1));
    }
    escape(c, Escape::OutOfInk)
}

fn ink_left(c: &mut C<'_>) -> R<u64> {
    let (Some(ink), Some(status)) = (c.data().ink, c.data().status) else {
        return Err(out_of_ink(c));
    };
    if status.get(&mut *c).i32() != Some(0) {
        return Err(out_of_ink(c));
    }
    Ok(ink.get(&mut *c).i64().unwrap_or(0) as u64)
}

fn buy_ink(c: &mut C<'_>, cost: u64) -> R<()> {
    let left = ink_left(c)?;
    if left < cost {
        return Err(out_of_ink(c));
    }
    let ink = c
        .data()
        .ink
        .ok_or_else(|| wasmtime::Error::msg("no ink global"))?;
    ink.set(&mut *c, Val::I64((left - cost) as i64))?;
    Ok(())
}

fn gas_to_ink(c: &C<'_>, g: u64) -> u64 {
    g.saturating_mul(c.data().ink_price)
}

fn buy_gas(c: &mut C<'_>, g: u64) -> R<()> {
    let cost = gas_to_ink(c, g);
    buy_ink(c, cost)
}

fn require_gas(c: &mut C<'_>, g: u64) -> R<()> {
    let need = gas_to_ink(c, g);
    if ink_left(c)? < need {
        return Err(out_of_ink(c));
    }
    Ok(())
}

fn gas_left(c: &mut C<'_>) -> R<u64> {
    Ok(ink_left(c)? / c.data().ink_price)
}

fn read(c: &mut C<'_>, ptr: u32, len: u32) -> R<Vec<u8>> {
    let Some(mem) = c.data().memory else {
        return Err(fail(c, FailureReason::BadPointer));
    };
    let (start, end) = (ptr as usize, ptr as usize + len as usize);
    match mem.data(&*c).get(start..end) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(fail(c, FailureReason::BadPointer)),
    }
}

fn read32(c: &mut C<'_>, ptr: u32) -> R<B256> {
    Ok(B256::from_slice(&read(c, ptr, 32)?))
}

fn read20(c: &mut C<'_>, ptr: u32) -> R<Address> {
    Ok(Address::from_slice(&read(c, ptr, 20)?))
}

fn write(c: &mut C<'_>, ptr: u32, bytes: &[u8]) -> R<()> {
    let Some(mem) = c.data().memory else {
        return Err(fail(c, FailureReason::BadPointer));
    };
    let (start, end) = (ptr as usize, ptr as usize + bytes.len());
    match mem.data_mut(&mut *c).get_mut(start..end) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => Err(fail(c, FailureReason::BadPointer)),
    }
}

fn write_u32(c: &mut C<'_>, ptr: u32, x: u32) -> R<()> {
    write(c, ptr, &x.to_le_bytes())
}

/// The overlap of `[offset, offset + size)` with `data` (no padding).
fn slice_with_runoff(data: &[u8], offset: u32, size: u32) -> &[u8] {
    let start = (offset as usize).min(data.len());
    let end = (offset.saturating_add(size) as usize).min(data.len());
    &data[start..end]
}

/// EIP-2929 account touch as Nitro's `WasmAccountTouchCost`.
fn touch_cost(c: &mut C<'_>, address: Address, with_code: bool) -> u64 {
    let base = if with_code { gas::EXTCODE_BASE } else { 0 };
    let warm = c.data_mut().host().warm_account(address);
    base + if warm {
        gas::WARM_READ
    } else {
        gas::COLD_ACCOUNT
    }
}

/// Guest arguments of the three call hostios.
struct CallArgs {
    contract: u32,
    data: u32,
    data_len: u32,
    value: Option<u32>,
    gas: u64,
    ret_len: u32,
}

fn call_common(c: &mut C<'_>, kind: CallKind, args: CallArgs) -> R<u32> {
    let CallArgs {
        contract,
        data,
        data_len,
        value,
        gas,
        ret_len,
    } = args;
    buy_ink(c, ink::CALL_CONTRACT)?;
    buy_ink(c, pricing::read_price(data_len))?;
    buy_ink(c, pricing::read_price(data_len))?;
    let gas_left = gas_left(c)?;
    let gas_req = gas.min(gas_left);
    let to = read20(c, contract)?;
    let input = read(c, data, data_len)?;
    let value = match value {
        Some(ptr) => U256::from_be_bytes(read32(c, ptr)?.0),
        None => U256::ZERO,
    };
    let (ret, cost, status) = do_call(c, kind, to, &input, gas_left, gas_req, value)?;
    buy_gas(c, cost)?;
    let len = ret.len() as u32;
    c.data_mut().return_data = ret;
    write_u32(c, ret_len, len)?;
    Ok(status)
}

/// Nitro's `doCall`: (return data, gas cost, status 0/2).
fn do_call(
    c: &mut C<'_>,
    kind: CallKind,
    to: Address,
    input: &[u8],
    gas_left: u64,
    gas_req: u64,
    value: U256,
) -> R<(Vec<u8>, u64, u32)> {
    // read-only frames cannot send value: the call fails, the program goes on
    if c.data().msg.is_static && !value.is_zero() {
        return Ok((Vec::new(), 0, 2));
    }
    // WasmCallCost: warm access, cold surcharge, new account, value transfer
    let mut base = gas::WARM_READ;
    if base > gas_left {
        return Ok((Vec::new(), gas_left, 2));
    }
    if !c.data_mut().host().warm_account(to) {
        base += gas::COLD_ACCOUNT - gas::WARM_READ;
        if base > gas_left {
            return Ok((Vec::new(), gas_left, 2));
        }
    }
    if !value.is_zero() {
        let empty = match c.data_mut().host().is_empty(to) {
            Ok(e) => e,
            Err(e) => return Err(host_fail(c, e)),
        };
        if empty {
            base += gas::CALL_NEW_ACCOUNT;
            if base > gas_left {
                return Ok((Vec::new(), gas_left, 2));
            }
        }
        base += gas::CALL_VALUE;
        if base > gas_left {
            return Ok((Vec::new(), gas_left, 2));
        }
    }
    let start_gas = (gas_left - base) * 63 / 64;
    let mut callee_gas = start_gas.min(gas_req);
    if !value.is_zero() {
        callee_gas = callee_gas.saturating_add(gas::CALL_STIPEND);
    }
    let seen_value = match kind {
        CallKind::Call => value,
        CallKind::DelegateCall => c.data().msg.value,
        CallKind::StaticCall => U256::ZERO,
    };
    let request = CallRequest {
        kind,
        to,
        input,
        value: seen_value,
        gas: callee_gas,
    };
    let result = match c.data_mut().host().call(request) {
        Ok(r) => r,
        Err(e) => return Err(host_fail(c, e)),
    };
    let cost = base.saturating_add(result.gas_used.min(callee_gas));
    Ok((result.output, cost, if result.success { 0 } else { 2 }))
}

fn create_common(
    c: &mut C<'_>,
    code: u32,
    code_len: u32,
    endowment: u32,
    salt: Option<u32>,
    contract: u32,
    revert_len: u32,
) -> R<()> {
    let base_ink = if salt.is_some() {
        ink::CREATE2
    } else {
        ink::CREATE1
    };
    buy_ink(c, base_ink)?;
    buy_ink(c, pricing::read_price(code_len))?;
    buy_ink(c, pricing::read_price(code_len))?;
    let init_code = read(c, code, code_len)?;
    let endowment = U256::from_be_bytes(read32(c, endowment)?.0);
    let salt = match salt {
        Some(ptr) => Some(read32(c, ptr)?),
        None => None,
    };
    let gas = gas_left(c)?;
    if c.data().msg.is_static {
        return Err(fail(c, FailureReason::CreateFailed("write protection")));
    }
    let mut base = gas::CREATE;
    if salt.is_some() {
        let words = u64::from(code_len).div_ceil(32);
        base = base.saturating_add(gas::KECCAK_WORD.saturating_mul(words));
    }
    if gas < base {
        return Err(fail(c, FailureReason::CreateFailed("out of gas")));
    }
    let callee_gas = gas - base;
    let callee_gas = callee_gas - callee_gas / 64;
    let request = CreateRequest {
        init_code: &init_code,
        endowment,
        salt,
        gas: callee_gas,
    };
    let result = match c.data_mut().host().create(request) {
        Ok(r) => r,
        Err(e) => return Err(host_fail(c, e)),
    };
    let cost = base.saturating_add(result.gas_used.min(callee_gas));
    // return data is only the revert data of a failed creation (opCreate)
    let ret = match result.address {
        Some(_) => Vec::new(),
        None => result.output,
    };
    buy_gas(c, cost)?;
    let len = ret.len() as u32;
    c.data_mut().return_data = ret;
    write_u32(c, revert_len, len)?;
    write(
        c,
        contract,
        result.address.unwrap_or(Address::ZERO).as_slice(),
    )
}

fn account_code_of(c: &mut C<'_>, address: Address, gas: u64, cost: u64) -> R<Vec<u8>> {
    if let Some((a, code)) = &c.data().last_code {
        if *a == address {
            return Ok(code.clone());
        }
    }
    if gas < cost {
        return Ok(Vec::new());
    }
    let code = match c.data_mut().host().code(address) {
        Ok(code) => code,
        Err(e) => return Err(host_fail(c, e)),
    };
    if !code.is_empty() {
        c.data_mut().last_code = Some((address, code.clone()));
    }
    Ok(code)
}

/// The code at the address `ptr` points to, with Nitro's pricing shared by
/// `account_code` and `account_code_size`: free when it is the last code
/// fetched, else the cold/warm account access, bought after the fetch.
fn charged_account_code(c: &mut C<'_>, ptr: u32) -> R<Vec<u8>> {
    let address = read20(c, ptr)?;
    let gas = gas_left(c)?;
    let cached = matches!(&c.data().last_code, Some((a, _)) if *a == address);
    let cost = if cached {
        0
    } else {
        touch_cost(c, address, true)
    };
    let code = account_code_of(c, address, gas, cost)?;
    buy_gas(c, cost)?;
    Ok(code)
}

fn u256_at(c: &mut C<'_>, ptr: u32) -> R<U256> {
    Ok(U256::from_be_bytes(read32(c, ptr)?.0))
}

fn write_u256(c: &mut C<'_>, ptr: u32, x: U256) -> R<()> {
    write(c, ptr, &x.to_be_bytes::<32>())
}

macro_rules! hook {
    ($linker:ident, $name:literal, $f:expr) => {
        $linker.func_wrap("vm_hooks", $name, $f)?;
    };
}

/// Defines every `vm_hooks` import on `linker`.
pub(crate) fn link(linker: &mut Linker<Env>) -> wasmtime::Result<()> {
    hook!(linker, "read_args", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::READ_ARGS)?;
        let args = std::mem::take(&mut c.data_mut().args);
        let res = buy_ink(&mut c, pricing::write_price(args.len() as u32))
            .and_then(|_| write(&mut c, ptr, &args));
        c.data_mut().args = args;
        res
    });
    hook!(linker, "write_result", |mut c: C<'_>,
                                   ptr: u32,
                                   len: u32|
     -> R<()> {
        buy_ink(&mut c, ink::WRITE_RESULT)?;
        buy_ink(&mut c, pricing::read_price(len))?;
        buy_ink(&mut c, pricing::read_price(len))?;
        c.data_mut().outs = read(&mut c, ptr, len)?;
        Ok(())
    });
    hook!(linker, "exit_early", |mut c: C<'_>, status: u32| -> R<()> {
        Err(escape(&mut c, Escape::Exit(status)))
    });
    hook!(linker, "storage_load_bytes32", |mut c: C<'_>,
                                           key: u32,
                                           dest: u32|
     -> R<()> {
        buy_ink(&mut c, ink::STORAGE_LOAD)?;
        let evm_api_gas = EVM_API_INK / c.data().ink_price;
        require_gas(&mut c, gas::COLD_SLOAD + gas::CACHE_ACCESS + evm_api_gas)?;
        let key = read32(&mut c, key)?;
        let mut cost = c.data_mut().cache.read_gas();
        let value = match c.data().cache.get(&key) {
            Some(v) => v,
            None => {
                let env = c.data_mut();
                let warm = env.host().warm_slot(key);
                let value = match env.host().storage_load(key) {
                    Ok(v) => v,
                    Err(e) => return Err(host_fail(&mut c, e)),
                };
                let access = if warm {
                    gas::WARM_READ
                } else {
                    gas::COLD_SLOAD
                };
                cost = cost.saturating_add(access).saturating_add(evm_api_gas);
                c.data_mut().cache.insert_known(key, value);
                value
            }
        };
        buy_gas(&mut c, cost)?;
        write(&mut c, dest, value.as_slice())
    });
    hook!(linker, "storage_cache_bytes32", |mut c: C<'_>,
                                            key: u32,
                                            value: u32|
     -> R<()> {
        buy_ink(&mut c, ink::STORAGE_CACHE)?;
        require_gas(&mut c, gas::SSTORE_SENTRY + gas::CACHE_ACCESS)?;
        let key = read32(&mut c, key)?;
        let value = read32(&mut c, value)?;
        let cost = c.data_mut().cache.write_gas();
        c.data_mut().cache.cache(key, value);
        buy_gas(&mut c, cost)
    });
    hook!(linker, "storage_flush_cache", |mut c: C<'_>,
                                          clear: u32|
     -> R<()> {
        buy_ink(&mut c, ink::STORAGE_FLUSH)?;
        require_gas(&mut c, gas::SSTORE_SENTRY)?;
        let gas_left = gas_left(&mut c)?;
        let entries = c.data_mut().cache.flush(clear != 0);
        if entries.is_empty() {
            return Ok(());
        }
        if c.data().msg.is_static {
            return Err(fail(
                &mut c,
                FailureReason::WriteProtection("storage_flush_cache"),
            ));
        }
        // Nitro passes gas_left + 1 so that running out makes the purchase fail.
        let budget = gas_left.saturating_add(1);
        let mut left = budget;
        for (key, value) in entries {
            let env = c.data_mut();
            let host = env.host();
            let warm = host.warm_slot(key);
            let priced = host
                .storage_original(key)
                .and_then(|orig| host.storage_load(key).map(|cur| (orig, cur)));
            let (original, current) = match priced {
                Ok(v) => v,
                Err(e) => return Err(host_fail(&mut c, e)),
            };
            let (cost, refund) = pricing::sstore_gas(&original.0, &current.0, &value.0, warm);
            if cost > left {
                left = 0;
                break;
            }
            left -= cost;
            host.add_refund(refund);
            if let Err(e) = host.storage_store(key, value) {
                return Err(host_fail(&mut c, e));
            }
        }
        buy_gas(&mut c, budget - left)
    });
    hook!(linker, "transient_load_bytes32", |mut c: C<'_>,
                                             key: u32,
                                             dest: u32|
     -> R<()> {
        buy_ink(&mut c, ink::TRANSIENT_LOAD)?;
        buy_gas(&mut c, gas::TRANSIENT)?;
        let key = read32(&mut c, key)?;
        let value = match c.data_mut().host().transient_load(key) {
            Ok(v) => v,
            Err(e) => return Err(host_fail(&mut c, e)),
        };
        write(&mut c, dest, value.as_slice())
    });
    hook!(linker, "transient_store_bytes32", |mut c: C<'_>,
                                              key: u32,
                                              value: u32|
     -> R<()> {
        buy_ink(&mut c, ink::TRANSIENT_STORE)?;
        buy_gas(&mut c, gas::TRANSIENT)?;
        let key = read32(&mut c, key)?;
        let value = read32(&mut c, value)?;
        if c.data().msg.is_static {
            return Err(fail(
                &mut c,
                FailureReason::WriteProtection("transient_store_bytes32"),
            ));
        }
        if let Err(e) = c.data_mut().host().transient_store(key, value) {
            return Err(host_fail(&mut c, e));
        }
        Ok(())
    });
    hook!(linker, "call_contract", |mut c: C<'_>,
                                    to: u32,
                                    data: u32,
                                    len: u32,
                                    value: u32,
                                    gas: u64,
                                    ret: u32|
     -> R<u32> {
        call_common(
            &mut c,
            CallKind::Call,
            CallArgs {
                contract: to,
                data,
                data_len: len,
                value: Some(value),
                gas,
                ret_len: ret,
            },
        )
    });
    hook!(linker, "delegate_call_contract", |mut c: C<'_>,
                                             to: u32,
                                             data: u32,
                                             len: u32,
                                             gas: u64,
                                             ret: u32|
     -> R<u32> {
        call_common(
            &mut c,
            CallKind::DelegateCall,
            CallArgs {
                contract: to,
                data,
                data_len: len,
                value: None,
                gas,
                ret_len: ret,
            },
        )
    });
    hook!(linker, "static_call_contract", |mut c: C<'_>,
                                           to: u32,
                                           data: u32,
                                           len: u32,
                                           gas: u64,
                                           ret: u32|
     -> R<u32> {
        call_common(
            &mut c,
            CallKind::StaticCall,
            CallArgs {
                contract: to,
                data,
                data_len: len,
                value: None,
                gas,
                ret_len: ret,
            },
        )
    });
    hook!(linker, "create1", |mut c: C<'_>,
                              code: u32,
                              len: u32,
                              endowment: u32,
                              out: u32,
                              rlen: u32|
     -> R<()> {
        create_common(&mut c, code, len, endowment, None, out, rlen)
    });
    hook!(linker, "create2", |mut c: C<'_>,
                              code: u32,
                              len: u32,
                              endowment: u32,
                              salt: u32,
                              out: u32,
                              rlen: u32|
     -> R<()> {
        create_common(&mut c, code, len, endowment, Some(salt), out, rlen)
    });
    hook!(linker, "read_return_data", |mut c: C<'_>,
                                       dest: u32,
                                       offset: u32,
                                       size: u32|
     -> R<u32> {
        buy_ink(&mut c, ink::READ_RETURN_DATA)?;
        let max = (c.data().return_data.len() as u32).saturating_sub(offset);
        buy_ink(&mut c, pricing::write_price(size.min(max)))?;
        if max == 0 {
            return Ok(0);
        }
        let data = std::mem::take(&mut c.data_mut().return_data);
        let out = slice_with_runoff(&data, offset, size).to_vec();
        c.data_mut().return_data = data;
        write(&mut c, dest, &out)?;
        Ok(out.len() as u32)
    });
    hook!(linker, "return_data_size", |mut c: C<'_>| -> R<u32> {
        buy_ink(&mut c, ink::RETURN_DATA_SIZE)?;
        Ok(c.data().return_data.len() as u32)
    });
    hook!(linker, "emit_log", |mut c: C<'_>,
                               data: u32,
                               len: u32,
                               topics: u32|
     -> R<()> {
        buy_ink(&mut c, ink::EMIT_LOG)?;
        if topics > 4 || len < topics * 32 {
            return Err(fail(&mut c, FailureReason::BadLog));
        }
        buy_ink(&mut c, pricing::read_price(len))?;
        let data_len = u64::from(len - topics * 32);
        buy_gas(
            &mut c,
            (1 + u64::from(topics)) * gas::LOG_TOPIC + data_len * gas::LOG_DATA,
        )?;
        let bytes = read(&mut c, data, len)?;
        if c.data().msg.is_static {
            return Err(fail(&mut c, FailureReason::WriteProtection("emit_log")));
        }
        let split = topics as usize * 32;
        let topic_list: Vec<B256> = bytes[..split].chunks(32).map(B256::from_slice).collect();
        if let Err(e) = c.data_mut().host().emit_log(&topic_list, &bytes[split..]) {
            return Err(host_fail(&mut c, e));
        }
        Ok(())
    });
    hook!(linker, "account_balance", |mut c: C<'_>,
                                      address: u32,
                                      dest: u32|
     -> R<()> {
        buy_ink(&mut c, ink::ACCOUNT_BALANCE)?;
        require_gas(&mut c, gas::COLD_ACCOUNT)?;
        let address = read20(&mut c, address)?;
        let cost = touch_cost(&mut c, address, false);
        let balance = match c.data_mut().host().balance(address) {
            Ok(b) => b,
            Err(e) => return Err(host_fail(&mut c, e)),
        };
        buy_gas(&mut c, cost)?;
        write_u256(&mut c, dest, balance)
    });
    hook!(linker, "account_code", |mut c: C<'_>,
                                   address: u32,
                                   offset: u32,
                                   size: u32,
                                   dest: u32|
     -> R<u32> {
        buy_ink(&mut c, ink::ACCOUNT_CODE)?;
        require_gas(&mut c, gas::COLD_ACCOUNT)?;
        let code = charged_account_code(&mut c, address)?;
        buy_ink(&mut c, pricing::write_price(code.len() as u32))?;
        let out = slice_with_runoff(&code, offset, size);
        write(&mut c, dest, out)?;
        Ok(out.len() as u32)
    });
    hook!(linker, "account_code_size", |mut c: C<'_>,
                                        address: u32|
     -> R<u32> {
        buy_ink(&mut c, ink::ACCOUNT_CODE_SIZE)?;
        require_gas(&mut c, gas::COLD_ACCOUNT)?;
        let code = charged_account_code(&mut c, address)?;
        Ok(code.len() as u32)
    });
    hook!(linker, "account_codehash", |mut c: C<'_>,
                                       address: u32,
                                       dest: u32|
     -> R<()> {
        buy_ink(&mut c, ink::ACCOUNT_CODE_HASH)?;
        require_gas(&mut c, gas::COLD_ACCOUNT)?;
        let address = read20(&mut c, address)?;
        let cost = touch_cost(&mut c, address, false);
        let hash = match c.data_mut().host().code_hash(address) {
            Ok(h) => h,
            Err(e) => return Err(host_fail(&mut c, e)),
        };
        buy_gas(&mut c, cost)?;
        write(&mut c, dest, hash.as_slice())
    });
    hook!(linker, "evm_gas_left", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::EVM_GAS_LEFT)?;
        gas_left(&mut c)
    });
    hook!(linker, "evm_ink_left", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::EVM_INK_LEFT)?;
        ink_left(&mut c)
    });
    hook!(linker, "block_basefee", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::BLOCK_BASEFEE)?;
        let v = c.data().block.basefee;
        write_u256(&mut c, ptr, v)
    });
    hook!(linker, "block_coinbase", |mut c: C<'_>,
                                     ptr: u32|
     -> R<()> {
        buy_ink(&mut c, ink::BLOCK_COINBASE)?;
        let a = c.data().block.coinbase;
        write(&mut c, ptr, a.as_slice())
    });
    hook!(linker, "block_gas_limit", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::BLOCK_GAS_LIMIT)?;
        Ok(c.data().block.gas_limit)
    });
    hook!(linker, "block_number", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::BLOCK_NUMBER)?;
        Ok(c.data().block.number)
    });
    hook!(linker, "block_timestamp", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::BLOCK_TIMESTAMP)?;
        Ok(c.data().block.timestamp)
    });
    hook!(linker, "chainid", |mut c: C<'_>| -> R<u64> {
        buy_ink(&mut c, ink::CHAIN_ID)?;
        Ok(c.data().block.chain_id)
    });
    hook!(linker, "contract_address", |mut c: C<'_>,
                                       ptr: u32|
     -> R<()> {
        buy_ink(&mut c, ink::ADDRESS)?;
        let a = c.data().msg.address;
        write(&mut c, ptr, a.as_slice())
    });
    hook!(linker, "msg_sender", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::MSG_SENDER)?;
        let a = c.data().msg.sender;
        write(&mut c, ptr, a.as_slice())
    });
    hook!(linker, "msg_value", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::MSG_VALUE)?;
        let v = c.data().msg.value;
        write_u256(&mut c, ptr, v)
    });
    hook!(linker, "msg_reentrant", |mut c: C<'_>| -> R<u32> {
        buy_ink(&mut c, ink::MSG_REENTRANT)?;
        Ok(u32::from(c.data().msg.reentrant))
    });
    hook!(linker, "tx_gas_price", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::TX_GAS_PRICE)?;
        let v = c.data().block.gas_price;
        write_u256(&mut c, ptr, v)
    });
    hook!(linker, "tx_ink_price", |mut c: C<'_>| -> R<u32> {
        buy_ink(&mut c, ink::TX_INK_PRICE)?;
        Ok(c.data().ink_price as u32)
    });
    hook!(linker, "tx_origin", |mut c: C<'_>, ptr: u32| -> R<()> {
        buy_ink(&mut c, ink::TX_ORIGIN)?;
        let a = c.data().block.origin;
        write(&mut c, ptr, a.as_slice())
    });
    hook!(linker, "math_div", |mut c: C<'_>,
                               a: u32,
                               b: u32|
     -> R<()> {
        buy_ink(&mut c, ink::MATH_DIV)?;
        let (x, y) = (u256_at(&mut c, a)?, u256_at(&mut c, b)?);
        write_u256(&mut c, a, x.checked_div(y).unwrap_or_default())
    });
    hook!(linker, "math_mod", |mut c: C<'_>,
                               a: u32,
                               b: u32|
     -> R<()> {
        buy_ink(&mut c, ink::MATH_MOD)?;
        let (x, y) = (u256_at(&mut c, a)?, u256_at(&mut c, b)?);
        write_u256(&mut c, a, x.checked_rem(y).unwrap_or_default())
    });
    hook!(linker, "math_pow", |mut c: C<'_>,
                               a: u32,
                               b: u32|
     -> R<()> {
        buy_ink(&mut c, ink::MATH_POW)?;
        let x = u256_at(&mut c, a)?;
        let e = read32(&mut c, b)?;
        buy_ink(&mut c, pricing::pow_price(&e.0))?;
        write_u256(&mut c, a, x.wrapping_pow(U256::from_be_bytes(e.0)))
    });
    hook!(linker, "math_add_mod", |mut c: C<'_>,
                                   a: u32,
                                   b: u32,
                                   m: u32|
     -> R<()> {
        buy_ink(&mut c, ink::MATH_ADD_MOD)?;
        let (x, y, z) = (
            u256_at(&mut c, a)?,
            u256_at(&mut c, b)?,
            u256_at(&mut c, m)?,
        );
        write_u256(&mut c, a, x.add_mod(y, z))
    });
    hook!(linker, "math_mul_mod", |mut c: C<'_>,
                                   a: u32,
                                   b: u32,
                                   m: u32|
     -> R<()> {
        buy_ink(&mut c, ink::MATH_MUL_MOD)?;
        let (x, y, z) = (
            u256_at(&mut c, a)?,
            u256_at(&mut c, b)?,
            u256_at(&mut c, m)?,
        );
        write_u256(&mut c, a, x.mul_mod(y, z))
    });
    hook!(linker, "pay_for_memory_grow", |mut c: C<'_>,
                                          pages: u32|
     -> R<()> {
        let pages = pages as u16; // Nitro reads a u16
        if pages == 0 {
            return buy_ink(&mut c, ink::PAY_FOR_MEMORY_GROW);
        }
        let model = c.data().model;
        let host = c.data_mut().host();
        let (open, ever) = host.stylus_pages();
        let new_open = open.saturating_add(pages);
        host.set_stylus_pages(new_open, ever.max(new_open));
        buy_gas(&mut c, model.gas_cost(pages, open, ever))
    });
    hook!(linker, "native_keccak256", |mut c: C<'_>,
                                       ptr: u32,
                                       len: u32,
                                       out: u32|
     -> R<()> {
        buy_ink(&mut c, pricing::keccak_price(len))?;
        let data = read(&mut c, ptr, len)?;
        write(&mut c, out, keccak256(data).as_slice())
    });
    Ok(())
}
