//! Share groups (KIP-932) on the wire: members join with ShareGroupHeartbeat, acquire
//! records with ShareFetch and acknowledge them (piggy-backed or with ShareAcknowledge);
//! every record produced by a real client (rdkafka) is accepted exactly once across the
//! members; released records come back with a higher delivery count and are archived at
//! the delivery limit; an expired lock hands records to another member; acknowledgements
//! survive a restart; bad acknowledgements, epochs and sessions get Kafka's error codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::wire::Wire;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    share_acknowledge_request as ack_req, share_fetch_request as fetch_req, ApiKey, GroupId,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ListGroupsRequest,
    ListGroupsResponse, MetadataRequest, MetadataResponse, ShareAcknowledgeRequest,
    ShareAcknowledgeResponse, ShareFetchRequest, ShareFetchResponse, ShareGroupDescribeRequest,
    ShareGroupDescribeResponse, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use skiff::BrokerHandle;
use uuid::Uuid;

const INVALID_REQUEST: i16 = 42;
const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_MEMBER_EPOCH: i16 = 110;
const INVALID_RECORD_STATE: i16 = 121;
const SHARE_SESSION_NOT_FOUND: i16 = 122;
const INVALID_SHARE_SESSION_EPOCH: i16 = 123;
const NON_EMPTY_GROUP: i16 = 68;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn start(dir: &Path) -> BrokerHandle {
    common::start_broker(
        dir,
        &[
            "num.partitions=1",
            "group.share.min.record.lock.duration.ms=1000",
        ],
    )
    .await
}

/// Produces `n` records to partition `partition` of `topic` with rdkafka, flushing every
/// ten so that batches hold at most ten records (acquisition goes by whole batches).
fn produce(broker: &BrokerHandle, topic: &str, partition: i32, n: usize) {
    let p = common::producer(&broker.bootstrap(), "none", "all");
    for i in 0..n {
        common::send(&p, topic, partition, &common::test_record(i));
        if i % 10 == 9 {
            common::flush(&p);
        }
    }
    common::flush(&p);
}

async fn topic_id(wire: &mut Wire, topic: &str) -> Uuid {
    let req = MetadataRequest::default().with_topics(Some(vec![
        kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
            .with_name(Some(TopicName(s(topic)))),
    ]));
    let r: MetadataResponse = wire.call(ApiKey::Metadata, 12, &req).await;
    r.topics[0].topic_id
}

async fn set_group_configs(wire: &mut Wire, group: &str, configs: &[(&str, &str)]) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(32)
            .with_resource_name(s(group))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(0)
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            ),
    ]);
    let r: IncrementalAlterConfigsResponse =
        wire.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(r.responses[0].error_code, 0, "{:?}", r.responses[0]);
}

/// One share group member driven over its own connection.
struct Member {
    wire: Wire,
    group: String,
    id: String,
    epoch: i32,
    session_epoch: i32,
}

/// What one ShareFetch gave: (offset, delivery count) of each acquired record.
type Acquired = Vec<(i64, i16)>;

impl Member {
    async fn join(broker: &BrokerHandle, group: &str, topic: &str) -> Member {
        let mut m = Member {
            wire: Wire::connect(broker).await,
            group: group.to_string(),
            id: Uuid::new_v4().to_string(),
            epoch: 0,
            session_epoch: 0,
        };
        let r = m.heartbeat(Some(vec![topic])).await;
        assert_eq!(r.error_code, 0, "{r:?}");
        assert!(
            r.assignment.is_some(),
            "a joining member gets its assignment"
        );
        m
    }

    async fn heartbeat(&mut self, topics: Option<Vec<&str>>) -> ShareGroupHeartbeatResponse {
        let req = ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_member_id(s(&self.id))
            .with_member_epoch(self.epoch)
            .with_subscribed_topic_names(
                topics.map(|ts| ts.into_iter().map(|t| TopicName(s(t))).collect()),
            );
        let r: ShareGroupHeartbeatResponse =
            self.wire.call(ApiKey::ShareGroupHeartbeat, 1, &req).await;
        if r.error_code == 0 {
            self.epoch = r.member_epoch;
        }
        r
    }

