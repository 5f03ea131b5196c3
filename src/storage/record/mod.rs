//! The Kafka v2 record batch codec: header, records, compression.

pub mod batch;

pub use batch::{BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
