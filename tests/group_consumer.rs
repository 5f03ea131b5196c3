//! KIP-848 consumer groups: member epochs, server-side assignment, revocation before
//! reassignment.
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

use std::collections::BTreeSet;

use group_common::*;
use skiff::broker::group::*;
use uuid::Uuid;

fn snapshot(topics: &[(&str, Uuid, i32)]) -> TopicsSnapshot {
    topics
        .iter()
        .map(|(n, id, c)| (n.to_string(), (*id, *c)))
        .collect()
}

fn hb(
    group: &str,
    member_id: &str,
    epoch: i32,
    owned: Option<&Assignment>,
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest {
        group_id: group.into(),
        member_id: member_id.into(),
        member_epoch: epoch,
        instance_id: None,
        rack_id: None,
        rebalance_timeout_ms: if epoch == 0 { 60_000 } else { -1 },
        subscribed_topic_names: if epoch == 0 {
            Some(vec!["t".into()])
        } else {
            None
        },
        subscribed_topic_regex: None,
        server_assignor: None,
        topic_partitions: owned.map(|a| {
            a.iter()
                .map(|(t, ps)| TopicPartitions {
                    topic_id: *t,
                    partitions: ps.iter().copied().collect(),
                })
                .collect()
        }),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
    }
}

/// A simulated KIP-848 client: holds what the coordinator gave it and reports it back.
struct Client {
    id: String,
    epoch: i32,
    owned: Assignment,
}

impl Client {
    fn apply(&mut self, r: &ConsumerGroupHeartbeatResponse) {
        assert_eq!(r.error, None, "{:?}", r.error_message);
        self.id = r.member_id.clone().unwrap();
        self.epoch = r.member_epoch;
        if let Some(a) = &r.assignment {
            let mut owned = Assignment::new();
            for tp in a {
                owned
                    .entry(tp.topic_id)
                    .or_default()
                    .extend(tp.partitions.iter().copied());
            }
            self.owned = owned;
        }
    }

    fn beat(
        &mut self,
        c: &GroupCoordinator,
        topics: &TopicsSnapshot,
    ) -> ConsumerGroupHeartbeatResponse {
        let r =
            c.consumer_group_heartbeat(hb("g", &self.id, self.epoch, Some(&self.owned)), topics);
        self.apply(&r);
        r
    }
}

async fn join_client(c: &GroupCoordinator, topics: &TopicsSnapshot) -> Client {
    let r = c.consumer_group_heartbeat(hb("g", "", 0, None), topics);
    let mut client = Client {
        id: String::new(),
        epoch: 0,
        owned: Assignment::new(),
    };
    client.apply(&r);
    assert!(!client.id.is_empty());
    client
}

/// No partition is held by two clients at once.
fn assert_disjoint(clients: &[Client]) {
    let mut seen = BTreeSet::new();
    for cl in clients {
        for (t, ps) in &cl.owned {
            for p in ps {
                assert!(seen.insert((*t, *p)), "partition {t}:{p} owned twice");
            }
        }
    }
}

fn total(clients: &[Client]) -> usize {
    clients
        .iter()
        .map(|c| c.owned.values().map(BTreeSet::len).sum::<usize>())
        .sum()
}

/// Heartbeats every client in turn until nothing changes, checking exclusivity after
/// every single heartbeat.
fn settle(c: &GroupCoordinator, clients: &mut [Client], topics: &TopicsSnapshot) {
    for _ in 0..20 {
        let before: Vec<(i32, Assignment)> =
            clients.iter().map(|c| (c.epoch, c.owned.clone())).collect();
        for i in 0..clients.len() {
            clients[i].beat(c, topics);
            assert_disjoint(clients);
        }
        let after: Vec<(i32, Assignment)> =
            clients.iter().map(|c| (c.epoch, c.owned.clone())).collect();
        if before == after {
            return;
        }
    }
    panic!("group did not settle");
}

#[tokio::test(start_paused = true)]
async fn three_members_get_disjoint_full_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 6), ("other", Uuid::new_v4(), 3)]);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(join_client(&c, &topics).await);
        settle(&c, &mut clients, &topics);
    }
    assert_eq!(total(&clients), 6);
    for cl in &clients {
        assert_eq!(cl.owned.get(&t).map(BTreeSet::len), Some(2));
        assert_eq!(cl.owned.len(), 1, "only the subscribed topic");
        assert_eq!(cl.epoch, 3);
    }
    let d = &c.consumer_group_describe(&["g".into()])[0];
    assert_eq!(d.error, None);
    assert_eq!(
        d.group_state, "Stable",
        "capitalised, as Kafka and ListGroups spell it"
    );
    assert_eq!(d.group_epoch, 3);
    assert_eq!(d.assignment_epoch, 3);
    assert_eq!(d.assignor_name, "uniform");
    assert_eq!(d.members.len(), 3);
    for m in &d.members {
        assert_eq!(m.assignment, m.target_assignment);
        assert_eq!(m.assignment[0].topic_name, "t");
        assert_eq!(m.subscribed_topic_names, vec!["t".to_string()]);
    }
    let listed = c.list_groups(&[], &["consumer".into()]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].group_state, "Stable");
    assert!(c.list_groups(&[], &["classic".into()]).is_empty());
}

