//! Shared harness of the transaction coordinator tests: partition logs, a state store, a
//! marker writer that can be made to fail, and an offset sink that records what it gets.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use parking_lot::Mutex;
use skiff::broker::txn::{
    AddPartitionsRequest, InitProducerIdRequest, LogMarkerWriter, MarkerWriter, OffsetSink,
    PartitionResult, ProducerIdAndEpoch, TokioClock, TxnConfig, TxnCoordinator, TxnError,
    TxnOffset, TxnResult,
};
use skiff::storage::kv::{StateStore, StateStoreConfig};
use skiff::storage::record::BatchBuilder;
use skiff::storage::{
    AppendInfo, Compression, FsyncPolicy, Log, LogConfig, Storage, StorageError, TimestampType,
};
use tempfile::TempDir;

/// A marker written: (topic, partition, producer id, producer epoch, result).
pub type Written = (String, i32, i64, i16, TxnResult);

/// A marker writer over the logs that fails while `fail` is set.
pub struct SwitchableWriter {
    inner: LogMarkerWriter,
    pub fail: AtomicBool,
    /// Fails only for this partition.
    pub fail_on: Mutex<Option<(String, i32)>>,
    pub written: Mutex<Vec<Written>>,
}

impl MarkerWriter for SwitchableWriter {
    fn partition_exists(&self, topic: &str, partition: i32) -> bool {
        self.inner.partition_exists(topic, partition)
    }

    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        result: TxnResult,
        timestamp_ms: i64,
    ) -> Result<(), TxnError> {
        let this = Some((topic.to_string(), partition));
        if self.fail.load(Ordering::SeqCst) || *self.fail_on.lock() == this {
            return Err(TxnError::KafkaStorageError);
        }
        self.inner.write_marker(
            topic,
            partition,
            producer_id,
            producer_epoch,
            coordinator_epoch,
            result,
            timestamp_ms,
        )?;
        self.written.lock().push((
            topic.to_string(),
            partition,
            producer_id,
            producer_epoch,
            result,
        ));
        Ok(())
    }
}

/// Records the offsets committed and the aborts it is told of.
#[derive(Default)]
pub struct RecordingSink {
    pub committed: Mutex<Vec<(String, i64, Vec<TxnOffset>)>>,
    pub aborted: Mutex<Vec<(String, i64)>>,
}

impl OffsetSink for RecordingSink {
    fn commit_txn_offsets(
        &self,
        group_id: &str,
        producer_id: i64,
        offsets: &[TxnOffset],
    ) -> Result<(), TxnError> {
        self.committed
            .lock()
            .push((group_id.to_string(), producer_id, offsets.to_vec()));
        Ok(())
    }

    fn abort_txn_offsets(&self, group_id: &str, producer_id: i64) -> Result<(), TxnError> {
        self.aborted
            .lock()
            .push((group_id.to_string(), producer_id));
        Ok(())
    }
}

pub struct Harness {
    pub dir: TempDir,
    pub storage: Arc<Storage>,
    pub writer: Arc<SwitchableWriter>,
    pub sink: Arc<RecordingSink>,
    pub config: TxnConfig,
    pub coord: Option<Arc<TxnCoordinator>>,
}

