//! Module instrumentation before compilation: a port of Nitro's compile
//! middlewares (prover/src/programs: `meter.rs`, `dynamic.rs`, `depth.rs`,
//! `heap.rs`), applied in Nitro's order to each function body.
//!
//! 1. **Ink meter**: at the end of each basic block (an `end`, `else`,
//!    `return`, `loop`, `br`, `br_if`, `br_table`, `if`, `call` or
//!    `call_indirect`), the block's summed `pricing_v1` cost plus the 2,450-ink
//!    header is charged *before* the block's first instruction: `if ink < cost
//!    { status = 1; unreachable }; ink -= cost`.
//! 2. **Dynamic meter**: `memory.fill` / `memory.copy` additionally charge
//!    100 ink per byte from their size operand.
//! 3. **Depth checker**: each function's frame (worst-case operand height of
//!    the already instrumented code + declared locals + 4) is subtracted from a
//!    stack budget on entry (trap with budget 0 when it does not fit) and given
//!    back before every `return` (a final `return` is added before the last `end`).
//! 4. **Heap bound**: before each `memory.grow`, `pay_for_memory_grow(pages)`
//!    is called (when the memory can grow at all).
//!
//! The four globals are exported under Nitro's names so the runtime can set
//! and read them: `stylus_ink_left` (i64), `stylus_ink_status` (i32),
//! `stylus_scratch_global` (i32), `stylus_stack_left` (i32). Two constant
//! globals carry activation's start-up cost estimates into the compiled (and
//! cached) module: `stylus_init_cost`, `stylus_cached_init_cost`.

use crate::pricing::{op_ink, INK_HEADER, MEMORY_COPY_INK, MEMORY_FILL_INK};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, ExportKind, ExportSection, Function, GlobalSection, GlobalType, RawSection, ValType,
};
use wasmparser::{BlockType, Operator, Parser, Payload, TypeRef};

/// Export name of the ink-left global.
pub const INK_LEFT: &str = "stylus_ink_left";
/// Export name of the ink-status global (non-zero once out of ink).
pub const INK_STATUS: &str = "stylus_ink_status";
/// Export name of the scratch global shared by the dynamic meter and heap bound.
pub const SCRATCH: &str = "stylus_scratch_global";
/// Export name of the stack-budget global (words left; 0 after overflow).
pub const STACK_LEFT: &str = "stylus_stack_left";
/// Export name of the constant global holding Nitro's `init_cost` estimate.
pub const INIT_COST: &str = "stylus_init_cost";
/// Export name of the constant global holding Nitro's `cached_init_cost` estimate.
pub const CACHED_INIT_COST: &str = "stylus_cached_init_cost";

/// Largest frame a function may have, in words (Nitro v1 `max_frame_size`).
pub const MAX_FRAME_SIZE: u32 = 10 * 1024;
/// Largest operand-stack height within a function (Nitro v1 `max_frame_contention`).
pub const MAX_FRAME_CONTENTION: u32 = 4_096;
/// Largest initial memory, in pages (Nitro v1 `heap_bound`).
pub const HEAP_BOUND: u64 = 128;

/// An instrumented module ready to compile.
#[derive(Debug, Clone)]
pub struct Instrumented {
    /// The instrumented WASM.
    pub wasm: Vec<u8>,
    /// The module's initial memory size in pages (what Nitro charges at entry).
    pub footprint: u16,
    /// Activation's `init_cost` estimate (gas units before scaling).
    pub init_cost: u16,
    /// Activation's `cached_init_cost` estimate.
    pub cached_init_cost: u16,
}

