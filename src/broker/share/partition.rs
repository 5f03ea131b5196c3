//! One share-partition: the in-flight window of a share group over one topic-partition
//! (KIP-932), as a state machine with no I/O.
//!
//! The window runs from the share-partition start offset (`start`, Kafka's SPSO: every
//! record below it is done with) to the end offset (`end`, SPEO: the next record never
//! handed out). Every offset in the window has a [`RecordState`] and a delivery count:
//!
//! - a record is *acquired* by one member for a lock duration when a ShareFetch hands it
//!   out (its delivery count goes up by one);
//! - the member *accepts* it (acknowledged), *releases* it (available again) or *rejects* it
//!   (archived); a lock that runs out releases it;
//! - a released record whose delivery count reached the limit is archived instead;
//! - the start moves past every leading record that is acknowledged or archived.
//!
//! Control batches (transaction markers) and, under `read_committed`, the batches of
//! aborted transactions are archived as they enter the window: they are never delivered.

use std::collections::{BTreeMap, HashSet};

use tokio::time::{Duration, Instant};

use super::error::ShareError;

/// What happened to a record of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// May be acquired.
    Available,
    /// Held by one member until its lock runs out.
    Acquired,
    /// Accepted: done with.
    Acknowledged,
    /// Rejected, past the delivery limit, or never deliverable: done with.
    Archived,
}

impl RecordState {
    /// Whether the record is done with (the start may pass it).
    pub fn is_terminal(self) -> bool {
        matches!(self, RecordState::Acknowledged | RecordState::Archived)
    }

    /// The state's number in the stored form (Kafka's: 0 available, 2 acknowledged, 4
    /// archived; an acquired record is stored as available).
    pub fn code(self) -> u8 {
        match self {
            RecordState::Available | RecordState::Acquired => 0,
            RecordState::Acknowledged => 2,
            RecordState::Archived => 4,
        }
    }

    /// The state of a stored number.
    pub fn from_code(code: u8) -> Option<RecordState> {
        match code {
            0 => Some(RecordState::Available),
            2 => Some(RecordState::Acknowledged),
            4 => Some(RecordState::Archived),
            _ => None,
        }
    }
}

/// How a member acknowledges a record (ShareFetch's and ShareAcknowledge's
/// `acknowledge_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgeType {
    /// The offset holds no record (compacted away, a control record): archive it.
    Gap,
    /// Processed: acknowledge it.
    Accept,
    /// Not processed: make it available again.
    Release,
    /// Unprocessable: archive it.
    Reject,
    /// Still being processed: keep it acquired and restart its lock (KIP-1222, v2).
    Renew,
}

impl AcknowledgeType {
    /// The type of a wire code (0 gap, 1 accept, 2 release, 3 reject, 4 renew).
    pub fn from_code(code: i8) -> Option<AcknowledgeType> {
        match code {
            0 => Some(AcknowledgeType::Gap),
            1 => Some(AcknowledgeType::Accept),
            2 => Some(AcknowledgeType::Release),
            3 => Some(AcknowledgeType::Reject),
            4 => Some(AcknowledgeType::Renew),
            _ => None,
        }
    }
}

/// One acknowledgement batch of a request: offsets `first..=last`, with one type for all of
/// them or one per offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementBatch {
    /// First offset acknowledged.
    pub first_offset: i64,
    /// Last offset acknowledged.
    pub last_offset: i64,
    /// Wire codes: one for the whole range, or one per offset.
    pub acknowledge_types: Vec<i8>,
}

/// A stored batch's offsets and what decides whether it may be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpan {
    /// First offset.
    pub base_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// A transaction marker: never delivered.
    pub control: bool,
    /// Part of an aborted transaction (only under `read_committed`): never delivered.
    pub aborted: bool,
}

/// A range of offsets handed to a member, with their delivery count (ShareFetch's
/// `acquired_records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRange {
    /// First offset.
    pub first_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// How many times these records have been delivered, this time included.
    pub delivery_count: i16,
}

/// A run of offsets with one state and delivery count, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateRun {
    /// First offset.
    pub first_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// The state (acquired records are stored as available).
    pub state: RecordState,
    /// Delivery count.
    pub delivery_count: i16,
}

