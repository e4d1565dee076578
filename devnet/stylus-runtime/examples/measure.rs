//! Load and call timings of a real program.
//!
//! `cargo run -p stylus-runtime --example measure -- [WASM] [CACHE_DIR]`
//!
//! WASM defaults to the engine's release build; CACHE_DIR to a fresh
//! temporary directory. Prints: cold load (decode + validate + instrument +
//! compile + cache write), cached load in a new runtime (deserialize from
//! disk), and the mean wall time of `get()` and `set(uint256)` calls on an
//! already loaded program (instantiate + run + classify), with their gas.
//! Run it twice with the same CACHE_DIR to see a fresh process hit the cache.

use std::time::Instant;
use stylus_runtime::{Address, Config, MemoryHost, Runtime, U256};

fn selector(sig: &str) -> Vec<u8> {
    alloy_primitives::keccak256(sig.as_bytes())[..4].to_vec()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let wasm_path = args.next().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/wasm32-unknown-unknown/release/keel_engine.wasm"
        )
        .to_string()
    });
    let cache_dir = args.next().map(Into::into).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("stylus-measure-{}", std::process::id()))
    });
    let wasm = std::fs::read(&wasm_path)?;
    let code = stylus_program::process(&wasm)?.code;
    println!(
        "program: {wasm_path} ({} B wasm, {} B deployed)",
        wasm.len(),
        code.len()
    );
    let config = Config {
        cache_dir: Some(cache_dir.clone()),
        ..Config::default()
    };

    let t = Instant::now();
    let rt = Runtime::new(config.clone())?;
    println!("Runtime::new: {:?}", t.elapsed());
    let t = Instant::now();
    let program = rt.load(&code)?;
    println!("first load ({:?}): {:?}", program.source, t.elapsed());

    let rt2 = Runtime::new(config)?;
    let t = Instant::now();
    let program2 = rt2.load(&code)?;
    println!(
        "load in a new runtime ({:?}): {:?}",
        program2.source,
        t.elapsed()
    );

    let mut host = MemoryHost::new(Address::repeat_byte(1), Address::repeat_byte(2));
    let mut set = selector("set(uint256)");
    set.extend_from_slice(&U256::from(7).to_be_bytes::<32>());
    for (name, calldata) in [("get()", selector("get()")), ("set(uint256)", set)] {
        let n = 2_000u32;
        let mut last = None;
        let t = Instant::now();
        for _ in 0..n {
            last = Some(rt.run(&program, &calldata, 10_000_000, &mut host)?);
        }
        let per = t.elapsed() / n;
        let out = last.ok_or("no run")?;
        println!(
            "{name}: {per:?} per call, status {:?}, gas used {}",
            out.status,
            10_000_000 - out.gas_left
        );
    }
    Ok(())
}
