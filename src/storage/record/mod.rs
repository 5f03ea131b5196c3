//! The Kafka v2 record batch codec: header, records, compression.

pub mod batch;
pub mod builder;
pub mod compression;
pub mod message;
pub mod records;
pub mod varint;

pub use batch::{BatchHeader, BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
pub use builder::{
    recompress, recompress_level, BatchBuilder, ControlRecordType, EndTxnMarker, TimestampType,
};
pub use compression::{compress, compress_level, decompress};
pub use records::{decode_record, encode_record, MessageIter, Record, RecordIter};
