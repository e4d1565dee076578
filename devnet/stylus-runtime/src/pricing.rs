//! Ink and gas prices: Nitro's `pricing_v1` opcode table, the hostio base
//! costs of `arbutil::pricing`, the memory model and the EVM gas rules the
//! hostios charge (EIP-2929 access costs, EIP-2200/3529 SSTORE, calls, logs).
//!
//! Units: *ink* is Stylus's compute unit; *gas* is EVM gas. One gas buys
//! `ink_price` ink (10,000 by default). All functions saturate rather than
//! overflow, as Nitro's do.

use wasmparser::Operator;

/// Default ink price: ink per gas (Nitro's `InitialInkPrice`).
pub const DEFAULT_INK_PRICE: u32 = 10_000;

/// Base ink of every hostio that may return something.
pub const HOSTIO_INK: u64 = 8_400;
/// Extra ink per pointer argument.
pub const PTR_INK: u64 = 13_440 - HOSTIO_INK;
/// Extra ink for hostios that go through the EVM API.
pub const EVM_API_INK: u64 = 59_673;
/// Extra ink for a 256-bit div or mod.
pub const DIV_INK: u64 = 20_000;
/// Extra ink for a 256-bit mulmod.
pub const MUL_MOD_INK: u64 = 24_100;
/// Extra ink for a 256-bit addmod.
pub const ADD_MOD_INK: u64 = 21_000;

/// Base ink of each hostio (Nitro `arbutil::pricing::hostio`).
#[allow(missing_docs)] // names mirror Nitro's constants one to one
pub mod hostio {
    use super::{ADD_MOD_INK, DIV_INK, EVM_API_INK, HOSTIO_INK, MUL_MOD_INK, PTR_INK};
    pub const READ_ARGS: u64 = HOSTIO_INK;
    pub const WRITE_RESULT: u64 = HOSTIO_INK;
    pub const STORAGE_LOAD: u64 = HOSTIO_INK + 2 * PTR_INK;
    pub const STORAGE_CACHE: u64 = HOSTIO_INK + 2 * PTR_INK;
    pub const STORAGE_FLUSH: u64 = HOSTIO_INK + EVM_API_INK;
    pub const TRANSIENT_LOAD: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const TRANSIENT_STORE: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const CALL_CONTRACT: u64 = HOSTIO_INK + 3 * PTR_INK + EVM_API_INK;
    pub const CREATE1: u64 = HOSTIO_INK + 3 * PTR_INK + EVM_API_INK;
    pub const CREATE2: u64 = HOSTIO_INK + 4 * PTR_INK + EVM_API_INK;
    pub const READ_RETURN_DATA: u64 = HOSTIO_INK + EVM_API_INK;
    pub const RETURN_DATA_SIZE: u64 = HOSTIO_INK;
    pub const EMIT_LOG: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_BALANCE: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const ACCOUNT_CODE: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_CODE_SIZE: u64 = HOSTIO_INK + EVM_API_INK;
    pub const ACCOUNT_CODE_HASH: u64 = HOSTIO_INK + 2 * PTR_INK + EVM_API_INK;
    pub const BLOCK_BASEFEE: u64 = HOSTIO_INK + PTR_INK;
    pub const BLOCK_COINBASE: u64 = HOSTIO_INK + PTR_INK;
    pub const BLOCK_GAS_LIMIT: u64 = HOSTIO_INK;
    pub const BLOCK_NUMBER: u64 = HOSTIO_INK;
    pub const BLOCK_TIMESTAMP: u64 = HOSTIO_INK;
    pub const CHAIN_ID: u64 = HOSTIO_INK;
    pub const ADDRESS: u64 = HOSTIO_INK + PTR_INK;
    pub const EVM_GAS_LEFT: u64 = HOSTIO_INK;
    pub const EVM_INK_LEFT: u64 = HOSTIO_INK;
    pub const MATH_DIV: u64 = HOSTIO_INK + 3 * PTR_INK + DIV_INK;
    pub const MATH_MOD: u64 = HOSTIO_INK + 3 * PTR_INK + DIV_INK;
    pub const MATH_POW: u64 = HOSTIO_INK + 3 * PTR_INK;
    pub const MATH_ADD_MOD: u64 = HOSTIO_INK + 4 * PTR_INK + ADD_MOD_INK;
    pub const MATH_MUL_MOD: u64 = HOSTIO_INK + 4 * PTR_INK + MUL_MOD_INK;
    pub const MSG_REENTRANT: u64 = HOSTIO_INK;
    pub const MSG_SENDER: u64 = HOSTIO_INK + PTR_INK;
    pub const MSG_VALUE: u64 = HOSTIO_INK + PTR_INK;
    pub const TX_GAS_PRICE: u64 = HOSTIO_INK + PTR_INK;
    pub const TX_INK_PRICE: u64 = HOSTIO_INK;
    pub const TX_ORIGIN: u64 = HOSTIO_INK + PTR_INK;
    pub const PAY_FOR_MEMORY_GROW: u64 = HOSTIO_INK;
}

