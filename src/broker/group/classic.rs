//! The classic protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, session timeouts,
//! static membership, and the state machine Empty → PreparingRebalance →
//! CompletingRebalance → Stable.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::state::{
    ClassicGroup, ClassicMember, ClassicState, Group, GroupKind, PendingRebalance, State,
};
use super::types::*;
use super::{GroupError, Inner, Outcome, Result, TimerKind, TimerNext};

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn classic_mut<'a>(st: &'a mut State, group_id: &str) -> Option<&'a mut ClassicGroup> {
    match st.groups.get_mut(group_id).map(|g| &mut g.kind) {
        Some(GroupKind::Classic(g)) => Some(g),
        _ => None,
    }
}

/// Shared context of one operation.
struct Ctx<'a> {
    inner: &'a Inner,
    group_id: &'a str,
    now: Instant,
    now_ms: i64,
    dirty: bool,
}

impl Ctx<'_> {
    fn current_join_response(
        g: &ClassicGroup,
        member_id: &str,
        skip_assignment: bool,
    ) -> JoinGroupResponse {
        let is_leader = g.leader.as_deref() == Some(member_id);
        let protocol = g.protocol_name.clone().unwrap_or_default();
        let members = if is_leader {
            let mut ms: Vec<&ClassicMember> = g.members.values().collect();
            ms.sort_by_key(|m| m.seq);
            ms.iter()
                .map(|m| JoinGroupMember {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    metadata: m.metadata_for(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinGroupResponse {
            error: None,
            generation_id: g.generation,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            leader: g.leader.clone().unwrap_or_default(),
            skip_assignment: is_leader && skip_assignment,
            member_id: member_id.to_string(),
            members,
        }
    }

    fn prepare_rebalance(&mut self, g: &mut ClassicGroup, st_next: &mut u64) {
        if g.state == ClassicState::CompletingRebalance {
            for m in g.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(tx) = m.sync_waiter.take() {
                    let _ = tx.send(SyncGroupResponse::error(GroupError::RebalanceInProgress));
                }
            }
        }
        g.pending_sync.clear();
        // As Kafka: a group that was Empty waits `group.initial.rebalance.delay.ms` (and
        // again each time a member joined during the last step, until the rebalance timeout
        // is used up) and never completes early; any other rebalance waits for every known
        // member up to the rebalance timeout and completes as soon as all have joined.
        let initial = g.state == ClassicState::Empty;
        let rebalance_timeout = g.rebalance_timeout();
        *st_next += 1;
        let token = *st_next;
        let delay = if initial {
            self.inner.config.initial_rebalance_delay
        } else {
            rebalance_timeout
        };
        g.rebalance = Some(PendingRebalance {
            token,
            initial,
            new_member_joined: false,
            delay,
            remaining: rebalance_timeout.saturating_sub(delay),
        });
        let deadline = self.now + delay;
        g.state = ClassicState::PreparingRebalance;
        g.state_since_ms = self.now_ms;
        self.inner
            .spawn_timer(self.group_id, TimerKind::Rebalance { token }, deadline);
        tracing::debug!(group = self.group_id, "preparing rebalance");
    }

    fn maybe_prepare_rebalance(&mut self, g: &mut ClassicGroup, next: &mut u64) {
        if matches!(
            g.state,
            ClassicState::Stable | ClassicState::CompletingRebalance | ClassicState::Empty
        ) {
            self.prepare_rebalance(g, next);
        }
        self.try_complete_join(g, next);
    }

    /// Completes the join phase early once every member rejoined (not during an initial
    /// delay, which always runs its course).
    fn try_complete_join(&mut self, g: &mut ClassicGroup, next: &mut u64) {
        if g.state == ClassicState::PreparingRebalance
            && g.rebalance.as_ref().is_some_and(|r| !r.initial)
            && g.all_members_joined()
        {
            self.complete_join(g, next);
        }
    }

    fn complete_join(&mut self, g: &mut ClassicGroup, next: &mut u64) {
        g.rebalance = None;
        // Dynamic members that did not rejoin leave the group; static ones stay.
        let gone: Vec<String> = g
            .members
            .values()
            .filter(|m| m.join_waiter.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in gone {
            g.members.remove(&id);
            g.pending_sync.remove(&id);
        }
        if !g.members.is_empty() && g.members.values().all(|m| m.join_waiter.is_none()) {
            // Only static members that did not rejoin are left: as Kafka, no generation
            // without a joined leader; wait another rebalance timeout (their sessions
            // expire meanwhile unless they come back).
            *next += 1;
            let token = *next;
            let timeout = g.rebalance_timeout();
            g.rebalance = Some(PendingRebalance {
                token,
                initial: false,
                new_member_joined: false,
                delay: timeout,
                remaining: Duration::ZERO,
            });
            self.inner.spawn_timer(
                self.group_id,
                TimerKind::Rebalance { token },
                self.now + timeout,
            );
            tracing::info!(
                group = self.group_id,
                "no member rejoined; join phase extended"
            );
            return;
        }
        // Pending members (MEMBER_ID_REQUIRED sent, not rejoined yet) stay pending: their
        // JoinGroup with the assigned id is accepted in any state until their session ends.
        g.generation += 1;
        self.dirty = true;
        if g.members.is_empty() {
            g.protocol_name = None;
            g.leader = None;
            g.state = ClassicState::Empty;
            g.state_since_ms = self.now_ms;
            return;
        }
        g.protocol_name = g.select_protocol();
        // The leader must be a member that rejoined (a static leader that did not is
        // replaced).
        if g.leader
            .as_ref()
            .and_then(|l| g.members.get(l))
            .is_none_or(|l| l.join_waiter.is_none())
        {
            g.leader = g
                .members
                .values()
                .filter(|m| m.join_waiter.is_some())
                .min_by_key(|m| m.seq)
                .or_else(|| g.members.values().min_by_key(|m| m.seq))
                .map(|m| m.member_id.clone());
        }
        g.state = ClassicState::CompletingRebalance;
        g.state_since_ms = self.now_ms;
        let ids: Vec<String> = g.members.keys().cloned().collect();
        for id in &ids {
            let response = Self::current_join_response(g, id, false);
            if let Some(m) = g.members.get_mut(id) {
                m.session_deadline = self.now + m.session_timeout;
                if let Some(tx) = m.join_waiter.take() {
                    let _ = tx.send(response);
                }
                if m.is_new {
                    // Its timer ran on the new-member join timeout: from now on the
                    // session timeout applies.
                    m.is_new = false;
                    *next += 1;
                    m.timer_id = *next;
                    self.inner.spawn_timer(
                        self.group_id,
                        TimerKind::Member {
                            member_id: id.clone(),
                            timer_id: m.timer_id,
                        },
                        m.session_deadline,
                    );
                }
            }
        }
        g.pending_sync = ids.into_iter().collect();
        *next += 1;
        g.sync_token = *next;
        let timeout = g.rebalance_timeout();
        self.inner.spawn_timer(
            self.group_id,
            TimerKind::Sync {
                token: g.sync_token,
            },
            self.now + timeout,
        );
        tracing::debug!(
            group = self.group_id,
            generation = g.generation,
            "join phase complete"
        );
    }

    fn remove_member(&mut self, g: &mut ClassicGroup, member_id: &str, next: &mut u64) {
        let Some(mut m) = g.members.remove(member_id) else {
            return;
        };
        if let Some(inst) = &m.group_instance_id {
            if g.static_members.get(inst).map(String::as_str) == Some(member_id) {
                g.static_members.remove(inst);
            }
        }
        if let Some(tx) = m.join_waiter.take() {
            let _ = tx.send(JoinGroupResponse::error(
                GroupError::UnknownMemberId,
                member_id,
            ));
        }
        if let Some(tx) = m.sync_waiter.take() {
            let _ = tx.send(SyncGroupResponse::error(GroupError::UnknownMemberId));
        }
        g.pending_sync.remove(member_id);
        if g.leader.as_deref() == Some(member_id) {
            g.leader = None;
        }
        match g.state {
            ClassicState::Stable | ClassicState::CompletingRebalance => {
                self.maybe_prepare_rebalance(g, next)
            }
            ClassicState::PreparingRebalance => self.try_complete_join(g, next),
            ClassicState::Empty | ClassicState::Dead => {}
        }
    }

    fn add_member(
        &mut self,
        g: &mut ClassicGroup,
        member_id: String,
        req: &JoinGroupRequest,
        next: &mut u64,
    ) -> oneshot::Receiver<JoinGroupResponse> {
        let (tx, rx) = oneshot::channel();
        if g.members.is_empty() {
            g.protocol_type = Some(req.protocol_type.clone());
        }
        *next += 1;
        let seq = *next;
        let session_timeout = millis(req.session_timeout_ms);
        // A new member cannot heartbeat and its parked JoinGroup does not prove it is still
        // there: as Kafka (KIP-394), it expires after the new-member join timeout unless its
        // join phase completes first.
        let join_deadline = self.now + self.inner.config.new_member_join_timeout;
        let member = ClassicMember {
            member_id: member_id.clone(),
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id.clone(),
            client_host: req.client_host.clone(),
            session_timeout,
            rebalance_timeout: millis(req.rebalance_timeout_ms),
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: Bytes::new(),
            join_waiter: Some(tx),
            sync_waiter: None,
            session_deadline: join_deadline,
            timer_id: seq,
            seq,
            is_new: true,
        };
        if let Some(inst) = &req.group_instance_id {
            g.static_members.insert(inst.clone(), member_id.clone());
        }
        g.members.insert(member_id.clone(), member);
        self.inner.spawn_timer(
            self.group_id,
            TimerKind::Member {
                member_id,
                timer_id: seq,
            },
            join_deadline,
        );
        if let Some(r) = g.rebalance.as_mut().filter(|r| r.initial) {
            r.new_member_joined = true;
        }
        self.maybe_prepare_rebalance(g, next);
        rx
    }

    fn update_member(
        g: &mut ClassicGroup,
        member_id: &str,
        req: &JoinGroupRequest,
        now: Instant,
    ) -> oneshot::Receiver<JoinGroupResponse> {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = g.members.get_mut(member_id) {
            m.protocols = req.protocols.clone();
            m.protocol_type = req.protocol_type.clone();
            m.session_timeout = millis(req.session_timeout_ms);
            m.rebalance_timeout = millis(req.rebalance_timeout_ms);
            m.client_id = req.client_id.clone();
            m.client_host = req.client_host.clone();
            if !m.is_new {
                m.session_deadline = now + m.session_timeout;
            }
            if let Some(old) = m.join_waiter.replace(tx) {
                let _ = old.send(JoinGroupResponse::error(
                    GroupError::RebalanceInProgress,
                    member_id,
                ));
            }
        }
        rx
    }
}

impl Inner {
    fn ctx<'a>(&'a self, group_id: &'a str) -> Ctx<'a> {
        Ctx {
            inner: self,
            group_id,
            now: Instant::now(),
            now_ms: self.now_ms(),
            dirty: false,
        }
    }

    pub(crate) fn join_group(&self, req: JoinGroupRequest) -> Outcome<JoinGroupResponse> {
        let mut st = self.state.lock();
        let out = self.join_locked(&mut st, &req);
        self.flush_dirty(&mut st);
        match out {
            Ok(o) => o,
            Err(e) => Outcome::Now(JoinGroupResponse::error(e, req.member_id.clone())),
        }
    }

    fn join_locked(
        &self,
        st: &mut State,
        req: &JoinGroupRequest,
    ) -> Result<Outcome<JoinGroupResponse>> {
        if st.closed {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let session = millis(req.session_timeout_ms);
        if req.session_timeout_ms < 0
            || session < self.config.min_session_timeout
            || session > self.config.max_session_timeout
        {
            return Err(GroupError::InvalidSessionTimeout);
        }
        let mut ctx = self.ctx(&req.group_id);
        let now_ms = ctx.now_ms;
        // Find or create the group; an empty KIP-848 group turns classic.
        match st.groups.get(&req.group_id) {
            None if !req.member_id.is_empty() => return Err(GroupError::UnknownMemberId),
            None => {
                st.groups.insert(
                    req.group_id.clone(),
                    Group {
                        kind: GroupKind::Classic(ClassicGroup::new(now_ms)),
                        offsets: Default::default(),
                    },
                );
            }
            Some(g) if matches!(g.kind, GroupKind::Consumer(_)) => {
                if !g.is_empty_of_members() {
                    return Err(GroupError::InconsistentGroupProtocol);
                }
                if let Some(g) = st.groups.get_mut(&req.group_id) {
                    g.kind = GroupKind::Classic(ClassicGroup::new(now_ms));
                }
            }
            Some(_) => {}
        }
        let mut next = st.next_id;
        let result = (|| {
            let g = classic_mut(st, &req.group_id).ok_or(GroupError::CoordinatorNotAvailable)?;
            if g.state == ClassicState::Dead {
                return Err(GroupError::CoordinatorNotAvailable);
            }
            if !g.supports_protocols(&req.protocol_type, &req.protocols) {
                return Err(GroupError::InconsistentGroupProtocol);
            }
            if req.member_id.is_empty() {
                self.join_unknown_member(&mut ctx, g, req, &mut next)
            } else {
                self.join_known_member(&mut ctx, g, req, &mut next)
            }
        })();
        st.next_id = next;
        if ctx.dirty {
            st.dirty.insert(req.group_id.clone());
        }
        result
    }

    fn join_unknown_member(
        &self,
        ctx: &mut Ctx<'_>,
        g: &mut ClassicGroup,
        req: &JoinGroupRequest,
        next: &mut u64,
    ) -> Result<Outcome<JoinGroupResponse>> {
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        if let Some(inst) = &req.group_instance_id {
            if let Some(old_id) = g.static_members.get(inst).cloned() {
                return Ok(self.replace_static_member(ctx, g, &old_id, new_id, req, next));
            }
        } else if req.require_known_member_id {
            if g.members.len() + g.pending_members.len() >= self.config.max_size {
                return Err(GroupError::GroupMaxSizeReached);
            }
            g.pending_members.insert(new_id.clone());
            self.spawn_timer(
                ctx.group_id,
                TimerKind::Pending {
                    member_id: new_id.clone(),
                },
                ctx.now + millis(req.session_timeout_ms),
            );
            return Ok(Outcome::Now(JoinGroupResponse::error(
                GroupError::MemberIdRequired,
                new_id,
            )));
        }
        if g.members.len() >= self.config.max_size {
            return Err(GroupError::GroupMaxSizeReached);
        }
        Ok(Outcome::Wait(ctx.add_member(g, new_id, req, next)))
    }

    /// A known static instance rejoined with a new member id: the new id takes over the
    /// old member (and its assignment); the old id is fenced.
    fn replace_static_member(
        &self,
        ctx: &mut Ctx<'_>,
        g: &mut ClassicGroup,
        old_id: &str,
        new_id: String,
        req: &JoinGroupRequest,
        next: &mut u64,
    ) -> Outcome<JoinGroupResponse> {
        let Some(mut m) = g.members.remove(old_id) else {
            return Outcome::Now(JoinGroupResponse::error(
                GroupError::UnknownMemberId,
                new_id,
            ));
        };
        if let Some(tx) = m.join_waiter.take() {
            let _ = tx.send(JoinGroupResponse::error(
                GroupError::FencedInstanceId,
                old_id,
            ));
        }
        if let Some(tx) = m.sync_waiter.take() {
            let _ = tx.send(SyncGroupResponse::error(GroupError::FencedInstanceId));
        }
        m.protocols = req.protocols.clone();
        m.member_id = new_id.clone();
        m.client_id = req.client_id.clone();
        m.client_host = req.client_host.clone();
        m.session_timeout = millis(req.session_timeout_ms);
        m.rebalance_timeout = millis(req.rebalance_timeout_ms);
        m.session_deadline = if m.is_new {
            ctx.now + self.config.new_member_join_timeout
        } else {
            ctx.now + m.session_timeout
        };
        *next += 1;
        m.timer_id = *next;
        let timer_id = m.timer_id;
        let session_deadline = m.session_deadline;
        if let Some(inst) = &req.group_instance_id {
            g.static_members.insert(inst.clone(), new_id.clone());
        }
        if g.leader.as_deref() == Some(old_id) {
            g.leader = Some(new_id.clone());
        }
        if g.pending_sync.remove(old_id) {
            g.pending_sync.insert(new_id.clone());
        }
        g.members.insert(new_id.clone(), m);
        self.spawn_timer(
            ctx.group_id,
            TimerKind::Member {
                member_id: new_id.clone(),
                timer_id,
            },
            session_deadline,
        );
        tracing::debug!(
            group = ctx.group_id,
            old_id,
            new_id,
            "static member replaced"
        );
        let is_leader = g.leader.as_deref() == Some(new_id.as_str());
        match g.state {
            ClassicState::Stable => {
                // As Kafka: only a change of the selected protocol rebalances. The
                // subscription metadata of a restarted client differs (generation, owned
                // partitions) without changing what the group agreed on.
                if g.select_protocol() == g.protocol_name {
                    ctx.dirty = true;
                    let mut r =
                        Ctx::current_join_response(g, &new_id, req.supports_skip_assignment);
                    if is_leader && !req.supports_skip_assignment {
                        // Named with its old id, the leader takes itself for a follower
                        // and syncs without assigning.
                        r.members.clear();
                        r.leader = old_id.to_string();
                    }
                    return Outcome::Now(r);
                }
                let rx = Ctx::update_member(g, &new_id, req, ctx.now);
                ctx.maybe_prepare_rebalance(g, next);
                Outcome::Wait(rx)
            }
            // CompletingRebalance too: the leader may be assigning to the old member id,
            // whose assignment the new id would never get (Kafka rebalances here as well).
            _ => {
                let rx = Ctx::update_member(g, &new_id, req, ctx.now);
                ctx.maybe_prepare_rebalance(g, next);
                Outcome::Wait(rx)
            }
        }
    }

    fn join_known_member(
        &self,
        ctx: &mut Ctx<'_>,
        g: &mut ClassicGroup,
        req: &JoinGroupRequest,
        next: &mut u64,
    ) -> Result<Outcome<JoinGroupResponse>> {
        let id = req.member_id.as_str();
        if g.pending_members.remove(id) {
            if g.members.len() >= self.config.max_size {
                return Err(GroupError::GroupMaxSizeReached);
            }
            return Ok(Outcome::Wait(ctx.add_member(g, id.to_string(), req, next)));
        }
        check_instance(g, id, req.group_instance_id.as_deref())?;
        let Some(member) = g.members.get(id) else {
            return Err(GroupError::UnknownMemberId);
        };
        let same_protocols = member.protocols == req.protocols;
        let is_leader = g.leader.as_deref() == Some(id);
        match g.state {
            ClassicState::PreparingRebalance => {
                let rx = Ctx::update_member(g, id, req, ctx.now);
                ctx.try_complete_join(g, next);
                Ok(Outcome::Wait(rx))
            }
            ClassicState::CompletingRebalance if same_protocols => {
                Ok(Outcome::Now(Ctx::current_join_response(g, id, false)))
            }
            ClassicState::Stable if same_protocols && !is_leader => {
                Ok(Outcome::Now(Ctx::current_join_response(g, id, false)))
            }
            ClassicState::CompletingRebalance | ClassicState::Stable => {
                let rx = Ctx::update_member(g, id, req, ctx.now);
                ctx.maybe_prepare_rebalance(g, next);
                Ok(Outcome::Wait(rx))
            }
            ClassicState::Empty | ClassicState::Dead => Err(GroupError::UnknownMemberId),
        }
    }

    pub(crate) fn sync_group(&self, req: SyncGroupRequest) -> Outcome<SyncGroupResponse> {
        let mut st = self.state.lock();
        let mut ctx = self.ctx(&req.group_id);
        let out = (|| {
            if st.closed {
                return Err(GroupError::CoordinatorNotAvailable);
            }
            let g = classic_mut(&mut st, &req.group_id).ok_or(GroupError::UnknownMemberId)?;
            check_instance(g, &req.member_id, req.group_instance_id.as_deref())?;
            if !g.members.contains_key(&req.member_id) {
                return Err(GroupError::UnknownMemberId);
            }
            if req.generation_id != g.generation {
                return Err(GroupError::IllegalGeneration);
            }
            if req
                .protocol_type
                .as_ref()
                .is_some_and(|p| Some(p) != g.protocol_type.as_ref())
                || req
                    .protocol_name
                    .as_ref()
                    .is_some_and(|p| Some(p) != g.protocol_name.as_ref())
            {
                return Err(GroupError::InconsistentGroupProtocol);
            }
            let protocol_type = g.protocol_type.clone();
            let protocol_name = g.protocol_name.clone();
            let answer = |assignment: Bytes| SyncGroupResponse {
                error: None,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment,
            };
            match g.state {
                ClassicState::Empty | ClassicState::Dead => Err(GroupError::UnknownMemberId),
                ClassicState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
                ClassicState::Stable => {
                    let m = g
                        .members
                        .get_mut(&req.member_id)
                        .ok_or(GroupError::UnknownMemberId)?;
                    m.session_deadline = ctx.now + m.session_timeout;
                    Ok(Outcome::Now(answer(m.assignment.clone())))
                }
                ClassicState::CompletingRebalance => {
                    let (tx, rx) = oneshot::channel();
                    g.pending_sync.remove(&req.member_id);
                    if let Some(m) = g.members.get_mut(&req.member_id) {
                        m.session_deadline = ctx.now + m.session_timeout;
                        if let Some(old) = m.sync_waiter.replace(tx) {
                            let _ =
                                old.send(SyncGroupResponse::error(GroupError::RebalanceInProgress));
                        }
                    }
                    if g.leader.as_deref() == Some(req.member_id.as_str()) {
                        for m in g.members.values_mut() {
                            m.assignment = Bytes::new();
                        }
                        for (id, assignment) in &req.assignments {
                            if let Some(m) = g.members.get_mut(id) {
                                m.assignment = assignment.clone();
                            }
                        }
                        g.state = ClassicState::Stable;
                        g.state_since_ms = ctx.now_ms;
                        ctx.dirty = true;
                        for m in g.members.values_mut() {
                            if let Some(tx) = m.sync_waiter.take() {
                                let _ = tx.send(answer(m.assignment.clone()));
                            }
                        }
                        tracing::debug!(group = ctx.group_id, generation = g.generation, "stable");
                    }
                    Ok(Outcome::Wait(rx))
                }
            }
        })();
        if ctx.dirty {
            st.dirty.insert(req.group_id.clone());
        }
        self.flush_dirty(&mut st);
        out.unwrap_or_else(|e| Outcome::Now(SyncGroupResponse::error(e)))
    }

    pub(crate) fn heartbeat(&self, req: HeartbeatRequest) -> Result<()> {
        let mut st = self.state.lock();
        let now = Instant::now();
        let g = classic_mut(&mut st, &req.group_id).ok_or(GroupError::UnknownMemberId)?;
        check_instance(g, &req.member_id, req.group_instance_id.as_deref())?;
        if matches!(g.state, ClassicState::Empty | ClassicState::Dead) {
            return Err(GroupError::UnknownMemberId);
        }
        let generation = g.generation;
        let state = g.state;
        let m = g
            .members
            .get_mut(&req.member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if req.generation_id != generation {
            return Err(GroupError::IllegalGeneration);
        }
        m.session_deadline = now + m.session_timeout;
        match state {
            ClassicState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    pub(crate) fn leave_group(
        &self,
        group_id: &str,
        members: Vec<LeavingMember>,
    ) -> LeaveGroupResponse {
        let mut st = self.state.lock();
        let mut ctx = self.ctx(group_id);
        let mut next = st.next_id;
        let mut results = Vec::with_capacity(members.len());
        let group = classic_mut(&mut st, group_id);
        match group {
            None => {
                for m in members {
                    results.push(LeaveResult {
                        member_id: m.member_id,
                        group_instance_id: m.group_instance_id,
                        error: Some(GroupError::UnknownMemberId),
                    });
                }
            }
            Some(g) => {
                for m in members {
                    let error = (|| {
                        let id = match &m.group_instance_id {
                            Some(inst) => {
                                let id = g
                                    .static_members
                                    .get(inst)
                                    .cloned()
                                    .ok_or(GroupError::UnknownMemberId)?;
                                if !m.member_id.is_empty() && m.member_id != id {
                                    return Err(GroupError::FencedInstanceId);
                                }
                                id
                            }
                            None => m.member_id.clone(),
                        };
                        if g.pending_members.remove(&id) {
                            ctx.try_complete_join(g, &mut next);
                            return Ok(());
                        }
                        if !g.members.contains_key(&id) {
                            return Err(GroupError::UnknownMemberId);
                        }
                        tracing::debug!(group = group_id, member = id, reason = ?m.reason, "member leaves");
                        ctx.remove_member(g, &id, &mut next);
                        Ok(())
                    })()
                    .err();
                    results.push(LeaveResult {
                        member_id: m.member_id,
                        group_instance_id: m.group_instance_id,
                        error,
                    });
                }
            }
        }
        st.next_id = next;
        if ctx.dirty {
            st.dirty.insert(group_id.to_string());
        }
        self.flush_dirty(&mut st);
        LeaveGroupResponse {
            error: None,
            members: results,
        }
    }

    pub(crate) fn classic_timer(
        &self,
        st: &mut State,
        group_id: &str,
        kind: &TimerKind,
    ) -> TimerNext {
        let mut ctx = self.ctx(group_id);
        let mut next = st.next_id;
        let result = match classic_mut(st, group_id) {
            None => TimerNext::Done,
            Some(g) => match kind {
                TimerKind::Member {
                    member_id,
                    timer_id,
                } => {
                    match g.members.get_mut(member_id) {
                        Some(m) if m.timer_id == *timer_id => {
                            if !m.is_new && (m.join_waiter.is_some() || m.sync_waiter.is_some()) {
                                // Waiting for the coordinator counts as alive (not for a
                                // new member: it has the new-member join timeout).
                                m.session_deadline = ctx.now + m.session_timeout;
                            }
                            if m.session_deadline > ctx.now {
                                TimerNext::At(m.session_deadline)
                            } else {
                                tracing::info!(
                                    group = group_id,
                                    member = member_id,
                                    "session expired"
                                );
                                ctx.remove_member(g, member_id, &mut next);
                                TimerNext::Done
                            }
                        }
                        _ => TimerNext::Done,
                    }
                }
                TimerKind::Revocation { .. } => TimerNext::Done,
                TimerKind::Pending { member_id } => {
                    if g.pending_members.remove(member_id) {
                        ctx.try_complete_join(g, &mut next);
                    }
                    TimerNext::Done
                }
                TimerKind::Rebalance { token } => match g.rebalance.as_mut() {
                    Some(r) if r.token == *token => {
                        if r.initial && r.new_member_joined && !r.remaining.is_zero() {
                            // Kafka's InitialDelayedJoin: a member joined during the last
                            // step, so wait another step, bounded by the rebalance timeout.
                            r.new_member_joined = false;
                            let step = self.config.initial_rebalance_delay.min(r.remaining);
                            r.remaining = r.remaining.saturating_sub(r.delay);
                            r.delay = step;
                            TimerNext::At(ctx.now + step)
                        } else {
                            ctx.complete_join(g, &mut next);
                            TimerNext::Done
                        }
                    }
                    _ => TimerNext::Done,
                },
                TimerKind::Sync { token } => {
                    if g.state == ClassicState::CompletingRebalance && g.sync_token == *token {
                        let late: Vec<String> = g.pending_sync.iter().cloned().collect();
                        for id in late {
                            tracing::info!(group = group_id, member = id, "no SyncGroup in time");
                            ctx.remove_member(g, &id, &mut next);
                        }
                    }
                    TimerNext::Done
                }
            },
        };
        st.next_id = next;
        if ctx.dirty {
            st.dirty.insert(group_id.to_string());
        }
        result
    }
}

/// FENCED_INSTANCE_ID when the instance id is registered to another member id.
pub(crate) fn check_instance(
    g: &ClassicGroup,
    member_id: &str,
    instance: Option<&str>,
) -> Result<()> {
    if let Some(inst) = instance {
        match g.static_members.get(inst) {
            Some(id) if id != member_id => return Err(GroupError::FencedInstanceId),
            _ => {}
        }
    }
    Ok(())
}