/// Nitro's activation-time estimates (`WasmBinary::instrument`, "predict
/// costs"): (init_cost, cached_init_cost). `globals` counts the four
/// instrumentation globals as Nitro's does.
fn init_costs(info: &Info, wasm_len: u64, footprint: u16) -> (u16, u16) {
    let funcs = info.defined.len() as u64;
    let globals = u64::from(info.globals) + 4;
    let type_len: u64 = info
        .defined
        .iter()
        .filter_map(|t| info.types.get(*t as usize))
        .map(|(p, r)| u64::from(p + r))
        .sum();
    let data_len = info.segment_bytes;
    let mut cached: u64 = 0;
    cached = cached.saturating_add(funcs.saturating_mul(13_420) / 100_000);
    cached = cached.saturating_add(type_len.saturating_mul(89) / 100_000);
    cached = cached.saturating_add(wasm_len.saturating_mul(122) / 100_000);
    cached = cached.saturating_add(globals.saturating_mul(1_628) / 1_000);
    cached = cached.saturating_add(data_len.saturating_mul(75_244) / 100_000);
    cached = cached.saturating_add(u64::from(footprint) * 5);
    let mut init = cached;
    init = init.saturating_add(funcs.saturating_mul(8_252) / 1_000);
    init = init.saturating_add(type_len.saturating_mul(1_059) / 1_000);
    init = init.saturating_add(wasm_len.saturating_mul(1_286) / 10_000);
    let clamp = |x: u64| u16::try_from(x).unwrap_or(u16::MAX);
    (clamp(init), clamp(cached))
}

/// Why a module could not be instrumented (Nitro's compile step would fail too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instrumentation failed: {0}")]
pub struct InstrumentError(pub String);

fn err(e: impl std::fmt::Display) -> InstrumentError {
    InstrumentError(e.to_string())
}

#[derive(Default)]
struct Info {
    /// (params, results) per type index.
    types: Vec<(u32, u32)>,
    /// Type index of every function, imports first.
    func_types: Vec<u32>,
    pay_func: Option<u32>,
    globals: u32,
    mem: Option<(u64, Option<u64>)>,
    /// Type index of every defined function.
    defined: Vec<u32>,
    /// Bytes of all data and element segments.
    segment_bytes: u64,
}

