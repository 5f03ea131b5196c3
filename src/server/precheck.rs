//! A structural pre-check of request bodies before `kafka-protocol` decodes them.
//!
//! The decoder sizes each array with `Vec::with_capacity(count)` straight from the count
//! field, so a 12-byte request claiming 2^31 elements makes it allocate hundreds of GB and
//! abort the process. This walk follows each served request's schema over the frame and
//! rejects any array, string or bytes field that claims more than the frame holds, so the
//! decoder only ever sizes arrays whose elements are really there.

use kafka_protocol::messages::ApiKey;

/// A field of a request schema.
#[derive(Clone, Copy)]
enum Field {
    Int8,
    Int16,
    Int32,
    Int64,
    Uuid,
    /// A (nullable) string; compact in flexible versions.
    Str,
    /// (Nullable) bytes; compact in flexible versions.
    Bytes,
    /// A (nullable) array of structs.
    Array(&'static [Member]),
    /// A (nullable) array of int32.
    ArrayInt32,
    /// A (nullable) array of int64.
    ArrayInt64,
    /// A (nullable) array of (nullable) strings.
    ArrayStr,
    /// A nullable struct: an int8 marker (-1 for null), then the struct.
    NullableStruct(&'static [Member]),
}

/// A field present in versions `min..=max`.
type Member = (i16, i16, Field);

const ALL: i16 = i16::MAX;

const METADATA_TOPIC: &[Member] = &[(10, ALL, Field::Uuid), (0, ALL, Field::Str)];
const METADATA: &[Member] = &[
    (0, ALL, Field::Array(METADATA_TOPIC)),
    (4, ALL, Field::Int8),
    (8, 10, Field::Int8),
    (8, ALL, Field::Int8),
];

const PRODUCE_PARTITION: &[Member] = &[(0, ALL, Field::Int32), (0, ALL, Field::Bytes)];
const PRODUCE_TOPIC: &[Member] = &[
    (0, 12, Field::Str),
    (13, ALL, Field::Uuid),
    (0, ALL, Field::Array(PRODUCE_PARTITION)),
];
const PRODUCE: &[Member] = &[
    (3, ALL, Field::Str),
    (0, ALL, Field::Int16),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Array(PRODUCE_TOPIC)),
];

const FETCH_PARTITION: &[Member] = &[
    (0, ALL, Field::Int32),
    (9, ALL, Field::Int32),
    (0, ALL, Field::Int64),
    (12, ALL, Field::Int32),
    (5, ALL, Field::Int64),
    (0, ALL, Field::Int32),
];
const FETCH_TOPIC: &[Member] = &[
    (0, 12, Field::Str),
    (13, ALL, Field::Uuid),
    (0, ALL, Field::Array(FETCH_PARTITION)),
];
const FORGOTTEN_TOPIC: &[Member] = &[
    (7, 12, Field::Str),
    (13, ALL, Field::Uuid),
    (7, ALL, Field::ArrayInt32),
];
const FETCH: &[Member] = &[
    (0, 14, Field::Int32),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Int32),
    (3, ALL, Field::Int32),
    (4, ALL, Field::Int8),
    (7, ALL, Field::Int32),
    (7, ALL, Field::Int32),
    (0, ALL, Field::Array(FETCH_TOPIC)),
    (7, ALL, Field::Array(FORGOTTEN_TOPIC)),
    (11, ALL, Field::Str),
];

const LIST_OFFSETS_PARTITION: &[Member] = &[
    (0, ALL, Field::Int32),
    (4, ALL, Field::Int32),
    (0, ALL, Field::Int64),
    (0, 0, Field::Int32),
];
const LIST_OFFSETS_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(LIST_OFFSETS_PARTITION)),
];
const LIST_OFFSETS: &[Member] = &[
    (0, ALL, Field::Int32),
    (2, ALL, Field::Int8),
    (0, ALL, Field::Array(LIST_OFFSETS_TOPIC)),
    (10, ALL, Field::Int32),
];

