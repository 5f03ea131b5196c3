//! Incremental fetch sessions (KIP-227): the broker remembers the partitions a fetcher
//! asked for, so later Fetch requests name only what changed and responses carry only
//! partitions with something new.
//!
//! A full fetch with epoch 0 creates a session (if the cache has or can make room) and
//! answers its id; the next request names that id with epoch 1, then 2, and so on. An
//! incremental request adds partitions, changes their fetch parameters, or forgets them;
//! the ones it does not name are fetched with the parameters the session holds. Its
//! response lists a partition only if it has records, an error, a diverging epoch, or a high
//! watermark or log start offset other than the one last sent. Epoch -1 closes the session.
//!
//! The cache holds at most `max.incremental.fetch.session.cache.slots` sessions. When it is
//! full a new session may take the place of (in this order):
//! 1. the least recently used session, if it has been idle for more than
//!    `min.incremental.fetch.session.eviction.ms`;
//! 2. otherwise the least valuable evictable session, if the newcomer is worth more. Value
//!    is (privileged, partition count): a replica's session is privileged over a
//!    consumer's, and among equals more partitions win (a tie keeps the incumbent). A
//!    consumer's session is evictable by a consumer once it is older than the eviction
//!    time, and by a replica at any time; a replica's session only by a replica, once it is
//!    older than the eviction time.
//!
//! Lock order: the cache's lock, then a session's; never the other way round.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use indexmap::IndexMap;
use kafka_protocol::messages::fetch_response::PartitionData;
use parking_lot::Mutex;
use uuid::Uuid;

/// The session id of "no session".
pub const NO_SESSION: i32 = 0;
/// The epoch of a full fetch that asks for a new session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch of a full fetch that closes the session (or asks for none).
pub const FINAL_EPOCH: i32 = -1;

/// The epoch that follows `epoch` (after `i32::MAX` comes 1; after a negative one, -1).
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// Why an incremental fetch cannot go on in its session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchSessionError {
    /// No session has this id (never created, closed, or evicted).
    #[error("no fetch session {0}")]
    NotFound(i32),
    /// The request's epoch is not the one the session expects next.
    #[error("fetch session {id} expects epoch {expected}, got {got}")]
    InvalidEpoch {
        /// The session.
        id: i32,
        /// The epoch the session expects.
        expected: i32,
        /// The epoch the request named.
        got: i32,
    },
    /// The session names topics by id and the request by name, or the other way round.
    #[error("fetch session {0} was created at a Fetch version that names topics differently")]
    TopicIdMismatch(i32),
}

/// How a session names a partition's topic: by name before Fetch v13, by id from v13.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TopicKey {
    /// Fetch v7–v12.
    Name(String),
    /// Fetch v13 and later.
    Id(Uuid),
}

/// A partition in a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitionKey {
    /// Its topic.
    pub topic: TopicKey,
    /// Its index.
    pub partition: i32,
}

/// What the fetcher asked of one partition, as it last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    /// Offset to read from.
    pub fetch_offset: i64,
    /// Bytes this partition may return.
    pub max_bytes: i32,
    /// The fetcher's idea of the leader epoch (-1: no check).
    pub current_leader_epoch: i32,
    /// Epoch of the last batch the fetcher has (-1: none).
    pub last_fetched_epoch: i32,
    /// The fetcher's log start offset (followers only; -1 otherwise).
    pub log_start_offset: i64,
}

/// A partition of a session: the fetcher's parameters and what was last sent about it.
#[derive(Debug, Clone, Copy)]
struct CachedPartition {
    params: FetchParams,
    /// High watermark last sent (-1: none yet, or the last answer was an error).
    high_watermark: i64,
    /// Log start offset last sent (-1: none yet).
    log_start_offset: i64,
}

impl CachedPartition {
    fn new(params: FetchParams) -> CachedPartition {
        CachedPartition {
            params,
            high_watermark: -1,
            log_start_offset: -1,
        }
    }

