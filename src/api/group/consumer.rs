//! KIP-848: ConsumerGroupHeartbeat v0–v1 and ConsumerGroupDescribe v0. Partitions are
//! named by topic ID; the coordinator gets the whole topic registry as its metadata
//! snapshot.
//!
//! librdkafka asks for ConsumerGroupHeartbeat v1 exactly, which `kafka-protocol` 0.15 does
//! not know. v1 differs from v0 by one field, `SubscribedTopicRegex` (a compact nullable
//! string after `SubscribedTopicNames`), and by member ids chosen by the client; the
//! response is the same. [`decode_heartbeat`] cuts that field out and decodes the rest as
//! v0; the response is encoded as v0.

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
