//! In-memory state of the groups: the classic group with its members and waiters, the
//! KIP-848 consumer group with member epochs and assignments, and committed offsets.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::assignor::{Assignment, Assignor};
use super::codec::OffsetRecord;
use super::types::{GroupType, JoinGroupResponse, JoinProtocol, SyncGroupResponse};

/// States of a classic group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicState {
    /// No members (offsets may remain).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignments.
    CompletingRebalance,
    /// Assignments distributed.
    Stable,
    /// Removed.
    Dead,
}

impl ClassicState {
    /// Kafka's name for the state.
    pub fn name(&self) -> &'static str {
        match self {
            ClassicState::Empty => "Empty",
            ClassicState::PreparingRebalance => "PreparingRebalance",
            ClassicState::CompletingRebalance => "CompletingRebalance",
            ClassicState::Stable => "Stable",
            ClassicState::Dead => "Dead",
        }
    }
}

/// A member of a classic group.
#[derive(Debug)]
pub(crate) struct ClassicMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<JoinProtocol>,
    pub assignment: Bytes,
    pub join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    pub sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
    pub session_deadline: Instant,
    pub timer_id: u64,
    /// Join order, for leader election.
    pub seq: u64,
    /// Added by a JoinGroup whose join phase has not completed yet (Kafka's `isNew`): such a
    /// member is not kept alive by its waiting JoinGroup, it expires after the new-member
    /// join timeout instead.
    pub is_new: bool,
}

impl ClassicMember {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|p| p.name == protocol)
            .map(|p| p.metadata.clone())
            .unwrap_or_default()
    }
}

/// A rebalance being prepared (the join phase's timer).
#[derive(Debug, Clone)]
pub(crate) struct PendingRebalance {
    pub token: u64,
    /// Initial delay of a group that was Empty (`group.initial.rebalance.delay.ms`).
    pub initial: bool,
    /// A member was added since the initial delay's timer was last set.
    pub new_member_joined: bool,
    /// The initial delay's current step.
    pub delay: Duration,
    /// What is left of the rebalance timeout for further steps (Kafka's `remainingMs`).
    pub remaining: Duration,
}

/// A classic group.
#[derive(Debug)]
pub(crate) struct ClassicGroup {
    pub state: ClassicState,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, ClassicMember>,
    pub static_members: HashMap<String, String>,
    pub pending_members: HashSet<String>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pub pending_sync: HashSet<String>,
    pub rebalance: Option<PendingRebalance>,
    pub sync_token: u64,
    pub state_since_ms: i64,
}

impl ClassicGroup {
    pub fn new(now_ms: i64) -> Self {
        ClassicGroup {
            state: ClassicState::Empty,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: HashSet::new(),
            pending_sync: HashSet::new(),
            rebalance: None,
            sync_token: 0,
            state_since_ms: now_ms,
        }
    }

    /// Protocols every member supports.
    pub fn candidate_protocols(&self) -> Vec<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return Vec::new();
        };
        let mut candidates: Vec<String> = first.protocols.iter().map(|p| p.name.clone()).collect();
        for m in members {
            candidates.retain(|c| m.protocols.iter().any(|p| &p.name == c));
        }
        candidates
    }

    /// Whether a member with these protocols could join.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[JoinProtocol]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols();
        protocols.iter().any(|p| candidates.contains(&p.name))
    }

    /// Each member votes for its most preferred candidate; most votes wins, ties going to
    /// the protocol ranked first by the earliest member.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(p) = m.protocols.iter().find(|p| candidates.contains(&p.name)) {
                *votes.entry(&p.name).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        let mut by_seq: Vec<&ClassicMember> = self.members.values().collect();
        by_seq.sort_by_key(|m| m.seq);
        let first = by_seq.first()?;
        first
            .protocols
            .iter()
            .find(|p| votes.get(&p.name) == Some(&best))
            .map(|p| p.name.clone())
            .or_else(|| {
                votes
                    .iter()
                    .find(|(_, &v)| v == best)
                    .map(|(n, _)| (*n).clone())
            })
    }

    /// The largest rebalance timeout of the members (Kafka's `rebalanceTimeoutMs()`).
    pub fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Whether every member has rejoined and no MEMBER_ID_REQUIRED member is pending.
    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.join_waiter.is_some())
    }

    /// Topics subscribed by members speaking the `consumer` protocol, when known.
    pub fn subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for m in self.members.values() {
            topics.extend(parse_consumer_subscription(&m.metadata_for(protocol))?);
        }
        Some(topics)
    }
}

