//! Which part of a log a cleaning pass may touch, and whether the log is due for one
//! (Kafka's `LogCleanerManager.cleanableOffsets`, `LogToClean` and `maxCompactionDelay`).

use crate::storage::config::LogConfig;
use crate::storage::log::{LogView, SegmentView};

/// The cleanable portion of a log at some instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanableRange {
    /// Where the dirty section starts (the cleaner checkpoint, or the log start offset).
    pub first_dirty_offset: i64,
    /// Where cleaning must stop: the active segment's base offset, the first segment with a
    /// record younger than `min.compaction.lag.ms`, or the segment holding the last stable
    /// offset, whichever comes first. Always a segment's base offset.
    pub first_uncleanable_offset: i64,
    /// Bytes of the segments before the dirty section.
    pub clean_bytes: u64,
    /// Bytes of the segments of the dirty section that may be cleaned.
    pub cleanable_bytes: u64,
    /// Whether a dirty record is older than `max.compaction.lag.ms`.
    pub needs_compaction_now: bool,
}

impl CleanableRange {
    /// Share of the log (up to the uncleanable point) that is dirty.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            0.0
        } else {
            self.cleanable_bytes as f64 / total as f64
        }
    }

    /// Whether the background cleaner should clean the log now: as Kafka, the dirty ratio is
    /// above `min.cleanable.dirty.ratio`, or a dirty record passed `max.compaction.lag.ms`
    /// and there is something to clean.
    pub fn is_eligible(&self, config: &LogConfig) -> bool {
        if self.clean_bytes + self.cleanable_bytes == 0 {
            return false;
        }
        (self.needs_compaction_now && self.cleanable_bytes > 0)
            || self.dirty_ratio() > config.min_cleanable_dirty_ratio
    }
}

/// Sum of the sizes of the segments overlapping `[from, to)`.
fn bytes_overlapping(segments: &[SegmentView], from: i64, to: i64) -> u64 {
    overlapping(segments, from, to).map(|s| s.size).sum()
}

/// Segments overlapping `[from, to)`: those starting before `to` whose successor starts
/// after `from` (the last segment reaches to infinity).
pub fn overlapping(
    segments: &[SegmentView],
    from: i64,
    to: i64,
) -> impl Iterator<Item = &SegmentView> {
    segments.iter().enumerate().filter_map(move |(i, s)| {
        let upper = segments.get(i + 1).map_or(i64::MAX, |n| n.base_offset);
        (s.base_offset < to && upper > from).then_some(s)
    })
}

/// Works out the cleanable range of a log from a snapshot of it; `checkpoint` is the stored
/// first dirty offset.
pub fn cleanable_range(
    view: &LogView,
    checkpoint: Option<i64>,
    config: &LogConfig,
    now_ms: i64,
) -> CleanableRange {
    let segments = &view.segments[..];
    let first_dirty = match checkpoint {
        Some(c) if c >= view.log_start_offset && c <= view.log_end_offset => c,
        _ => view.log_start_offset,
    };
    let Some((active, closed)) = segments.split_last() else {
        return CleanableRange {
            first_dirty_offset: first_dirty,
            first_uncleanable_offset: first_dirty,
            clean_bytes: 0,
            cleanable_bytes: 0,
            needs_compaction_now: false,
        };
    };
    // Closed segments holding dirty records.
    let dirty: Vec<&SegmentView> = overlapping(closed, first_dirty, i64::MAX).collect();
    let mut uncleanable = active.base_offset;
    // Never past the last stable offset: stop at the segment holding it.
    if let Some(s) = segments
        .iter()
        .rev()
        .find(|s| s.base_offset <= view.last_stable_offset)
    {
        uncleanable = uncleanable.min(s.base_offset);
    }
    let min_lag = config.min_compaction_lag_ms.max(0);
    if min_lag > 0 {
        let cutoff = now_ms.saturating_sub(min_lag);
        if let Some(s) = dirty.iter().find(|s| s.max_timestamp > cutoff) {
            uncleanable = uncleanable.min(s.base_offset);
        }
    }
    let max_lag = config.max_compaction_lag_ms.max(0);
    let clean_until = now_ms.saturating_sub(max_lag);
    let earliest_dirty = dirty
        .iter()
        .filter_map(|s| s.first_timestamp)
        .filter(|t| *t > 0)
        .min()
        .unwrap_or(i64::MAX);
    let first_uncleanable = uncleanable;
    let clean_bytes = bytes_overlapping(segments, i64::MIN, first_dirty);
    let cleanable_bytes = if first_dirty < first_uncleanable {
        bytes_overlapping(segments, first_dirty, first_uncleanable)
    } else {
        0
    };
    CleanableRange {
        first_dirty_offset: first_dirty,
        first_uncleanable_offset: first_uncleanable,
        clean_bytes,
        cleanable_bytes,
        needs_compaction_now: earliest_dirty < clean_until,
    }
}
