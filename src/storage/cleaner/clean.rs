//! One cleaning pass over one log (Kafka's `Cleaner.doClean`): index the dirty section, then
//! rewrite every closed segment below the uncleanable point, group by group, keeping the
//! latest record of each key, and swap the cleaned segments in.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::checkpoint;
use super::filter::{FilterCounts, RecordFilter};
use super::offset_map::OffsetMap;
use super::plan::{cleanable_range, overlapping, CleanableRange};
use super::segment_io::{BatchReader, CleanedSegmentWriter};
use crate::storage::error::{Result, StorageError};
use crate::storage::log::Log;
use crate::storage::log::SegmentView;
use crate::storage::record::BatchHeader;
use crate::storage::swap;
use crate::storage::types::{MessageBatch, DEFAULT_MAX_DECOMPRESSED};

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

/// Logs being cleaned right now (one pass per log at a time, whoever asks).
static IN_PROGRESS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
static DONE: Condvar = Condvar::new();

struct InProgress(PathBuf);

impl InProgress {
    fn acquire(dir: &Path) -> InProgress {
        let mut set = IN_PROGRESS.lock();
        while set.contains(dir) {
            DONE.wait(&mut set);
        }
        set.insert(dir.to_path_buf());
        InProgress(dir.to_path_buf())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        IN_PROGRESS.lock().remove(&self.0);
        DONE.notify_all();
    }
}

/// The log's cleanable range now.
pub fn log_cleanable_range(log: &Log, now_ms: i64) -> Result<CleanableRange> {
    let view = log.cleaner_view()?;
    let checkpoint = checkpoint::read(log.dir())?;
    Ok(cleanable_range(&view, checkpoint, &log.config(), now_ms))
}

/// Groups consecutive segments so that each group's total size stays within `max_bytes`
/// (a group always takes at least one segment).
fn group_by_size(segments: &[SegmentView], max_bytes: u64) -> Vec<&[SegmentView]> {
    let mut groups = Vec::new();
    let mut rest = segments;
    while let Some((first, after_first)) = rest.split_first() {
        let mut size = first.size;
        let more = after_first
            .iter()
            .take_while(|next| {
                size += next.size;
                size <= max_bytes
            })
            .count();
        let (group, after) = rest.split_at_checked(1 + more).unwrap_or((rest, &[]));
        groups.push(group);
        rest = after;
    }
    groups
}