fn scan(wasm: &[u8]) -> Result<Info, InstrumentError> {
    let mut info = Info::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(err)? {
            Payload::TypeSection(r) => {
                for ft in r.into_iter_err_on_gc_types() {
                    let ft = ft.map_err(err)?;
                    info.types
                        .push((ft.params().len() as u32, ft.results().len() as u32));
                }
            }
            Payload::ImportSection(r) => {
                for imp in r {
                    let imp = imp.map_err(err)?;
                    match imp.ty {
                        TypeRef::Func(t) => {
                            if imp.module == "vm_hooks" && imp.name == "pay_for_memory_grow" {
                                info.pay_func = Some(info.func_types.len() as u32);
                            }
                            info.func_types.push(t);
                        }
                        TypeRef::Global(_) => info.globals += 1,
                        TypeRef::Memory(m) => info.mem = Some((m.initial, m.maximum)),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    let t = t.map_err(err)?;
                    info.func_types.push(t);
                    info.defined.push(t);
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    info.segment_bytes += d.map_err(err)?.range.len() as u64;
                }
            }
            Payload::ElementSection(r) => {
                for e in r {
                    info.segment_bytes += e.map_err(err)?.range.len() as u64;
                }
            }
            Payload::GlobalSection(r) => info.globals += r.count(),
            Payload::MemorySection(r) => {
                for m in r {
                    let m = m.map_err(err)?;
                    info.mem = Some((m.initial, m.maximum));
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Global indices of the injected globals.
#[derive(Clone, Copy)]
struct Globals {
    ink: u32,
    status: u32,
    scratch: u32,
    stack: u32,
}

/// Instruments `wasm` (already validated) as Nitro's compiler does.
///
/// # Errors
/// [`InstrumentError`] when the module cannot be parsed, initial memory is
/// over 128 pages, memory can grow but `pay_for_memory_grow` is not imported,
/// a function uses an operator Stylus does not support, or a frame is over
/// Nitro's limits.
pub fn instrument(wasm: &[u8]) -> Result<Instrumented, InstrumentError> {
    let info = scan(wasm)?;
    let (min, max) = info.mem.unwrap_or((0, Some(0)));
    if min > HEAP_BOUND {
        return Err(err(format!("memory size {min} exceeds bound {HEAP_BOUND}")));
    }
    let pay_func = if max == Some(min) {
        None
    } else {
        match info.pay_func {
            Some(f) => Some(f),
            None => {
                return Err(err(
                    "memory can grow but vm_hooks.pay_for_memory_grow is not imported",
                ))
            }
        }
    };
    let g = Globals {
        ink: info.globals,
        status: info.globals + 1,
        scratch: info.globals + 2,
        stack: info.globals + 3,
    };
    let param_counts: Vec<u32> = info.types.iter().map(|t| t.0).collect();
    let footprint = u16::try_from(min).unwrap_or(u16::MAX);
    let (init_cost, cached_init_cost) = init_costs(&info, wasm.len() as u64, footprint);

    let mut module = wasm_encoder::Module::new();
    let mut re = RoundtripReencoder;
    let mut globals_done = false;
    let mut exports_done = false;
    let defined = count_defined(wasm)?;
    let mut code: Option<wasm_encoder::CodeSection> = None;

    let emit_globals = |module: &mut wasm_encoder::Module, existing: Option<GlobalSection>| {
        let mut s = existing.unwrap_or_default();
        let mutable = |val_type| GlobalType {
            val_type,
            mutable: true,
            shared: false,
        };
        s.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
        s.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        s.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        s.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        let constant = GlobalType {
            val_type: ValType::I32,
            mutable: false,
            shared: false,
        };
        s.global(constant, &ConstExpr::i32_const(i32::from(init_cost)));
        s.global(constant, &ConstExpr::i32_const(i32::from(cached_init_cost)));
        module.section(&s);
    };
    let emit_exports = |module: &mut wasm_encoder::Module, existing: Option<ExportSection>| {
        let mut s = existing.unwrap_or_default();
        s.export(INK_LEFT, ExportKind::Global, g.ink);
        s.export(INK_STATUS, ExportKind::Global, g.status);
        s.export(SCRATCH, ExportKind::Global, g.scratch);
        s.export(STACK_LEFT, ExportKind::Global, g.stack);
        s.export(INIT_COST, ExportKind::Global, g.stack + 1);
        s.export(CACHED_INIT_COST, ExportKind::Global, g.stack + 2);
        module.section(&s);
    };

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(err)?;
        // Sections after the global (export) section force ours out first.
        if let Some((id, _)) = payload.as_section() {
            if matches!(id, 7..=12) && !globals_done {
                emit_globals(&mut module, None);
                globals_done = true;
            }
            if matches!(id, 8..=12) && !exports_done {
                emit_exports(&mut module, None);
                exports_done = true;
            }
        }
        match payload {
            Payload::GlobalSection(r) => {
                let mut s = GlobalSection::new();
                re.parse_global_section(&mut s, r).map_err(err)?;
                emit_globals(&mut module, Some(s));
                globals_done = true;
            }
            Payload::ExportSection(r) => {
                let mut s = ExportSection::new();
                re.parse_export_section(&mut s, r).map_err(err)?;
                emit_exports(&mut module, Some(s));
                exports_done = true;
            }
            Payload::CodeSectionStart { .. } => code = Some(wasm_encoder::CodeSection::new()),
            Payload::CodeSectionEntry(body) => {
                let f = instrument_body(&body, &info, &param_counts, g, pay_func, &mut re)?;
                let section = code
                    .as_mut()
                    .ok_or_else(|| err("code entry outside section"))?;
                section.function(&f);
                if section.len() as usize == defined {
                    module.section(section);
                }
            }
            Payload::CustomSection(_) => {}
            Payload::End(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    module.section(&RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }
    if !globals_done {
        emit_globals(&mut module, None);
    }
    if !exports_done {
        emit_exports(&mut module, None);
    }
    Ok(Instrumented {
        wasm: module.finish(),
        footprint,
        init_cost,
        cached_init_cost,
    })
}

fn count_defined(wasm: &[u8]) -> Result<usize, InstrumentError> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::FunctionSection(r) = payload.map_err(err)? {
            return Ok(r.count() as usize);
        }
    }
    Ok(0)
}

fn ends_basic_block(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        End | Else
            | Return
            | Loop { .. }
            | Br { .. }
            | BrTable { .. }
            | BrIf { .. }
            | If { .. }
            | Call { .. }
            | CallIndirect { .. }
    )
}

fn instrument_body<'a>(
    body: &wasmparser::FunctionBody<'a>,
    info: &Info,
    param_counts: &[u32],
    g: Globals,
    pay_func: Option<u32>,
    re: &mut RoundtripReencoder,
) -> Result<Function, InstrumentError> {
    let mut locals = Vec::new();
    let mut local_count: u32 = 0;
    for l in body.get_locals_reader().map_err(err)? {
        let (n, t) = l.map_err(err)?;
        local_count = local_count.saturating_add(n);
        locals.push((n, re.val_type(t).map_err(err)?));
    }
    let mut ops = Vec::new();
    let mut reader = body.get_operators_reader().map_err(err)?;
    while !reader.eof() {
        ops.push(reader.read().map_err(err)?);
    }

    let metered = meter(ops, param_counts, g);
    let dynamic = dynamic_meter(metered, g)?;
    let depth = depth_check(dynamic, info, local_count, g)?;
    let bounded = heap_bound(depth, g, pay_func);

    let mut f = Function::new(locals);
    for op in bounded {
        f.instruction(&re.instruction(op).map_err(err)?);
    }
    Ok(f)
}

/// Nitro `Meter`: one charge per basic block, placed before the block.
fn meter<'a>(ops: Vec<Operator<'a>>, param_counts: &[u32], g: Globals) -> Vec<Operator<'a>> {
    use Operator::*;
    let mut out = Vec::with_capacity(ops.len() * 2);
    let mut block = Vec::new();
    let mut cost: u64 = 0;
    for op in ops {
        let end = ends_basic_block(&op);
        cost = cost.saturating_add(op_ink(&op, param_counts));
        block.push(op);
        if end {
            let total = cost.saturating_add(INK_HEADER) as i64;
            out.extend([
                GlobalGet {
                    global_index: g.ink,
                },
                I64Const { value: total },
                I64LtU,
                If {
                    blockty: BlockType::Empty,
                },
                I32Const { value: 1 },
                GlobalSet {
                    global_index: g.status,
                },
                Unreachable,
                End,
                GlobalGet {
                    global_index: g.ink,
                },
                I64Const { value: total },
                I64Sub,
                GlobalSet {
                    global_index: g.ink,
                },
            ]);
            out.append(&mut block);
            cost = 0;
        }
    }
    out.append(&mut block);
    out
}

/// Nitro `DynamicMeter`: per-byte ink for `memory.fill` and `memory.copy`.
fn dynamic_meter<'a>(
    ops: Vec<Operator<'a>>,
    g: Globals,
) -> Result<Vec<Operator<'a>>, InstrumentError> {
    use Operator::*;
    let linear = |coefficient: u64| {
        [
            GlobalSet {
                global_index: g.scratch,
            },
            GlobalGet {
                global_index: g.ink,
            },
            GlobalGet {
                global_index: g.ink,
            },
            GlobalGet {
                global_index: g.scratch,
            },
            I64ExtendI32U,
            I64Const {
                value: coefficient as i64,
            },
            I64Mul,
            I64Sub,
            GlobalSet {
                global_index: g.ink,
            },
            GlobalGet {
                global_index: g.ink,
            },
            I64LtU,
            If {
                blockty: BlockType::Empty,
            },
            I32Const { value: 1 },
            GlobalSet {
                global_index: g.status,
            },
            Unreachable,
            End,
            GlobalGet {
                global_index: g.scratch,
            },
        ]
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            MemoryFill { .. } => out.extend(linear(MEMORY_FILL_INK)),
            MemoryCopy { .. } => out.extend(linear(MEMORY_COPY_INK)),
            MemoryInit { .. }
            | DataDrop { .. }
            | ElemDrop { .. }
            | TableInit { .. }
            | TableCopy { .. }
            | TableFill { .. }
            | TableGet { .. }
            | TableSet { .. }
            | TableGrow { .. }
            | TableSize { .. } => return Err(err(format!("opcode not supported: {op:?}"))),
            _ => {}
        }
        out.push(op);
    }
    Ok(out)
}

