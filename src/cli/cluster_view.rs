//! What the verbs need to know about topics and partitions: Metadata turned into plain
//! structs, and ListOffsets sent to each partition's leader.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_protocol::messages::{BrokerId, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::client::{Client, ClientError, Result};

/// ListOffsets' special timestamp for the log end (latest) offset.
pub const LATEST: i64 = -1;
/// ListOffsets' special timestamp for the log start (earliest) offset.
pub const EARLIEST: i64 = -2;

/// UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// A partition as Metadata describes it.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Leader broker id (-1: none).
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
    /// The partition's error code in the Metadata answer.
    pub error_code: i16,
}

/// A topic as Metadata describes it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id (UUID).
    pub topic_id: String,
    /// Topic id as the protocol carries it.
    pub id: uuid::Uuid,
    /// Whether it is an internal topic.
    pub internal: bool,
    /// Partitions by index.
    pub partitions: Vec<PartitionInfo>,
}

/// A `StrBytes` of a string.
pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A `TopicName` of a string.
pub fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

/// Every topic (`None`) or the named ones; a named topic that does not exist is an
/// UNKNOWN_TOPIC_OR_PARTITION error.
pub async fn topics(client: &mut Client, names: Option<&[String]>) -> Result<Vec<TopicInfo>> {
    let response = client.metadata(names).await?;
    let mut out = Vec::with_capacity(response.topics.len());
    for t in response.topics {
        let name = t.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        ClientError::check(t.error_code, format!("topic {name}"), None)?;
        let mut partitions: Vec<PartitionInfo> = t
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                error_code: p.error_code,
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        out.push(TopicInfo {
            name,
            topic_id: t.topic_id.to_string(),
            id: t.topic_id,
            internal: t.is_internal,
            partitions,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// LEADER_NOT_AVAILABLE: a topic being created, or a partition between leaders.
const LEADER_NOT_AVAILABLE: i16 = 5;
/// How often [`topic`] asks again for a topic whose leaders are not known yet.
const METADATA_RETRIES: u32 = 25;
/// The wait between those tries (as Kafka clients' `retry.backoff.ms`).
const METADATA_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

/// One topic's metadata. A topic whose leaders are not known yet (just created: a broker
/// learns of it a moment after its controller) is asked for again, for up to five seconds.
pub async fn topic(client: &mut Client, name: &str) -> Result<TopicInfo> {
    let mut tries = 0;
    loop {
        let found = topics(client, Some(&[name.to_string()])).await;
        let retry = match &found {
            Err(ClientError::Kafka { code, .. }) => *code == LEADER_NOT_AVAILABLE,
            Ok(ts) => ts.iter().any(|t| t.partitions.iter().any(|p| p.leader < 0)),
            Err(_) => false,
        };
        if !retry || tries >= METADATA_RETRIES {
            return found?
                .into_iter()
                .find(|t| t.name == name)
                .ok_or_else(|| ClientError::Kafka {
                    context: format!("topic {name}"),
                    code: UNKNOWN_TOPIC_OR_PARTITION,
                    message: None,
                });
        }
        tries += 1;
        tokio::time::sleep(METADATA_BACKOFF).await;
    }
}

/// The offset ListOffsets answers for `timestamp` (or [`LATEST`], [`EARLIEST`]) in each of
/// `partitions` of `topic`, asking each partition's leader. A timestamp later than every
/// record gets -1, as Kafka answers.
pub async fn list_offsets(
    client: &mut Client,
    topic: &TopicInfo,
    partitions: &[i32],
    timestamp: i64,
) -> Result<BTreeMap<i32, i64>> {
    let mut by_leader: HashMap<i32, Vec<&PartitionInfo>> = HashMap::new();
    for p in topic
        .partitions
        .iter()
        .filter(|p| partitions.contains(&p.partition))
    {
        by_leader.entry(p.leader).or_default().push(p);
    }
    let mut out = BTreeMap::new();
    for (leader, parts) in by_leader {
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(&topic.name))
                .with_partitions(
                    parts
                        .iter()
                        .map(|p| {
                            ListOffsetsPartition::default()
                                .with_partition_index(p.partition)
                                .with_current_leader_epoch(p.leader_epoch)
                                .with_timestamp(timestamp)
                        })
                        .collect(),
                )]);
        let response = client.call_node(leader, |_| request).await?;
        for t in response.topics {
            for p in t.partitions {
                ClientError::check(
                    p.error_code,
                    format!("{}-{}", topic.name, p.partition_index),
                    None,
                )?;
                out.insert(p.partition_index, p.offset);
            }
        }
    }
    Ok(out)
}
