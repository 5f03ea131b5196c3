//! A structural pre-check of request bodies before `kafka-protocol` decodes them.
//!
//! The decoder sizes each array with `Vec::with_capacity(count)` straight from the count
//! field, so a 12-byte request claiming 2^31 elements would make it allocate hundreds of GB
//! and abort the process. This walk follows each request's schema over the frame and
//! rejects any array, string or bytes field that claims more than the frame holds, so the
//! decoder only ever sizes arrays whose elements are really there.
//!
//! The schemas are not kept here: the build script (`src/build/main.rs`) derives one walker
//! per request struct from kafka-protocol's own generated decoders, with the same version
//! conditions, so a new kafka-protocol version or a newly served API needs no edit here.

use kafka_protocol::messages::ApiKey;

/// Why a body failed the pre-check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request body is malformed at byte {at}: {what}")]
pub struct Malformed {
    /// Offset in the body.
    pub at: usize,
    /// What was wrong.
    pub what: &'static str,
}

/// Walks one request body at a version.
type Walker = fn(&mut Reader<'_>, i16) -> Result<(), Malformed>;

/// A bounds-checked cursor over a body (or over one tagged field of it).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole body, for error positions.
    base: usize,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, what: &'static str) -> Result<T, Malformed> {
        Err(Malformed {
            at: self.base + self.pos,
            what,
        })
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.remaining() {
            return self.fail("field runs past the end of the frame");
        }
        let from = self.pos;
        self.pos += n;
        match self.buf.get(from..self.pos) {
            Some(b) => Ok(b),
            None => self.fail("field out of bounds"),
        }
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let at = self.base + self.pos;
        self.take(N)?.try_into().map_err(|_| Malformed {
            at,
            what: "field out of bounds",
        })
    }

    fn int8(&mut self) -> Result<(), Malformed> {
        self.take(1).map(drop)
    }

    fn int16(&mut self) -> Result<(), Malformed> {
        self.take(2).map(drop)
    }

    fn int32(&mut self) -> Result<(), Malformed> {
        self.take(4).map(drop)
    }

    fn int64(&mut self) -> Result<(), Malformed> {
        self.take(8).map(drop)
    }

    fn uuid(&mut self) -> Result<(), Malformed> {
        self.take(16).map(drop)
    }

    fn uvarint(&mut self) -> Result<u32, Malformed> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let [b] = self.fixed()?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail("varint longer than 5 bytes")
    }

    fn varint(&mut self) -> Result<(), Malformed> {
        // Signed varints and varlongs: up to 10 bytes of 7 bits.
        for _ in 0..10 {
            let [b] = self.fixed()?;
            if b & 0x80 == 0 {
                return Ok(());
            }
        }
        self.fail("varint longer than 10 bytes")
    }

    /// A length or count: `None` for null.
    fn length(&mut self, compact: bool, wide: bool) -> Result<Option<usize>, Malformed> {
        let n: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(i32::from_be_bytes(self.fixed()?))
        } else {
            i64::from(i16::from_be_bytes(self.fixed()?))
        };
        match n {
            -1 => Ok(None),
            n if n < -1 => self.fail("negative length"),
            n => usize::try_from(n)
                .map(Some)
                .or_else(|_| self.fail("length overflow")),
        }
    }

    fn sized(&mut self, compact: bool, wide: bool) -> Result<(), Malformed> {
        match self.length(compact, wide)? {
            Some(n) => self.take(n).map(drop),
            None => Ok(()),
        }
    }

    fn string(&mut self) -> Result<(), Malformed> {
        self.sized(false, false)
    }

    fn compact_string(&mut self) -> Result<(), Malformed> {
        self.sized(true, false)
    }

    fn bytes(&mut self) -> Result<(), Malformed> {
        self.sized(false, true)
    }

    fn compact_bytes(&mut self) -> Result<(), Malformed> {
        self.sized(true, true)
    }

    /// A nullable struct's marker: whether the struct follows.
    fn present(&mut self) -> Result<bool, Malformed> {
        let [marker] = self.fixed()?;
        Ok(marker as i8 >= 0)
    }

    fn array(
        &mut self,
        compact: bool,
        mut element: impl FnMut(&mut Reader<'a>) -> Result<(), Malformed>,
    ) -> Result<(), Malformed> {
        let Some(count) = self.length(compact, true)? else {
            return Ok(());
        };
        // Every element takes at least one byte: a count beyond the bytes left is a lie.
        if count > self.remaining() {
            return self.fail("array count exceeds the bytes left in the frame");
        }
        for _ in 0..count {
            element(self)?;
        }
        Ok(())
    }

    /// Tagged fields: each known tag's value is walked within its own size.
    fn tagged_fields(
        &mut self,
        mut known: impl FnMut(&mut Reader<'a>, u32) -> Result<(), Malformed>,
    ) -> Result<(), Malformed> {
        let count = self.uvarint()?;
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let base = self.base + self.pos;
            let value = self.take(size)?;
            known(
                &mut Reader {
                    buf: value,
                    pos: 0,
                    base,
                },
                tag,
            )?;
        }
        Ok(())
    }
}