/// Nitro `DepthChecker`: charge the frame on entry, give it back on return.
fn depth_check<'a>(
    mut code: Vec<Operator<'a>>,
    info: &Info,
    locals: u32,
    g: Globals,
) -> Result<Vec<Operator<'a>>, InstrumentError> {
    use Operator::*;
    let worst = worst_case_depth(&code, info)?;
    if worst > MAX_FRAME_CONTENTION {
        return Err(err(format!(
            "too many values on the stack at once: {worst} > {MAX_FRAME_CONTENTION}"
        )));
    }
    let size = worst.saturating_add(locals).saturating_add(4);
    if size > MAX_FRAME_SIZE {
        return Err(err(format!(
            "frame too large: {size} > {MAX_FRAME_SIZE}-word limit"
        )));
    }
    let size = size as i32;
    let mut out = Vec::with_capacity(code.len() + 16);
    out.extend([
        GlobalGet {
            global_index: g.stack,
        },
        I32Const { value: size },
        I32LeU,
        If {
            blockty: BlockType::Empty,
        },
        I32Const { value: 0 },
        GlobalSet {
            global_index: g.stack,
        },
        Unreachable,
        End,
        GlobalGet {
            global_index: g.stack,
        },
        I32Const { value: size },
        I32Sub,
        GlobalSet {
            global_index: g.stack,
        },
    ]);
    let last = code.pop().ok_or_else(|| err("empty function body"))?;
    code.push(Return);
    code.push(last);
    for op in code {
        if matches!(op, Return) {
            out.extend([
                GlobalGet {
                    global_index: g.stack,
                },
                I32Const { value: size },
                I32Add,
                GlobalSet {
                    global_index: g.stack,
                },
            ]);
        }
        out.push(op);
    }
    Ok(out)
}

