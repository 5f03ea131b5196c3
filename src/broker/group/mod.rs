//! The group coordinator: classic consumer groups (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup), KIP-848 consumer groups (ConsumerGroupHeartbeat) and committed offsets.
//!
//! [`GroupCoordinator`] takes plain Rust requests ([`types`]) and returns plain responses;
//! the API layer converts them from and to kafka-protocol messages. JoinGroup and
//! SyncGroup are `async`: their responses wait until the rebalance completes. Timers
//! (initial rebalance delay, rebalance timeout, session timeouts, the pending-sync timeout,
//! offset retention) are tokio tasks, so tests drive them with paused time.
//!
//! # Durability
//!
//! Committed offsets and group metadata live in the keyed state store; see [`codec`] for
//! the key layout (`group/<id>` → [`codec::GroupRecord`], `offset/<group>/<topic>/<partition>`
//! length-prefixed → [`codec::OffsetRecord`]). An offset commit is one atomic write batch
//! and is acknowledged only after the store accepted it. On [`GroupCoordinator::open`] every
//! group comes back without members (clients rejoin: their heartbeats get
//! UNKNOWN_MEMBER_ID), with its generation or group epoch and its offsets.
//!
//! # Concurrency
//!
//! One mutex guards all groups; it is never held across an await. Offset writes are
//! ordered by a second lock and sync to disk without holding the first.
//!
//! # What the API layer calls
//!
//! | request | call |
//! | --- | --- |
//! | JoinGroup v0–v9 | [`GroupCoordinator::join_group`] (v0: rebalance timeout = session timeout; `require_known_member_id` = v4+; `supports_skip_assignment` = v9) |
//! | SyncGroup v0–v5 | [`GroupCoordinator::sync_group`] |
//! | Heartbeat v0–v4 | [`GroupCoordinator::heartbeat`] |
//! | LeaveGroup v0–v5 | [`GroupCoordinator::leave_group`] (v0–v2: one member, its error top-level) |
//! | OffsetCommit v2–v9 | [`GroupCoordinator::commit_offsets`] (unknown topics are the caller's check) |
//! | OffsetFetch v1–v9 | [`GroupCoordinator::fetch_offsets`], once per group from v8 |
//! | OffsetDelete | [`GroupCoordinator::delete_offsets`] |
//! | ListGroups v0–v5 | [`GroupCoordinator::list_groups`] |
//! | DescribeGroups v0–v5 | [`GroupCoordinator::describe_groups`] |
//! | DeleteGroups | [`GroupCoordinator::delete_groups`] |
//! | ConsumerGroupHeartbeat | [`GroupCoordinator::consumer_group_heartbeat`] with a [`TopicsSnapshot`] |
//! | ConsumerGroupDescribe | [`GroupCoordinator::consumer_group_describe`] |
//!
//! Every error is a [`GroupError`]; [`GroupError::code`] is its Kafka code.

pub mod assignor;
mod classic;
pub mod codec;
mod consumer;
pub mod error;
mod offsets;
pub mod state;
mod txn_offsets;
pub mod types;

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::time::Instant;

use crate::storage::kv::{StateStore, WriteBatch};

pub use assignor::{Assignment, Assignor};
pub use error::{GroupError, Result};
pub use state::ClassicState;
pub use types::*;

use codec::{GroupRecord, OffsetRecord};
use state::{ClassicGroup, ConsumerGroup, Group, GroupKind, State};