#[derive(Debug, Clone)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// The member holding it, while acquired.
    member: Option<String>,
    /// When its acquisition lock runs out, while acquired.
    lock_until: Option<Instant>,
}

impl InFlight {
    fn available(delivery_count: i16) -> InFlight {
        InFlight {
            state: RecordState::Available,
            delivery_count,
            member: None,
            lock_until: None,
        }
    }

    fn settled(state: RecordState, delivery_count: i16) -> InFlight {
        InFlight {
            state,
            delivery_count,
            member: None,
            lock_until: None,
        }
    }
}

/// The limits a share-partition works under (from the group's configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `share.record.lock.duration.ms`.
    pub lock_duration: Duration,
    /// `share.delivery.count.limit`.
    pub delivery_count_limit: i16,
    /// `share.partition.max.record.locks`: records in flight at most.
    pub max_in_flight: i64,
}

/// The state of one share-partition.
#[derive(Debug, Clone)]
pub struct SharePartition {
    start: i64,
    end: i64,
    records: BTreeMap<i64, InFlight>,
    /// Raised by every reset of the start offset (AlterShareGroupOffsets).
    state_epoch: i32,
}

impl SharePartition {
    /// An empty window starting (and ending) at `start`.
    pub fn new(start: i64) -> SharePartition {
        SharePartition {
            start,
            end: start,
            records: BTreeMap::new(),
            state_epoch: 0,
        }
    }

    /// A window rebuilt from its stored form: offsets between `start` and the last stored
    /// run that no run covers are available and never delivered.
    pub fn restore(start: i64, state_epoch: i32, runs: &[StateRun]) -> SharePartition {
        let mut sp = SharePartition::new(start);
        sp.state_epoch = state_epoch;
        for run in runs {
            for offset in run.first_offset.max(start)..=run.last_offset {
                sp.records
                    .insert(offset, InFlight::settled(run.state, run.delivery_count));
            }
        }
        sp.end = sp
            .records
            .keys()
            .next_back()
            .map(|o| o + 1)
            .unwrap_or(start);
        for offset in start..sp.end {
            sp.records
                .entry(offset)
                .or_insert_with(|| InFlight::available(0));
        }
        sp.advance_start();
        sp
    }

    /// The share-partition start offset.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// The next offset never handed out.
    pub fn end_offset(&self) -> i64 {
        self.end
    }

    /// The state epoch.
    pub fn state_epoch(&self) -> i32 {
        self.state_epoch
    }

    /// The state and delivery count of `offset`, if it is in the window.
    pub fn record(&self, offset: i64) -> Option<(RecordState, i16)> {
        self.records
            .get(&offset)
            .map(|r| (r.state, r.delivery_count))
    }

    /// The window as stored: runs of equal state and delivery count (acquired records
    /// as available).
    pub fn runs(&self) -> Vec<StateRun> {
        let mut runs: Vec<StateRun> = Vec::new();
        for (&offset, r) in &self.records {
            let state = match r.state {
                RecordState::Acquired => RecordState::Available,
                s => s,
            };
            match runs.last_mut() {
                Some(run)
                    if run.last_offset + 1 == offset
                        && run.state == state
                        && run.delivery_count == r.delivery_count =>
                {
                    run.last_offset = offset;
                }
                _ => runs.push(StateRun {
                    first_offset: offset,
                    last_offset: offset,
                    state,
                    delivery_count: r.delivery_count,
                }),
            }
        }
        runs
    }

    /// Moves the start to `offset` (AlterShareGroupOffsets, or the log start passing the
    /// window): the window is dropped and starts over there.
    pub fn reset(&mut self, offset: i64) {
        self.start = offset;
        self.end = offset;
        self.records.clear();
        self.state_epoch += 1;
    }

    /// Drops what lies below the log start offset (deleted by retention or DeleteRecords).
    /// Returns whether the window changed.
    pub fn clamp_to_log_start(&mut self, log_start: i64) -> bool {
        if self.start >= log_start {
            return false;
        }
        if self.end <= log_start {
            self.start = log_start;
            self.end = log_start;
            self.records.clear();
        } else {
            self.records = self.records.split_off(&log_start);
            self.start = log_start;
            self.advance_start();
        }
        true
    }

