//! Plain inputs and outputs of the coordinator, one pair per request. The API layer
//! converts kafka-protocol messages to and from these; fields follow the protocol's names
//! and cover every version the issue asks for.

use std::collections::BTreeMap;

use bytes::Bytes;
use uuid::Uuid;

use super::error::GroupError;

/// One protocol a member supports, in the member's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinProtocol {
    /// Protocol (assignor) name, e.g. `range`, `cooperative-sticky`.
    pub name: String,
    /// Opaque subscription metadata for that protocol.
    pub metadata: Bytes,
}

/// JoinGroup (v0–v9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// The group.
    pub group_id: String,
    /// The member id; empty on a first join.
    pub member_id: String,
    /// `group.instance.id` of a static member (v5+).
    pub group_instance_id: Option<String>,
    /// The client id of the request header.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout (v1+); v0 callers pass the session timeout.
    pub rebalance_timeout_ms: i32,
    /// Protocol type, `consumer` for consumers.
    pub protocol_type: String,
    /// Supported protocols, by preference.
    pub protocols: Vec<JoinProtocol>,
    /// True for v4+: an empty member id gets MEMBER_ID_REQUIRED and an id to retry with.
    pub require_known_member_id: bool,
    /// True for v9+ (KIP-814): a static leader rejoining a Stable group gets the members
    /// with `skip_assignment` instead of a rebalance.
    pub supports_skip_assignment: bool,
    /// Why the member joins (v8+), for logs.
    pub reason: Option<String>,
}

/// A member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Metadata for the selected protocol.
    pub metadata: Bytes,
}

/// JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// Error, if any.
    pub error: Option<GroupError>,
    /// Generation id (-1 on error).
    pub generation_id: i32,
    /// Protocol type (v7+).
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// Leader's member id.
    pub leader: String,
    /// v9: the (static) leader must not reassign: it gets the member list only to learn
    /// the group.
    pub skip_assignment: bool,
    /// The member's id (also set with MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// All members, for the leader only.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    /// A response carrying only an error (and the member id, for MEMBER_ID_REQUIRED).
    pub fn error(error: GroupError, member_id: impl Into<String>) -> Self {
        JoinGroupResponse {
            error: Some(error),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.into(),
            members: Vec::new(),
        }
    }
}

/// SyncGroup (v0–v5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// The group.
    pub group_id: String,
    /// Generation the member joined.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// Static instance id (v3+).
    pub group_instance_id: Option<String>,
    /// Protocol type (v5+), checked against the group's.
    pub protocol_type: Option<String>,
    /// Protocol name (v5+), checked against the selected one.
    pub protocol_name: Option<String>,
    /// The leader's assignments (empty from followers).
    pub assignments: Vec<(String, Bytes)>,
}

/// SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResponse {
    /// Error, if any.
    pub error: Option<GroupError>,
    /// Protocol type (v5+).
    pub protocol_type: Option<String>,
    /// Protocol name (v5+).
    pub protocol_name: Option<String>,
    /// The member's assignment (possibly empty).
    pub assignment: Bytes,
}

impl SyncGroupResponse {
    /// A response carrying only an error.
    pub fn error(error: GroupError) -> Self {
        SyncGroupResponse {
            error: Some(error),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// Heartbeat (v0–v4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// The group.
    pub group_id: String,
    /// Generation.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// Static instance id (v3+).
    pub group_instance_id: Option<String>,
}

/// One member leaving (LeaveGroup v3+ batches them; v0–v2 send one member id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeavingMember {
    /// Member id (may be empty for a static member named by instance id).
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Why it leaves (v5+).
    pub reason: Option<String>,
}

/// Result of one leaving member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveResult {
    /// Member id as given.
    pub member_id: String,
    /// Instance id as given.
    pub group_instance_id: Option<String>,
    /// Error, if any.
    pub error: Option<GroupError>,
}

/// LeaveGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    /// Top-level error.
    pub error: Option<GroupError>,
    /// Per member (v3+); v0–v2 callers use the first member's error.
    pub members: Vec<LeaveResult>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitPartition {
    /// Partition index.
    pub partition: i32,
    /// Committed offset.
    pub offset: i64,
    /// Leader epoch (v6+; -1 when unknown).
    pub leader_epoch: i32,
    /// Metadata string, stored and returned as given.
    pub metadata: Option<String>,
}

/// One topic of an OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitTopic {
    /// Topic name.
    pub name: String,
    /// Partitions.
    pub partitions: Vec<CommitPartition>,
}

/// OffsetCommit (v2–v9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group.
    pub group_id: String,
    /// Classic: generation id; KIP-848: member epoch; -1 for simple commits.
    pub generation_id_or_member_epoch: i32,
    /// Member id; empty for simple commits.
    pub member_id: String,
    /// Static instance id (v7+).
    pub group_instance_id: Option<String>,
    /// v2–v4 retention override; -1 for the broker default.
    pub retention_time_ms: i64,
    /// What to commit.
    pub topics: Vec<CommitTopic>,
}

/// Per-partition results by topic, in request order.
pub type PartitionResults = Vec<(String, Vec<(i32, Option<GroupError>)>)>;

/// Topics and partitions named in OffsetFetch / OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionsRequest {
    /// Topic name.
    pub name: String,
    /// Partition indexes.
    pub partitions: Vec<i32>,
}

/// OffsetFetch for one group (v8+ batches groups: call once per group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The group.
    pub group_id: String,
    /// Topics and partitions; `None` for everything committed.
    pub topics: Option<Vec<TopicPartitionsRequest>>,
    /// v7+: accepted; without transactions every offset is stable.
    pub require_stable: bool,
    /// v9: KIP-848 member id (checked with the epoch when set).
    pub member_id: Option<String>,
    /// v9: KIP-848 member epoch (-1 when not a member).
    pub member_epoch: i32,
}

/// One fetched partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPartition {
    /// Partition index.
    pub partition: i32,
    /// Committed offset, -1 when none.
    pub offset: i64,
    /// Leader epoch, -1 when none.
    pub leader_epoch: i32,
    /// Metadata as committed (empty string when none).
    pub metadata: String,
    /// Error, if any.
    pub error: Option<GroupError>,
}

/// One fetched topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedTopic {
    /// Topic name.
    pub name: String,
    /// Partitions, by index.
    pub partitions: Vec<FetchedPartition>,
}

/// OffsetFetch result for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    /// Group-level error.
    pub error: Option<GroupError>,
    /// Topics.
    pub topics: Vec<FetchedTopic>,
}

/// Which protocol a group speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    /// JoinGroup/SyncGroup/Heartbeat (and offset-only "simple" groups).
    Classic,
    /// KIP-848 ConsumerGroupHeartbeat.
    Consumer,
}

impl GroupType {
    /// The name ListGroups v5 uses.
    pub fn name(&self) -> &'static str {
        match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
        }
    }
}

/// ListGroups entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// Protocol type (`consumer` for KIP-848 groups, empty for simple groups).
    pub protocol_type: String,
    /// State name as Kafka spells it for this group type.
    pub group_state: String,
    /// Group type.
    pub group_type: GroupType,
}

/// DescribeGroups member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata of the selected protocol (Stable groups only, else empty).
    pub member_metadata: Bytes,
    /// Assignment (Stable groups only, else empty).
    pub member_assignment: Bytes,
}

/// DescribeGroups entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    /// Group id.
    pub group_id: String,
    /// Error: GROUP_ID_NOT_FOUND for an unknown (or not classic) group, which is also
    /// described as `Dead`; DescribeGroups before v6 answers it without the error.
    pub error: Option<GroupError>,
    /// State name.
    pub group_state: String,
    /// Protocol type.
    pub protocol_type: String,
    /// Selected protocol (Stable groups only).
    pub protocol_data: String,
    /// Members.
    pub members: Vec<DescribedMember>,
}

