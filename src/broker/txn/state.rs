//! Transaction metadata (Kafka's TransactionMetadata) and its durable encoding in the
//! state store.

use std::collections::BTreeSet;

use crate::storage::StorageError;

/// The state of a transactional id's current transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// No transaction open (just initialised).
    Empty,
    /// Partitions were added: a transaction is open.
    Ongoing,
    /// Commit decided and durable; markers being written.
    PrepareCommit,
    /// Abort decided and durable; markers being written.
    PrepareAbort,
    /// The last transaction committed, markers written.
    CompleteCommit,
    /// The last transaction aborted, markers written.
    CompleteAbort,
    /// The transactional id expired and is being removed.
    Dead,
    /// The producer's epoch is being bumped to abort its open transaction (transient, never
    /// stored).
    PrepareEpochFence,
}

impl TxnState {
    /// Every state, in Kafka's order.
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// The name the admin APIs use (DescribeTransactions, ListTransactions filters).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The state of a name, as [`TxnState::name`] spells it.
    pub fn from_name(name: &str) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.name() == name)
    }

    fn id(self) -> u8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    fn from_id(id: u8) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnResult {
    /// Commit: records become visible to `read_committed` consumers, offsets are committed.
    Commit,
    /// Abort: records are skipped by `read_committed` consumers, offsets dropped.
    Abort,
}

/// A partition taking part in a transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnPartition {
    /// A data partition: a marker is written to its log when the transaction ends.
    Data {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// The offsets of a consumer group (AddOffsetsToTxn): its pending transactional offset
    /// commits are committed or dropped when the transaction ends.
    GroupOffsets(String),
}

impl TxnPartition {
    /// A data partition.
    pub fn data(topic: impl Into<String>, partition: i32) -> TxnPartition {
        TxnPartition::Data {
            topic: topic.into(),
            partition,
        }
    }
}

/// Everything the coordinator knows about one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The transactional id.
    pub transactional_id: String,
    /// The producer id currently assigned.
    pub producer_id: i64,
    /// The producer id before the last rotation (epoch exhaustion), or -1.
    pub previous_producer_id: i64,
    /// The current producer epoch (-1 before the first InitProducerId completes).
    pub producer_epoch: i16,
    /// The epoch before the last bump requested with an expected epoch (for retries), or -1.
    pub last_producer_epoch: i16,
    /// The transaction timeout in milliseconds.
    pub timeout_ms: i32,
    /// The state.
    pub state: TxnState,
    /// Partitions of the open (or completing) transaction.
    pub partitions: BTreeSet<TxnPartition>,
    /// When the open transaction started (first partition added), or -1.
    pub txn_start_ms: i64,
    /// When the metadata last changed.
    pub last_update_ms: i64,
    /// Whether the last transition came from a transaction.version 2 client (KIP-890 part
    /// 2: EndTxn v5, Produce v12+, TxnOffsetCommit v5): every EndTxn then bumps the epoch,
    /// and a retried EndTxn carries the epoch before the bump.
    pub client_tv2: bool,
    /// While a transaction.version 2 commit or abort that exhausted the epoch completes:
    /// the producer id the transactional id moves to once the markers are written, else -1.
    pub next_producer_id: i64,
}

/// Epochs at or above this are exhausted: one is kept in reserve for fencing.
pub const MAX_USABLE_EPOCH: i16 = i16::MAX - 1;

impl TxnMetadata {
    /// Whether the epoch can no longer be bumped for a new producer session.
    pub fn is_epoch_exhausted(epoch: i16) -> bool {
        epoch >= MAX_USABLE_EPOCH
    }

    /// Whether a transaction is open or completing.
    pub fn has_pending_transaction(&self) -> bool {
        matches!(
            self.state,
            TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort
        )
    }

