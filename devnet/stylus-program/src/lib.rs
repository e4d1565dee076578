//! The Stylus program format, as Nitro sees it at deploy and activation time.
//!
//! - [`validate`] checks a WASM module against the activation rules of
//!   STYLUS-SPEC §4 (enabled features, `vm_hooks` imports and their exact types,
//!   entrypoint and memory exports, structural limits, no floating point) and
//!   returns a report or a typed error saying what is wrong.
//! - [`process`] turns a compiler's WASM into deployable Stylus code the way
//!   `cargo stylus` does (§5): text round trip (which also rewrites the
//!   reference-types encoding of `call_indirect` that rustc 1.95 emits), custom
//!   sections stripped, brotli quality 11 / window 22, `EF F0 00 00` prefix.
//! - [`decode`] goes back from deployed code (or raw WASM) to WASM.
//! - [`init_code`] wraps deployed code in the 43-byte EVM prelude a CREATE needs.
//! - [`snip_panics`] replaces Rust's panic/formatting machinery with traps
//!   (stable Rust's stand-in for `panic_immediate_abort`), before `wasm-opt`.

mod code;
mod hooks;
mod snip;
mod validate;

pub use code::{
    compress, decode, init_code, process, process_unlimited, Processed, DEPLOYED_CODE_LIMIT,
    PREFIX, WASM_SIZE_LIMIT,
};
pub use hooks::{hook_signature, HookSignature, ValType, VM_HOOKS};
pub use snip::{is_panic_machinery, snip_panics};
pub use validate::{validate, validate_structure, ValidationReport};

/// Everything that can be wrong with a Stylus program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProgramError {
    /// The bytes are not a well-formed WASM module under Stylus's feature set.
    #[error("invalid WASM: {0}")]
    Malformed(String),
    /// The module imports something other than a known `vm_hooks` function.
    #[error("import {module}.{name} is not a Stylus host function (only vm_hooks.* with the exact Nitro types are allowed)")]
    UnknownImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// A `vm_hooks` import has the wrong function type.
    #[error("import vm_hooks.{name} has type {found}, Nitro expects {expected}")]
    ImportType {
        /// Hook name.
        name: String,
        /// Type found in the module.
        found: String,
        /// Type Nitro links.
        expected: String,
    },
    /// A required export is missing or has the wrong shape.
    #[error("export check failed: {0}")]
    Export(String),
    /// The module uses a floating-point type or instruction (activation rejects them).
    #[error("floating point is not allowed in Stylus programs: {0}")]
    Float(String),
    /// A structural limit of activation is exceeded.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// The WASM or the deployed code is larger than Nitro accepts.
    #[error("{what} is {size} bytes, over the {limit}-byte Stylus limit")]
    TooLarge {
        /// Which size: "decompressed WASM" or "deployed code".
        what: &'static str,
        /// Measured size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Deployed code with the Stylus prefix whose payload does not decompress.
    #[error("deployed code has the Stylus prefix but {0}")]
    BadCode(String),
}

/// Helpers shared by this crate's unit tests.
#[cfg(test)]
pub(crate) mod test_util {
    use wasmparser::{Parser, Payload};

    /// Rewrites the first `call_indirect` of the module's last function with the
    /// overlong (reference-types) table index `80 00` that rustc 1.95 emits,
    /// fixing up the body and section sizes (single-byte LEBs in test modules).
    pub fn overlong_call_indirect(wasm: &[u8]) -> Vec<u8> {
        let mut section_size_at = 0;
        let mut body = 0..0;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.unwrap() {
                Payload::CodeSectionStart { range, .. } => section_size_at = range.start - 1,
                Payload::CodeSectionEntry(b) => body = b.range(),
                _ => {}
            }
        }
        let at = body.start
            + wasm[body.clone()]
                .windows(3)
                .position(|w| w == [0x11, 0x00, 0x00])
                .unwrap();
        let mut out = wasm.to_vec();
        out.splice(at + 2..at + 3, [0x80, 0x00]);
        out[body.start - 1] += 1;
        out[section_size_at] += 1;
        out
    }
}
