//! Consumer groups end to end with librdkafka (rdkafka) against an in-process broker: the
//! classic protocol (eager `range`/`roundrobin` and `cooperative-sticky`), KIP-848
//! (`group.protocol=consumer`) and static membership.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Message, Offset};
use skiff::BrokerHandle;

const PARTITIONS: i32 = 6;
const RECORDS: usize = 60_000;

/// Counts the rebalance callbacks a consumer sees.
#[derive(Clone, Default)]
struct Counting {
    rebalances: Arc<AtomicUsize>,
}

impl ClientContext for Counting {}

impl ConsumerContext for Counting {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, _: &Rebalance<'_>) {
        self.rebalances.fetch_add(1, Ordering::SeqCst);
    }
}

type GroupConsumer = BaseConsumer<Counting>;

/// How a member takes part in its group.
#[derive(Clone, Copy, Debug)]
enum Protocol {
    /// Classic protocol, librdkafka's default eager assignors (`range,roundrobin`).
    Eager,
    /// Classic protocol with `cooperative-sticky`.
    CooperativeSticky,
    /// KIP-848 (`group.protocol=consumer`), server-side assignment.
    Consumer,
}

fn overrides() -> Vec<&'static str> {
    vec![
        "num.partitions=6",
        "group.initial.rebalance.delay.ms=0",
        "group.consumer.heartbeat.interval.ms=500",
    ]
}