/// Coordinator settings, named after Kafka's broker configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms` (default 3 s).
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms` (default 6 s).
    pub min_session_timeout: Duration,
    /// `group.max.session.timeout.ms` (default 30 min).
    pub max_session_timeout: Duration,
    /// How long a new member's first JoinGroup may wait for its join phase to complete
    /// before the member is dropped (Kafka's `classicGroupNewMemberJoinTimeoutMs`, 5 min, a
    /// constant there, KIP-394); a client that is still there retries.
    pub new_member_join_timeout: Duration,
    /// `group.max.size` (default unbounded).
    pub max_size: usize,
    /// `offset.metadata.max.bytes` (default 4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.retention.minutes` (default 7 days).
    pub offsets_retention: Duration,
    /// `offsets.retention.check.interval.ms` (default 10 min).
    pub offsets_retention_check_interval: Duration,
    /// `group.consumer.session.timeout.ms` (default 45 s).
    pub consumer_session_timeout: Duration,
    /// `group.consumer.heartbeat.interval.ms` (default 5 s).
    pub consumer_heartbeat_interval: Duration,
    /// The first of `group.consumer.assignors`: used when members ask for none.
    pub consumer_default_assignor: Assignor,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(3000),
            min_session_timeout: Duration::from_millis(6000),
            max_session_timeout: Duration::from_millis(1_800_000),
            new_member_join_timeout: Duration::from_secs(300),
            max_size: usize::MAX,
            offset_metadata_max_bytes: 4096,
            offsets_retention: Duration::from_secs(7 * 24 * 3600),
            offsets_retention_check_interval: Duration::from_secs(600),
            consumer_session_timeout: Duration::from_secs(45),
            consumer_heartbeat_interval: Duration::from_secs(5),
            consumer_default_assignor: Assignor::Uniform,
        }
    }
}

/// Wall-clock milliseconds that follow tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
struct Clock {
    wall_at_start_ms: i64,
    instant_at_start: Instant,
}

impl Clock {
    fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Clock {
            wall_at_start_ms: wall,
            instant_at_start: Instant::now(),
        }
    }

    fn now_ms(&self) -> i64 {
        self.wall_at_start_ms + self.instant_at_start.elapsed().as_millis() as i64
    }
}

pub(crate) struct Inner {
    config: GroupConfig,
    store: Arc<StateStore>,
    state: Mutex<State>,
    /// Orders offset writes (taken before `state`, never while holding it).
    commit_lock: Mutex<()>,
    clock: Clock,
    handle: Handle,
    me: Weak<Inner>,
}

/// The group coordinator. Cheap to clone; all clones share the groups.
#[derive(Clone)]
pub struct GroupCoordinator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCoordinator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What a timer task should do next.
pub(crate) enum TimerNext {
    /// Sleep until then and call again.
    At(Instant),
    /// The timer has nothing left to do.
    Done,
}

/// Which timer fired.
#[derive(Debug, Clone)]
pub(crate) enum TimerKind {
    /// A classic member's session (or a KIP-848 member's session / revocation deadline).
    Member { member_id: String, timer_id: u64 },
    /// A KIP-848 member's deadline to acknowledge a revocation (its rebalance timeout).
    Revocation { member_id: String, timer_id: u64 },
    /// A MEMBER_ID_REQUIRED member that never came back.
    Pending { member_id: String },
    /// The join phase of a classic rebalance.
    Rebalance { token: u64 },
    /// The sync phase of a classic rebalance.
    Sync { token: u64 },
}

impl GroupCoordinator {
    /// Opens the coordinator over `store`, reloading groups and committed offsets, and
    /// starts the offset-retention task. Must be called inside a tokio runtime.
    pub fn open(store: Arc<StateStore>, config: GroupConfig) -> Result<GroupCoordinator> {
        let handle = Handle::try_current().map_err(|_| GroupError::CoordinatorNotAvailable)?;
        let clock = Clock::new();
        let state = load(&store, clock.now_ms())?;
        let inner = Arc::new_cyclic(|me| Inner {
            config,
            store,
            state: Mutex::new(state),
            commit_lock: Mutex::new(()),
            clock,
            handle,
            me: me.clone(),
        });
        let weak = Arc::downgrade(&inner);
        let interval = inner.config.offsets_retention_check_interval;
        inner.handle.spawn(async move {
            let mut next = Instant::now() + interval;
            loop {
                tokio::time::sleep_until(next).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                inner.expire_offsets();
                next = Instant::now() + interval;
            }
        });
        Ok(GroupCoordinator { inner })
    }