const OFFSET_FOR_LEADER_EPOCH_PARTITION: &[Member] = &[
    (0, ALL, Field::Int32),
    (2, ALL, Field::Int32),
    (0, ALL, Field::Int32),
];
const OFFSET_FOR_LEADER_EPOCH_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(OFFSET_FOR_LEADER_EPOCH_PARTITION)),
];
const OFFSET_FOR_LEADER_EPOCH: &[Member] = &[
    (3, ALL, Field::Int32),
    (0, ALL, Field::Array(OFFSET_FOR_LEADER_EPOCH_TOPIC)),
];

const CREATE_TOPICS_ASSIGNMENT: &[Member] = &[(0, ALL, Field::Int32), (0, ALL, Field::ArrayInt32)];
const CREATE_TOPICS_CONFIG: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::Str)];
const CREATE_TOPICS_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Int16),
    (0, ALL, Field::Array(CREATE_TOPICS_ASSIGNMENT)),
    (0, ALL, Field::Array(CREATE_TOPICS_CONFIG)),
];
const CREATE_TOPICS: &[Member] = &[
    (0, ALL, Field::Array(CREATE_TOPICS_TOPIC)),
    (0, ALL, Field::Int32),
    (1, ALL, Field::Int8),
];

const DELETE_TOPICS_STATE: &[Member] = &[(6, ALL, Field::Str), (6, ALL, Field::Uuid)];
const DELETE_TOPICS: &[Member] = &[
    (6, ALL, Field::Array(DELETE_TOPICS_STATE)),
    (0, 5, Field::ArrayStr),
    (0, ALL, Field::Int32),
];

const CREATE_PARTITIONS_ASSIGNMENT: &[Member] = &[(0, ALL, Field::ArrayInt32)];
const CREATE_PARTITIONS_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Array(CREATE_PARTITIONS_ASSIGNMENT)),
];
const CREATE_PARTITIONS: &[Member] = &[
    (0, ALL, Field::Array(CREATE_PARTITIONS_TOPIC)),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Int8),
];

const DESCRIBE_CONFIGS_RESOURCE: &[Member] = &[
    (0, ALL, Field::Int8),
    (0, ALL, Field::Str),
    (0, ALL, Field::ArrayStr),
];
const DESCRIBE_CONFIGS: &[Member] = &[
    (0, ALL, Field::Array(DESCRIBE_CONFIGS_RESOURCE)),
    (1, ALL, Field::Int8),
    (3, ALL, Field::Int8),
];

const ALTER_CONFIGS_CONFIG: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::Str)];
const ALTER_CONFIGS_RESOURCE: &[Member] = &[
    (0, ALL, Field::Int8),
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(ALTER_CONFIGS_CONFIG)),
];
const ALTER_CONFIGS: &[Member] = &[
    (0, ALL, Field::Array(ALTER_CONFIGS_RESOURCE)),
    (0, ALL, Field::Int8),
];

const INCREMENTAL_ALTER_CONFIGS_CONFIG: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int8),
    (0, ALL, Field::Str),
];
const INCREMENTAL_ALTER_CONFIGS_RESOURCE: &[Member] = &[
    (0, ALL, Field::Int8),
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(INCREMENTAL_ALTER_CONFIGS_CONFIG)),
];
const INCREMENTAL_ALTER_CONFIGS: &[Member] = &[
    (0, ALL, Field::Array(INCREMENTAL_ALTER_CONFIGS_RESOURCE)),
    (0, ALL, Field::Int8),
];

const DESCRIBE_CLUSTER: &[Member] = &[
    (0, ALL, Field::Int8),
    (1, ALL, Field::Int8),
    (2, ALL, Field::Int8),
];

const DESCRIBE_LOG_DIRS_TOPIC: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::ArrayInt32)];
const DESCRIBE_LOG_DIRS: &[Member] = &[(0, ALL, Field::Array(DESCRIBE_LOG_DIRS_TOPIC))];

