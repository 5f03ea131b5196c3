//! The share-group message versions kafka-clients 4.4.0 sends that kafka-protocol 0.18 does
//! not know, following Kafka 4.4's message definitions:
//!
//! - ShareFetch v2 (KIP-1206, KIP-1222): the request adds `ShareAcquireMode` (int8) and
//!   `IsRenewAck` (bool) after `BatchSize`; the response is v1's.
//! - ShareAcknowledge v2 (KIP-1222): the request adds `IsRenewAck` (bool) after
//!   `ShareSessionEpoch`; the response adds `AcquisitionLockTimeoutMs` (int32) after
//!   `ErrorMessage`.
//! - DescribeShareGroupOffsets v1: the request is v0's; each response partition adds `Lag`
//!   (int64) after `LeaderEpoch`.
//!
//! Every nested struct of the new versions is the previous version's, so each message here
//! wraps kafka-protocol's message of the previous version, reads and writes the fields the
//! new version adds, and leaves everything else to kafka-protocol's codecs (at the previous
//! version). All versions are flexible: each struct ends with tagged fields, which are read
//! and dropped (none is defined) and written as none.

use anyhow::{bail, Result};
use bytes::{Buf, Bytes};
use kafka_protocol::messages::{
    DescribeShareGroupOffsetsRequest, GroupId, ShareAcknowledgeRequest, ShareAcknowledgeResponse,
    ShareFetchRequest, ShareFetchResponse, TopicName,
};
use kafka_protocol::protocol::buf::{ByteBuf, ByteBufMut};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use uuid::Uuid;

/// The primitive types of Kafka's protocol that these messages use (kafka-protocol keeps its
/// own codecs private).
mod wire {
    use super::*;

    fn need<B: ByteBuf>(buf: &B, n: usize) -> Result<()> {
        if buf.remaining() < n {
            bail!("message truncated: {n} more bytes expected");
        }
        Ok(())
    }

