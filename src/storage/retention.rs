//! The seed's `RetentionManager`: deletes whole closed segments of registered logs that are
//! older than `retention.ms` or beyond `retention.bytes`, advancing each log start offset.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use parking_lot::Mutex;

use crate::storage::error::Result;
use crate::storage::log::{Log, SegmentInfo};

/// How often retention runs, and limits for logs that set none of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Time between two enforcement passes (`log.retention.check.interval.ms`).
    pub check_interval: Duration,
    /// Applied to logs whose own `retention_ms` is unset; ≤ 0 means none.
    pub retention_ms: i64,
    /// Applied to logs whose own `retention_bytes` is unset; ≤ 0 means none.
    pub retention_bytes: i64,
}

impl Default for RetentionConfig {
    /// Checks every 5 minutes (Kafka's default) and adds no limits of its own.
    fn default() -> Self {
        RetentionConfig {
            check_interval: Duration::from_secs(300),
            retention_ms: 0,
            retention_bytes: 0,
        }
    }
}

/// What one enforcement pass (or all of them, cumulatively) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionStats {
    /// Segments deleted.
    pub segments_deleted: i64,
    /// Bytes of segment files deleted.
    pub bytes_reclaimed: i64,
    /// Logs evaluated.
    pub partitions_checked: i64,
}

#[derive(Default)]
struct Totals {
    segments_deleted: AtomicI64,
    bytes_reclaimed: AtomicI64,
    partitions_checked: AtomicI64,
}

/// Enforces retention on registered logs, on demand or from a background thread.
pub struct RetentionManager {
    config: Mutex<RetentionConfig>,
    logs: Arc<DashMap<String, Arc<Log>>>,
    totals: Arc<Totals>,
    worker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for RetentionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetentionManager")
            .field("config", &*self.config.lock())
            .field("logs", &self.logs.len())
            .finish()
    }
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl RetentionManager {
    /// A manager that does nothing until logs are registered and it is started or asked.
    pub fn new(config: RetentionConfig) -> RetentionManager {
        RetentionManager {
            config: Mutex::new(config),
            logs: Arc::new(DashMap::new()),
            totals: Arc::new(Totals::default()),
            worker: Mutex::new(None),
        }
    }

    /// Changes the interval of the background thread (applies from its next start).
    pub fn set_check_interval(&self, every: Duration) {
        self.config.lock().check_interval = every;
    }

    /// Puts a partition's log under management.
    pub fn register_log(&self, partition_id: &str, log: Arc<Log>) {
        self.logs.insert(partition_id.to_string(), log);
    }

    /// Takes a partition's log out of management.
    pub fn unregister_log(&self, partition_id: &str) {
        self.logs.remove(partition_id);
    }

    /// Runs one pass now with the wall clock.
    pub fn enforce_now(&self) -> RetentionStats {
        self.enforce_at(wall_clock_ms())
    }

    /// Runs one pass as if the time were `now_ms`.
    pub fn enforce_at(&self, now_ms: i64) -> RetentionStats {
        let config = *self.config.lock();
        enforce(&config, &self.logs, &self.totals, now_ms)
    }

    /// Cumulative stats of every pass so far.
    pub fn stats(&self) -> RetentionStats {
        RetentionStats {
            segments_deleted: self.totals.segments_deleted.load(Ordering::Relaxed),
            bytes_reclaimed: self.totals.bytes_reclaimed.load(Ordering::Relaxed),
            partitions_checked: self.totals.partitions_checked.load(Ordering::Relaxed),
        }
    }

    /// Starts the background thread that enforces retention every `check_interval`.
    pub fn start(&self) -> Result<()> {
        let mut worker = self.worker.lock();
        if worker.is_some() {
            return Ok(());
        }
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let config = *self.config.lock();
        let logs = Arc::clone(&self.logs);
        let totals = Arc::clone(&self.totals);
        let handle = std::thread::Builder::new()
            .name("skiff-retention".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stop_rx.recv_timeout(config.check_interval)
                {
                    enforce(&config, &logs, &totals, wall_clock_ms());
                }
            })?;
        *worker = Some((stop_tx, handle));
        Ok(())
    }

    /// Stops the background thread and waits for it.
    pub fn stop(&self) {
        if let Some((stop, handle)) = self.worker.lock().take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("retention thread panicked");
            }
        }
    }
}

