//! Classic group protocol: join/sync, rebalances, session expiry, static membership.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod group_common;

use std::time::Duration;

use bytes::Bytes;
use group_common::*;
use skiff::broker::group::*;

/// Three members through MEMBER_ID_REQUIRED, join and sync; returns (ids, join responses).
async fn stable_three(c: &GroupCoordinator, group: &str) -> (Vec<String>, Vec<JoinGroupResponse>) {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(member_id(c, group).await);
    }
    let joined = join_all(c, ids.iter().map(|id| join(group, id, None)).collect()).await;
    let synced = sync_all(c, group, &joined).await;
    for (r, s) in joined.iter().zip(&synced) {
        assert_eq!(s.error, None);
        assert_eq!(s.assignment, assignment_for(&r.member_id));
    }
    (ids, joined)
}

#[tokio::test(start_paused = true)]
async fn three_members_join_and_sync_with_leader_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let (ids, joined) = stable_three(&c, "g").await;
    let leader = &joined[0].leader;
    assert!(ids.contains(leader));
    for r in &joined {
        assert_eq!(r.error, None);
        assert_eq!(r.generation_id, 1);
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
        assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
        assert_eq!(&r.leader, leader);
        if &r.member_id == leader {
            let mut got: Vec<_> = r.members.iter().map(|m| m.member_id.clone()).collect();
            got.sort();
            let mut want = ids.clone();
            want.sort();
            assert_eq!(got, want);
            for m in &r.members {
                assert_eq!(m.metadata, Bytes::from(format!("meta-{}", m.member_id)));
            }
        } else {
            assert!(r.members.is_empty());
        }
    }
    let d = &c.describe_groups(&["g".into()])[0];
    assert_eq!(d.group_state, "Stable");
    assert_eq!(d.protocol_data, "range");
    assert_eq!(d.members.len(), 3);
    for m in &d.members {
        assert_eq!(m.member_assignment, assignment_for(&m.member_id));
    }
    for id in &ids {
        assert_eq!(c.heartbeat(heartbeat("g", 1, id)), Ok(()));
    }
}

#[tokio::test(start_paused = true)]
async fn protocol_selection_and_inconsistent_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let a = member_id(&c, "g").await;
    let b = member_id(&c, "g").await;
    let mut ja = join("g", &a, None);
    ja.protocols.reverse(); // prefers roundrobin
    let mut jb = join("g", &b, None);
    jb.protocols.retain(|p| p.name == "roundrobin");
    let joined = join_all(&c, vec![ja, jb]).await;
    assert_eq!(joined[0].protocol_name.as_deref(), Some("roundrobin"));
    // A member speaking neither protocol, or another protocol type, is refused.
    let mut bad = join("g", "", None);
    bad.protocols.retain(|p| p.name == "range");
    let r = c.join_group(bad).await;
    assert_eq!(r.error, Some(GroupError::InconsistentGroupProtocol));
    let mut bad = join("g", "", None);
    bad.protocol_type = "connect".into();
    assert_eq!(
        c.join_group(bad).await.error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    let mut empty = join("h", "", None);
    empty.protocols.clear();
    assert_eq!(
        c.join_group(empty).await.error,
        Some(GroupError::InconsistentGroupProtocol)
    );
}

#[tokio::test(start_paused = true)]
async fn member_id_required_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let id = member_id(&c, "g").await;
    // Unknown member ids are refused; the given id is accepted.
    let r = c.join_group(join("g", "not-a-member", None)).await;
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    let r = c.join_group(join("g", &id, None)).await;
    assert_eq!(r.error, None);
    assert_eq!(r.member_id, id);
    assert_eq!(r.leader, id);
    assert_eq!(r.generation_id, 1);
    // A v3 client (no member id required) joins directly.
    let mut old = join("g2", "", None);
    old.require_known_member_id = false;
    let r = c.join_group(old).await;
    assert_eq!(r.error, None);
    assert!(!r.member_id.is_empty());
    // Joining an unknown group with a member id is refused.
    let r = c.join_group(join("nope", "m", None)).await;
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    let mut bad = join("g3", "", None);
    bad.session_timeout_ms = 0;
    let cfg = c.config().clone();
    assert!(cfg.min_session_timeout > Duration::ZERO);
    assert_eq!(
        c.join_group(bad).await.error,
        Some(GroupError::InvalidSessionTimeout)
    );
}

