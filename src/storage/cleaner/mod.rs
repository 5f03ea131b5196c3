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

use crate::storage::error::Result;
use crate::storage::log::Log;

pub use crate::storage::log::{LogView, SegmentView};
pub use crate::storage::swap::SPILL_DIR_NAME;
pub use crate::storage::validate::{partition_name, validate_keys};
pub use checkpoint::CHECKPOINT_FILE;
pub use clean::{CleanerConfig, CompactionStats};
pub use filter::delete_horizon;
pub use manager::LogCleaner;
pub use offset_map::OffsetMap;
pub use plan::CleanableRange;

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
