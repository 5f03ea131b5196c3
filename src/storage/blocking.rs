//! Running disk work away from tokio's worker threads.
//!
//! Two ways, for two kinds of caller:
//!
//! - [`run_blocking`] for async callers: the work goes to tokio's blocking pool and the
//!   caller's task waits for it without occupying a worker.
//! - [`off_worker`] for synchronous callers that may be on a worker (the state store's
//!   writes, under handlers that answer synchronously): on a multi-threaded runtime the
//!   worker hands its other tasks to a fresh worker first (`block_in_place`), so the
//!   runtime keeps serving while this thread waits on the disk. On a current-thread runtime
//!   or outside any runtime the work runs as it is.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use crate::storage::error::{Result, StorageError};

/// Reads in flight on the blocking pool at once: two per core, at least four. Reads are
/// memory copies from the page cache (or a host's cache) as much as disk waits. The cap
/// keeps a crowd of consumers from taking every core (and up to 512 blocking threads)
/// from appends and the network; it is not lower because a reader's fetch round trip is
/// its throughput: at one per core, 4 readers of a cold backlog on 2 cores caught up 15%
/// slower than with 4 at once, for a concurrent producer's p99 of 3.5 ms instead of 4.7 ms
/// (e2e cold-backlog row; 4942913, reading on the workers, gave 10 ms).
fn read_permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new((2 * cores).max(4))
    })
}

/// Runs a read with [`run_blocking`], at most two per core at a time (see `read_permits`).
pub async fn run_read<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let _permit = read_permits()
        .acquire()
        .await
        .map_err(|e| StorageError::Io(std::io::Error::other(e.to_string())))?;
    run_blocking(work).await
}

/// Runs `work`, first moving the caller's other tasks off this thread when it is a worker
/// of a multi-threaded tokio runtime.
pub fn off_worker<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `work` on tokio's blocking pool and waits for it (inline outside a runtime).
pub async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(work)
            .await
            .unwrap_or_else(|e| Err(StorageError::Io(std::io::Error::other(e.to_string())))),
        Err(_) => work(),
    }
}
