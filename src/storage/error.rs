//! Errors of the storage layer.

use std::io;

/// Everything the storage engine can fail with. The API layer maps these to Kafka
/// error codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The requested offset lies outside `[log start offset, log end offset]`.
    #[error("offset {offset} out of range [{start}, {end}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: i64,
        /// The log start offset.
        start: i64,
        /// The log end offset.
        end: i64,
    },
    /// The log was closed and takes no more calls.
    #[error("log is closed")]
    LogClosed,
    /// The log's files are corrupt beyond what recovery repairs.
    #[error("log is corrupted: {0}")]
    LogCorrupted(String),
    /// An offset that can never be valid (for example negative).
    #[error("invalid offset {0}")]
    InvalidOffset(i64),
    /// No segment holds the requested position.
    #[error("segment not found for offset {0}")]
    SegmentNotFound(i64),
    /// A record batch's CRC32C does not match its contents.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// The CRC written in the batch.
        stored: u32,
        /// The CRC computed over the batch.
        computed: u32,
    },
    /// A record batch that is not a well-formed Kafka v2 batch.
    #[error("invalid record batch: {0}")]
    InvalidBatch(String),
    /// A batch or message larger than the configured limit.
    #[error("record batch of {size} bytes exceeds the limit of {max}")]
    BatchTooLarge {
        /// The batch's size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A compression codec that is unknown or whose data does not decode.
    #[error("compression error: {0}")]
    Compression(String),
    /// Decompressing a batch would produce more than the allowed number of bytes (a
    /// decompression bomb, or a limit set too low).
    #[error("decompressed records exceed the limit of {max} bytes")]
    DecompressedTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// The topic-partition is not known to the storage.
    #[error("unknown partition {0}")]
    UnknownPartition(String),
    /// A key-value state store record failed its checks.
    #[error("state store corrupted: {0}")]
    StateCorrupted(String),
    /// The state store was closed and takes no more calls.
    #[error("state store is closed")]
    StateStoreClosed,
    /// A state store request that can never succeed (for example a key too large to frame).
    #[error("invalid state store request: {0}")]
    InvalidStateRequest(String),
    /// Records rejected by per-record validation, as Kafka's `INVALID_RECORD` with record
    /// errors (for example keyless records appended to a compacted topic). The whole batch is
    /// refused.
    #[error("invalid record: {message}")]
    InvalidRecord {
        /// The overall error message (Kafka's `error_message`).
        message: String,
        /// One entry per rejected record (Kafka's `record_errors`).
        record_errors: Vec<RecordError>,
    },
    /// The log cleaner gave up on a pass (for example the log changed under it); nothing was
    /// lost and the next pass starts over.
    #[error("log cleaning aborted: {0}")]
    CleaningAborted(String),
    /// A producer wrote with an epoch older than the one the partition knows.
    #[error("producer {producer_id} epoch {epoch} is older than the current {current}")]
    InvalidProducerEpoch {
        /// The producer id.
        producer_id: i64,
        /// The epoch in the batch.
        epoch: i16,
        /// The epoch the partition knows.
        current: i16,
    },
    /// A producer's batch does not follow its previous sequence number.
    #[error("producer {producer_id}: expected sequence {expected}, got {got}")]
    OutOfOrderSequence {
        /// The producer id.
        producer_id: i64,
        /// The sequence the partition expected.
        expected: i32,
        /// The sequence in the batch.
        got: i32,
    },
    /// The log directory holding the partition failed (an I/O error) and is offline.
    #[error("log directory {0} is offline")]
    LogDirOffline(String),
    /// A log directory that is not one of the broker's.
    #[error("log directory {0} is not one of the broker's log dirs")]
    UnknownLogDir(String),
    /// Log directories that disagree with each other or with the broker (another node's
    /// `meta.properties`, two directories with one id, a partition in two directories).
    #[error("inconsistent log directories: {0}")]
    LogDirMismatch(String),
    /// An operating-system I/O error.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// Forcing data to disk failed: what the page cache held may be lost, whatever the
    /// error says, so the log directory always goes offline (fsyncgate).
    #[error("fsync failed: {0}")]
    SyncFailed(io::Error),
}

/// One record refused by validation: its index within its batch and why (Kafka's
/// `RecordError` of Produce v8+).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Index of the record within its batch (Kafka's `batch_index`).
    pub batch_index: i32,
    /// Why the record was refused (Kafka's `batch_index_error_message`).
    pub message: String,
}

/// Result alias of the storage layer.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Whether `e` says the process ran out of a resource (open files, here or system-wide)
/// rather than that the disk failed: such an error fails the operation only, and never
/// takes a log directory offline (the descriptors come back as files are closed).
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    code.is_some()
        && (code == Some(rustix::io::Errno::MFILE.raw_os_error())
            || code == Some(rustix::io::Errno::NFILE.raw_os_error()))
}

/// Whether `e` is a write the file system refused while the disk is sound: no space left
/// (`ENOSPC`), over a quota (`EDQUOT`), or a file system (re)mounted read-only (`EROFS`).
/// The write fails (produce answers KAFKA_STORAGE_ERROR) and the appends cut back what
/// part of it landed; reads go on, and writes succeed again once there is room or the file
/// system is writable again. (Kafka takes the log dir offline here; Skiff keeps serving
/// reads, as issue 17 asks.)
pub fn is_write_refused(e: &io::Error) -> bool {
    let code = e.raw_os_error();
    code.is_some()
        && (code == Some(rustix::io::Errno::NOSPC.raw_os_error())
            || code == Some(rustix::io::Errno::DQUOT.raw_os_error())
            || code == Some(rustix::io::Errno::ROFS.raw_os_error()))
}