const DELETE_RECORDS_PARTITION: &[Member] = &[(0, ALL, Field::Int32), (0, ALL, Field::Int64)];
const DELETE_RECORDS_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(DELETE_RECORDS_PARTITION)),
];
const DELETE_RECORDS: &[Member] = &[
    (0, ALL, Field::Array(DELETE_RECORDS_TOPIC)),
    (0, ALL, Field::Int32),
];

const DESCRIBE_TOPIC_PARTITIONS_TOPIC: &[Member] = &[(0, ALL, Field::Str)];
const DESCRIBE_TOPIC_PARTITIONS_CURSOR: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::Int32)];
const DESCRIBE_TOPIC_PARTITIONS: &[Member] = &[
    (0, ALL, Field::Array(DESCRIBE_TOPIC_PARTITIONS_TOPIC)),
    (0, ALL, Field::Int32),
    (
        0,
        ALL,
        Field::NullableStruct(DESCRIBE_TOPIC_PARTITIONS_CURSOR),
    ),
];

const INIT_PRODUCER_ID: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (3, ALL, Field::Int64),
    (3, ALL, Field::Int16),
];

const ADD_PARTITIONS_TO_TXN_TOPIC: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::ArrayInt32)];
const ADD_PARTITIONS_TO_TXN_TRANSACTION: &[Member] = &[
    (4, ALL, Field::Str),
    (4, ALL, Field::Int64),
    (4, ALL, Field::Int16),
    (4, ALL, Field::Int8),
    (4, ALL, Field::Array(ADD_PARTITIONS_TO_TXN_TOPIC)),
];
const ADD_PARTITIONS_TO_TXN: &[Member] = &[
    (4, ALL, Field::Array(ADD_PARTITIONS_TO_TXN_TRANSACTION)),
    (0, 3, Field::Str),
    (0, 3, Field::Int64),
    (0, 3, Field::Int16),
    (0, 3, Field::Array(ADD_PARTITIONS_TO_TXN_TOPIC)),
];

const ADD_OFFSETS_TO_TXN: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int64),
    (0, ALL, Field::Int16),
    (0, ALL, Field::Str),
];

const END_TXN: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int64),
    (0, ALL, Field::Int16),
    (0, ALL, Field::Int8),
];

const TXN_OFFSET_COMMIT_PARTITION: &[Member] = &[
    (0, ALL, Field::Int32),
    (0, ALL, Field::Int64),
    (2, ALL, Field::Int32),
    (0, ALL, Field::Str),
];
const TXN_OFFSET_COMMIT_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(TXN_OFFSET_COMMIT_PARTITION)),
];
const TXN_OFFSET_COMMIT: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Str),
    (0, ALL, Field::Int64),
    (0, ALL, Field::Int16),
    (3, ALL, Field::Int32),
    (3, ALL, Field::Str),
    (3, ALL, Field::Str),
    (0, ALL, Field::Array(TXN_OFFSET_COMMIT_TOPIC)),
];

const DESCRIBE_PRODUCERS_TOPIC: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::ArrayInt32)];
const DESCRIBE_PRODUCERS: &[Member] = &[(0, ALL, Field::Array(DESCRIBE_PRODUCERS_TOPIC))];

const DESCRIBE_TRANSACTIONS: &[Member] = &[(0, ALL, Field::ArrayStr)];

const LIST_TRANSACTIONS: &[Member] = &[
    (0, ALL, Field::ArrayStr),
    (0, ALL, Field::ArrayInt64),
    (1, ALL, Field::Int64),
    (2, ALL, Field::Str),
];

const API_VERSIONS: &[Member] = &[(3, ALL, Field::Str), (3, ALL, Field::Str)];

const FIND_COORDINATOR: &[Member] = &[
    (0, 3, Field::Str),
    (1, ALL, Field::Int8),
    (4, ALL, Field::ArrayStr),
];