fn worst_case_depth(code: &[Operator<'_>], info: &Info) -> Result<u32, InstrumentError> {
    use Operator::*;
    let mut worst: u32 = 0;
    let mut stack: u32 = 0;
    let mut scopes = vec![0u32];
    let func_ty = |f: u32| -> Result<(u32, u32), InstrumentError> {
        info.func_types
            .get(f as usize)
            .and_then(|t| info.types.get(*t as usize))
            .copied()
            .ok_or_else(|| err(format!("missing type for func {f}")))
    };
    let sig = |t: u32| -> Result<(u32, u32), InstrumentError> {
        info.types
            .get(t as usize)
            .copied()
            .ok_or_else(|| err(format!("missing type for signature {t}")))
    };
    macro_rules! push {
        ($n:expr) => {{
            stack = stack.saturating_add($n);
            worst = worst.max(stack);
        }};
    }
    macro_rules! pop {
        ($n:expr) => {{
            stack = stack.saturating_sub($n);
        }};
    }
    // Nitro's block_type!: one pre-allocated slot for a value result; a type
    // index pushes its outputs then pops its inputs.
    let block_type =
        |bt: &BlockType, stack: &mut u32, worst: &mut u32| -> Result<(), InstrumentError> {
            match bt {
                BlockType::Empty => {}
                BlockType::Type(_) => {
                    *stack = stack.saturating_add(1);
                    *worst = (*worst).max(*stack);
                }
                BlockType::FuncType(id) => {
                    let (ins, outs) = sig(*id)?;
                    *stack = stack.saturating_add(outs);
                    *worst = (*worst).max(*stack);
                    *stack = stack.saturating_sub(ins);
                }
            }
            Ok(())
        };
    for op in code {
        match op {
            Block { blockty } | Loop { blockty } => {
                block_type(blockty, &mut stack, &mut worst)?;
                scopes.push(stack);
            }
            If { blockty } => {
                pop!(1);
                block_type(blockty, &mut stack, &mut worst)?;
                scopes.push(stack);
            }
            Else => {
                stack = *scopes
                    .last()
                    .ok_or_else(|| err("malformed if-else scope"))?;
            }
            End => {
                stack = scopes
                    .pop()
                    .ok_or_else(|| err("malformed scoping detected at end of block"))?;
            }
            Call { function_index } => {
                let (ins, outs) = func_ty(*function_index)?;
                push!(outs);
                pop!(ins);
            }
            CallIndirect { type_index, .. } => {
                let (ins, outs) = sig(*type_index)?;
                push!(outs);
                pop!(ins);
                pop!(1);
            }
            MemoryFill { .. } | MemoryCopy { .. } => pop!(3),
            Nop
            | Unreachable
            | I32Eqz
            | I64Eqz
            | I32Clz
            | I32Ctz
            | I32Popcnt
            | I64Clz
            | I64Ctz
            | I64Popcnt
            | Br { .. }
            | Return
            | LocalTee { .. }
            | MemoryGrow { .. }
            | I32Load { .. }
            | I64Load { .. }
            | I32Load8S { .. }
            | I32Load8U { .. }
            | I32Load16S { .. }
            | I32Load16U { .. }
            | I64Load8S { .. }
            | I64Load8U { .. }
            | I64Load16S { .. }
            | I64Load16U { .. }
            | I64Load32S { .. }
            | I64Load32U { .. }
            | I32WrapI64
            | I64ExtendI32S
            | I64ExtendI32U
            | I32Extend8S
            | I32Extend16S
            | I64Extend8S
            | I64Extend16S
            | I64Extend32S => {}
            LocalGet { .. }
            | GlobalGet { .. }
            | MemorySize { .. }
            | I32Const { .. }
            | I64Const { .. } => push!(1),
            Drop
            | I32Eq
            | I32Ne
            | I32LtS
            | I32LtU
            | I32GtS
            | I32GtU
            | I32LeS
            | I32LeU
            | I32GeS
            | I32GeU
            | I64Eq
            | I64Ne
            | I64LtS
            | I64LtU
            | I64GtS
            | I64GtU
            | I64LeS
            | I64LeU
            | I64GeS
            | I64GeU
            | I32Add
            | I32Sub
            | I32Mul
            | I32DivS
            | I32DivU
            | I32RemS
            | I32RemU
            | I64Add
            | I64Sub
            | I64Mul
            | I64DivS
            | I64DivU
            | I64RemS
            | I64RemU
            | I32And
            | I32Or
            | I32Xor
            | I32Shl
            | I32ShrS
            | I32ShrU
            | I32Rotl
            | I32Rotr
            | I64And
            | I64Or
            | I64Xor
            | I64Shl
            | I64ShrS
            | I64ShrU
            | I64Rotl
            | I64Rotr
            | BrIf { .. }
            | BrTable { .. }
            | LocalSet { .. }
            | GlobalSet { .. } => pop!(1),
            Select
            | I32Store { .. }
            | I64Store { .. }
            | I32Store8 { .. }
            | I32Store16 { .. }
            | I64Store8 { .. }
            | I64Store16 { .. }
            | I64Store32 { .. } => pop!(2),
            other => return Err(err(format!("operator not supported by Stylus: {other:?}"))),
        }
    }
    Ok(worst)
}

/// Nitro `HeapBound`: pay for pages before `memory.grow`.
fn heap_bound<'a>(ops: Vec<Operator<'a>>, g: Globals, pay_func: Option<u32>) -> Vec<Operator<'a>> {
    use Operator::*;
    let Some(function_index) = pay_func else {
        return ops;
    };
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        if let MemoryGrow { .. } = op {
            out.extend([
                GlobalSet {
                    global_index: g.scratch,
                },
                GlobalGet {
                    global_index: g.scratch,
                },
                GlobalGet {
                    global_index: g.scratch,
                },
                Call { function_index },
            ]);
        }
        out.push(op);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops_of(wasm: &[u8], func: usize) -> Vec<String> {
        let mut bodies = Vec::new();
        for p in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(b) = p.unwrap() {
                bodies.push(b);
            }
        }
        let mut r = bodies[func].get_operators_reader().unwrap();
        let mut out = Vec::new();
        while !r.eof() {
            out.push(format!("{:?}", r.read().unwrap()));
        }
        out
    }

    #[test]
    fn instrument_charges_each_block_before_it() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1 1)
                 (func (export "user_entrypoint") (param i32) (result i32)
                   local.get 0 i32.const 1 i32.add))"#,
        )
        .unwrap();
        let out = instrument(&wasm).unwrap();
        wasmparser::Validator::new()
            .validate_all(&out.wasm)
            .unwrap();
        let ops = ops_of(&out.wasm, 0);
        // one block: local.get 75 + i32.const 1 + i32.add 70 + end 1 + header
        // (the depth checker's extra `return` comes after metering, unpriced)
        let cost = 75 + 1 + 70 + 1 + INK_HEADER;
        assert!(
            ops.iter()
                .any(|o| o == &format!("I64Const {{ value: {cost} }}")),
            "{ops:?}"
        );
        assert_eq!(out.footprint, 1);
    }

    #[test]
    fn instrument_estimates_init_costs_like_activation() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 2 2)
                 (data (i32.const 0) "abcdefgh")
                 (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        let out = instrument(&wasm).unwrap();
        let len = wasm.len() as u64;
        let segment = 8 + 4; // payload + mode/offset/length bytes in the binary
                             // one function of type (i32) -> i32, four instrumentation globals
        let (funcs, globals, type_len, footprint) = (1u64, 4u64, 2u64, 2u64);
        let cached = funcs * 13_420 / 100_000
            + type_len * 89 / 100_000
            + len * 122 / 100_000
            + globals * 1_628 / 1_000
            + segment * 75_244 / 100_000
            + footprint * 5;
        let init = cached + funcs * 8_252 / 1_000 + type_len * 1_059 / 1_000 + len * 1_286 / 10_000;
        assert_eq!(u64::from(out.cached_init_cost), cached);
        assert_eq!(u64::from(out.init_cost), init);
    }

    #[test]
    fn instrument_errors_when_growable_memory_lacks_pay_import() {
        let wasm = wat::parse_str(
            r#"(module (memory (export "memory") 1)
                 (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap();
        assert!(instrument(&wasm)
            .unwrap_err()
            .0
            .contains("pay_for_memory_grow"));
    }

    #[test]
    fn instrument_inserts_pay_before_memory_grow() {
        let wasm = wat::parse_str(
            r#"(module
                 (import "vm_hooks" "pay_for_memory_grow" (func $pay (param i32)))
                 (memory (export "memory") 1)
                 (func (export "user_entrypoint") (param i32) (result i32)
                   i32.const 1 memory.grow))"#,
        )
        .unwrap();
        let out = instrument(&wasm).unwrap();
        wasmparser::Validator::new()
            .validate_all(&out.wasm)
            .unwrap();
        let ops = ops_of(&out.wasm, 0);
        let grow = ops
            .iter()
            .position(|o| o.starts_with("MemoryGrow"))
            .unwrap();
        assert_eq!(ops[grow - 1], "Call { function_index: 0 }");
    }
}
