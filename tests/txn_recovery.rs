//! The coordinator across restarts: durable producer ids and transaction metadata,
//! completion of commits and aborts decided before the restart, epoch exhaustion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod txn_support;

use std::collections::{BTreeSet, HashSet};

use skiff::broker::txn::state::{txn_key, MAX_USABLE_EPOCH};
use skiff::broker::txn::{
    InitProducerIdRequest, ProducerIdManager, TxnConfig, TxnMetadata, TxnOffsetCommitPartition,
    TxnOffsetCommitRequest, TxnPartition, TxnResult, TxnState,
};
use txn_support::*;

fn idempotent() -> InitProducerIdRequest {
    InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 0,
        producer_id: -1,
        producer_epoch: -1,
    }
}

#[test]
fn producer_ids_never_repeat_across_restarts() {
    let mut h = Harness::with_config(TxnConfig {
        producer_id_block_size: 10,
        ..TxnConfig::default()
    });
    let mut seen = HashSet::new();
    let mut max_before = -1;
    for round in 0..3 {
        for _ in 0..25 {
            let id = h
                .coord()
                .init_producer_id(&idempotent())
                .unwrap()
                .producer_id;
            assert!(
                id > max_before,
                "round {round}: id {id} not above {max_before}"
            );
            assert!(seen.insert(id), "id {id} handed out twice");
        }
        max_before = *seen.iter().max().unwrap();
        h.restart();
    }
    // Transactional ids draw from the same allocator.
    let t = h.init("tx");
    assert!(seen.insert(t.producer_id));
}

#[test]
fn a_reserved_block_is_skipped_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = open_store(&dir);
        let ids = ProducerIdManager::new(store, 100);
        (ids.generate().unwrap(), ids.generate().unwrap())
    };
    assert_eq!(first, (0, 1));
    let store = open_store(&dir);
    let ids = ProducerIdManager::new(store, 100);
    assert_eq!(
        ids.generate().unwrap(),
        100,
        "the rest of the old block is never reused"
    );
}

#[test]
fn metadata_survives_a_restart() {
    let mut h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let before = h.coord().metadata("tx").unwrap();
    h.restart();
    assert_eq!(h.coord().metadata("tx").unwrap(), before);
    // The fenced-epoch rules hold after the restart.
    let new = h.init("tx");
    assert_eq!(new.producer_epoch, p.producer_epoch + 2);
    let r = h.add("tx", p, &[("orders", 0)]);
    assert_eq!(
        r[0].result,
        Err(skiff::broker::txn::TxnError::ProducerFenced)
    );
}

