//! Transaction timeouts and transactional id expiry, on paused tokio time. Nothing sleeps:
//! time is advanced and the tests wait on the coordinator's counters.
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

use std::time::Duration;

use skiff::broker::txn::{TxnConfig, TxnError, TxnState};
use skiff::storage::StorageError;
use txn_support::*;

/// Far longer than any wait here; with paused time it elapses only if nothing else
/// happens, so a broken coordinator fails the test instead of hanging it.
const GUARD: Duration = Duration::from_secs(24 * 3600);

#[tokio::test(start_paused = true)]
async fn a_transaction_open_past_its_timeout_is_aborted_and_the_lso_advances() {
    let h = Harness::new();
    let coord = h.coord_arc();
    let task = coord.start();
    let mut stats = coord.subscribe_stats();

    let p = coord
        .init_producer_id(&init_request("slow", 1_000))
        .unwrap();
    h.add_ok("slow", p, &[("orders", 0)]);
    let a = h.produce("orders", 0, p, 0, 3).unwrap();
    let q = coord
        .init_producer_id(&init_request("patient", 900_000))
        .unwrap();
    h.add_ok("patient", q, &[("orders", 1)]);
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), a.base_offset);

    tokio::time::advance(Duration::from_secs(11)).await;
    tokio::time::timeout(GUARD, stats.wait_for(|s| s.timed_out >= 1))
        .await
        .expect("no timeout abort")
        .unwrap();

    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    let aborted = log.aborted_transactions(0, log.log_end_offset());
    assert_eq!(aborted.len(), 1);
    assert_eq!(aborted[0].first_offset, a.base_offset);
    let m = coord.metadata("slow").unwrap();
    assert_eq!(m.state, TxnState::CompleteAbort);
    assert_eq!(
        m.producer_epoch,
        p.producer_epoch + 1,
        "the epoch was bumped"
    );
    // The timed-out producer is fenced, at the coordinator and in the partition.
    assert_eq!(
        coord
            .end_txn("slow", p.producer_id, p.producer_epoch, true, false)
            .map(drop),
        Err(TxnError::ProducerFenced)
    );
    assert!(matches!(
        h.produce("orders", 0, p, 3, 1),
        Err(StorageError::InvalidProducerEpoch { .. })
    ));
    // A transaction within its timeout is left alone.
    assert_eq!(coord.metadata("patient").unwrap().state, TxnState::Ongoing);
    assert_eq!(stats.borrow().timed_out, 1);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn an_open_transaction_keeps_its_timeout_across_a_restart() {
    let mut h = Harness::new();
    let p = h
        .coord()
        .init_producer_id(&init_request("tx", 60_000))
        .unwrap();
    h.add_ok("tx", p, &[("orders", 0)]);
    h.produce("orders", 0, p, 0, 1).unwrap();
    h.restart();
    assert_eq!(h.coord().metadata("tx").unwrap().state, TxnState::Ongoing);
    assert_eq!(h.coord().abort_timed_out_transactions(), 0);
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(h.coord().abort_timed_out_transactions(), 1);
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
}

#[tokio::test(start_paused = true)]
async fn idle_transactional_ids_expire() {
    let mut h = Harness::with_config(TxnConfig {
        transactional_id_expiration_ms: 1_000,
        ..TxnConfig::default()
    });
    let idle = h.init("idle");
    let busy = h.init("busy");
    h.add_ok("busy", busy, &[("orders", 0)]);
    assert_eq!(h.coord().expire_transactional_ids(), 0);

    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(h.coord().expire_transactional_ids(), 1);
    assert!(h.coord().metadata("idle").is_none());
    assert_eq!(
        h.coord().describe_transactions(&["idle".into()])[0].result,
        Err(TxnError::TransactionalIdNotFound)
    );
    assert_eq!(
        h.coord()
            .end_txn("idle", idle.producer_id, idle.producer_epoch, true, false)
            .map(drop),
        Err(TxnError::InvalidProducerIdMapping)
    );
    assert_eq!(h.coord().metadata("busy").unwrap().state, TxnState::Ongoing);

    h.restart();
    assert!(h.coord().metadata("idle").is_none(), "removed durably");
    let again = h.init("idle");
    assert_ne!(again.producer_id, idle.producer_id);
    assert_eq!(again.producer_epoch, 0);
}

#[tokio::test(start_paused = true)]
async fn the_background_task_expires_ids_and_stops_with_the_coordinator() {
    let mut h = Harness::with_config(TxnConfig {
        transactional_id_expiration_ms: 1_000,
        remove_expired_interval: Duration::from_secs(5),
        ..TxnConfig::default()
    });
    let coord = h.coord_arc();
    let task = coord.start();
    let mut stats = coord.subscribe_stats();
    h.init("idle");
    drop(coord);
    tokio::time::advance(Duration::from_secs(6)).await;
    tokio::time::timeout(GUARD, stats.wait_for(|s| s.expired >= 1))
        .await
        .expect("no expiry")
        .unwrap();
    assert!(h.coord().metadata("idle").is_none());
    h.restart();
    tokio::time::timeout(GUARD, task)
        .await
        .expect("the task outlived its coordinator")
        .unwrap();
}