pub fn log_config() -> LogConfig {
    LogConfig {
        segment_ms: None,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

fn state_dir(dir: &TempDir) -> PathBuf {
    dir.path().join("state")
}

pub fn open_store(dir: &TempDir) -> Arc<StateStore> {
    let config = StateStoreConfig {
        background_maintenance: false,
        ..StateStoreConfig::default()
    };
    Arc::new(StateStore::open(state_dir(dir), config).unwrap())
}

impl Harness {
    /// Partitions `orders-0`, `orders-1` and `payments-0` exist.
    pub fn new() -> Harness {
        Harness::with_config(TxnConfig::default())
    }

    pub fn with_config(config: TxnConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(Storage::open(&dir.path().join("data"), log_config()).unwrap());
        for (t, p) in [("orders", 0), ("orders", 1), ("payments", 0)] {
            storage.get_or_create(t, p, log_config()).unwrap();
        }
        let writer = Arc::new(SwitchableWriter {
            inner: LogMarkerWriter::new(Arc::clone(&storage)),
            fail: AtomicBool::new(false),
            fail_on: Mutex::new(None),
            written: Mutex::new(Vec::new()),
        });
        let mut h = Harness {
            dir,
            storage,
            writer,
            sink: Arc::new(RecordingSink::default()),
            config,
            coord: None,
        };
        h.coord = Some(h.open_coordinator());
        h
    }

    fn open_coordinator(&self) -> Arc<TxnCoordinator> {
        TxnCoordinator::open(
            self.config.clone(),
            open_store(&self.dir),
            self.writer.clone(),
            self.sink.clone(),
            Arc::new(TokioClock::new()),
        )
        .unwrap()
    }

    pub fn coord(&self) -> &TxnCoordinator {
        self.coord.as_ref().unwrap()
    }

    pub fn coord_arc(&self) -> Arc<TxnCoordinator> {
        Arc::clone(self.coord.as_ref().unwrap())
    }

    /// Drops the coordinator (and its state store) and opens both again.
    pub fn restart(&mut self) {
        let old = self.coord.take().unwrap();
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "a test still holds the coordinator"
        );
        drop(old);
        self.coord = Some(self.open_coordinator());
    }

    /// Restarts, running `f` on the state store while the coordinator is down.
    pub fn restart_with(&mut self, f: impl FnOnce(&StateStore)) {
        let old = self.coord.take().unwrap();
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "a test still holds the coordinator"
        );
        drop(old);
        {
            let store = open_store(&self.dir);
            f(&store);
        }
        self.coord = Some(self.open_coordinator());
    }

    pub fn set_failing(&self, fail: bool) {
        self.writer.fail.store(fail, Ordering::SeqCst);
    }

    pub fn log(&self, topic: &str, partition: i32) -> Arc<Log> {
        self.storage.get(topic, partition).unwrap()
    }

    pub fn init(&self, txn_id: &str) -> ProducerIdAndEpoch {
        self.coord()
            .init_producer_id(&init_request(txn_id, 60_000))
            .unwrap()
    }

    pub fn add(
        &self,
        txn_id: &str,
        p: ProducerIdAndEpoch,
        partitions: &[(&str, i32)],
    ) -> Vec<PartitionResult> {
        self.coord().add_partitions_to_txn(&AddPartitionsRequest {
            transactional_id: txn_id.to_string(),
            producer_id: p.producer_id,
            producer_epoch: p.producer_epoch,
            verify_only: false,
            partitions: partitions
                .iter()
                .map(|(t, n)| (t.to_string(), *n))
                .collect(),
        })
    }

    /// Adds partitions and asserts every one succeeded.
    pub fn add_ok(&self, txn_id: &str, p: ProducerIdAndEpoch, partitions: &[(&str, i32)]) {
        for r in self.add(txn_id, p, partitions) {
            assert_eq!(r.result, Ok(()), "{}-{}", r.topic, r.partition);
        }
    }

    /// Appends a transactional batch of `n` records.
    pub fn produce(
        &self,
        topic: &str,
        partition: i32,
        p: ProducerIdAndEpoch,
        seq: i32,
        n: usize,
    ) -> Result<AppendInfo, StorageError> {
        self.log(topic, partition)
            .append(txn_batch(p, seq, n), 0, TimestampType::CreateTime)
    }
}

pub fn init_request(txn_id: &str, timeout_ms: i32) -> InitProducerIdRequest {
    InitProducerIdRequest {
        transactional_id: Some(txn_id.to_string()),
        transaction_timeout_ms: timeout_ms,
        producer_id: -1,
        producer_epoch: -1,
    }
}

pub fn txn_batch(p: ProducerIdAndEpoch, seq: i32, n: usize) -> BytesMut {
    let mut b = BatchBuilder::new(Compression::None)
        .producer(p.producer_id, p.producer_epoch, seq)
        .transactional(true);
    for i in 0..n {
        let v = format!(
            "p{}-e{}-s{}",
            p.producer_id,
            p.producer_epoch,
            seq as usize + i
        );
        b.push(Some(b"k"), Some(v.as_bytes()), &[], 1_000).unwrap();
    }
    BytesMut::from(&b.build().unwrap()[..])
}