#[test]
fn a_commit_decided_before_a_restart_completes_on_start() {
    let mut h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0), ("orders", 1)]);
    h.coord()
        .add_offsets_to_txn("tx", p.producer_id, p.producer_epoch, "g")
        .unwrap();
    let r = h.coord().txn_offset_commit(&TxnOffsetCommitRequest {
        transactional_id: "tx".into(),
        group_id: "g".into(),
        producer_id: p.producer_id,
        producer_epoch: p.producer_epoch,
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        offsets: vec![TxnOffsetCommitPartition {
            topic: "payments".into(),
            partition: 0,
            committed_offset: 7,
            committed_leader_epoch: -1,
            committed_metadata: None,
        }],
        implicit_add: false,
    });
    assert_eq!(r[0].result, Ok(()));
    let a = h.produce("orders", 0, p, 0, 2).unwrap();
    let b = h.produce("orders", 1, p, 0, 2).unwrap();

    // orders-0 gets its marker, orders-1 fails: the coordinator goes down in PrepareCommit.
    *h.writer.fail_on.lock() = Some(("orders".into(), 1));
    h.coord()
        .end_txn("tx", p.producer_id, p.producer_epoch, true, false)
        .unwrap();
    assert_eq!(
        h.coord().metadata("tx").unwrap().state,
        TxnState::PrepareCommit
    );
    assert_eq!(h.log("orders", 1).last_stable_offset(), b.base_offset);
    assert!(h.sink.committed.lock().is_empty());

    *h.writer.fail_on.lock() = None;
    h.restart();
    assert_eq!(h.coord().subscribe_stats().borrow().completed_late, 1);

    assert_eq!(
        h.coord().metadata("tx").unwrap().state,
        TxnState::CompleteCommit
    );
    for (part, first) in [(0, a.base_offset), (1, b.base_offset)] {
        let log = h.log("orders", part);
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
        assert!(
            log.aborted_transactions(first, log.log_end_offset())
                .is_empty(),
            "orders-{part}: committed, nothing aborted"
        );
    }
    // orders-0 got its marker twice; the second found no open transaction and is harmless.
    let written = h.writer.written.lock().clone();
    let to = |part: i32| {
        written
            .iter()
            .filter(|w| w.0 == "orders" && w.1 == part && w.4 == TxnResult::Commit)
            .count()
    };
    assert_eq!((to(0), to(1)), (2, 1));
    assert_eq!(h.log("orders", 0).log_end_offset(), a.last_offset + 3);
    // The offsets reached the group on completion, and are no longer pending.
    let committed = h.sink.committed.lock().clone();
    assert_eq!(committed.len(), 1);
    assert_eq!(committed[0].2[0].offset, 7);
    assert!(h.coord().pending_offsets("tx").unwrap().is_empty());

    // The producer carries on with the next transaction.
    h.add_ok("tx", p, &[("orders", 0)]);
    h.produce("orders", 0, p, 2, 1).unwrap();
    h.coord()
        .end_txn("tx", p.producer_id, p.producer_epoch, true, false)
        .unwrap();
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
}

#[test]
fn an_abort_decided_before_a_restart_completes_on_start() {
    let mut h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let a = h.produce("orders", 0, p, 0, 2).unwrap();
    h.set_failing(true);
    h.coord()
        .end_txn("tx", p.producer_id, p.producer_epoch, false, false)
        .unwrap();
    h.set_failing(false);
    h.restart();
    assert_eq!(
        h.coord().metadata("tx").unwrap().state,
        TxnState::CompleteAbort
    );
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(log.aborted_transactions(0, log.log_end_offset()).len(), 1);
    assert_eq!(
        log.aborted_transactions(0, log.log_end_offset())[0].first_offset,
        a.base_offset
    );
}

fn exhausted(producer_id: i64, state: TxnState, partitions: &[(&str, i32)]) -> TxnMetadata {
    TxnMetadata {
        transactional_id: "tx".into(),
        producer_id,
        previous_producer_id: -1,
        producer_epoch: MAX_USABLE_EPOCH,
        last_producer_epoch: -1,
        timeout_ms: 60_000,
        state,
        partitions: partitions
            .iter()
            .map(|(t, p)| TxnPartition::data(*t, *p))
            .collect::<BTreeSet<_>>(),
        txn_start_ms: if partitions.is_empty() { -1 } else { 1 },
        last_update_ms: 1,
        client_tv2: false,
        next_producer_id: -1,
    }
}

#[test]
fn an_exhausted_epoch_moves_to_a_new_producer_id() {
    let mut h = Harness::new();
    let old_id = 1_000_000;
    h.restart_with(|store| {
        let m = exhausted(old_id, TxnState::CompleteCommit, &[]);
        store.put(txn_key("tx"), m.encode()).unwrap();
    });
    let bump = InitProducerIdRequest {
        producer_id: old_id,
        producer_epoch: MAX_USABLE_EPOCH,
        ..init_request("tx", 60_000)
    };
    let p = h.coord().init_producer_id(&bump).unwrap();
    assert_ne!(p.producer_id, old_id);
    assert_eq!(p.producer_epoch, 0);
    let m = h.coord().metadata("tx").unwrap();
    assert_eq!(m.previous_producer_id, old_id);
    // A retry of the same request (its answer was lost) gets the same new id.
    assert_eq!(h.coord().init_producer_id(&bump).unwrap(), p);
}