impl Drop for RetentionManager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn enforce(
    config: &RetentionConfig,
    logs: &DashMap<String, Arc<Log>>,
    totals: &Totals,
    now_ms: i64,
) -> RetentionStats {
    let mut stats = RetentionStats::default();
    let all: Vec<(String, Arc<Log>)> = logs
        .iter()
        .map(|e| (e.key().clone(), Arc::clone(e.value())))
        .collect();
    for (id, log) in all {
        if log.is_closed() {
            continue;
        }
        stats.partitions_checked += 1;
        match enforce_log(config, &log, now_ms) {
            Ok((segments, bytes)) => {
                stats.segments_deleted += segments as i64;
                stats.bytes_reclaimed += bytes as i64;
                if segments > 0 {
                    tracing::info!(partition = %id, segments, bytes, "retention deleted segments");
                }
            }
            Err(e) => tracing::error!(partition = %id, error = %e, "retention failed"),
        }
    }
    totals
        .segments_deleted
        .fetch_add(stats.segments_deleted, Ordering::Relaxed);
    totals
        .bytes_reclaimed
        .fetch_add(stats.bytes_reclaimed, Ordering::Relaxed);
    totals
        .partitions_checked
        .fetch_add(stats.partitions_checked, Ordering::Relaxed);
    stats
}

/// How many of the oldest segments retention may delete, and whether the active segment
/// must be rolled first (every segment, the active one included, expired by time).
fn deletable(
    segments: &[SegmentInfo],
    retention_ms: Option<i64>,
    retention_bytes: Option<u64>,
    now_ms: i64,
) -> (usize, bool) {
    let mut by_time = 0;
    if let Some(ms) = retention_ms {
        by_time = segments
            .iter()
            .take_while(|s| s.size > 0 && s.max_timestamp >= 0 && s.max_timestamp < now_ms - ms)
            .count();
    }
    let closed = segments.len().saturating_sub(1);
    let mut by_size = 0;
    if let Some(limit) = retention_bytes {
        let total: u64 = segments.iter().map(|s| s.size).sum();
        let mut excess = total.saturating_sub(limit);
        for s in segments.iter().take(closed) {
            if excess >= s.size && s.size > 0 {
                excess -= s.size;
                by_size += 1;
            } else {
                break;
            }
        }
    }
    let roll_active = by_time == segments.len() && !segments.is_empty();
    (by_time.max(by_size).min(segments.len()), roll_active)
}

fn enforce_log(config: &RetentionConfig, log: &Log, now_ms: i64) -> Result<(u64, u64)> {
    let lc = log.config();
    if !lc.cleanup_policy.delete {
        return Ok((0, 0));
    }
    let retention_ms = lc
        .retention_ms
        .filter(|ms| *ms >= 0)
        .or((config.retention_ms > 0).then_some(config.retention_ms));
    let retention_bytes = lc
        .retention_bytes
        .or((config.retention_bytes > 0).then_some(config.retention_bytes as u64));
    let segments = log.segment_infos();
    let (count, roll_active) = deletable(&segments, retention_ms, retention_bytes, now_ms);
    if count == 0 {
        return Ok((0, 0));
    }
    if roll_active {
        log.roll_now()?;
    }
    log.delete_oldest_segments(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, size: u64, ts: i64) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: base + 10,
            size,
            max_timestamp: ts,
        }
    }

    #[test]
    fn time_retention_deletes_an_expired_prefix_only() {
        let segs = [
            seg(0, 100, 10),
            seg(10, 100, 50),
            seg(20, 100, 20),
            seg(30, 0, -1),
        ];
        assert_eq!(deletable(&segs, Some(100), None, 140), (1, false));
        assert_eq!(deletable(&segs, Some(100), None, 160), (3, false));
        assert_eq!(deletable(&segs, None, None, 10_000), (0, false));
        let all_old = [seg(0, 100, 10), seg(10, 100, 20)];
        assert_eq!(deletable(&all_old, Some(100), None, 1000), (2, true));
    }

    #[test]
    fn size_retention_keeps_the_log_at_or_above_the_limit() {
        let segs = [
            seg(0, 100, 1),
            seg(10, 100, 1),
            seg(20, 100, 1),
            seg(30, 50, 1),
        ];
        assert_eq!(deletable(&segs, None, Some(350), 0), (0, false));
        assert_eq!(deletable(&segs, None, Some(250), 0), (1, false));
        assert_eq!(deletable(&segs, None, Some(150), 0), (2, false));
        // The active segment is never deleted for size.
        assert_eq!(deletable(&segs, None, Some(0), 0), (3, false));
    }
}
