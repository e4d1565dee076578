//! Disk cache of the last answers seen per engine address, used to speculate
//! answers past the end of the answer log.
//!
//! Soundness does not depend on the cache: every speculated answer is checked
//! by the shim against the EVM before anything after it takes effect, so a
//! stale, missing or concurrently overwritten cache only costs extra rounds.
//! Files are written atomically (temporary file + rename) because forge runs
//! tests on several threads, each spawning runners.

use alloy_primitives::{keccak256, Address, B256, U256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Entries beyond which the cache is dropped and rebuilt (bounds file size and load time).
pub const MAX_ENTRIES: usize = 50_000;

/// Cache key of a read (SLOAD, BALANCE, CODE*): `keccak(op || target || key)`.
pub fn read_key(op: u8, target: Address, key: B256) -> B256 {
    let mut buf = [0u8; 53];
    buf[0] = op;
    buf[1..21].copy_from_slice(target.as_slice());
    buf[21..].copy_from_slice(key.as_slice());
    keccak256(buf)
}

/// Cache key of a call: `keccak(op || target || value || calldata)`; gas is left
/// out because the gas a program forwards varies between otherwise equal calls.
pub fn call_key(op: u8, target: Address, value: U256, data: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(53 + data.len());
    buf.push(op);
    buf.extend_from_slice(target.as_slice());
    buf.extend_from_slice(&value.to_be_bytes::<32>());
    buf.extend_from_slice(data);
    keccak256(buf)
}

/// Speculation cache for one engine address.
#[derive(Debug, Default)]
pub struct SpecCache {
    path: Option<PathBuf>,
    map: HashMap<B256, Vec<u8>>,
    dirty: bool,
}

impl SpecCache {
    /// An empty cache that is never saved (tests, or no cache directory).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Loads the cache of the program with code `code` at `engine` from `dir`
    /// (missing or corrupt file = empty cache). Keyed by code too: test
    /// contracts reuse addresses for different programs.
    pub fn load(dir: &Path, engine: Address, code: &[u8]) -> Self {
        let tag = keccak256(code);
        let path = dir.join(format!(
            "{engine:x}-{}.bin",
            alloy_primitives::hex::encode(&tag[..8])
        ));
        let map = std::fs::read(&path)
            .ok()
            .and_then(|b| parse(&b))
            .unwrap_or_default();
        Self {
            path: Some(path),
            map,
            dirty: false,
        }
    }

    /// Last answer seen for `key`.
    pub fn get(&self, key: &B256) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// Records an answer (no-op when unchanged).
    pub fn put(&mut self, key: B256, answer: &[u8]) {
        if self.map.get(&key).map(Vec::as_slice) == Some(answer) {
            return;
        }
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        self.map.insert(key, answer.to_vec());
        self.dirty = true;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the cache has no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Writes the cache back if it changed. Errors are ignored on purpose: a
    /// lost update only costs rounds, never correctness.
    pub fn save(&mut self) {
        let Some(path) = &self.path else { return };
        if !self.dirty {
            return;
        }
        let mut out = Vec::with_capacity(self.map.len() * 72);
        for (k, v) in &self.map {
            out.extend_from_slice(k.as_slice());
            out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(v);
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &out).is_ok() && std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        self.dirty = false;
    }
}

fn parse(b: &[u8]) -> Option<HashMap<B256, Vec<u8>>> {
    let mut map = HashMap::new();
    let mut at = 0usize;
    while at < b.len() {
        let key = B256::from_slice(b.get(at..at + 32)?);
        let l = b.get(at + 32..at + 36)?;
        let len = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
        let v = b.get(at + 36..at + 36 + len)?;
        map.insert(key, v.to_vec());
        at += 36 + len;
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_round_trips_save() {
        let dir = std::env::temp_dir().join(format!("fb-cache-{}", std::process::id()));
        let a = Address::repeat_byte(7);
        let mut c = SpecCache::load(&dir, a, b"code");
        assert!(c.is_empty());
        c.put(B256::repeat_byte(1), &[1, 2]);
        c.put(B256::repeat_byte(2), &[]);
        c.save();
        let c2 = SpecCache::load(&dir, a, b"code");
        assert!(SpecCache::load(&dir, a, b"other code").is_empty());
        assert_eq!(c2.len(), 2);
        assert_eq!(c2.get(&B256::repeat_byte(1)), Some(&[1u8, 2][..]));
        assert_eq!(c2.get(&B256::repeat_byte(2)), Some(&[][..]));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn load_errors_are_empty_cache_on_corrupt_file() {
        let dir = std::env::temp_dir().join(format!("fb-cache-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = Address::repeat_byte(9);
        let tag = alloy_primitives::hex::encode(&keccak256(b"c")[..8]);
        std::fs::write(dir.join(format!("{a:x}-{tag}.bin")), [1, 2, 3]).unwrap();
        assert!(SpecCache::load(&dir, a, b"c").is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn keys_differ_by_op_target_and_data() {
        let t = Address::repeat_byte(1);
        assert_ne!(read_key(1, t, B256::ZERO), read_key(4, t, B256::ZERO));
        assert_ne!(
            call_key(8, t, U256::ZERO, &[1]),
            call_key(8, t, U256::ZERO, &[2])
        );
        assert_ne!(
            call_key(8, t, U256::ZERO, &[1]),
            call_key(10, t, U256::ZERO, &[1])
        );
    }
}
