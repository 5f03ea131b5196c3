//! The transaction coordinator's state machine against real partition logs.
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

use bytes::Bytes;
use skiff::broker::txn::{
    describe_producers, expire_idle_producers, AddPartitionsRequest, InitProducerIdRequest,
    ListTransactionsFilter, ProducerIdAndEpoch, TxnApi, TxnError, TxnOffsetCommitPartition,
    TxnOffsetCommitRequest, TxnPartition, TxnResult, TxnState,
};
use skiff::storage::producer_state::AbortedTxn;
use skiff::storage::record::ControlRecordType;
use skiff::storage::{Log, MessageBatch, StorageError};
use txn_support::*;

/// The control batch at `offset`: (marker type, producer id, producer epoch).
fn marker_at(log: &Log, offset: i64) -> (ControlRecordType, i64, i16) {
    let bytes = log.read(offset, 1 << 20).unwrap();
    let batch = MessageBatch::from_bytes(Bytes::copy_from_slice(&bytes)).unwrap();
    assert!(
        batch.is_control(),
        "batch at {offset} is not a control batch"
    );
    assert!(batch.is_transactional());
    let m = &batch.messages().unwrap()[0];
    let kind = ControlRecordType::parse_key(m.key.as_ref().unwrap()).unwrap();
    (kind, batch.producer_id(), batch.producer_epoch())
}

fn end(h: &Harness, id: &str, p: ProducerIdAndEpoch, commit: bool) -> Result<(), TxnError> {
    h.coord()
        .end_txn(id, p.producer_id, p.producer_epoch, commit, false)
        .map(drop)
}

fn state(h: &Harness, id: &str) -> TxnState {
    h.coord().metadata(id).unwrap().state
}

#[test]
fn commit_writes_markers_to_every_touched_partition_and_lso_advances() {
    let h = Harness::new();
    let p = h.init("tx");
    assert_eq!(p.producer_epoch, 0);
    h.add_ok("tx", p, &[("orders", 0), ("orders", 1)]);
    assert_eq!(state(&h, "tx"), TxnState::Ongoing);
    let a = h.produce("orders", 0, p, 0, 3).unwrap();
    let b = h.produce("orders", 1, p, 0, 2).unwrap();
    assert_eq!(h.log("orders", 0).last_stable_offset(), a.base_offset);
    assert_eq!(h.log("orders", 1).last_stable_offset(), b.base_offset);

    end(&h, "tx", p, true).unwrap();

    for (topic, part, last) in [("orders", 0, a.last_offset), ("orders", 1, b.last_offset)] {
        let log = h.log(topic, part);
        assert_eq!(log.log_end_offset(), last + 2, "one marker after the data");
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
        assert!(log.aborted_transactions(0, log.log_end_offset()).is_empty());
        assert_eq!(
            marker_at(&log, last + 1),
            (ControlRecordType::Commit, p.producer_id, p.producer_epoch)
        );
    }
    assert_eq!(
        h.log("payments", 0).log_end_offset(),
        0,
        "untouched partition"
    );
    let m = h.coord().metadata("tx").unwrap();
    assert_eq!(m.state, TxnState::CompleteCommit);
    assert!(m.partitions.is_empty());
    assert_eq!(m.txn_start_ms, -1);
}

#[test]
fn abort_lists_the_transaction_as_aborted_and_lso_advances() {
    let h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let a = h.produce("orders", 0, p, 0, 4).unwrap();
    end(&h, "tx", p, false).unwrap();

    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(
        log.aborted_transactions(0, log.log_end_offset()),
        vec![AbortedTxn {
            producer_id: p.producer_id,
            first_offset: a.base_offset,
            last_offset: a.last_offset + 1,
        }]
    );
    assert_eq!(
        marker_at(&log, a.last_offset + 1).0,
        ControlRecordType::Abort
    );
    assert_eq!(state(&h, "tx"), TxnState::CompleteAbort);

    // The next transaction of the same producer works as usual.
    h.add_ok("tx", p, &[("orders", 0)]);
    h.produce("orders", 0, p, 4, 1).unwrap();
    end(&h, "tx", p, true).unwrap();
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(log.aborted_transactions(0, log.log_end_offset()).len(), 1);
}

