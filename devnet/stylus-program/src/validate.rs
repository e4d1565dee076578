//! Activation-rule validation (STYLUS-SPEC §4).

use crate::hooks::{hook_signature, ValType};
use crate::ProgramError;
use wasmparser::{
    ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValType as WValType, Validator,
    WasmFeatures,
};

/// Maximum number of functions (imported and defined) in a program.
pub const MAX_FUNCTIONS: usize = 4_096;
/// Maximum number of imports.
pub const MAX_IMPORTS: usize = 513;
/// Maximum number of data segments, and separately of element segments.
pub const MAX_SEGMENTS: u32 = 128;
/// Maximum number of operators in one function body.
pub const MAX_OPS_PER_BODY: usize = 65_536;
/// Maximum number of locals (parameters included) of one function.
pub const MAX_LOCALS: u32 = 348;
/// Maximum initial memory in 64 KiB pages.
pub const MAX_PAGES: u64 = 128;

/// What a valid program looks like, for reports and size budgets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// Size of the validated WASM in bytes.
    pub wasm_len: usize,
    /// The `vm_hooks` functions the program imports, in import order.
    pub imports: Vec<String>,
    /// Number of functions defined in the module (imports excluded).
    pub functions: usize,
    /// Initial memory size in 64 KiB pages.
    pub memory_pages: u64,
}

/// The WASM features Nitro enables: mutable globals, saturating float-to-int,
/// sign extension and bulk memory. Floats stay on for parsing so that
/// [`validate`] can name the offending instruction itself.
fn stylus_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
}

fn malformed(e: impl core::fmt::Display) -> ProgramError {
    ProgramError::Malformed(e.to_string())
}

fn is_float(t: WValType) -> bool {
    matches!(t, WValType::F32 | WValType::F64)
}

fn fmt_types(ts: &[WValType]) -> String {
    let v: Vec<String> = ts.iter().map(|t| format!("{t}")).collect();
    format!("({})", v.join(", "))
}