    /// The configuration.
    pub fn config(&self) -> &GroupConfig {
        &self.inner.config
    }

    /// JoinGroup; resolves when the member's rebalance completes (or at once on error).
    pub async fn join_group(&self, request: JoinGroupRequest) -> JoinGroupResponse {
        let outcome = self.inner.join_group(request);
        match outcome {
            Outcome::Now(r) => r,
            Outcome::Wait(rx) => rx.await.unwrap_or_else(|_| {
                JoinGroupResponse::error(GroupError::CoordinatorNotAvailable, "")
            }),
        }
    }

    /// SyncGroup; followers wait for the leader's assignments.
    pub async fn sync_group(&self, request: SyncGroupRequest) -> SyncGroupResponse {
        let outcome = self.inner.sync_group(request);
        match outcome {
            Outcome::Now(r) => r,
            Outcome::Wait(rx) => rx
                .await
                .unwrap_or_else(|_| SyncGroupResponse::error(GroupError::CoordinatorNotAvailable)),
        }
    }

    /// Heartbeat: `Ok` or the error to answer with (REBALANCE_IN_PROGRESS asks to rejoin).
    pub fn heartbeat(&self, request: HeartbeatRequest) -> Result<()> {
        self.inner.heartbeat(request)
    }

    /// LeaveGroup for one or more members.
    pub fn leave_group(&self, group_id: &str, members: Vec<LeavingMember>) -> LeaveGroupResponse {
        self.inner.leave_group(group_id, members)
    }

    /// KIP-848 ConsumerGroupHeartbeat. `topics` is the current metadata snapshot; it must
    /// cover every topic any member of the group subscribes to (pass the whole topic
    /// registry), since a change in the subscribed topics' partition counts triggers a new
    /// target assignment.
    pub fn consumer_group_heartbeat(
        &self,
        request: ConsumerGroupHeartbeatRequest,
        topics: &TopicsSnapshot,
    ) -> ConsumerGroupHeartbeatResponse {
        self.inner.consumer_group_heartbeat(request, topics)
    }

    /// ConsumerGroupDescribe.
    pub fn consumer_group_describe(&self, group_ids: &[String]) -> Vec<ConsumerGroupDescription> {
        self.inner.consumer_group_describe(group_ids)
    }

    /// OffsetCommit: per-partition results in request order.
    pub fn commit_offsets(&self, request: OffsetCommitRequest) -> PartitionResults {
        self.inner.commit_offsets(request)
    }

    /// OffsetFetch for one group.
    pub fn fetch_offsets(&self, request: OffsetFetchRequest) -> OffsetFetchResponse {
        self.inner.fetch_offsets(request)
    }

    /// OffsetDelete: a group-level error, or per-partition results.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        topics: &[TopicPartitionsRequest],
    ) -> Result<PartitionResults> {
        self.inner.delete_offsets(group_id, topics)
    }

    /// ListGroups; empty filters match everything (states compare case-insensitively).
    pub fn list_groups(
        &self,
        states_filter: &[String],
        types_filter: &[String],
    ) -> Vec<ListedGroup> {
        self.inner.list_groups(states_filter, types_filter)
    }

    /// Whether a classic or consumer group `group_id` exists (share groups are kept apart,
    /// in [`crate::broker::share`], and must not reuse its id).
    pub fn contains_group(&self, group_id: &str) -> bool {
        self.inner.state.lock().groups.contains_key(group_id)
    }

    /// DescribeGroups.
    pub fn describe_groups(&self, group_ids: &[String]) -> Vec<DescribedGroup> {
        self.inner.describe_groups(group_ids)
    }

    /// DeleteGroups: one result per group id.
    pub fn delete_groups(&self, group_ids: &[String]) -> Vec<(String, Option<GroupError>)> {
        self.inner.delete_groups(group_ids)
    }

    /// Applies offset retention now (the coordinator also does so every
    /// `offsets_retention_check_interval`); returns how many offsets expired.
    pub fn expire_offsets(&self) -> usize {
        self.inner.expire_offsets()
    }

    /// Answers every waiting JoinGroup/SyncGroup with COORDINATOR_NOT_AVAILABLE and
    /// refuses further calls' waits.
    pub fn shutdown(&self) {
        let mut st = self.inner.state.lock();
        st.closed = true;
        for group in st.groups.values_mut() {
            if let GroupKind::Classic(g) = &mut group.kind {
                for m in g.members.values_mut() {
                    if let Some(tx) = m.join_waiter.take() {
                        let _ = tx.send(JoinGroupResponse::error(
                            GroupError::CoordinatorNotAvailable,
                            m.member_id.clone(),
                        ));
                    }
                    if let Some(tx) = m.sync_waiter.take() {
                        let _ = tx.send(SyncGroupResponse::error(
                            GroupError::CoordinatorNotAvailable,
                        ));
                    }
                }
            }
        }
    }
}

