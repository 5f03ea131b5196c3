//! KIP-848 consumer groups: ConsumerGroupHeartbeat with member epochs, server-side target
//! assignments, and revocation before reassignment.
//!
//! Each membership or subscription change (or a change in the subscribed topics' partition
//! counts) bumps the group epoch and recomputes the target assignment at that epoch. A
//! member then reconciles on its own heartbeats: first it gives up what it owns outside its
//! target (its epoch stays until its heartbeat reports the partitions gone), then it moves to
//! the target epoch and receives its target partitions as soon as no other member owns them
//! or is still revoking them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::assignor::{Assignment, Assignor, MemberSpec};
use super::state::{ConsumerGroup, ConsumerMember, Group, GroupKind, State, TopicRegex};
use super::types::*;
use super::{GroupError, Inner, Result, TimerKind, TimerNext};

fn consumer_mut<'a>(st: &'a mut State, group_id: &str) -> Option<&'a mut ConsumerGroup> {
    match st.groups.get_mut(group_id).map(|g| &mut g.kind) {
        Some(GroupKind::Consumer(g)) => Some(g),
        _ => None,
    }
}

fn to_assignment(tps: &[TopicPartitions]) -> Assignment {
    let mut a = Assignment::new();
    for tp in tps {
        let set = a.entry(tp.topic_id).or_default();
        set.extend(tp.partitions.iter().copied());
        if set.is_empty() {
            a.remove(&tp.topic_id);
        }
    }
    a
}

fn to_topic_partitions(a: &Assignment) -> Vec<TopicPartitions> {
    a.iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(t, ps)| TopicPartitions {
            topic_id: *t,
            partitions: ps.iter().copied().collect(),
        })
        .collect()
}

fn pairs(a: &Assignment) -> BTreeSet<(Uuid, i32)> {
    a.iter()
        .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
        .collect()
}

fn from_pairs(set: impl IntoIterator<Item = (Uuid, i32)>) -> Assignment {
    let mut a = Assignment::new();
    for (t, p) in set {
        a.entry(t).or_default().insert(p);
    }
    a
}

