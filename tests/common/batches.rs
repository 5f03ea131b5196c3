//! Test helper: builds Kafka v2 record batches with kafka-protocol's encoder, an independent
//! implementation of the format.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// A batch of `count` records whose values encode `(tag, i)`, all stamped `timestamp`.
pub fn batch(tag: u64, count: usize, timestamp: i64) -> BytesMut {
    batch_with(tag, count, |_| timestamp, Compression::None)
}

/// A batch whose record `i` has timestamp `ts(i)`.
pub fn batch_with(
    tag: u64,
    count: usize,
    ts: impl Fn(usize) -> i64,
    compression: Compression,
) -> BytesMut {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            delete_horizon: false,
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: ts(i),
            key: Some(Bytes::from(format!("key-{tag}-{i}"))),
            value: Some(Bytes::from(format!(
                "value-{tag}-{i}-{}",
                "x".repeat(i % 7)
            ))),
            headers: [(
                StrBytes::from_static_str("h"),
                Some(Bytes::from_static(b"v")),
            )]
            .into_iter()
            .collect(),
        })
        .collect();
    encode(&records, compression)
}

/// A producer's batch (idempotent, or transactional): one record per key, sequences from
/// `base_seq`, values `value`, uncompressed.
pub fn producer_batch(
    pid: i64,
    epoch: i16,
    base_seq: i32,
    transactional: bool,
    keys: &[String],
    value: &'static [u8],
) -> Bytes {
    let records: Vec<Record> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Record {
            delete_horizon: false,
            transactional,
            control: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_seq + i as i32,
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(key.clone())),
            value: Some(Bytes::from_static(value)),
            headers: Default::default(),
        })
        .collect();
    encode(&records, Compression::None).freeze()
}

/// Encodes `records` as one v2 batch with `compression`.
pub fn encode(records: &[Record], compression: Compression) -> BytesMut {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf
}

/// The CRC field of a batch.
pub fn crc_of(batch: &[u8]) -> u32 {
    u32::from_be_bytes([batch[17], batch[18], batch[19], batch[20]])
}