/// Runs a pass on `log` at time `now_ms`. Without `force`, only if the log is eligible.
/// Returns `None` when the log is not compacted or (without `force`) not due.
pub fn clean_log(
    log: &Log,
    now_ms: i64,
    cfg: &CleanerConfig,
    force: bool,
) -> Result<Option<CompactionStats>> {
    let dir = log.dir().to_path_buf();
    let _guard = InProgress::acquire(&dir);
    let config = log.config();
    if !config.cleanup_policy.compact {
        return Ok(None);
    }
    let view = log.cleaner_view()?;
    let checkpoint_offset = checkpoint::read(&dir)?;
    let range = cleanable_range(&view, checkpoint_offset, &config, now_ms);
    if !force && !range.is_eligible(&config) {
        return Ok(None);
    }
    let first_dirty = range.first_dirty_offset;
    let end = range.first_uncleanable_offset;
    let mut stats = CompactionStats {
        first_dirty_offset: first_dirty,
        end_offset: end.max(first_dirty),
        dirty_ratio: range.dirty_ratio(),
        ..CompactionStats::default()
    };
    let Some((_, closed)) = view.segments.split_last() else {
        return Ok(Some(stats));
    };

    // The last data batch of every producer the log knows is kept even when emptied, for
    // its sequence numbers (and the producer state rebuilt from the log on recovery).
    let producer_last = &view.producer_last_offsets;

    // Key → latest offset over the dirty section.
    let mut map = OffsetMap::new(cfg.dedupe_buffer_size, &dir);
    if first_dirty < end {
        for seg in overlapping(closed, first_dirty, end) {
            let mut reader = BatchReader::new(seg, cfg.io_buffer_size);
            while let Some((_, bytes)) = reader.next_batch()? {
                let h = BatchHeader::parse(&bytes)?;
                stats.map_bytes_read += bytes.len() as u64;
                if h.last_offset() < first_dirty || h.is_control() || h.is_transactional() {
                    // Transactions are left to a later issue: their records are neither
                    // indexed nor removed.
                    continue;
                }
                if h.base_offset >= end {
                    break;
                }
                let batch = MessageBatch::from_parts(bytes, h);
                for r in batch.records(cfg.max_decompressed)? {
                    let r = r?;
                    let offset = h
                        .base_offset
                        .checked_add(i64::from(r.offset_delta))
                        .ok_or_else(|| {
                            StorageError::InvalidBatch("record offset overflows".into())
                        })?;
                    if let (Some(key), true) = (&r.key, offset >= first_dirty && offset < end) {
                        map.put(key, offset)?;
                    }
                }
            }
        }
    }
    stats.keys_indexed = map.puts();
    stats.offset_map_spilled = map.spilled();

    // Every closed segment wholly below the uncleanable point, grouped.
    let to_clean: Vec<SegmentView> = closed
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let upper = view.segments.get(i + 1).map_or(i64::MAX, |n| n.base_offset);
            s.base_offset < end && upper <= end
        })
        .map(|(_, s)| s.clone())
        .collect();
    let filter = RecordFilter {
        map: &map,
        now_ms,
        delete_retention_ms: config.delete_retention_ms,
        max_decompressed: cfg.max_decompressed,
    };
    let mut counts = FilterCounts::default();
    let mut complete = true;
    for group in group_by_size(&to_clean, config.segment_bytes) {
        let Some(first) = group.first() else { continue };
        let base = first.base_offset;
        match clean_group(
            log,
            &dir,
            group,
            &filter,
            producer_last,
            cfg,
            &config,
            &mut counts,
            &mut stats,
        ) {
            Ok(true) => {}
            Ok(false) => complete = false,
            Err(e) => {
                if let Err(d) = swap::discard_cleaned(&dir, base) {
                    tracing::warn!(error = %d, "removing an abandoned cleaned segment");
                }
                return Err(e);
            }
        }
    }
    stats.records_read = counts.records_read;
    stats.records_retained = counts.records_retained;
    stats.tombstones_removed = counts.tombstones_removed;
    stats.invalid_records = counts.invalid_records;
    stats.batches_rebuilt = counts.batches_rebuilt;
    stats.empty_batches_kept = counts.empty_batches_kept;
    stats.batches_dropped = counts.batches_dropped;
    stats.complete = complete;
    // A pass that could not replace a segment must be redone from the same dirty offset,
    // or older values in it would outlive a later tombstone.
    if complete && checkpoint_offset != Some(stats.end_offset) {
        checkpoint::write(&dir, stats.end_offset)?;
    }
    tracing::info!(
        log = %dir.display(),
        dirty = ?(stats.first_dirty_offset, stats.end_offset),
        segments = stats.segments_cleaned,
        bytes_read = stats.bytes_read,
        bytes_written = stats.bytes_written,
        records_read = stats.records_read,
        records_retained = stats.records_retained,
        spilled = stats.offset_map_spilled,
        complete,
        "cleaned log"
    );
    Ok(Some(stats))
}