    pub fn uvarint<B: ByteBuf>(buf: &mut B) -> Result<u32> {
        let mut value: u32 = 0;
        for i in 0..5 {
            need(buf, 1)?;
            let b = buf.get_u8();
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("unsigned varint longer than 5 bytes")
    }

    pub fn put_uvarint<B: ByteBufMut>(buf: &mut B, mut v: u32) {
        while v >= 0x80 {
            buf.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        buf.put_u8(v as u8);
    }

    pub fn i8<B: ByteBuf>(buf: &mut B) -> Result<i8> {
        need(buf, 1)?;
        Ok(buf.get_i8())
    }

    pub fn bool<B: ByteBuf>(buf: &mut B) -> Result<bool> {
        Ok(i8(buf)? != 0)
    }

    pub fn i16<B: ByteBuf>(buf: &mut B) -> Result<i16> {
        need(buf, 2)?;
        Ok(buf.get_i16())
    }

    pub fn i32<B: ByteBuf>(buf: &mut B) -> Result<i32> {
        need(buf, 4)?;
        Ok(buf.get_i32())
    }

    pub fn i64<B: ByteBuf>(buf: &mut B) -> Result<i64> {
        need(buf, 8)?;
        Ok(buf.get_i64())
    }

    pub fn uuid<B: ByteBuf>(buf: &mut B) -> Result<Uuid> {
        need(buf, 16)?;
        Ok(Uuid::from_u128(buf.get_u128()))
    }

    /// A compact nullable string.
    pub fn string<B: ByteBuf>(buf: &mut B) -> Result<Option<StrBytes>> {
        let n = uvarint(buf)?;
        let Some(len) = n.checked_sub(1) else {
            return Ok(None);
        };
        let bytes = buf.try_get_bytes(len as usize)?;
        Ok(Some(StrBytes::from_utf8(bytes)?))
    }

    pub fn put_string<B: ByteBufMut>(buf: &mut B, s: Option<&StrBytes>) -> Result<()> {
        match s {
            None => put_uvarint(buf, 0),
            Some(s) => {
                put_uvarint(buf, u32::try_from(s.len() + 1)?);
                buf.put_slice(s.as_bytes());
            }
        }
        Ok(())
    }

    /// A compact array's length (null refused: none of these arrays is nullable).
    pub fn len<B: ByteBuf>(buf: &mut B) -> Result<usize> {
        match uvarint(buf)?.checked_sub(1) {
            Some(n) if n as usize <= buf.remaining() => Ok(n as usize),
            Some(_) => bail!("array longer than the message"),
            None => bail!("null array where none is allowed"),
        }
    }

    pub fn put_len<B: ByteBufMut>(buf: &mut B, len: usize) -> Result<()> {
        put_uvarint(buf, u32::try_from(len + 1)?);
        Ok(())
    }

    /// A compact array of kafka-protocol structs at `version`.
    pub fn structs<B: ByteBuf, T: Decodable>(buf: &mut B, version: i16) -> Result<Vec<T>> {
        let n = len(buf)?;
        (0..n).map(|_| T::decode(buf, version)).collect()
    }

    pub fn put_structs<B: ByteBufMut, T: Encodable>(
        buf: &mut B,
        items: &[T],
        version: i16,
    ) -> Result<()> {
        put_len(buf, items.len())?;
        items.iter().try_for_each(|t| t.encode(buf, version))
    }

    /// A struct's tagged fields, read and dropped (these messages define none).
    pub fn skip_tagged_fields<B: ByteBuf>(buf: &mut B) -> Result<()> {
        for _ in 0..uvarint(buf)? {
            let _tag = uvarint(buf)?;
            let size = uvarint(buf)?;
            buf.try_get_bytes(size as usize)?;
        }
        Ok(())
    }

    /// An empty tagged-fields section.
    pub fn no_tagged_fields<B: ByteBufMut>(buf: &mut B) {
        put_uvarint(buf, 0);
    }
}

/// The APIs whose newest served version this module adds, with that version (past
/// kafka-protocol's own range).
pub const EXTENDED_VERSIONS: &[(kafka_protocol::messages::ApiKey, i16)] = &[
    (kafka_protocol::messages::ApiKey::ShareFetch, 2),
    (kafka_protocol::messages::ApiKey::ShareAcknowledge, 2),
    (
        kafka_protocol::messages::ApiKey::DescribeShareGroupOffsets,
        1,
    ),
];

/// The size of a message as `encode` writes it.
fn encoded_size(m: &impl Encodable, version: i16) -> Result<usize> {
    let mut buf = bytes::BytesMut::new();
    m.encode(&mut buf, version)?;
    Ok(buf.len())
}

/// `ShareAcquireMode`: whole batches (the default, and v1's only mode).
pub const ACQUIRE_MODE_BATCH_OPTIMIZED: i8 = 0;
/// `ShareAcquireMode`: at most `MaxRecords` records, splitting batches.
pub const ACQUIRE_MODE_RECORD_LIMIT: i8 = 1;

/// ShareFetchRequest, v1 and v2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareFetchRequestV2 {
    /// The fields v1 has (every nested struct is v1's in v2 too).
    pub inner: ShareFetchRequest,
    /// `ShareAcquireMode` (v2): 0 batch-optimized, 1 record-limit.
    pub share_acquire_mode: i8,
    /// `IsRenewAck` (v2): the acknowledgements include RENEW ones.
    pub is_renew_ack: bool,
}

impl Decodable for ShareFetchRequestV2 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        match version {
            1 => Ok(ShareFetchRequestV2 {
                inner: ShareFetchRequest::decode(buf, 1)?,
                ..Default::default()
            }),
            2 => {
                let group_id: Option<StrBytes> = wire::string(buf)?;
                let member_id: Option<StrBytes> = wire::string(buf)?;
                let share_session_epoch = wire::i32(buf)?;
                let max_wait_ms = wire::i32(buf)?;
                let min_bytes = wire::i32(buf)?;
                let max_bytes = wire::i32(buf)?;
                let max_records = wire::i32(buf)?;
                let batch_size = wire::i32(buf)?;
                let share_acquire_mode = wire::i8(buf)?;
                let is_renew_ack = wire::bool(buf)?;
                let topics = wire::structs(buf, 1)?;
                let forgotten = wire::structs(buf, 1)?;
                wire::skip_tagged_fields(buf)?;
                Ok(ShareFetchRequestV2 {
                    inner: ShareFetchRequest::default()
                        .with_group_id(group_id.map(GroupId))
                        .with_member_id(member_id)
                        .with_share_session_epoch(share_session_epoch)
                        .with_max_wait_ms(max_wait_ms)
                        .with_min_bytes(min_bytes)
                        .with_max_bytes(max_bytes)
                        .with_max_records(max_records)
                        .with_batch_size(batch_size)
                        .with_topics(topics)
                        .with_forgotten_topics_data(forgotten),
                    share_acquire_mode,
                    is_renew_ack,
                })
            }
            _ => bail!("ShareFetchRequest v{version} is not supported"),
        }
    }
}