    /// One ShareFetch on `topic`/0, acknowledging `acks` (first, last, type) first.
    /// A ShareFetch (v1 fields) on `topic`/0 in this member's session, acknowledging `acks`
    /// (first, last, type) first.
    fn fetch_request(
        &self,
        topic: Uuid,
        acks: &[(i64, i64, i8)],
        max_records: i32,
        max_wait_ms: i32,
    ) -> ShareFetchRequest {
        ShareFetchRequest::default()
            .with_group_id(Some(GroupId(s(&self.group))))
            .with_member_id(Some(s(&self.id)))
            .with_share_session_epoch(self.session_epoch)
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_max_records(max_records)
            .with_batch_size(max_records)
            .with_topics(vec![fetch_req::FetchTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![fetch_req::FetchPartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(
                        acks.iter()
                            .map(|(f, l, t)| {
                                fetch_req::AcknowledgementBatch::default()
                                    .with_first_offset(*f)
                                    .with_last_offset(*l)
                                    .with_acknowledge_types(vec![*t])
                            })
                            .collect(),
                    )])])
    }

    /// Moves the session on after an answered ShareFetch; the records it acquired.
    fn fetched(&mut self, r: &ShareFetchResponse) -> Acquired {
        if r.error_code == 0 {
            self.session_epoch = if self.session_epoch == i32::MAX {
                1
            } else {
                self.session_epoch + 1
            };
        }
        r.responses
            .iter()
            .flat_map(|t| t.partitions.iter())
            .flat_map(|p| p.acquired_records.iter())
            .flat_map(|a| (a.first_offset..=a.last_offset).map(move |o| (o, a.delivery_count)))
            .collect()
    }

    /// One ShareFetch (v1) on `topic`/0, acknowledging `acks` (first, last, type) first.
    async fn fetch(
        &mut self,
        topic: Uuid,
        acks: &[(i64, i64, i8)],
        max_records: i32,
        max_wait_ms: i32,
    ) -> (ShareFetchResponse, Acquired) {
        let req = self.fetch_request(topic, acks, max_records, max_wait_ms);
        let r: ShareFetchResponse = self.wire.call(ApiKey::ShareFetch, 1, &req).await;
        let acquired = self.fetched(&r);
        (r, acquired)
    }

    async fn acknowledge(
        &mut self,
        topic: Uuid,
        acks: &[(i64, i64, i8)],
    ) -> ShareAcknowledgeResponse {
        let req = ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(s(&self.group))))
            .with_member_id(Some(s(&self.id)))
            .with_share_session_epoch(self.session_epoch)
            .with_topics(vec![ack_req::AcknowledgeTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![ack_req::AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(
                        acks.iter()
                            .map(|(f, l, t)| {
                                ack_req::AcknowledgementBatch::default()
                                    .with_first_offset(*f)
                                    .with_last_offset(*l)
                                    .with_acknowledge_types(vec![*t])
                            })
                            .collect(),
                    )])]);
        let r: ShareAcknowledgeResponse = self.wire.call(ApiKey::ShareAcknowledge, 1, &req).await;
        if r.error_code == 0 {
            self.session_epoch += 1;
        }
        r
    }
}

fn ack_code(r: &ShareFetchResponse) -> i16 {
    r.responses[0].partitions[0].acknowledge_error_code
}

