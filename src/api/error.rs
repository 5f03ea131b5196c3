//! The one place where lower layers' errors become Kafka error codes.

use kafka_protocol::error::ResponseError;

use crate::broker::partition::is_retriable_txn_error;
use crate::broker::security::SaslError;
use crate::broker::{BrokerError, PartitionError, StorageError};

/// Kafka's "no error" code.
pub const NONE: i16 = 0;

/// The Kafka error code for a storage error.
pub fn storage_error_code(e: &StorageError) -> i16 {
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
        | StorageError::LogDirOffline(_)
        | StorageError::LogDirMismatch(_)
        | StorageError::Io(_)
        | StorageError::SyncFailed(_) => ResponseError::KafkaStorageError,
        StorageError::UnknownLogDir(_) => ResponseError::LogDirNotFound,
        StorageError::CleaningAborted(_) => ResponseError::UnknownServerError,
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

/// The Kafka error code for an ACL store error (the store failed: UNKNOWN_SERVER_ERROR, as
/// Kafka answers an unexpected failure).
pub fn acl_error_code(e: &crate::broker::authorizer::AclError) -> i16 {
    use crate::broker::authorizer::AclError;
    match e {
        AclError::Store(_) | AclError::Corrupt(_) => ResponseError::UnknownServerError.code(),
    }
}

/// The Kafka error code for a client quota error.
pub fn quota_error_code(e: &crate::broker::quota::QuotaError) -> i16 {
    use crate::broker::quota::QuotaError;
    let err = match e {
        QuotaError::InvalidRequest(_) => ResponseError::InvalidRequest,
        QuotaError::UnsupportedEntityType(_) => ResponseError::UnsupportedVersion,
        QuotaError::Store(_) | QuotaError::Corrupt(_) => ResponseError::UnknownServerError,
    };
    err.code()
}

/// THROTTLING_QUOTA_EXCEEDED, for a mutation refused by a strict controller mutation quota.
pub fn throttling_quota_code(_e: &crate::broker::quota::ThrottlingQuotaExceeded) -> i16 {
    ResponseError::ThrottlingQuotaExceeded.code()
}

/// The Kafka error code for a partition error.
pub fn partition_error_code(e: &PartitionError) -> i16 {
    let err = match e {
        PartitionError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        PartitionError::InvalidTopic(_) => ResponseError::InvalidTopicException,
        PartitionError::NotEnoughReplicas => ResponseError::NotEnoughReplicas,
        PartitionError::CorruptRecords(_) => ResponseError::CorruptMessage,
        PartitionError::RecordsTooLarge { .. } => ResponseError::MessageTooLarge,
        PartitionError::InvalidBatch(_) | PartitionError::InvalidRecord { .. } => {
            ResponseError::InvalidRecord
        }
        PartitionError::InvalidTimestamp => ResponseError::InvalidTimestamp,
        PartitionError::TransactionalIdRequired => {
            ResponseError::TransactionalIdAuthorizationFailed
        }
        // A transaction still completing: producers retry NOT_ENOUGH_REPLICAS.
        PartitionError::Transaction(t) if is_retriable_txn_error(t) => {
            ResponseError::NotEnoughReplicas
        }
        PartitionError::Transaction(t) => return t.code(),
        PartitionError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
        PartitionError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
        PartitionError::OffsetOutOfRange(_) => ResponseError::OffsetOutOfRange,
        PartitionError::PolicyViolation(_) => ResponseError::PolicyViolation,
        PartitionError::InvalidRequest => ResponseError::InvalidRequest,
        PartitionError::WriterStopped => ResponseError::NotLeaderOrFollower,
        PartitionError::Storage(s) => return storage_error_code(s),
    };
    err.code()
}

/// The code of a refused or failed feature update.
pub fn feature_error_code(e: &crate::broker::features::FeatureError) -> i16 {
    use crate::broker::features::FeatureError;
    match e {
        FeatureError::InvalidUpdateVersion(_) => ResponseError::InvalidUpdateVersion.code(),
        FeatureError::Store(s) => storage_error_code(s),
        FeatureError::Corrupt(_) => ResponseError::UnknownServerError.code(),
    }
}

/// The top-level Fetch error for a request that cannot go on in its session.
pub fn fetch_session_error_code(e: &super::fetch_session::FetchSessionError) -> i16 {
    use super::fetch_session::FetchSessionError;
    let err = match e {
        FetchSessionError::NotFound(_) => ResponseError::FetchSessionIdNotFound,
        FetchSessionError::InvalidEpoch { .. } => ResponseError::InvalidFetchSessionEpoch,
        FetchSessionError::TopicIdMismatch(_) => ResponseError::FetchSessionTopicIdError,
    };
    err.code()
}

/// The code of a refused telemetry request (KIP-714).
pub fn telemetry_error_code(e: &crate::broker::client_metrics::TelemetryError) -> i16 {
    use crate::broker::client_metrics::TelemetryError;
    let err = match e {
        TelemetryError::Throttled(_) => ResponseError::ThrottlingQuotaExceeded,
        TelemetryError::UnknownSubscription(_) => ResponseError::UnknownSubscriptionId,
        TelemetryError::UnsupportedCompression(..) => ResponseError::UnsupportedCompressionType,
        TelemetryError::TooLarge(..) => ResponseError::TelemetryTooLarge,
        TelemetryError::InvalidRequest(_) => ResponseError::InvalidRequest,
        TelemetryError::InvalidPayload(..) => ResponseError::InvalidRecord,
    };
    err.code()
}

/// The code of a refused client-metrics subscription change.
pub fn subscription_error_code(e: &crate::broker::client_metrics::SubscriptionError) -> i16 {
    use crate::broker::client_metrics::SubscriptionError;
    let err = match e {
        SubscriptionError::EmptyName
        | SubscriptionError::UnknownConfig(_)
        | SubscriptionError::BadInterval(_) => ResponseError::InvalidRequest,
        SubscriptionError::BadMatch(_) | SubscriptionError::IntervalNotANumber(_) => {
            ResponseError::InvalidConfig
        }
        SubscriptionError::Store(_) => ResponseError::KafkaStorageError,
        SubscriptionError::Corrupt(_) => ResponseError::UnknownServerError,
    };
    err.code()
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

/// The Kafka error code for a share-group error.
pub fn share_error_code(e: &crate::broker::share::ShareError) -> i16 {
    use crate::broker::share::ShareError;
    let err = match e {
        ShareError::InvalidRequest(_) => ResponseError::InvalidRequest,
        ShareError::InvalidRecordState(_) => ResponseError::InvalidRecordState,
        ShareError::InvalidShareSessionEpoch => ResponseError::InvalidShareSessionEpoch,
        ShareError::ShareSessionNotFound => ResponseError::ShareSessionNotFound,
        ShareError::ShareSessionLimitReached => ResponseError::ShareSessionLimitReached,
        ShareError::UnknownMemberId => ResponseError::UnknownMemberId,
        ShareError::FencedMemberEpoch => ResponseError::FencedMemberEpoch,
        ShareError::GroupIdNotFound(_) => ResponseError::GroupIdNotFound,
        ShareError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        ShareError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
        ShareError::InvalidGroupId => ResponseError::InvalidGroupId,
        ShareError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        ShareError::UnknownTopicId => ResponseError::UnknownTopicId,
        ShareError::Storage(_) | ShareError::Corrupt(_) => ResponseError::KafkaStorageError,
    };
    err.code()
}

/// Shorthand for a Kafka error's code.
pub fn code(e: ResponseError) -> i16 {
    e.code()
}

/// The Kafka error code for an authentication or SCRAM credential error.
pub fn sasl_error_code(e: &SaslError) -> i16 {
    let err = match e {
        SaslError::UnsupportedMechanism(_) | SaslError::UnknownScramMechanism => {
            ResponseError::UnsupportedSaslMechanism
        }
        SaslError::IllegalState(_) => ResponseError::IllegalSaslState,
        SaslError::AuthenticationFailed(_) => ResponseError::SaslAuthenticationFailed,
        SaslError::UnacceptableCredential(_) => ResponseError::UnacceptableCredential,
        SaslError::NotFound(_) => ResponseError::ResourceNotFound,
        SaslError::Duplicate(_) => ResponseError::DuplicateResource,
        SaslError::Store(s) => return storage_error_code(s),
        SaslError::Corrupt(_) => ResponseError::KafkaStorageError,
    };
    err.code()
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
    fn partition_errors_map_to_kafka_codes() {
        use crate::broker::txn::TxnError;
        assert_eq!(
            partition_error_code(&PartitionError::InvalidTopic("__consumer_offsets".into())),
            17
        );
        assert_eq!(partition_error_code(&PartitionError::NotEnoughReplicas), 19);
        assert_eq!(
            partition_error_code(&PartitionError::Transaction(
                TxnError::ConcurrentTransactions
            )),
            19
        );
        assert_eq!(
            partition_error_code(&PartitionError::TransactionalIdRequired),
            53
        );
        assert_eq!(partition_error_code(&PartitionError::InvalidTimestamp), 32);
        let oor = StorageError::OffsetOutOfRange {
            offset: 9,
            start: 0,
            end: 1,
        };
        assert_eq!(partition_error_code(&PartitionError::from(oor)), 1);
    }

    #[test]
    fn fetch_session_errors_map_to_kafka_codes() {
        use crate::api::fetch_session::FetchSessionError;
        assert_eq!(
            fetch_session_error_code(&FetchSessionError::NotFound(7)),
            70
        );
        let epoch = FetchSessionError::InvalidEpoch {
            id: 7,
            expected: 2,
            got: 1,
        };
        assert_eq!(fetch_session_error_code(&epoch), 71);
        assert_eq!(
            fetch_session_error_code(&FetchSessionError::TopicIdMismatch(7)),
            106
        );
    }

    #[test]
    fn leader_epoch_checks() {
        assert_eq!(leader_epoch_check(-1, 3), NONE);
        assert_eq!(leader_epoch_check(3, 3), NONE);
        assert_eq!(leader_epoch_check(2, 3), 74);
        assert_eq!(leader_epoch_check(4, 3), 75);
    }
}