impl Encodable for ShareFetchRequestV2 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        match version {
            1 => self.inner.encode(buf, 1),
            2 => {
                let r = &self.inner;
                let group_id: Option<StrBytes> = r.group_id.clone().map(|g| g.0);
                wire::put_string(buf, group_id.as_ref())?;
                wire::put_string(buf, r.member_id.as_ref())?;
                buf.put_i32(r.share_session_epoch);
                buf.put_i32(r.max_wait_ms);
                buf.put_i32(r.min_bytes);
                buf.put_i32(r.max_bytes);
                buf.put_i32(r.max_records);
                buf.put_i32(r.batch_size);
                buf.put_i8(self.share_acquire_mode);
                buf.put_i8(i8::from(self.is_renew_ack));
                wire::put_structs(buf, &r.topics, 1)?;
                wire::put_structs(buf, &r.forgotten_topics_data, 1)?;
                wire::no_tagged_fields(buf);
                Ok(())
            }
            _ => bail!("ShareFetchRequest v{version} is not supported"),
        }
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        encoded_size(self, version)
    }
}

/// ShareFetchResponse, v1 and v2 (the same fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareFetchResponseV2(pub ShareFetchResponse);

impl Encodable for ShareFetchResponseV2 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        match version {
            1 | 2 => self.0.encode(buf, 1),
            _ => bail!("ShareFetchResponse v{version} is not supported"),
        }
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        match version {
            1 | 2 => self.0.compute_size(1),
            _ => bail!("ShareFetchResponse v{version} is not supported"),
        }
    }
}

impl Decodable for ShareFetchResponseV2 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        match version {
            1 | 2 => Ok(ShareFetchResponseV2(ShareFetchResponse::decode(buf, 1)?)),
            _ => bail!("ShareFetchResponse v{version} is not supported"),
        }
    }
}

/// ShareAcknowledgeRequest, v1 and v2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareAcknowledgeRequestV2 {
    /// The fields v1 has.
    pub inner: ShareAcknowledgeRequest,
    /// `IsRenewAck` (v2).
    pub is_renew_ack: bool,
}

impl Decodable for ShareAcknowledgeRequestV2 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        match version {
            1 => Ok(ShareAcknowledgeRequestV2 {
                inner: ShareAcknowledgeRequest::decode(buf, 1)?,
                is_renew_ack: false,
            }),
            2 => {
                let group_id: Option<StrBytes> = wire::string(buf)?;
                let member_id: Option<StrBytes> = wire::string(buf)?;
                let share_session_epoch = wire::i32(buf)?;
                let is_renew_ack = wire::bool(buf)?;
                let topics = wire::structs(buf, 1)?;
                wire::skip_tagged_fields(buf)?;
                Ok(ShareAcknowledgeRequestV2 {
                    inner: ShareAcknowledgeRequest::default()
                        .with_group_id(group_id.map(GroupId))
                        .with_member_id(member_id)
                        .with_share_session_epoch(share_session_epoch)
                        .with_topics(topics),
                    is_renew_ack,
                })
            }
            _ => bail!("ShareAcknowledgeRequest v{version} is not supported"),
        }
    }
}