#[tokio::test(start_paused = true)]
async fn fourth_member_gets_partitions_only_after_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 6)]);
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(join_client(&c, &topics).await);
        settle(&c, &mut clients, &topics);
    }
    let fourth = join_client(&c, &topics).await;
    assert!(
        fourth.owned.is_empty(),
        "everything is still owned by the others"
    );
    assert_eq!(fourth.epoch, 4);
    clients.push(fourth);
    // Every old member heartbeats once: someone is told to give a partition up, but keeps
    // its old epoch until it acknowledges.
    let mut revoker = None;
    for (i, client) in clients.iter_mut().enumerate().take(3) {
        let before = client.owned.clone();
        let r = client.beat(&c, &topics);
        if client.owned != before {
            assert_eq!(r.member_epoch, 3, "epoch unchanged while revoking");
            revoker = Some((i, before));
        }
    }
    let (i, before) = revoker.expect("some member must revoke");
    // The client has not yet acknowledged: simulate it still reporting the old partitions.
    let r = c.consumer_group_heartbeat(hb("g", &clients[i].id, 3, Some(&before)), &topics);
    assert_eq!(r.member_epoch, 3);
    let r = clients[3].beat(&c, &topics);
    assert!(r.assignment.is_none() || clients[3].owned.is_empty());
    assert!(
        clients[3].owned.is_empty(),
        "no partition before the revocation is acknowledged"
    );
    // Acknowledge: the revoker moves to epoch 4; then the new member gets its partition.
    let r = clients[i].beat(&c, &topics);
    assert_eq!(r.member_epoch, 4);
    clients[3].beat(&c, &topics);
    assert_eq!(clients[3].owned.get(&t).map(BTreeSet::len), Some(1));
    settle(&c, &mut clients, &topics);
    assert_eq!(total(&clients), 6);
    let sizes: Vec<usize> = clients
        .iter()
        .map(|c| c.owned.values().map(BTreeSet::len).sum())
        .collect();
    assert!(sizes.iter().all(|s| (1..=2).contains(s)), "{sizes:?}");
}

#[tokio::test(start_paused = true)]
async fn leave_fencing_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 4)]);
    let mut clients = vec![
        join_client(&c, &topics).await,
        join_client(&c, &topics).await,
    ];
    settle(&c, &mut clients, &topics);
    // Wrong epochs are fenced, unknown members refused.
    let r =
        c.consumer_group_heartbeat(hb("g", &clients[0].id, clients[0].epoch + 5, None), &topics);
    assert_eq!(r.error, Some(GroupError::FencedMemberEpoch));
    assert_eq!(r.error.as_ref().unwrap().code(), 110);
    let r = c.consumer_group_heartbeat(hb("g", "ghost", 3, None), &topics);
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    let r = c.consumer_group_heartbeat(hb("", "", 0, None), &topics);
    assert_eq!(r.error.as_ref().map(GroupError::code), Some(42));
    let mut bad = hb("g", "", 0, None);
    bad.server_assignor = Some("sticky-ish".into());
    assert_eq!(
        c.consumer_group_heartbeat(bad, &topics).error,
        Some(GroupError::UnsupportedAssignor)
    );
    // Offset commits check the member epoch.
    let commit = |epoch: i32, member: &str| OffsetCommitRequest {
        group_id: "g".into(),
        generation_id_or_member_epoch: epoch,
        member_id: member.into(),
        group_instance_id: None,
        retention_time_ms: -1,
        topics: vec![CommitTopic {
            name: "t".into(),
            partitions: vec![CommitPartition {
                partition: 0,
                offset: 5,
                leader_epoch: -1,
                metadata: None,
            }],
        }],
    };
    let r = c.commit_offsets(commit(clients[0].epoch - 1, &clients[0].id));
    assert_eq!(r[0].1[0].1, Some(GroupError::StaleMemberEpoch));
    let r = c.commit_offsets(commit(clients[0].epoch, &clients[0].id));
    assert_eq!(r[0].1[0].1, None);
    let r = c.commit_offsets(commit(-1, ""));
    assert_eq!(
        r[0].1[0].1,
        Some(GroupError::UnknownMemberId),
        "no admin commit to a live group"
    );
    // Leave (-1): the other member takes over everything.
    let r = c.consumer_group_heartbeat(hb("g", &clients[1].id, -1, None), &topics);
    assert_eq!(r.error, None);
    assert_eq!(r.member_epoch, -1);
    let mut rest = vec![clients.remove(0)];
    settle(&c, &mut rest, &topics);
    assert_eq!(total(&rest), 4);
    // Offsets of a subscribed topic cannot be deleted.
    let r = c
        .delete_offsets(
            "g",
            &[TopicPartitionsRequest {
                name: "t".into(),
                partitions: vec![0],
            }],
        )
        .unwrap();
    assert_eq!(r[0].1[0].1, Some(GroupError::GroupSubscribedToTopic));
    // A group with members cannot be deleted.
    assert_eq!(
        c.delete_groups(&["g".into()])[0].1,
        Some(GroupError::NonEmptyGroup)
    );
}