const JOIN_GROUP_PROTOCOL: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::Bytes)];
const JOIN_GROUP: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (1, ALL, Field::Int32),
    (0, ALL, Field::Str),
    (5, ALL, Field::Str),
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(JOIN_GROUP_PROTOCOL)),
    (8, ALL, Field::Str),
];

const SYNC_GROUP_ASSIGNMENT: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::Bytes)];
const SYNC_GROUP: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Str),
    (3, ALL, Field::Str),
    (5, ALL, Field::Str),
    (5, ALL, Field::Str),
    (0, ALL, Field::Array(SYNC_GROUP_ASSIGNMENT)),
];

const HEARTBEAT: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Str),
    (3, ALL, Field::Str),
];

const LEAVE_GROUP_MEMBER: &[Member] = &[
    (3, ALL, Field::Str),
    (3, ALL, Field::Str),
    (5, ALL, Field::Str),
];
const LEAVE_GROUP: &[Member] = &[
    (0, ALL, Field::Str),
    (0, 2, Field::Str),
    (3, ALL, Field::Array(LEAVE_GROUP_MEMBER)),
];

const OFFSET_COMMIT_PARTITION: &[Member] = &[
    (0, ALL, Field::Int32),
    (0, ALL, Field::Int64),
    (6, ALL, Field::Int32),
    (1, 1, Field::Int64),
    (0, ALL, Field::Str),
];
const OFFSET_COMMIT_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(OFFSET_COMMIT_PARTITION)),
];
const OFFSET_COMMIT: &[Member] = &[
    (0, ALL, Field::Str),
    (1, ALL, Field::Int32),
    (1, ALL, Field::Str),
    (7, ALL, Field::Str),
    (2, 4, Field::Int64),
    (0, ALL, Field::Array(OFFSET_COMMIT_TOPIC)),
];

const OFFSET_FETCH_TOPIC: &[Member] = &[(0, ALL, Field::Str), (0, ALL, Field::ArrayInt32)];
const OFFSET_FETCH_GROUP: &[Member] = &[
    (8, ALL, Field::Str),
    (9, ALL, Field::Str),
    (9, ALL, Field::Int32),
    (8, ALL, Field::Array(OFFSET_FETCH_TOPIC)),
];
const OFFSET_FETCH: &[Member] = &[
    (0, 7, Field::Str),
    (0, 7, Field::Array(OFFSET_FETCH_TOPIC)),
    (8, ALL, Field::Array(OFFSET_FETCH_GROUP)),
    (7, ALL, Field::Int8),
];

const OFFSET_DELETE_PARTITION: &[Member] = &[(0, ALL, Field::Int32)];
const OFFSET_DELETE_TOPIC: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(OFFSET_DELETE_PARTITION)),
];
const OFFSET_DELETE: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(OFFSET_DELETE_TOPIC)),
];

const LIST_GROUPS: &[Member] = &[(4, ALL, Field::ArrayStr), (5, ALL, Field::ArrayStr)];

const DESCRIBE_GROUPS: &[Member] = &[(0, ALL, Field::ArrayStr), (3, ALL, Field::Int8)];

const DELETE_GROUPS: &[Member] = &[(0, ALL, Field::ArrayStr)];

const CONSUMER_GROUP_HEARTBEAT_TOPIC: &[Member] =
    &[(0, ALL, Field::Uuid), (0, ALL, Field::ArrayInt32)];
const CONSUMER_GROUP_HEARTBEAT: &[Member] = &[
    (0, ALL, Field::Str),
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::Str),
    (0, ALL, Field::Str),
    (0, ALL, Field::Int32),
    (0, ALL, Field::ArrayStr),
    (1, ALL, Field::Str),
    (0, ALL, Field::Str),
    (0, ALL, Field::Array(CONSUMER_GROUP_HEARTBEAT_TOPIC)),
];

const CONSUMER_GROUP_DESCRIBE: &[Member] = &[(0, ALL, Field::ArrayStr), (0, ALL, Field::Int8)];