#[tokio::test(start_paused = true)]
async fn fourth_member_triggers_rebalance_and_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let (ids, _) = stable_three(&c, "g").await;
    let d = member_id(&c, "g").await;
    let mut fourth = Box::pin(c.join_group(join("g", &d, None)));
    assert!(
        poll_once(&mut fourth).await.is_none(),
        "waits for the rebalance"
    );
    assert_eq!(
        c.describe_groups(&["g".into()])[0].group_state,
        "PreparingRebalance"
    );
    for id in &ids {
        assert_eq!(
            c.heartbeat(heartbeat("g", 1, id)),
            Err(GroupError::RebalanceInProgress)
        );
    }
    // Commits of the old generation are still accepted while preparing.
    let mut reqs: Vec<_> = ids.iter().map(|id| join("g", id, None)).collect();
    let old_three = join_all(&c, std::mem::take(&mut reqs)).await;
    let fourth = fourth.await;
    let mut all = old_three;
    all.push(fourth);
    for r in &all {
        assert_eq!(r.error, None);
        assert_eq!(r.generation_id, 2);
    }
    let leader = all.iter().find(|r| r.member_id == r.leader).unwrap();
    assert_eq!(leader.members.len(), 4);
    let synced = sync_all(&c, "g", &all).await;
    assert!(synced.iter().all(|s| s.error.is_none()));
    assert_eq!(
        c.heartbeat(heartbeat("g", 1, &ids[0])),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(c.heartbeat(heartbeat("g", 2, &ids[0])), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn leave_triggers_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let (ids, _) = stable_three(&c, "g").await;
    let r = c.leave_group(
        "g",
        vec![
            LeavingMember {
                member_id: ids[2].clone(),
                group_instance_id: None,
                reason: None,
            },
            LeavingMember {
                member_id: "ghost".into(),
                group_instance_id: None,
                reason: None,
            },
        ],
    );
    assert_eq!(r.members[0].error, None);
    assert_eq!(r.members[1].error, Some(GroupError::UnknownMemberId));
    assert_eq!(
        c.heartbeat(heartbeat("g", 1, &ids[0])),
        Err(GroupError::RebalanceInProgress)
    );
    assert_eq!(
        c.heartbeat(heartbeat("g", 1, &ids[2])),
        Err(GroupError::UnknownMemberId)
    );
    let joined = join_all(&c, ids[..2].iter().map(|id| join("g", id, None)).collect()).await;
    assert!(joined
        .iter()
        .all(|r| r.generation_id == 2 && r.error.is_none()));
    let leader = joined.iter().find(|r| r.member_id == r.leader).unwrap();
    assert_eq!(leader.members.len(), 2);
    sync_all(&c, "g", &joined).await;
    // Everybody leaves: the group is Empty at a new generation.
    let r = c.leave_group(
        "g",
        ids[..2]
            .iter()
            .map(|id| LeavingMember {
                member_id: id.clone(),
                group_instance_id: None,
                reason: None,
            })
            .collect(),
    );
    assert!(r.members.iter().all(|m| m.error.is_none()));
    let listed = c.list_groups(&["Empty".into()], &[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].group_id, "g");
    assert!(c.list_groups(&["Stable".into()], &[]).is_empty());
}

#[tokio::test(start_paused = true)]
async fn session_timeout_expires_member_and_rebalances() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(member_id(&c, "g").await);
    }
    let reqs = ids
        .iter()
        .map(|id| {
            let mut r = join("g", id, None);
            r.session_timeout_ms = 10_000;
            r
        })
        .collect();
    let joined = join_all(&c, reqs).await;
    sync_all(&c, "g", &joined).await;
    // Two members keep heartbeating; the third goes silent.
    let mut rebalance_seen_at = None;
    for round in 1..=6 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let r0 = c.heartbeat(heartbeat("g", 1, &ids[0]));
        let r1 = c.heartbeat(heartbeat("g", 1, &ids[1]));
        assert_eq!(r0, r1);
        if r0 == Err(GroupError::RebalanceInProgress) && rebalance_seen_at.is_none() {
            rebalance_seen_at = Some(round);
        }
    }
    // Expiry happens after 10 s: seen at the 4th heartbeat (12 s), not before.
    assert_eq!(rebalance_seen_at, Some(4));
    assert_eq!(
        c.heartbeat(heartbeat("g", 1, &ids[2])),
        Err(GroupError::UnknownMemberId)
    );
    let joined = join_all(&c, ids[..2].iter().map(|id| join("g", id, None)).collect()).await;
    assert!(joined.iter().all(|r| r.generation_id == 2));
}