async fn start(dir: &Path) -> BrokerHandle {
    start_broker(dir, &overrides()).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn member(
    bootstrap: &str,
    group: &str,
    protocol: Protocol,
    instance: Option<&str>,
) -> (GroupConsumer, Counting) {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false");
    match protocol {
        Protocol::Eager => {
            cfg.set("heartbeat.interval.ms", "300");
        }
        Protocol::CooperativeSticky => {
            cfg.set("heartbeat.interval.ms", "300")
                .set("partition.assignment.strategy", "cooperative-sticky");
        }
        Protocol::Consumer => {
            cfg.set("group.protocol", "consumer");
        }
    }
    if let Some(id) = instance {
        cfg.set("group.instance.id", id)
            .set("session.timeout.ms", "30000");
    }
    let ctx = Counting::default();
    let c: GroupConsumer = cfg.create_with_context(ctx.clone()).unwrap();
    (c, ctx)
}

/// The partitions `c` currently owns.
fn owned(c: &GroupConsumer, topic: &str) -> BTreeSet<i32> {
    c.assignment()
        .unwrap()
        .elements()
        .iter()
        .filter(|e| e.topic() == topic)
        .map(|e| e.partition())
        .collect()
}

/// Every partition has exactly one owner and the assignment is balanced.
fn one_owner_each(consumers: &[&GroupConsumer], topic: &str) -> bool {
    let sets: Vec<BTreeSet<i32>> = consumers.iter().map(|c| owned(c, topic)).collect();
    let total: usize = sets.iter().map(|s| s.len()).sum();
    let union: BTreeSet<i32> = sets.iter().flatten().copied().collect();
    let max = sets.iter().map(|s| s.len()).max().unwrap_or(0);
    let min = sets.iter().map(|s| s.len()).min().unwrap_or(0);
    total == PARTITIONS as usize && union.len() == PARTITIONS as usize && max - min <= 1
}

/// A consumed record: (partition, offset, record number).
type Seen = (i32, i64, usize);

/// Polls every consumer in turn, collecting records, until `done` holds (or panics at the
/// deadline with `what`).
fn poll_until(
    consumers: &[&GroupConsumer],
    seen: &mut [Vec<Seen>],
    what: &str,
    mut done: impl FnMut(&[&GroupConsumer], &[Vec<Seen>]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        for (c, out) in consumers.iter().zip(seen.iter_mut()) {
            while let Some(m) = c.poll(Duration::from_millis(5)) {
                let m = m.unwrap();
                out.push((m.partition(), m.offset(), key_number(m.key().unwrap())));
            }
        }
        if done(consumers, seen) {
            return;
        }
        if Instant::now() >= deadline {
            let owners: Vec<BTreeSet<i32>> = consumers
                .iter()
                .map(|c| {
                    c.assignment()
                        .unwrap()
                        .elements()
                        .iter()
                        .map(|e| e.partition())
                        .collect()
                })
                .collect();
            panic!(
                "timed out waiting for {what}: owners {owners:?}, consumed {:?}",
                seen.iter().map(Vec::len).collect::<Vec<_>>()
            );
        }
    }
}

/// Produces records `from..to` round-robin over the partitions; returns the (partition,
/// record number) pairs in order.
fn produce(bootstrap: &str, topic: &str, from: usize, to: usize) -> BTreeMap<usize, i32> {
    let p = producer(bootstrap, "lz4", "all");
    let mut where_ = BTreeMap::new();
    for i in from..to {
        let partition = (i % PARTITIONS as usize) as i32;
        send(&p, topic, partition, &test_record(i));
        where_.insert(i, partition);
        if i % 1000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    flush(&p);
    where_
}

fn total(seen: &[Vec<Seen>]) -> usize {
    seen.iter().map(Vec::len).sum()
}

/// Every record of `expected` seen exactly once, by the owner of its partition, and
/// nothing else.
fn check_exactly_once(seen: &[Vec<Seen>], expected: &BTreeMap<usize, i32>) {
    let mut numbers = HashSet::new();
    let mut positions = HashSet::new();
    for (p, o, n) in seen.iter().flatten() {
        assert!(numbers.insert(*n), "record {n} consumed twice");
        assert!(positions.insert((*p, *o)), "offset {p}/{o} consumed twice");
        assert_eq!(
            expected.get(n),
            Some(p),
            "record {n} unexpected or misplaced"
        );
    }
    assert_eq!(numbers.len(), expected.len(), "records consumed");
}

/// Every record of `expected` seen at least once and nothing else (after a restart the
/// uncommitted records may come back more than once while members join one by one).
fn check_only(seen: &[Vec<Seen>], expected: &BTreeMap<usize, i32>) {
    let mut numbers = HashSet::new();
    for (p, _, n) in seen.iter().flatten() {
        assert_eq!(expected.get(n), Some(p), "record {n} replayed or misplaced");
        numbers.insert(*n);
    }
    assert_eq!(numbers.len(), expected.len(), "records consumed");
}

fn commit_all(consumers: &[&GroupConsumer]) {
    for c in consumers {
        if c.assignment().unwrap().count() > 0 {
            match c.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => {}
                // Nothing consumed since the last commit.
                Err(rdkafka::error::KafkaError::ConsumerCommit(
                    rdkafka::types::RDKafkaErrorCode::NoOffset,
                )) => {}
                Err(e) => panic!("commit failed: {e}"),
            }
        }
    }
}

/// Whether `c`'s position on each partition it owns is the partition's high watermark.
fn caught_up(c: &GroupConsumer, topic: &str, high: &[i64]) -> bool {
    c.position().unwrap().elements().iter().all(|e| {
        e.topic() != topic
            || matches!(e.offset(), Offset::Offset(o) if Some(&o) == high.get(e.partition() as usize))
    })
}

/// Committed offset vs high watermark per partition, summed.
fn lag(c: &GroupConsumer, topic: &str) -> i64 {
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let mut lag = 0;
    for e in committed.elements() {
        let (_, high) = c
            .fetch_watermarks(topic, e.partition(), Duration::from_secs(10))
            .unwrap();
        let at = match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        };
        lag += high - at;
    }
    lag
}