    /// Releases the records whose lock ran out by `now` (archiving those at the delivery
    /// limit). Returns whether anything changed.
    pub fn release_expired(&mut self, now: Instant, limits: &Limits) -> bool {
        let expired: Vec<i64> = self
            .records
            .iter()
            .filter(|(_, r)| {
                r.state == RecordState::Acquired && r.lock_until.is_some_and(|t| t <= now)
            })
            .map(|(o, _)| *o)
            .collect();
        for offset in &expired {
            if let Some(r) = self.records.get_mut(offset) {
                release(r, limits);
            }
        }
        if !expired.is_empty() {
            self.advance_start();
        }
        !expired.is_empty()
    }

    /// The earliest time a lock runs out, if any record is acquired.
    pub fn next_lock_expiry(&self) -> Option<Instant> {
        self.records.values().filter_map(|r| r.lock_until).min()
    }

    /// Where a fetch should read from: the first available record of the window, else the
    /// end (if the window may grow); `None` when nothing can be acquired.
    pub fn next_fetch_offset(&self, limits: &Limits) -> Option<i64> {
        self.records
            .iter()
            .find(|(_, r)| r.state == RecordState::Available)
            .map(|(o, _)| *o)
            .or_else(|| (self.end - self.start < limits.max_in_flight).then_some(self.end))
    }