#[tokio::test(start_paused = true)]
async fn static_member_temporary_leave_and_rejoin_keeps_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 4)]);
    let join_static = |inst: &str| {
        let mut r = hb("g", "", 0, None);
        r.instance_id = Some(inst.into());
        r
    };
    let mut clients = Vec::new();
    for inst in ["a", "b"] {
        let r = c.consumer_group_heartbeat(join_static(inst), &topics);
        let mut cl = Client {
            id: String::new(),
            epoch: 0,
            owned: Assignment::new(),
        };
        cl.apply(&r);
        clients.push(cl);
        settle(&c, &mut clients, &topics);
    }
    let epoch_before = c.consumer_group_describe(&["g".into()])[0].group_epoch;
    let kept = clients[1].owned.clone();
    let mut leave = hb("g", &clients[1].id, -2, None);
    leave.instance_id = Some("b".into());
    let r = c.consumer_group_heartbeat(leave, &topics);
    assert_eq!(r.member_epoch, -2);
    // While "b" is away another instance "b" can come back, but not while it is active.
    let r = c.consumer_group_heartbeat(join_static("b"), &topics);
    assert_eq!(r.error, None);
    let mut back = Client {
        id: String::new(),
        epoch: 0,
        owned: Assignment::new(),
    };
    back.apply(&r);
    assert_ne!(back.id, clients[1].id);
    assert_eq!(back.owned, kept, "same partitions back");
    assert_eq!(
        c.consumer_group_describe(&["g".into()])[0].group_epoch,
        epoch_before,
        "no rebalance"
    );
    let r = c.consumer_group_heartbeat(join_static("b"), &topics);
    assert_eq!(r.error, Some(GroupError::UnreleasedInstanceId));
}

#[tokio::test(start_paused = true)]
async fn session_timeout_fences_consumer_member() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 4)]);
    let mut clients = vec![
        join_client(&c, &topics).await,
        join_client(&c, &topics).await,
    ];
    settle(&c, &mut clients, &topics);
    let session = c.config().consumer_session_timeout;
    let interval = c.config().consumer_heartbeat_interval;
    let mut waited = std::time::Duration::ZERO;
    while waited <= session {
        tokio::time::sleep(interval).await;
        waited += interval;
        clients[0].beat(&c, &topics);
    }
    let r = c.consumer_group_heartbeat(hb("g", &clients[1].id, clients[1].epoch, None), &topics);
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    clients[0].beat(&c, &topics);
    assert_eq!(total(&clients[..1]), 4);
    let d = &c.consumer_group_describe(&["g".into()])[0];
    assert_eq!(d.members.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_member_that_never_revokes_is_fenced_after_its_rebalance_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let t = Uuid::new_v4();
    let topics = snapshot(&[("t", t, 4)]);
    let mut clients = vec![join_client(&c, &topics).await];
    settle(&c, &mut clients, &topics);
    let stubborn_owned = clients[0].owned.clone();
    let stubborn_epoch = clients[0].epoch;
    let mut newcomer = join_client(&c, &topics).await;
    // The first member keeps heartbeating but keeps reporting all four partitions.
    let r = c.consumer_group_heartbeat(
        hb("g", &clients[0].id, stubborn_epoch, Some(&stubborn_owned)),
        &topics,
    );
    assert_eq!(
        r.assignment.as_ref().map(|a| a[0].partitions.len()),
        Some(2)
    );
    let mut fenced = false;
    for _ in 0..14 {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await; // rebalance timeout 60 s
        newcomer.beat(&c, &topics);
        let r = c.consumer_group_heartbeat(
            hb("g", &clients[0].id, stubborn_epoch, Some(&stubborn_owned)),
            &topics,
        );
        if r.error == Some(GroupError::UnknownMemberId) {
            fenced = true;
            break;
        }
        assert!(
            newcomer.owned.is_empty(),
            "nothing moves before the revocation"
        );
    }
    assert!(fenced);
    newcomer.beat(&c, &topics);
    assert_eq!(newcomer.owned.get(&t).map(BTreeSet::len), Some(4));
}