impl Encodable for ShareAcknowledgeRequestV2 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        match version {
            1 => self.inner.encode(buf, 1),
            2 => {
                let r = &self.inner;
                let group_id: Option<StrBytes> = r.group_id.clone().map(|g| g.0);
                wire::put_string(buf, group_id.as_ref())?;
                wire::put_string(buf, r.member_id.as_ref())?;
                buf.put_i32(r.share_session_epoch);
                buf.put_i8(i8::from(self.is_renew_ack));
                wire::put_structs(buf, &r.topics, 1)?;
                wire::no_tagged_fields(buf);
                Ok(())
            }
            _ => bail!("ShareAcknowledgeRequest v{version} is not supported"),
        }
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        encoded_size(self, version)
    }
}

/// ShareAcknowledgeResponse, v1 and v2.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareAcknowledgeResponseV2 {
    /// The fields v1 has.
    pub inner: ShareAcknowledgeResponse,
    /// `AcquisitionLockTimeoutMs` (v2).
    pub acquisition_lock_timeout_ms: i32,
}

impl Encodable for ShareAcknowledgeResponseV2 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        match version {
            1 => self.inner.encode(buf, 1),
            2 => {
                let r = &self.inner;
                buf.put_i32(r.throttle_time_ms);
                buf.put_i16(r.error_code);
                wire::put_string(buf, r.error_message.as_ref())?;
                buf.put_i32(self.acquisition_lock_timeout_ms);
                wire::put_structs(buf, &r.responses, 1)?;
                wire::put_structs(buf, &r.node_endpoints, 1)?;
                wire::no_tagged_fields(buf);
                Ok(())
            }
            _ => bail!("ShareAcknowledgeResponse v{version} is not supported"),
        }
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        encoded_size(self, version)
    }
}

impl Decodable for ShareAcknowledgeResponseV2 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        match version {
            1 => Ok(ShareAcknowledgeResponseV2 {
                inner: ShareAcknowledgeResponse::decode(buf, 1)?,
                acquisition_lock_timeout_ms: 0,
            }),
            2 => {
                let throttle_time_ms = wire::i32(buf)?;
                let error_code = wire::i16(buf)?;
                let error_message: Option<StrBytes> = wire::string(buf)?;
                let acquisition_lock_timeout_ms = wire::i32(buf)?;
                let responses = wire::structs(buf, 1)?;
                let node_endpoints = wire::structs(buf, 1)?;
                wire::skip_tagged_fields(buf)?;
                Ok(ShareAcknowledgeResponseV2 {
                    inner: ShareAcknowledgeResponse::default()
                        .with_throttle_time_ms(throttle_time_ms)
                        .with_error_code(error_code)
                        .with_error_message(error_message)
                        .with_responses(responses)
                        .with_node_endpoints(node_endpoints),
                    acquisition_lock_timeout_ms,
                })
            }
            _ => bail!("ShareAcknowledgeResponse v{version} is not supported"),
        }
    }
}

/// DescribeShareGroupOffsetsRequest, v0 and v1 (the same fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeShareGroupOffsetsRequestV1(pub DescribeShareGroupOffsetsRequest);

impl Decodable for DescribeShareGroupOffsetsRequestV1 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        match version {
            0 | 1 => Ok(DescribeShareGroupOffsetsRequestV1(
                DescribeShareGroupOffsetsRequest::decode(buf, 0)?,
            )),
            _ => bail!("DescribeShareGroupOffsetsRequest v{version} is not supported"),
        }
    }
}

impl Encodable for DescribeShareGroupOffsetsRequestV1 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        match version {
            0 | 1 => self.0.encode(buf, 0),
            _ => bail!("DescribeShareGroupOffsetsRequest v{version} is not supported"),
        }
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        encoded_size(self, version)
    }
}

/// DescribeShareGroupOffsetsResponse, v0 and v1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeShareGroupOffsetsResponseV1 {
    /// `ThrottleTimeMs`.
    pub throttle_time_ms: i32,
    /// `Groups`.
    pub groups: Vec<OffsetsGroup>,
}

/// `DescribeShareGroupOffsetsResponseGroup`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffsetsGroup {
    /// `GroupId`.
    pub group_id: StrBytes,
    /// `Topics`.
    pub topics: Vec<OffsetsTopic>,
    /// `ErrorCode`.
    pub error_code: i16,
    /// `ErrorMessage`.
    pub error_message: Option<StrBytes>,
}