fn fmt_sig(params: &[ValType], results: &[ValType]) -> String {
    let f = |ts: &[ValType]| {
        ts.iter()
            .map(|t| match t {
                ValType::I32 => "i32",
                ValType::I64 => "i64",
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", f(params), f(results))
}

fn matches_hook(ft: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let conv = |t: &ValType| match t {
        ValType::I32 => WValType::I32,
        ValType::I64 => WValType::I64,
    };
    ft.params().iter().copied().eq(params.iter().map(conv))
        && ft.results().iter().copied().eq(results.iter().map(conv))
}

/// Validates `wasm` as Nitro's activation would.
///
/// # Errors
/// The first rule the module breaks, as a [`ProgramError`]: malformed or
/// unsupported features (reference types, SIMD, multi-value, ...), a non-hook
/// import or a hook with the wrong type, a missing `user_entrypoint: (i32)->i32`
/// or `memory` export, a start function, an import or export named `stylus*`,
/// floating-point types or instructions, a structural limit, or a WASM larger
/// than [`crate::WASM_SIZE_LIMIT`].
pub fn validate(wasm: &[u8]) -> Result<ValidationReport, ProgramError> {
    if wasm.len() > crate::WASM_SIZE_LIMIT {
        return Err(ProgramError::TooLarge {
            what: "decompressed WASM",
            size: wasm.len(),
            limit: crate::WASM_SIZE_LIMIT,
        });
    }
    validate_structure(wasm)
}

/// Every rule of [`validate`] except the decompressed-size limit: for
/// measuring a program that is still over budget.
///
/// # Errors
/// As [`validate`], without [`ProgramError::TooLarge`].
pub fn validate_structure(wasm: &[u8]) -> Result<ValidationReport, ProgramError> {
    let mut validator = Validator::new_with_features(stylus_features());
    validator.validate_all(wasm).map_err(malformed)?;

    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imports = Vec::new();
    let mut memories = 0u32;
    let mut memory_pages = 0u64;
    let mut entrypoint_ok = false;
    let mut memory_export = false;
    let mut defined = 0usize;
    let mut body_index = 0usize;

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    let ft = ty.map_err(malformed)?;
                    if ft.params().iter().chain(ft.results()).any(|t| is_float(*t)) {
                        return Err(ProgramError::Float(format!(
                            "function type {} -> {}",
                            fmt_types(ft.params()),
                            fmt_types(ft.results())
                        )));
                    }
                    types.push(ft);
                }
            }
            Payload::ImportSection(r) => {
                for imp in r.into_iter() {
                    let imp = imp.map_err(malformed)?;
                    if imp.module.starts_with("stylus") || imp.name.starts_with("stylus") {
                        return Err(ProgramError::Export(format!(
                            "import {}.{} uses the reserved `stylus` prefix",
                            imp.module, imp.name
                        )));
                    }
                    let unknown = || ProgramError::UnknownImport {
                        module: imp.module.to_string(),
                        name: imp.name.to_string(),
                    };
                    let TypeRef::Func(ti) = imp.ty else {
                        return Err(unknown());
                    };
                    if imp.module != "vm_hooks" {
                        return Err(unknown());
                    }
                    let hook = hook_signature(imp.name).ok_or_else(unknown)?;
                    let ft = &types[ti as usize];
                    if !matches_hook(ft, hook.params, hook.results) {
                        return Err(ProgramError::ImportType {
                            name: imp.name.to_string(),
                            found: format!(
                                "{} -> {}",
                                fmt_types(ft.params()),
                                fmt_types(ft.results())
                            ),
                            expected: fmt_sig(hook.params, hook.results),
                        });
                    }
                    func_types.push(ti);
                    imports.push(imp.name.to_string());
                }
                if imports.len() > MAX_IMPORTS {
                    return Err(ProgramError::Limit(format!(
                        "{} imports (max {MAX_IMPORTS})",
                        imports.len()
                    )));
                }
            }
            Payload::FunctionSection(r) => {
                for f in r {
                    func_types.push(f.map_err(malformed)?);
                    defined += 1;
                }
                if func_types.len() > MAX_FUNCTIONS {
                    return Err(ProgramError::Limit(format!(
                        "{} functions (max {MAX_FUNCTIONS})",
                        func_types.len()
                    )));
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let m = m.map_err(malformed)?;
                    memories += 1;
                    memory_pages = m.initial;
                    if m.initial > MAX_PAGES {
                        return Err(ProgramError::Limit(format!(
                            "memory starts at {} pages (max {MAX_PAGES}); link with -zstack-size=32768",
                            m.initial
                        )));
                    }
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    if is_float(g.map_err(malformed)?.ty.content_type) {
                        return Err(ProgramError::Float("a float global".into()));
                    }
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(malformed)?;
                    if e.name.starts_with("stylus") {
                        return Err(ProgramError::Export(format!(
                            "export {} uses the reserved `stylus` prefix",
                            e.name
                        )));
                    }
                    match (e.name, e.kind) {
                        ("user_entrypoint", ExternalKind::Func) => {
                            let ft = &types[func_types[e.index as usize] as usize];
                            entrypoint_ok =
                                ft.params() == [WValType::I32] && ft.results() == [WValType::I32];
                            if !entrypoint_ok {
                                return Err(ProgramError::Export(
                                    "user_entrypoint must have type (i32) -> i32".into(),
                                ));
                            }
                        }
                        ("memory", ExternalKind::Memory) => memory_export = true,
                        _ => {}
                    }
                }
            }
            Payload::StartSection { .. } => {
                return Err(ProgramError::Export(
                    "a start function is not allowed".into(),
                ))
            }
            Payload::DataSection(r) if r.count() > MAX_SEGMENTS => {
                return Err(ProgramError::Limit(format!(
                    "{} data segments (max {MAX_SEGMENTS})",
                    r.count()
                )));
            }
            Payload::ElementSection(r) if r.count() > MAX_SEGMENTS => {
                return Err(ProgramError::Limit(format!(
                    "{} element segments (max {MAX_SEGMENTS})",
                    r.count()
                )));
            }
            Payload::CodeSectionEntry(body) => {
                let index = imports.len() + body_index;
                body_index += 1;
                let ft = &types[func_types[index] as usize];
                let mut locals = ft.params().len() as u32;
                for l in body.get_locals_reader().map_err(malformed)? {
                    let (n, t) = l.map_err(malformed)?;
                    if is_float(t) {
                        return Err(ProgramError::Float(format!(
                            "a float local in function {index}"
                        )));
                    }
                    locals = locals.saturating_add(n);
                }
                if locals > MAX_LOCALS {
                    return Err(ProgramError::Limit(format!(
                        "function {index} has {locals} locals (max {MAX_LOCALS})"
                    )));
                }
                let mut ops = body.get_operators_reader().map_err(malformed)?;
                let mut count = 0usize;
                while !ops.eof() {
                    let offset = ops.original_position();
                    let op = ops.read().map_err(malformed)?;
                    count += 1;
                    if is_float_op(&op) {
                        return Err(ProgramError::Float(format!(
                            "{op:?} in function {index} at byte offset {offset:#x}"
                        )));
                    }
                }
                if count > MAX_OPS_PER_BODY {
                    return Err(ProgramError::Limit(format!(
                        "function {index} has {count} operators (max {MAX_OPS_PER_BODY})"
                    )));
                }
            }
            _ => {}
        }
    }
    if memories != 1 || !memory_export {
        return Err(ProgramError::Export(
            "exactly one memory, exported as \"memory\", is required".into(),
        ));
    }
    if !entrypoint_ok {
        return Err(ProgramError::Export(
            "missing export user_entrypoint: (i32) -> i32".into(),
        ));
    }
    Ok(ValidationReport {
        wasm_len: wasm.len(),
        imports,
        functions: defined,
        memory_pages,
    })
}