impl ConsumerGroup {
    /// Chooses the assignor: the one most members ask for, else the default.
    fn choose_assignor(&self, default: Assignor) -> Assignor {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a.as_str()).or_default() += 1;
            }
        }
        votes
            .iter()
            .max_by_key(|(name, n)| (**n, std::cmp::Reverse(**name)))
            .and_then(|(name, _)| Assignor::from_name(name))
            .unwrap_or(default)
    }

    /// Topic IDs and partition counts of every topic a member subscribes to (by name or
    /// regular expression), from `snapshot` or, when none is given, from what the group
    /// last saw.
    fn subscription_metadata(
        &self,
        snapshot: Option<&TopicsSnapshot>,
    ) -> (BTreeMap<Uuid, i32>, BTreeMap<Uuid, String>) {
        let lookup = |name: &str| -> Option<(Uuid, i32)> {
            match snapshot {
                Some(s) => s.get(name).copied(),
                None => self
                    .topic_names
                    .iter()
                    .find(|(_, n)| n.as_str() == name)
                    .and_then(|(id, _)| Some((*id, *self.subscribed_topics.get(id)?))),
            }
        };
        let mut counts = BTreeMap::new();
        let mut names = BTreeMap::new();
        let mut add = |name: &str, (id, count): (Uuid, i32)| {
            counts.insert(id, count);
            names.insert(id, name.to_string());
        };
        // Subscribed names are looked up; only a regular expression needs every topic.
        for m in self.members.values() {
            for name in &m.subscribed_topic_names {
                if let Some(found) = lookup(name) {
                    add(name, found);
                }
            }
        }
        let regexes: Vec<&TopicRegex> = self
            .members
            .values()
            .filter_map(|m| m.subscribed_topic_regex.as_ref())
            .collect();
        if !regexes.is_empty() {
            let matches = |name: &str| regexes.iter().any(|r| r.matches(name));
            match snapshot {
                Some(s) => {
                    for (name, found) in s.iter().filter(|(n, _)| matches(n)) {
                        add(name, *found);
                    }
                }
                None => {
                    for (id, name) in self.topic_names.iter().filter(|(_, n)| matches(n)) {
                        if let Some(count) = self.subscribed_topics.get(id) {
                            add(name, (*id, *count));
                        }
                    }
                }
            }
        }
        (counts, names)
    }

    /// Bumps the group epoch and computes the target assignment at it.
    fn bump_and_assign(&mut self, snapshot: Option<&TopicsSnapshot>, default: Assignor) {
        let (counts, names) = self.subscription_metadata(snapshot);
        self.subscribed_topics = counts;
        self.topic_names = names;
        self.group_epoch += 1;
        self.assignor = self.choose_assignor(default);
        let specs: BTreeMap<String, MemberSpec> = self
            .members
            .values()
            .map(|m| {
                let spec = MemberSpec {
                    subscribed_topics: self
                        .topic_names
                        .iter()
                        .filter(|(_, name)| m.subscribes_to(name))
                        .map(|(id, _)| *id)
                        .collect(),
                    current: m.assigned.clone(),
                };
                (m.member_id.clone(), spec)
            })
            .collect();
        self.target = self.assignor.assign(&specs, &self.subscribed_topics);
        self.assignment_epoch = self.group_epoch;
    }

    /// Partitions owned or being revoked by members other than `member_id`.
    fn owned_by_others(&self, member_id: &str) -> BTreeSet<(Uuid, i32)> {
        self.members
            .values()
            .filter(|m| m.member_id != member_id)
            .flat_map(|m| {
                pairs(&m.assigned)
                    .into_iter()
                    .chain(pairs(&m.pending_revocation))
            })
            .collect()
    }

    /// Moves the member towards its target; returns whether its assignment changed.
    fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment>, now: Instant) -> bool {
        let others = self.owned_by_others(member_id);
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let assignment_epoch = self.assignment_epoch;
        let Some(m) = self.members.get_mut(member_id) else {
            return false;
        };
        let before = m.assigned.clone();
        if !m.pending_revocation.is_empty() {
            if let Some(owned) = owned {
                if pairs(owned).is_disjoint(&pairs(&m.pending_revocation)) {
                    m.pending_revocation.clear();
                    m.revocation_deadline = None;
                }
            }
        }
        if m.pending_revocation.is_empty() {
            if m.member_epoch != assignment_epoch {
                let current = pairs(&m.assigned);
                let wanted = pairs(&target);
                let revoke: BTreeSet<_> = current.difference(&wanted).copied().collect();
                if revoke.is_empty() {
                    m.previous_epoch = m.member_epoch;
                    m.member_epoch = assignment_epoch;
                } else {
                    m.assigned = from_pairs(current.intersection(&wanted).copied());
                    m.pending_revocation = from_pairs(revoke);
                    m.revocation_deadline = Some(now + m.rebalance_timeout);
                }
            }
            if m.member_epoch == assignment_epoch {
                let mut current = pairs(&m.assigned);
                for tp in pairs(&target) {
                    if !others.contains(&tp) {
                        current.insert(tp);
                    }
                }
                m.assigned = from_pairs(current);
            }
        }
        m.assigned != before
    }

    fn remove_member(&mut self, member_id: &str, default: Assignor, now_ms: i64) {
        if let Some(m) = self.members.remove(member_id) {
            if let Some(inst) = &m.instance_id {
                if self.static_members.get(inst).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(inst);
                }
            }
        }
        self.target.remove(member_id);
        self.bump_and_assign(None, default);
        if self.members.is_empty() {
            self.state_since_ms = now_ms;
        }
    }
}

impl Inner {
    pub(crate) fn consumer_group_heartbeat(
        &self,
        req: ConsumerGroupHeartbeatRequest,
        topics: &TopicsSnapshot,
    ) -> ConsumerGroupHeartbeatResponse {
        let mut st = self.state.lock();
        let epoch_of = |st: &State| match st.groups.get(&req.group_id).map(|g| &g.kind) {
            Some(GroupKind::Consumer(g)) => Some(g.group_epoch),
            _ => None,
        };
        let before = epoch_of(&st);
        let out = self.consumer_heartbeat_locked(&mut st, &req, topics);
        if epoch_of(&st) != before {
            st.dirty.insert(req.group_id.clone());
        }
        self.flush_dirty(&mut st);
        out.unwrap_or_else(ConsumerGroupHeartbeatResponse::error)
    }

