//! KIP-848: ConsumerGroupHeartbeat v0–v1 and ConsumerGroupDescribe v0. Partitions are
//! named by topic ID; the coordinator gets the whole topic registry as its metadata
//! snapshot.
//!
//! librdkafka asks for ConsumerGroupHeartbeat v1 exactly, which `kafka-protocol` 0.15 does
//! not know. v1 differs from v0 by one field, `SubscribedTopicRegex` (a compact nullable
//! string after `SubscribedTopicNames`), and by member ids chosen by the client; the
//! response is the same. [`decode_heartbeat`] cuts that field out and decodes the rest as
//! v0; the response is encoded as v0.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    consumer_group_describe_response as describe, consumer_group_heartbeat_response as hb,
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
};
use kafka_protocol::protocol::Encodable;

use super::{code, group_id, opt_string, put_uvarint, str_bytes, string, topic_name, ClientInfo};
use crate::api::{acl_operations, ApiContext};
use crate::broker::group::{self, NamedTopicPartitions, TopicsSnapshot};

/// Every topic the broker has: name → (topic ID, partition count).
pub fn topics_snapshot(ctx: &ApiContext) -> TopicsSnapshot {
    ctx.replicas
        .topics()
        .list()
        .into_iter()
        .map(|t| (t.name.clone(), (t.id, t.partitions)))
        .collect()
}

/// A ConsumerGroupHeartbeat request of v0 or v1.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatRequest {
    /// The fields v0 and v1 share.
    pub body: ConsumerGroupHeartbeatRequest,
    /// v1's regular-expression subscription.
    pub subscribed_topic_regex: Option<String>,
}

/// Why a v1 body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ConsumerGroupHeartbeat v1 body at byte {0}")]
pub struct Malformed(pub usize);

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Malformed> {
        let b = *self.buf.get(self.pos).ok_or(Malformed(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self) -> Result<u32, Malformed> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed(self.pos))
    }

    fn skip(&mut self, n: usize) -> Result<(), Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed(self.pos))?;
        if end > self.buf.len() {
            return Err(Malformed(self.pos));
        }
        self.pos = end;
        Ok(())
    }

    /// A compact nullable string: its bytes, `None` for null.
    fn compact_string(&mut self) -> Result<Option<&[u8]>, Malformed> {
        let n = self.uvarint()?;
        if n == 0 {
            return Ok(None);
        }
        let from = self.pos;
        self.skip(n as usize - 1)?;
        Ok(self.buf.get(from..self.pos))
    }
}

/// Decodes a ConsumerGroupHeartbeat body of `version` 0 or 1.
pub fn decode_heartbeat(bytes: &mut Bytes, version: i16) -> Result<HeartbeatRequest, String> {
    use kafka_protocol::protocol::Decodable;
    if version == 0 {
        let body = ConsumerGroupHeartbeatRequest::decode(bytes, 0).map_err(|e| e.to_string())?;
        return Ok(HeartbeatRequest {
            body,
            subscribed_topic_regex: None,
        });
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let fail = |e: Malformed| e.to_string();
    r.compact_string().map_err(fail)?; // group id
    r.compact_string().map_err(fail)?; // member id
    r.skip(4).map_err(fail)?; // member epoch
    r.compact_string().map_err(fail)?; // instance id
    r.compact_string().map_err(fail)?; // rack id
    r.skip(4).map_err(fail)?; // rebalance timeout
    let names = r.uvarint().map_err(fail)?; // subscribed topic names
    for _ in 1..names {
        r.compact_string().map_err(fail)?;
    }
    let regex_start = r.pos;
    let regex = r
        .compact_string()
        .map_err(fail)?
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let regex_end = r.pos;
    let mut v0 = BytesMut::with_capacity(bytes.len());
    v0.extend_from_slice(bytes.get(..regex_start).unwrap_or_default());
    v0.extend_from_slice(bytes.get(regex_end..).unwrap_or_default());
    let mut v0 = v0.freeze();
    let body = ConsumerGroupHeartbeatRequest::decode(&mut v0, 0).map_err(|e| e.to_string())?;
    *bytes = v0;
    Ok(HeartbeatRequest {
        body,
        subscribed_topic_regex: regex,
    })
}

/// ConsumerGroupHeartbeat v0–v1.
pub fn heartbeat(
    ctx: &ApiContext,
    req: HeartbeatRequest,
    client: ClientInfo,
) -> ConsumerGroupHeartbeatResponse {
    // An empty regex (librdkafka sends one when it subscribes by name) means none.
    let regex = req.subscribed_topic_regex;
    let req = req.body;
    let request = group::ConsumerGroupHeartbeatRequest {
        group_id: string(&req.group_id),
        member_id: string(&req.member_id),
        member_epoch: req.member_epoch,
        instance_id: opt_string(&req.instance_id),
        rack_id: opt_string(&req.rack_id),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|ts| ts.iter().map(|t| string(t)).collect()),
        subscribed_topic_regex: regex,
        server_assignor: opt_string(&req.server_assignor),
        topic_partitions: req.topic_partitions.map(|ts| {
            ts.into_iter()
                .map(|t| group::TopicPartitions {
                    topic_id: t.topic_id,
                    partitions: t.partitions,
                })
                .collect()
        }),
        client_id: client.client_id,
        client_host: client.host,
    };
    let r = ctx
        .groups
        .consumer_group_heartbeat(request, &topics_snapshot(ctx));
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(code(&r.error))
        .with_error_message(r.error_message.map(str_bytes))
        .with_member_id(r.member_id.map(str_bytes))
        .with_member_epoch(r.member_epoch)
        .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
        .with_assignment(r.assignment.map(|ts| {
            hb::Assignment::default().with_topic_partitions(
                ts.into_iter()
                    .map(|t| {
                        hb::TopicPartitions::default()
                            .with_topic_id(t.topic_id)
                            .with_partitions(t.partitions)
                    })
                    .collect(),
            )
        }))
}

