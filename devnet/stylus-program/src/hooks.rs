//! The `vm_hooks` host functions Nitro links into every Stylus program, with
//! their exact WASM types (STYLUS-SPEC §1). Pointers, `usize` and lengths are
//! `i32`; `u64` values are `i64`; `bool`, `u8` and `u16` travel as `i32`.

/// A WASM value type as it appears in a hook signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

/// A hook's parameter and result types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSignature {
    /// Parameter types, in order.
    pub params: &'static [ValType],
    /// Result types (zero or one).
    pub results: &'static [ValType],
}

use ValType::{I32, I64};

const fn sig(params: &'static [ValType], results: &'static [ValType]) -> HookSignature {
    HookSignature { params, results }
}

/// All 42 `vm_hooks` functions of Nitro (`native_keccak256` included), with their types.
pub const VM_HOOKS: &[(&str, HookSignature)] = &[
    ("read_args", sig(&[I32], &[])),
    ("write_result", sig(&[I32, I32], &[])),
    ("exit_early", sig(&[I32], &[])),
    ("storage_load_bytes32", sig(&[I32, I32], &[])),
    ("storage_cache_bytes32", sig(&[I32, I32], &[])),
    ("storage_flush_cache", sig(&[I32], &[])),
    ("transient_load_bytes32", sig(&[I32, I32], &[])),
    ("transient_store_bytes32", sig(&[I32, I32], &[])),
    (
        "call_contract",
        sig(&[I32, I32, I32, I32, I64, I32], &[I32]),
    ),
    (
        "delegate_call_contract",
        sig(&[I32, I32, I32, I64, I32], &[I32]),
    ),
    (
        "static_call_contract",
        sig(&[I32, I32, I32, I64, I32], &[I32]),
    ),
    ("create1", sig(&[I32, I32, I32, I32, I32], &[])),
    ("create2", sig(&[I32, I32, I32, I32, I32, I32], &[])),
    ("read_return_data", sig(&[I32, I32, I32], &[I32])),
    ("return_data_size", sig(&[], &[I32])),
    ("emit_log", sig(&[I32, I32, I32], &[])),
    ("account_balance", sig(&[I32, I32], &[])),
    ("account_code", sig(&[I32, I32, I32, I32], &[I32])),
    ("account_code_size", sig(&[I32], &[I32])),
    ("account_codehash", sig(&[I32, I32], &[])),
    ("evm_gas_left", sig(&[], &[I64])),
    ("evm_ink_left", sig(&[], &[I64])),
    ("block_basefee", sig(&[I32], &[])),
    ("chainid", sig(&[], &[I64])),
    ("block_coinbase", sig(&[I32], &[])),
    ("block_gas_limit", sig(&[], &[I64])),
    ("block_number", sig(&[], &[I64])),
    ("block_timestamp", sig(&[], &[I64])),
    ("contract_address", sig(&[I32], &[])),
    ("math_div", sig(&[I32, I32], &[])),
    ("math_mod", sig(&[I32, I32], &[])),
    ("math_pow", sig(&[I32, I32], &[])),
    ("math_add_mod", sig(&[I32, I32, I32], &[])),
    ("math_mul_mod", sig(&[I32, I32, I32], &[])),
    ("msg_reentrant", sig(&[], &[I32])),
    ("msg_sender", sig(&[I32], &[])),
    ("msg_value", sig(&[I32], &[])),
    ("tx_gas_price", sig(&[I32], &[])),
    ("tx_ink_price", sig(&[], &[I32])),
    ("tx_origin", sig(&[I32], &[])),
    ("pay_for_memory_grow", sig(&[I32], &[])),
    ("native_keccak256", sig(&[I32, I32, I32], &[])),
];

/// The signature Nitro expects for hook `name`, or `None` when it is not a hook.
pub fn hook_signature(name: &str) -> Option<HookSignature> {
    VM_HOOKS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hooks_has_42_unique_names() {
        let mut names: Vec<_> = VM_HOOKS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 42);
    }

    #[test]
    fn hook_signature_errors_on_unknown_name() {
        assert_eq!(hook_signature("log_txt"), None);
        assert_eq!(
            hook_signature("call_contract"),
            Some(sig(&[I32, I32, I32, I32, I64, I32], &[I32]))
        );
    }
}
