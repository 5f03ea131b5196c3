//! The engine's value types: offsets, messages and message batches. They are defined in
//! `record/` beside the format they decode (so that `record/` does not import this module
//! back) and named here as the seed's API names them.

pub use crate::storage::record::compression::Compression;
pub use crate::storage::record::message::{MessageBatch, Offset, DEFAULT_MAX_DECOMPRESSED};
pub use crate::storage::record::records::{Header, Message};
