//! The background cleaner (Kafka's `LogCleaner` thread): repeatedly picks the filthiest
//! compacted log that is due and cleans it; sleeps `backoff` when none is.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::{clean, Cleaner, CleanerConfig};
use crate::storage::error::Result;
use crate::storage::log::Log;

/// Lists the logs the cleaner looks after (called at every round).
pub type LogSource = Arc<dyn Fn() -> Vec<Arc<Log>> + Send + Sync>;

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Default)]
struct Totals {
    passes: AtomicU64,
    failures: AtomicU64,
}

/// A running background cleaner; stopped by [`LogCleaner::stop`] or on drop.
pub struct LogCleaner {
    worker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    totals: Arc<Totals>,
}

impl std::fmt::Debug for LogCleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCleaner")
            .field("running", &self.worker.lock().is_some())
            .field("passes", &self.passes())
            .finish()
    }
}

/// The filthiest due log of `logs` at `now_ms`, skipping `uncleanable` ones.
fn filthiest(logs: &[Arc<Log>], uncleanable: &HashSet<PathBuf>, now_ms: i64) -> Option<Arc<Log>> {
    let mut best: Option<(f64, Arc<Log>)> = None;
    for log in logs {
        let config = log.config();
        if !config.cleanup_policy.compact || log.is_closed() || uncleanable.contains(log.dir()) {
            continue;
        }
        let range = match clean::log_cleanable_range(log, now_ms) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(log = %log.dir().display(), error = %e, "cannot assess log for cleaning");
                continue;
            }
        };
        if range.is_eligible(&config) && best.as_ref().is_none_or(|(r, _)| range.dirty_ratio() > *r)
        {
            best = Some((range.dirty_ratio(), Arc::clone(log)));
        }
    }
    best.map(|(_, log)| log)
}

impl LogCleaner {
    /// Starts the cleaner thread over the logs `source` lists.
    pub fn start(config: CleanerConfig, source: LogSource) -> Result<LogCleaner> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let totals = Arc::new(Totals::default());
        let shared = Arc::clone(&totals);
        let backoff = config.backoff;
        let cleaner = Cleaner::new(config);
        let handle = std::thread::Builder::new()
            .name("skiff-log-cleaner".into())
            .spawn(move || {
                // Logs whose cleaning failed are skipped until restart, as Kafka marks them
                // uncleanable.
                let mut uncleanable: HashSet<PathBuf> = HashSet::new();
                loop {
                    let logs = source();
                    // At most one pass per log per round, so a round always ends.
                    for _ in 0..logs.len() {
                        if !matches!(stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                            return;
                        }
                        let now = wall_clock_ms();
                        let Some(log) = filthiest(&logs, &uncleanable, now) else {
                            break;
                        };
                        match cleaner.clean_if_due(&log, now) {
                            Ok(_) => {
                                shared.passes.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                shared.failures.fetch_add(1, Ordering::Relaxed);
                                if !log.is_closed() {
                                    tracing::error!(log = %log.dir().display(), error = %e, "log cleaning failed; skipping this log until restart");
                                    uncleanable.insert(log.dir().to_path_buf());
                                }
                            }
                        }
                    }
                    match stop_rx.recv_timeout(backoff) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => return,
                    }
                }
            })?;
        Ok(LogCleaner {
            worker: Mutex::new(Some((stop_tx, handle))),
            totals,
        })
    }

    /// Stops the thread, waiting for a pass in progress to finish.
    pub fn stop(&self) {
        if let Some((stop, handle)) = self.worker.lock().take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("log cleaner thread panicked");
            }
        }
    }

    /// Passes run so far.
    pub fn passes(&self) -> u64 {
        self.totals.passes.load(Ordering::Relaxed)
    }

    /// Passes that failed so far.
    pub fn failures(&self) -> u64 {
        self.totals.failures.load(Ordering::Relaxed)
    }
}

impl Drop for LogCleaner {
    fn drop(&mut self) {
        self.stop();
    }
}