/// Ink to copy `bytes` from the host into guest memory: 5,040 + 30 per byte past 32.
pub fn write_price(bytes: u32) -> u64 {
    5_040u64.saturating_add(30u64.saturating_mul(u64::from(bytes.saturating_sub(32))))
}

/// Ink to copy `bytes` from guest memory into the host: 16,381 + 55 per byte past 32.
pub fn read_price(bytes: u32) -> u64 {
    16_381u64.saturating_add(55u64.saturating_mul(u64::from(bytes.saturating_sub(32))))
}

/// Ink of `native_keccak256` over `bytes`: 121,800 + 21,000 per 32-byte word past two.
pub fn keccak_price(bytes: u32) -> u64 {
    let words = u64::from(bytes).div_ceil(32).saturating_sub(2);
    121_800u64.saturating_add(21_000u64.saturating_mul(words))
}

/// Variable ink of `math_pow`: 3,000 + 17,500 per significant exponent byte (plus one).
pub fn pow_price(exponent: &[u8; 32]) -> u64 {
    let zeros = exponent.iter().take_while(|b| **b == 0).count() as u64;
    3_000 + (33 - zeros) * 17_500
}

/// Ink charged per basic block for checking the meter (Nitro `ink_header_cost`).
pub const INK_HEADER: u64 = 2_450;
/// Ink per byte of `memory.fill` (Nitro `memory_fill_ink` = 800 / 8).
pub const MEMORY_FILL_INK: u64 = 100;
/// Ink per byte of `memory.copy` (Nitro `memory_copy_ink` = 800 / 8).
pub const MEMORY_COPY_INK: u64 = 100;