/// The acquired offsets as (first, last, accept) batches, one per offset.
fn accept_all(acquired: &Acquired) -> Vec<(i64, i64, i8)> {
    acquired.iter().map(|(o, _)| (*o, *o, 1)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_share_a_partition_and_every_record_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("queue").await;
    set_group_configs(
        &mut admin,
        "workers",
        &[("share.auto.offset.reset", "earliest")],
    )
    .await;
    produce(&broker, "queue", 0, 300);
    let topic = topic_id(&mut admin, "queue").await;
    let mut members = [
        Member::join(&broker, "workers", "queue").await,
        Member::join(&broker, "workers", "queue").await,
    ];
    let mut seen: Vec<i64> = Vec::new();
    let mut per_member = [0usize; 2];
    let mut pending: [Vec<(i64, i64, i8)>; 2] = [Vec::new(), Vec::new()];
    // Members take turns, each accepting what it got on its next fetch.
    while seen.len() < 300 {
        let before = seen.len();
        for (i, m) in members.iter_mut().enumerate() {
            let (r, got) = m.fetch(topic, &pending[i], 40, 200).await;
            assert_eq!(r.error_code, 0, "{r:?}");
            assert_eq!(ack_code(&r), 0, "{r:?}");
            per_member[i] += got.len();
            assert!(got.iter().all(|(_, count)| *count == 1));
            seen.extend(got.iter().map(|(o, _)| *o));
            pending[i] = accept_all(&got);
        }
        assert!(seen.len() > before, "no progress at {}", seen.len());
    }
    for (i, m) in members.iter_mut().enumerate() {
        let (r, got) = m.fetch(topic, &pending[i], 40, 0).await;
        assert_eq!(ack_code(&r), 0);
        assert!(got.is_empty(), "nothing is left to deliver");
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a record was delivered twice");
    assert_eq!(unique, (0..300).collect());
    assert!(per_member.iter().all(|n| *n > 0), "{per_member:?}");

    // Both members are in the group, with partition 0 each; ListGroups shows a share group.
    let d: ShareGroupDescribeResponse = admin
        .call(
            ApiKey::ShareGroupDescribe,
            1,
            &ShareGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("workers"))]),
        )
        .await;
    let g = &d.groups[0];
    assert_eq!((g.error_code, g.group_state.as_str()), (0, "Stable"));
    assert_eq!(g.members.len(), 2);
    for m in &g.members {
        assert_eq!(m.assignment.topic_partitions[0].partitions, vec![0]);
        assert_eq!(
            m.assignment.topic_partitions[0].topic_name.as_str(),
            "queue"
        );
    }
    let l: ListGroupsResponse = admin
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("share")]),
        )
        .await;
    assert_eq!(l.groups.len(), 1);
    assert_eq!(l.groups[0].group_type.as_str(), "share");
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_records_come_back_until_the_delivery_limit_archives_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("poison").await;
    set_group_configs(
        &mut admin,
        "g",
        &[
            ("share.auto.offset.reset", "earliest"),
            ("share.delivery.count.limit", "3"),
        ],
    )
    .await;
    produce(&broker, "poison", 0, 2);
    let topic = topic_id(&mut admin, "poison").await;
    let mut m = Member::join(&broker, "g", "poison").await;
    let (_, got) = m.fetch(topic, &[], 10, 1000).await;
    assert_eq!(got, vec![(0, 1), (1, 1)]);
    // Offset 1 rejected: never again. Offset 0 released: back with count 2, then 3.
    let (r, got) = m.fetch(topic, &[(0, 0, 2), (1, 1, 3)], 10, 1000).await;
    assert_eq!(ack_code(&r), 0);
    assert_eq!(got, vec![(0, 2)]);
    let (_, got) = m.fetch(topic, &[(0, 0, 2)], 10, 1000).await;
    assert_eq!(got, vec![(0, 3)]);
    // Released at the limit: archived.
    let (r, got) = m.fetch(topic, &[(0, 0, 2)], 10, 0).await;
    assert_eq!(ack_code(&r), 0);
    assert!(got.is_empty(), "{got:?}");
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lock_hands_the_records_to_another_member() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("locks").await;
    set_group_configs(
        &mut admin,
        "g",
        &[
            ("share.auto.offset.reset", "earliest"),
            ("share.record.lock.duration.ms", "1000"),
        ],
    )
    .await;
    produce(&broker, "locks", 0, 5);
    let topic = topic_id(&mut admin, "locks").await;
    let mut a = Member::join(&broker, "g", "locks").await;
    let mut b = Member::join(&broker, "g", "locks").await;
    let (r, got) = a.fetch(topic, &[], 100, 1000).await;
    assert_eq!(r.acquisition_lock_timeout_ms, 1000);
    assert_eq!(got.len(), 5);
    // b's long poll is answered once a's lock runs out.
    let (_, got) = b.fetch(topic, &[], 100, 30_000).await;
    assert_eq!(got, (0..5).map(|o| (o, 2)).collect::<Vec<_>>());
    // a no longer holds them.
    let (r, _) = a.fetch(topic, &[(0, 4, 1)], 100, 0).await;
    assert_eq!(ack_code(&r), INVALID_RECORD_STATE);
    let (r, _) = b.fetch(topic, &[(0, 4, 1)], 100, 0).await;
    assert_eq!(ack_code(&r), 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_records_are_not_delivered_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let topic;
    {
        let broker = start(dir.path()).await;
        let mut admin = Wire::connect(&broker).await;
        admin.create_topic("durable").await;
        set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
        produce(&broker, "durable", 0, 10);
        topic = topic_id(&mut admin, "durable").await;
        let mut m = Member::join(&broker, "g", "durable").await;
        let (_, got) = m.fetch(topic, &[], 100, 1000).await;
        assert_eq!(got.len(), 10);
        // Accept 0–5, leave 6–9 acquired.
        let r = m.acknowledge(topic, &[(0, 5, 1)]).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.responses[0].partitions[0].error_code, 0);
        broker.shutdown().await.unwrap();
    }
    let broker = start(dir.path()).await;
    let mut m = Member::join(&broker, "g", "durable").await;
    let (_, got) = m.fetch(topic, &[], 100, 1000).await;
    let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (6..10).collect::<Vec<_>>());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_acknowledgements_epochs_and_sessions_get_kafka_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("bad").await;
    set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
    produce(&broker, "bad", 0, 3);
    let topic = topic_id(&mut admin, "bad").await;
    let mut a = Member::join(&broker, "g", "bad").await;
    let mut b = Member::join(&broker, "g", "bad").await;
    let (_, got) = a.fetch(topic, &[], 10, 1000).await;
    assert_eq!(got.len(), 3);
    b.fetch(topic, &[], 10, 0).await;
    // Never acquired, held by another member, overlapping batches.
    let r = a.acknowledge(topic, &[(7, 7, 1)]).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        INVALID_RECORD_STATE
    );
    let r = b.acknowledge(topic, &[(0, 0, 1)]).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        INVALID_RECORD_STATE
    );
    let r = a.acknowledge(topic, &[(0, 1, 1), (1, 2, 1)]).await;
    assert_eq!(r.responses[0].partitions[0].error_code, INVALID_REQUEST);
    // The state stayed as it was: a still holds all three and accepts them.
    let r = a.acknowledge(topic, &[(0, 2, 1)]).await;
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    // A wrong share session epoch, an acknowledgement opening a session, no session.
    a.session_epoch += 5;
    let (r, _) = a.fetch(topic, &[], 10, 0).await;
    assert_eq!(r.error_code, INVALID_SHARE_SESSION_EPOCH);
    let mut c = Member {
        wire: Wire::connect(&broker).await,
        group: "g".into(),
        id: "never-joined".into(),
        epoch: 0,
        session_epoch: 3,
    };
    let (r, _) = c.fetch(topic, &[], 10, 0).await;
    assert_eq!(r.error_code, SHARE_SESSION_NOT_FOUND);
    c.session_epoch = 0;
    let r = c.acknowledge(topic, &[(0, 0, 1)]).await;
    assert_eq!(r.error_code, INVALID_SHARE_SESSION_EPOCH);
    // Heartbeats: an unknown member, a stale epoch, a join without topics.
    c.epoch = 4;
    assert_eq!(c.heartbeat(None).await.error_code, UNKNOWN_MEMBER_ID);
    b.epoch -= 1;
    assert_eq!(b.heartbeat(None).await.error_code, FENCED_MEMBER_EPOCH);
    c.epoch = 0;
    assert_eq!(c.heartbeat(None).await.error_code, INVALID_REQUEST);
    // A group with members cannot be deleted.
    let del: kafka_protocol::messages::DeleteGroupsResponse = admin
        .call(
            ApiKey::DeleteGroups,
            2,
            &kafka_protocol::messages::DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(s("g"))]),
        )
        .await;
    assert_eq!(del.results[0].error_code, NON_EMPTY_GROUP);
    // The id is a share group's: a KIP-848 consumer cannot use it.
    let hb: kafka_protocol::messages::ConsumerGroupHeartbeatResponse = admin
        .call(
            ApiKey::ConsumerGroupHeartbeat,
            0,
            &kafka_protocol::messages::ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![TopicName(s("bad"))])),
        )
        .await;
    assert_eq!(hb.error_code, 69, "GROUP_ID_NOT_FOUND");
    broker.shutdown().await.unwrap();
}

