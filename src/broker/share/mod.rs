//! Share groups (KIP-932, queues for Kafka): the share-group coordinator and the
//! share-partitions it hands records out of.
//!
//! - [`group`]: membership and assignment (ShareGroupHeartbeat, ShareGroupDescribe).
//! - [`partition`]: one share-partition's in-flight window, a state machine with no I/O.
//! - [`session`]: share sessions (ShareFetch's and ShareAcknowledge's epochs).
//! - [`config`]: the GROUP config resource and the settings a group works under.
//! - [`offsets`]: the start offsets' administration (Describe/Alter/DeleteShareGroupOffsets).
//! - [`codec`]: how groups and share-partitions are kept in the state store.
//!
//! # Durability
//!
//! A share-partition's start offset, and the state and delivery count of every record in
//! its window, are written to the state store before an acknowledgement is answered, and
//! when the share-partition is first used (so a group that starts at the latest offset
//! keeps that start across a restart). Acquisitions are not written: after a restart,
//! records that were acquired but not acknowledged are available again (Kafka's behaviour
//! too). An accepted record is never delivered again.
//!
//! # Locks and timers
//!
//! One task ticks every [`TICK`]: it releases records whose acquisition lock ran out and
//! removes members whose session ran out, and wakes waiting ShareFetch requests. The
//! share-partitions' mutexes are never held across an await.

pub mod codec;
pub mod config;
pub mod error;
pub mod group;
pub mod offsets;
pub mod partition;
pub mod session;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use crate::broker::partition::{OffsetSpec, Partition, PartitionError};
use crate::broker::ReplicaManager;
use crate::config::Config;
use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::record::batch::split_batches;

pub use config::{GroupConfigs, ShareSettings};
pub use error::{Result, ShareError};
pub use group::{Assignment, ShareGroupState, ShareMember};
pub use partition::{AcknowledgementBatch, AcquiredRange};

use config::AutoOffsetReset;
use group::ShareGroup;
use partition::{BatchSpan, SharePartition};
use session::{ShareSessions, TopicIdPartition};

/// How often locks and member sessions are checked.
pub const TICK: Duration = Duration::from_millis(100);

type SpKey = (String, Uuid, i32);

/// A ShareGroupHeartbeat, as the coordinator takes it.
#[derive(Debug, Clone)]
pub struct HeartbeatRequest {
    /// The group.
    pub group_id: String,
    /// The member (chosen by the client).
    pub member_id: String,
    /// 0 to join, -1 to leave, else the member's current epoch.
    pub member_epoch: i32,
    /// The member's rack.
    pub rack_id: Option<String>,
    /// The subscribed topics, if they changed (required on join).
    pub subscribed_topic_names: Option<Vec<String>>,
    /// The connection's client id.
    pub client_id: String,
    /// The client's host.
    pub client_host: String,
}

/// What a heartbeat answers.
#[derive(Debug, Clone)]
pub struct HeartbeatResponse {
    /// The member id.
    pub member_id: String,
    /// The member's epoch now (-1 after leaving).
    pub member_epoch: i32,
    /// How often to heartbeat.
    pub heartbeat_interval_ms: i32,
    /// The member's partitions, when they changed or it joined.
    pub assignment: Option<Assignment>,
}

/// One member of a described share group.
#[derive(Debug, Clone)]
pub struct DescribedMember {
    /// The member.
    pub member: ShareMember,
}

/// A described share group.
#[derive(Debug, Clone)]
pub struct ShareGroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: ShareGroupState,
    /// The group epoch.
    pub group_epoch: i32,
    /// The assignment epoch.
    pub assignment_epoch: i32,
    /// The members.
    pub members: Vec<ShareMember>,
}

/// One partition of a ShareFetch: what to acknowledge first.
#[derive(Debug, Clone)]
pub struct FetchPartition {
    /// The topic.
    pub topic_id: Uuid,
    /// The partition.
    pub partition: i32,
    /// Piggy-backed acknowledgements.
    pub acknowledgements: Vec<AcknowledgementBatch>,
}