#[tokio::test(start_paused = true)]
async fn static_member_restart_gets_assignment_back_without_rebalance() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let instances = ["a", "b", "c"];
    // Static members skip MEMBER_ID_REQUIRED.
    let joined = join_all(
        &c,
        instances.iter().map(|i| join("g", "", Some(i))).collect(),
    )
    .await;
    assert!(joined
        .iter()
        .all(|r| r.error.is_none() && r.generation_id == 1));
    let synced = sync_all(&c, "g", &joined).await;
    let leader = joined[0].leader.clone();
    // A follower restarts: new member id, same instance id.
    let (idx, old) = joined
        .iter()
        .enumerate()
        .find(|(_, r)| r.member_id != leader)
        .map(|(i, r)| (i, r.member_id.clone()))
        .unwrap();
    let restarted = c.join_group(join("g", "", Some(instances[idx]))).await;
    assert_eq!(restarted.error, None);
    assert_ne!(restarted.member_id, old);
    assert_eq!(restarted.generation_id, 1, "no new generation");
    assert_eq!(restarted.leader, leader);
    let mut s = sync("g", 1, &restarted.member_id, Vec::new());
    s.group_instance_id = Some(instances[idx].into());
    let s = c.sync_group(s).await;
    assert_eq!(s.error, None);
    assert_eq!(
        s.assignment, synced[idx].assignment,
        "same assignment as before"
    );
    // The others see no rebalance; the old member id is fenced.
    for r in &joined {
        if r.member_id != old {
            assert_eq!(c.heartbeat(heartbeat("g", 1, &r.member_id)), Ok(()));
        }
    }
    let mut hb = heartbeat("g", 1, &old);
    hb.group_instance_id = Some(instances[idx].into());
    assert_eq!(c.heartbeat(hb), Err(GroupError::FencedInstanceId));
    assert_eq!(c.describe_groups(&["g".into()])[0].group_state, "Stable");
    // Leaving by instance id with the old member id is fenced too.
    let r = c.leave_group(
        "g",
        vec![LeavingMember {
            member_id: old.clone(),
            group_instance_id: Some(instances[idx].into()),
            reason: None,
        }],
    );
    assert_eq!(r.members[0].error, Some(GroupError::FencedInstanceId));
}

#[tokio::test(start_paused = true)]
async fn sync_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let (ids, _) = stable_three(&c, "g").await;
    assert_eq!(
        c.sync_group(sync("g", 0, &ids[0], vec![])).await.error,
        Some(GroupError::IllegalGeneration)
    );
    assert_eq!(
        c.sync_group(sync("g", 1, "ghost", vec![])).await.error,
        Some(GroupError::UnknownMemberId)
    );
    let mut s = sync("g", 1, &ids[0], vec![]);
    s.protocol_name = Some("roundrobin".into());
    assert_eq!(
        c.sync_group(s).await.error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    assert_eq!(
        c.sync_group(sync("nope", 1, &ids[0], vec![])).await.error,
        Some(GroupError::UnknownMemberId)
    );
    // A rebalance answers pending syncs and new ones with REBALANCE_IN_PROGRESS.
    let e = member_id(&c, "g").await;
    let mut j = Box::pin(c.join_group(join("g", &e, None)));
    assert!(poll_once(&mut j).await.is_none());
    assert_eq!(
        c.sync_group(sync("g", 1, &ids[0], vec![])).await.error,
        Some(GroupError::RebalanceInProgress)
    );
}

#[tokio::test(start_paused = true)]
async fn empty_assignment_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let a = member_id(&c, "g").await;
    let b = member_id(&c, "g").await;
    let joined = join_all(&c, vec![join("g", &a, None), join("g", &b, None)]).await;
    let leader = joined[0].leader.clone();
    let follower = if leader == a { b } else { a };
    let gen = joined[0].generation_id;
    let f = tokio::spawn({
        let c = c.clone();
        let req = sync("g", gen, &follower, vec![]);
        async move { c.sync_group(req).await }
    });
    // The leader gives the follower nothing at all.
    let l = c
        .sync_group(sync(
            "g",
            gen,
            &leader,
            vec![(leader.clone(), Bytes::from_static(b"x"))],
        ))
        .await;
    assert_eq!(l.assignment, Bytes::from_static(b"x"));
    let f = f.await.unwrap();
    assert_eq!(f.error, None);
    assert!(f.assignment.is_empty());
}

