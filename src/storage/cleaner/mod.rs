//! Kafka's key-based log compaction (`cleanup.policy=compact`): the cleaner keeps, in the
//! closed segments of a log, only the latest record of each key.
//!
//! A pass (Kafka's `Cleaner.doClean`):
//! 1. works out the dirty section, from the cleaner checkpoint (`cleaner-offset-checkpoint`
//!    in the partition directory) up to the first uncleanable offset: the active segment,
//!    the segment holding the last stable offset, or the first segment holding a record
//!    younger than `min.compaction.lag.ms`, whichever comes first;
//! 2. indexes key → latest offset over the dirty section in an [`OffsetMap`], which spills
//!    into a temporary keyed state store when the keys exceed the memory budget
//!    (`log.cleaner.dedupe.buffer.size`), so a pass always covers the whole dirty section;
//! 3. rewrites every closed segment below the uncleanable point, grouped up to
//!    `segment.bytes` per cleaned segment, keeping offsets (gaps appear), batch boundaries and
//!    batch fields, and swaps the cleaned segments in with a crash-safe file protocol
//!    (`.cleaned` → `.swap` → final, old segments `.deleted`; see [`swap`](crate::storage::swap));
//! 4. advances the checkpoint.
//!
//! Tombstones (null values) survive the pass that first sees them and get a delete horizon
//! (KIP-534: batch attribute 0x40, base timestamp = now + `delete.retention.ms`); a later
//! pass after the horizon removes them. Keyless records are removed. Emptied batches are
//! dropped, except the last data batch of each producer the log's producer state knows
//! (idempotence) and the last batch of each cleaned segment (so the segment keeps its end
//! offset, which is also how a restart tells what an interrupted swap replaced). Control
//! and transactional batches are left untouched and unindexed for now: transaction-aware
//! cleaning (dropping aborted data, removing markers after the horizon) is still to come.
//!
//! The background [`LogCleaner`] picks the filthiest eligible log (dirty ratio above
//! `min.cleanable.dirty.ratio`, or a dirty record older than `max.compaction.lag.ms`) every
//! `backoff` and cleans it; `Log::compact` forces a pass.

mod checkpoint;
mod clean;
mod filter;
pub mod manager;
mod offset_map;
mod plan;
mod segment_io;

use std::time::Duration;

use crate::storage::error::Result;
use crate::storage::log::Log;
use crate::storage::types::DEFAULT_MAX_DECOMPRESSED;

pub use crate::storage::log::{LogView, SegmentView};
pub use crate::storage::swap::SPILL_DIR_NAME;
pub use crate::storage::validate::{partition_name, validate_keys};
pub use checkpoint::CHECKPOINT_FILE;
pub use filter::delete_horizon;
pub use manager::LogCleaner;
pub use offset_map::OffsetMap;
pub use plan::CleanableRange;

/// Cleaner settings (Kafka's `log.cleaner.*` broker configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanerConfig {
    /// Memory for the key → offset map of one pass (`log.cleaner.dedupe.buffer.size`,
    /// default 128 MiB); beyond it the map spills to disk.
    pub dedupe_buffer_size: usize,
    /// Read buffer for segments (`log.cleaner.io.buffer.size`, default 512 KiB; grows to
    /// hold a larger batch).
    pub io_buffer_size: usize,
    /// Largest decompressed records section of one batch.
    pub max_decompressed: usize,
    /// Pause between passes of the background cleaner when nothing was due
    /// (`log.cleaner.backoff.ms`, default 15 s).
    pub backoff: Duration,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            dedupe_buffer_size: 128 * 1024 * 1024,
            io_buffer_size: 512 * 1024,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            backoff: Duration::from_secs(15),
        }
    }
}

/// What one cleaning pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompactionStats {
    /// Start of the dirty section the pass indexed.
    pub first_dirty_offset: i64,
    /// Where the pass stopped; the new cleaner checkpoint.
    pub end_offset: i64,
    /// The dirty ratio before the pass.
    pub dirty_ratio: f64,
    /// Keyed records indexed from the dirty section.
    pub keys_indexed: u64,
    /// Whether the key index outgrew its memory budget and spilled to the state store.
    pub offset_map_spilled: bool,
    /// Bytes read while indexing.
    pub map_bytes_read: u64,
    /// Segments replaced.
    pub segments_cleaned: u64,
    /// Cleaned segments written in their place.
    pub segments_written: u64,
    /// Bytes of the replaced segments.
    pub bytes_read: u64,
    /// Bytes of the cleaned segments.
    pub bytes_written: u64,
    /// Records examined.
    pub records_read: u64,
    /// Records kept.
    pub records_retained: u64,
    /// Tombstones removed after their delete horizon.
    pub tombstones_removed: u64,
    /// Keyless records removed.
    pub invalid_records: u64,
    /// Batches rewritten.
    pub batches_rebuilt: u64,
    /// Emptied batches kept as headers.
    pub empty_batches_kept: u64,
    /// Batches dropped.
    pub batches_dropped: u64,
    /// False if the log changed under the pass and a segment was left uncleaned (the
    /// checkpoint then stays, and the next pass redoes the work).
    pub complete: bool,
}

// Log's compaction entry points live here, beside the cleaner they run, so that the log
// never imports the cleaner (the cleaner works on a `Log`, not the reverse).
impl Log {
    /// Compacts the log now (the seed's `Compact()`), as if the time were `now_ms`: keeps
    /// the latest record of each key in the closed segments, whatever the dirty ratio. Uses
    /// the default [`CleanerConfig`]; a log whose `cleanup.policy` lacks `compact` is left
    /// alone.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionStats> {
        Cleaner::default().clean(self, now_ms)
    }

    /// [`Log::compact`] at the wall-clock time.
    pub fn compact_now(&self) -> Result<CompactionStats> {
        self.compact(crate::storage::log::now_ms())
    }
}

/// Runs cleaning passes with one configuration.
#[derive(Debug, Clone, Default)]
pub struct Cleaner {
    config: CleanerConfig,
}

impl Cleaner {
    /// A cleaner with `config`.
    pub fn new(config: CleanerConfig) -> Cleaner {
        Cleaner { config }
    }

    /// The configuration.
    pub fn config(&self) -> &CleanerConfig {
        &self.config
    }

    /// Cleans `log` now, as if the time were `now_ms`, whatever its dirty ratio. A log whose
    /// `cleanup.policy` lacks `compact` is left alone (default stats).
    pub fn clean(&self, log: &Log, now_ms: i64) -> Result<CompactionStats> {
        Ok(clean::clean_log(log, now_ms, &self.config, true)?.unwrap_or_default())
    }

    /// Cleans `log` if it is compacted and due at `now_ms`; `None` if it was not.
    pub fn clean_if_due(&self, log: &Log, now_ms: i64) -> Result<Option<CompactionStats>> {
        clean::clean_log(log, now_ms, &self.config, false)
    }

    /// The log's cleanable range at `now_ms` (for eligibility and inspection).
    pub fn cleanable_range(&self, log: &Log, now_ms: i64) -> Result<CleanableRange> {
        clean::log_cleanable_range(log, now_ms)
    }
}