/// Cleans one group of segments into one cleaned segment and swaps it in. Returns false if
/// the log changed under the pass (the group was left as it was).
#[allow(
    clippy::too_many_arguments,
    reason = "one pass's inputs and its two counters; bundling them would only rename them"
)]
fn clean_group(
    log: &Log,
    dir: &Path,
    group: &[SegmentView],
    filter: &RecordFilter<'_>,
    producer_last: &HashMap<i64, i64>,
    cfg: &CleanerConfig,
    config: &crate::storage::config::LogConfig,
    counts: &mut FilterCounts,
    stats: &mut CompactionStats,
) -> Result<bool> {
    let Some(first) = group.first() else {
        return Ok(true);
    };
    // The group's last batch is always kept (empty if need be), so the cleaned segment ends
    // at the same offset as the group did and a restart can tell what a swap replaced.
    let Some(last_nonempty) = group.iter().rposition(|s| s.size > 0) else {
        return Ok(true);
    };
    let mut w = CleanedSegmentWriter::create(dir, first.base_offset, config.index_interval_bytes)?;
    for (i, seg) in group.iter().enumerate() {
        let mut reader = BatchReader::new(seg, cfg.io_buffer_size);
        let mut pending = reader.next_batch()?;
        while let Some((_, bytes)) = pending {
            let next = reader.next_batch()?;
            let last_of_group = i == last_nonempty && next.is_none();
            let h = BatchHeader::parse(&bytes)?;
            stats.bytes_read += bytes.len() as u64;
            if h.is_control() || h.is_transactional() {
                w.append(&bytes)?;
            } else {
                let producer_keeps = h.producer_id >= 0
                    && producer_last.get(&h.producer_id) == Some(&h.last_offset());
                if let Some(out) =
                    filter.filter(&bytes, &h, last_of_group || producer_keeps, counts)?
                {
                    w.append(&out)?;
                }
            }
            pending = next;
        }
    }
    let written = w.size();
    w.finish()?;
    if !log.replace_cleaned(group)? {
        swap::discard_cleaned(dir, first.base_offset)?;
        // Retention may have deleted the whole group meanwhile: then there is nothing left
        // to clean there, and the pass is still complete.
        let now = log.cleaner_view()?;
        let gone = group
            .iter()
            .all(|g| now.segments.iter().all(|s| s.base_offset != g.base_offset));
        return Ok(gone);
    }
    stats.segments_cleaned += group.len() as u64;
    stats.segments_written += 1;
    stats.bytes_written += written;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::config::{CleanupPolicy, LogConfig};
    use crate::storage::log::TimestampType;
    use crate::storage::record::BatchBuilder;
    use crate::storage::{Compression, FsyncPolicy};
    use bytes::BytesMut;

    fn open(dir: &Path) -> Log {
        let config = LogConfig {
            segment_ms: None,
            fsync: FsyncPolicy::Never,
            cleanup_policy: CleanupPolicy {
                delete: true,
                compact: true,
            },
            ..LogConfig::default()
        };
        let log = Log::open(dir, config).unwrap();
        for i in 0..4u8 {
            let mut b = BatchBuilder::new(Compression::None);
            b.push(Some(b"k"), Some(&[i]), &[], 1).unwrap();
            log.append(
                BytesMut::from(&b.build().unwrap()[..]),
                0,
                TimestampType::CreateTime,
            )
            .unwrap();
            log.roll_now().unwrap();
        }
        log
    }

    fn run_group(log: &Log, group: &[SegmentView]) -> Result<bool> {
        let map = OffsetMap::new(1 << 20, log.dir());
        let filter = RecordFilter {
            map: &map,
            now_ms: 0,
            delete_retention_ms: 0,
            max_decompressed: 1 << 20,
        };
        let mut counts = FilterCounts::default();
        let mut stats = CompactionStats::default();
        clean_group(
            log,
            log.dir(),
            group,
            &filter,
            &HashMap::new(),
            &CleanerConfig::default(),
            &log.config(),
            &mut counts,
            &mut stats,
        )
    }

    fn cleaned_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".cleaned")
            })
            .count()
    }

    #[test]
    fn a_group_deleted_by_retention_meanwhile_counts_as_done() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let view = log.cleaner_view().unwrap();
        log.delete_oldest_segments(1).unwrap();
        assert!(run_group(&log, &view.segments[..1]).unwrap());
        assert_eq!(cleaned_files(dir.path()), 0);
    }

    #[test]
    fn a_group_changed_meanwhile_is_left_and_the_pass_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let view = log.cleaner_view().unwrap();
        log.delete_oldest_segments(1).unwrap();
        // Segments 0 and 1 were snapshotted together; 1 is still there.
        assert!(!run_group(&log, &view.segments[..2]).unwrap());
        assert_eq!(cleaned_files(dir.path()), 0);
        assert_eq!(log.segment_infos().len(), 4);
        // The active segment is never replaced.
        assert!(!log.replace_cleaned(&view.segments[3..]).unwrap());
    }
}