/// A ShareFetch, as the coordinator takes it.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The group.
    pub group_id: String,
    /// The member.
    pub member_id: String,
    /// The share session epoch.
    pub session_epoch: i32,
    /// Longest wait for records.
    pub max_wait: Duration,
    /// Bytes to wait for (any record is enough here).
    pub min_bytes: i32,
    /// Most bytes to return.
    pub max_bytes: i32,
    /// Records to acquire at least (whole batches may bring more).
    pub max_records: i32,
    /// Record-limit mode (ShareFetch v2): at most `max_records`, splitting batches.
    pub record_limit: bool,
    /// Only renew acknowledgements (ShareFetch v2 `IsRenewAck`): acquire nothing.
    pub renew_only: bool,
    /// Partitions added to the session (with their acknowledgements).
    pub partitions: Vec<FetchPartition>,
    /// Partitions dropped from the session.
    pub forgotten: Vec<TopicIdPartition>,
}

/// Why a partition of a ShareFetch or ShareAcknowledge failed.
#[derive(Debug)]
pub enum PartitionFailure {
    /// A share-group error.
    Share(ShareError),
    /// The partition's log failed.
    Partition(PartitionError),
}

/// One partition of a ShareFetch's answer.
#[derive(Debug)]
pub struct FetchedPartition {
    /// The topic.
    pub topic_id: Uuid,
    /// The partition.
    pub partition: i32,
    /// The partition's error.
    pub error: Option<PartitionFailure>,
    /// The acknowledgements' error.
    pub acknowledge_error: Option<ShareError>,
    /// Whole stored batches holding the acquired records.
    pub records: Bytes,
    /// The acquired records.
    pub acquired: Vec<AcquiredRange>,
    /// The partition's leader epoch.
    pub leader_epoch: i32,
}

impl FetchedPartition {
    /// A partition with nothing acquired and no error (leader epoch unknown).
    fn empty(topic_id: Uuid, partition: i32) -> FetchedPartition {
        FetchedPartition {
            topic_id,
            partition,
            error: None,
            acknowledge_error: None,
            records: Bytes::new(),
            acquired: Vec::new(),
            leader_epoch: -1,
        }
    }
}

/// A ShareFetch's answer.
#[derive(Debug)]
pub struct FetchResponse {
    /// The partitions.
    pub partitions: Vec<FetchedPartition>,
    /// The acquisition lock duration of the group.
    pub acquisition_lock_timeout_ms: i32,
}

/// The share-group coordinator and share-partition manager.
pub struct ShareCoordinator {
    store: Arc<StateStore>,
    replicas: Arc<ReplicaManager>,
    configs: Arc<GroupConfigs>,
    broker: Arc<Config>,
    groups: Mutex<BTreeMap<String, ShareGroup>>,
    partitions: Mutex<HashMap<SpKey, Arc<Mutex<SharePartition>>>>,
    sessions: Mutex<ShareSessions>,
    /// Woken when records may have become available (released, expired, reset).
    released: Notify,
}

impl std::fmt::Debug for ShareCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareCoordinator").finish_non_exhaustive()
    }
}

impl ShareCoordinator {
    /// Opens the coordinator: reloads the share groups (without members) and starts the
    /// lock and session task. Must be called inside a tokio runtime.
    pub fn open(
        store: Arc<StateStore>,
        replicas: Arc<ReplicaManager>,
        configs: Arc<GroupConfigs>,
        broker: Arc<Config>,
    ) -> Result<Arc<ShareCoordinator>> {
        let mut groups = BTreeMap::new();
        for item in store.scan_prefix(codec::GROUP_PREFIX)? {
            let (key, value) = item?;
            let id = codec::parse_group_key(&key)?;
            let rec = codec::GroupRecord::decode(&value)?;
            groups.insert(
                id,
                ShareGroup {
                    group_epoch: rec.group_epoch,
                    assignment_epoch: rec.group_epoch,
                    ..ShareGroup::default()
                },
            );
        }
        let coordinator = Arc::new(ShareCoordinator {
            store,
            replicas,
            configs,
            broker,
            groups: Mutex::new(groups),
            partitions: Mutex::new(HashMap::new()),
            sessions: Mutex::new(ShareSessions::default()),
            released: Notify::new(),
        });
        let weak = Arc::downgrade(&coordinator);
        tokio::spawn(tick(weak));
        Ok(coordinator)
    }

    /// The group configs.
    pub fn configs(&self) -> &Arc<GroupConfigs> {
        &self.configs
    }