/// Partitions of one topic by ID (KIP-848).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitions {
    /// Topic ID.
    pub topic_id: Uuid,
    /// Partition indexes.
    pub partitions: Vec<i32>,
}

/// What the coordinator knows of the cluster's topics: name → (topic ID, partition count).
pub type TopicsSnapshot = BTreeMap<String, (Uuid, i32)>;

/// ConsumerGroupHeartbeat (v0–v1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupHeartbeatRequest {
    /// The group.
    pub group_id: String,
    /// Member id: empty on a v0 join (the coordinator picks one); client-chosen in v1.
    pub member_id: String,
    /// 0 to join, -1 to leave, -2 for a static member's temporary leave, else the epoch.
    pub member_epoch: i32,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Rack id.
    pub rack_id: Option<String>,
    /// Rebalance timeout (-1 when unchanged).
    pub rebalance_timeout_ms: i32,
    /// Subscribed topic names (`None` when unchanged).
    pub subscribed_topic_names: Option<Vec<String>>,
    /// v1 regular-expression subscription, matched against whole topic names (`None` when
    /// unchanged; empty: none).
    pub subscribed_topic_regex: Option<String>,
    /// Requested server assignor (`None` when unchanged).
    pub server_assignor: Option<String>,
    /// Partitions the member owns (`None` when unchanged).
    pub topic_partitions: Option<Vec<TopicPartitions>>,
    /// Client id of the request header.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
}

/// ConsumerGroupHeartbeat response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupHeartbeatResponse {
    /// Error, if any.
    pub error: Option<GroupError>,
    /// Error message.
    pub error_message: Option<String>,
    /// Member id (the generated one on a v0 join).
    pub member_id: Option<String>,
    /// The member's epoch after this heartbeat.
    pub member_epoch: i32,
    /// Heartbeat interval.
    pub heartbeat_interval_ms: i32,
    /// The member's assignment, when it changed or the member sent its full state.
    pub assignment: Option<Vec<TopicPartitions>>,
}

impl ConsumerGroupHeartbeatResponse {
    /// A response carrying only an error.
    pub fn error(error: GroupError) -> Self {
        ConsumerGroupHeartbeatResponse {
            error_message: Some(error.to_string()),
            error: Some(error),
            member_id: None,
            member_epoch: -1,
            heartbeat_interval_ms: 0,
            assignment: None,
        }
    }
}

/// Partitions of one topic with its name (ConsumerGroupDescribe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTopicPartitions {
    /// Topic ID.
    pub topic_id: Uuid,
    /// Topic name (empty when the topic is no longer known).
    pub topic_name: String,
    /// Partition indexes.
    pub partitions: Vec<i32>,
}

/// ConsumerGroupDescribe member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Rack id.
    pub rack_id: Option<String>,
    /// Member epoch.
    pub member_epoch: i32,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Subscribed topic names.
    pub subscribed_topic_names: Vec<String>,
    /// Subscribed regular expression.
    pub subscribed_topic_regex: Option<String>,
    /// Current assignment.
    pub assignment: Vec<NamedTopicPartitions>,
    /// Target assignment.
    pub target_assignment: Vec<NamedTopicPartitions>,
}

/// ConsumerGroupDescribe entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    /// Group id.
    pub group_id: String,
    /// Error (GROUP_ID_NOT_FOUND for unknown or classic groups).
    pub error: Option<GroupError>,
    /// `empty`, `assigning`, `reconciling`, `stable` or `dead`.
    pub group_state: String,
    /// Group epoch.
    pub group_epoch: i32,
    /// Epoch of the target assignment.
    pub assignment_epoch: i32,
    /// Assignor in use.
    pub assignor_name: String,
    /// Members.
    pub members: Vec<ConsumerMemberDescription>,
}