#[tokio::test(start_paused = true)]
async fn initial_rebalance_delay_is_extended_by_new_members() {
    let dir = tempfile::tempdir().unwrap();
    let config = GroupConfig {
        initial_rebalance_delay: Duration::from_secs(3),
        ..test_config()
    };
    let (_store, c) = open(dir.path(), config);
    let a = member_id(&c, "g").await;
    let b = member_id(&c, "g").await;
    let mut ja = Box::pin(c.join_group(join("g", &a, None)));
    assert!(poll_once(&mut ja).await.is_none());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut jb = Box::pin(c.join_group(join("g", &b, None)));
    assert!(poll_once(&mut jb).await.is_none());
    // The first delay ends at 3 s; b joined meanwhile, so another 3 s follow.
    tokio::time::sleep(Duration::from_millis(3900)).await; // t = 5.9 s
    assert!(poll_once(&mut ja).await.is_none());
    assert!(poll_once(&mut jb).await.is_none());
    tokio::time::sleep(Duration::from_millis(200)).await; // t = 6.1 s
    let ra = poll_once(&mut ja).await.expect("joined");
    let rb = poll_once(&mut jb).await.expect("joined");
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!(ra.leader, a, "the first member to join leads");
    assert_eq!(ra.members.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn members_that_do_not_rejoin_are_dropped_after_the_rebalance_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let (ids, _) = stable_three(&c, "g").await;
    let d = member_id(&c, "g").await;
    let mut fourth = Box::pin(c.join_group(join("g", &d, None)));
    assert!(poll_once(&mut fourth).await.is_none());
    // Two old members rejoin; the third keeps heartbeating but never rejoins.
    let mut r0 = Box::pin(c.join_group(join("g", &ids[0], None)));
    let mut r1 = Box::pin(c.join_group(join("g", &ids[1], None)));
    assert!(poll_once(&mut r0).await.is_none());
    assert!(poll_once(&mut r1).await.is_none());
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(3)).await; // rebalance timeout is 20 s
        assert_eq!(
            c.heartbeat(heartbeat("g", 1, &ids[2])),
            Err(GroupError::RebalanceInProgress)
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let joined = [r0.await, r1.await, fourth.await];
    assert!(joined
        .iter()
        .all(|r| r.generation_id == 2 && r.error.is_none()));
    let leader = joined.iter().find(|r| r.member_id == r.leader).unwrap();
    assert_eq!(leader.members.len(), 3);
    assert!(leader.members.iter().all(|m| m.member_id != ids[2]));
    assert_eq!(
        c.heartbeat(heartbeat("g", 2, &ids[2])),
        Err(GroupError::UnknownMemberId)
    );
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_never_syncs_is_removed_and_followers_rejoin() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let a = member_id(&c, "g").await;
    let b = member_id(&c, "g").await;
    let joined = join_all(&c, vec![join("g", &a, None), join("g", &b, None)]).await;
    let leader = joined[0].leader.clone();
    let follower = if leader == a { b.clone() } else { a.clone() };
    let mut s = Box::pin(c.sync_group(sync("g", 1, &follower, vec![])));
    assert!(poll_once(&mut s).await.is_none());
    // After the rebalance timeout the leader is dropped and the follower told to rejoin.
    let s = s.await;
    assert_eq!(s.error, Some(GroupError::RebalanceInProgress));
    let r = c.join_group(join("g", &follower, None)).await;
    assert_eq!(r.error, None);
    assert_eq!(r.generation_id, 2);
    assert_eq!(r.leader, follower);
    assert_eq!(
        c.heartbeat(heartbeat("g", 2, &leader)),
        Err(GroupError::UnknownMemberId)
    );
}

#[tokio::test(start_paused = true)]
async fn group_max_size_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let config = GroupConfig {
        max_size: 2,
        ..test_config()
    };
    let (_store, c) = open(dir.path(), config);
    member_id(&c, "g").await;
    member_id(&c, "g").await;
    let r = c.join_group(join("g", "", None)).await;
    assert_eq!(r.error, Some(GroupError::GroupMaxSizeReached));
    assert_eq!(r.error.unwrap().code(), 81);
    // KIP-848 groups too.
    let topics = TopicsSnapshot::new();
    let join848 = || ConsumerGroupHeartbeatRequest {
        group_id: "k".into(),
        member_id: String::new(),
        member_epoch: 0,
        instance_id: None,
        rack_id: None,
        rebalance_timeout_ms: 1000,
        subscribed_topic_names: Some(vec!["t".into()]),
        subscribed_topic_regex: None,
        server_assignor: Some("range".into()),
        topic_partitions: Some(vec![]),
        client_id: "c".into(),
        client_host: "h".into(),
    };
    assert_eq!(c.consumer_group_heartbeat(join848(), &topics).error, None);
    assert_eq!(c.consumer_group_heartbeat(join848(), &topics).error, None);
    assert_eq!(
        c.consumer_group_heartbeat(join848(), &topics).error,
        Some(GroupError::GroupMaxSizeReached)
    );
    assert_eq!(
        c.consumer_group_describe(&["k".into()])[0].assignor_name,
        "range"
    );
}

