//! End-to-end runs: an SDK-shaped counter fixture, the real engine WASM when
//! it has been built, and the compiled-module cache across runtimes.

use stylus_runtime::{Address, Config, MemoryHost, ModuleSource, Runtime, Status, B256, U256};

const GAS: u64 = 5_000_000;

fn counter() -> Vec<u8> {
    wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/counter.wat"
    ))
    .unwrap()
}

fn selector(sig: &str) -> [u8; 4] {
    alloy_primitives::keccak256(sig.as_bytes())[..4]
        .try_into()
        .unwrap()
}

fn no_cache() -> Runtime {
    Runtime::new(Config {
        cache_dir: None,
        ..Config::default()
    })
    .unwrap()
}

#[test]
fn counter_set_then_get_persists_through_the_flush() {
    let rt = no_cache();
    let code = stylus_program::process(&counter()).unwrap().code;
    let mut host = MemoryHost::new(Address::repeat_byte(1), Address::repeat_byte(2));
    let mut set = selector("set(uint256)").to_vec();
    set.extend_from_slice(&U256::from(42).to_be_bytes::<32>());
    let out = rt.execute(&code, &set, GAS, &mut host).unwrap();
    assert_eq!(out.status, Status::Success);
    assert_eq!(
        host.storage.get(&B256::ZERO),
        Some(&B256::with_last_byte(42))
    );

    let out = rt
        .execute(&code, &selector("get()"), GAS, &mut host)
        .unwrap();
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, U256::from(42).to_be_bytes::<32>());
    assert_eq!(rt.load(&code).unwrap().source, ModuleSource::Memory);
}

#[test]
fn counter_reverts_empty_when_reentered_or_unknown() {
    let rt = no_cache();
    let code = counter();
    let mut host = MemoryHost::default();
    host.msg.reentrant = true;
    let out = rt
        .execute(&code, &selector("get()"), GAS, &mut host)
        .unwrap();
    assert_eq!((out.status, out.output.len()), (Status::Revert, 0));
    host.msg.reentrant = false;
    let out = rt.execute(&code, &[1, 2, 3, 4], GAS, &mut host).unwrap();
    assert_eq!((out.status, out.output.len()), (Status::Revert, 0));
}

#[test]
fn module_cache_round_trips_through_the_directory() {
    let dir = std::env::temp_dir().join(format!("stylus-runtime-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = Config {
        cache_dir: Some(dir.clone()),
        ..Config::default()
    };
    let code = counter();
    let first = Runtime::new(config.clone()).unwrap();
    assert_eq!(first.load(&code).unwrap().source, ModuleSource::Compiled);
    let second = Runtime::new(config).unwrap();
    let program = second.load(&code).unwrap();
    assert_eq!(program.source, ModuleSource::Disk);
    let out = second
        .run(
            &program,
            &selector("get()"),
            GAS,
            &mut MemoryHost::default(),
        )
        .unwrap();
    assert_eq!(out.status, Status::Success);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A two-level chain: calls to `me` re-enter the same program through the
/// same runtime, with a frame stack for `msg()`.
struct Chain<'r> {
    rt: &'r Runtime,
    code: Vec<u8>,
    me: Address,
    storage: std::collections::HashMap<B256, B256>,
    frames: Vec<stylus_runtime::MsgContext>,
    reentrant_seen: Vec<bool>,
}

impl stylus_runtime::Host for Chain<'_> {
    type Error = stylus_runtime::MemoryHostError;
    fn msg(&self) -> stylus_runtime::MsgContext {
        self.frames.last().cloned().unwrap_or_default()
    }
    fn storage_load(&mut self, key: B256) -> Result<B256, Self::Error> {
        Ok(self.storage.get(&key).copied().unwrap_or_default())
    }
    fn storage_store(&mut self, key: B256, value: B256) -> Result<(), Self::Error> {
        self.storage.insert(key, value);
        Ok(())
    }
    fn transient_load(&mut self, _: B256) -> Result<B256, Self::Error> {
        Ok(B256::ZERO)
    }
    fn transient_store(&mut self, _: B256, _: B256) -> Result<(), Self::Error> {
        Ok(())
    }
    fn balance(&mut self, _: Address) -> Result<U256, Self::Error> {
        Ok(U256::ZERO)
    }
    fn code(&mut self, _: Address) -> Result<Vec<u8>, Self::Error> {
        Ok(Vec::new())
    }
    fn call(
        &mut self,
        req: stylus_runtime::CallRequest<'_>,
    ) -> Result<stylus_runtime::CallResult, Self::Error> {
        assert_eq!(req.to, self.me);
        let reentrant = self.frames.iter().any(|f| f.address == self.me);
        self.frames.push(stylus_runtime::MsgContext {
            sender: self.me,
            address: self.me,
            reentrant,
            ..Default::default()
        });
        self.reentrant_seen.push(reentrant);
        let code = self.code.clone();
        let rt = self.rt;
        let out = rt.execute(&code, req.input, req.gas, self).unwrap();
        self.frames.pop();
        Ok(stylus_runtime::CallResult {
            success: out.is_success(),
            output: out.output,
            gas_used: req.gas - out.gas_left,
        })
    }
    fn create(
        &mut self,
        _: stylus_runtime::CreateRequest<'_>,
    ) -> Result<stylus_runtime::CreateResult, Self::Error> {
        Ok(Default::default())
    }
    fn emit_log(&mut self, _: &[B256], _: &[u8]) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn nested_call_reenters_with_fresh_cache_and_reentrant_flag() {
    let rt = no_cache();
    let code = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hooks.wat"
    ))
    .unwrap();
    let me = Address::repeat_byte(0x99);
    let slot = B256::with_last_byte(1);
    let mut chain = Chain {
        rt: &rt,
        code: code.clone(),
        me,
        storage: [(slot, B256::with_last_byte(5))].into_iter().collect(),
        frames: vec![stylus_runtime::MsgContext {
            address: me,
            ..Default::default()
        }],
        reentrant_seen: Vec::new(),
    };
    // outer: cache slot 1 = 6 without flushing, then call itself with "load slot 1"
    let mut calldata = vec![30];
    calldata.extend_from_slice(me.as_slice());
    calldata.extend_from_slice(slot.as_slice());
    calldata.extend_from_slice(B256::with_last_byte(6).as_slice());
    calldata.push(0);
    calldata.extend_from_slice(slot.as_slice());
    let out = rt.execute(&code, &calldata, GAS, &mut chain).unwrap();
    assert_eq!(out.status, Status::Success);
    assert_eq!(
        out.output,
        B256::with_last_byte(5).as_slice(),
        "the callee has its own cache and sees only flushed state"
    );
    assert_eq!(chain.reentrant_seen, vec![true]);
    assert_eq!(
        chain.storage.get(&slot),
        Some(&B256::with_last_byte(5)),
        "the outer write was never flushed"
    );
}