async fn describe_offsets(
    admin: &mut Wire,
) -> kafka_protocol::messages::DescribeShareGroupOffsetsResponse {
    use kafka_protocol::messages::describe_share_group_offsets_request as desc;
    let req =
        kafka_protocol::messages::DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            desc::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s("g")))
                .with_topics(None),
        ]);
    admin.call(ApiKey::DescribeShareGroupOffsets, 0, &req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_offsets_are_described_altered_and_deleted() {
    use kafka_protocol::messages::{
        alter_share_group_offsets_request as alter, delete_share_group_offsets_request as del,
        AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse,
        DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse,
    };
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("offsets").await;
    set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
    produce(&broker, "offsets", 0, 20);
    let topic = topic_id(&mut admin, "offsets").await;
    let mut m = Member::join(&broker, "g", "offsets").await;
    let (_, got) = m.fetch(topic, &[], 10, 1000).await;
    assert_eq!(got.len(), 10);
    let (r, _) = m.fetch(topic, &accept_all(&got), 1, 0).await;
    assert_eq!(ack_code(&r), 0);
    let r = describe_offsets(&mut admin).await;
    let t = &r.groups[0].topics[0];
    assert_eq!((t.topic_name.as_str(), t.topic_id), ("offsets", topic));
    assert_eq!(t.partitions[0].start_offset, 10);

    // Altering or deleting needs an empty group.
    let alter_req = AlterShareGroupOffsetsRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_topics(vec![alter::AlterShareGroupOffsetsRequestTopic::default()
            .with_topic_name(TopicName(s("offsets")))
            .with_partitions(vec![
                alter::AlterShareGroupOffsetsRequestPartition::default()
                    .with_partition_index(0)
                    .with_start_offset(3),
            ])]);
    let r: AlterShareGroupOffsetsResponse = admin
        .call(ApiKey::AlterShareGroupOffsets, 0, &alter_req)
        .await;
    assert_eq!(r.error_code, NON_EMPTY_GROUP);
    m.epoch = -1;
    assert_eq!(m.heartbeat(None).await.error_code, 0);
    let r: AlterShareGroupOffsetsResponse = admin
        .call(ApiKey::AlterShareGroupOffsets, 0, &alter_req)
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    assert_eq!(
        describe_offsets(&mut admin).await.groups[0].topics[0].partitions[0].start_offset,
        3
    );
    // A new member starts at 3: offsets 3–9 come again.
    let mut again = Member::join(&broker, "g", "offsets").await;
    let (_, got) = again.fetch(topic, &[], 100, 1000).await;
    assert_eq!(got.first().map(|(o, c)| (*o, *c)), Some((3, 1)));
    again.epoch = -1;
    again.heartbeat(None).await;

    let r: DeleteShareGroupOffsetsResponse = admin
        .call(
            ApiKey::DeleteShareGroupOffsets,
            0,
            &DeleteShareGroupOffsetsRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![
                    del::DeleteShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(TopicName(s("offsets"))),
                    del::DeleteShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(TopicName(s("missing"))),
                ]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(r.responses[1].error_code, 3, "unknown topic");
    assert!(describe_offsets(&mut admin).await.groups[0]
        .topics
        .is_empty());

    // A group id no group has: described with no offsets and no error; altering its
    // offsets creates it as an empty share group holding them (as Kafka 4.4.0 does).
    let fresh = alter_req.clone().with_group_id(GroupId(s("fresh")));
    let describe_fresh = || {
        use kafka_protocol::messages::describe_share_group_offsets_request as desc;
        kafka_protocol::messages::DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            desc::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s("fresh")))
                .with_topics(None),
        ])
    };
    let r: kafka_protocol::messages::DescribeShareGroupOffsetsResponse = admin
        .call(ApiKey::DescribeShareGroupOffsets, 0, &describe_fresh())
        .await;
    assert_eq!(r.groups[0].error_code, 0, "{r:?}");
    assert!(r.groups[0].topics.is_empty(), "{r:?}");
    let r: AlterShareGroupOffsetsResponse =
        admin.call(ApiKey::AlterShareGroupOffsets, 0, &fresh).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    assert_eq!(r.responses[0].partitions[0].error_code, 0, "{r:?}");
    let r: kafka_protocol::messages::DescribeShareGroupOffsetsResponse = admin
        .call(ApiKey::DescribeShareGroupOffsets, 0, &describe_fresh())
        .await;
    assert_eq!(r.groups[0].topics[0].partitions[0].start_offset, 3, "{r:?}");
    let groups: ListGroupsResponse = admin
        .call(ApiKey::ListGroups, 5, &ListGroupsRequest::default())
        .await;
    // A negative start offset leaves the partition uninitialized (no start offset).
    let mut negative = fresh.clone();
    negative.topics[0].partitions[0].start_offset = -5;
    let r: AlterShareGroupOffsetsResponse = admin
        .call(ApiKey::AlterShareGroupOffsets, 0, &negative)
        .await;
    assert_eq!(r.responses[0].partitions[0].error_code, 0, "{r:?}");
    let r: kafka_protocol::messages::DescribeShareGroupOffsetsResponse = admin
        .call(ApiKey::DescribeShareGroupOffsets, 0, &describe_fresh())
        .await;
    assert_eq!(
        r.groups[0].topics[0].partitions[0].start_offset, -1,
        "{r:?}"
    );
    assert!(
        groups.groups.iter().any(|g| g.group_id.as_str() == "fresh"
            && g.group_type.as_str() == "share"
            && g.group_state.as_str() == "Empty"),
        "{groups:?}"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_share_groups_never_see_aborted_records_or_markers() {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, Producer};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("txns").await;
    for (group, level) in [("rc", "read_committed"), ("ru", "read_uncommitted")] {
        set_group_configs(
            &mut admin,
            group,
            &[
                ("share.auto.offset.reset", "earliest"),
                ("share.isolation.level", level),
            ],
        )
        .await;
    }
    let bootstrap = broker.bootstrap();
    tokio::task::spawn_blocking(move || {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("transactional.id", "share-txn")
            .create()
            .unwrap();
        p.init_transactions(Duration::from_secs(30)).unwrap();
        for commit in [false, true] {
            p.begin_transaction().unwrap();
            for i in 0..5 {
                common::send(&p, "txns", 0, &common::test_record(i));
            }
            p.flush(Duration::from_secs(30)).unwrap();
            if commit {
                p.commit_transaction(Duration::from_secs(30)).unwrap();
            } else {
                p.abort_transaction(Duration::from_secs(30)).unwrap();
            }
        }
    })
    .await
    .unwrap();
    let topic = topic_id(&mut admin, "txns").await;
    // Offsets: 0–4 aborted, 5 its marker, 6–10 committed, 11 their marker.
    let mut rc = Member::join(&broker, "rc", "txns").await;
    let (_, got) = rc.fetch(topic, &[], 100, 1000).await;
    let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (6..=10).collect::<Vec<_>>());
    let mut ru = Member::join(&broker, "ru", "txns").await;
    let (_, got) = ru.fetch(topic, &[], 100, 1000).await;
    let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (0..=4).chain(6..=10).collect::<Vec<_>>());
    broker.shutdown().await.unwrap();
}