/// An answer now, or later through a channel.
pub(crate) enum Outcome<T> {
    Now(T),
    Wait(tokio::sync::oneshot::Receiver<T>),
}

/// Reloads groups (without members: a restart counts as the moment they became empty, so
/// retention restarts from it) and their offsets.
fn load(store: &StateStore, now_ms: i64) -> Result<State> {
    let mut state = State::default();
    for item in store.scan_prefix(codec::GROUP_PREFIX)? {
        let (key, value) = item?;
        let id = key
            .strip_prefix(codec::GROUP_PREFIX)
            .and_then(|k| String::from_utf8(k.to_vec()).ok())
            .ok_or_else(|| GroupError::UnknownServerError("malformed group key".into()))?;
        let rec = GroupRecord::decode(&value)?;
        let kind = match rec.group_type {
            GroupType::Classic => {
                let mut g = ClassicGroup::new(now_ms.max(rec.state_since_ms));
                g.generation = rec.generation;
                g.protocol_type = rec.protocol_type;
                g.protocol_name = None;
                GroupKind::Classic(g)
            }
            GroupType::Consumer => {
                let mut g = ConsumerGroup::new(now_ms.max(rec.state_since_ms), Assignor::default());
                g.group_epoch = rec.generation;
                g.assignment_epoch = rec.generation;
                GroupKind::Consumer(g)
            }
        };
        state.groups.insert(
            id,
            Group {
                kind,
                offsets: BTreeMap::new(),
            },
        );
    }
    for item in store.scan_prefix(codec::OFFSET_PREFIX)? {
        let (key, value) = item?;
        let (group, topic, partition) = codec::parse_offset_key(&key)?;
        let rec = OffsetRecord::decode(&value)?;
        let entry = state.groups.entry(group).or_insert_with(|| Group {
            kind: GroupKind::Classic(ClassicGroup::new(now_ms)),
            offsets: BTreeMap::new(),
        });
        entry
            .offsets
            .entry(topic)
            .or_default()
            .insert(partition, rec);
    }
    Ok(state)
}

impl Inner {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Starts a timer task for a group.
    pub(crate) fn spawn_timer(&self, group_id: &str, kind: TimerKind, at: Instant) {
        let weak = self.me.clone();
        let group_id = group_id.to_string();
        self.handle.spawn(async move {
            let mut at = at;
            loop {
                tokio::time::sleep_until(at).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                match inner.on_timer(&group_id, &kind) {
                    TimerNext::At(next) => at = next,
                    TimerNext::Done => return,
                }
            }
        });
    }

    fn on_timer(&self, group_id: &str, kind: &TimerKind) -> TimerNext {
        let mut st = self.state.lock();
        if st.closed {
            return TimerNext::Done;
        }
        let next = match st.groups.get(group_id).map(|g| g.group_type()) {
            Some(GroupType::Classic) => self.classic_timer(&mut st, group_id, kind),
            Some(GroupType::Consumer) => self.consumer_timer(&mut st, group_id, kind),
            None => TimerNext::Done,
        };
        self.flush_dirty(&mut st);
        next
    }