#[test]
fn a_second_producer_fences_the_first_and_aborts_its_open_transaction() {
    let h = Harness::new();
    let old = h.init("tx");
    h.add_ok("tx", old, &[("orders", 0)]);
    let a = h.produce("orders", 0, old, 0, 2).unwrap();

    let new = h.init("tx");
    assert_eq!(new.producer_id, old.producer_id);
    // One bump to fence and abort, one for the new session, as Kafka.
    assert_eq!(new.producer_epoch, old.producer_epoch + 2);

    // The open transaction was aborted before InitProducerId returned.
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(
        log.aborted_transactions(0, log.log_end_offset()),
        vec![AbortedTxn {
            producer_id: old.producer_id,
            first_offset: a.base_offset,
            last_offset: a.last_offset + 1,
        }]
    );
    let (kind, _, marker_epoch) = marker_at(&log, a.last_offset + 1);
    assert_eq!(kind, ControlRecordType::Abort);
    assert_eq!(marker_epoch, old.producer_epoch + 1);

    // The old producer is fenced everywhere.
    let r = h.add("tx", old, &[("orders", 1)]);
    assert_eq!(r[0].result, Err(TxnError::ProducerFenced));
    assert_eq!(end(&h, "tx", old, true), Err(TxnError::ProducerFenced));
    assert_eq!(
        h.coord()
            .add_offsets_to_txn("tx", old.producer_id, old.producer_epoch, "g"),
        Err(TxnError::ProducerFenced)
    );
    assert!(matches!(
        h.produce("orders", 0, old, 2, 1),
        Err(StorageError::InvalidProducerEpoch { .. })
    ));
    // Old request versions are told INVALID_PRODUCER_EPOCH instead.
    assert_eq!(TxnError::ProducerFenced.code_for(TxnApi::EndTxn, 1), 47);
    assert_eq!(TxnError::ProducerFenced.code_for(TxnApi::EndTxn, 2), 90);
    assert_eq!(
        TxnError::ProducerFenced.code_for(TxnApi::InitProducerId, 3),
        47
    );

    // The new producer carries on.
    h.add_ok("tx", new, &[("orders", 0)]);
    h.produce("orders", 0, new, 0, 1).unwrap();
    end(&h, "tx", new, true).unwrap();
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
}

#[test]
fn end_txn_errors_follow_kafka() {
    let h = Harness::new();
    let p = h.init("tx");
    // Nothing added: ending is an invalid state transition (clients don't send it).
    assert_eq!(end(&h, "tx", p, true), Err(TxnError::InvalidTxnState));
    assert_eq!(end(&h, "tx", p, false), Err(TxnError::InvalidTxnState));

    h.add_ok("tx", p, &[("orders", 0)]);
    let stale = ProducerIdAndEpoch {
        producer_epoch: p.producer_epoch - 1,
        ..p
    };
    assert_eq!(end(&h, "tx", stale, true), Err(TxnError::ProducerFenced));
    let other = ProducerIdAndEpoch {
        producer_id: p.producer_id + 100,
        ..p
    };
    assert_eq!(
        end(&h, "tx", other, true),
        Err(TxnError::InvalidProducerIdMapping)
    );
    assert_eq!(
        end(&h, "nope", p, true),
        Err(TxnError::InvalidProducerIdMapping)
    );
    assert_eq!(end(&h, "", p, true), Err(TxnError::InvalidRequest));
    assert_eq!(state(&h, "tx"), TxnState::Ongoing, "errors change nothing");

    end(&h, "tx", p, true).unwrap();
    // A retried commit succeeds; an abort of a committed transaction does not.
    assert_eq!(end(&h, "tx", p, true), Ok(()));
    assert_eq!(end(&h, "tx", p, false), Err(TxnError::InvalidTxnState));
    assert_eq!(
        h.log("orders", 0).log_end_offset(),
        1,
        "the retry wrote no second marker"
    );
}