    /// Whether `data` must be sent (KIP-227's rule), remembering what is sent.
    fn must_respond(&mut self, data: &PartitionData) -> bool {
        let mut respond = data.records.as_ref().is_some_and(|r| !r.is_empty());
        if self.high_watermark != data.high_watermark {
            respond = true;
            self.high_watermark = data.high_watermark;
        }
        if self.log_start_offset != data.log_start_offset {
            respond = true;
            self.log_start_offset = data.log_start_offset;
        }
        if data.preferred_read_replica.0 >= 0 || data.diverging_epoch.epoch >= 0 {
            respond = true;
        }
        // 0 is NONE (api/error.rs maps errors to codes; this only asks "any error?").
        if data.error_code != 0 {
            // Sent again once the error is gone.
            self.high_watermark = -1;
            respond = true;
        }
        respond
    }
}

/// One fetcher's session.
#[derive(Debug)]
pub struct FetchSession {
    id: i32,
    /// The epoch the next request must carry.
    epoch: i32,
    uses_topic_ids: bool,
    /// In fetch order: a partition that returned records moves to the end, so that a
    /// response's byte limit does not favour the same partitions every time.
    partitions: IndexMap<PartitionKey, CachedPartition>,
}

impl FetchSession {
    /// The session's id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The partitions to read, in order, with their parameters.
    pub fn targets(&self) -> Vec<(PartitionKey, FetchParams)> {
        self.partitions
            .iter()
            .map(|(k, c)| (k.clone(), c.params))
            .collect()
    }

    /// Chooses what an incremental response carries: for each partition read (in the
    /// order of [`FetchSession::targets`] when the request was made), whether to send it.
    /// `request_epoch` is the epoch the request carried; if another request of the session
    /// came in between, the answer is [`FetchSessionError::InvalidEpoch`] (Kafka's "possible
    /// duplicate request").
    pub fn select(
        &mut self,
        request_epoch: i32,
        read: &[(PartitionKey, &PartitionData)],
    ) -> Result<Vec<bool>, FetchSessionError> {
        let expected = next_epoch(request_epoch);
        if self.epoch != expected {
            return Err(FetchSessionError::InvalidEpoch {
                id: self.id,
                expected: self.epoch,
                got: request_epoch,
            });
        }
        let mut keep = Vec::with_capacity(read.len());
        for (key, data) in read {
            let Some(cached) = self.partitions.get_mut(key) else {
                // Forgotten by a later request meanwhile: not the fetcher's concern any more.
                keep.push(false);
                continue;
            };
            let respond = cached.must_respond(data);
            if respond && data.records.as_ref().is_some_and(|r| !r.is_empty()) {
                if let Some(entry) = self.partitions.shift_remove(key) {
                    self.partitions.insert(key.clone(), entry);
                }
            }
            keep.push(respond);
        }
        Ok(keep)
    }
}

/// What an incremental request found.
#[derive(Debug)]
pub enum Incremental {
    /// The session goes on: read these partitions.
    Continue(Arc<Mutex<FetchSession>>),
    /// The request forgot every partition: the session is closed, and the request is
    /// answered as a sessionless fetch of what it names.
    Closed,
}

/// A session's place in the cache.
#[derive(Debug)]
struct Slot {
    session: Arc<Mutex<FetchSession>>,
    privileged: bool,
    created_ms: u64,
    last_used_ms: u64,
    /// Partition count when last touched.
    size: usize,
}

impl Slot {
    fn evictable_key(&self, id: i32) -> EvictableKey {
        (self.privileged, self.size, id)
    }
}

/// (privileged, partitions, id): lower is evicted first.
type EvictableKey = (bool, usize, i32);

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<i32, Slot>,
    /// (last used ms, id).
    last_used: BTreeSet<(u64, i32)>,
    /// Sessions any newcomer may evict if worth less.
    evictable_by_all: BTreeSet<EvictableKey>,
    /// Sessions a privileged newcomer may evict if worth less.
    evictable_by_privileged: BTreeSet<EvictableKey>,
}

impl Inner {
    fn remove(&mut self, id: i32) -> bool {
        let Some(slot) = self.sessions.remove(&id) else {
            return false;
        };
        self.last_used.remove(&(slot.last_used_ms, id));
        let key = slot.evictable_key(id);
        self.evictable_by_all.remove(&key);
        self.evictable_by_privileged.remove(&key);
        true
    }

