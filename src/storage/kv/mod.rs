//! The keyed state store: a write-ahead log, memtables, SSTables with bloom filters and
//! block compression, and the seed's compaction strategies, behind [`StateStore`].
//!
//! The broker keeps topics and configs, committed offsets, producer ids and transaction
//! state here, and log compaction uses it as a key index when keys don't fit in memory.
//! Keys and values are bytes; iteration is in key order, so prefix and range scans (all
//! offsets of a group under `offsets/<group>/`) are cheap.

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