#[test]
fn unknown_transactional_ids_are_refused() {
    let h = Harness::new();
    let ghost = ProducerIdAndEpoch {
        producer_id: 5,
        producer_epoch: 0,
    };
    for r in h.add("ghost", ghost, &[("orders", 0), ("orders", 1)]) {
        assert_eq!(r.result, Err(TxnError::InvalidProducerIdMapping));
    }
    assert_eq!(
        h.coord().add_offsets_to_txn("ghost", 5, 0, "g"),
        Err(TxnError::InvalidProducerIdMapping)
    );
    assert_eq!(
        end(&h, "ghost", ghost, false),
        Err(TxnError::InvalidProducerIdMapping)
    );
    let d = h.coord().describe_transactions(&["ghost".to_string()]);
    assert_eq!(d[0].result, Err(TxnError::TransactionalIdNotFound));
    assert_eq!(TxnError::TransactionalIdNotFound.code(), 105);
}

#[test]
fn init_producer_id_validates_its_input() {
    let h = Harness::new();
    let c = h.coord();
    assert_eq!(
        c.init_producer_id(&init_request("tx", 900_001)),
        Err(TxnError::InvalidTransactionTimeout)
    );
    assert_eq!(
        c.init_producer_id(&init_request("tx", 0)),
        Err(TxnError::InvalidTransactionTimeout)
    );
    assert_eq!(TxnError::InvalidTransactionTimeout.code(), 50);
    assert!(c.metadata("tx").is_none(), "nothing created");
    assert!(c.init_producer_id(&init_request("tx", 900_000)).is_ok());
    assert_eq!(
        c.init_producer_id(&init_request("", 1000)),
        Err(TxnError::InvalidRequest)
    );
    let half = InitProducerIdRequest {
        producer_id: 3,
        producer_epoch: -1,
        ..init_request("tx", 1000)
    };
    assert_eq!(c.init_producer_id(&half), Err(TxnError::InvalidRequest));
    // Without a transactional id the timeout is ignored.
    let idempotent = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: i32::MAX,
        producer_id: -1,
        producer_epoch: -1,
    };
    assert!(c.init_producer_id(&idempotent).is_ok());
}

#[test]
fn an_unfinished_commit_makes_other_requests_wait() {
    let h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let a = h.produce("orders", 0, p, 0, 2).unwrap();
    h.set_failing(true);
    // The decision is durable, so EndTxn is acknowledged even though no marker is written.
    end(&h, "tx", p, true).unwrap();
    assert_eq!(state(&h, "tx"), TxnState::PrepareCommit);
    assert_eq!(h.log("orders", 0).last_stable_offset(), a.base_offset);

    let r = h.add("tx", p, &[("orders", 1)]);
    assert_eq!(r[0].result, Err(TxnError::ConcurrentTransactions));
    assert_eq!(
        h.coord()
            .add_offsets_to_txn("tx", p.producer_id, p.producer_epoch, "g"),
        Err(TxnError::ConcurrentTransactions)
    );
    assert_eq!(
        end(&h, "tx", p, true),
        Err(TxnError::ConcurrentTransactions)
    );
    assert_eq!(end(&h, "tx", p, false), Err(TxnError::InvalidTxnState));
    assert_eq!(
        h.coord().init_producer_id(&init_request("tx", 1000)),
        Err(TxnError::ConcurrentTransactions)
    );

    h.set_failing(false);
    assert_eq!(h.coord().complete_pending_transactions(), 1);
    assert_eq!(state(&h, "tx"), TxnState::CompleteCommit);
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(
        marker_at(&log, a.last_offset + 1).0,
        ControlRecordType::Commit
    );
}

#[test]
fn unknown_partitions_fail_alone_and_the_rest_is_not_attempted() {
    let h = Harness::new();
    let p = h.init("tx");
    let r = h.add("tx", p, &[("orders", 0), ("nope", 0)]);
    assert_eq!(r[0].result, Err(TxnError::OperationNotAttempted));
    assert_eq!(r[1].result, Err(TxnError::UnknownTopicOrPartition));
    let m = h.coord().metadata("tx").unwrap();
    assert_eq!(m.state, TxnState::Empty);
    assert!(m.partitions.is_empty());
}