    /// Whether `group_id` is a share group.
    pub fn contains_group(&self, group_id: &str) -> bool {
        self.groups.lock().contains_key(group_id)
    }

    /// Share groups and their states, for ListGroups.
    pub fn list_groups(&self) -> Vec<(String, ShareGroupState)> {
        self.groups
            .lock()
            .iter()
            .map(|(id, g)| (id.clone(), g.state()))
            .collect()
    }

    /// ShareGroupHeartbeat. `is_other_group` says whether the id belongs to a group of
    /// another type (GROUP_ID_NOT_FOUND then, as Kafka answers).
    pub fn heartbeat(
        &self,
        request: HeartbeatRequest,
        is_other_group: bool,
    ) -> Result<HeartbeatResponse> {
        if request.group_id.is_empty() {
            return Err(ShareError::InvalidRequest("GroupId can't be empty.".into()));
        }
        if request.member_id.is_empty() {
            return Err(ShareError::InvalidRequest(
                "MemberId can't be empty.".into(),
            ));
        }
        if request.member_epoch < -1 {
            return Err(ShareError::InvalidRequest("MemberEpoch is invalid.".into()));
        }
        if request.member_epoch == 0
            && request
                .subscribed_topic_names
                .as_ref()
                .is_none_or(|t| t.is_empty())
        {
            return Err(ShareError::InvalidRequest(
                "SubscribedTopicNames must be set in first request.".into(),
            ));
        }
        let settings = self.configs.share_settings(&request.group_id);
        let now = Instant::now();
        let mut groups = self.groups.lock();
        if !groups.contains_key(&request.group_id) && is_other_group {
            return Err(ShareError::GroupIdNotFound(format!(
                "Group {} is not a share group.",
                request.group_id
            )));
        }
        if request.member_epoch == -1 {
            let left = groups
                .get_mut(&request.group_id)
                .and_then(|g| g.members.remove(&request.member_id).map(|_| g));
            if let Some(group) = left {
                let topics = self.subscribed_topics(group);
                group.reassign(topics);
                self.store_group(&request.group_id, group);
            }
            drop(groups);
            self.release_member_everywhere(&request.group_id, &request.member_id);
            return Ok(HeartbeatResponse {
                member_id: request.member_id,
                member_epoch: -1,
                heartbeat_interval_ms: 0,
                assignment: None,
            });
        }
        let new_group = !groups.contains_key(&request.group_id);
        let group = groups.entry(request.group_id.clone()).or_default();
        let mut changed = new_group;
        match group.members.get_mut(&request.member_id) {
            None if request.member_epoch != 0 => {
                return Err(ShareError::UnknownMemberId);
            }
            None => {
                if group.members.len() >= self.broker.group_share_max_size as usize {
                    if new_group {
                        groups.remove(&request.group_id);
                    }
                    return Err(ShareError::GroupMaxSizeReached);
                }
                group.members.insert(
                    request.member_id.clone(),
                    ShareMember {
                        member_id: request.member_id.clone(),
                        member_epoch: 0,
                        rack_id: request.rack_id.clone(),
                        client_id: request.client_id.clone(),
                        client_host: request.client_host.clone(),
                        subscribed_topic_names: BTreeSet::new(),
                        assignment: Assignment::new(),
                        session_deadline: now + settings.session_timeout,
                    },
                );
                changed = true;
            }
            Some(m) => {
                if request.member_epoch != 0 && request.member_epoch != m.member_epoch {
                    return Err(ShareError::FencedMemberEpoch);
                }
                m.session_deadline = now + settings.session_timeout;
                if request.rack_id.is_some() {
                    m.rack_id = request.rack_id.clone();
                }
            }
        }
        let joining = request.member_epoch == 0;
        if let (Some(topics), Some(m)) = (
            request.subscribed_topic_names.as_ref(),
            group.members.get_mut(&request.member_id),
        ) {
            let wanted: BTreeSet<String> = topics.iter().cloned().collect();
            if wanted != m.subscribed_topic_names {
                m.subscribed_topic_names = wanted;
                changed = true;
            }
        }
        // A subscribed topic created, deleted or grown changes the assignment too.
        let topics = self.subscribed_topics(group);
        if changed || topics != group.subscribed {
            group.reassign(topics);
            self.store_group(&request.group_id, group);
        }
        let epoch = group.assignment_epoch;
        let Some(m) = group.members.get_mut(&request.member_id) else {
            return Err(ShareError::UnknownMemberId);
        };
        let assignment = (joining || m.member_epoch != epoch).then(|| m.assignment.clone());
        m.member_epoch = epoch;
        Ok(HeartbeatResponse {
            member_id: request.member_id,
            member_epoch: epoch,
            heartbeat_interval_ms: i32::try_from(settings.heartbeat_interval.as_millis())
                .unwrap_or(i32::MAX),
            assignment,
        })
    }

