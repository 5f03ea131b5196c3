//! Producer id allocation: ids are handed out from blocks reserved durably in the state
//! store, so an id is never given twice, even across a crash (the unused rest of a block
//! reserved before the crash is skipped).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::broker::txn::error::TxnError;
use crate::storage::kv::StateStore;

/// State store key holding the first producer id not yet reserved (big-endian i64).
pub const NEXT_BLOCK_KEY: &[u8] = b"producer_ids/next_block";
/// Ids reserved per state store write by default.
pub const DEFAULT_BLOCK_SIZE: i64 = 1000;

#[derive(Debug)]
struct Block {
    next: i64,
    end: i64,
}

/// Hands out producer ids (Kafka's ProducerIdManager, on the local state store).
#[derive(Debug)]
pub struct ProducerIdManager {
    store: Arc<StateStore>,
    block_size: i64,
    block: Mutex<Block>,
}

impl ProducerIdManager {
    /// A manager over `store` reserving `block_size` ids (at least 1) per write. Nothing is
    /// reserved until the first id is asked for.
    pub fn new(store: Arc<StateStore>, block_size: i64) -> ProducerIdManager {
        ProducerIdManager {
            store,
            block_size: block_size.max(1),
            block: Mutex::new(Block { next: 0, end: 0 }),
        }
    }

    /// The next producer id.
    pub fn generate(&self) -> Result<i64, TxnError> {
        let mut block = self.block.lock();
        if block.next >= block.end {
            let start = match self.store.get(NEXT_BLOCK_KEY)? {
                Some(v) => {
                    let bytes: [u8; 8] = v.as_slice().try_into().map_err(|_| {
                        tracing::error!("corrupt producer id block record");
                        TxnError::CoordinatorNotAvailable
                    })?;
                    i64::from_be_bytes(bytes)
                }
                None => 0,
            };
            let end = start.checked_add(self.block_size).ok_or_else(|| {
                tracing::error!("producer ids exhausted");
                TxnError::UnknownServerError
            })?;
            // The reservation is durable before any id of the block is handed out.
            self.store.put(NEXT_BLOCK_KEY, end.to_be_bytes())?;
            *block = Block { next: start, end };
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
}