#[test]
fn verify_only_checks_membership_without_adding() {
    let h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let verify = |id: &str, p: ProducerIdAndEpoch| {
        h.coord().add_partitions_to_txn(&AddPartitionsRequest {
            transactional_id: id.to_string(),
            producer_id: p.producer_id,
            producer_epoch: p.producer_epoch,
            verify_only: true,
            partitions: vec![("orders".into(), 0), ("orders".into(), 1)],
        })
    };
    let r = verify("tx", p);
    assert_eq!(r[0].result, Ok(()));
    assert_eq!(r[1].result, Err(TxnError::TransactionAbortable));
    assert_eq!(
        TxnError::TransactionAbortable.code_for(TxnApi::AddPartitionsToTxn, 5),
        120
    );
    assert_eq!(
        TxnError::TransactionAbortable.code_for(TxnApi::AddPartitionsToTxn, 4),
        48
    );
    assert_eq!(
        h.coord().metadata("tx").unwrap().partitions.len(),
        1,
        "verification adds nothing"
    );
    let stale = ProducerIdAndEpoch {
        producer_epoch: p.producer_epoch + 1,
        ..p
    };
    assert!(verify("tx", stale)
        .iter()
        .all(|r| r.result == Err(TxnError::ProducerFenced)));
    assert!(verify("ghost", p)
        .iter()
        .all(|r| r.result == Err(TxnError::InvalidProducerIdMapping)));
}

#[test]
fn kip_360_epoch_bumps_retries_and_fencing() {
    let h = Harness::new();
    let c = h.coord();
    let p0 = h.init("tx");
    let with = |p: ProducerIdAndEpoch| InitProducerIdRequest {
        producer_id: p.producer_id,
        producer_epoch: p.producer_epoch,
        ..init_request("tx", 60_000)
    };
    let p1 = c.init_producer_id(&with(p0)).unwrap();
    assert_eq!((p1.producer_id, p1.producer_epoch), (p0.producer_id, 1));
    // A retry of that bump (the response was lost) gets the same epoch.
    assert_eq!(c.init_producer_id(&with(p0)).unwrap(), p1);
    let p2 = c.init_producer_id(&with(p1)).unwrap();
    assert_eq!(p2.producer_epoch, 2);
    // A new producer (no expected epoch) takes over: the previous pairs are fenced.
    let p3 = h.init("tx");
    assert_eq!(p3.producer_epoch, 3);
    assert_eq!(c.init_producer_id(&with(p2)), Err(TxnError::ProducerFenced));
    let wrong_id = ProducerIdAndEpoch {
        producer_id: p3.producer_id + 1,
        ..p3
    };
    assert_eq!(
        c.init_producer_id(&with(wrong_id)),
        Err(TxnError::ProducerFenced)
    );

    // A producer bumping its epoch with an open transaction gets it aborted and is fenced,
    // as Kafka answers its retry.
    h.add_ok("tx", p3, &[("orders", 0)]);
    h.produce("orders", 0, p3, 0, 1).unwrap();
    assert_eq!(c.init_producer_id(&with(p3)), Err(TxnError::ProducerFenced));
    let log = h.log("orders", 0);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    assert_eq!(state(&h, "tx"), TxnState::CompleteAbort);
}

#[test]
fn idempotent_producers_always_get_a_new_id_at_epoch_zero() {
    let h = Harness::new();
    let req = |pid: i64, epoch: i16| InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 0,
        producer_id: pid,
        producer_epoch: epoch,
    };
    let a = h.coord().init_producer_id(&req(-1, -1)).unwrap();
    let b = h.coord().init_producer_id(&req(a.producer_id, 0)).unwrap();
    assert_eq!(a.producer_epoch, 0);
    assert_eq!(b.producer_epoch, 0);
    assert_ne!(a.producer_id, b.producer_id);
}