#[test]
fn fencing_an_exhausted_open_transaction_aborts_it_then_rotates() {
    let mut h = Harness::new();
    let old_id = 2_000_000;
    h.restart_with(|store| {
        let m = exhausted(old_id, TxnState::Ongoing, &[("orders", 0)]);
        store.put(txn_key("tx"), m.encode()).unwrap();
    });
    let p = h.init("tx");
    assert_ne!(p.producer_id, old_id);
    assert_eq!(p.producer_epoch, 0);
    assert_eq!(
        h.writer.written.lock().clone(),
        vec![("orders".to_string(), 0, old_id, i16::MAX, TxnResult::Abort)]
    );
}

const CRASH_CHILD_ENV: &str = "SKIFF_TXN_CRASH_CHILD_DIR";

#[test]
fn producer_ids_never_repeat_after_a_crash() {
    use std::io::Write;
    use std::process::Command;

    if let Ok(dir) = std::env::var(CRASH_CHILD_ENV) {
        // The child: hand out ids, report them, die without closing anything.
        let store = std::sync::Arc::new(
            skiff::storage::kv::StateStore::open(
                std::path::Path::new(&dir).join("state"),
                skiff::storage::kv::StateStoreConfig {
                    background_maintenance: false,
                    ..Default::default()
                },
            )
            .unwrap(),
        );
        let ids = ProducerIdManager::new(store, 1000);
        let mut out = std::io::stdout().lock();
        for _ in 0..5 {
            writeln!(out, "ID {}", ids.generate().unwrap()).unwrap();
        }
        out.flush().unwrap();
        std::process::abort();
    }

    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "producer_ids_never_repeat_after_a_crash",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child was to crash");
    let handed_out: Vec<i64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        // The harness's "test … " prefix may share the first line.
        .filter_map(|l| l.rfind("ID ").map(|at| &l[at + 3..]))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(handed_out, vec![0, 1, 2, 3, 4]);

    let ids = ProducerIdManager::new(open_store(&dir), 1000);
    let next = ids.generate().unwrap();
    assert_eq!(
        next, 1000,
        "the crashed process's block is skipped, not reused"
    );
}

#[test]
fn a_retried_bump_onto_the_last_usable_epoch_gets_it_again() {
    let mut h = Harness::new();
    let id = 3_000_000;
    h.restart_with(|store| {
        let mut m = exhausted(id, TxnState::CompleteCommit, &[]);
        m.producer_epoch = MAX_USABLE_EPOCH - 1;
        store.put(txn_key("tx"), m.encode()).unwrap();
    });
    let req = |epoch: i16| InitProducerIdRequest {
        producer_id: id,
        producer_epoch: epoch,
        ..init_request("tx", 60_000)
    };
    let p = h
        .coord()
        .init_producer_id(&req(MAX_USABLE_EPOCH - 1))
        .unwrap();
    assert_eq!((p.producer_id, p.producer_epoch), (id, MAX_USABLE_EPOCH));
    // The answer was lost: the retry gets the same epoch, an older one is fenced.
    assert_eq!(
        h.coord()
            .init_producer_id(&req(MAX_USABLE_EPOCH - 1))
            .unwrap(),
        p
    );
    assert_eq!(
        h.coord().init_producer_id(&req(MAX_USABLE_EPOCH - 2)),
        Err(skiff::broker::txn::TxnError::ProducerFenced)
    );
    // From the exhausted epoch itself, the next bump rotates the producer id.
    let q = h.coord().init_producer_id(&req(MAX_USABLE_EPOCH)).unwrap();
    assert_ne!(q.producer_id, id);
    assert_eq!(q.producer_epoch, 0);
}
