//! Committed offsets: member/generation checks, durability across a coordinator restart,
//! OffsetDelete, DeleteGroups, ListGroups/DescribeGroups, retention.
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

use group_common::*;
use skiff::broker::group::*;

fn commit(
    group: &str,
    generation: i32,
    member: &str,
    parts: &[(&str, i32, i64)],
) -> OffsetCommitRequest {
    let mut topics: Vec<CommitTopic> = Vec::new();
    for (t, p, o) in parts {
        let partition = CommitPartition {
            partition: *p,
            offset: *o,
            leader_epoch: 7,
            metadata: Some(format!("meta {t}-{p}")),
        };
        match topics.iter_mut().find(|x| x.name == *t) {
            Some(x) => x.partitions.push(partition),
            None => topics.push(CommitTopic {
                name: t.to_string(),
                partitions: vec![partition],
            }),
        }
    }
    OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: generation,
        member_id: member.into(),
        group_instance_id: None,
        retention_time_ms: -1,
        topics,
    }
}

fn errors(r: &PartitionResults) -> Vec<Option<GroupError>> {
    r.iter()
        .flat_map(|(_, ps)| ps.iter().map(|(_, e)| e.clone()))
        .collect()
}

fn fetch(group: &str, topics: Option<Vec<(&str, Vec<i32>)>>) -> OffsetFetchRequest {
    OffsetFetchRequest {
        group_id: group.into(),
        topics: topics.map(|ts| {
            ts.into_iter()
                .map(|(n, ps)| TopicPartitionsRequest {
                    name: n.into(),
                    partitions: ps,
                })
                .collect()
        }),
        require_stable: true,
        member_id: None,
        member_epoch: -1,
    }
}

#[tokio::test(start_paused = true)]
async fn stale_generation_and_unknown_member_commits_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, c) = open(dir.path(), test_config());
    let a = member_id(&c, "g").await;
    let joined = join_all(&c, vec![join("g", &a, None)]).await;
    // Between join and sync the group is CompletingRebalance.
    let r = c.commit_offsets(commit("g", 1, &a, &[("t", 0, 1)]));
    assert_eq!(errors(&r), vec![Some(GroupError::RebalanceInProgress)]);
    sync_all(&c, "g", &joined).await;
    // A second member joins and both rejoin: generation 2.
    let b = member_id(&c, "g").await;
    let joined = join_all(&c, vec![join("g", &a, None), join("g", &b, None)]).await;
    assert!(joined.iter().all(|r| r.generation_id == 2));
    sync_all(&c, "g", &joined).await;
    let r = c.commit_offsets(commit("g", 1, &a, &[("t", 0, 10), ("t", 1, 11)]));
    assert_eq!(errors(&r), vec![Some(GroupError::IllegalGeneration); 2]);
    assert_eq!(GroupError::IllegalGeneration.code(), 22);
    let r = c.commit_offsets(commit("g", 2, "ghost", &[("t", 0, 10)]));
    assert_eq!(errors(&r), vec![Some(GroupError::UnknownMemberId)]);
    let r = c.commit_offsets(commit("g", -1, "", &[("t", 0, 10)]));
    assert_eq!(
        errors(&r),
        vec![Some(GroupError::UnknownMemberId)],
        "simple commit to a live group"
    );
    let r = c.commit_offsets(commit("unknown", 3, "x", &[("t", 0, 10)]));
    assert_eq!(errors(&r), vec![Some(GroupError::IllegalGeneration)]);
    // Nothing was stored by the refused commits.
    let f = c.fetch_offsets(fetch("g", None));
    assert!(f.topics.is_empty());
    // The current generation commits; oversize metadata is refused per partition.
    let mut req = commit("g", 2, &a, &[("t", 0, 10), ("t", 1, 11)]);
    req.topics[0].partitions[1].metadata =
        Some("x".repeat(c.config().offset_metadata_max_bytes + 1));
    let r = c.commit_offsets(req);
    assert_eq!(
        errors(&r),
        vec![None, Some(GroupError::OffsetMetadataTooLarge)]
    );
    let f = c.fetch_offsets(fetch("g", Some(vec![("t", vec![0, 1])])));
    assert_eq!(f.topics[0].partitions[0].offset, 10);
    assert_eq!(f.topics[0].partitions[0].leader_epoch, 7);
    assert_eq!(f.topics[0].partitions[0].metadata, "meta t-0");
    assert_eq!(f.topics[0].partitions[1].offset, -1);
    assert_eq!(f.topics[0].partitions[1].leader_epoch, -1);
    assert_eq!(f.topics[0].partitions[1].metadata, "");
}