/// The acceptance scenario: three members share 60k records exactly once; a fourth
/// joining and one leaving each rebalance to one owner per partition; committed offsets
/// survive a broker restart and the group resumes from them; lag reaches 0.
fn group_scenario(protocol: Protocol) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path()));
    let bootstrap = broker.bootstrap();
    let topic = format!("groups-{protocol:?}").to_lowercase();
    let group = format!("group-{protocol:?}");
    ensure_topic(&bootstrap, &topic);

    // Three members; the topic is still empty, so nothing is consumed while they settle.
    let (a, _) = member(&bootstrap, &group, protocol, None);
    let (b, _) = member(&bootstrap, &group, protocol, None);
    let (c, _) = member(&bootstrap, &group, protocol, None);
    for m in [&a, &b, &c] {
        m.subscribe(&[&topic]).unwrap();
    }
    let mut seen = vec![Vec::new(); 3];
    poll_until(
        &[&a, &b, &c],
        &mut seen,
        "three members to share the partitions",
        |cs, _| one_owner_each(cs, &topic),
    );

    // Phase 1: 60k records, each consumed exactly once across the group.
    let expected = produce(&bootstrap, &topic, 0, RECORDS);
    poll_until(&[&a, &b, &c], &mut seen, "60k records", |_, s| {
        total(s) >= RECORDS
    });
    check_exactly_once(&seen, &expected);
    for (s, m) in seen.iter().zip([&a, &b, &c]) {
        let mine = owned(m, &topic);
        assert!(
            s.iter().all(|(p, _, _)| mine.contains(p)),
            "consumed by owner"
        );
    }
    commit_all(&[&a, &b, &c]);

    // Phase 2: a fourth member joins; after the rebalance each partition has one owner.
    let (d, _) = member(&bootstrap, &group, protocol, None);
    d.subscribe(&[&topic]).unwrap();
    let mut seen = vec![Vec::new(); 4];
    poll_until(
        &[&a, &b, &c, &d],
        &mut seen,
        "four members to share",
        |cs, _| one_owner_each(cs, &topic) && !owned(cs[3], &topic).is_empty(),
    );
    let expected = produce(&bootstrap, &topic, RECORDS, RECORDS + 6000);
    poll_until(&[&a, &b, &c, &d], &mut seen, "6k more records", |_, s| {
        total(s) >= 6000
    });
    check_exactly_once(&seen, &expected);
    commit_all(&[&a, &b, &c, &d]);

    // Phase 3: one member leaves; the other three take over its partitions.
    drop(b);
    let mut seen = vec![Vec::new(); 3];
    poll_until(
        &[&a, &c, &d],
        &mut seen,
        "three members after a leave",
        |cs, _| one_owner_each(cs, &topic),
    );
    let expected = produce(&bootstrap, &topic, RECORDS + 6000, RECORDS + 12_000);
    poll_until(
        &[&a, &c, &d],
        &mut seen,
        "6k records after the leave",
        |_, s| total(s) >= 6000,
    );
    check_exactly_once(&seen, &expected);
    commit_all(&[&a, &c, &d]);

    // Phase 4: records consumed but not committed, then the broker restarts.
    let uncommitted = produce(&bootstrap, &topic, RECORDS + 12_000, RECORDS + 15_000);
    let mut seen = vec![Vec::new(); 3];
    poll_until(
        &[&a, &c, &d],
        &mut seen,
        "3k uncommitted records",
        |_, s| total(s) >= 3000,
    );
    check_exactly_once(&seen, &uncommitted);
    drop((a, c, d));
    rt.block_on(broker.shutdown()).unwrap();

    let broker = rt.block_on(start(dir.path()));
    let bootstrap = broker.bootstrap();
    let (e, _) = member(&bootstrap, &group, protocol, None);
    let (f, _) = member(&bootstrap, &group, protocol, None);
    e.subscribe(&[&topic]).unwrap();
    f.subscribe(&[&topic]).unwrap();
    let high: Vec<i64> = (0..PARTITIONS)
        .map(|p| {
            e.fetch_watermarks(&topic, p, Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect();
    let mut seen = vec![Vec::new(); 2];
    // Only the uncommitted records come back: nothing committed is replayed, nothing lost.
    poll_until(
        &[&e, &f],
        &mut seen,
        "the uncommitted records again",
        |cs, s| {
            let distinct: HashSet<usize> = s.iter().flatten().map(|(_, _, n)| *n).collect();
            distinct.len() >= uncommitted.len()
                && one_owner_each(cs, &topic)
                && cs.iter().all(|c| caught_up(c, &topic, &high))
        },
    );
    check_only(&seen, &uncommitted);
    commit_all(&[&e, &f]);
    assert_eq!(lag(&e, &topic), 0, "lag after the final commit");
    drop((e, f));
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn classic_eager_group() {
    group_scenario(Protocol::Eager);
}

#[test]
fn classic_cooperative_sticky_group() {
    group_scenario(Protocol::CooperativeSticky);
}

#[test]
fn kip848_consumer_group() {
    group_scenario(Protocol::Consumer);
}

/// A static member restarting within its session timeout gets its partitions back and the
/// other members see no rebalance.
#[test]
fn static_member_restart_keeps_assignment() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path()));
    let bootstrap = broker.bootstrap();
    let topic = "static-members";
    let group = "static-group";
    ensure_topic(&bootstrap, topic);

    let names = ["a", "b", "c"];
    let mut members: Vec<(GroupConsumer, Counting)> = names
        .iter()
        .map(|n| member(&bootstrap, group, Protocol::Eager, Some(n)))
        .collect();
    for (m, _) in &members {
        m.subscribe(&[topic]).unwrap();
    }
    let mut seen = vec![Vec::new(); 3];
    {
        let cs: Vec<&GroupConsumer> = members.iter().map(|(m, _)| m).collect();
        poll_until(&cs, &mut seen, "three static members", |cs, _| {
            one_owner_each(cs, topic)
        });
    }
    let before: Vec<BTreeSet<i32>> = members.iter().map(|(m, _)| owned(m, topic)).collect();
    let mut next_record = 0;
    // Each member restarts in turn (the leader among them): a static member's close sends
    // no LeaveGroup, and its successor with the same instance id gets the same partitions
    // while the others see no rebalance.
    for i in 0..names.len() {
        let counts: Vec<usize> = members
            .iter()
            .map(|(_, ctx)| ctx.rebalances.load(Ordering::SeqCst))
            .collect();
        let restarted = member(&bootstrap, group, Protocol::Eager, Some(names[i]));
        let old = std::mem::replace(&mut members[i], restarted);
        drop(old);
        members[i].0.subscribe(&[topic]).unwrap();
        let cs: Vec<&GroupConsumer> = members.iter().map(|(m, _)| m).collect();
        let mut seen = vec![Vec::new(); 3];
        poll_until(
            &cs,
            &mut seen,
            "the restarted member's partitions",
            |cs, _| !owned(cs[i], topic).is_empty(),
        );
        assert_eq!(owned(cs[i], topic), before[i], "{}'s partitions", names[i]);

        // Records to every partition reach their owners: the group works on.
        let expected = produce(&bootstrap, topic, next_record, next_record + 600);
        next_record += 600;
        poll_until(&cs, &mut seen, "600 records", |_, s| total(s) >= 600);
        check_exactly_once(&seen, &expected);
        commit_all(&cs);
        for (j, (m, ctx)) in members.iter().enumerate() {
            assert_eq!(owned(m, topic), before[j], "{}'s partitions", names[j]);
            if j != i {
                assert_eq!(
                    ctx.rebalances.load(Ordering::SeqCst),
                    counts[j],
                    "{} rebalanced when {} restarted",
                    names[j],
                    names[i]
                );
            }
        }
    }
    drop(members);
    rt.block_on(broker.shutdown()).unwrap();
}

