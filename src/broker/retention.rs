//! Time and size retention: deletes whole closed segments from the front of each partition
//! log, advancing its log start offset (Kafka's `log.retention.ms` / `log.retention.bytes`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::storage::SegmentInfo;

use super::ReplicaManager;

/// The retention limits of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Segments whose newest record is older than this many ms go; -1: no time limit.
    pub retention_ms: i64,
    /// Oldest segments go while the log exceeds this many bytes without them; -1: no limit.
    pub retention_bytes: i64,
}

/// The offset to delete before, if any whole closed segment breaks the policy. Only a
/// prefix of segments is deleted and the active (last) segment never is.
pub fn retention_cutoff(
    segments: &[SegmentInfo],
    now_ms: i64,
    policy: RetentionPolicy,
) -> Option<i64> {
    let closed = segments.len().saturating_sub(1);
    let mut excess: i64 = if policy.retention_bytes >= 0 {
        let total: u64 = segments.iter().map(|s| s.size).sum();
        i64::try_from(total).unwrap_or(i64::MAX) - policy.retention_bytes
    } else {
        0
    };
    let mut cutoff = None;
    for seg in segments.iter().take(closed) {
        let expired = policy.retention_ms >= 0
            && seg.max_timestamp >= 0
            && now_ms.saturating_sub(seg.max_timestamp) > policy.retention_ms;
        let size = i64::try_from(seg.size).unwrap_or(i64::MAX);
        let over_size = policy.retention_bytes >= 0 && excess - size >= 0;
        if !(expired || over_size) {
            break;
        }
        excess -= size;
        cutoff = Some(seg.next_offset);
    }
    cutoff
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Applies `policy` to every log once.
pub fn enforce_once(replicas: &ReplicaManager, policy: RetentionPolicy) {
    for (name, partition, log) in replicas.all_logs() {
        let Some(cutoff) = retention_cutoff(&log.segment_infos(), now_ms(), policy) else {
            continue;
        };
        match log.delete_before(cutoff) {
            Ok((segments, bytes)) => tracing::info!(
                topic = %name, partition, log_start_offset = cutoff, segments, bytes,
                "retention deleted segments"
            ),
            Err(e) => tracing::warn!(topic = %name, partition, error = %e, "retention failed"),
        }
    }
}

/// Runs retention every `every` until `shutdown` turns true.
pub async fn run(
    replicas: Arc<ReplicaManager>,
    policy: RetentionPolicy,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    if policy.retention_ms < 0 && policy.retention_bytes < 0 {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let r = replicas.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || enforce_once(&r, policy)).await {
            tracing::error!(error = %e, "retention task failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(base: i64, next: i64, size: u64, ts: i64) -> SegmentInfo {
        SegmentInfo {
            base_offset: base,
            next_offset: next,
            size,
            max_timestamp: ts,
        }
    }

    #[test]
    fn time_retention_deletes_an_expired_prefix_but_never_the_active_segment() {
        let segs = [
            seg(0, 10, 100, 1000),
            seg(10, 20, 100, 5000),
            seg(20, 30, 100, 1000),
        ];
        let p = RetentionPolicy {
            retention_ms: 2000,
            retention_bytes: -1,
        };
        // At 4000 only the first is expired; the second (newer) stops the scan.
        assert_eq!(retention_cutoff(&segs, 4000, p), Some(10));
        // Much later, both closed segments go; the active one stays.
        assert_eq!(retention_cutoff(&segs, 100_000, p), Some(20));
        assert_eq!(retention_cutoff(&segs, 1500, p), None);
    }

    #[test]
    fn size_retention_keeps_the_log_under_the_limit() {
        let segs = [seg(0, 10, 100, 0), seg(10, 20, 100, 0), seg(20, 30, 100, 0)];
        let p = |bytes| RetentionPolicy {
            retention_ms: -1,
            retention_bytes: bytes,
        };
        // As Kafka: a segment goes only if the log stays at or above the limit without it.
        assert_eq!(retention_cutoff(&segs, 0, p(250)), None);
        assert_eq!(retention_cutoff(&segs, 0, p(200)), Some(10));
        assert_eq!(retention_cutoff(&segs, 0, p(100)), Some(20));
        assert_eq!(retention_cutoff(&segs, 0, p(0)), Some(20));
        assert_eq!(retention_cutoff(&segs, 0, p(-1)), None);
    }
}