fn assignment(ts: Vec<NamedTopicPartitions>) -> describe::Assignment {
    describe::Assignment::default().with_topic_partitions(
        ts.into_iter()
            .map(|t| {
                describe::TopicPartitions::default()
                    .with_topic_id(t.topic_id)
                    .with_topic_name(topic_name(t.topic_name))
                    .with_partitions(t.partitions)
            })
            .collect(),
    )
}

/// ConsumerGroupDescribe v0–v1.
pub fn describe(ctx: &ApiContext, req: ConsumerGroupDescribeRequest) -> ConsumerGroupDescribe {
    let ids: Vec<String> = req.group_ids.iter().map(|g| string(g)).collect();
    let groups = ctx
        .groups
        .consumer_group_describe(&ids)
        .into_iter()
        .map(|g| {
            let operations = acl_operations::if_requested(
                req.include_authorized_operations && g.error.is_none(),
                acl_operations::GROUP,
            );
            describe::DescribedGroup::default()
                .with_authorized_operations(operations)
                .with_error_code(code(&g.error))
                .with_error_message(g.error.as_ref().map(|e| str_bytes(e.to_string())))
                .with_group_id(group_id(g.group_id))
                .with_group_state(str_bytes(g.group_state))
                .with_group_epoch(g.group_epoch)
                .with_assignment_epoch(g.assignment_epoch)
                .with_assignor_name(str_bytes(g.assignor_name))
                .with_members(
                    g.members
                        .into_iter()
                        .map(|m| {
                            describe::Member::default()
                                .with_member_id(str_bytes(m.member_id))
                                .with_instance_id(m.instance_id.map(str_bytes))
                                .with_rack_id(m.rack_id.map(str_bytes))
                                .with_member_epoch(m.member_epoch)
                                .with_client_id(str_bytes(m.client_id))
                                .with_client_host(str_bytes(m.client_host))
                                .with_subscribed_topic_names(
                                    m.subscribed_topic_names
                                        .into_iter()
                                        .map(topic_name)
                                        .collect(),
                                )
                                .with_subscribed_topic_regex(
                                    m.subscribed_topic_regex.map(str_bytes),
                                )
                                .with_assignment(assignment(m.assignment))
                                .with_target_assignment(assignment(m.target_assignment))
                        })
                        .collect(),
                )
        })
        .collect();
    ConsumerGroupDescribe(ConsumerGroupDescribeResponse::default().with_groups(groups))
}

/// A ConsumerGroupDescribe answer. v1 (KIP-1099) adds each member's type after its target
/// assignment; kafka-protocol encodes v0, so v1 is written around v0's encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroupDescribe(pub ConsumerGroupDescribeResponse);

/// `MemberType` of a member using the consumer protocol (every member of a KIP-848 group
/// here: Skiff's consumer groups have no classic members).
const MEMBER_TYPE_CONSUMER: u8 = 1;

impl ConsumerGroupDescribe {
    /// Encodes the response body at `version` (v0–v1).
    pub fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        if version == 0 {
            return self.0.encode(out, 0).map_err(|e| e.to_string());
        }
        out.put_i32(self.0.throttle_time_ms);
        put_uvarint(out, self.0.groups.len() as u64 + 1);
        for group in &self.0.groups {
            // The group without members ends: members (0x01: empty), authorized operations
            // (4 bytes), tagged fields (0x00).
            let mut shell = BytesMut::new();
            let mut empty = group.clone();
            empty.members.clear();
            empty.encode(&mut shell, 0).map_err(|e| e.to_string())?;
            let n = shell.len();
            if n < 6 || shell[n - 6] != 1 || shell[n - 1] != 0 {
                return Err("unexpected group encoding".into());
            }
            out.extend_from_slice(&shell[..n - 6]);
            put_uvarint(out, group.members.len() as u64 + 1);
            for member in &group.members {
                let mut one = BytesMut::new();
                member.encode(&mut one, 0).map_err(|e| e.to_string())?;
                let Some((tagged, fields)) = one.split_last() else {
                    return Err("empty member encoding".into());
                };
                if *tagged != 0 {
                    return Err("member with tagged fields".into());
                }
                out.extend_from_slice(fields);
                out.put_u8(MEMBER_TYPE_CONSUMER);
                out.put_u8(0);
            }
            out.extend_from_slice(&shell[n - 5..]);
        }
        put_uvarint(out, 0);
        Ok(())
    }
}