    /// Acquires for `member` what `batches` (read from the log, in order, below
    /// `read_limit`: the high watermark or last stable offset) offer: the available records
    /// of the window and new records past its end, whole batches at a time until at least
    /// `max_records` are acquired or the window is full (`record_limit`: exactly up to
    /// `max_records`, splitting a batch).
    #[allow(
        clippy::too_many_arguments,
        reason = "the log's batches, its read limit and the fetch's limits and mode, each needed"
    )]
    pub fn acquire(
        &mut self,
        member: &str,
        batches: &[BatchSpan],
        read_limit: i64,
        max_records: i64,
        record_limit: bool,
        now: Instant,
        limits: &Limits,
    ) -> Vec<AcquiredRange> {
        let lock_until = now + limits.lock_duration;
        let mut acquired: Vec<(i64, i16)> = Vec::new();
        'batches: for batch in batches {
            if acquired.len() as i64 >= max_records.max(1) {
                break;
            }
            let last = batch.last_offset.min(read_limit - 1);
            if last < batch.base_offset.max(self.start) {
                continue;
            }
            // Offsets the log no longer holds between the window's end and this batch.
            if batch.base_offset > self.end {
                if self.records.is_empty() {
                    self.start = batch.base_offset;
                } else {
                    for offset in self.end..batch.base_offset {
                        self.records
                            .insert(offset, InFlight::settled(RecordState::Archived, 0));
                    }
                }
                self.end = batch.base_offset;
            }
            let undeliverable = batch.control || batch.aborted;
            for offset in batch.base_offset.max(self.start)..=last {
                if record_limit && acquired.len() as i64 >= max_records.max(1) {
                    break;
                }
                if offset < self.end {
                    if undeliverable {
                        continue;
                    }
                    if let Some(r) = self.records.get_mut(&offset) {
                        if r.state == RecordState::Available {
                            r.state = RecordState::Acquired;
                            r.delivery_count = r.delivery_count.saturating_add(1);
                            r.member = Some(member.to_string());
                            r.lock_until = Some(lock_until);
                            acquired.push((offset, r.delivery_count));
                        }
                    }
                    continue;
                }
                // A full window stops the whole read: a later batch would start past the
                // window's end and be taken for offsets the log no longer holds.
                if offset != self.end || self.end - self.start >= limits.max_in_flight {
                    break 'batches;
                }
                let r = if undeliverable {
                    InFlight::settled(RecordState::Archived, 0)
                } else {
                    acquired.push((offset, 1));
                    InFlight {
                        state: RecordState::Acquired,
                        delivery_count: 1,
                        member: Some(member.to_string()),
                        lock_until: Some(lock_until),
                    }
                };
                self.records.insert(offset, r);
                self.end = offset + 1;
            }
        }
        self.advance_start();
        ranges(&acquired)
    }

    /// Applies `member`'s acknowledgements: all of them, or none with the error (batches
    /// out of order or overlapping, an unknown type: INVALID_REQUEST; a record not held by
    /// `member`: INVALID_RECORD_STATE).
    pub fn acknowledge(
        &mut self,
        member: &str,
        batches: &[AcknowledgementBatch],
        limits: &Limits,
    ) -> Result<(), ShareError> {
        let mut planned: Vec<(i64, AcknowledgeType)> = Vec::new();
        let mut previous_last: Option<i64> = None;
        for b in batches {
            if b.first_offset > b.last_offset || b.first_offset < 0 {
                return Err(ShareError::InvalidRequest(format!(
                    "acknowledgement batch {}..{} is empty",
                    b.first_offset, b.last_offset
                )));
            }
            if previous_last.is_some_and(|p| b.first_offset <= p) {
                return Err(ShareError::InvalidRequest(
                    "acknowledgement batches overlap or are out of order".into(),
                ));
            }
            previous_last = Some(b.last_offset);
            let span = b.last_offset - b.first_offset + 1;
            let types: Vec<AcknowledgeType> = b
                .acknowledge_types
                .iter()
                .map(|t| AcknowledgeType::from_code(*t))
                .collect::<Option<_>>()
                .ok_or_else(|| ShareError::InvalidRequest("unknown acknowledge type".into()))?;
            if types.is_empty() || (types.len() != 1 && types.len() as i64 != span) {
                return Err(ShareError::InvalidRequest(
                    "acknowledge types do not match the batch".into(),
                ));
            }
            for (i, offset) in (b.first_offset..=b.last_offset).enumerate() {
                let t = if types.len() == 1 {
                    types.first()
                } else {
                    types.get(i)
                };
                let Some(&t) = t else {
                    return Err(ShareError::InvalidRequest("acknowledge types".into()));
                };
                match self.records.get(&offset) {
                    Some(r)
                        if r.state == RecordState::Acquired
                            && r.member.as_deref() == Some(member) => {}
                    Some(r) => {
                        return Err(ShareError::InvalidRecordState(format!(
                            "offset {offset} is not acquired by this member (it is {:?})",
                            r.state
                        )))
                    }
                    None => {
                        return Err(ShareError::InvalidRecordState(format!(
                            "offset {offset} is outside the in-flight window {}..{}",
                            self.start, self.end
                        )))
                    }
                }
                planned.push((offset, t));
            }
        }
        for (offset, t) in planned {
            if let Some(r) = self.records.get_mut(&offset) {
                match t {
                    AcknowledgeType::Accept => {
                        *r = InFlight::settled(RecordState::Acknowledged, r.delivery_count)
                    }
                    AcknowledgeType::Gap | AcknowledgeType::Reject => {
                        *r = InFlight::settled(RecordState::Archived, r.delivery_count)
                    }
                    AcknowledgeType::Release => release(r, limits),
                    AcknowledgeType::Renew => {
                        r.lock_until = Some(Instant::now() + limits.lock_duration)
                    }
                }
            }
        }
        self.advance_start();
        Ok(())
    }

    /// Releases every record `member` holds (it left, or its share session closed).
    /// Returns whether anything changed.
    pub fn release_member(&mut self, member: &str, limits: &Limits) -> bool {
        let mut changed = false;
        for r in self.records.values_mut() {
            if r.state == RecordState::Acquired && r.member.as_deref() == Some(member) {
                release(r, limits);
                changed = true;
            }
        }
        if changed {
            self.advance_start();
        }
        changed
    }

    /// Moves the start past leading records that are done with.
    fn advance_start(&mut self) {
        while let Some(entry) = self.records.first_entry() {
            if entry.get().state.is_terminal() {
                entry.remove();
                self.start += 1;
            } else {
                break;
            }
        }
        if self.records.is_empty() {
            self.start = self.start.max(self.end);
            self.end = self.start;
        } else if let Some((&first, _)) = self.records.first_key_value() {
            self.start = first;
        }
    }

    /// Records of the window delivered to completion (acknowledged or archived).
    pub fn completed_in_window(&self) -> i64 {
        self.records
            .values()
            .filter(|r| r.state.is_terminal())
            .count() as i64
    }

    /// Members holding records now.
    pub fn holders(&self) -> HashSet<String> {
        self.records
            .values()
            .filter_map(|r| r.member.clone())
            .collect()
    }
}

