//! When appended data is forced to disk: the fsync policy.

use std::str::FromStr;
use std::time::Duration;

/// How the log makes appended data durable.
///
/// The default is [`FsyncPolicy::Always`]: a single-node Skiff has no replicas to fall back
/// on, so "acknowledged" (acks=all) should mean "on disk". Group commit makes it affordable:
/// every append waiting for durability shares the next fsync. `interval` bounds what an OS
/// crash can lose to the interval (Kafka's own default leaves flushing to the OS and relies
/// on replication); `never` leaves everything to the page cache (data is still synced on
/// segment roll and close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every append is durable before it is acknowledged; concurrent appends share an fsync.
    #[default]
    Always,
    /// A background flusher syncs every log at this interval.
    Interval(Duration),
    /// Never fsync except on segment roll and close.
    Never,
}

impl FsyncPolicy {
    /// Builds the policy from the `log.fsync.policy` name and `log.fsync.interval.ms`.
    pub fn from_name(name: &str, interval_ms: u64) -> Option<FsyncPolicy> {
        match name {
            "always" => Some(FsyncPolicy::Always),
            "interval" => Some(FsyncPolicy::Interval(Duration::from_millis(
                interval_ms.max(1),
            ))),
            "never" => Some(FsyncPolicy::Never),
            _ => None,
        }
    }

    /// The policy's configuration name.
    pub fn name(&self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::Interval(_) => "interval",
            FsyncPolicy::Never => "never",
        }
    }
}

impl FromStr for FsyncPolicy {
    type Err = String;

    /// Parses `always`, `never`, `interval` (1 s) or `interval:<ms>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(ms) = s.strip_prefix("interval:") {
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("bad fsync interval {ms:?}"))?;
            return Ok(FsyncPolicy::Interval(Duration::from_millis(ms.max(1))));
        }
        FsyncPolicy::from_name(s, 1000).ok_or_else(|| format!("unknown fsync policy {s:?}"))
    }
}
