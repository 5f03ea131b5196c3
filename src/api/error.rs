//! The one place where lower layers' errors become Kafka error codes.

use kafka_protocol::error::ResponseError;

use crate::broker::BrokerError;
use crate::storage::StorageError;

/// Kafka's "no error" code.
pub const NONE: i16 = 0;

/// The Kafka error code for a storage error.
pub fn storage_error_code(e: &StorageError) -> i16 {
    #[allow(unreachable_patterns)]
    let err = match e {
        StorageError::OffsetOutOfRange { .. } | StorageError::InvalidOffset(_) => {
            ResponseError::OffsetOutOfRange
        }
        StorageError::ChecksumMismatch { .. }
        | StorageError::InvalidBatch(_)
        | StorageError::Compression(_) => ResponseError::CorruptMessage,
        StorageError::BatchTooLarge { .. } => ResponseError::MessageTooLarge,
        StorageError::InvalidRecord { .. } => ResponseError::InvalidRecord,
        StorageError::DecompressedTooLarge { .. } => ResponseError::CorruptMessage,
        StorageError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        StorageError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
        StorageError::UnknownPartition(_) => ResponseError::UnknownTopicOrPartition,
        StorageError::LogClosed => ResponseError::NotLeaderOrFollower,
        StorageError::LogCorrupted(_)
        | StorageError::SegmentNotFound(_)
        | StorageError::StateCorrupted(_)
        | StorageError::StateStoreClosed
        | StorageError::InvalidStateRequest(_)
        | StorageError::Io(_) => ResponseError::KafkaStorageError,
        _ => ResponseError::UnknownServerError,
    };
    err.code()
}

/// The Kafka error code for a broker-layer error.
pub fn broker_error_code(e: &BrokerError) -> i16 {
    match e {
        BrokerError::InvalidTopic { .. } => ResponseError::InvalidTopicException.code(),
        BrokerError::InvalidPartitions(_) => ResponseError::InvalidPartitions.code(),
        BrokerError::Storage(s) => storage_error_code(s),
        BrokerError::UnknownTopic(_) => ResponseError::UnknownTopicOrPartition.code(),
        BrokerError::InvalidConfig(_) => ResponseError::InvalidConfig.code(),
        BrokerError::CorruptMetadata { .. } | BrokerError::Io(_) => {
            ResponseError::KafkaStorageError.code()
        }
    }
}

/// Checks a client's `current_leader_epoch` (-1: no check) against the partition's.
pub fn leader_epoch_check(requested: i32, current: i32) -> i16 {
    if requested < 0 || requested == current {
        NONE
    } else if requested < current {
        ResponseError::FencedLeaderEpoch.code()
    } else {
        ResponseError::UnknownLeaderEpoch.code()
    }
}

/// Shorthand for a Kafka error's code.
pub fn code(e: ResponseError) -> i16 {
    e.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_to_kafka_codes() {
        let crc = StorageError::ChecksumMismatch {
            stored: 1,
            computed: 2,
        };
        assert_eq!(storage_error_code(&crc), 2);
        let big = StorageError::BatchTooLarge { size: 2, max: 1 };
        assert_eq!(storage_error_code(&big), 10);
        let oor = StorageError::OffsetOutOfRange {
            offset: 9,
            start: 0,
            end: 1,
        };
        assert_eq!(storage_error_code(&oor), 1);
    }

    #[test]
    fn leader_epoch_checks() {
        assert_eq!(leader_epoch_check(-1, 3), NONE);
        assert_eq!(leader_epoch_check(3, 3), NONE);
        assert_eq!(leader_epoch_check(2, 3), 74);
        assert_eq!(leader_epoch_check(4, 3), 75);
    }
}