/// Releases an acquired record: available again, or archived at the delivery limit.
fn release(r: &mut InFlight, limits: &Limits) {
    *r = if r.delivery_count >= limits.delivery_count_limit {
        InFlight::settled(RecordState::Archived, r.delivery_count)
    } else {
        InFlight::available(r.delivery_count)
    };
}

/// Contiguous offsets with equal delivery counts, as ranges.
fn ranges(acquired: &[(i64, i16)]) -> Vec<AcquiredRange> {
    let mut out: Vec<AcquiredRange> = Vec::new();
    for &(offset, count) in acquired {
        match out.last_mut() {
            Some(r) if r.last_offset + 1 == offset && r.delivery_count == count => {
                r.last_offset = offset
            }
            _ => out.push(AcquiredRange {
                first_offset: offset,
                last_offset: offset,
                delivery_count: count,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            lock_duration: Duration::from_secs(30),
            delivery_count_limit: 3,
            max_in_flight: 100,
        }
    }

    fn data(base: i64, last: i64) -> BatchSpan {
        BatchSpan {
            base_offset: base,
            last_offset: last,
            control: false,
            aborted: false,
        }
    }

    fn ack(first: i64, last: i64, t: i8) -> AcknowledgementBatch {
        AcknowledgementBatch {
            first_offset: first,
            last_offset: last,
            acknowledge_types: vec![t],
        }
    }

    #[test]
    fn acquire_accept_and_the_start_moves() {
        let now = Instant::now();
        let mut sp = SharePartition::new(0);
        let got = sp.acquire("a", &[data(0, 4), data(5, 9)], 10, 3, false, now, &limits());
        // Whole batches: the first batch already holds 5 records ≥ 3.
        assert_eq!(
            got,
            vec![AcquiredRange {
                first_offset: 0,
                last_offset: 4,
                delivery_count: 1
            }]
        );
        assert_eq!(sp.end_offset(), 5);
        sp.acknowledge("a", &[ack(0, 4, 1)], &limits()).unwrap();
        assert_eq!(sp.start_offset(), 5);
        assert!(sp.runs().is_empty());
    }

    #[test]
    fn release_redelivers_with_a_higher_count_then_archives_at_the_limit() {
        let now = Instant::now();
        let l = limits();
        let mut sp = SharePartition::new(0);
        for round in 1..=3 {
            let from = sp.next_fetch_offset(&l).unwrap();
            assert_eq!(from, 0);
            let got = sp.acquire("a", &[data(0, 0)], 1, 10, false, now, &l);
            assert_eq!(got.first().map(|r| r.delivery_count), Some(round));
            sp.acknowledge("a", &[ack(0, 0, 2)], &l).unwrap();
        }
        // Released at the limit: archived, the start passed it.
        assert_eq!(sp.start_offset(), 1);
        assert_eq!(
            sp.acquire("a", &[data(0, 0)], 1, 10, false, now, &l),
            vec![]
        );
    }

    #[test]
    fn only_the_holder_may_acknowledge() {
        let now = Instant::now();
        let mut sp = SharePartition::new(0);
        sp.acquire("a", &[data(0, 1)], 2, 10, false, now, &limits());
        assert!(matches!(
            sp.acknowledge("b", &[ack(0, 0, 1)], &limits()),
            Err(ShareError::InvalidRecordState(_))
        ));
        assert!(matches!(
            sp.acknowledge("a", &[ack(5, 5, 1)], &limits()),
            Err(ShareError::InvalidRecordState(_))
        ));
        assert!(matches!(
            sp.acknowledge("a", &[ack(0, 1, 1), ack(1, 1, 1)], &limits()),
            Err(ShareError::InvalidRequest(_))
        ));
        // Nothing was applied by the failed requests.
        assert_eq!(sp.record(0), Some((RecordState::Acquired, 1)));
        sp.acknowledge("a", &[ack(0, 1, 1)], &limits()).unwrap();
        // Acknowledged twice: no longer held.
        assert!(sp.acknowledge("a", &[ack(0, 0, 1)], &limits()).is_err());
    }

    #[test]
    fn an_expired_lock_makes_records_available_to_others() {
        let now = Instant::now();
        let l = limits();
        let mut sp = SharePartition::new(0);
        sp.acquire("a", &[data(0, 1)], 2, 10, false, now, &l);
        assert!(!sp.release_expired(now + Duration::from_secs(29), &l));
        assert!(sp.release_expired(now + Duration::from_secs(30), &l));
        let later = now + Duration::from_secs(31);
        let got = sp.acquire("b", &[data(0, 1)], 2, 10, false, later, &l);
        assert_eq!(got.first().map(|r| r.delivery_count), Some(2));
        assert!(sp.acknowledge("a", &[ack(0, 1, 1)], &l).is_err());
        sp.acknowledge("b", &[ack(0, 1, 1)], &l).unwrap();
    }

    #[test]
    fn control_batches_are_never_delivered() {
        let now = Instant::now();
        let mut sp = SharePartition::new(0);
        let marker = BatchSpan {
            control: true,
            ..data(2, 2)
        };
        let got = sp.acquire(
            "a",
            &[data(0, 1), marker, data(3, 3)],
            4,
            10,
            false,
            now,
            &limits(),
        );
        assert_eq!(got.len(), 2);
        assert_eq!(sp.record(2), Some((RecordState::Archived, 0)));
    }

    #[test]
    fn the_stored_form_comes_back_without_acquisitions() {
        let now = Instant::now();
        let l = limits();
        let mut sp = SharePartition::new(0);
        sp.acquire("a", &[data(0, 5)], 6, 10, false, now, &l);
        sp.acknowledge("a", &[ack(1, 1, 1), ack(3, 3, 3)], &l)
            .unwrap();
        let back = SharePartition::restore(sp.start_offset(), 0, &sp.runs());
        assert_eq!(back.start_offset(), 0);
        assert_eq!(back.end_offset(), 6);
        assert_eq!(back.record(0), Some((RecordState::Available, 1)));
        assert_eq!(back.record(1), Some((RecordState::Acknowledged, 1)));
        assert_eq!(back.record(3), Some((RecordState::Archived, 1)));
    }

    #[test]
    fn the_window_is_bounded() {
        let now = Instant::now();
        let l = Limits {
            max_in_flight: 4,
            ..limits()
        };
        let mut sp = SharePartition::new(0);
        let got = sp.acquire("a", &[data(0, 9)], 10, 100, false, now, &l);
        assert_eq!(got.first().map(|r| r.last_offset), Some(3));
        assert_eq!(sp.next_fetch_offset(&l), None);
    }

    #[test]
    fn a_full_window_stops_the_read_and_archives_nothing_past_it() {
        let now = Instant::now();
        let l = Limits {
            max_in_flight: 10,
            ..limits()
        };
        let mut sp = SharePartition::new(0);
        let got = sp.acquire(
            "a",
            &[data(0, 4), data(5, 9), data(10, 14), data(15, 19)],
            20,
            100,
            false,
            now,
            &l,
        );
        assert_eq!(
            got.iter()
                .map(|r| (r.first_offset, r.last_offset))
                .collect::<Vec<_>>(),
            vec![(0, 9)]
        );
        assert_eq!(sp.end_offset(), 10);
        assert_eq!(sp.record(10), None, "nothing past the window is archived");
        // Once the first five are accepted the rest is acquired, never archived.
        sp.acknowledge("a", &[ack(0, 4, 1)], &l).unwrap();
        let got = sp.acquire("b", &[data(10, 14), data(15, 19)], 20, 100, false, now, &l);
        assert_eq!(
            got.iter()
                .map(|r| (r.first_offset, r.last_offset))
                .collect::<Vec<_>>(),
            vec![(10, 14)]
        );
    }

    #[test]
    fn record_limit_mode_splits_a_batch() {
        let now = Instant::now();
        let mut sp = SharePartition::new(0);
        let got = sp.acquire("a", &[data(0, 9)], 10, 3, true, now, &limits());
        assert_eq!(
            got.iter()
                .map(|r| (r.first_offset, r.last_offset))
                .collect::<Vec<_>>(),
            vec![(0, 2)]
        );
        let got = sp.acquire("b", &[data(0, 9)], 10, 3, false, now, &limits());
        assert_eq!(
            got.iter()
                .map(|r| (r.first_offset, r.last_offset))
                .collect::<Vec<_>>(),
            vec![(3, 9)]
        );
    }
}
