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
