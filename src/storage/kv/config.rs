//! Configuration of the keyed state store, with the seed API's defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::storage::Compression;

/// When the write-ahead log forces its appends to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalSyncMode {
    /// fsync after every append: an acknowledged write survives a power loss.
    #[default]
    Always,
    /// fsync at most this long after a write, from the store's background thread (which
    /// runs for this mode even without `background_maintenance`); otherwise as `Manual`.
    Interval(Duration),
    /// fsync only on an explicit `sync`, on a segment roll and on close: a process crash
    /// loses nothing, a power loss may lose the unsynced tail.
    Manual,
}

/// Write-ahead log configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalConfig {
    /// Directory of the log's segments; `None` means `<store dir>/wal`.
    pub dir: Option<PathBuf>,
    /// A segment is rolled once it reaches this many bytes (default 64 MiB).
    pub segment_bytes: u64,
    /// When appends are forced to disk.
    pub sync_mode: WalSyncMode,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            dir: None,
            segment_bytes: 64 * 1024 * 1024,
            sync_mode: WalSyncMode::Always,
        }
    }
}

/// MemTable configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemTableConfig {
    /// Size in bytes at which the active memtable becomes immutable (default 64 MiB).
    pub max_size: u64,
    /// How many immutable memtables may wait for their flush before writers flush them
    /// (default 2; 0 flushes on every rotation).
    pub num_immutable: usize,
}

impl Default for MemTableConfig {
    fn default() -> Self {
        MemTableConfig {
            max_size: 64 * 1024 * 1024,
            num_immutable: 2,
        }
    }
}

/// SSTable configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SsTableConfig {
    /// Target uncompressed size of a data block (default 4 KiB).
    pub block_size: usize,
    /// Whether tables carry a bloom filter over their keys (default true).
    pub bloom_filter_enabled: bool,
    /// The bloom filter's target false-positive rate (default 0.01).
    pub bloom_filter_fp_rate: f64,
    /// Codec of data blocks (default none).
    pub compression: Compression,
}

impl Default for SsTableConfig {
    fn default() -> Self {
        SsTableConfig {
            block_size: 4 * 1024,
            bloom_filter_enabled: true,
            bloom_filter_fp_rate: 0.01,
            compression: Compression::None,
        }
    }
}

/// How tables are chosen for merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompactionStrategy {
    /// Tables flow from level 0 into sorted, non-overlapping levels whose sizes grow by
    /// `size_ratio`.
    #[default]
    Leveled,
    /// Runs of adjacent tables of similar size are merged into one.
    SizeTiered,
    /// Adjacent tables created in the same time window are merged into one.
    TimeWindow,
}

/// Compaction configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionConfig {
    /// The strategy.
    pub strategy: CompactionStrategy,
    /// Compactions allowed at once. Compactions currently run one at a time on the calling
    /// thread, so values above 1 behave as 1.
    pub max_concurrent: usize,
    /// Leveled: each level holds `size_ratio` times the bytes of the one above it.
    /// Size-tiered: tables are "similar" when the largest is at most `size_ratio` times the
    /// smallest. Default 10.
    pub size_ratio: u64,
    /// Leveled: number of level-0 tables that triggers a level-0 compaction (default 4).
    pub level0_trigger: usize,
    /// Leveled: byte budget of level 1 (default 256 MiB).
    pub level1_bytes: u64,
    /// Leveled: number of levels, level 0 included (default 7).
    pub max_levels: u32,
    /// Leveled: compaction output is split into tables of about this size (default 64 MiB).
    pub target_table_bytes: u64,
    /// Size-tiered and time-window: fewest tables merged at once (default 4).
    pub min_merge_tables: usize,
    /// Time-window: width of a window (default one hour).
    pub time_window: Duration,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            strategy: CompactionStrategy::Leveled,
            max_concurrent: 1,
            size_ratio: 10,
            level0_trigger: 4,
            level1_bytes: 256 * 1024 * 1024,
            max_levels: 7,
            target_table_bytes: 64 * 1024 * 1024,
            min_merge_tables: 4,
            time_window: Duration::from_secs(3600),
        }
    }
}

/// Configuration of a [`StateStore`](super::StateStore).
#[derive(Debug, Clone, PartialEq)]
pub struct StateStoreConfig {
    /// Write-ahead log.
    pub wal: WalConfig,
    /// MemTables.
    pub memtable: MemTableConfig,
    /// SSTables.
    pub sstable: SsTableConfig,
    /// Compaction.
    pub compaction: CompactionConfig,
    /// Flush immutable memtables and compact on a background thread (default true).
    /// Writers still flush inline when more than `memtable.num_immutable` memtables wait,
    /// and always when this is off.
    pub background_maintenance: bool,
}

impl Default for StateStoreConfig {
    fn default() -> Self {
        StateStoreConfig {
            wal: WalConfig::default(),
            memtable: MemTableConfig::default(),
            sstable: SsTableConfig::default(),
            compaction: CompactionConfig::default(),
            background_maintenance: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_seed() {
        let c = StateStoreConfig::default();
        assert_eq!(c.memtable.max_size, 64 * 1024 * 1024);
        assert_eq!(c.sstable.block_size, 4096);
        assert!(c.sstable.bloom_filter_enabled);
        assert!((c.sstable.bloom_filter_fp_rate - 0.01).abs() < f64::EPSILON);
        assert_eq!(c.compaction.strategy, CompactionStrategy::Leveled);
        assert_eq!(c.wal.sync_mode, WalSyncMode::Always);
    }
}
