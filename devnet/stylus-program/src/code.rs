//! Deployed-code format (STYLUS-SPEC §5): processing, compression, decoding,
//! and the CREATE prelude.

#[cfg(test)]
use crate::validate::validate;
use crate::validate::{validate_structure, ValidationReport};
use crate::ProgramError;
use std::io::{Read, Write};
use wasmparser::{Parser, Payload};

/// The 4-byte prefix of deployed Stylus code: `EF F0 00` marks Stylus, the
/// fourth byte names the brotli dictionary (`00` = none).
pub const PREFIX: [u8; 4] = [0xEF, 0xF0, 0x00, 0x00];
/// Largest deployed code Nitro accepts (prefix + compressed WASM), bytes.
pub const DEPLOYED_CODE_LIMIT: usize = 24_576;
/// Largest decompressed WASM Nitro accepts, bytes (128 KiB).
pub const WASM_SIZE_LIMIT: usize = 128 * 1024;

/// brotli settings `cargo stylus` uses: quality 11, window 2^22, generic mode.
const BROTLI_QUALITY: u32 = 11;
const BROTLI_LGWIN: u32 = 22;

/// The result of [`process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The WASM after the text round trip with custom sections stripped: what
    /// Nitro activates and what the deployed code decompresses to.
    pub wasm: Vec<u8>,
    /// Deployed code: [`PREFIX`] followed by the brotli-compressed `wasm`.
    pub code: Vec<u8>,
    /// The validation report of `wasm`.
    pub report: ValidationReport,
}

fn malformed(e: impl core::fmt::Display) -> ProgramError {
    ProgramError::Malformed(e.to_string())
}

/// Turns compiler output into deployable Stylus code and checks every rule.
///
/// The WASM goes through a text round trip (wasmprinter, then wat), as
/// `cargo stylus` does: it re-encodes `call_indirect` in the MVP form
/// activation requires. Custom sections (names, producers, debug info) are
/// dropped: they cost deployment bytes and Nitro ignores them.
///
/// # Errors
/// [`ProgramError`] when the input is not WASM, breaks an activation rule, or
/// is over a size limit (decompressed or deployed).
pub fn process(wasm: &[u8]) -> Result<Processed, ProgramError> {
    let p = process_unlimited(wasm)?;
    match p.size_violations().into_iter().next() {
        Some(e) => Err(e),
        None => Ok(p),
    }
}

/// [`process`] without the two size limits: every other activation rule is
/// enforced, and [`Processed::size_violations`] says by how much the program
/// is over budget. For measuring a program that does not fit yet; never for
/// deployment.
///
/// # Errors
/// [`ProgramError`] when the input is not WASM or breaks a non-size rule.
pub fn process_unlimited(wasm: &[u8]) -> Result<Processed, ProgramError> {
    let text = wasmprinter::print_bytes(wasm).map_err(malformed)?;
    let round_tripped = wat::parse_str(&text).map_err(malformed)?;
    let stripped = strip_custom_sections(&round_tripped)?;
    let report = validate_structure(&stripped)?;
    let code = compress(&stripped)?;
    Ok(Processed {
        wasm: stripped,
        code,
        report,
    })
}

impl Processed {
    /// The size limits this program breaks: decompressed WASM over
    /// [`WASM_SIZE_LIMIT`], deployed code over [`DEPLOYED_CODE_LIMIT`].
    pub fn size_violations(&self) -> Vec<ProgramError> {
        let mut v = Vec::new();
        if self.wasm.len() > WASM_SIZE_LIMIT {
            v.push(ProgramError::TooLarge {
                what: "decompressed WASM",
                size: self.wasm.len(),
                limit: WASM_SIZE_LIMIT,
            });
        }
        if self.code.len() > DEPLOYED_CODE_LIMIT {
            v.push(ProgramError::TooLarge {
                what: "deployed code",
                size: self.code.len(),
                limit: DEPLOYED_CODE_LIMIT,
            });
        }
        v
    }
}

/// [`PREFIX`] followed by `wasm` compressed with brotli (quality 11, window 22).
///
/// # Errors
/// Only if the compressor fails to write to memory, which it does not do in
/// practice; reported as [`ProgramError::Malformed`] rather than a panic.
pub fn compress(wasm: &[u8]) -> Result<Vec<u8>, ProgramError> {
    let mut out = PREFIX.to_vec();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_LGWIN);
        w.write_all(wasm).map_err(malformed)?;
        w.flush().map_err(malformed)?;
    }
    Ok(out)
}

/// Deployed code (prefixed and compressed) or raw WASM, back to WASM.
///
/// Decompression stops one byte past [`WASM_SIZE_LIMIT`], so a malicious
/// payload cannot expand without bound.
///
/// # Errors
/// [`ProgramError::BadCode`] for an unknown dictionary byte or a corrupt
/// stream, [`ProgramError::TooLarge`] when the WASM is over the limit,
/// [`ProgramError::Malformed`] when the bytes are neither.
pub fn decode(code: &[u8]) -> Result<Vec<u8>, ProgramError> {
    if code.starts_with(b"\0asm") {
        return Ok(code.to_vec());
    }
    if code.len() < 4 || code[..3] != PREFIX[..3] {
        return Err(ProgramError::Malformed(
            "neither raw WASM (\\0asm) nor Stylus code (EF F0 00 prefix)".into(),
        ));
    }
    if code[3] != 0 {
        return Err(ProgramError::BadCode(format!(
            "names brotli dictionary {}, only 0 (none) is supported",
            code[3]
        )));
    }
    let mut wasm = Vec::new();
    brotli::Decompressor::new(&code[4..], 4096)
        .take(WASM_SIZE_LIMIT as u64 + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| ProgramError::BadCode(format!("its brotli stream is corrupt: {e}")))?;
    if wasm.len() > WASM_SIZE_LIMIT {
        return Err(ProgramError::TooLarge {
            what: "decompressed WASM",
            size: wasm.len(),
            limit: WASM_SIZE_LIMIT,
        });
    }
    Ok(wasm)
}

