//! The per-invocation storage cache (port of Nitro's `arbutil::evm::storage`).
//!
//! Loads go through the cache; `storage_cache_bytes32` writes only the cache;
//! `storage_flush_cache` hands the changed slots to the host. Whatever is not
//! flushed when the invocation ends is discarded: the host never flushes by
//! itself. A nested (re-entered) invocation gets a fresh cache.

use alloy_primitives::B256;
use std::collections::HashMap;

/// A slot written through the cache.
#[derive(Debug, Clone, Copy)]
struct Word {
    /// Value the program wrote.
    value: B256,
    /// Value the host is known to hold, if the slot was read first.
    known: Option<B256>,
}

/// Per-invocation storage cache with Nitro's access gas.
#[derive(Debug, Default)]
pub struct StorageCache {
    clean: HashMap<B256, B256>,
    dirty: HashMap<B256, Word>,
    reads: u64,
    writes: u64,
}

impl StorageCache {
    /// Gas for the next cache read: free for the first 32, then 2 up to 128, then 10.
    pub fn read_gas(&mut self) -> u64 {
        self.reads += 1;
        match self.reads {
            0..=32 => 0,
            33..=128 => 2,
            _ => 10,
        }
    }

    /// Gas for the next cache write: free for the first 8, then 7 up to 64, then 10.
    pub fn write_gas(&mut self) -> u64 {
        self.writes += 1;
        match self.writes {
            0..=8 => 0,
            9..=64 => 7,
            _ => 10,
        }
    }

    /// The cached value of `key` (dirty first), if any.
    pub fn get(&self, key: &B256) -> Option<B256> {
        self.dirty
            .get(key)
            .map(|w| w.value)
            .or_else(|| self.clean.get(key).copied())
    }

    /// Records a value read from the host (no-op if the key is cached).
    pub fn insert_known(&mut self, key: B256, value: B256) {
        if self.get(&key).is_none() {
            self.clean.insert(key, value);
        }
    }

    /// Writes `value` to the cache; a slot written back to its known value stays clean.
    pub fn cache(&mut self, key: B256, value: B256) {
        if let Some(word) = self.dirty.get_mut(&key) {
            word.value = value;
            return;
        }
        if let Some(known) = self.clean.remove(&key) {
            if value == known {
                self.clean.insert(key, known);
            } else {
                self.dirty.insert(
                    key,
                    Word {
                        value,
                        known: Some(known),
                    },
                );
            }
            return;
        }
        self.dirty.insert(key, Word { value, known: None });
    }

    /// Number of dirty slots (written but not flushed).
    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }

    /// Takes the changed slots in ascending key order. Without `clear` their
    /// values become clean entries; with `clear` the whole cache is dropped.
    pub fn flush(&mut self, clear: bool) -> Vec<(B256, B256)> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut entries = Vec::with_capacity(dirty.len());
        for (key, word) in dirty {
            if word.known != Some(word.value) {
                entries.push((key, word.value));
            }
            if !clear {
                self.clean.insert(key, word.value);
            }
        }
        if clear {
            self.clean.clear();
        }
        entries.sort_unstable_by_key(|(k, _)| *k);
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: u8) -> B256 {
        B256::with_last_byte(x)
    }

    #[test]
    fn flush_returns_changed_slots_sorted_and_keeps_them_clean() {
        let mut c = StorageCache::default();
        c.insert_known(b(1), b(11));
        c.insert_known(b(2), b(22));
        c.cache(b(3), b(33));
        c.cache(b(2), b(222));
        assert_eq!(c.flush(false), vec![(b(2), b(222)), (b(3), b(33))]);
        assert_eq!(c.get(&b(3)), Some(b(33)));
        assert!(c.flush(false).is_empty());
        c.cache(b(1), b(111));
        assert_eq!(c.flush(true), vec![(b(1), b(111))]);
        assert_eq!(c.get(&b(1)), None);
    }

    #[test]
    fn cache_restoring_known_value_stays_clean() {
        let mut c = StorageCache::default();
        c.insert_known(b(1), b(11));
        c.cache(b(1), b(12));
        c.cache(b(1), b(11));
        assert!(c.flush(false).is_empty());
    }

    #[test]
    fn access_gas_tiers_match_nitro() {
        let mut c = StorageCache::default();
        let reads: Vec<u64> = (0..130).map(|_| c.read_gas()).collect();
        assert_eq!(
            (reads[31], reads[32], reads[127], reads[128]),
            (0, 2, 2, 10)
        );
        let writes: Vec<u64> = (0..66).map(|_| c.write_gas()).collect();
        assert_eq!(
            (writes[7], writes[8], writes[63], writes[64]),
            (0, 7, 7, 10)
        );
    }
}