/// Nitro's `pricing_v1`: ink of one WASM operator. `param_counts[t]` is the
/// number of parameters of type `t` (for `call_indirect`). Operators Stylus
/// does not support (floats, SIMD, atomics, reference types, table and
/// segment ops) cost `u64::MAX`, which makes any block containing them trap.
pub fn op_ink(op: &Operator<'_>, param_counts: &[u32]) -> u64 {
    use Operator::*;
    match op {
        Unreachable | Return | Nop | I32Const { .. } | I64Const { .. } => 1,
        Drop => 9,
        Block { .. } | Loop { .. } | Else | End => 1,
        Br { .. } | BrIf { .. } | If { .. } => 765,
        Select => 1_250,
        Call { .. } => 3_800,
        LocalGet { .. } | LocalTee { .. } => 75,
        LocalSet { .. } => 210,
        GlobalGet { .. } => 225,
        GlobalSet { .. } => 575,
        I32Load { .. }
        | I32Load8S { .. }
        | I32Load8U { .. }
        | I32Load16S { .. }
        | I32Load16U { .. } => 670,
        I64Load { .. }
        | I64Load8S { .. }
        | I64Load8U { .. }
        | I64Load16S { .. }
        | I64Load16U { .. }
        | I64Load32S { .. }
        | I64Load32U { .. } => 680,
        I32Store { .. } | I32Store8 { .. } | I32Store16 { .. } => 825,
        I64Store { .. } | I64Store8 { .. } | I64Store16 { .. } | I64Store32 { .. } => 950,
        MemorySize { .. } => 3_000,
        MemoryGrow { .. } => 8_050,
        I32Eqz | I32Eq | I32Ne | I32LtS | I32LtU | I32GtS | I32GtU | I32LeS | I32LeU | I32GeS
        | I32GeU => 170,
        I64Eqz | I64Eq | I64Ne | I64LtS | I64LtU | I64GtS | I64GtU | I64LeS | I64LeU | I64GeS
        | I64GeU => 225,
        I32Clz | I32Ctz => 210,
        I32Add | I32Sub => 70,
        I32Mul => 160,
        I32DivS | I32DivU | I32RemS | I32RemU => 1_120,
        I32And | I32Or | I32Xor | I32Shl | I32ShrS | I32ShrU | I32Rotl | I32Rotr => 70,
        I64Clz | I64Ctz => 210,
        I64Add | I64Sub => 100,
        I64Mul => 160,
        I64DivS | I64DivU | I64RemS | I64RemU => 1_270,
        I64And | I64Or | I64Xor | I64Shl | I64ShrS | I64ShrU | I64Rotl | I64Rotr => 100,
        I32Popcnt => 2_650,
        I64Popcnt => 6_000,
        I32WrapI64 | I64ExtendI32S | I64ExtendI32U => 100,
        I32Extend8S | I32Extend16S | I64Extend8S | I64Extend16S | I64Extend32S => 100,
        MemoryCopy { .. } | MemoryFill { .. } => 950,
        BrTable { targets } => 2_400 + 325 * u64::from(targets.len()),
        CallIndirect { type_index, .. } => {
            let params = param_counts.get(*type_index as usize).copied().unwrap_or(0);
            13_610 + 650 * u64::from(params)
        }
        _ => u64::MAX,
    }
}

/// Nitro's memory model: pages are free while the transaction-wide
/// high-water mark stays within `free_pages`; past that each newly opened
/// page costs `page_gas` plus the growth of an exponential table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryModel {
    /// Pages a transaction gets for free (2 on Arbitrum).
    pub free_pages: u16,
    /// Gas per page opened beyond the free ones (1,000 on Arbitrum).
    pub page_gas: u16,
}

impl Default for MemoryModel {
    fn default() -> Self {
        Self {
            free_pages: 2,
            page_gas: 1_000,
        }
    }
}

impl MemoryModel {
    /// Gas to open `new` pages when `open` are open and `ever` were ever open
    /// in this transaction. Exact port of Nitro's `MemoryModel::gas_cost`;
    /// more than 128 pages in total costs `u64::MAX` (an out-of-ink).
    pub fn gas_cost(&self, new: u16, open: u16, ever: u16) -> u64 {
        let new_open = open.saturating_add(new);
        let new_ever = ever.max(new_open);
        if new_ever <= self.free_pages {
            return 0;
        }
        let credit = |pages: u16| pages.saturating_sub(self.free_pages);
        let adding = u64::from(credit(new_open).saturating_sub(credit(open)));
        let linear = adding.saturating_mul(u64::from(self.page_gas));
        let expand = exp(new_ever).saturating_sub(exp(ever));
        linear.saturating_add(expand)
    }
}

fn exp(pages: u16) -> u64 {
    MEMORY_EXPONENTS
        .get(usize::from(pages))
        .map_or(u64::MAX, |&x| u64::from(x))
}

