//! The Stylus program itself (wasm32 with the `entrypoint` feature only):
//! `user_entrypoint`, the host imports it needs, the panic handler and the
//! global allocator.
//!
//! Why not stylus-sdk: the SDK's `#[entrypoint]` pulls in its host wrapper,
//! storage cache flush and the imports behind them, which took the deployed
//! program to 24,518 B, 58 B under Stylus' 24,576 B limit, with no room for
//! more entry points. The calculator needs none of that (no storage, no
//! calls), so this module does the SDK 0.10 entrypoint's work by hand in a
//! few dozen bytes of WASM.

use alloc::vec::Vec;

/// Raw Stylus host functions (WASM imports from module `vm_hooks`), only the
/// ones the entrypoint uses. Types are the WASM-level ones Nitro checks at
/// activation (pointers and lengths `i32`, see STYLUS-SPEC.md §1); the
/// declarations match stylus-sdk 0.10.10's `hostio.rs`.
mod hostio {
    #[link(wasm_import_module = "vm_hooks")]
    extern "C" {
        /// Copies the whole calldata (length = `user_entrypoint`'s argument) to `dest`.
        pub fn read_args(dest: *mut u8);
        /// Sets the return (or revert) data to `len` bytes at `data`; the last call
        /// wins and the program does not exit.
        pub fn write_result(data: *const u8, len: usize);
        /// Writes the call's value in wei (32 bytes, big-endian) to `value`.
        pub fn msg_value(value: *mut u8);
        /// Charges for `pages` (low 16 bits) new memory pages; Nitro inserts calls
        /// to it when memory grows, and activation fails unless it is imported.
        pub fn pay_for_memory_grow(pages: i32);
    }
}

/// The program's entry point, called by Stylus with the calldata length;
/// returns 0 (success) or 1 (revert), the data being the last `write_result`.
///
/// Mirrors the SDK 0.10 `#[entrypoint]` (STYLUS-SPEC.md §2) with two steps
/// left out because they cannot matter here: the reentrancy guard (the SDK's
/// default reverts when `msg_reentrant()`; this program never calls out, so
/// no frame of it can be below another and the guard could never fire) and
/// `storage_flush_cache` (no storage). What it does: `pay_for_memory_grow(0)`
/// (Nitro needs the import); non-payable, as the SDK router makes every method
/// without `#[payable]`: a call with value reverts with empty data (value sent
/// here would be stuck); `read_args`, [`crate::dispatch`], `write_result`,
/// return 0 or 1.
#[no_mangle]
pub extern "C" fn user_entrypoint(len: usize) -> usize {
    // SAFETY: every pointer passed to the host points into a live buffer of
    // the size the hook writes or reads (32 bytes for the value, `len` bytes of
    // reserved capacity for the calldata, the result vector's own bytes).
    unsafe {
        hostio::pay_for_memory_grow(0);
        let mut value = [0u8; 32];
        hostio::msg_value(value.as_mut_ptr());
        let (data, status) = if value != [0; 32] {
            (Vec::new(), 1)
        } else {
            let mut input = Vec::<u8>::with_capacity(len);
            hostio::read_args(input.as_mut_ptr());
            input.set_len(len);
            match crate::dispatch(&input) {
                Ok(out) => (out, 0),
                Err(e) => (e.revert_data(), 1),
            }
        };
        hostio::write_result(data.as_ptr(), data.len());
        status
    }
}

/// A panic traps (`unreachable`): the call reverts with empty data. keel-risk
/// and the codec return errors instead of panicking, so this is a last resort.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The SDK's bump allocator (never frees; a call's memory lives for the call).
#[global_allocator]
static ALLOC: mini_alloc::MiniAlloc = mini_alloc::MiniAlloc::INIT;