/// Partition count per topic name that `client` owns.
fn owned_by_name(client: &Client, topics: &TopicsSnapshot) -> Vec<(String, usize)> {
    topics
        .iter()
        .filter_map(|(name, (id, _))| Some((name.clone(), client.owned.get(id)?.len())))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn regex_subscription_matches_whole_names_and_follows_new_topics() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let mut topics = snapshot(&[
        ("orders", Uuid::new_v4(), 2),
        ("orders-v2", Uuid::new_v4(), 1),
        ("payments", Uuid::new_v4(), 2),
        ("__consumer_offsets", Uuid::new_v4(), 4),
    ]);
    // A v1 join by regex only (no names), as franz-go and the Java client send it.
    let join = ConsumerGroupHeartbeatRequest {
        subscribed_topic_names: None,
        subscribed_topic_regex: Some("orders.*|__consumer_offsets".into()),
        ..hb("g", "m-regex", 0, None)
    };
    let r = c.consumer_group_heartbeat(join, &topics);
    let mut client = Client {
        id: String::new(),
        epoch: 0,
        owned: Assignment::new(),
    };
    client.apply(&r);
    settle(&c, std::slice::from_mut(&mut client), &topics);
    assert_eq!(
        owned_by_name(&client, &topics),
        vec![
            ("__consumer_offsets".to_string(), 4),
            ("orders".to_string(), 2),
            ("orders-v2".to_string(), 1)
        ],
        "internal topics are matched too; payments is not"
    );
    let d = &c.consumer_group_describe(&["g".into()])[0];
    assert_eq!(
        d.members[0].subscribed_topic_regex.as_deref(),
        Some("orders.*|__consumer_offsets")
    );
    assert!(d.members[0].subscribed_topic_names.is_empty());

    // A topic created later that matches is assigned on the next heartbeat.
    topics.insert("orders-eu".into(), (Uuid::new_v4(), 3));
    let epoch_before = client.epoch;
    settle(&c, std::slice::from_mut(&mut client), &topics);
    assert!(client.epoch > epoch_before, "the group epoch moved");
    assert!(owned_by_name(&client, &topics).contains(&("orders-eu".to_string(), 3)));

    // The pattern must match the whole name: "orders" is not a prefix match.
    let narrow = ConsumerGroupHeartbeatRequest {
        subscribed_topic_regex: Some("orders".into()),
        ..hb("g", &client.id, client.epoch, Some(&client.owned))
    };
    client.apply(&c.consumer_group_heartbeat(narrow, &topics));
    settle(&c, std::slice::from_mut(&mut client), &topics);
    assert_eq!(
        owned_by_name(&client, &topics),
        vec![("orders".to_string(), 2)]
    );

    // An empty regex clears the subscription.
    let clear = ConsumerGroupHeartbeatRequest {
        subscribed_topic_regex: Some(String::new()),
        ..hb("g", &client.id, client.epoch, Some(&client.owned))
    };
    client.apply(&c.consumer_group_heartbeat(clear, &topics));
    settle(&c, std::slice::from_mut(&mut client), &topics);
    assert!(client.owned.is_empty());
    let d = &c.consumer_group_describe(&["g".into()])[0];
    assert_eq!(d.members[0].subscribed_topic_regex, None);
}

#[tokio::test(start_paused = true)]
async fn regex_subscription_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let topics = snapshot(&[("t", Uuid::new_v4(), 1)]);
    let bad = ConsumerGroupHeartbeatRequest {
        subscribed_topic_names: None,
        subscribed_topic_regex: Some("orders(".into()),
        ..hb("g", "m1", 0, None)
    };
    let r = c.consumer_group_heartbeat(bad, &topics);
    assert_eq!(r.error.as_ref().map(GroupError::code), Some(128));
    // Neither names nor a regex on a join: INVALID_REQUEST.
    let neither = ConsumerGroupHeartbeatRequest {
        subscribed_topic_names: None,
        ..hb("g", "m1", 0, None)
    };
    let r = c.consumer_group_heartbeat(neither, &topics);
    assert_eq!(r.error.as_ref().map(GroupError::code), Some(42));
    // An empty regex and no names is a member without topics (as Kafka accepts it).
    let empty = ConsumerGroupHeartbeatRequest {
        subscribed_topic_names: Some(Vec::new()),
        subscribed_topic_regex: Some(String::new()),
        ..hb("g", "m1", 0, None)
    };
    let r = c.consumer_group_heartbeat(empty, &topics);
    assert_eq!(r.error, None);
    assert_eq!(r.assignment, Some(Vec::new()));
}