    /// The versioned binary encoding stored under [`txn_key`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(METADATA_VERSION);
        put_str(&mut out, &self.transactional_id);
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.previous_producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.last_producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.timeout_ms.to_be_bytes());
        out.push(self.state.id());
        out.extend_from_slice(&self.txn_start_ms.to_be_bytes());
        out.extend_from_slice(&self.last_update_ms.to_be_bytes());
        out.push(u8::from(self.client_tv2));
        out.extend_from_slice(&self.next_producer_id.to_be_bytes());
        out.extend_from_slice(&(self.partitions.len() as u32).to_be_bytes());
        for p in &self.partitions {
            match p {
                TxnPartition::Data { topic, partition } => {
                    out.push(0);
                    put_str(&mut out, topic);
                    out.extend_from_slice(&partition.to_be_bytes());
                }
                TxnPartition::GroupOffsets(group) => {
                    out.push(1);
                    put_str(&mut out, group);
                }
            }
        }
        out
    }

    /// Decodes [`TxnMetadata::encode`]'s output.
    pub fn decode(buf: &[u8]) -> Result<TxnMetadata, StorageError> {
        let mut r = Reader::new(buf);
        let version = r.u8()?;
        if version != METADATA_VERSION && version != 1 {
            return Err(corrupt(format!(
                "unknown transaction metadata version {version}"
            )));
        }
        let transactional_id = r.string()?;
        let producer_id = r.i64()?;
        let previous_producer_id = r.i64()?;
        let producer_epoch = r.i16()?;
        let last_producer_epoch = r.i16()?;
        let timeout_ms = r.i32()?;
        let state = TxnState::from_id(r.u8()?)
            .ok_or_else(|| corrupt("unknown transaction state".into()))?;
        let txn_start_ms = r.i64()?;
        let last_update_ms = r.i64()?;
        // Version 1 (before transaction.version 2) has neither field.
        let (client_tv2, next_producer_id) = if version >= 2 {
            (r.u8()? != 0, r.i64()?)
        } else {
            (false, -1)
        };
        let n = r.u32()?;
        let mut partitions = BTreeSet::new();
        for _ in 0..n {
            let p = match r.u8()? {
                0 => {
                    let topic = r.string()?;
                    TxnPartition::Data {
                        topic,
                        partition: r.i32()?,
                    }
                }
                1 => TxnPartition::GroupOffsets(r.string()?),
                t => return Err(corrupt(format!("unknown transaction partition kind {t}"))),
            };
            partitions.insert(p);
        }
        r.finish()?;
        Ok(TxnMetadata {
            transactional_id,
            producer_id,
            previous_producer_id,
            producer_epoch,
            last_producer_epoch,
            timeout_ms,
            state,
            partitions,
            txn_start_ms,
            last_update_ms,
            client_tv2,
            next_producer_id,
        })
    }
}

const METADATA_VERSION: u8 = 2;
const PENDING_OFFSET_VERSION: u8 = 1;
/// Key prefix of transaction metadata records.
pub const TXN_PREFIX: &[u8] = b"txn/";
/// Key prefix of pending transactional offset commits.
pub const TXN_OFFSETS_PREFIX: &[u8] = b"txn_offsets/";

/// The state store key of a transactional id's metadata.
pub fn txn_key(transactional_id: &str) -> Vec<u8> {
    let mut k = TXN_PREFIX.to_vec();
    k.extend_from_slice(transactional_id.as_bytes());
    k
}

/// The key prefix of a transactional id's pending offsets.
pub fn pending_offsets_prefix(transactional_id: &str) -> Vec<u8> {
    let mut k = TXN_OFFSETS_PREFIX.to_vec();
    put_str(&mut k, transactional_id);
    k
}

/// The key of one pending offset.
pub fn pending_offset_key(transactional_id: &str, group: &str, topic: &str, part: i32) -> Vec<u8> {
    let mut k = pending_offsets_prefix(transactional_id);
    put_str(&mut k, group);
    put_str(&mut k, topic);
    k.extend_from_slice(&part.to_be_bytes());
    k
}

/// An offset committed inside a transaction (TxnOffsetCommit), pending until the
/// transaction ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The committed offset.
    pub offset: i64,
    /// The leader epoch of the committed offset, or -1.
    pub leader_epoch: i32,
    /// Client metadata.
    pub metadata: Option<String>,
    /// When the commit request arrived.
    pub commit_timestamp_ms: i64,
}

/// A pending offset as stored: its group and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOffset {
    /// The group the offset belongs to.
    pub group_id: String,
    /// The offset.
    pub offset: TxnOffset,
}

impl PendingOffset {
    /// Binary encoding (the key is [`pending_offset_key`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![PENDING_OFFSET_VERSION];
        put_str(&mut out, &self.group_id);
        put_str(&mut out, &self.offset.topic);
        out.extend_from_slice(&self.offset.partition.to_be_bytes());
        out.extend_from_slice(&self.offset.offset.to_be_bytes());
        out.extend_from_slice(&self.offset.leader_epoch.to_be_bytes());
        match &self.offset.metadata {
            Some(m) => {
                out.push(1);
                put_str(&mut out, m);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.offset.commit_timestamp_ms.to_be_bytes());
        out
    }

