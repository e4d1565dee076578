//! Panic snipping: replaces the bodies of Rust's panic and formatting
//! machinery with `unreachable`, the WASM equivalent of nightly's
//! `panic_immediate_abort`.
//!
//! Why: a Stylus program built with stable Rust links `std` (stylus-sdk pulls
//! it in), and `std`'s panic handler formats the panic message even with
//! `panic = "abort"`. That formatting code (`core::fmt`, `Debug`/`Display`
//! impls, unicode tables) was 25-30 KB of the engine programs' WASM, about a
//! fifth of what the 24,576-byte deployed-code limit holds, and none of it can
//! ever be observed: on Stylus a panic is a trap (revert with empty data), and
//! the message goes nowhere. After snipping, a dead-code pass (`wasm-opt`)
//! removes everything only the snipped bodies reached.
//!
//! Semantics: a snipped function traps where it would have run. Every
//! function matched by [`is_panic_machinery`] runs only on the way to a panic
//! (a program that formats strings on a success path must not be snipped;
//! the engine and its SDK do not: no `format!`, and the SDK's `console!` is
//! compiled out without its `debug` feature). The function table, indices and
//! types are unchanged, so the module stays valid and equivalent on every
//! path that does not panic; on a panicking path it traps a few instructions
//! earlier than it would have, with the same outcome.
//!
//! Needs the `name` section (build with `strip = false` or `"debuginfo"`);
//! without names nothing is snipped and the count says so.
use crate::code::leb128;
use crate::ProgramError;
use wasmparser::{BinaryReader, CodeSectionReader, KnownCustom, Name, Parser, Payload};

/// A function body that does nothing but trap: no locals, `unreachable`, `end`.
const TRAP_BODY: [u8; 3] = [0x00, 0x00, 0x0b];

/// Whether the (demangled, hash-free) function name belongs to Rust's panic
/// or formatting machinery.
pub fn is_panic_machinery(name: &str) -> bool {
    const PREFIXES: [&str; 13] = [
        "core::fmt::",
        "core::panicking::",
        "std::panicking::",
        "std::panic::",
        "core::unicode::",
        "core::str::slice_error_fail",
        "core::result::unwrap_failed",
        "core::option::unwrap_failed",
        "core::option::expect_failed",
        "core::slice::index::slice_",
        "alloc::raw_vec::capacity_overflow",
        "alloc::raw_vec::handle_error",
        "alloc::alloc::handle_alloc_error",
    ];
    const EXACT: [&str; 3] = ["rust_begin_unwind", "__rust_start_panic", "rust_panic"];
    const TRAITS: [&str; 6] = [
        " as core::fmt::Debug>::",
        " as core::fmt::Display>::",
        " as core::fmt::Write>::",
        " as core::fmt::LowerHex>::",
        " as core::fmt::UpperHex>::",
        " as core::panic::PanicPayload>::",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || EXACT.contains(&name)
        || TRAITS.iter().any(|t| name.contains(t))
}

/// Replaces the body of every function whose name [`is_panic_machinery`] with
/// `unreachable`. Returns the new module and the number of bodies replaced.
///
/// # Errors
/// [`ProgramError::Malformed`] when the input is not a well-formed module.
pub fn snip_panics(wasm: &[u8]) -> Result<(Vec<u8>, usize), ProgramError> {
    let malformed = |e: wasmparser::BinaryReaderError| ProgramError::Malformed(e.to_string());
    let mut imported = 0u32;
    let mut snip = std::collections::HashSet::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::ImportSection(r) => {
                for imp in r {
                    if matches!(imp.map_err(malformed)?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    for n in names {
                        if let Name::Function(map) = n.map_err(malformed)? {
                            for naming in map {
                                let naming = naming.map_err(malformed)?;
                                let name = format!("{:#}", rustc_demangle::demangle(naming.name));
                                if is_panic_machinery(&name) {
                                    snip.insert(naming.index);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = wasm[..8].to_vec();
    let mut count = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(malformed)?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let section = &wasm[range.clone()];
        out.push(id);
        if id != 10 {
            leb128(&mut out, section.len() as u64);
            out.extend_from_slice(section);
            continue;
        }
        let reader =
            CodeSectionReader::new(BinaryReader::new(section, range.start)).map_err(malformed)?;
        let mut body = Vec::with_capacity(section.len());
        leb128(&mut body, reader.count() as u64);
        for (k, f) in reader.into_iter().enumerate() {
            let f = &wasm[f.map_err(malformed)?.range()];
            let f = if snip.contains(&(imported + k as u32)) {
                count += 1;
                &TRAP_BODY[..]
            } else {
                f
            };
            leb128(&mut body, f.len() as u64);
            body.extend_from_slice(f);
        }
        leb128(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
    }
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module() -> Vec<u8> {
        wat::parse_str(
            r#"(module
                (import "vm_hooks" "read_args" (func $read_args (param i32)))
                (func $_ZN4core9panicking9panic_fmt17h0123456789abcdefE (param i32)
                    local.get 0 drop)
                (func $keep (result i32) i32.const 7)
                (func $_ZN58_$LT$alloc..string..String$u20$as$u20$core..fmt..Write$GT$9write_str17h0123456789abcdefE
                    (result i32) i32.const 1)
                (export "keep" (func $keep)))"#,
        )
        .unwrap()
    }

    #[test]
    fn snip_panics_replaces_only_panic_machinery() {
        let (out, n) = snip_panics(&module()).unwrap();
        assert_eq!(n, 2);
        let text = wasmprinter::print_bytes(&out).unwrap();
        assert!(text.contains("i32.const 7"), "{text}");
        assert!(!text.contains("i32.const 1"), "{text}");
        assert_eq!(text.matches("unreachable").count(), 2, "{text}");
        wasmparser::validate(&out).unwrap();
    }

    #[test]
    fn snip_panics_without_names_changes_nothing() {
        let stripped = crate::code::strip_custom_sections(&module()).unwrap();
        let (out, n) = snip_panics(&stripped).unwrap();
        assert_eq!((out, n), (stripped, 0));
    }

    #[test]
    fn snip_panics_errors_on_garbage() {
        assert!(snip_panics(b"\0asm\x01\0\0\0\x0a\x05").is_err());
        assert!(snip_panics(b"xx").is_err());
    }

    #[test]
    fn is_panic_machinery_matches_demangled_names() {
        assert!(is_panic_machinery("core::fmt::write"));
        assert!(is_panic_machinery("<u8 as core::fmt::Debug>::fmt"));
        assert!(is_panic_machinery("rust_begin_unwind"));
        assert!(!is_panic_machinery("keel_engine::router::accounts"));
        assert!(!is_panic_machinery("core::str::count::do_count_chars"));
    }
}
