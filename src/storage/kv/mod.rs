//! The keyed state store: a write-ahead log, memtables, SSTables with bloom filters and
//! block compression, and the seed's compaction strategies, behind [`StateStore`].
//!
//! The broker keeps topics and configs, committed offsets, producer ids and transaction
//! state here, and log compaction uses it as a key index when keys don't fit in memory.
//! Keys and values are bytes; iteration is in key order, so prefix and range scans (all
//! offsets of a group under `offsets/<group>/`) are cheap.
//!
//! ```
//! use skiff::storage::kv::{StateStore, StateStoreConfig, WriteBatch};
//!
//! # fn main() -> skiff::storage::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! let store = StateStore::open(dir.path(), StateStoreConfig::default())?;
//! let mut commit = WriteBatch::new();
//! commit.put("offsets/billing/orders-0", 42u64.to_be_bytes());
//! commit.put("offsets/billing/orders-1", 7u64.to_be_bytes());
//! store.write(&commit)?; // one log record: both offsets or neither
//! let offsets = store
//!     .scan_prefix("offsets/billing/")?
//!     .collect::<skiff::storage::Result<Vec<_>>>()?;
//! assert_eq!(offsets.len(), 2);
//! store.close()?;
//! # Ok(())
//! # }
//! ```

mod batch;
mod bloom;
mod codec;
mod compaction;
mod config;
mod manifest;
mod memtable;
mod merge;
mod sstable;
mod store;
mod wal;

pub use batch::{BatchOp, WriteBatch};
pub use bloom::{key_hash, BloomFilter};
pub use compaction::CompactionResult;
pub use config::{
    CompactionConfig, CompactionStrategy, MemTableConfig, SsTableConfig, StateStoreConfig,
    WalConfig, WalSyncMode,
};
pub use memtable::{Entry, MemTable};
pub use sstable::{SsTable, SsTableIter, SsTableWriter};
pub use store::{StateStore, StoreIter, StoreStats, TableInfo};
pub use wal::Wal;
