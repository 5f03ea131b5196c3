//! Helpers shared by the group coordinator tests.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use skiff::broker::group::*;
use skiff::storage::kv::{StateStore, StateStoreConfig};

pub fn test_config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_millis(100),
        min_session_timeout: Duration::from_millis(1),
        ..GroupConfig::default()
    }
}

pub fn open(dir: &Path, config: GroupConfig) -> (Arc<StateStore>, GroupCoordinator) {
    let store = Arc::new(StateStore::open(dir, StateStoreConfig::default()).unwrap());
    let coordinator = GroupCoordinator::open(store.clone(), config).unwrap();
    (store, coordinator)
}

/// Polls a future once: its synchronous part (the coordinator call) runs; returns its
/// output if it finished.
pub async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = f => Some(out),
        _ = std::future::ready(()) => None,
    }
}

pub fn join(group: &str, member_id: &str, instance: Option<&str>) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: group.into(),
        member_id: member_id.into(),
        group_instance_id: instance.map(String::from),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 30_000,
        rebalance_timeout_ms: 20_000,
        protocol_type: "consumer".into(),
        protocols: vec![
            JoinProtocol {
                name: "range".into(),
                metadata: Bytes::from(format!("meta-{member_id}")),
            },
            JoinProtocol {
                name: "roundrobin".into(),
                metadata: Bytes::from_static(b"rr"),
            },
        ],
        require_known_member_id: true,
        supports_skip_assignment: false,
        reason: None,
    }
}

pub fn sync(
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: Vec<(String, Bytes)>,
) -> SyncGroupRequest {
    SyncGroupRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments,
    }
}

pub fn heartbeat(group: &str, generation: i32, member_id: &str) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member_id.into(),
        group_instance_id: None,
    }
}

/// Gets a member id through the MEMBER_ID_REQUIRED round trip.
pub async fn member_id(c: &GroupCoordinator, group: &str) -> String {
    let r = c.join_group(join(group, "", None)).await;
    assert_eq!(r.error, Some(GroupError::MemberIdRequired));
    assert_eq!(r.error.as_ref().unwrap().code(), 79);
    assert!(!r.member_id.is_empty());
    r.member_id
}

/// Joins all members concurrently; returns their responses in order.
pub async fn join_all(c: &GroupCoordinator, reqs: Vec<JoinGroupRequest>) -> Vec<JoinGroupResponse> {
    let futs = reqs.into_iter().map(|r| {
        let c = c.clone();
        async move { c.join_group(r).await }
    });
    let mut handles = Vec::new();
    for f in futs {
        handles.push(tokio::spawn(f));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The assignment the leader hands out: the member id as bytes.
pub fn assignment_for(id: &str) -> Bytes {
    Bytes::from(format!("assignment-of-{id}"))
}

/// Syncs every member of a generation (the leader with assignments for all); returns the
/// responses in order.
pub async fn sync_all(
    c: &GroupCoordinator,
    group: &str,
    joined: &[JoinGroupResponse],
) -> Vec<SyncGroupResponse> {
    let leader = joined
        .iter()
        .find(|r| r.member_id == r.leader)
        .expect("a leader");
    let assignments: Vec<(String, Bytes)> = leader
        .members
        .iter()
        .map(|m| (m.member_id.clone(), assignment_for(&m.member_id)))
        .collect();
    let mut handles = Vec::new();
    for r in joined {
        let c = c.clone();
        let req = sync(
            group,
            r.generation_id,
            &r.member_id,
            if r.member_id == r.leader {
                assignments.clone()
            } else {
                Vec::new()
            },
        );
        handles.push(tokio::spawn(async move { c.sync_group(req).await }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