    /// Writes the metadata of groups marked dirty (deleting that of removed groups).
    pub(crate) fn flush_dirty(&self, st: &mut State) {
        if st.dirty.is_empty() {
            return;
        }
        let mut batch = WriteBatch::new();
        for id in std::mem::take(&mut st.dirty) {
            let key = codec::group_key(&id);
            match st.groups.get(&id) {
                None => {
                    batch.delete(key);
                }
                Some(group) => {
                    let rec = match &group.kind {
                        GroupKind::Classic(g) => GroupRecord {
                            group_type: GroupType::Classic,
                            generation: g.generation,
                            protocol_type: g.protocol_type.clone(),
                            protocol_name: g.protocol_name.clone(),
                            state_since_ms: g.state_since_ms,
                        },
                        GroupKind::Consumer(g) => GroupRecord {
                            group_type: GroupType::Consumer,
                            generation: g.group_epoch,
                            protocol_type: Some("consumer".into()),
                            protocol_name: None,
                            state_since_ms: g.state_since_ms,
                        },
                    };
                    batch.put(key, rec.encode());
                }
            }
        }
        if let Err(e) = self.store.write(&batch) {
            tracing::error!(error = %e, "failed to store group metadata");
        }
    }
}

impl GroupConfig {
    /// The coordinator settings the broker configuration's `group.*` and `offset*` options
    /// describe.
    pub fn from_broker_config(config: &crate::config::Config) -> GroupConfig {
        let assignor = config
            .group_consumer_assignors
            .split(',')
            .find_map(|n| Assignor::from_name(n.trim()))
            .unwrap_or_default();
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(config.group_initial_rebalance_delay_ms),
            min_session_timeout: Duration::from_millis(config.group_min_session_timeout_ms),
            max_session_timeout: Duration::from_millis(config.group_max_session_timeout_ms),
            new_member_join_timeout: GroupConfig::default().new_member_join_timeout,
            max_size: config.group_max_size as usize,
            offset_metadata_max_bytes: config.offset_metadata_max_bytes,
            offsets_retention: Duration::from_secs(
                config.offsets_retention_minutes.saturating_mul(60),
            ),
            offsets_retention_check_interval: Duration::from_millis(
                config.offsets_retention_check_interval_ms,
            ),
            consumer_session_timeout: Duration::from_millis(
                config.group_consumer_session_timeout_ms,
            ),
            consumer_heartbeat_interval: Duration::from_millis(
                config.group_consumer_heartbeat_interval_ms,
            ),
            consumer_default_assignor: assignor,
        }
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn group_options_reach_the_group_config() {
        use std::time::Duration;
        // Kafka's group.max.size default is Int.MaxValue; the coordinator's is unbounded.
        let defaults = GroupConfig {
            max_size: i32::MAX as usize,
            ..GroupConfig::default()
        };
        assert_eq!(
            GroupConfig::from_broker_config(&Config::default()),
            defaults
        );
        let mut c = Config::default();
        c.apply_override("group.initial.rebalance.delay.ms=0")
            .unwrap();
        c.apply_override("offsets.retention.minutes=2").unwrap();
        c.apply_override("group.max.size=3").unwrap();
        c.apply_override("group.consumer.assignors=range,uniform")
            .unwrap();
        let g = GroupConfig::from_broker_config(&c);
        assert_eq!(g.initial_rebalance_delay, Duration::ZERO);
        assert_eq!(g.offsets_retention, Duration::from_secs(120));
        assert_eq!(g.max_size, 3);
        assert_eq!(g.consumer_default_assignor, Assignor::Range);
        assert!(c.apply_override("group.consumer.assignors=sticky").is_err());
        assert!(c.apply_override("group.max.size=0").is_err());
    }

    #[test]
    fn every_assignor_the_config_accepts_is_known() {
        for name in crate::config::ASSIGNORS {
            assert!(Assignor::from_name(name).is_some(), "{name}");
        }
    }
}
