//! Many producers driving the coordinator from threads at once.
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

use std::sync::Arc;
use std::thread;

use skiff::broker::txn::{AddPartitionsRequest, TxnError, TxnState};
use txn_support::*;

#[test]
fn concurrent_transactions_all_complete_and_no_lso_is_left_stuck() {
    let h = Arc::new(Harness::new());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let h = Arc::clone(&h);
            thread::spawn(move || {
                let id = format!("tx-{t}");
                let p = h.init(&id);
                for i in 0..20 {
                    h.add_ok(&id, p, &[("orders", 0), ("orders", 1)]);
                    h.produce("orders", 0, p, i, 1).unwrap();
                    h.produce("orders", 1, p, i, 1).unwrap();
                    h.coord()
                        .end_txn(&id, p.producer_id, p.producer_epoch, i % 2 == 0, false)
                        .unwrap();
                }
            })
        })
        .collect();
    // Meanwhile two producers fight over one transactional id: every call ends in a
    // Kafka answer, nothing deadlocks.
    let fighters: Vec<_> = (0..2)
        .map(|_| {
            let h = Arc::clone(&h);
            thread::spawn(move || {
                for _ in 0..20 {
                    let Ok(p) = h.coord().init_producer_id(&init_request("shared", 60_000)) else {
                        continue;
                    };
                    let r = h.coord().add_partitions_to_txn(&AddPartitionsRequest {
                        transactional_id: "shared".into(),
                        producer_id: p.producer_id,
                        producer_epoch: p.producer_epoch,
                        verify_only: false,
                        partitions: vec![("payments".into(), 0)],
                    });
                    assert!(matches!(
                        r[0].result,
                        Ok(())
                            | Err(TxnError::ProducerFenced)
                            | Err(TxnError::ConcurrentTransactions)
                    ));
                    let _ =
                        h.coord()
                            .end_txn("shared", p.producer_id, p.producer_epoch, true, false);
                }
            })
        })
        .collect();
    for t in threads.into_iter().chain(fighters) {
        t.join().unwrap();
    }
    for (topic, part) in [("orders", 0), ("orders", 1)] {
        let log = h.log(topic, part);
        assert_eq!(
            log.last_stable_offset(),
            log.log_end_offset(),
            "{topic}-{part}"
        );
        assert_eq!(log.aborted_transactions(0, log.log_end_offset()).len(), 40);
    }
    for t in 0..4 {
        let m = h.coord().metadata(&format!("tx-{t}")).unwrap();
        assert_eq!(
            m.state,
            TxnState::CompleteAbort,
            "the last of 20 was an abort"
        );
    }
    // Whatever the fight left open is closed by a new producer.
    h.init("shared");
    let log = h.log("payments", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
}