    fn touch(&mut self, id: i32, now: u64, size: usize, eviction_ms: u64) {
        let Some(slot) = self.sessions.get_mut(&id) else {
            return;
        };
        self.last_used.remove(&(slot.last_used_ms, id));
        slot.last_used_ms = now;
        self.last_used.insert((now, id));
        let old = slot.evictable_key(id);
        self.evictable_by_all.remove(&old);
        self.evictable_by_privileged.remove(&old);
        slot.size = size;
        let key = slot.evictable_key(id);
        let old_enough = now.saturating_sub(slot.created_ms) > eviction_ms;
        if !slot.privileged || old_enough {
            self.evictable_by_privileged.insert(key);
        }
        if old_enough {
            self.evictable_by_all.insert(key);
        }
    }

    /// Makes room for a session worth (`privileged`, `size`), if the rules allow.
    fn try_evict(&mut self, privileged: bool, size: usize, now: u64, eviction_ms: u64) -> bool {
        let Some(&(last_used, id)) = self.last_used.first() else {
            return false;
        };
        if now.saturating_sub(last_used) > eviction_ms {
            tracing::debug!(session = id, "evicting a stale fetch session");
            return self.remove(id);
        }
        let candidates = if privileged {
            &self.evictable_by_privileged
        } else {
            &self.evictable_by_all
        };
        match candidates.first() {
            Some(&victim) if (privileged, size, 0) >= victim => {
                tracing::debug!(
                    session = victim.2,
                    "evicting a fetch session for a larger one"
                );
                self.remove(victim.2)
            }
            _ => false,
        }
    }
}

/// The broker's fetch sessions.
#[derive(Debug)]
pub struct FetchSessionCache {
    slots: usize,
    eviction_ms: u64,
    inner: Mutex<Inner>,
}