/// Any instruction that produces, consumes or converts a float. The operator
/// names of wasmparser carry `F32`/`F64` exactly for those.
fn is_float_op(op: &Operator<'_>) -> bool {
    let name = format!("{op:?}");
    name.contains("F32") || name.contains("F64")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"(module
        (import "vm_hooks" "read_args" (func (param i32)))
        (import "vm_hooks" "write_result" (func (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "user_entrypoint") (param i32) (result i32)
            i32.const 0 call 0
            i32.const 0 local.get 0 call 1
            i32.const 0))"#;

    fn check(wat: &str) -> Result<ValidationReport, ProgramError> {
        validate(&wat::parse_str(wat).unwrap())
    }

    #[test]
    fn validate_accepts_minimal_program() {
        let r = check(GOOD).unwrap();
        assert_eq!(r.imports, vec!["read_args", "write_result"]);
        assert_eq!(r.functions, 1);
        assert_eq!(r.memory_pages, 1);
    }

    #[test]
    fn validate_errors_on_float_instruction() {
        let wat = GOOD.replace(
            "i32.const 0))",
            "i64.const 1 f64.convert_i64_s drop i32.const 0))",
        );
        assert!(matches!(check(&wat), Err(ProgramError::Float(m)) if m.contains("F64ConvertI64S")));
    }

    #[test]
    fn validate_errors_on_float_local() {
        let wat = GOOD.replace(
            "(param i32) (result i32)",
            "(param i32) (result i32) (local f32)",
        );
        assert!(matches!(check(&wat), Err(ProgramError::Float(_))));
    }

    #[test]
    fn validate_errors_on_unknown_import() {
        let wat = GOOD.replace(r#""vm_hooks" "read_args""#, r#""console" "log_txt""#);
        assert_eq!(
            check(&wat),
            Err(ProgramError::UnknownImport {
                module: "console".into(),
                name: "log_txt".into()
            })
        );
    }

    #[test]
    fn validate_errors_on_wrong_hook_type() {
        let wat = GOOD
            .replace("(func (param i32)))", "(func (param i64)))")
            .replace("i32.const 0 call 0", "i64.const 0 call 0");
        let r = check(&wat);
        assert!(
            matches!(&r, Err(ProgramError::ImportType { name, .. }) if name == "read_args"),
            "{r:?}"
        );
    }

    #[test]
    fn validate_errors_on_missing_entrypoint() {
        let wat = GOOD.replace("(export \"user_entrypoint\")", "");
        assert!(matches!(check(&wat), Err(ProgramError::Export(_))));
    }

    #[test]
    fn validate_errors_on_unexported_memory() {
        let wat = GOOD.replace("(memory (export \"memory\") 1)", "(memory 1)");
        assert!(matches!(check(&wat), Err(ProgramError::Export(_))));
    }

    #[test]
    fn validate_errors_on_start_function() {
        let wat = GOOD.replace("(memory", "(func $s) (start $s) (memory");
        assert!(matches!(check(&wat), Err(ProgramError::Export(m)) if m.contains("start")));
    }

    #[test]
    fn validate_errors_on_big_initial_memory() {
        let wat = GOOD.replace("\"memory\") 1)", "\"memory\") 129)");
        assert!(matches!(check(&wat), Err(ProgramError::Limit(_))));
    }

    #[test]
    fn validate_errors_on_reference_types_encoding() {
        // rustc 1.95's call_indirect carries an overlong table index: the
        // reference-types encoding that activation rejects.
        let wasm = wat::parse_str(
            r#"(module (type $t (func)) (table 1 funcref) (memory (export "memory") 1)
                (func (export "user_entrypoint") (param i32) (result i32)
                    i32.const 0 call_indirect (type $t) i32.const 0))"#,
        )
        .unwrap();
        assert!(validate(&wasm).is_ok());
        let wasm = crate::test_util::overlong_call_indirect(&wasm);
        assert!(matches!(validate(&wasm), Err(ProgramError::Malformed(_))));
    }

    #[test]
    fn validate_errors_on_simd() {
        let wat = GOOD.replace("i32.const 0))", "v128.const i64x2 0 0 drop i32.const 0))");
        let wasm = wat::parse_str(&wat).unwrap();
        assert!(matches!(validate(&wasm), Err(ProgramError::Malformed(_))));
    }
}