/// Nitro's exponential page table: `exp(pages) = floor(31,874,000^(pages/128))`.
const MEMORY_EXPONENTS: [u32; 129] = [
    1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 11, 12, 14, 17, 19, 22, 25, 29, 33, 38,
    43, 50, 57, 65, 75, 85, 98, 112, 128, 147, 168, 193, 221, 253, 289, 331, 379, 434, 497, 569,
    651, 745, 853, 976, 1117, 1279, 1463, 1675, 1917, 2194, 2511, 2874, 3290, 3765, 4309, 4932,
    5645, 6461, 7395, 8464, 9687, 11087, 12689, 14523, 16621, 19024, 21773, 24919, 28521, 32642,
    37359, 42758, 48938, 56010, 64104, 73368, 83971, 96106, 109994, 125890, 144082, 164904, 188735,
    216010, 247226, 282953, 323844, 370643, 424206, 485509, 555672, 635973, 727880, 833067, 953456,
    1091243, 1248941, 1429429, 1636000, 1872423, 2143012, 2452704, 2807151, 3212820, 3677113,
    4208502, 4816684, 5512756, 6309419, 7221210, 8264766, 9459129, 10826093, 12390601, 14181199,
    16230562, 18576084, 21260563, 24332984, 27849408, 31873999,
];

/// EVM gas constants the hostios charge.
pub mod gas {
    /// EIP-2929 cold SLOAD.
    pub const COLD_SLOAD: u64 = 2_100;
    /// EIP-2929 warm storage read (also the warm account access cost).
    pub const WARM_READ: u64 = 100;
    /// EIP-2929 cold account access.
    pub const COLD_ACCOUNT: u64 = 2_600;
    /// EIP-2200 SSTORE sentry: a write needs more than this much gas left.
    pub const SSTORE_SENTRY: u64 = 2_300;
    /// SSTORE of a zero slot to non-zero.
    pub const SSTORE_SET: u64 = 20_000;
    /// SSTORE of a non-zero slot (before the cold surcharge is split off).
    pub const SSTORE_RESET: u64 = 5_000;
    /// EIP-3529 refund for clearing a slot.
    pub const SSTORE_CLEARS_REFUND: i64 = 4_800;
    /// TLOAD / TSTORE.
    pub const TRANSIENT: u64 = 100;
    /// Gas per log topic (and the LOG base).
    pub const LOG_TOPIC: u64 = 375;
    /// Gas per log data byte.
    pub const LOG_DATA: u64 = 8;
    /// Value-transfer surcharge of a call.
    pub const CALL_VALUE: u64 = 9_000;
    /// Surcharge for sending value to an empty account.
    pub const CALL_NEW_ACCOUNT: u64 = 25_000;
    /// Stipend added to a value call.
    pub const CALL_STIPEND: u64 = 2_300;
    /// CREATE / CREATE2 base.
    pub const CREATE: u64 = 32_000;
    /// CREATE2 hashing per word of init code.
    pub const KECCAK_WORD: u64 = 6;
    /// EXTCODECOPY base charged by `account_code` and `account_code_size`.
    pub const EXTCODE_BASE: u64 = 700;
    /// Gas the storage cache requires to be left for each access.
    pub const CACHE_ACCESS: u64 = 10;
}

/// Gas and refund of an SSTORE of `new` to a slot whose value was `original`
/// at the start of the transaction and is `current` now (EIP-2200 with the
/// EIP-2929 cold surcharge and EIP-3529 refunds, as geth's
/// `gasSStoreEIP2929`). `warm` says whether the slot was already accessed.
/// Returns (gas, refund delta).
pub fn sstore_gas(
    original: &[u8; 32],
    current: &[u8; 32],
    new: &[u8; 32],
    warm: bool,
) -> (u64, i64) {
    let zero = [0u8; 32];
    let mut cost = if warm { 0 } else { gas::COLD_SLOAD };
    let mut refund = 0i64;
    if current == new {
        return (cost + gas::WARM_READ, refund);
    }
    if original == current {
        if *original == zero {
            return (cost + gas::SSTORE_SET, refund);
        }
        if *new == zero {
            refund += gas::SSTORE_CLEARS_REFUND;
        }
        return (cost + gas::SSTORE_RESET - gas::COLD_SLOAD, refund);
    }
    if *original != zero {
        if *current == zero {
            refund -= gas::SSTORE_CLEARS_REFUND;
        } else if *new == zero {
            refund += gas::SSTORE_CLEARS_REFUND;
        }
    }
    if original == new {
        if *original == zero {
            refund += (gas::SSTORE_SET - gas::WARM_READ) as i64;
        } else {
            refund += (gas::SSTORE_RESET - gas::COLD_SLOAD - gas::WARM_READ) as i64;
        }
    }
    cost += gas::WARM_READ;
    (cost, refund)
}