    /// The subscribed topics of `group` that exist: name → (id, partition count).
    fn subscribed_topics(&self, group: &ShareGroup) -> BTreeMap<String, (Uuid, i32)> {
        group
            .subscribed_topic_names()
            .into_iter()
            .filter_map(|name| {
                let t = self.replicas.topics().get(&name)?;
                Some((name, (t.id, t.partitions)))
            })
            .collect()
    }

    fn store_group(&self, group_id: &str, group: &ShareGroup) {
        let rec = codec::GroupRecord {
            group_epoch: group.group_epoch,
        };
        if let Err(e) = self.store.put(codec::group_key(group_id), rec.encode()) {
            tracing::error!(error = %e, group_id, "failed to store share group");
        }
    }

    /// ShareGroupDescribe: each group, or GROUP_ID_NOT_FOUND.
    pub fn describe(&self, group_ids: &[String]) -> Vec<(String, Result<ShareGroupDescription>)> {
        let groups = self.groups.lock();
        group_ids
            .iter()
            .map(|id| {
                let described = groups
                    .get(id)
                    .map(|g| ShareGroupDescription {
                        group_id: id.clone(),
                        state: g.state(),
                        group_epoch: g.group_epoch,
                        assignment_epoch: g.assignment_epoch,
                        members: g.members.values().cloned().collect(),
                    })
                    .ok_or_else(|| ShareError::GroupIdNotFound(format!("Group {id} not found.")));
                (id.clone(), described)
            })
            .collect()
    }

    /// The name of a topic id, if it exists.
    pub fn topic_name(&self, topic_id: &Uuid) -> Option<String> {
        self.replicas
            .topics()
            .get_by_id(topic_id)
            .map(|t| t.name.clone())
    }

    /// DeleteGroups of a share group: it must be empty; its state goes too.
    pub fn delete_group(&self, group_id: &str) -> Result<()> {
        let mut groups = self.groups.lock();
        match groups.get(group_id) {
            None => return Err(ShareError::GroupIdNotFound(group_id.to_string())),
            Some(g) if !g.members.is_empty() => return Err(ShareError::NonEmptyGroup),
            Some(_) => {}
        }
        let mut batch = WriteBatch::new();
        batch.delete(codec::group_key(group_id));
        for item in self.store.scan_prefix(codec::state_prefix(group_id))? {
            let (key, _) = item?;
            batch.delete(key);
        }
        self.store.write(&batch)?;
        groups.remove(group_id);
        self.partitions.lock().retain(|(g, _, _), _| g != group_id);
        Ok(())
    }

    /// The share-partition of `group_id` over `topic_id`/`partition`: loaded from the state
    /// store, or started where `share.auto.offset.reset` says (and stored at once).
    fn share_partition(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: &Partition,
        settings: &ShareSettings,
    ) -> Result<Arc<Mutex<SharePartition>>> {
        let key = (group_id.to_string(), topic_id, partition.index());
        if let Some(sp) = self.partitions.lock().get(&key) {
            return Ok(Arc::clone(sp));
        }
        let store_key = codec::state_key(group_id, topic_id, partition.index());
        let stored = match self.store.get(&store_key)? {
            Some(value) => Some(codec::StateRecord::decode(&value)?),
            None => None,
        };
        let sp = match stored {
            Some(rec) if rec.start_offset != codec::UNINITIALIZED => {
                SharePartition::restore(rec.start_offset, rec.state_epoch, &rec.runs)
            }
            _ => {
                let start = self.initial_offset(partition, settings)?;
                let sp = SharePartition::new(start);
                self.store.put(&store_key, state_record(&sp).encode())?;
                sp
            }
        };
        let mut map = self.partitions.lock();
        Ok(Arc::clone(
            map.entry(key).or_insert_with(|| Arc::new(Mutex::new(sp))),
        ))
    }