/// The schema of a served request body and the first flexible version.
fn schema(key: ApiKey) -> Option<(&'static [Member], i16)> {
    Some(match key {
        ApiKey::Metadata => (METADATA, 9),
        ApiKey::Produce => (PRODUCE, 9),
        ApiKey::Fetch => (FETCH, 12),
        ApiKey::ListOffsets => (LIST_OFFSETS, 6),
        ApiKey::OffsetForLeaderEpoch => (OFFSET_FOR_LEADER_EPOCH, 4),
        ApiKey::ApiVersions => (API_VERSIONS, 3),
        ApiKey::CreateTopics => (CREATE_TOPICS, 5),
        ApiKey::DeleteTopics => (DELETE_TOPICS, 4),
        ApiKey::CreatePartitions => (CREATE_PARTITIONS, 2),
        ApiKey::DescribeConfigs => (DESCRIBE_CONFIGS, 4),
        ApiKey::AlterConfigs => (ALTER_CONFIGS, 2),
        ApiKey::IncrementalAlterConfigs => (INCREMENTAL_ALTER_CONFIGS, 1),
        ApiKey::DescribeCluster => (DESCRIBE_CLUSTER, 0),
        ApiKey::DescribeLogDirs => (DESCRIBE_LOG_DIRS, 2),
        ApiKey::DeleteRecords => (DELETE_RECORDS, 2),
        ApiKey::DescribeTopicPartitions => (DESCRIBE_TOPIC_PARTITIONS, 0),
        ApiKey::InitProducerId => (INIT_PRODUCER_ID, 2),
        ApiKey::AddPartitionsToTxn => (ADD_PARTITIONS_TO_TXN, 3),
        ApiKey::AddOffsetsToTxn => (ADD_OFFSETS_TO_TXN, 3),
        ApiKey::EndTxn => (END_TXN, 3),
        ApiKey::TxnOffsetCommit => (TXN_OFFSET_COMMIT, 3),
        ApiKey::DescribeProducers => (DESCRIBE_PRODUCERS, 0),
        ApiKey::DescribeTransactions => (DESCRIBE_TRANSACTIONS, 0),
        ApiKey::ListTransactions => (LIST_TRANSACTIONS, 0),
        ApiKey::FindCoordinator => (FIND_COORDINATOR, 3),
        ApiKey::JoinGroup => (JOIN_GROUP, 6),
        ApiKey::SyncGroup => (SYNC_GROUP, 4),
        ApiKey::Heartbeat => (HEARTBEAT, 4),
        ApiKey::LeaveGroup => (LEAVE_GROUP, 4),
        ApiKey::OffsetCommit => (OFFSET_COMMIT, 8),
        ApiKey::OffsetFetch => (OFFSET_FETCH, 6),
        ApiKey::OffsetDelete => (OFFSET_DELETE, ALL),
        ApiKey::ListGroups => (LIST_GROUPS, 3),
        ApiKey::DescribeGroups => (DESCRIBE_GROUPS, 5),
        ApiKey::DeleteGroups => (DELETE_GROUPS, 2),
        ApiKey::ConsumerGroupHeartbeat => (CONSUMER_GROUP_HEARTBEAT, 0),
        ApiKey::ConsumerGroupDescribe => (CONSUMER_GROUP_DESCRIBE, 0),
        _ => return None,
    })
}

