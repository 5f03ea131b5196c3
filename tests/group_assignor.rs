//! The KIP-848 server-side assignors: unit cases and properties.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use skiff::broker::group::assignor::{Assignment, Assignor, MemberSpec};
use uuid::Uuid;

fn topic(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn member(topics: &[Uuid], current: &[(Uuid, &[i32])]) -> MemberSpec {
    MemberSpec {
        subscribed_topics: topics.iter().copied().collect(),
        current: current
            .iter()
            .map(|(t, ps)| (*t, ps.iter().copied().collect()))
            .collect(),
    }
}

fn parts(a: &Assignment, t: Uuid) -> Vec<i32> {
    a.get(&t)
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default()
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

#[test]
fn range_splits_each_topic_in_contiguous_ranges() {
    let (t1, t2) = (topic(1), topic(2));
    let members: BTreeMap<String, MemberSpec> = [
        ("a".to_string(), member(&[t1, t2], &[])),
        ("b".to_string(), member(&[t1, t2], &[])),
        ("c".to_string(), member(&[t2], &[])),
    ]
    .into_iter()
    .collect();
    let topics = [(t1, 5), (t2, 4)].into_iter().collect();
    let r = Assignor::Range.assign(&members, &topics);
    assert_eq!(parts(&r["a"], t1), vec![0, 1, 2]);
    assert_eq!(parts(&r["b"], t1), vec![3, 4]);
    assert_eq!(parts(&r["c"], t1), Vec::<i32>::new());
    assert_eq!(parts(&r["a"], t2), vec![0, 1]);
    assert_eq!(parts(&r["b"], t2), vec![2]);
    assert_eq!(parts(&r["c"], t2), vec![3]);
    assert_eq!(Assignor::from_name("range"), Some(Assignor::Range));
    assert_eq!(Assignor::Range.name(), "range");
}

#[test]
fn uniform_is_sticky_and_moves_only_what_balance_needs() {
    let t = topic(1);
    let members: BTreeMap<String, MemberSpec> = [
        ("a".to_string(), member(&[t], &[(t, &[0, 1, 2])])),
        ("b".to_string(), member(&[t], &[(t, &[3, 4, 5])])),
        ("c".to_string(), member(&[t], &[])),
    ]
    .into_iter()
    .collect();
    let topics = [(t, 6)].into_iter().collect();
    let r = Assignor::Uniform.assign(&members, &topics);
    assert!(r.values().all(|a| count(a) == 2));
    // a and b keep two of their own partitions each; c gets the two freed ones.
    assert!(parts(&r["a"], t).iter().all(|p| [0, 1, 2].contains(p)));
    assert!(parts(&r["b"], t).iter().all(|p| [3, 4, 5].contains(p)));
    // Unsubscribed or unknown topics and out-of-range current partitions are dropped.
    let members: BTreeMap<String, MemberSpec> = [(
        "a".to_string(),
        member(&[t, topic(9)], &[(t, &[7]), (topic(8), &[0])]),
    )]
    .into_iter()
    .collect();
    let r = Assignor::Uniform.assign(&members, &topics);
    assert_eq!(parts(&r["a"], t), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(r["a"].len(), 1);
    assert_eq!(Assignor::from_name("uniform"), Some(Assignor::Uniform));
    assert_eq!(Assignor::from_name("sticky"), None);
}

/// (member count, partition counts by topic, current (topic index, partition) pairs by member)
type Case = (usize, Vec<i32>, Vec<Vec<(usize, i32)>>);

fn arb_case() -> impl Strategy<Value = Case> {
    (1usize..8, prop::collection::vec(0i32..20, 1..4)).prop_flat_map(|(n, counts)| {
        let ntopics = counts.len();
        let current =
            prop::collection::vec(prop::collection::vec((0..ntopics, 0i32..24), 0..10), n);
        (Just(n), Just(counts), current)
    })
}

fn build(
    n: usize,
    counts: &[i32],
    current: &[Vec<(usize, i32)>],
    subscribe: impl Fn(usize, usize) -> bool,
) -> (BTreeMap<String, MemberSpec>, BTreeMap<Uuid, i32>) {
    let topics: BTreeMap<Uuid, i32> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| (topic(i as u8 + 1), *c))
        .collect();
    let members = (0..n)
        .map(|m| {
            let mut cur = Assignment::new();
            for (t, p) in &current[m] {
                cur.entry(topic(*t as u8 + 1)).or_default().insert(*p);
            }
            let spec = MemberSpec {
                subscribed_topics: (0..counts.len())
                    .filter(|t| subscribe(m, *t))
                    .map(|t| topic(t as u8 + 1))
                    .collect(),
                current: cur,
            };
            (format!("m{m}"), spec)
        })
        .collect();
    (members, topics)
}

/// Every partition of a subscribed topic has exactly one owner, and that owner
/// subscribes to the topic.
fn check_exactly_one_owner(
    members: &BTreeMap<String, MemberSpec>,
    topics: &BTreeMap<Uuid, i32>,
    result: &BTreeMap<String, Assignment>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(result.len(), members.len());
    let mut owners: BTreeMap<(Uuid, i32), usize> = BTreeMap::new();
    for (id, a) in result {
        for (t, ps) in a {
            prop_assert!(members[id].subscribed_topics.contains(t));
            for p in ps {
                prop_assert!(*p >= 0 && *p < topics[t]);
                *owners.entry((*t, *p)).or_default() += 1;
            }
        }
    }
    for (t, c) in topics {
        let subscribed = members.values().any(|m| m.subscribed_topics.contains(t));
        for p in 0..*c {
            let n = owners.get(&(*t, p)).copied().unwrap_or(0);
            prop_assert_eq!(n, usize::from(subscribed), "partition {}:{}", t, p);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn uniform_homogeneous_is_complete_and_balanced((n, counts, current) in arb_case()) {
        let (members, topics) = build(n, &counts, &current, |_, _| true);
        let r = Assignor::Uniform.assign(&members, &topics);
        check_exactly_one_owner(&members, &topics, &r)?;
        let sizes: Vec<usize> = r.values().map(count).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(max - min <= 1, "sizes {:?}", sizes);
    }

    #[test]
    fn range_homogeneous_is_complete_and_balanced_per_topic((n, counts, current) in arb_case()) {
        let (members, topics) = build(n, &counts, &current, |_, _| true);
        let r = Assignor::Range.assign(&members, &topics);
        check_exactly_one_owner(&members, &topics, &r)?;
        for t in topics.keys() {
            let sizes: Vec<usize> = r.values().map(|a| a.get(t).map_or(0, BTreeSet::len)).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(max - min <= 1, "sizes {:?}", sizes);
        }
    }

    #[test]
    fn heterogeneous_subscriptions_still_have_one_owner_each(
        (n, counts, current) in arb_case(),
        mask in any::<u64>(),
    ) {
        let (members, topics) = build(n, &counts, &current, |m, t| mask >> ((m * 4 + t) % 64) & 1 == 1);
        for assignor in [Assignor::Uniform, Assignor::Range] {
            let r = assignor.assign(&members, &topics);
            check_exactly_one_owner(&members, &topics, &r)?;
        }
    }
}