/// `DescribeShareGroupOffsetsResponseTopic`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffsetsTopic {
    /// `TopicName`.
    pub topic_name: TopicName,
    /// `TopicId`.
    pub topic_id: Uuid,
    /// `Partitions`.
    pub partitions: Vec<OffsetsPartition>,
}

/// `DescribeShareGroupOffsetsResponsePartition`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffsetsPartition {
    /// `PartitionIndex`.
    pub partition_index: i32,
    /// `StartOffset`.
    pub start_offset: i64,
    /// `LeaderEpoch`.
    pub leader_epoch: i32,
    /// `Lag` (v1): records not yet delivered to completion, -1 when unknown.
    pub lag: i64,
    /// `ErrorCode`.
    pub error_code: i16,
    /// `ErrorMessage`.
    pub error_message: Option<StrBytes>,
}

impl Encodable for DescribeShareGroupOffsetsResponseV1 {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        if !(0..=1).contains(&version) {
            bail!("DescribeShareGroupOffsetsResponse v{version} is not supported");
        }
        buf.put_i32(self.throttle_time_ms);
        wire::put_len(buf, self.groups.len())?;
        for g in &self.groups {
            wire::put_string(buf, Some(&g.group_id))?;
            wire::put_len(buf, g.topics.len())?;
            for t in &g.topics {
                wire::put_string(buf, Some(&t.topic_name.0))?;
                buf.put_u128(t.topic_id.as_u128());
                wire::put_len(buf, t.partitions.len())?;
                for p in &t.partitions {
                    buf.put_i32(p.partition_index);
                    buf.put_i64(p.start_offset);
                    buf.put_i32(p.leader_epoch);
                    if version >= 1 {
                        buf.put_i64(p.lag);
                    }
                    buf.put_i16(p.error_code);
                    wire::put_string(buf, p.error_message.as_ref())?;
                    wire::no_tagged_fields(buf);
                }
                wire::no_tagged_fields(buf);
            }
            buf.put_i16(g.error_code);
            wire::put_string(buf, g.error_message.as_ref())?;
            wire::no_tagged_fields(buf);
        }
        wire::no_tagged_fields(buf);
        Ok(())
    }

    fn compute_size(&self, version: i16) -> Result<usize> {
        encoded_size(self, version)
    }
}

impl Decodable for DescribeShareGroupOffsetsResponseV1 {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        if !(0..=1).contains(&version) {
            bail!("DescribeShareGroupOffsetsResponse v{version} is not supported");
        }
        let throttle_time_ms = wire::i32(buf)?;
        let mut groups = Vec::new();
        for _ in 0..wire::len(buf)? {
            let group_id = wire::string(buf)?.unwrap_or_default();
            let mut topics = Vec::new();
            for _ in 0..wire::len(buf)? {
                let topic_name = wire::string(buf)?.unwrap_or_default();
                let topic_id = wire::uuid(buf)?;
                let mut partitions = Vec::new();
                for _ in 0..wire::len(buf)? {
                    let partition_index = wire::i32(buf)?;
                    let start_offset = wire::i64(buf)?;
                    let leader_epoch = wire::i32(buf)?;
                    let lag = if version >= 1 { wire::i64(buf)? } else { -1 };
                    let error_code = wire::i16(buf)?;
                    let error_message = wire::string(buf)?;
                    wire::skip_tagged_fields(buf)?;
                    partitions.push(OffsetsPartition {
                        partition_index,
                        start_offset,
                        leader_epoch,
                        lag,
                        error_code,
                        error_message,
                    });
                }
                wire::skip_tagged_fields(buf)?;
                topics.push(OffsetsTopic {
                    topic_name: TopicName(topic_name),
                    topic_id,
                    partitions,
                });
            }
            let error_code = wire::i16(buf)?;
            let error_message = wire::string(buf)?;
            wire::skip_tagged_fields(buf)?;
            groups.push(OffsetsGroup {
                group_id,
                topics,
                error_code,
                error_message,
            });
        }
        wire::skip_tagged_fields(buf)?;
        Ok(DescribeShareGroupOffsetsResponseV1 {
            throttle_time_ms,
            groups,
        })
    }
}