/// The rebalance events one consumer saw, in order: "assign N" / "revoke N".
#[derive(Clone, Default)]
struct Recording {
    events: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ClientContext for Recording {}

impl ConsumerContext for Recording {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let event = match rebalance {
            Rebalance::Assign(tpl) => format!("assign {}", tpl.count()),
            Rebalance::Revoke(tpl) => format!("revoke {}", tpl.count()),
            Rebalance::Error(e) => format!("error {e}"),
        };
        self.events.lock().unwrap().push(event);
    }
}

/// As Kafka, a new group's first join phase lasts `group.initial.rebalance.delay.ms` even
/// when every member it knows has joined: a second consumer that subscribes while the
/// first one's JoinGroup is parked lands in the same first generation, so neither sees a
/// revocation (with no delay the first would get all partitions alone, then give half
/// back).
#[test]
fn consumers_joining_within_the_initial_delay_share_the_first_generation() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start_broker(
        dir.path(),
        &["num.partitions=6", "group.initial.rebalance.delay.ms=3000"],
    ));
    let bootstrap = broker.bootstrap();
    let topic = "initial-delay";
    let group = "initial-delay-group";
    ensure_topic(&bootstrap, topic);
    let consumer = || {
        let ctx = Recording::default();
        let c: BaseConsumer<Recording> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("heartbeat.interval.ms", "300")
            .create_with_context(ctx.clone())
            .unwrap();
        (c, ctx)
    };
    let (a, a_events) = consumer();
    a.subscribe(&[topic]).unwrap();
    // Wait until a's JoinGroup is parked in the initial delay: the group exists, in
    // PreparingRebalance, with one member.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(a.poll(Duration::from_millis(10)).is_none());
        let groups = a
            .fetch_group_list(Some(group), Duration::from_secs(5))
            .unwrap();
        if groups
            .groups()
            .iter()
            .any(|g| g.state() == "PreparingRebalance" && g.members().len() == 1)
        {
            break;
        }
        assert!(
            a_events.events.lock().unwrap().is_empty(),
            "a was assigned alone"
        );
        assert!(
            Instant::now() < deadline,
            "a's join never reached the broker"
        );
    }
    let (b, b_events) = consumer();
    b.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while owned_by(&a, topic).len() + owned_by(&b, topic).len() < PARTITIONS as usize
        || owned_by(&a, topic).is_empty()
        || owned_by(&b, topic).is_empty()
    {
        assert!(a.poll(Duration::from_millis(10)).is_none());
        assert!(b.poll(Duration::from_millis(10)).is_none());
        assert!(Instant::now() < deadline, "no assignment for both");
    }
    assert_eq!(*a_events.events.lock().unwrap(), ["assign 3"]);
    assert_eq!(*b_events.events.lock().unwrap(), ["assign 3"]);
    drop((a, b));
    rt.block_on(broker.shutdown()).unwrap();
}