impl FetchSessionCache {
    /// A cache of at most `slots` sessions (0: no sessions), evicting idle ones after
    /// `eviction_ms`.
    pub fn new(slots: usize, eviction_ms: u64) -> FetchSessionCache {
        FetchSessionCache {
            slots,
            eviction_ms,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.inner.lock().sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes session `id`; whether it existed.
    pub fn remove(&self, id: i32) -> bool {
        self.inner.lock().remove(id)
    }

    /// Creates a session over `partitions` (each with its parameters and the high watermark
    /// and log start offset just sent) if there is room or room can be made. Returns its id,
    /// or [`NO_SESSION`].
    pub fn create(
        &self,
        now: u64,
        privileged: bool,
        uses_topic_ids: bool,
        partitions: Vec<(PartitionKey, FetchParams, i64, i64)>,
    ) -> i32 {
        let mut inner = self.inner.lock();
        let size = partitions.len();
        let room = inner.sessions.len() < self.slots
            || (self.slots > 0 && inner.try_evict(privileged, size, now, self.eviction_ms));
        if !room {
            return NO_SESSION;
        }
        let id = loop {
            // Random, positive, unused: a session id is not guessable from another's.
            let raw = (Uuid::new_v4().as_u128() as u32 & 0x7fff_ffff) as i32;
            if raw != NO_SESSION && !inner.sessions.contains_key(&raw) {
                break raw;
            }
        };
        let map = partitions
            .into_iter()
            .map(|(key, params, high_watermark, log_start_offset)| {
                (
                    key,
                    CachedPartition {
                        params,
                        high_watermark,
                        log_start_offset,
                    },
                )
            })
            .collect::<IndexMap<_, _>>();
        let size = map.len();
        let session = FetchSession {
            id,
            epoch: next_epoch(INITIAL_EPOCH),
            uses_topic_ids,
            partitions: map,
        };
        inner.sessions.insert(
            id,
            Slot {
                session: Arc::new(Mutex::new(session)),
                privileged,
                created_ms: now,
                last_used_ms: now,
                size,
            },
        );
        inner.last_used.insert((now, id));
        inner.touch(id, now, size, self.eviction_ms);
        id
    }

    /// Starts an incremental fetch of session `id` at `epoch`: applies the request's
    /// partitions (added or changed parameters) and forgotten ones, and advances the epoch.
    pub fn incremental(
        &self,
        now: u64,
        id: i32,
        epoch: i32,
        uses_topic_ids: bool,
        fetch: Vec<(PartitionKey, FetchParams)>,
        forget: &[PartitionKey],
    ) -> Result<Incremental, FetchSessionError> {
        let mut inner = self.inner.lock();
        let session = match inner.sessions.get(&id) {
            Some(slot) => Arc::clone(&slot.session),
            None => return Err(FetchSessionError::NotFound(id)),
        };
        let size = {
            let mut s = session.lock();
            if s.epoch != epoch {
                return Err(FetchSessionError::InvalidEpoch {
                    id,
                    expected: s.epoch,
                    got: epoch,
                });
            }
            if s.uses_topic_ids != uses_topic_ids {
                return Err(FetchSessionError::TopicIdMismatch(id));
            }
            for (key, params) in fetch {
                match s.partitions.get_mut(&key) {
                    Some(cached) => cached.params = params,
                    None => {
                        s.partitions.insert(key, CachedPartition::new(params));
                    }
                }
            }
            for key in forget {
                s.partitions.shift_remove(key);
            }
            if !s.partitions.is_empty() {
                s.epoch = next_epoch(s.epoch);
            }
            s.partitions.len()
        };
        if size == 0 {
            inner.remove(id);
            return Ok(Incremental::Closed);
        }
        inner.touch(id, now, size, self.eviction_ms);
        Ok(Incremental::Continue(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVICT: u64 = 120_000;

    fn key(topic: &str, partition: i32) -> PartitionKey {
        PartitionKey {
            topic: TopicKey::Name(topic.to_string()),
            partition,
        }
    }

    fn params(offset: i64) -> FetchParams {
        FetchParams {
            fetch_offset: offset,
            max_bytes: 1 << 20,
            current_leader_epoch: -1,
            last_fetched_epoch: -1,
            log_start_offset: -1,
        }
    }

    fn parts(n: i32) -> Vec<(PartitionKey, FetchParams, i64, i64)> {
        (0..n).map(|p| (key("t", p), params(0), 0, 0)).collect()
    }

    fn data(hw: i64, records: usize) -> PartitionData {
        let mut d = PartitionData::default()
            .with_high_watermark(hw)
            .with_log_start_offset(0)
            .with_records(Some(bytes::Bytes::from(vec![0; records])));
        d.preferred_read_replica.0 = -1;
        d.diverging_epoch.epoch = -1;
        d
    }

    #[test]
    fn epochs_wrap_to_one_and_stay_final() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(-1), -1);
        assert_eq!(next_epoch(-7), -1);
    }

    #[test]
    fn no_slots_means_no_sessions() {
        let c = FetchSessionCache::new(0, EVICT);
        assert_eq!(c.create(0, false, false, parts(5)), NO_SESSION);
        assert_eq!(c.create(0, true, false, parts(5)), NO_SESSION);
        assert!(c.is_empty());
    }

    #[test]
    fn a_full_cache_evicts_a_stale_session_for_any_newcomer() {
        let c = FetchSessionCache::new(2, EVICT);
        let a = c.create(0, false, false, parts(10));
        let b = c.create(10, false, false, parts(10));
        assert_ne!(a, NO_SESSION);
        assert_ne!(b, NO_SESSION);
        // Nobody is stale yet and the newcomer is smaller: refused.
        assert_eq!(c.create(EVICT, false, false, parts(1)), NO_SESSION);
        // `a` idle for more than the eviction time: it goes, even for a smaller newcomer.
        let n = c.create(EVICT + 1, false, false, parts(1));
        assert_ne!(n, NO_SESSION);
        assert!(matches!(
            c.incremental(EVICT + 2, a, 1, false, vec![], &[]),
            Err(FetchSessionError::NotFound(_))
        ));
        assert!(c.incremental(EVICT + 2, b, 1, false, vec![], &[]).is_ok());
    }

    #[test]
    fn a_larger_consumer_session_evicts_an_old_smaller_one_only() {
        let c = FetchSessionCache::new(1, EVICT);
        let small = c.create(0, false, false, parts(3));
        // Young incumbent: not evictable by a consumer, however large the newcomer.
        assert_eq!(c.create(5, false, false, parts(100)), NO_SESSION);
        // Used at EVICT+1 (so not stale), older than the eviction time: evictable now.
        assert!(c
            .incremental(EVICT + 1, small, 1, false, vec![], &[])
            .is_ok());
        // Same size: the incumbent stays; fewer partitions: stays.
        assert_eq!(c.create(EVICT + 2, false, false, parts(3)), NO_SESSION);
        assert_eq!(c.create(EVICT + 2, false, false, parts(2)), NO_SESSION);
        let big = c.create(EVICT + 2, false, false, parts(4));
        assert_ne!(big, NO_SESSION);
        assert_eq!(c.len(), 1);
        assert!(matches!(
            c.incremental(EVICT + 3, small, 2, false, vec![], &[]),
            Err(FetchSessionError::NotFound(_))
        ));
    }

    #[test]
    fn a_replica_session_evicts_any_consumer_session_and_keeps_its_place() {
        let c = FetchSessionCache::new(1, EVICT);
        let consumer = c.create(0, false, false, parts(1000));
        // A replica's session is privileged: it evicts a consumer's at once, whatever its size.
        let replica = c.create(1, true, false, parts(1));
        assert_ne!(replica, NO_SESSION);
        assert!(c.remove(replica));
        assert!(!c.remove(consumer));
        // A consumer never evicts a young replica session, nor an old one if not larger.
        let replica = c.create(2, true, false, parts(5));
        assert_eq!(c.create(3, false, false, parts(1000)), NO_SESSION);
        assert!(c
            .incremental(EVICT + 3, replica, 1, false, vec![], &[])
            .is_ok());
        assert_eq!(c.create(EVICT + 4, false, false, parts(1000)), NO_SESSION);
    }

    #[test]
    fn incremental_requests_add_change_and_forget_partitions() {
        let c = FetchSessionCache::new(10, EVICT);
        let id = c.create(0, false, false, parts(3));
        let Ok(Incremental::Continue(s)) = c.incremental(
            1,
            id,
            1,
            false,
            vec![(key("t", 1), params(7)), (key("u", 0), params(0))],
            &[key("t", 0)],
        ) else {
            panic!("session lost");
        };
        let targets = s.lock().targets();
        let got: Vec<_> = targets
            .iter()
            .map(|(k, p)| (k.clone(), p.fetch_offset))
            .collect();
        assert_eq!(
            got,
            vec![(key("t", 1), 7), (key("t", 2), 0), (key("u", 0), 0)]
        );
        // The same epoch again is out of step; the next one is fine.
        assert!(matches!(
            c.incremental(2, id, 1, false, vec![], &[]),
            Err(FetchSessionError::InvalidEpoch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            c.incremental(2, id, 2, true, vec![], &[]),
            Err(FetchSessionError::TopicIdMismatch(_))
        ));
        // Forgetting everything closes the session.
        let all = [key("t", 1), key("t", 2), key("u", 0)];
        assert!(matches!(
            c.incremental(3, id, 2, false, vec![], &all),
            Ok(Incremental::Closed)
        ));
        assert!(c.is_empty());
    }

    #[test]
    fn responses_carry_only_changed_partitions_and_data_moves_to_the_back() {
        let c = FetchSessionCache::new(10, EVICT);
        // Created with high watermarks 0 sent.
        let id = c.create(0, false, false, parts(3));
        let Ok(Incremental::Continue(s)) = c.incremental(1, id, 1, false, vec![], &[]) else {
            panic!("session lost");
        };
        let mut s = s.lock();
        let (d0, d1, d2) = (data(0, 0), data(5, 100), data(0, 0));
        let read = [(key("t", 0), &d0), (key("t", 1), &d1), (key("t", 2), &d2)];
        assert_eq!(s.select(1, &read).unwrap(), vec![false, true, false]);
        let order: Vec<_> = s.targets().into_iter().map(|(k, _)| k.partition).collect();
        assert_eq!(order, vec![0, 2, 1]);
        // An error is always sent, and the partition again once the error is gone.
        let mut e = data(0, 0);
        e.error_code = 3;
        e.high_watermark = -1;
        assert_eq!(s.select(1, &[(key("t", 0), &e)]).unwrap(), vec![true]);
        assert_eq!(s.select(1, &[(key("t", 0), &d0)]).unwrap(), vec![true]);
        assert_eq!(s.select(1, &[(key("t", 0), &d0)]).unwrap(), vec![false]);
        // A response for an older epoch than the session's is refused.
        assert!(matches!(
            s.select(0, &read),
            Err(FetchSessionError::InvalidEpoch { .. })
        ));
    }
}