#[tokio::test(start_paused = true)]
async fn offsets_and_groups_survive_a_coordinator_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, c) = open(dir.path(), test_config());
        let r = c.commit_offsets(commit(
            "simple",
            -1,
            "",
            &[("t", 0, 100), ("t", 3, 300), ("u", 1, 5)],
        ));
        assert_eq!(errors(&r), vec![None; 3]);
        let r = c.commit_offsets(commit("simple", -1, "", &[("t", 0, 101)]));
        assert_eq!(errors(&r), vec![None]);
        // A classic group at generation 1 with a commit.
        let a = member_id(&c, "g").await;
        let joined = join_all(&c, vec![join("g", &a, None)]).await;
        sync_all(&c, "g", &joined).await;
        let r = c.commit_offsets(commit("g", 1, &a, &[("t", 2, 42)]));
        assert_eq!(errors(&r), vec![None]);
        c.shutdown();
        store.close().unwrap();
    }
    let (_store, c) = open(dir.path(), test_config());
    let f = c.fetch_offsets(fetch("simple", None));
    assert_eq!(f.error, None);
    let got: Vec<(String, i32, i64, i32, String)> = f
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.name.clone(),
                    p.partition,
                    p.offset,
                    p.leader_epoch,
                    p.metadata.clone(),
                )
            })
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("t".into(), 0, 101, 7, "meta t-0".into()),
            ("t".into(), 3, 300, 7, "meta t-3".into()),
            ("u".into(), 1, 5, 7, "meta u-1".into()),
        ]
    );
    let f = c.fetch_offsets(fetch("g", Some(vec![("t", vec![2])])));
    assert_eq!(f.topics[0].partitions[0].offset, 42);
    // The group comes back Empty; its old members must rejoin, at a later generation.
    let listed = c.list_groups(&[], &[]);
    let g = listed.iter().find(|l| l.group_id == "g").unwrap();
    assert_eq!(g.group_state, "Empty");
    assert_eq!(g.protocol_type, "consumer");
    let r = c.commit_offsets(commit("g", 1, "old-member", &[("t", 2, 43)]));
    assert_eq!(errors(&r), vec![Some(GroupError::UnknownMemberId)]);
    let b = member_id(&c, "g").await;
    let joined = join_all(&c, vec![join("g", &b, None)]).await;
    assert_eq!(joined[0].generation_id, 2);
}

#[tokio::test(start_paused = true)]
async fn offset_delete_delete_groups_and_describe() {
    let dir = tempfile::tempdir().unwrap();
    let (store, c) = open(dir.path(), test_config());
    c.commit_offsets(commit("s", -1, "", &[("t", 0, 1), ("t", 1, 2)]));
    assert_eq!(
        c.delete_offsets("missing", &[]).unwrap_err(),
        GroupError::GroupIdNotFound
    );
    let r = c
        .delete_offsets(
            "s",
            &[TopicPartitionsRequest {
                name: "t".into(),
                partitions: vec![0],
            }],
        )
        .unwrap();
    assert_eq!(errors(&r), vec![None]);
    let f = c.fetch_offsets(fetch("s", None));
    assert_eq!(f.topics[0].partitions.len(), 1);
    assert_eq!(f.topics[0].partitions[0].partition, 1);
    // Unknown groups are described as Dead and not found (DescribeGroups v6's error).
    let d = c.describe_groups(&["nope".into(), "s".into()]);
    assert_eq!(d[0].group_state, "Dead");
    assert_eq!(d[0].error, Some(GroupError::GroupIdNotFound));
    assert_eq!(d[1].error, None);
    assert_eq!(d[1].group_state, "Empty");
    // A group with members is not deleted; an unknown one is not found.
    let a = member_id(&c, "busy").await;
    let joined = join_all(&c, vec![join("busy", &a, None)]).await;
    sync_all(&c, "busy", &joined).await;
    let r = c.delete_groups(&["busy".into(), "s".into(), "nope".into()]);
    assert_eq!(r[0].1, Some(GroupError::NonEmptyGroup));
    assert_eq!(r[0].1.as_ref().unwrap().code(), 68);
    assert_eq!(r[1].1, None);
    assert_eq!(r[2].1, Some(GroupError::GroupIdNotFound));
    assert_eq!(r[2].1.as_ref().unwrap().code(), 69);
    assert!(c.fetch_offsets(fetch("s", None)).topics.is_empty());
    // ListGroups filters by state.
    let stable = c.list_groups(&["stable".into()], &[]);
    assert_eq!(
        stable
            .iter()
            .map(|l| l.group_id.as_str())
            .collect::<Vec<_>>(),
        vec!["busy"]
    );
    assert_eq!(stable[0].group_type, GroupType::Classic);
    // The deletion is durable.
    c.shutdown();
    store.close().unwrap();
    drop((store, c));
    let (_store, c) = open(dir.path(), test_config());
    assert!(c.fetch_offsets(fetch("s", None)).topics.is_empty());
    assert!(c.list_groups(&[], &[]).iter().all(|l| l.group_id != "s"));
}

#[tokio::test(start_paused = true)]
async fn offsets_of_empty_groups_expire_after_retention() {
    let dir = tempfile::tempdir().unwrap();
    let config = GroupConfig {
        offsets_retention: Duration::from_secs(60),
        offsets_retention_check_interval: Duration::from_secs(15),
        ..test_config()
    };
    let (store, c) = open(dir.path(), config.clone());
    c.commit_offsets(commit("s", -1, "", &[("t", 0, 1)]));
    // A live group keeps the offsets of the topics its members subscribe to... and this
    // member's metadata names none, so only explicit expiry could apply; it has none.
    let a = member_id(&c, "live").await;
    let joined = join_all(&c, vec![join("live", &a, None)]).await;
    sync_all(&c, "live", &joined).await;
    assert_eq!(
        c.commit_offsets(commit("live", 1, &a, &[("t", 0, 9)]))[0].1[0].1,
        None
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    c.heartbeat(heartbeat("live", 1, &a)).unwrap();
    assert_eq!(c.fetch_offsets(fetch("s", None)).topics.len(), 1, "not yet");
    // The periodic task expires them after the retention.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(15)).await;
        c.heartbeat(heartbeat("live", 1, &a)).unwrap();
    }
    assert!(c.fetch_offsets(fetch("s", None)).topics.is_empty());
    assert!(
        c.list_groups(&[], &[]).iter().all(|l| l.group_id != "s"),
        "empty group removed"
    );
    assert_eq!(c.fetch_offsets(fetch("live", None)).topics.len(), 1);
    assert_eq!(c.expire_offsets(), 0);
    c.shutdown();
    store.close().unwrap();
    drop((store, c));
    let (_store, c) = open(dir.path(), config);
    assert!(
        c.fetch_offsets(fetch("s", None)).topics.is_empty(),
        "expiry is durable"
    );
}