/// Why a body failed the pre-check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request body is malformed at byte {at}: {what}")]
pub struct Malformed {
    /// Offset in the body.
    pub at: usize,
    /// What was wrong.
    pub what: &'static str,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn fail<T>(&self, what: &'static str) -> Result<T, Malformed> {
        Err(Malformed { at: self.pos, what })
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Malformed> {
        if n > self.remaining() {
            return self.fail("field runs past the end of the frame");
        }
        let from = self.pos;
        self.pos += n;
        self.buf.get(from..self.pos).ok_or(Malformed {
            at: from,
            what: "field out of bounds",
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let at = self.pos;
        self.take(N)?.try_into().map_err(|_| Malformed {
            at,
            what: "field out of bounds",
        })
    }

    fn int16(&mut self) -> Result<i16, Malformed> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn int32(&mut self) -> Result<i32, Malformed> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u32, Malformed> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let [b] = self.array()?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail("varint longer than 5 bytes")
    }

    /// A length or count: `None` for null.
    fn length(&mut self, flexible: bool, wide: bool) -> Result<Option<usize>, Malformed> {
        let n: i64 = if flexible {
            i64::from(self.uvarint()?) - 1
        } else if wide {
            i64::from(self.int32()?)
        } else {
            i64::from(self.int16()?)
        };
        match n {
            -1 => Ok(None),
            n if n < -1 => self.fail("negative length"),
            n => usize::try_from(n)
                .map(Some)
                .or_else(|_| self.fail("length overflow")),
        }
    }

    fn tagged_fields(&mut self) -> Result<(), Malformed> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = self.uvarint()? as usize;
            self.take(size)?;
        }
        Ok(())
    }

    fn walk(&mut self, members: &[Member], version: i16, flexible: bool) -> Result<(), Malformed> {
        for &(min, max, field) in members {
            if (min..=max).contains(&version) {
                self.field(field, version, flexible)?;
            }
        }
        if flexible {
            self.tagged_fields()?;
        }
        Ok(())
    }

    fn field(&mut self, field: Field, version: i16, flexible: bool) -> Result<(), Malformed> {
        match field {
            Field::Int8 => self.take(1).map(drop),
            Field::Int16 => self.take(2).map(drop),
            Field::Int32 => self.take(4).map(drop),
            Field::Int64 => self.take(8).map(drop),
            Field::Uuid => self.take(16).map(drop),
            Field::Str => match self.length(flexible, false)? {
                Some(n) => self.take(n).map(drop),
                None => Ok(()),
            },
            Field::Bytes => match self.length(flexible, true)? {
                Some(n) => self.take(n).map(drop),
                None => Ok(()),
            },
            Field::ArrayInt32 => match self.length(flexible, true)? {
                Some(n) => self.take(n.saturating_mul(4)).map(drop),
                None => Ok(()),
            },
            Field::ArrayInt64 => match self.length(flexible, true)? {
                Some(n) => self.take(n.saturating_mul(8)).map(drop),
                None => Ok(()),
            },
            Field::ArrayStr => {
                let Some(count) = self.length(flexible, true)? else {
                    return Ok(());
                };
                if count > self.remaining() {
                    return self.fail("array count exceeds the bytes left in the frame");
                }
                for _ in 0..count {
                    self.field(Field::Str, version, flexible)?;
                }
                Ok(())
            }
            Field::NullableStruct(members) => {
                let [marker] = self.array()?;
                if marker as i8 >= 0 {
                    self.walk(members, version, flexible)?;
                }
                Ok(())
            }
            Field::Array(members) => {
                let Some(count) = self.length(flexible, true)? else {
                    return Ok(());
                };
                // Every element takes at least one byte: a count beyond the bytes left is a lie.
                if count > self.remaining() {
                    return self.fail("array count exceeds the bytes left in the frame");
                }
                for _ in 0..count {
                    self.walk(members, version, flexible)?;
                }
                Ok(())
            }
        }
    }
}

/// Checks that a request body of `key` at `version` is structurally sound: every count and
/// length fits in the bytes present. An API without a schema here is refused, so a newly
/// served API cannot reach the decoder unguarded.
pub fn check_body(key: ApiKey, version: i16, body: &[u8]) -> Result<(), Malformed> {
    let Some((members, first_flexible)) = schema(key) else {
        return Err(Malformed {
            at: 0,
            what: "no pre-check schema for this API",
        });
    };
    let mut cursor = Cursor { buf: body, pos: 0 };
    cursor.walk(members, version, version >= first_flexible)
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
                kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions::default()
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