#[allow(
    non_snake_case,
    unused_variables,
    unreachable_patterns,
    clippy::all,
    reason = "generated by src/build/main.rs from kafka-protocol's decoders"
)]
mod generated {
    use super::{Malformed, Reader, Walker};
    use kafka_protocol::messages::ApiKey;

    include!(concat!(env!("OUT_DIR"), "/request_walkers.rs"));

    /// The walker of a version Skiff serves past kafka-protocol's (`api::share::messages`):
    /// the previous version's walk with the top-level fields the version adds.
    pub(super) fn extended_walker(key: ApiKey, version: i16) -> Option<Walker> {
        match (key, version) {
            (ApiKey::ShareFetch, 2) => Some(walk_share_fetch_request_v2),
            (ApiKey::ShareAcknowledge, 2) => Some(walk_share_acknowledge_request_v2),
            _ => None,
        }
    }

    /// ShareFetchRequest v2: v1 with `ShareAcquireMode` and `IsRenewAck` after `BatchSize`.
    fn walk_share_fetch_request_v2(r: &mut Reader<'_>, _version: i16) -> Result<(), Malformed> {
        r.compact_string()?;
        r.compact_string()?;
        for _ in 0..6 {
            r.int32()?;
        }
        r.int8()?;
        r.int8()?;
        r.array(true, |r| walk_share_fetch_request_FetchTopic(r, 1))?;
        r.array(true, |r| walk_share_fetch_request_ForgottenTopic(r, 1))?;
        r.tagged_fields(|_, _| Ok(()))
    }

    /// ShareAcknowledgeRequest v2: v1 with `IsRenewAck` after `ShareSessionEpoch`.
    fn walk_share_acknowledge_request_v2(
        r: &mut Reader<'_>,
        _version: i16,
    ) -> Result<(), Malformed> {
        r.compact_string()?;
        r.compact_string()?;
        r.int32()?;
        r.int8()?;
        r.array(true, |r| {
            walk_share_acknowledge_request_AcknowledgeTopic(r, 1)
        })?;
        r.tagged_fields(|_, _| Ok(()))
    }
}

