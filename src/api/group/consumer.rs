//! What the KIP-848 APIs (ConsumerGroupHeartbeat, ConsumerGroupDescribe) share: the
//! coordinator's metadata snapshot. Partitions are named by topic ID; the coordinator gets
//! the whole topic registry.

use crate::api::ApiContext;
use crate::broker::group::TopicsSnapshot;

/// Every topic the broker has: name → (topic ID, partition count).
pub fn topics_snapshot(ctx: &ApiContext) -> TopicsSnapshot {
    ctx.replicas
        .topics()
        .list()
        .into_iter()
        .map(|t| (t.name.clone(), (t.id, t.partitions)))
        .collect()
}