/// EVM memory expansion cost of `len` bytes from empty: 3 per word + words²/512.
pub fn evm_memory_gas(len: usize) -> u64 {
    let words = (len as u64).div_ceil(32);
    words
        .saturating_mul(3)
        .saturating_add(words.saturating_mul(words) / 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostio_prices_match_spec_table() {
        assert_eq!(hostio::STORAGE_LOAD, 18_480);
        assert_eq!(hostio::STORAGE_FLUSH, 68_073);
        assert_eq!(hostio::TRANSIENT_LOAD, 78_153);
        assert_eq!(hostio::CALL_CONTRACT, 83_193);
        assert_eq!(hostio::CREATE2, 88_233);
        assert_eq!(hostio::ADDRESS, 13_440);
        assert_eq!(hostio::MATH_DIV, 43_520);
        assert_eq!(hostio::MATH_MUL_MOD, 52_660);
    }

    #[test]
    fn io_prices_charge_past_32_bytes() {
        assert_eq!(write_price(0), 5_040);
        assert_eq!(write_price(33), 5_070);
        assert_eq!(read_price(32), 16_381);
        assert_eq!(read_price(64), 16_381 + 55 * 32);
        assert_eq!(keccak_price(64), 121_800);
        assert_eq!(keccak_price(65), 142_800);
    }

    #[test]
    fn memory_model_matches_nitro_totals() {
        // Nitro's test_model: growing to 128 pages in any step size costs 31,999,998.
        let model = MemoryModel::default();
        for jump in 1..=128u16 {
            let (mut total, mut pages) = (0u64, 0u16);
            while pages < 128 {
                let jump = jump.min(128 - pages);
                total += model.gas_cost(jump, pages, pages);
                pages += jump;
            }
            assert_eq!(total, 31_999_998);
        }
        assert_eq!(model.gas_cost(129, 0, 0), u64::MAX);
        assert_eq!(model.gas_cost(2, 0, 0), 0);
    }

    #[test]
    fn sstore_gas_follows_eip2200_2929_3529() {
        let z = [0u8; 32];
        let mut one = [0u8; 32];
        one[31] = 1;
        let mut two = [0u8; 32];
        two[31] = 2;
        assert_eq!(sstore_gas(&z, &z, &one, false), (22_100, 0));
        assert_eq!(sstore_gas(&z, &z, &one, true), (20_000, 0));
        assert_eq!(sstore_gas(&one, &one, &two, true), (2_900, 0));
        assert_eq!(sstore_gas(&one, &one, &z, true), (2_900, 4_800));
        assert_eq!(sstore_gas(&one, &one, &one, false), (2_200, 0));
        // dirty slot restored to its original zero: refund 19,900
        assert_eq!(sstore_gas(&z, &one, &z, true), (100, 19_900));
    }

    #[test]
    fn op_ink_prices_unsupported_ops_at_max() {
        assert_eq!(op_ink(&Operator::I32Add, &[]), 70);
        assert_eq!(op_ink(&Operator::F32Add, &[]), u64::MAX);
        assert_eq!(
            op_ink(
                &Operator::CallIndirect {
                    type_index: 0,
                    table_index: 0
                },
                &[3]
            ),
            13_610 + 3 * 650
        );
    }
}
