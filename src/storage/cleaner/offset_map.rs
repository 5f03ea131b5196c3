//! The cleaner's key → latest offset map over the dirty section of a log.
//!
//! Kafka's `SkimpyOffsetMap` keeps a fixed-size table of key hashes and, when it fills, cleans
//! only the part of the dirty section it managed to index. Skiff keeps exact keys instead
//! (no hash collisions can drop a live record) within a memory budget
//! (`log.cleaner.dedupe.buffer.size`); when the keys don't fit, the in-memory map is spilled
//! into a temporary keyed state store and indexing carries on, so a pass always covers the
//! whole dirty section. Offsets only grow while the map is built, so the in-memory part is
//! always newer than what was spilled: a lookup asks memory first, then the store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::storage::error::{Result, StorageError};
use crate::storage::kv::{StateStore, StateStoreConfig, WalSyncMode, WriteBatch};
use crate::storage::swap::{remove_spill_dir, SPILL_DIR_NAME};

/// Bytes one in-memory entry costs beyond its key: the boxed key's pointer and length, the
/// offset, the hash table's control byte and slack, and the allocator's overhead.
const ENTRY_OVERHEAD: usize = 48;

/// Key → latest offset for the dirty section, bounded in memory, spilling to disk.
pub struct OffsetMap {
    budget: usize,
    memory: HashMap<Box<[u8]>, i64>,
    memory_bytes: usize,
    spill_dir: PathBuf,
    store: Option<StateStore>,
    latest_offset: i64,
    puts: u64,
    spills: u64,
}

impl std::fmt::Debug for OffsetMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetMap")
            .field("budget", &self.budget)
            .field("in_memory", &self.memory.len())
            .field("spilled", &self.store.is_some())
            .finish()
    }
}

impl OffsetMap {
    /// An empty map holding at most about `budget` bytes in memory; a spill goes to
    /// [`SPILL_DIR_NAME`] under `dir` (removed again when the map is dropped).
    pub fn new(budget: usize, dir: &Path) -> OffsetMap {
        OffsetMap {
            budget,
            memory: HashMap::new(),
            memory_bytes: 0,
            spill_dir: dir.join(SPILL_DIR_NAME),
            store: None,
            latest_offset: -1,
            puts: 0,
            spills: 0,
        }
    }

    /// Records that `key` was written at `offset` (offsets must not decrease).
    pub fn put(&mut self, key: &[u8], offset: i64) -> Result<()> {
        if offset < self.latest_offset {
            return Err(StorageError::CleaningAborted(format!(
                "offset map fed offset {offset} after {}",
                self.latest_offset
            )));
        }
        self.latest_offset = offset;
        self.puts += 1;
        if let Some(slot) = self.memory.get_mut(key) {
            *slot = offset;
            return Ok(());
        }
        self.memory.insert(key.into(), offset);
        self.memory_bytes += key.len() + ENTRY_OVERHEAD;
        if self.memory_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// The latest offset recorded for `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<i64>> {
        if let Some(o) = self.memory.get(key) {
            return Ok(Some(*o));
        }
        let Some(store) = &self.store else {
            return Ok(None);
        };
        match store.get(key)? {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 8] = v.as_slice().try_into().map_err(|_| {
                    StorageError::StateCorrupted(format!("offset map value of {} bytes", v.len()))
                })?;
                Ok(Some(i64::from_be_bytes(bytes)))
            }
        }
    }

    /// The largest offset recorded, or -1.
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    /// Number of `put` calls (keyed records indexed).
    pub fn puts(&self) -> u64 {
        self.puts
    }

    /// Whether part of the map lives in the on-disk store.
    pub fn spilled(&self) -> bool {
        self.store.is_some()
    }

    /// How many times the in-memory part was written out.
    pub fn spills(&self) -> u64 {
        self.spills
    }

    /// Writes the in-memory entries into the store (opening it on first use) and empties
    /// memory. Later flushes overwrite earlier ones, which is right: they are newer.
    fn spill(&mut self) -> Result<()> {
        if self.store.is_none() {
            remove_spill_dir(&self.spill_dir)?;
            let mut config = StateStoreConfig::default();
            config.wal.sync_mode = WalSyncMode::Manual;
            config.background_maintenance = false;
            // The store's memtable counts against nothing else: keep it within the budget.
            config.memtable.max_size = (self.budget as u64 / 2).clamp(64 * 1024, 64 * 1024 * 1024);
            config.memtable.num_immutable = 0;
            self.store = Some(StateStore::open(&self.spill_dir, config)?);
            tracing::info!(dir = %self.spill_dir.display(), budget = self.budget,
                "cleaner offset map exceeds its memory budget; spilling to the state store");
        }
        let Some(store) = &self.store else {
            return Ok(());
        };
        let mut batch = WriteBatch::new();
        let mut in_batch = 0usize;
        for (k, o) in self.memory.drain() {
            batch.put(&*k, o.to_be_bytes());
            in_batch += 1;
            if in_batch == 4096 {
                store.write(&batch)?;
                batch = WriteBatch::new();
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            store.write(&batch)?;
        }
        self.memory_bytes = 0;
        self.spills += 1;
        Ok(())
    }
}

impl Drop for OffsetMap {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            if let Err(e) = store.close() {
                tracing::warn!(error = %e, "closing the cleaner's spilled offset map");
            }
            drop(store);
            if let Err(e) = remove_spill_dir(&self.spill_dir) {
                tracing::warn!(error = %e, "removing the cleaner's spilled offset map");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_and_in_memory_maps_agree() {
        let dir = tempfile::tempdir().unwrap();
        let mut small = OffsetMap::new(200, dir.path());
        let mut big = OffsetMap::new(1 << 30, &dir.path().join("big"));
        for o in 0..5_000i64 {
            let key = format!("key-{}", (o * 7919) % 613);
            small.put(key.as_bytes(), o).unwrap();
            big.put(key.as_bytes(), o).unwrap();
        }
        assert!(small.spilled());
        assert!(small.spills() > 1);
        assert!(!big.spilled());
        for k in 0..700 {
            let key = format!("key-{k}");
            assert_eq!(
                small.get(key.as_bytes()).unwrap(),
                big.get(key.as_bytes()).unwrap()
            );
        }
        assert_eq!(small.get(b"key-3").unwrap(), big.get(b"key-3").unwrap());
        assert_eq!(small.latest_offset(), 4_999);
        let spill = dir.path().join(SPILL_DIR_NAME);
        assert!(spill.exists());
        drop(small);
        assert!(!spill.exists());
    }

    #[test]
    fn decreasing_offsets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = OffsetMap::new(1 << 20, dir.path());
        m.put(b"a", 5).unwrap();
        assert!(m.put(b"b", 4).is_err());
    }
}