#[test]
fn transactional_offsets_are_visible_only_on_commit() {
    let h = Harness::new();
    let p = h.init("tx");
    let commit = |group: &str, p: ProducerIdAndEpoch, offset: i64| {
        h.coord().txn_offset_commit(&TxnOffsetCommitRequest {
            transactional_id: "tx".into(),
            group_id: group.into(),
            producer_id: p.producer_id,
            producer_epoch: p.producer_epoch,
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
            offsets: vec![TxnOffsetCommitPartition {
                topic: "orders".into(),
                partition: 0,
                committed_offset: offset,
                committed_leader_epoch: -1,
                committed_metadata: Some("m".into()),
            }],
            implicit_add: false,
        })[0]
            .result
    };
    // The group must be added first (TRANSACTION_ABORTABLE from v4, INVALID_TXN_STATE before).
    assert_eq!(commit("g", p, 42), Err(TxnError::TransactionAbortable));
    assert_eq!(
        TxnError::TransactionAbortable.code_for(TxnApi::TxnOffsetCommit, 3),
        48
    );
    assert_eq!(
        TxnError::TransactionAbortable.code_for(TxnApi::TxnOffsetCommit, 4),
        120
    );

    h.coord()
        .add_offsets_to_txn("tx", p.producer_id, p.producer_epoch, "g")
        .unwrap();
    assert_eq!(state(&h, "tx"), TxnState::Ongoing);
    commit("g", p, 42).unwrap();
    let stale = ProducerIdAndEpoch {
        producer_epoch: 9,
        ..p
    };
    assert_eq!(commit("g", stale, 43), Err(TxnError::ProducerFenced));
    assert_eq!(h.coord().pending_offsets("tx").unwrap().len(), 1);
    assert!(h.sink.committed.lock().is_empty(), "pending until commit");

    end(&h, "tx", p, true).unwrap();
    {
        let committed = h.sink.committed.lock();
        assert_eq!(committed.len(), 1);
        let (group, pid, offsets) = &committed[0];
        assert_eq!((group.as_str(), *pid), ("g", p.producer_id));
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0].offset, 42);
        assert_eq!(offsets[0].metadata.as_deref(), Some("m"));
    }
    assert!(h.coord().pending_offsets("tx").unwrap().is_empty());

    // An aborted transaction's offsets are dropped.
    h.coord()
        .add_offsets_to_txn("tx", p.producer_id, p.producer_epoch, "g")
        .unwrap();
    commit("g", p, 50).unwrap();
    end(&h, "tx", p, false).unwrap();
    assert_eq!(h.sink.committed.lock().len(), 1);
    assert_eq!(
        *h.sink.aborted.lock(),
        vec![("g".to_string(), p.producer_id)]
    );
    assert!(h.coord().pending_offsets("tx").unwrap().is_empty());
}

#[test]
fn describe_and_list_transactions() {
    let h = Harness::new();
    let a = h.init("a");
    h.add_ok("a", a, &[("orders", 1)]);
    h.coord()
        .add_offsets_to_txn("a", a.producer_id, a.producer_epoch, "g")
        .unwrap();
    let b = h.init("b");

    let d = h.coord().describe_transactions(&["a".into(), "b".into()]);
    let da = d[0].result.as_ref().unwrap();
    assert_eq!(da.state, TxnState::Ongoing);
    assert_eq!(da.producer_id, a.producer_id);
    assert_eq!(da.transaction_timeout_ms, 60_000);
    assert!(da.transaction_start_time_ms > 0);
    assert_eq!(
        da.partitions,
        vec![
            TxnPartition::data("orders", 1),
            TxnPartition::GroupOffsets("g".into())
        ]
    );
    let db = d[1].result.as_ref().unwrap();
    assert_eq!(db.state, TxnState::Empty);
    assert_eq!(db.transaction_start_time_ms, -1);

    let list = |states: &[&str], pids: &[i64]| {
        h.coord().list_transactions(&ListTransactionsFilter {
            states: states.iter().map(|s| s.to_string()).collect(),
            producer_ids: pids.to_vec(),
            duration_ms: -1,
        })
    };
    let all = list(&[], &[]);
    assert_eq!(
        all.transactions
            .iter()
            .map(|t| t.transactional_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let ongoing = list(&["Ongoing"], &[]);
    assert_eq!(ongoing.transactions.len(), 1);
    assert_eq!(ongoing.transactions[0].transactional_id, "a");
    let by_pid = list(&[], &[b.producer_id]);
    assert_eq!(by_pid.transactions.len(), 1);
    assert_eq!(by_pid.transactions[0].state, TxnState::Empty);
    let bogus = list(&["Bogus"], &[]);
    assert_eq!(bogus.unknown_state_filters, vec!["Bogus".to_string()]);
    assert!(bogus.transactions.is_empty());
}

#[test]
fn describe_producers_reads_the_partition_state() {
    let h = Harness::new();
    let p = h.init("tx");
    h.add_ok("tx", p, &[("orders", 0)]);
    let a = h.produce("orders", 0, p, 0, 3).unwrap();
    let ps = describe_producers(&h.storage, "orders", 0).unwrap();
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].producer_id, p.producer_id);
    assert_eq!(ps[0].producer_epoch, 0);
    assert_eq!(ps[0].last_sequence, 2);
    assert_eq!(ps[0].current_txn_start_offset, a.base_offset);
    end(&h, "tx", p, true).unwrap();
    let ps = describe_producers(&h.storage, "orders", 0).unwrap();
    assert_eq!(ps[0].current_txn_start_offset, -1);
    assert_eq!(ps[0].coordinator_epoch, 0);
    assert_eq!(
        describe_producers(&h.storage, "nope", 0),
        Err(TxnError::UnknownTopicOrPartition)
    );
    assert_eq!(
        h.writer.written.lock().clone(),
        vec![(
            "orders".to_string(),
            0,
            p.producer_id,
            p.producer_epoch,
            TxnResult::Commit
        )]
    );
}