/// Kafka's initial delay is `group.initial.rebalance.delay.ms` in full even when the
/// members' rebalance timeout is shorter (the timeout only bounds the extensions).
#[tokio::test(start_paused = true)]
async fn initial_delay_is_not_cut_short_by_a_shorter_rebalance_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = GroupConfig {
        initial_rebalance_delay: Duration::from_secs(3),
        ..test_config()
    };
    let (_store, c) = open(dir.path(), config);
    let a = member_id(&c, "g").await;
    let mut req = join("g", &a, None);
    req.rebalance_timeout_ms = 1000;
    let mut ja = Box::pin(c.join_group(req));
    assert!(poll_once(&mut ja).await.is_none());
    tokio::time::sleep(Duration::from_millis(2900)).await;
    assert!(
        poll_once(&mut ja).await.is_none(),
        "completed before the delay"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = poll_once(&mut ja).await.expect("joined after the delay");
    assert_eq!((r.error.clone(), r.generation_id), (None, 1));
}

/// A member told MEMBER_ID_REQUIRED stays pending when a round completes without it; its
/// JoinGroup with the given id is still accepted afterwards and starts the next round.
#[tokio::test(start_paused = true)]
async fn a_pending_member_is_accepted_after_the_round_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let a = member_id(&c, "g").await;
    let b = member_id(&c, "g").await;
    let ra = c.join_group(join("g", &a, None)).await;
    assert_eq!(
        (ra.error.clone(), ra.generation_id, ra.members.len()),
        (None, 1, 1)
    );
    let mut jb = Box::pin(c.join_group(join("g", &b, None)));
    assert!(
        poll_once(&mut jb).await.is_none(),
        "b waits for the next round"
    );
    // a learns of the rebalance at its SyncGroup and rejoins.
    let s = c.sync_group(sync("g", 1, &a, vec![])).await;
    assert_eq!(s.error, Some(GroupError::RebalanceInProgress));
    let joined = join_all(&c, vec![join("g", &a, None)]).await;
    let rb = jb.await;
    assert_eq!((rb.error.clone(), rb.generation_id), (None, 2));
    assert_eq!(
        (joined[0].error.clone(), joined[0].generation_id),
        (None, 2)
    );
    assert_eq!(joined[0].members.len(), 2);
}

/// A new member's JoinGroup waits at most the new-member join timeout (KIP-394): here the
/// round waits for an old member that never rejoins (rebalance timeout 20 s), and the new
/// member is dropped at 10 s with UNKNOWN_MEMBER_ID, as Kafka does.
#[tokio::test(start_paused = true)]
async fn a_new_member_waits_at_most_the_new_member_join_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = GroupConfig {
        new_member_join_timeout: Duration::from_secs(10),
        ..test_config()
    };
    let (_store, c) = open(dir.path(), config);
    let (ids, _) = stable_three(&c, "g").await;
    let d = member_id(&c, "g").await;
    let mut fourth = Box::pin(c.join_group(join("g", &d, None)));
    assert!(poll_once(&mut fourth).await.is_none());
    let mut r0 = Box::pin(c.join_group(join("g", &ids[0], None)));
    assert!(poll_once(&mut r0).await.is_none());
    tokio::time::sleep(Duration::from_millis(9900)).await;
    assert!(poll_once(&mut fourth).await.is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = poll_once(&mut fourth)
        .await
        .expect("dropped at the join timeout");
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    // The old member that rejoined is not new: it waits for the round (20 s).
    assert!(poll_once(&mut r0).await.is_none());
    let r0 = r0.await;
    assert_eq!((r0.error.clone(), r0.generation_id), (None, 2));
    assert_eq!(r0.members.len(), 1, "only the member that rejoined");
}

