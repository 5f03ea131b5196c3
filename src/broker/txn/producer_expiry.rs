//! `producer.id.expiration.ms`: forgetting idle producers in every partition's producer
//! state (those with an open transaction are kept).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::broker::txn::markers::Clock;
use crate::storage::Storage;

/// Kafka's default `producer.id.expiration.ms` (one day).
pub const DEFAULT_PRODUCER_ID_EXPIRATION_MS: i64 = 86_400_000;
/// Kafka's default `producer.id.expiration.check.interval.ms` (ten minutes).
pub const DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL: Duration = Duration::from_secs(600);

/// Removes, in every partition, producers whose last write is older than
/// `now_ms - expiration_ms` and that have no open transaction. Returns how many.
pub fn expire_idle_producers(storage: &Storage, now_ms: i64, expiration_ms: i64) -> usize {
    let cutoff = now_ms.saturating_sub(expiration_ms);
    storage
        .partitions()
        .iter()
        .filter_map(|(topic, partition)| storage.get(topic, *partition))
        .map(|log| log.expire_producers(cutoff))
        .sum()
}

/// Runs [`expire_idle_producers`] every `interval` until the storage is dropped.
pub fn spawn_producer_expiry(
    storage: &Arc<Storage>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    expiration_ms: i64,
) -> JoinHandle<()> {
    spawn_producer_expiry_with(
        storage,
        clock,
        interval,
        Arc::new(AtomicI64::new(expiration_ms)),
    )
}

/// [`spawn_producer_expiry`] with an expiration that can change while it runs (the
/// dynamic `producer.id.expiration.ms`): each pass reads `expiration_ms` afresh.
pub fn spawn_producer_expiry_with(
    storage: &Arc<Storage>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    expiration_ms: Arc<AtomicI64>,
) -> JoinHandle<()> {
    let weak: Weak<Storage> = Arc::downgrade(storage);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(storage) = weak.upgrade() else { break };
            let expiration_ms = expiration_ms.load(Ordering::Relaxed);
            let n = expire_idle_producers(&storage, clock.now_ms(), expiration_ms);
            if n > 0 {
                tracing::debug!(expired = n, "expired idle producers");
            }
        }
    })
}