/// ShareFetch v2 in `acquire_mode` on `topic`/0, acknowledging `acks` first.
async fn fetch_v2(
    m: &mut Member,
    topic: Uuid,
    acks: &[(i64, i64, i8)],
    max_records: i32,
    acquire_mode: i8,
) -> (ShareFetchResponse, Acquired) {
    use skiff::api::share::messages::{ShareFetchRequestV2, ShareFetchResponseV2};
    let req = ShareFetchRequestV2 {
        inner: m.fetch_request(topic, acks, max_records, 1000),
        share_acquire_mode: acquire_mode,
        is_renew_ack: false,
    };
    let r: ShareFetchResponseV2 = m.wire.call(ApiKey::ShareFetch, 2, &req).await;
    let acquired = m.fetched(&r.0);
    (r.0, acquired)
}

/// (start offset, lag) of the group "g"'s only share-partition (DescribeShareGroupOffsets v1).
async fn describe_v1(w: &mut Wire) -> (i64, i64) {
    use kafka_protocol::messages::describe_share_group_offsets_request as desc;
    use skiff::api::share::messages::{
        DescribeShareGroupOffsetsRequestV1, DescribeShareGroupOffsetsResponseV1,
    };
    let req = DescribeShareGroupOffsetsRequestV1(
        kafka_protocol::messages::DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            desc::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(s("g")))
                .with_topics(None),
        ]),
    );
    let r: DescribeShareGroupOffsetsResponseV1 =
        w.call(ApiKey::DescribeShareGroupOffsets, 1, &req).await;
    let p = &r.groups[0].topics[0].partitions[0];
    (p.start_offset, p.lag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_acquires_by_record_limit_renews_locks_and_describes_the_lag() {
    use skiff::api::share::messages::{ShareAcknowledgeRequestV2, ShareAcknowledgeResponseV2};
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("v2").await;
    set_group_configs(
        &mut admin,
        "g",
        &[
            ("share.auto.offset.reset", "earliest"),
            ("share.record.lock.duration.ms", "15000"),
        ],
    )
    .await;
    produce(&broker, "v2", 0, 10);
    let topic = topic_id(&mut admin, "v2").await;
    let mut a = Member::join(&broker, "g", "v2").await;
    let mut b = Member::join(&broker, "g", "v2").await;

    // An unknown acquire mode is refused.
    let (r, got) = fetch_v2(&mut a, topic, &[], 3, 7).await;
    assert_eq!(r.error_code, INVALID_REQUEST, "{r:?}");
    assert!(got.is_empty());
    // Record-limit mode splits the 10-record batch: exactly 3 records.
    let (r, got) = fetch_v2(&mut a, topic, &[], 3, 1).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    assert_eq!(got, vec![(0, 1), (1, 1), (2, 1)]);

    // RENEW (ShareAcknowledge v2) keeps them acquired by a: the answer carries the lock.
    let renew = ShareAcknowledgeRequestV2 {
        inner: ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(s("g"))))
            .with_member_id(Some(s(&a.id)))
            .with_share_session_epoch(a.session_epoch)
            .with_topics(vec![ack_req::AcknowledgeTopic::default()
                .with_topic_id(topic)
                .with_partitions(vec![ack_req::AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(vec![
                        ack_req::AcknowledgementBatch::default()
                            .with_first_offset(0)
                            .with_last_offset(2)
                            .with_acknowledge_types(vec![4]),
                    ])])]),
        is_renew_ack: true,
    };
    let r: ShareAcknowledgeResponseV2 = a.wire.call(ApiKey::ShareAcknowledge, 2, &renew).await;
    assert_eq!(r.inner.error_code, 0, "{r:?}");
    assert_eq!(r.inner.responses[0].partitions[0].error_code, 0, "{r:?}");
    assert_eq!(r.acquisition_lock_timeout_ms, 15000);
    a.session_epoch += 1;

    // Batch-optimized mode (v2's default) gives b the rest of the batch, not a's three.
    let (r, got) = fetch_v2(&mut b, topic, &[], 3, 0).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    assert_eq!(got, (3..10).map(|o| (o, 1)).collect::<Vec<_>>());

    // Lag (DescribeShareGroupOffsets v1): nothing delivered to completion yet.
    assert_eq!(describe_v1(&mut admin).await, (0, 10));
    // b accepts 3..9 (the window's start stays at 0: a still holds 0..2).
    let (r, _) = fetch_v2(&mut b, topic, &[(3, 9, 1)], 1, 0).await;
    assert_eq!(ack_code(&r), 0, "{r:?}");
    assert_eq!(describe_v1(&mut admin).await, (0, 3));
    // a, still holding 0..2 after the renewal, accepts them: no lag left.
    let (r, _) = fetch_v2(&mut a, topic, &[(0, 2, 1)], 1, 0).await;
    assert_eq!(ack_code(&r), 0, "{r:?}");
    assert_eq!(describe_v1(&mut admin).await, (10, 0));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_carries_only_the_batches_up_to_the_last_acquired_record() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut admin = Wire::connect(&broker).await;
    admin.create_topic("trim").await;
    set_group_configs(&mut admin, "g", &[("share.auto.offset.reset", "earliest")]).await;
    produce(&broker, "trim", 0, 50);
    let topic = topic_id(&mut admin, "trim").await;
    let mut m = Member::join(&broker, "g", "trim").await;
    let (r, got) = m.fetch(topic, &[], 10, 1000).await;
    assert_eq!(got, (0..10).map(|o| (o, 1)).collect::<Vec<_>>());
    // One batch of ten records: its length field (bytes 8..12) plus the 12 bytes before it
    // is the whole answer, not the five batches the log holds.
    let records = r.responses[0].partitions[0].records.clone().unwrap();
    let batch_len = i32::from_be_bytes(records[8..12].try_into().unwrap());
    assert_eq!(
        records.len(),
        batch_len as usize + 12,
        "{} bytes",
        records.len()
    );
    broker.shutdown().await.unwrap();
}