    fn consumer_heartbeat_locked(
        &self,
        st: &mut State,
        req: &ConsumerGroupHeartbeatRequest,
        topics: &TopicsSnapshot,
    ) -> Result<ConsumerGroupHeartbeatResponse> {
        if st.closed {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidRequest("GroupId can't be empty".into()));
        }
        let regex = match &req.subscribed_topic_regex {
            Some(source) => {
                Some(TopicRegex::new(source).ok_or(GroupError::InvalidRegularExpression)?)
            }
            None => None,
        };
        let epoch = req.member_epoch;
        if epoch < -2 {
            return Err(GroupError::InvalidRequest("MemberEpoch is invalid".into()));
        }
        if epoch == 0 {
            // An empty list of names or an empty regex joins without topics.
            if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
                return Err(GroupError::InvalidRequest(
                    "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when \
                     (re-)joining."
                        .into(),
                ));
            }
            if req.topic_partitions.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(GroupError::InvalidRequest(
                    "TopicPartitions must be empty when (re-)joining".into(),
                ));
            }
        }
        if epoch == -2 && req.instance_id.is_none() {
            return Err(GroupError::InvalidRequest(
                "InstanceId can't be null for a static leave".into(),
            ));
        }
        if epoch != 0 && req.member_id.is_empty() {
            return Err(GroupError::InvalidRequest("MemberId can't be empty".into()));
        }
        if let Some(a) = &req.server_assignor {
            Assignor::from_name(a).ok_or(GroupError::UnsupportedAssignor)?;
        }
        let now = Instant::now();
        let now_ms = self.now_ms();
        let default = self.config.consumer_default_assignor;
        match st.groups.get(&req.group_id) {
            None if epoch != 0 => return Err(GroupError::UnknownMemberId),
            None => {
                st.groups.insert(
                    req.group_id.clone(),
                    Group {
                        kind: GroupKind::Consumer(ConsumerGroup::new(now_ms, default)),
                        offsets: Default::default(),
                    },
                );
            }
            Some(g) if matches!(g.kind, GroupKind::Classic(_)) => {
                if !g.is_empty_of_members() {
                    return Err(GroupError::GroupIdNotFound);
                }
                if epoch != 0 {
                    return Err(GroupError::UnknownMemberId);
                }
                let mut fresh = ConsumerGroup::new(now_ms, default);
                if let GroupKind::Classic(c) = &g.kind {
                    fresh.group_epoch = c.generation;
                    fresh.assignment_epoch = c.generation;
                }
                if let Some(g) = st.groups.get_mut(&req.group_id) {
                    g.kind = GroupKind::Consumer(fresh);
                }
            }
            Some(_) => {}
        }
        let timer_id = st.next_id();
        let g = consumer_mut(st, &req.group_id).ok_or(GroupError::CoordinatorNotAvailable)?;
        let heartbeat_interval_ms = self.config.consumer_heartbeat_interval.as_millis() as i32;
        let session = self.config.consumer_session_timeout;

        if epoch == -1 || epoch == -2 {
            let m = g
                .members
                .get_mut(&req.member_id)
                .ok_or(GroupError::UnknownMemberId)?;
            if epoch == -2 && m.instance_id.is_some() {
                m.member_epoch = -2;
            } else {
                g.remove_member(&req.member_id, default, now_ms);
            }
            return Ok(ConsumerGroupHeartbeatResponse {
                error: None,
                error_message: None,
                member_id: Some(req.member_id.clone()),
                member_epoch: epoch,
                heartbeat_interval_ms: 0,
                assignment: None,
            });
        }

        let mut bump = false;
        let member_id;
        if epoch == 0 {
            member_id = if req.member_id.is_empty() {
                Uuid::new_v4().to_string()
            } else {
                req.member_id.clone()
            };
            let old_static = req
                .instance_id
                .as_ref()
                .and_then(|inst| g.static_members.get(inst).cloned())
                .filter(|old| *old != member_id);
            if let Some(old_id) = old_static {
                let old = g
                    .members
                    .remove(&old_id)
                    .ok_or(GroupError::UnknownMemberId)?;
                if old.member_epoch != -2 {
                    g.members.insert(old_id, old);
                    return Err(GroupError::UnreleasedInstanceId);
                }
                let mut m = old;
                m.member_id = member_id.clone();
                m.member_epoch = 0;
                m.previous_epoch = 0;
                if let Some(t) = g.target.remove(&old_id) {
                    g.target.insert(member_id.clone(), t);
                }
                g.members.insert(member_id.clone(), m);
            } else if let Some(m) = g.members.get_mut(&member_id) {
                // A known member rejoining has lost its partitions.
                m.assigned.clear();
                m.pending_revocation.clear();
                m.member_epoch = 0;
                m.previous_epoch = 0;
            } else {
                if g.members.len() >= self.config.max_size {
                    return Err(GroupError::GroupMaxSizeReached);
                }
                g.members.insert(
                    member_id.clone(),
                    ConsumerMember {
                        member_id: member_id.clone(),
                        instance_id: None,
                        rack_id: None,
                        client_id: String::new(),
                        client_host: String::new(),
                        member_epoch: 0,
                        previous_epoch: 0,
                        rebalance_timeout: Duration::from_millis(
                            u64::try_from(req.rebalance_timeout_ms).unwrap_or(300_000),
                        ),
                        subscribed_topic_names: BTreeSet::new(),
                        subscribed_topic_regex: None,
                        server_assignor: None,
                        assigned: Assignment::new(),
                        pending_revocation: Assignment::new(),
                        session_deadline: now + session,
                        revocation_deadline: None,
                        timer_id: 0,
                    },
                );
                bump = true;
            }
            if let Some(inst) = &req.instance_id {
                g.static_members.insert(inst.clone(), member_id.clone());
            }
            if let Some(m) = g.members.get_mut(&member_id) {
                m.instance_id = req.instance_id.clone();
                m.timer_id = timer_id;
            }
            self.spawn_timer(
                &req.group_id,
                TimerKind::Member {
                    member_id: member_id.clone(),
                    timer_id,
                },
                now + session,
            );
        } else {
            member_id = req.member_id.clone();
            let m = g
                .members
                .get(&member_id)
                .ok_or(GroupError::UnknownMemberId)?;
            if epoch != m.member_epoch {
                let previous_ok = epoch == m.previous_epoch
                    && m.member_epoch >= 0
                    && req
                        .topic_partitions
                        .as_ref()
                        .is_some_and(|o| pairs(&to_assignment(o)).is_subset(&pairs(&m.assigned)));
                if !previous_ok {
                    return Err(GroupError::FencedMemberEpoch);
                }
            }
        }

        let m = g
            .members
            .get_mut(&member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        m.session_deadline = now + session;
        if req.rebalance_timeout_ms > 0 {
            m.rebalance_timeout = Duration::from_millis(req.rebalance_timeout_ms as u64);
        }
        if req.rack_id.is_some() {
            m.rack_id = req.rack_id.clone();
        }
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            if names != m.subscribed_topic_names {
                m.subscribed_topic_names = names;
                bump = true;
            }
        }
        if let Some(regex) = regex {
            let before = m.subscribed_topic_regex.as_ref().map(|r| r.source.as_str());
            if before != Some(regex.source.as_str()) {
                m.subscribed_topic_regex = (!regex.source.is_empty()).then_some(regex);
                bump = true;
            }
        }
        if req.server_assignor.is_some() && req.server_assignor != m.server_assignor {
            m.server_assignor = req.server_assignor.clone();
            bump = true;
        }
        let (counts, _) = g.subscription_metadata(Some(topics));
        if bump || counts != g.subscribed_topics {
            g.bump_and_assign(Some(topics), default);
        }
        let owned = req.topic_partitions.as_deref().map(to_assignment);
        let revocation_before = g
            .members
            .get(&member_id)
            .and_then(|m| m.revocation_deadline);
        let changed = g.reconcile(&member_id, owned.as_ref(), now);
        if let Some(m) = g.members.get(&member_id) {
            if let Some(deadline) = m
                .revocation_deadline
                .filter(|_| revocation_before.is_none())
            {
                self.spawn_timer(
                    &req.group_id,
                    TimerKind::Revocation {
                        member_id: member_id.clone(),
                        timer_id: m.timer_id,
                    },
                    deadline,
                );
            }
        }
        let m = g
            .members
            .get(&member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        let send_assignment =
            changed || epoch == 0 || owned.as_ref().is_some_and(|o| *o != m.assigned);
        Ok(ConsumerGroupHeartbeatResponse {
            error: None,
            error_message: None,
            member_id: Some(member_id.clone()),
            member_epoch: m.member_epoch,
            heartbeat_interval_ms,
            assignment: send_assignment.then(|| to_topic_partitions(&m.assigned)),
        })
    }

    pub(crate) fn consumer_timer(
        &self,
        st: &mut State,
        group_id: &str,
        kind: &TimerKind,
    ) -> TimerNext {
        let now = Instant::now();
        let now_ms = self.now_ms();
        let default = self.config.consumer_default_assignor;
        let (TimerKind::Member {
            member_id,
            timer_id,
        }
        | TimerKind::Revocation {
            member_id,
            timer_id,
        }) = kind
        else {
            return TimerNext::Done;
        };
        let Some(g) = consumer_mut(st, group_id) else {
            return TimerNext::Done;
        };
        let Some(m) = g.members.get(member_id) else {
            return TimerNext::Done;
        };
        if m.timer_id != *timer_id {
            return TimerNext::Done;
        }
        let revocation = m
            .revocation_deadline
            .filter(|_| !m.pending_revocation.is_empty());
        let expired = m.session_deadline <= now || revocation.is_some_and(|r| r <= now);
        if !expired {
            if matches!(kind, TimerKind::Revocation { .. }) {
                return TimerNext::Done;
            }
            let next = revocation.map_or(m.session_deadline, |r| r.min(m.session_deadline));
            return TimerNext::At(next);
        }
        tracing::info!(
            group = group_id,
            member = member_id,
            "consumer member fenced (session or revocation timeout)"
        );
        g.remove_member(member_id, default, now_ms);
        st.dirty.insert(group_id.to_string());
        TimerNext::Done
    }

    pub(crate) fn consumer_group_describe(
        &self,
        group_ids: &[String],
    ) -> Vec<ConsumerGroupDescription> {
        let st = self.state.lock();
        group_ids
            .iter()
            .map(|id| match st.groups.get(id).map(|g| &g.kind) {
                Some(GroupKind::Consumer(g)) => {
                    let named = |a: &Assignment| -> Vec<NamedTopicPartitions> {
                        a.iter()
                            .map(|(t, ps)| NamedTopicPartitions {
                                topic_id: *t,
                                topic_name: g.topic_names.get(t).cloned().unwrap_or_default(),
                                partitions: ps.iter().copied().collect(),
                            })
                            .collect()
                    };
                    ConsumerGroupDescription {
                        group_id: id.clone(),
                        error: None,
                        group_state: g.state_name().to_string(),
                        group_epoch: g.group_epoch,
                        assignment_epoch: g.assignment_epoch,
                        assignor_name: g.assignor.name().to_string(),
                        members: g
                            .members
                            .values()
                            .map(|m| ConsumerMemberDescription {
                                member_id: m.member_id.clone(),
                                instance_id: m.instance_id.clone(),
                                rack_id: m.rack_id.clone(),
                                member_epoch: m.member_epoch,
                                client_id: m.client_id.clone(),
                                client_host: m.client_host.clone(),
                                subscribed_topic_names: m
                                    .subscribed_topic_names
                                    .iter()
                                    .cloned()
                                    .collect(),
                                subscribed_topic_regex: m
                                    .subscribed_topic_regex
                                    .as_ref()
                                    .map(|r| r.source.clone()),
                                assignment: named(&m.assigned),
                                target_assignment: named(
                                    &g.target.get(&m.member_id).cloned().unwrap_or_default(),
                                ),
                            })
                            .collect(),
                    }
                }
                _ => ConsumerGroupDescription {
                    group_id: id.clone(),
                    error: Some(GroupError::GroupIdNotFound),
                    group_state: "dead".into(),
                    group_epoch: -1,
                    assignment_epoch: -1,
                    assignor_name: String::new(),
                    members: Vec::new(),
                },
            })
            .collect()
    }
}
