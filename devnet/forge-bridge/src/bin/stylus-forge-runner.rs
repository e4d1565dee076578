//! `stylus-forge-runner`: one round of a Stylus program for the forge shim.
//!
//! ```text
//! stylus-forge-runner run <0x-hex chunk>...   # request = concatenation of the chunks
//! stylus-forge-runner run-file <path>         # request bytes in a file (large requests)
//! stylus-forge-runner version                 # ABI-encoded protocol version
//! ```
//! Prints `0x` + hex of the ABI-encoded response (vm.ffi decodes it to bytes).
//! Exits non-zero with a message on stderr for bridge errors (unreadable code,
//! diverged replay); program reverts and traps are normal responses.
//!
//! Environment: `STYLUS_BRIDGE_DIR` (default `target/stylus-bridge`) holds the
//! speculation cache; `STYLUS_BRIDGE_STATS=1` appends one line per round to
//! `<dir>/stats.tsv`: engine, round, steps, complete, wall time in µs,
//! Stylus gas used, selector; `STYLUS_BRIDGE_TRACE=1` appends every round's
//! steps to `<dir>/trace.log` and keeps the last request in
//! `<dir>/last-request.bin` (replay it with `run-file`).

use anyhow::{bail, Context as _, Result};
use forge_bridge::cache::SpecCache;
use forge_bridge::protocol::{parse_hints, split_answers, Request};
use forge_bridge::replay::run_round;
use forge_bridge::wasm::WasmProgram;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("stylus-forge-runner: error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<()> {
    let t0 = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("version") {
        let v = alloy_primitives::U256::from(forge_bridge::protocol::PROTOCOL_VERSION);
        print!("0x{}", alloy_primitives::hex::encode(v.to_be_bytes::<32>()));
        return Ok(());
    }
    let bytes = match args.first().map(String::as_str) {
        Some("run") if args.len() >= 2 => {
            let mut hex = String::new();
            for a in &args[1..] {
                hex.push_str(a.strip_prefix("0x").unwrap_or(a));
            }
            alloy_primitives::hex::decode(&hex).context("request is not hex")?
        }
        Some("run-file") if args.len() == 2 => {
            std::fs::read(&args[1]).with_context(|| format!("reading request {}", args[1]))?
        }
        _ => bail!("usage: stylus-forge-runner run <0x-hex>... | run-file <path> | version"),
    };
    let req = Request::decode(&bytes).context("decoding request")?;
    let dir = std::env::var_os("STYLUS_BRIDGE_DIR")
        .map_or_else(|| PathBuf::from("target/stylus-bridge"), PathBuf::from);
    let program = WasmProgram::load(std::path::Path::new(&req.codePath))?;
    let mut cache = SpecCache::load(&dir.join("cache"), req.ctx.contractAddress, &program.code);
    let answers = split_answers(&req.answers)?;
    let engine = req.ctx.contractAddress;
    let selector: Vec<u8> = req.input.iter().take(4).copied().collect();
    let resp = run_round(
        &program,
        req.ctx,
        req.input.to_vec(),
        answers,
        req.effectsDone,
        &mut cache,
        Some(program.code.clone()),
        parse_hints(&req.hints),
    )?;
    cache.save();
    let out = resp.encode();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(b"0x")?;
    stdout.write_all(alloy_primitives::hex::encode(&out).as_bytes())?;
    stdout.flush()?;
    if std::env::var_os("STYLUS_BRIDGE_TRACE").is_some() {
        // The last request, to replay a round by hand: `run-file <dir>/last-request.bin`.
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("last-request.bin"), &bytes);
        let mut t = format!(
            "{engine:x} round {} sel {} answers {} effectsDone {} complete {}\n",
            req.round,
            alloy_primitives::hex::encode(&selector),
            req.answers.len(),
            req.effectsDone,
            resp.complete
        );
        for s in &resp.steps {
            t.push_str(&format!(
                "  op {} target {:x} key {:x} value {:x} data {} spec {}\n",
                s.op,
                s.target,
                s.key,
                s.value,
                s.data.len(),
                s.spec.len()
            ));
        }
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("trace.log"))
        {
            let _ = f.write_all(t.as_bytes());
        }
    }
    if std::env::var_os("STYLUS_BRIDGE_STATS").is_some() {
        let line = format!(
            "{engine:x}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            req.round,
            resp.steps.len(),
            u8::from(resp.complete),
            t0.elapsed().as_micros(),
            resp.gasUsed,
            alloy_primitives::hex::encode(selector)
        );
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stats.tsv"))
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
    Ok(())
}
