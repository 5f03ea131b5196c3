//! The storage engine: partition logs (segments, indexes, leader epochs), the record
//! batch codec, and the keyed state store (WAL, MemTable, SSTable).

pub mod blocking;
pub mod cleaner;
pub mod config;
pub mod error;
pub mod fault;
pub mod fs_util;
pub mod fsync;
pub mod index;
pub mod kv;
pub mod leader_epoch;
pub mod log;
pub mod log_dir;
pub mod log_move;
pub mod partitions;
pub mod producer_state;
pub mod record;
pub mod retention;
pub mod segment;
pub mod swap;
pub mod types;
pub mod validate;

pub use cleaner::{Cleaner, CleanerConfig, CompactionStats, LogCleaner};
pub use config::{CleanupPolicy, LogConfig, StorageConfig};
pub use error::RecordError;
pub use error::{Result, StorageError};
pub use fsync::FsyncPolicy;
pub use log::{AppendInfo, Log, ReadView, SegmentInfo, TimestampType};
pub use log_dir::{DirHealth, LogDir};
pub use log_move::FutureLog;
pub use partitions::{LogSlot, Storage, TopicPartition};
pub use retention::{RetentionConfig, RetentionManager, RetentionStats};
pub use types::{Compression, Header, Message, MessageBatch, Offset};