    /// Decodes [`PendingOffset::encode`]'s output.
    pub fn decode(buf: &[u8]) -> Result<PendingOffset, StorageError> {
        let mut r = Reader::new(buf);
        if r.u8()? != PENDING_OFFSET_VERSION {
            return Err(corrupt("unknown pending offset version".into()));
        }
        let group_id = r.string()?;
        let topic = r.string()?;
        let partition = r.i32()?;
        let offset = r.i64()?;
        let leader_epoch = r.i32()?;
        let metadata = match r.u8()? {
            0 => None,
            _ => Some(r.string()?),
        };
        let commit_timestamp_ms = r.i64()?;
        r.finish()?;
        Ok(PendingOffset {
            group_id,
            offset: TxnOffset {
                topic,
                partition,
                offset,
                leader_epoch,
                metadata,
                commit_timestamp_ms,
            },
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Kafka strings are at most i16::MAX bytes; longer ones are truncated at a char boundary.
    let mut chars = s.chars();
    while chars.as_str().len() > u16::MAX as usize {
        chars.next_back();
    }
    let kept = chars.as_str();
    out.extend_from_slice(&(kept.len() as u16).to_be_bytes());
    out.extend_from_slice(kept.as_bytes());
}

fn corrupt(msg: String) -> StorageError {
    StorageError::StateCorrupted(msg)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StorageError> {
        let s = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or_else(|| corrupt("truncated transaction record".into()))?;
        self.pos += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, StorageError> {
        Ok(self.take::<1>()?[0])
    }
    fn i16(&mut self) -> Result<i16, StorageError> {
        Ok(i16::from_be_bytes(self.take()?))
    }
    fn i32(&mut self) -> Result<i32, StorageError> {
        Ok(i32::from_be_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, StorageError> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, StorageError> {
        Ok(i64::from_be_bytes(self.take()?))
    }
    fn string(&mut self) -> Result<String, StorageError> {
        let len = u16::from_be_bytes(self.take()?) as usize;
        let s = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or_else(|| corrupt("truncated transaction record".into()))?;
        self.pos += len;
        String::from_utf8(s.to_vec()).map_err(|_| corrupt("non-UTF-8 string".into()))
    }
    fn finish(&self) -> Result<(), StorageError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes in transaction record".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips() {
        let mut partitions = BTreeSet::new();
        partitions.insert(TxnPartition::data("orders", 3));
        partitions.insert(TxnPartition::GroupOffsets("billing".into()));
        let m = TxnMetadata {
            transactional_id: "tx-1".into(),
            producer_id: 42,
            previous_producer_id: -1,
            producer_epoch: 7,
            last_producer_epoch: 6,
            timeout_ms: 60_000,
            state: TxnState::PrepareCommit,
            partitions,
            txn_start_ms: 1_000,
            last_update_ms: 2_000,
            client_tv2: true,
            next_producer_id: 43,
        };
        assert_eq!(TxnMetadata::decode(&m.encode()).unwrap(), m);
        // A version 1 record (written before transaction.version 2) still reads.
        let mut v1 = m.encode();
        v1[0] = 1;
        let head = 1 + 2 + m.transactional_id.len() + 8 + 8 + 2 + 2 + 4 + 1 + 8 + 8;
        v1.drain(head..head + 9);
        let old = TxnMetadata::decode(&v1).unwrap();
        assert!(!old.client_tv2);
        assert_eq!(old.next_producer_id, -1);
        assert_eq!(old.partitions, m.partitions);
        let bytes = m.encode();
        assert!(TxnMetadata::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn pending_offset_round_trips() {
        let p = PendingOffset {
            group_id: "g".into(),
            offset: TxnOffset {
                topic: "t".into(),
                partition: 1,
                offset: 99,
                leader_epoch: -1,
                metadata: Some("m".into()),
                commit_timestamp_ms: 5,
            },
        };
        assert_eq!(PendingOffset::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn state_names_round_trip() {
        for s in TxnState::ALL {
            assert_eq!(TxnState::from_name(s.name()), Some(s));
        }
        assert_eq!(TxnState::from_name("Bogus"), None);
    }
}