    fn initial_offset(&self, partition: &Partition, settings: &ShareSettings) -> Result<i64> {
        let offsets = partition.offsets();
        let latest = if settings.read_committed {
            offsets.last_stable_offset
        } else {
            offsets.high_watermark
        };
        Ok(match settings.auto_offset_reset {
            AutoOffsetReset::Latest => latest,
            AutoOffsetReset::Earliest => offsets.log_start_offset,
            AutoOffsetReset::ByDuration(d) => {
                let ts = crate::broker::security::now_epoch_ms()
                    - i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                let found = partition
                    .list_offset(OffsetSpec::Timestamp(ts.max(0)), settings.read_committed)
                    .map_err(|e| ShareError::Storage(e.to_string()))?;
                if found.offset >= 0 {
                    found.offset
                } else {
                    latest
                }
            }
        })
    }

    /// Writes share-partitions' states in one batch.
    fn persist(
        &self,
        group_id: &str,
        touched: &[(Uuid, i32, Arc<Mutex<SharePartition>>)],
    ) -> Result<()> {
        if touched.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::new();
        for (topic_id, partition, sp) in touched {
            let rec = state_record(&sp.lock());
            batch.put(
                codec::state_key(group_id, *topic_id, *partition),
                rec.encode(),
            );
        }
        self.store.write(&batch)?;
        Ok(())
    }

    /// The partition of a topic id, or why there is none.
    fn log_partition(
        &self,
        topic_id: &Uuid,
        partition: i32,
    ) -> Result<Arc<Partition>, PartitionFailure> {
        let name = self
            .topic_name(topic_id)
            .ok_or(PartitionFailure::Share(ShareError::UnknownTopicId))?;
        self.replicas
            .partition(&name, partition)
            .ok_or(PartitionFailure::Share(ShareError::UnknownTopicOrPartition))
    }

    /// Applies acknowledgements to several partitions and stores the result before
    /// returning: each partition's error, or none.
    fn apply_acknowledgements(
        &self,
        group_id: &str,
        member_id: &str,
        settings: &ShareSettings,
        acks: &[(Uuid, i32, Vec<AcknowledgementBatch>)],
    ) -> HashMap<(Uuid, i32), Option<ShareError>> {
        let mut results = HashMap::new();
        let mut touched = Vec::new();
        for (topic_id, index, batches) in acks {
            if batches.is_empty() {
                continue;
            }
            let key = (group_id.to_string(), *topic_id, *index);
            let sp = self.partitions.lock().get(&key).cloned();
            let outcome = match sp {
                None => Err(ShareError::InvalidRecordState(
                    "no records were acquired from this partition".into(),
                )),
                Some(sp) => {
                    let r = sp.lock().acknowledge(member_id, batches, &settings.limits);
                    if r.is_ok() {
                        touched.push((*topic_id, *index, sp));
                    }
                    r
                }
            };
            if let Err(e) = &outcome {
                tracing::debug!(group_id, member_id, partition = *index, ?batches, error = %e, "share acknowledgement refused");
            }
            results.insert((*topic_id, *index), outcome.err());
        }
        if let Err(e) = self.persist(group_id, &touched) {
            for (topic_id, index, _) in &touched {
                results.insert((*topic_id, *index), Some(e.clone()));
            }
        }
        if !touched.is_empty() {
            self.released.notify_waiters();
        }
        results
    }

