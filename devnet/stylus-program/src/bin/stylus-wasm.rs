//! `stylus-wasm`: process and check a Stylus WASM the way deployment and
//! activation will.
//!
//! ```text
//! stylus-wasm process <in.wasm> <out-dir>   # writes <name>.wasm, <name>.code, <name>.init
//! stylus-wasm check <file>                  # raw WASM or deployed code
//! stylus-wasm measure <in.wasm>             # sizes vs limits, for a program not yet under budget
//! stylus-wasm snip <in.wasm> <out.wasm>     # panic/fmt bodies -> unreachable (then run wasm-opt)
//! ```
use anyhow::{bail, Context, Result};
use std::path::Path;
use stylus_program::{
    decode, init_code, process, process_unlimited, validate, DEPLOYED_CODE_LIMIT, WASM_SIZE_LIMIT,
};

fn main() {
    if let Err(e) = run() {
        eprintln!("stylus-wasm: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["process", input, out_dir] => {
            let raw = std::fs::read(input)
                .with_context(|| format!("reading {input} (build the WASM first)"))?;
            let p = process(&raw)
                .with_context(|| format!("{input} is not a deployable Stylus program"))?;
            let stem = Path::new(input)
                .file_stem()
                .context("input has no file name")?;
            let out = Path::new(out_dir);
            std::fs::create_dir_all(out).with_context(|| format!("creating {out_dir}"))?;
            let write = |ext: &str, bytes: &[u8]| -> Result<()> {
                let path = out.join(stem).with_extension(ext);
                std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
            };
            write("wasm", &p.wasm)?;
            write("code", &p.code)?;
            write("init", &init_code(&p.code))?;
            println!(
                "{}: raw {} B, processed {} B ({:.1}% of {} B), deployed {} B ({:.1}% of {} B), {} functions, {} page(s), imports: {}",
                stem.to_string_lossy(),
                raw.len(),
                p.wasm.len(),
                100.0 * p.wasm.len() as f64 / WASM_SIZE_LIMIT as f64,
                WASM_SIZE_LIMIT,
                p.code.len(),
                100.0 * p.code.len() as f64 / DEPLOYED_CODE_LIMIT as f64,
                DEPLOYED_CODE_LIMIT,
                p.report.functions,
                p.report.memory_pages,
                p.report.imports.join(",")
            );
            Ok(())
        }
        ["snip", input, output] => {
            let raw = std::fs::read(input)
                .with_context(|| format!("reading {input} (build the WASM first)"))?;
            let (out, n) = stylus_program::snip_panics(&raw)
                .with_context(|| format!("{input} is not a WASM module"))?;
            if n == 0 {
                bail!("{input}: no function names matched; build with `strip = false` so the name section survives");
            }
            std::fs::write(output, out).with_context(|| format!("writing {output}"))?;
            println!("{input}: {n} panic/formatting function bodies replaced by unreachable");
            Ok(())
        }
        ["measure", input] => {
            // Every rule but size is enforced; size is reported, nothing is written:
            // a program over budget must never look deployable.
            let raw = std::fs::read(input)
                .with_context(|| format!("reading {input} (build the WASM first)"))?;
            let p = process_unlimited(&raw)
                .with_context(|| format!("{input} breaks a Stylus activation rule"))?;
            println!(
                "{input}: processed {} B (limit {WASM_SIZE_LIMIT} B), deployed {} B (limit {DEPLOYED_CODE_LIMIT} B, {:.2}x), {} functions",
                p.wasm.len(),
                p.code.len(),
                p.code.len() as f64 / DEPLOYED_CODE_LIMIT as f64,
                p.report.functions
            );
            for v in p.size_violations() {
                println!("NOT DEPLOYABLE: {v}");
            }
            Ok(())
        }
        ["check", input] => {
            let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
            let wasm = decode(&bytes).with_context(|| format!("decoding {input}"))?;
            let r = validate(&wasm)
                .with_context(|| format!("{input} fails Stylus activation rules"))?;
            println!(
                "{input}: valid, {} B WASM, {} functions, imports: {}",
                r.wasm_len,
                r.functions,
                r.imports.join(",")
            );
            Ok(())
        }
        _ => bail!("usage: stylus-wasm process <in.wasm> <out-dir> | stylus-wasm check <file> | stylus-wasm measure <in.wasm> | stylus-wasm snip <in.wasm> <out.wasm>"),
    }
}