/// Bytes of `m` encoded at `version` (for tests and the pre-check's samples).
pub fn encoded(m: &impl Encodable, version: i16) -> Result<Bytes> {
    let mut buf = bytes::BytesMut::new();
    m.encode(&mut buf, version)?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::share_fetch_request::{
        AcknowledgementBatch, FetchPartition, FetchTopic,
    };

    #[test]
    fn share_fetch_v2_round_trips_and_v1_is_kafka_protocols() {
        let r = ShareFetchRequestV2 {
            inner: ShareFetchRequest::default()
                .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
                .with_member_id(Some(StrBytes::from_static_str("m")))
                .with_share_session_epoch(3)
                .with_max_records(50)
                .with_batch_size(10)
                .with_topics(vec![FetchTopic::default()
                    .with_topic_id(Uuid::from_u128(7))
                    .with_partitions(vec![FetchPartition::default()
                        .with_partition_index(2)
                        .with_acknowledgement_batches(vec![
                            AcknowledgementBatch::default()
                                .with_first_offset(1)
                                .with_last_offset(4)
                                .with_acknowledge_types(vec![1]),
                        ])])]),
            share_acquire_mode: ACQUIRE_MODE_RECORD_LIMIT,
            is_renew_ack: true,
        };
        let mut v2 = encoded(&r, 2).unwrap();
        assert_eq!(ShareFetchRequestV2::decode(&mut v2, 2).unwrap(), r);
        let mut v1 = encoded(&r, 1).unwrap();
        let back = ShareFetchRequestV2::decode(&mut v1, 1).unwrap();
        assert_eq!(back.inner, r.inner);
        assert_eq!(back.share_acquire_mode, ACQUIRE_MODE_BATCH_OPTIMIZED);
        // v2 is v1 with two more bytes.
        assert_eq!(
            encoded(&r, 2).unwrap().len(),
            encoded(&r, 1).unwrap().len() + 2
        );
    }

    #[test]
    fn share_acknowledge_v2_round_trips() {
        let r = ShareAcknowledgeRequestV2 {
            inner: ShareAcknowledgeRequest::default()
                .with_member_id(Some(StrBytes::from_static_str("m")))
                .with_share_session_epoch(5),
            is_renew_ack: true,
        };
        let mut b = encoded(&r, 2).unwrap();
        assert_eq!(ShareAcknowledgeRequestV2::decode(&mut b, 2).unwrap(), r);
        let resp = ShareAcknowledgeResponseV2 {
            inner: ShareAcknowledgeResponse::default().with_error_code(5),
            acquisition_lock_timeout_ms: 30_000,
        };
        let mut b = encoded(&resp, 2).unwrap();
        assert_eq!(ShareAcknowledgeResponseV2::decode(&mut b, 2).unwrap(), resp);
        assert_eq!(
            encoded(&resp, 2).unwrap().len(),
            encoded(&resp, 1).unwrap().len() + 4
        );
    }

    #[test]
    fn describe_offsets_v1_carries_the_lag_and_v0_is_kafka_protocols() {
        let resp = DescribeShareGroupOffsetsResponseV1 {
            throttle_time_ms: 0,
            groups: vec![OffsetsGroup {
                group_id: StrBytes::from_static_str("g"),
                topics: vec![OffsetsTopic {
                    topic_name: TopicName(StrBytes::from_static_str("t")),
                    topic_id: Uuid::from_u128(9),
                    partitions: vec![OffsetsPartition {
                        partition_index: 1,
                        start_offset: 10,
                        leader_epoch: 0,
                        lag: 4,
                        error_code: 0,
                        error_message: None,
                    }],
                }],
                error_code: 0,
                error_message: None,
            }],
        };
        let mut b = encoded(&resp, 1).unwrap();
        assert_eq!(
            DescribeShareGroupOffsetsResponseV1::decode(&mut b, 1).unwrap(),
            resp
        );
        let mut v0 = encoded(&resp, 0).unwrap();
        let theirs =
            kafka_protocol::messages::DescribeShareGroupOffsetsResponse::decode(&mut v0, 0)
                .unwrap();
        let p = &theirs.groups[0].topics[0].partitions[0];
        assert_eq!((p.partition_index, p.start_offset), (1, 10));
    }
}