    /// Releases what `member_id` holds in every share-partition of `group_id`.
    fn release_member_everywhere(&self, group_id: &str, member_id: &str) {
        tracing::debug!(group_id, member_id, "share member's records released");
        let settings = self.configs.share_settings(group_id);
        let held: Vec<(Uuid, i32, Arc<Mutex<SharePartition>>)> = self
            .partitions
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|((_, t, p), sp)| (*t, *p, Arc::clone(sp)))
            .collect();
        let touched: Vec<_> = held
            .into_iter()
            .filter(|(_, _, sp)| sp.lock().release_member(member_id, &settings.limits))
            .collect();
        if !touched.is_empty() {
            if let Err(e) = self.persist(group_id, &touched) {
                tracing::error!(error = %e, group_id, "failed to store share state");
            }
            self.released.notify_waiters();
        }
        self.sessions.lock().remove(group_id, member_id);
    }

    /// ShareAcknowledge: applies the acknowledgements in the member's session.
    pub fn acknowledge(
        &self,
        group_id: &str,
        member_id: &str,
        session_epoch: i32,
        acks: Vec<(Uuid, i32, Vec<AcknowledgementBatch>)>,
    ) -> Result<HashMap<(Uuid, i32), Option<ShareError>>> {
        if session_epoch == session::INITIAL_EPOCH {
            return Err(ShareError::InvalidShareSessionEpoch);
        }
        let step = self.sessions.lock().step(
            group_id,
            member_id,
            session_epoch,
            &[],
            &[],
            self.broker.group_share_max_share_sessions as usize,
        )?;
        let settings = self.configs.share_settings(group_id);
        let results = self.apply_acknowledgements(group_id, member_id, &settings, &acks);
        if step.closed {
            self.release_member_everywhere(group_id, member_id);
        }
        Ok(results)
    }

    /// ShareFetch: acknowledgements first, then records acquired from the session's
    /// partitions, waiting up to `max_wait` for some.
    pub async fn fetch(
        &self,
        request: FetchRequest,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<FetchResponse> {
        if request.group_id.is_empty() || request.member_id.is_empty() {
            return Err(ShareError::InvalidRequest(
                "ShareFetch needs a group id and a member id".into(),
            ));
        }
        tracing::debug!(
            group_id = request.group_id.as_str(),
            member_id = request.member_id.as_str(),
            epoch = request.session_epoch,
            partitions = ?request.partitions.iter().map(|p| (p.partition, p.acknowledgements.len())).collect::<Vec<_>>(),
            forgotten = request.forgotten.len(),
            max_wait_ms = request.max_wait.as_millis() as u64,
            max_records = request.max_records,
            record_limit = request.record_limit,
            renew_only = request.renew_only,
            "share fetch"
        );
        let added: Vec<TopicIdPartition> = request
            .partitions
            .iter()
            .map(|p| (p.topic_id, p.partition))
            .collect();
        let step = self.sessions.lock().step(
            &request.group_id,
            &request.member_id,
            request.session_epoch,
            &added,
            &request.forgotten,
            self.broker.group_share_max_share_sessions as usize,
        )?;
        let settings = self.configs.share_settings(&request.group_id);
        let acks: Vec<(Uuid, i32, Vec<AcknowledgementBatch>)> = request
            .partitions
            .iter()
            .map(|p| (p.topic_id, p.partition, p.acknowledgements.clone()))
            .collect();
        let ack_results =
            self.apply_acknowledgements(&request.group_id, &request.member_id, &settings, &acks);
        let lock_ms = i32::try_from(settings.limits.lock_duration.as_millis()).unwrap_or(i32::MAX);
        if step.closed {
            self.release_member_everywhere(&request.group_id, &request.member_id);
        }
        // Records the member holds in partitions it dropped stay acquired: the client may
        // still acknowledge what it delivered (the Java consumer does, after a
        // reassignment); its lock releases the rest.
        let deadline = Instant::now() + request.max_wait;
        let mut out: BTreeMap<(Uuid, i32), FetchedPartition> = BTreeMap::new();
        loop {
            // Subscribe before looking, so a change between the look and the wait counts.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let mut watches = Vec::new();
            let mut acquired_any = false;
            let mut budget_records = i64::from(request.max_records.max(1));
            let mut budget_bytes = usize::try_from(request.max_bytes.max(1)).unwrap_or(usize::MAX);
            for (topic_id, index) in &step.partitions {
                let entry = out
                    .entry((*topic_id, *index))
                    .or_insert_with(|| FetchedPartition::empty(*topic_id, *index));
                if entry.error.is_some()
                    || budget_records <= 0
                    || budget_bytes == 0
                    || request.renew_only
                {
                    continue;
                }
                let partition = match self.log_partition(topic_id, *index) {
                    Ok(p) => p,
                    Err(e) => {
                        entry.error = Some(e);
                        continue;
                    }
                };
                entry.leader_epoch = partition.leader_epoch();
                watches.push(partition.subscribe());
                match self
                    .acquire_from(
                        &request,
                        &settings,
                        topic_id,
                        &partition,
                        budget_records,
                        budget_bytes,
                    )
                    .await
                {
                    Ok(Some((records, ranges))) => {
                        let n: i64 = ranges
                            .iter()
                            .map(|r| r.last_offset - r.first_offset + 1)
                            .sum();
                        budget_records -= n;
                        budget_bytes = budget_bytes.saturating_sub(records.len());
                        entry.records = records;
                        entry.acquired = ranges;
                        acquired_any = true;
                    }
                    Ok(None) => {}
                    Err(e) => entry.error = Some(e),
                }
            }
            let now = Instant::now();
            if acquired_any
                || step.closed
                || request.renew_only
                || now >= deadline
                || *shutdown.borrow()
            {
                break;
            }
            let wake = self
                .next_lock_expiry(&request.group_id)
                .map_or(deadline, |t| t.min(deadline));
            let any_append = async {
                if watches.is_empty() {
                    std::future::pending::<()>().await;
                }
                let changes = watches.iter_mut().map(|w| Box::pin(w.changed()));
                let _ = futures_select_all(changes).await;
            };
            tokio::select! {
                _ = released.as_mut() => {}
                _ = any_append => {}
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        let requested: BTreeSet<(Uuid, i32)> = added.iter().copied().collect();
        // A partition acknowledged but no longer fetched (dropped from the session by this
        // request) still answers for its acknowledgements: the client waits for each.
        for (topic_id, index) in ack_results.keys() {
            out.entry((*topic_id, *index)).or_insert_with(|| {
                let mut p = FetchedPartition::empty(*topic_id, *index);
                if let Ok(partition) = self.log_partition(topic_id, *index) {
                    p.leader_epoch = partition.leader_epoch();
                }
                p
            });
        }
        let partitions = out
            .into_values()
            .map(|mut p| {
                p.acknowledge_error = ack_results
                    .get(&(p.topic_id, p.partition))
                    .cloned()
                    .flatten();
                p
            })
            .filter(|p| {
                request.session_epoch == session::INITIAL_EPOCH
                    || requested.contains(&(p.topic_id, p.partition))
                    || ack_results.contains_key(&(p.topic_id, p.partition))
                    || !p.acquired.is_empty()
                    || p.error.is_some()
            })
            .collect();
        Ok(FetchResponse {
            partitions,
            acquisition_lock_timeout_ms: lock_ms,
        })
    }

    fn next_lock_expiry(&self, group_id: &str) -> Option<Instant> {
        let sps: Vec<_> = self
            .partitions
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|(_, sp)| Arc::clone(sp))
            .collect();
        sps.iter()
            .filter_map(|sp| sp.lock().next_lock_expiry())
            .min()
    }

    /// Acquires records of one partition for the member: the batches read and the ranges
    /// acquired, or `None` when there is nothing to acquire.
    async fn acquire_from(
        &self,
        request: &FetchRequest,
        settings: &ShareSettings,
        topic_id: &Uuid,
        partition: &Partition,
        max_records: i64,
        max_bytes: usize,
    ) -> Result<Option<(Bytes, Vec<AcquiredRange>)>, PartitionFailure> {
        let sp = self
            .share_partition(&request.group_id, *topic_id, partition, settings)
            .map_err(PartitionFailure::Share)?;
        let offsets = partition.offsets();
        let read_limit = if settings.read_committed {
            offsets.last_stable_offset
        } else {
            offsets.high_watermark
        };
        let from = {
            let mut sp = sp.lock();
            sp.release_expired(Instant::now(), &settings.limits);
            sp.clamp_to_log_start(offsets.log_start_offset);
            match sp.next_fetch_offset(&settings.limits) {
                Some(from) if from < read_limit => from,
                _ => return Ok(None),
            }
        };
        let read = partition
            .read(from, max_bytes, settings.read_committed)
            .await
            .map_err(PartitionFailure::Partition)?;
        let (spans, ends): (Vec<BatchSpan>, Vec<usize>) =
            batch_spans(&read.records, &read.aborted_transactions)
                .into_iter()
                .unzip();
        if spans.is_empty() {
            return Ok(None);
        }
        let ranges = sp.lock().acquire(
            &request.member_id,
            &spans,
            read_limit,
            max_records,
            request.record_limit,
            Instant::now(),
            &settings.limits,
        );
        if ranges.is_empty() {
            return Ok(None);
        }
        tracing::debug!(
            group_id = request.group_id.as_str(),
            member_id = request.member_id.as_str(),
            partition = partition.index(),
            ?ranges,
            "share records acquired"
        );
        // The answer ends with the last batch holding an acquired record: a client reads
        // every record it is sent (acquired or not), and a read may hold far more batches
        // than the records acquired from them.
        let last_acquired = ranges.iter().map(|r| r.last_offset).max().unwrap_or(-1);
        let cut = spans
            .iter()
            .zip(&ends)
            .find(|(s, _)| s.last_offset >= last_acquired)
            .map_or(read.records.len(), |(_, end)| *end);
        Ok(Some((read.records.slice(..cut), ranges)))
    }

    /// One tick of the lock and session task: releases expired locks, removes members
    /// whose session ran out.
    fn on_tick(&self) {
        let now = Instant::now();
        let sps: Vec<(SpKey, Arc<Mutex<SharePartition>>)> = self
            .partitions
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let mut released = false;
        for ((group_id, _, _), sp) in sps {
            let limits = self.configs.share_settings(&group_id).limits;
            released |= sp.lock().release_expired(now, &limits);
        }
        let mut expired: Vec<(String, String)> = Vec::new();
        {
            let mut groups = self.groups.lock();
            for (group_id, group) in groups.iter_mut() {
                let gone: Vec<String> = group
                    .members
                    .values()
                    .filter(|m| m.session_deadline <= now)
                    .map(|m| m.member_id.clone())
                    .collect();
                if gone.is_empty() {
                    continue;
                }
                for id in &gone {
                    group.members.remove(id);
                    expired.push((group_id.clone(), id.clone()));
                }
                let topics = self.subscribed_topics(group);
                group.reassign(topics);
                self.store_group(group_id, group);
            }
        }
        for (group_id, member_id) in expired {
            tracing::info!(group_id, member_id, "share group member session expired");
            self.release_member_everywhere(&group_id, &member_id);
        }
        if released {
            self.released.notify_waiters();
        }
    }
}

/// Waits for the first of several futures.
async fn futures_select_all<F: std::future::Future + Unpin>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            if std::pin::Pin::new(f).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}