#[test]
fn verify_produce_accepts_only_added_partitions_of_the_current_epoch() {
    let h = Harness::new();
    let c = h.coord();
    let p = h.init("tx");
    assert_eq!(
        c.verify_produce("tx", p.producer_id, p.producer_epoch, "orders", 0),
        Err(TxnError::TransactionAbortable),
        "no transaction open"
    );
    h.add_ok("tx", p, &[("orders", 0)]);
    assert_eq!(
        c.verify_produce("tx", p.producer_id, p.producer_epoch, "orders", 0),
        Ok(())
    );
    assert_eq!(
        c.verify_produce("tx", p.producer_id, p.producer_epoch, "orders", 1),
        Err(TxnError::TransactionAbortable)
    );
    assert_eq!(
        c.verify_produce("tx", p.producer_id, p.producer_epoch + 1, "orders", 0),
        Err(TxnError::InvalidProducerEpoch)
    );
    assert_eq!(
        c.verify_produce("other", p.producer_id, p.producer_epoch, "orders", 0),
        Err(TxnError::InvalidProducerIdMapping)
    );
}

#[test]
fn pending_offsets_make_the_partition_unstable_until_the_end() {
    let h = Harness::new();
    let c = h.coord();
    let p = h.init("tx");
    c.add_offsets_to_txn("tx", p.producer_id, p.producer_epoch, "g")
        .unwrap();
    let r = c.txn_offset_commit(&TxnOffsetCommitRequest {
        transactional_id: "tx".into(),
        group_id: "g".into(),
        producer_id: p.producer_id,
        producer_epoch: p.producer_epoch,
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        offsets: vec![TxnOffsetCommitPartition {
            topic: "orders".into(),
            partition: 1,
            committed_offset: 3,
            committed_leader_epoch: -1,
            committed_metadata: None,
        }],
        implicit_add: false,
    });
    assert_eq!(r[0].result, Ok(()));
    assert!(c.has_pending_offset("g", "orders", 1).unwrap());
    assert!(!c.has_pending_offset("g", "orders", 0).unwrap());
    assert!(!c.has_pending_offset("other", "orders", 1).unwrap());
    end(&h, "tx", p, true).unwrap();
    assert!(!c.has_pending_offset("g", "orders", 1).unwrap());
}

#[test]
fn idle_producers_expire_from_partition_state_unless_in_a_transaction() {
    let h = Harness::new();
    let idle = h.init("idle");
    h.add_ok("idle", idle, &[("orders", 0)]);
    h.produce("orders", 0, idle, 0, 1).unwrap();
    end(&h, "idle", idle, true).unwrap();
    let open = h.init("open");
    h.add_ok("open", open, &[("orders", 0)]);
    h.produce("orders", 0, open, 0, 1).unwrap();

    let now = h.coord().now_ms();
    assert_eq!(
        expire_idle_producers(&h.storage, now, now),
        0,
        "nothing older"
    );
    // The commit marker (stamped now) was the idle producer's last write.
    assert_eq!(expire_idle_producers(&h.storage, now, 86_400_000), 0);
    assert_eq!(
        expire_idle_producers(&h.storage, now + 86_400_001, 86_400_000),
        1
    );
    let left: Vec<i64> = describe_producers(&h.storage, "orders", 0)
        .unwrap()
        .iter()
        .map(|p| p.producer_id)
        .collect();
    assert_eq!(left, vec![open.producer_id]);
}
