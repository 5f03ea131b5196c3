//! Write batches: several puts and deletes applied atomically, as one write-ahead log
//! record.

use super::codec::{corrupt, put_len_prefixed, Reader};
use crate::storage::Result;

const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Set a key.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

/// Puts and deletes that become visible and durable together (later operations on the
/// same key win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Adds a put.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.ops.push(BatchOp::Put {
            key: key.as_ref().to_vec(),
            value: value.as_ref().to_vec(),
        });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.ops.push(BatchOp::Delete {
            key: key.as_ref().to_vec(),
        });
        self
    }

    /// The operations in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The batch as a write-ahead log payload.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.ops.len() as u64).to_le_bytes());
        for op in &self.ops {
            match op {
                BatchOp::Put { key, value } => {
                    out.push(OP_PUT);
                    put_len_prefixed(&mut out, key)?;
                    put_len_prefixed(&mut out, value)?;
                }
                BatchOp::Delete { key } => {
                    out.push(OP_DELETE);
                    put_len_prefixed(&mut out, key)?;
                }
            }
        }
        Ok(out)
    }

    /// Parses a payload written by `encode`.
    pub(crate) fn decode(bytes: &[u8]) -> Result<WriteBatch> {
        let mut r = Reader::new(bytes, "write batch");
        let n = r.u64()?;
        let mut ops = Vec::new();
        for _ in 0..n {
            let op = match r.u8()? {
                OP_PUT => BatchOp::Put {
                    key: r.len_prefixed()?.to_vec(),
                    value: r.len_prefixed()?.to_vec(),
                },
                OP_DELETE => BatchOp::Delete {
                    key: r.len_prefixed()?.to_vec(),
                },
                other => return Err(corrupt(format!("write batch: unknown op {other}"))),
            };
            ops.push(op);
        }
        if !r.is_empty() {
            return Err(corrupt("write batch: trailing bytes"));
        }
        Ok(WriteBatch { ops })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut b = WriteBatch::new();
        b.put("k1", "v1").delete("k2").put(b"", b"");
        let d = WriteBatch::decode(&b.encode().unwrap()).unwrap();
        assert_eq!(d, b);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn garbage_is_rejected() {
        let mut b = WriteBatch::new();
        b.put("k1", "v1");
        let mut bytes = b.encode().unwrap();
        bytes[8] = 9;
        assert!(WriteBatch::decode(&bytes).is_err());
        let bytes = b.encode().unwrap();
        assert!(WriteBatch::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut long = b.encode().unwrap();
        long.push(0);
        assert!(WriteBatch::decode(&long).is_err());
    }
}