async fn tick(weak: Weak<ShareCoordinator>) {
    // The first tick one period from now, not at once: a broker whose start fails after the
    // coordinator opened must not find it (and the state store it holds) kept alive by a tick
    // running just then (a start right after on the same data dir found the store open).
    let mut interval = tokio::time::interval_at(Instant::now() + TICK, TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(coordinator) = weak.upgrade() else {
            return;
        };
        coordinator.on_tick();
    }
}

fn state_record(sp: &SharePartition) -> codec::StateRecord {
    codec::StateRecord {
        state_epoch: sp.state_epoch(),
        start_offset: sp.start_offset(),
        runs: sp.runs(),
    }
}

/// The batches of `records` with what decides their delivery: control batches, and the
/// batches of the aborted transactions listed (read_committed); with each, where it ends in
/// `records`.
fn batch_spans(
    records: &[u8],
    aborted: &[crate::broker::partition::AbortedTransaction],
) -> Vec<(BatchSpan, usize)> {
    let mut aborted: Vec<_> = aborted.to_vec();
    aborted.sort_by_key(|a| a.first_offset);
    let mut pending = aborted.into_iter().peekable();
    let mut aborting: BTreeSet<i64> = BTreeSet::new();
    let mut spans = Vec::new();
    let mut end = 0usize;
    for item in split_batches(records) {
        let Ok((h, bytes)) = item else { break };
        end += bytes.len();
        while let Some(a) = pending.next_if(|a| a.first_offset <= h.last_offset()) {
            aborting.insert(a.producer_id);
        }
        let control = h.is_control();
        let aborted = !control && h.is_transactional() && aborting.contains(&h.producer_id);
        if control {
            aborting.remove(&h.producer_id);
        }
        spans.push((
            BatchSpan {
                base_offset: h.base_offset,
                last_offset: h.last_offset(),
                control,
                aborted,
            },
            end,
        ));
    }
    spans
}
