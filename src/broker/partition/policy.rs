//! The produce policy of a partition: what a batch must be before it is appended. Checked
//! in request order when the request is dispatched (validation, transactions), and on the
//! writer (timestamps, recompression), so that a malformed request appends nothing.

use bytes::{Bytes, BytesMut};

use super::error::PartitionError;
use crate::broker::topic_config::TopicSettings;
use crate::broker::txn::{TxnCoordinator, TxnError};
use crate::storage::record::batch::split_batches;
use crate::storage::record::{recompress_level, BatchHeader};
use crate::storage::types::DEFAULT_MAX_DECOMPRESSED;
use crate::storage::TimestampType;

/// Checks every batch of a partition's records before anything is appended and returns
/// the byte range of each. The CRC is checked by the log on append.
pub(super) fn validate_batches(
    records: &Bytes,
    max_batch_bytes: usize,
) -> Result<Vec<(usize, usize)>, PartitionError> {
    let mut ranges = Vec::new();
    let mut pos = 0usize;
    for item in split_batches(records) {
        let (header, bytes): (BatchHeader, &[u8]) =
            item.map_err(|_| PartitionError::CorruptRecords("unparsable batch"))?;
        let len = bytes.len();
        if len > max_batch_bytes {
            return Err(PartitionError::RecordsTooLarge {
                size: len,
                max: max_batch_bytes,
            });
        }
        if header.record_count <= 0
            || header.last_offset_delta != header.record_count - 1
            || header.is_control()
            || header.compression_id() > 4
        {
            return Err(PartitionError::InvalidBatch("bad batch header"));
        }
        ranges.push((pos, pos + len));
        pos += len;
    }
    if pos != records.len() {
        // A truncated or garbled tail: sizes that do not add up.
        return Err(PartitionError::CorruptRecords("truncated records"));
    }
    Ok(ranges)
}

/// The Produce version of transaction.version 2 clients (KIP-890 part 2).
const IMPLICIT_ADD_PRODUCE_VERSION: i16 = 12;
/// The first Produce version that understands TRANSACTION_ABORTABLE.
const ABORTABLE_PRODUCE_VERSION: i16 = 11;

/// KIP-890 verification: every transactional producer in `records` must have added this
/// partition to its ongoing transaction (Produce v11 and older), or adds it now (v12+,
/// transaction.version 2, as Kafka's partition leader does). A transactional batch in a
/// request without a transactional id is refused.
pub(super) fn verify_transactions(
    txns: &TxnCoordinator,
    transactional_id: Option<&str>,
    topic: &str,
    partition: i32,
    records: &Bytes,
    produce_version: i16,
) -> Result<(), PartitionError> {
    let mut checked: Option<(i64, i16)> = None;
    for item in split_batches(records) {
        let Ok((header, _)) = item else {
            return Err(PartitionError::CorruptRecords("unparsable batch"));
        };
        if !header.is_transactional() {
            continue;
        }
        let Some(transactional_id) = transactional_id else {
            return Err(PartitionError::TransactionalIdRequired);
        };
        let producer = (header.producer_id, header.producer_epoch);
        if checked == Some(producer) {
            continue;
        }
        let checked_now = if produce_version >= IMPLICIT_ADD_PRODUCE_VERSION {
            txns.add_produce_partition(transactional_id, producer.0, producer.1, topic, partition)
        } else {
            txns.verify_produce(transactional_id, producer.0, producer.1, topic, partition)
        };
        checked_now.map_err(|e| match e {
            TxnError::TransactionAbortable if produce_version < ABORTABLE_PRODUCE_VERSION => {
                PartitionError::from(TxnError::InvalidTxnState)
            }
            other => PartitionError::from(other),
        })?;
        checked = Some(producer);
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Applies a topic's `message.timestamp.before/after.max.ms` (CreateTime topics: the
/// batch's first and largest timestamps must lie in the window around now, else
/// INVALID_TIMESTAMP) and `compression.type` (the batch is recompressed when its codec
/// differs).
pub(super) fn apply_topic_settings(
    batch: BytesMut,
    settings: &TopicSettings,
) -> Result<BytesMut, PartitionError> {
    let h = BatchHeader::parse(&batch)
        .map_err(|_| PartitionError::CorruptRecords("unparsable batch header"))?;
    if settings.timestamp_type == TimestampType::CreateTime
        && (settings.timestamp_before_max_ms < i64::MAX
            || settings.timestamp_after_max_ms < i64::MAX)
    {
        let now = now_ms();
        let earliest = now.saturating_sub(settings.timestamp_before_max_ms);
        let latest = now.saturating_add(settings.timestamp_after_max_ms);
        let first = h.base_timestamp;
        let max = h.max_timestamp.max(first);
        if first < earliest || max > latest {
            return Err(PartitionError::InvalidTimestamp);
        }
    }
    match settings.compression {
        Some(c) if c.id() != h.compression_id() && !h.is_control() => recompress_level(
            &batch,
            c,
            settings.compression_level,
            DEFAULT_MAX_DECOMPRESSED,
        )
        .map(|b| BytesMut::from(&b[..]))
        .map_err(PartitionError::from),
        _ => Ok(batch),
    }
}

/// Whether a coordinator error means "retry later" to a producer (Kafka answers
/// NOT_ENOUGH_REPLICAS, which producers retry, while a transaction completes).
pub fn is_retriable_txn_error(e: &TxnError) -> bool {
    matches!(
        e,
        TxnError::ConcurrentTransactions | TxnError::CoordinatorNotAvailable
    )
}

/// Whether `records` holds a transactional batch (Kafka refuses such a Produce request when
/// it names no transactional id).
pub fn has_transactional_batch(records: &[u8]) -> bool {
    split_batches(records).any(|b| b.is_ok_and(|(header, _)| header.is_transactional()))
}
