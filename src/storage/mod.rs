//! The storage engine: partition logs (segments, indexes, leader epochs), the record
//! batch codec, and the keyed state store (WAL, MemTable, SSTable).

pub mod error;
pub mod kv;
pub mod record;
pub mod types;

pub use error::{Result, StorageError};
pub use types::{Compression, Header, Message, MessageBatch, Offset};