/// EVM init code that deploys `code` unchanged: the 43-byte prelude
/// `7f <len:32> 80 60 2b 60 00 39 60 00 f3 00` (PUSH32 len, DUP1, PUSH1 43,
/// PUSH1 0, CODECOPY, PUSH1 0, RETURN, padding) followed by `code`.
pub fn init_code(code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(43 + code.len());
    out.push(0x7f);
    let mut len = [0u8; 32];
    len[24..].copy_from_slice(&(code.len() as u64).to_be_bytes());
    out.extend_from_slice(&len);
    out.extend_from_slice(&[0x80, 0x60, 0x2b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0x00]);
    out.extend_from_slice(code);
    out
}

/// Copies every non-custom section verbatim.
pub(crate) fn strip_custom_sections(wasm: &[u8]) -> Result<Vec<u8>, ProgramError> {
    let mut out = wasm[..8].to_vec();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(malformed)?;
        if let Payload::CustomSection(_) = payload {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            out.push(id);
            leb128(&mut out, (range.end - range.start) as u64);
            out.extend_from_slice(&wasm[range]);
        }
    }
    Ok(out)
}

/// Appends `v` as an unsigned LEB128.
pub(crate) fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = r#"(module
        (import "vm_hooks" "read_args" (func $read_args (param i32)))
        (type $t (func))
        (table 1 funcref)
        (memory (export "memory") 1)
        (func $noop)
        (elem (i32.const 0) $noop)
        (func (export "user_entrypoint") (param i32) (result i32)
            i32.const 0 call $read_args
            i32.const 0 call_indirect (type $t)
            i32.const 0))"#;

    #[test]
    fn process_round_trips_through_decode() {
        let wasm = wat::parse_str(PROGRAM).unwrap();
        let p = process(&wasm).unwrap();
        assert!(p.code.starts_with(&PREFIX));
        assert_eq!(decode(&p.code).unwrap(), p.wasm);
        assert_eq!(p.report.imports, vec!["read_args"]);
    }

    #[test]
    fn process_repairs_reference_types_call_indirect() {
        // Overlong table index: what rustc 1.95 emits, rejected by activation.
        let wasm = crate::test_util::overlong_call_indirect(&wat::parse_str(PROGRAM).unwrap());
        assert!(validate(&wasm).is_err());
        let p = process(&wasm).unwrap();
        assert!(validate(&p.wasm).is_ok());
    }

    #[test]
    fn process_strips_custom_sections() {
        let wasm =
            wat::parse_str(PROGRAM.replace("(module", "(module $named (@custom \"junk\" \"xyz\")"))
                .unwrap();
        let p = process(&wasm).unwrap();
        for payload in Parser::new(0).parse_all(&p.wasm) {
            assert!(!matches!(payload.unwrap(), Payload::CustomSection(_)));
        }
    }

    #[test]
    fn process_errors_on_oversized_program() {
        // A data segment of incompressible bytes pushes the deployed code over 24,576 B.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut hex = String::new();
        for _ in 0..30_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hex.push_str(&format!("\\{:02x}", x as u8));
        }
        let wat = PROGRAM.replace(
            "(func $noop)",
            &format!("(data (i32.const 0) \"{hex}\") (func $noop)"),
        );
        let wasm = wat::parse_str(&wat).unwrap();
        assert!(matches!(
            process(&wasm),
            Err(ProgramError::TooLarge {
                what: "deployed code",
                ..
            })
        ));
        let p = process_unlimited(&wasm).unwrap();
        assert_eq!(p.size_violations().len(), 1);
        assert_eq!(decode(&p.code).unwrap(), p.wasm);
    }

    #[test]
    fn decode_passes_raw_wasm_through() {
        let wasm = wat::parse_str(PROGRAM).unwrap();
        assert_eq!(decode(&wasm).unwrap(), wasm);
    }

    #[test]
    fn decode_errors_on_dictionary_byte() {
        assert!(matches!(
            decode(&[0xEF, 0xF0, 0x00, 0x01, 0]),
            Err(ProgramError::BadCode(_))
        ));
    }

    #[test]
    fn decode_errors_on_corrupt_stream() {
        assert!(matches!(
            decode(&[0xEF, 0xF0, 0x00, 0x00, 0xff, 0xff]),
            Err(ProgramError::BadCode(_))
        ));
    }

    #[test]
    fn decode_errors_on_unknown_bytes() {
        assert!(matches!(decode(b"hello"), Err(ProgramError::Malformed(_))));
    }

    #[test]
    fn decode_errors_on_oversized_wasm() {
        let big = vec![0u8; WASM_SIZE_LIMIT + 10];
        let code = compress(&big).unwrap();
        assert!(matches!(decode(&code), Err(ProgramError::TooLarge { .. })));
    }

    #[test]
    fn init_code_has_43_byte_prelude() {
        let code = [0xEF, 0xF0, 0x00, 0x00, 1, 2, 3];
        let init = init_code(&code);
        assert_eq!(init.len(), 43 + code.len());
        assert_eq!(init[0], 0x7f);
        assert_eq!(init[32], code.len() as u8);
        assert_eq!(
            &init[33..43],
            &[0x80, 0x60, 0x2b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0x00]
        );
        assert_eq!(&init[43..], &code);
    }
}