/// The partitions of `topic` a consumer owns.
fn owned_by<C: ConsumerContext>(c: &BaseConsumer<C>, topic: &str) -> BTreeSet<i32> {
    c.assignment()
        .unwrap()
        .elements()
        .iter()
        .filter(|e| e.topic() == topic)
        .map(|e| e.partition())
        .collect()
}

/// KIP-848 regular-expression subscription through librdkafka: the broker resolves the
/// pattern (whole names only), and a matching topic created later is assigned too.
#[test]
fn kip848_regex_subscription() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path()));
    let bootstrap = broker.bootstrap();
    for t in ["rx-a", "rx-b", "other-rx-a"] {
        ensure_topic(&bootstrap, t);
    }
    let (m, _) = member(&bootstrap, "regex-group", Protocol::Consumer, None);
    m.subscribe(&["^rx-.*"]).unwrap();
    let all: BTreeSet<i32> = (0..PARTITIONS).collect();
    let mut seen = vec![Vec::new()];
    poll_until(&[&m], &mut seen, "rx-a and rx-b assigned", |cs, _| {
        owned(cs[0], "rx-a") == all && owned(cs[0], "rx-b") == all
    });
    assert!(owned(&m, "other-rx-a").is_empty());
    let a = produce(&bootstrap, "rx-a", 0, 300);
    let b = produce(&bootstrap, "rx-b", 300, 600);
    poll_until(&[&m], &mut seen, "600 records", |_, s| total(s) >= 600);
    let mut expected = a;
    expected.extend(b);
    assert_eq!(seen[0].len(), 600);
    let numbers: BTreeSet<usize> = seen[0].iter().map(|(_, _, n)| *n).collect();
    assert_eq!(numbers, expected.keys().copied().collect());

    ensure_topic(&bootstrap, "rx-c");
    poll_until(&[&m], &mut seen, "rx-c assigned", |cs, _| {
        owned(cs[0], "rx-c") == all
    });
    drop(m);
    rt.block_on(broker.shutdown()).unwrap();
}