/// Checks that a request body of `key` at `version` is structurally sound: every count and
/// length fits in the bytes present. An API kafka-protocol does not decode is refused.
pub fn check_body(key: ApiKey, version: i16, body: &[u8]) -> Result<(), Malformed> {
    let walk = generated::extended_walker(key, version).or_else(|| generated::walker(key));
    let Some(walk) = walk else {
        return Err(Malformed {
            at: 0,
            what: "no pre-check walker for this API",
        });
    };
    let mut reader = Reader {
        buf: body,
        pos: 0,
        base: 0,
    };
    walk(&mut reader, version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn name(s: &'static str) -> TopicName {
        TopicName(StrBytes::from_static_str(s))
    }

    fn encoded<T: Encodable>(body: &T, version: i16) -> Vec<u8> {
        let mut b = BytesMut::new();
        body.encode(&mut b, version).unwrap();
        b.to_vec()
    }

    /// Valid requests of every served version, with fields set that exist at that version.
    fn samples() -> Vec<(ApiKey, i16, Vec<u8>)> {
        let mut out = Vec::new();
        for v in 0..=12 {
            let mut t = MetadataRequestTopic::default().with_name(Some(name("t")));
            if v >= 10 {
                t.topic_id = uuid::Uuid::new_v4();
            }
            let mut r = MetadataRequest::default().with_topics(Some(vec![t.clone(), t]));
            r.allow_auto_topic_creation = v < 4 || v % 2 == 0;
            if (8..=10).contains(&v) {
                r.include_cluster_authorized_operations = true;
            }
            out.push((ApiKey::Metadata, v, encoded(&r, v)));
        }
        for v in 3..=11 {
            let r = ProduceRequest::default()
                .with_acks(-1)
                .with_timeout_ms(100)
                .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("x"))))
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(name("t"))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(1)
                            .with_records(Some(Bytes::from_static(b"abcdef"))),
                        PartitionProduceData::default().with_index(2),
                    ])]);
            out.push((ApiKey::Produce, v, encoded(&r, v)));
        }
        for v in 4..=13 {
            let mut p = FetchPartition::default()
                .with_partition(3)
                .with_fetch_offset(9)
                .with_partition_max_bytes(100);
            if v >= 9 {
                p.current_leader_epoch = 2;
            }
            if v >= 12 {
                p.last_fetched_epoch = 1;
            }
            let mut t = FetchTopic::default().with_partitions(vec![p.clone(), p]);
            let mut f = ForgottenTopic::default().with_partitions(vec![1, 2, 3]);
            if v >= 13 {
                t.topic_id = uuid::Uuid::new_v4();
                f.topic_id = uuid::Uuid::new_v4();
            } else {
                t.topic = name("t");
                f.topic = name("f");
            }
            let mut r = FetchRequest::default()
                .with_max_wait_ms(5)
                .with_topics(vec![t]);
            if v >= 7 {
                r.forgotten_topics_data = vec![f];
                r.session_id = 4;
            }
            if v >= 11 {
                r.rack_id = StrBytes::from_static_str("rack");
            }
            if v >= 12 {
                r.cluster_id = Some(StrBytes::from_static_str("c"));
            }
            out.push((ApiKey::Fetch, v, encoded(&r, v)));
        }
        for v in 1..=9 {
            let mut p = ListOffsetsPartition::default().with_timestamp(-1);
            if v >= 4 {
                p.current_leader_epoch = 3;
            }
            let mut r = ListOffsetsRequest::default()
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![p.clone(), p])]);
            if v >= 2 {
                r.isolation_level = 1;
            }
            out.push((ApiKey::ListOffsets, v, encoded(&r, v)));
        }
        for v in 2..=4 {
            let r = OffsetForLeaderEpochRequest::default().with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![OffsetForLeaderPartition::default()
                        .with_partition(1)
                        .with_leader_epoch(4)]),
            ]);
            out.push((ApiKey::OffsetForLeaderEpoch, v, encoded(&r, v)));
        }
        for v in 0..=4 {
            let r = ApiVersionsRequest::default();
            out.push((ApiKey::ApiVersions, v, encoded(&r, v)));
        }
        out
    }

    #[test]
    fn valid_requests_pass() {
        for (key, v, body) in samples() {
            assert_eq!(check_body(key, v, &body), Ok(()), "{key:?} v{v}");
        }
    }

    #[test]
    fn truncated_requests_fail() {
        for (key, v, body) in samples() {
            if key == ApiKey::ApiVersions && v < 3 {
                continue;
            }
            for cut in 0..body.len() {
                assert!(
                    check_body(key, v, &body[..cut]).is_err(),
                    "{key:?} v{v} cut at {cut} of {}",
                    body.len()
                );
            }
        }
    }

    /// Valid admin requests of every served version.
    fn admin_samples() -> Vec<(ApiKey, i16, Vec<u8>)> {
        use kafka_protocol::messages::create_partitions_request::{
            CreatePartitionsAssignment, CreatePartitionsTopic,
        };
        use kafka_protocol::messages::create_topics_request::{
            CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
        };
        use kafka_protocol::messages::delete_records_request::{
            DeleteRecordsPartition, DeleteRecordsTopic,
        };
        use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
        use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
        use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
        use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
        let s = StrBytes::from_static_str;
        let mut out = Vec::new();
        for v in 2..=7 {
            let t = CreatableTopic::default()
                .with_name(name("t"))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_assignments(vec![CreatableReplicaAssignment::default()
                    .with_partition_index(0)
                    .with_broker_ids(vec![BrokerId(1)])])
                .with_configs(vec![CreatableTopicConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("1")))]);
            let r = CreateTopicsRequest::default()
                .with_topics(vec![t.clone(), t])
                .with_validate_only(true);
            out.push((ApiKey::CreateTopics, v, encoded(&r, v)));
        }
        for v in 1..=6 {
            let mut r = DeleteTopicsRequest::default().with_timeout_ms(5);
            if v >= 6 {
                r.topics = vec![DeleteTopicState::default().with_name(Some(name("t")))];
            } else {
                r.topic_names = vec![name("t"), name("u")];
            }
            out.push((ApiKey::DeleteTopics, v, encoded(&r, v)));
        }
        for v in 0..=3 {
            let r = CreatePartitionsRequest::default().with_topics(vec![
                CreatePartitionsTopic::default()
                    .with_name(name("t"))
                    .with_count(3)
                    .with_assignments(Some(vec![
                        CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)])
                    ])),
            ]);
            out.push((ApiKey::CreatePartitions, v, encoded(&r, v)));
        }
        for v in 1..=4 {
            let mut r = DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configuration_keys(Some(vec![s("a"), s("b")])),
            ]);
            r.include_synonyms = true;
            if v >= 3 {
                r.include_documentation = true;
            }
            out.push((ApiKey::DescribeConfigs, v, encoded(&r, v)));
        }
        for v in 0..=2 {
            use kafka_protocol::messages::alter_configs_request::{
                AlterConfigsResource, AlterableConfig,
            };
            let r =
                AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default(
                )
                .with_resource_type(2)
                .with_resource_name(s("t"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("a"))
                    .with_value(Some(s("1")))])]);
            out.push((ApiKey::AlterConfigs, v, encoded(&r, v)));
        }
        for v in 0..=1 {
            use kafka_protocol::messages::incremental_alter_configs_request::{
                AlterConfigsResource, AlterableConfig,
            };
            let r = IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configs(vec![AlterableConfig::default()
                        .with_name(s("a"))
                        .with_config_operation(2)
                        .with_value(Some(s("1")))]),
            ]);
            out.push((ApiKey::IncrementalAlterConfigs, v, encoded(&r, v)));
        }
        for v in 0..=1 {
            let r = DescribeClusterRequest::default().with_endpoint_type(1);
            out.push((ApiKey::DescribeCluster, v, encoded(&r, v)));
        }
        for v in 1..=4 {
            let r = DescribeLogDirsRequest::default().with_topics(Some(vec![
                DescribableLogDirTopic::default()
                    .with_topic(name("t"))
                    .with_partitions(vec![0, 1]),
            ]));
            out.push((ApiKey::DescribeLogDirs, v, encoded(&r, v)));
        }
        for v in 0..=2 {
            let r =
                DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(1)
                        .with_offset(5)])]);
            out.push((ApiKey::DeleteRecords, v, encoded(&r, v)));
        }
        let r = DescribeTopicPartitionsRequest::default()
            .with_topics(vec![TopicRequest::default().with_name(name("t"))])
            .with_response_partition_limit(10)
            .with_cursor(Some(
                Cursor::default()
                    .with_topic_name(name("t"))
                    .with_partition_index(2),
            ));
        out.push((ApiKey::DescribeTopicPartitions, 0, encoded(&r, 0)));
        out
    }

    #[test]
    fn admin_requests_pass_and_truncations_fail() {
        for (key, v, body) in admin_samples() {
            assert_eq!(check_body(key, v, &body), Ok(()), "{key:?} v{v}");
            for cut in 0..body.len() {
                assert!(
                    check_body(key, v, &body[..cut]).is_err(),
                    "{key:?} v{v} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn apis_without_a_schema_are_refused() {
        assert!(check_body(ApiKey::DescribeQuorum, 0, &[]).is_err());
    }

    #[test]
    fn huge_array_counts_are_rejected() {
        // Metadata v1: a topics array claiming i32::MAX elements.
        let body = i32::MAX.to_be_bytes();
        assert!(check_body(ApiKey::Metadata, 1, &body).is_err());
        // Metadata v9 (compact): a varint count of 2^32 - 2.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(check_body(ApiKey::Metadata, 9, &body).is_err());
        // Produce v3: one topic whose partition array claims i32::MAX elements.
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0, 10, 0, 0, 0, 1, 0, 1, b't'];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(check_body(ApiKey::Produce, 3, &body).is_err());
    }

    /// Valid group-API requests of every served version pass; every truncation fails.
    #[test]
    fn group_requests_pass_and_truncations_fail() {
        use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
        use kafka_protocol::messages::leave_group_request::MemberIdentity;
        use kafka_protocol::messages::offset_commit_request::{
            OffsetCommitRequestPartition, OffsetCommitRequestTopic,
        };
        use kafka_protocol::messages::offset_delete_request::{
            OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
        };
        use kafka_protocol::messages::offset_fetch_request::{
            OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
        };
        use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
        let s = |v: &'static str| StrBytes::from_static_str(v);
        let g = || GroupId(s("group"));
        let mut out: Vec<(ApiKey, i16, Vec<u8>)> = Vec::new();
        for v in 0..=6 {
            let mut r = FindCoordinatorRequest::default();
            if v <= 3 {
                r.key = s("group");
            } else {
                r.coordinator_keys = vec![s("a"), s("b")];
            }
            if v >= 1 {
                r.key_type = 1;
            }
            out.push((ApiKey::FindCoordinator, v, encoded(&r, v)));
        }
        for v in 0..=9 {
            let mut r = JoinGroupRequest::default()
                .with_group_id(g())
                .with_member_id(s("m"))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"meta"))]);
            if v >= 5 {
                r.group_instance_id = Some(s("i"));
            }
            if v >= 8 {
                r.reason = Some(s("why"));
            }
            out.push((ApiKey::JoinGroup, v, encoded(&r, v)));
        }
        for v in 0..=5 {
            let mut r = SyncGroupRequest::default()
                .with_group_id(g())
                .with_member_id(s("m"))
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(s("m"))
                    .with_assignment(Bytes::from_static(b"a"))]);
            if v >= 3 {
                r.group_instance_id = Some(s("i"));
            }
            if v >= 5 {
                r.protocol_type = Some(s("consumer"));
                r.protocol_name = Some(s("range"));
            }
            out.push((ApiKey::SyncGroup, v, encoded(&r, v)));
        }
        for v in 0..=4 {
            let r = HeartbeatRequest::default()
                .with_group_id(g())
                .with_member_id(s("m"));
            out.push((ApiKey::Heartbeat, v, encoded(&r, v)));
        }
        for v in 0..=5 {
            let mut r = LeaveGroupRequest::default().with_group_id(g());
            if v >= 3 {
                r.members = vec![MemberIdentity::default().with_member_id(s("m"))];
            } else {
                r.member_id = s("m");
            }
            out.push((ApiKey::LeaveGroup, v, encoded(&r, v)));
        }
        for v in 2..=9 {
            let r = OffsetCommitRequest::default()
                .with_group_id(g())
                .with_member_id(s("m"))
                .with_topics(vec![OffsetCommitRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![OffsetCommitRequestPartition::default()
                        .with_committed_offset(5)
                        .with_committed_metadata(Some(s("md")))])]);
            out.push((ApiKey::OffsetCommit, v, encoded(&r, v)));
        }
        for v in 1..=9 {
            let r = if v <= 7 {
                OffsetFetchRequest::default()
                    .with_group_id(g())
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(name("t"))
                        .with_partition_indexes(vec![0, 1])]))
            } else {
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(g())
                    .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                        .with_name(name("t"))
                        .with_partition_indexes(vec![0])]))])
            };
            out.push((ApiKey::OffsetFetch, v, encoded(&r, v)));
        }
        let r = OffsetDeleteRequest::default()
            .with_group_id(g())
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![OffsetDeleteRequestPartition::default()])]);
        out.push((ApiKey::OffsetDelete, 0, encoded(&r, 0)));
        for v in 0..=5 {
            let mut r = ListGroupsRequest::default();
            if v >= 4 {
                r.states_filter = vec![s("Stable")];
            }
            if v >= 5 {
                r.types_filter = vec![s("classic")];
            }
            out.push((ApiKey::ListGroups, v, encoded(&r, v)));
        }
        for v in 0..=5 {
            let r = DescribeGroupsRequest::default().with_groups(vec![g(), g()]);
            out.push((ApiKey::DescribeGroups, v, encoded(&r, v)));
        }
        for v in 0..=2 {
            let r = DeleteGroupsRequest::default().with_groups_names(vec![g()]);
            out.push((ApiKey::DeleteGroups, v, encoded(&r, v)));
        }
        let r = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(g())
            .with_subscribed_topic_names(Some(vec![name("t")]))
            .with_topic_partitions(Some(vec![
                consumer_group_heartbeat_request::TopicPartitions::default()
                    .with_partitions(vec![1, 2]),
            ]));
        out.push((ApiKey::ConsumerGroupHeartbeat, 0, encoded(&r, 0)));
        let r = ConsumerGroupDescribeRequest::default().with_group_ids(vec![g()]);
        out.push((ApiKey::ConsumerGroupDescribe, 0, encoded(&r, 0)));
        for (key, v, body) in out {
            assert_eq!(check_body(key, v, &body), Ok(()), "{key:?} v{v}");
            for cut in 0..body.len() {
                assert!(
                    check_body(key, v, &body[..cut]).is_err(),
                    "{key:?} v{v} cut at {cut} of {}",
                    body.len()
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_guards_the_decoder(
            key in proptest::sample::select(vec![
                ApiKey::Metadata, ApiKey::Produce, ApiKey::Fetch, ApiKey::ListOffsets,
                ApiKey::OffsetForLeaderEpoch, ApiKey::ApiVersions,
            ]),
            version in 0i16..14,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let _ = check_body(key, version, &body);
        }
    }
}

/// Pre-check tests of the transactional APIs, at every version the registry advertises.
#[cfg(test)]
mod txn_tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::describe_producers_request::TopicRequest;
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    use super::check_body;
    use crate::api::registry;

    fn s(v: &'static str) -> StrBytes {
        StrBytes::from_static_str(v)
    }

    fn encoded<T: Encodable>(body: &T, version: i16) -> Vec<u8> {
        let mut b = BytesMut::new();
        body.encode(&mut b, version).unwrap();
        b.to_vec()
    }

    /// A request of every transactional API at every advertised version, with the fields
    /// of that version set.
    fn samples() -> Vec<(ApiKey, i16, Vec<u8>)> {
        let mut out = Vec::new();
        let range = |key: ApiKey| {
            let a = registry::lookup(key).unwrap();
            a.min_version..=a.max_version
        };
        for v in range(ApiKey::InitProducerId) {
            let mut r = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s("t"))))
                .with_transaction_timeout_ms(1000);
            if v >= 3 {
                r.producer_id = ProducerId(7);
                r.producer_epoch = 2;
            }
            out.push((ApiKey::InitProducerId, v, encoded(&r, v)));
        }
        let topic = AddPartitionsToTxnTopic::default()
            .with_name(TopicName(s("topic")))
            .with_partitions(vec![0, 1, 2]);
        for v in range(ApiKey::AddPartitionsToTxn) {
            let r = if v >= 4 {
                AddPartitionsToTxnRequest::default().with_transactions(vec![
                    AddPartitionsToTxnTransaction::default()
                        .with_transactional_id(TransactionalId(s("t")))
                        .with_producer_id(ProducerId(7))
                        .with_verify_only(true)
                        .with_topics(vec![topic.clone(), topic.clone()]),
                ])
            } else {
                AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(TransactionalId(s("t")))
                    .with_v3_and_below_producer_id(ProducerId(7))
                    .with_v3_and_below_topics(vec![topic.clone()])
            };
            out.push((ApiKey::AddPartitionsToTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::AddOffsetsToTxn) {
            let r = AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_group_id(GroupId(s("g")));
            out.push((ApiKey::AddOffsetsToTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::EndTxn) {
            let r = EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_committed(true);
            out.push((ApiKey::EndTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::TxnOffsetCommit) {
            let mut p = TxnOffsetCommitRequestPartition::default()
                .with_committed_offset(5)
                .with_committed_metadata(Some(s("meta")));
            if v >= 2 {
                p.committed_leader_epoch = 3;
            }
            let mut r = TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("topic")))
                    .with_partitions(vec![p.clone(), p])]);
            if v >= 3 {
                r.generation_id = 4;
                r.member_id = s("member");
                r.group_instance_id = Some(s("instance"));
            }
            out.push((ApiKey::TxnOffsetCommit, v, encoded(&r, v)));
        }
        let r = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
            .with_name(TopicName(s("topic")))
            .with_partition_indexes(vec![0, 1])]);
        out.push((ApiKey::DescribeProducers, 0, encoded(&r, 0)));
        let r = DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![TransactionalId(s("a")), TransactionalId(s("bb"))]);
        out.push((ApiKey::DescribeTransactions, 0, encoded(&r, 0)));
        for v in range(ApiKey::ListTransactions) {
            let mut r = ListTransactionsRequest::default()
                .with_state_filters(vec![s("Ongoing")])
                .with_producer_id_filters(vec![ProducerId(1), ProducerId(2)]);
            if v >= 1 {
                r.duration_filter = 1000;
            }
            out.push((ApiKey::ListTransactions, v, encoded(&r, v)));
        }
        out
    }

    #[test]
    fn precheck_accepts_every_version_and_the_decoder_agrees() {
        for (key, v, body) in samples() {
            assert_eq!(check_body(key, v, &body), Ok(()), "{key:?} v{v}");
            let mut bytes = bytes::Bytes::from(body);
            let decoded = match key {
                ApiKey::InitProducerId => InitProducerIdRequest::decode(&mut bytes, v).map(drop),
                ApiKey::AddPartitionsToTxn => {
                    AddPartitionsToTxnRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::AddOffsetsToTxn => AddOffsetsToTxnRequest::decode(&mut bytes, v).map(drop),
                ApiKey::EndTxn => EndTxnRequest::decode(&mut bytes, v).map(drop),
                ApiKey::TxnOffsetCommit => TxnOffsetCommitRequest::decode(&mut bytes, v).map(drop),
                ApiKey::DescribeProducers => {
                    DescribeProducersRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::DescribeTransactions => {
                    DescribeTransactionsRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::ListTransactions => {
                    ListTransactionsRequest::decode(&mut bytes, v).map(drop)
                }
                other => panic!("unexpected {other:?}"),
            };
            assert!(decoded.is_ok(), "{key:?} v{v} decodes");
        }
    }

    #[test]
    fn precheck_refuses_every_truncation() {
        for (key, v, body) in samples() {
            for cut in 0..body.len() {
                assert!(
                    check_body(key, v, &body[..cut]).is_err(),
                    "{key:?} v{v} cut at {cut} of {}",
                    body.len()
                );
            }
        }
    }

    #[test]
    fn precheck_refuses_huge_counts() {
        // DescribeTransactions v0 (compact): an id array claiming 2^32 - 2 elements.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(check_body(ApiKey::DescribeTransactions, 0, &body).is_err());
        // ListTransactions v0: no state filters, then a producer-id array claiming
        // 2^28 elements of 8 bytes each.
        let body = [0x01, 0xff, 0xff, 0xff, 0x7f, 0x00];
        assert!(check_body(ApiKey::ListTransactions, 0, &body).is_err());
        // AddPartitionsToTxn v2: a topic whose partition array claims i32::MAX elements.
        let mut body = vec![
            0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1, 0, 1, b'x',
        ];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(check_body(ApiKey::AddPartitionsToTxn, 2, &body).is_err());
    }
}
