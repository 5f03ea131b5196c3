//! Appends to a compacted log must carry a key on every record: Kafka refuses the batch with
//! `INVALID_RECORD` and one record error per keyless record (Produce v8+).

use std::path::Path;

use bytes::Bytes;

use crate::storage::error::{RecordError, Result, StorageError};
use crate::storage::record::BatchHeader;
use crate::storage::types::MessageBatch;

/// Checks that every record of a data batch has a key; `partition` names the partition in
/// the messages (Kafka's wording). Control batches pass. Decompresses the batch if needed
/// (at most `max_decompressed` bytes). Fails with [`StorageError::InvalidRecord`] listing each
/// keyless record's index in the batch.
pub fn validate_keys(batch: &[u8], partition: &str, max_decompressed: usize) -> Result<()> {
    let h = BatchHeader::parse(batch)?;
    if h.is_control() {
        return Ok(());
    }
    let batch = MessageBatch::from_parts(Bytes::copy_from_slice(batch), h);
    let mut errors = Vec::new();
    for (i, r) in batch.records(max_decompressed)?.enumerate() {
        if r?.key.is_none() {
            errors.push(RecordError {
                batch_index: i32::try_from(i).unwrap_or(i32::MAX),
                message: format!(
                    "Compacted topic cannot accept message without key in topic partition {partition}"
                ),
            });
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| {
            format!(
                "RecordError(batchIndex={}, message='{}')",
                e.batch_index, e.message
            )
        })
        .collect();
    Err(StorageError::InvalidRecord {
        message: format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            errors.len(),
            shown.join(", ")
        ),
        record_errors: errors,
    })
}

/// The partition name of a log directory (`<topic>-<partition>`).
pub fn partition_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::BatchBuilder;
    use crate::storage::Compression;

    #[test]
    fn keyless_records_are_listed() {
        let mut b = BatchBuilder::new(Compression::Gzip);
        b.push(Some(b"k"), Some(b"v"), &[], 1).unwrap();
        b.push(None, Some(b"v"), &[], 1).unwrap();
        b.push(Some(b"k"), None, &[], 1).unwrap();
        b.push(None, None, &[], 1).unwrap();
        let bytes = b.build().unwrap();
        match validate_keys(&bytes, "t-0", 1 << 20) {
            Err(StorageError::InvalidRecord { record_errors, .. }) => {
                let idx: Vec<i32> = record_errors.iter().map(|e| e.batch_index).collect();
                assert_eq!(idx, vec![1, 3]);
                assert!(record_errors[0].message.ends_with("topic partition t-0"));
            }
            other => panic!("{other:?}"),
        }
        let mut ok = BatchBuilder::new(Compression::None);
        ok.push(Some(b"k"), None, &[], 1).unwrap();
        validate_keys(&ok.build().unwrap(), "t-0", 1 << 20).unwrap();
    }
}