/// The topics of a `consumer` protocol subscription (version i16, then an array of
/// strings), or `None` when it does not parse.
pub fn parse_consumer_subscription(buf: &[u8]) -> Option<Vec<String>> {
    let count = i32::from_be_bytes(buf.get(2..6)?.try_into().ok()?);
    let mut pos = 6usize;
    let mut topics = Vec::new();
    for _ in 0..count.max(0) {
        let len = i16::from_be_bytes(buf.get(pos..pos + 2)?.try_into().ok()?);
        pos += 2;
        let len = usize::try_from(len).ok()?;
        let name = std::str::from_utf8(buf.get(pos..pos + len)?).ok()?;
        topics.push(name.to_string());
        pos += len;
    }
    Some(topics)
}

/// A KIP-848 member's regular-expression subscription: the pattern as the member sent it
/// and its compiled form, which must match a whole topic name (as Kafka's RE2/J
/// `matches()`). An empty pattern subscribes to nothing.
#[derive(Debug, Clone)]
pub(crate) struct TopicRegex {
    pub source: String,
    compiled: Option<regex::Regex>,
}

impl TopicRegex {
    /// Compiles `source`; `None` when it is not a valid regular expression.
    pub fn new(source: &str) -> Option<TopicRegex> {
        let compiled = if source.is_empty() {
            None
        } else {
            Some(regex::Regex::new(&format!("^(?:{source})$")).ok()?)
        };
        Some(TopicRegex {
            source: source.to_string(),
            compiled,
        })
    }

    /// Whether the pattern matches the whole of `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        self.compiled.as_ref().is_some_and(|r| r.is_match(topic))
    }
}

/// A KIP-848 member.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub previous_epoch: i32,
    pub rebalance_timeout: Duration,
    pub subscribed_topic_names: BTreeSet<String>,
    pub subscribed_topic_regex: Option<TopicRegex>,
    pub server_assignor: Option<String>,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    pub session_deadline: Instant,
    pub revocation_deadline: Option<Instant>,
    pub timer_id: u64,
}

impl ConsumerMember {
    /// Whether the member subscribes to `topic`, by name or by its regular expression.
    pub fn subscribes_to(&self, topic: &str) -> bool {
        self.subscribed_topic_names.contains(topic)
            || self
                .subscribed_topic_regex
                .as_ref()
                .is_some_and(|r| r.matches(topic))
    }
}

/// A KIP-848 consumer group.
#[derive(Debug)]
pub(crate) struct ConsumerGroup {
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    pub static_members: HashMap<String, String>,
    pub target: BTreeMap<String, Assignment>,
    /// Partition counts of the subscribed topics the target was computed with.
    pub subscribed_topics: BTreeMap<uuid::Uuid, i32>,
    pub topic_names: BTreeMap<uuid::Uuid, String>,
    pub assignor: Assignor,
    pub state_since_ms: i64,
}

impl ConsumerGroup {
    pub fn new(now_ms: i64, assignor: Assignor) -> Self {
        ConsumerGroup {
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            target: BTreeMap::new(),
            subscribed_topics: BTreeMap::new(),
            topic_names: BTreeMap::new(),
            assignor,
            state_since_ms: now_ms,
        }
    }

    /// `Empty`, `Reconciling` or `Stable`, as Kafka spells them (assignments are computed synchronously, so a
    /// group is never seen `assigning`).
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.members.values().all(|m| {
            m.member_epoch == self.assignment_epoch
                && m.pending_revocation.is_empty()
                && self
                    .target
                    .get(&m.member_id)
                    .is_none_or(|t| *t == m.assigned)
        }) {
            "Stable"
        } else {
            "Reconciling"
        }
    }
}

/// A group of either kind.
#[derive(Debug)]
pub(crate) enum GroupKind {
    Classic(ClassicGroup),
    Consumer(ConsumerGroup),
}

/// A group with its committed offsets.
#[derive(Debug)]
pub(crate) struct Group {
    pub kind: GroupKind,
    pub offsets: BTreeMap<String, BTreeMap<i32, OffsetRecord>>,
}

impl Group {
    pub fn group_type(&self) -> GroupType {
        match self.kind {
            GroupKind::Classic(_) => GroupType::Classic,
            GroupKind::Consumer(_) => GroupType::Consumer,
        }
    }

    pub fn is_empty_of_members(&self) -> bool {
        match &self.kind {
            GroupKind::Classic(g) => g.members.is_empty(),
            GroupKind::Consumer(g) => g.members.is_empty(),
        }
    }

    pub fn state_name(&self) -> &'static str {
        match &self.kind {
            GroupKind::Classic(g) => g.state.name(),
            GroupKind::Consumer(g) => g.state_name(),
        }
    }
}

/// All groups.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub groups: HashMap<String, Group>,
    pub next_id: u64,
    /// Groups whose durable metadata must be rewritten.
    pub dirty: BTreeSet<String>,
    pub closed: bool,
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
