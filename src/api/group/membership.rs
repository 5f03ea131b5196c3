//! The classic group protocol: JoinGroup v0–v9, SyncGroup v0–v5, Heartbeat v0–v4 and
//! LeaveGroup v0–v5.

use std::future::Future;

use tokio::sync::watch;

/// Waits for `answer`, or answers `on_shutdown` once the broker begins shutting down (a
/// rebalance may wait far longer than the shutdown drain).
pub(crate) async fn until_shutdown<T>(
    answer: impl Future<Output = T>,
    mut shutdown: watch::Receiver<bool>,
    on_shutdown: impl FnOnce() -> T,
) -> T {
    tokio::select! {
        r = answer => r,
        _ = shutdown.wait_for(|s| *s) => on_shutdown(),
    }
}