/// A static member that restarts while the group waits for the leader's assignment gets
/// no stale answer: as Kafka, the group rebalances (the leader may be assigning to the
/// old member id), and both members land in the next generation.
#[tokio::test(start_paused = true)]
async fn a_static_member_replaced_during_completing_rebalance_rebalances() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let joined = join_all(&c, vec![join("g", "", Some("a")), join("g", "", Some("b"))]).await;
    assert!(joined.iter().all(|r| r.generation_id == 1));
    let leader = joined[0].leader.clone();
    let (restarting, other) = if joined[0].member_id == leader {
        ("b", &joined[0])
    } else {
        ("a", &joined[1])
    };
    let mut restarted = Box::pin(c.join_group(join("g", "", Some(restarting))));
    assert!(
        poll_once(&mut restarted).await.is_none(),
        "answered from the generation being assigned"
    );
    let other_instance = if restarting == "a" { "b" } else { "a" };
    let mut s = sync("g", 1, &other.member_id, vec![]);
    s.group_instance_id = Some(other_instance.into());
    let s = c.sync_group(s).await;
    assert_eq!(s.error, Some(GroupError::RebalanceInProgress));
    let rejoined = c
        .join_group(join("g", &other.member_id, Some(other_instance)))
        .await;
    let restarted = restarted.await;
    assert_eq!((rejoined.error.clone(), rejoined.generation_id), (None, 2));
    assert_eq!(
        (restarted.error.clone(), restarted.generation_id),
        (None, 2)
    );
    let leader = [&rejoined, &restarted]
        .into_iter()
        .find(|r| r.member_id == r.leader)
        .unwrap();
    assert!(leader
        .members
        .iter()
        .any(|m| m.member_id == restarted.member_id));
}

/// When a rebalance's join phase ends and only static members that did not rejoin are
/// left, Kafka starts no generation (there is no joined member to lead): it waits another
/// rebalance timeout, and the first member to rejoin then leads.
#[tokio::test(start_paused = true)]
async fn no_generation_without_a_rejoined_member() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let d = member_id(&c, "g").await;
    let joined = join_all(
        &c,
        vec![
            join("g", "", Some("a")),
            join("g", "", Some("b")),
            join("g", &d, None),
        ],
    )
    .await;
    assert!(joined.iter().all(|r| r.generation_id == 1));
    sync_all(&c, "g", &joined).await;
    let id_of = |inst: &str| {
        joined
            .iter()
            .find(|r| r.leader == r.member_id)
            .unwrap()
            .members
            .iter()
            .find(|m| m.group_instance_id.as_deref() == Some(inst))
            .unwrap()
            .member_id
            .clone()
    };
    let (a, b) = (id_of("a"), id_of("b"));
    let hb = |id: &str, inst: &str, generation: i32| {
        let mut h = heartbeat("g", generation, id);
        h.group_instance_id = Some(inst.into());
        c.heartbeat(h)
    };
    // The dynamic member leaves: a rebalance the static members do not rejoin.
    let r = c.leave_group(
        "g",
        vec![LeavingMember {
            member_id: d.clone(),
            group_instance_id: None,
            reason: None,
        }],
    );
    assert_eq!(r.members[0].error, None);
    for _ in 0..8 {
        // 24 s: past the 20 s rebalance timeout; the heartbeats keep both sessions.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(hb(&a, "a", 1), Err(GroupError::RebalanceInProgress));
        assert_eq!(hb(&b, "b", 1), Err(GroupError::RebalanceInProgress));
    }
    // Still generation 1: no generation was formed without a joined member.
    let ra = c.join_group(join("g", &a, Some("a"))).await;
    assert_eq!((ra.error.clone(), ra.generation_id), (None, 2));
    assert_eq!(ra.leader, a, "the member that rejoined leads");
    assert_eq!(ra.members.len(), 2, "b is static: it stays a member");
}
