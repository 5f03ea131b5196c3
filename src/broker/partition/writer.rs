//! A partition's writer: appends in submission order on a blocking thread, with group
//! commit.
//!
//! Jobs are queued under a short lock, in the order [`Writer::submit`] is called (the order
//! of the requests, since produce handlers submit at dispatch). When the queue goes from
//! idle to busy, one drain task starts on tokio's blocking pool; it takes every queued job,
//! appends them one after another (one pass over the log's write lock per batch), answers
//! the jobs that do not wait for durability, then makes the group durable with one fsync
//! (`always` policy) and answers the rest. Jobs that arrive meanwhile form the next group,
//! so the more producers wait on the fsync, the more each fsync carries. When the queue is
//! empty the task ends; an idle partition holds no thread.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use super::error::PartitionError;
use super::policy::apply_topic_settings;
use crate::broker::topic_config::TopicSettings;
use crate::storage::{Log, LogSlot, StorageError};

/// Where appended records landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset of the first record of the first batch (-1 if there was none).
    pub base_offset: i64,
    /// Offset of the last record appended (-1 if there was none).
    pub last_offset: i64,
    /// The log-append time stamped on the first batch, or -1 (CreateTime).
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
}

/// An append that failed part-way or whole.
#[derive(Debug)]
pub struct AppendFailure {
    /// Why.
    pub error: PartitionError,
    /// Base offset of the batches of the same request appended before the failure (they
    /// stay: their offsets were assigned), if any.
    pub base_offset: Option<i64>,
}

/// One produce request's records for this partition.
pub(super) struct Job {
    /// The records, validated.
    pub records: Bytes,
    /// Byte range of each batch in `records`.
    pub ranges: Vec<(usize, usize)>,
    /// The topic settings in force when the request arrived.
    pub settings: Arc<TopicSettings>,
    /// The leader epoch stamped on the batches.
    pub leader_epoch: i32,
    /// acks=all: answer only once durable.
    pub durable: bool,
    /// Set when the records were already appended in place and the job waits only for
    /// the group's fsync (the drain then appends nothing for it).
    pub appended: Option<AppendOutcome>,
    /// Where the answer goes.
    pub done: Answer,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A drain task exists (appending a group, or syncing one).
    running: bool,
    /// Someone is appending to the log now: a drain its group, or a submitter one small job
    /// in place. Appends never overlap, so offsets follow submission order.
    appending: bool,
    /// Appends are being paused ([`Writer::pause`]): jobs queue up, none is appended in
    /// place, and a drain stops after its current group.
    pausing: bool,
}

/// The append queue of one partition log.
pub(super) struct Writer {
    slot: Arc<LogSlot>,
    queue: Mutex<Queue>,
    /// Signalled when an append or a drain ends (what [`Writer::pause`] waits for).
    idle: Condvar,
}

/// Appends of a partition paused (see [`Writer::pause`]); dropping it resumes them.
pub struct AppendsPaused<'a> {
    writer: &'a Arc<Writer>,
}

impl Drop for AppendsPaused<'_> {
    fn drop(&mut self) {
        let start = {
            let mut q = self.writer.queue.lock();
            q.pausing = false;
            q.appending = false;
            let start = !q.jobs.is_empty() && !q.running;
            if start {
                q.running = true;
            }
            start
        };
        self.writer.idle.notify_all();
        if start {
            self.writer.start_drain();
        }
    }
}

impl Writer {
    #[cfg(test)]
    pub(super) fn new(log: Arc<Log>) -> Writer {
        Writer::over(Arc::new(LogSlot::new(log)))
    }

    /// The writer of the log in `slot` (and of whatever log a move puts there).
    pub(super) fn over(slot: Arc<LogSlot>) -> Writer {
        Writer {
            slot,
            queue: Mutex::new(Queue::default()),
            idle: Condvar::new(),
        }
    }

    fn log(&self) -> Arc<Log> {
        self.slot.current()
    }

    /// Pauses the partition's appends: waits (blocking the calling thread, never a
    /// runtime worker) until no append or drain runs, then holds the right to append,
    /// so jobs submitted meanwhile queue up in order. Dropping the guard resumes them (a
    /// drain starts for what queued). A partition move swaps its log under this pause.
    pub(super) fn pause(self: &Arc<Self>) -> AppendsPaused<'_> {
        let mut q = self.queue.lock();
        q.pausing = true;
        while q.appending || q.running {
            self.idle.wait(&mut q);
        }
        q.appending = true;
        AppendsPaused { writer: self }
    }

    /// Starts a drain on a blocking thread (on the caller's thread outside a runtime).
    fn start_drain(self: &Arc<Self>) {
        let me = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || me.drain());
            }
            Err(_) => me.drain(),
        }
    }

    /// Appends a job: in place on the caller's thread when that is as cheap as a memory
    /// copy (see [`Writer::may_append_in_place`]) and nothing is queued or being appended
    /// (a drain that is only syncing its group does not stop it), otherwise queued behind
    /// the jobs before it, with a drain started on a blocking thread unless one is running.
    /// Outside a tokio runtime (tools, unit tests) the drain runs on the caller's thread.
    pub(super) fn submit(self: &Arc<Self>, job: Job) {
        let in_place = {
            let mut q = self.queue.lock();
            if !q.appending && !q.pausing && q.jobs.is_empty() && self.may_append_in_place(&job) {
                q.appending = true;
                Some(job)
            } else {
                q.jobs.push(job);
                if q.running || q.appending || q.pausing {
                    // The drain takes it after its sync, or the in-place submitter starts
                    // one once its append is done.
                    return;
                }
                q.running = true;
                None
            }
        };
        if let Some(mut job) = in_place {
            let guard = AppendingGuard { writer: self };
            let log = self.log();
            let outcome = append_in_place(&log, &job);
            drop(guard);
            let mut q = self.queue.lock();
            q.appending = false;
            self.idle.notify_all();
            match outcome {
                // acks=all under `always`: appended (readers see it now), but answered
                // only after the fsync, which a drain does, ahead of any job queued
                // meanwhile and in one group commit with them.
                Some(Ok(outcome))
                    if job.durable && outcome.last_offset >= 0 && log.syncs_each_append() =>
                {
                    job.appended = Some(outcome);
                    q.jobs.insert(0, job);
                }
                Some(result) => {
                    let _ = job.done.send(result);
                }
                // A roll is due: the job goes to a drain, ahead of any queued meanwhile.
                None => q.jobs.insert(0, job),
            }
            if q.jobs.is_empty() || q.running || q.pausing {
                return;
            }
            q.running = true;
        }
        self.start_drain();
    }

    /// Whether `job`, arriving at a writer with nothing queued or being appended, is
    /// appended on the submitting thread: one small batch (at most [`IN_PLACE_MAX_BYTES`]).
    /// Its append is then a `pwrite` into the page cache, a few microseconds, while handing
    /// it to a blocking thread costs two thread wake-ups (measured on the cold-backlog bench
    /// row: 4.5 times the context switches and 40% more broker CPU for 1,000 produce
    /// requests a second). A job that must be durable before its answer (acks=all under
    /// `always`) still waits for an fsync on a drain; only its append is in place, so
    /// consumers see the records at once, even while the previous group's fsync runs. A
    /// segment roll (fsyncs) never runs in place: [`Log::append_unless_roll`] declines it
    /// and the job goes to a drain.
    fn may_append_in_place(&self, job: &Job) -> bool {
        tokio::runtime::Handle::try_current().is_ok()
            && job.appended.is_none()
            && job.ranges.len() == 1
            && job.records.len() <= IN_PLACE_MAX_BYTES
    }

    /// Appends the queued jobs group by group, each group synced once. Between groups the
    /// drain gives way to an in-place append in progress (which restarts it when done).
    fn drain(&self) {
        let _running = RunningGuard { writer: self };
        loop {
            let jobs = {
                let mut q = self.queue.lock();
                if q.jobs.is_empty() || q.appending || q.pausing {
                    q.running = false;
                    drop(q);
                    self.idle.notify_all();
                    return;
                }
                q.appending = true;
                std::mem::take(&mut q.jobs)
            };
            let waiting = {
                let _appending = AppendingGuard { writer: self };
                let waiting = self.append_group(jobs);
                self.queue.lock().appending = false;
                self.idle.notify_all();
                waiting
            };
            self.sync_group(waiting);
        }
    }

    /// Appends a group of jobs in order; answers those that do not wait for durability and
    /// returns the others with the offset the group's sync must reach.
    fn append_group(&self, jobs: Vec<Job>) -> Waiting {
        let mut waiting = Waiting {
            jobs: Vec::new(),
            sync_to: -1,
        };
        let log = self.log();
        for job in jobs {
            let result = match job.appended {
                Some(outcome) => Ok(outcome),
                None => append_job(&log, &job),
            };
            match &result {
                Ok(outcome) if job.durable && outcome.last_offset >= 0 => {
                    waiting.sync_to = waiting.sync_to.max(outcome.last_offset);
                    waiting.jobs.push((job.done, result));
                }
                _ => {
                    // The requester may be gone (connection closed): nothing to tell.
                    let _ = job.done.send(result);
                }
            }
        }
        waiting
    }

    /// Makes a group durable with one sync and answers its jobs.
    fn sync_group(&self, waiting: Waiting) {
        if waiting.jobs.is_empty() {
            return;
        }
        // Under `always` this is the group's one fsync; under other policies it returns
        // at once (durability is the flusher's or the page cache's business). After a move
        // swapped the log, the new log holds (durably) what the old one was appended.
        let log = self.log();
        match log.sync_to(waiting.sync_to) {
            Ok(()) => {
                for (done, result) in waiting.jobs {
                    let _ = done.send(result);
                }
            }
            Err(e) => {
                tracing::warn!(log = %log.dir().display(), error = %e, "group commit failed");
                for (done, result) in waiting.jobs {
                    let base_offset = result.ok().map(|o| o.base_offset);
                    let _ = done.send(Err(AppendFailure {
                        error: copy_error(&e),
                        base_offset,
                    }));
                }
            }
        }
    }
}

/// The appended jobs of a group that wait for its sync.
struct Waiting {
    jobs: Vec<(Answer, Result<AppendOutcome, AppendFailure>)>,
    sync_to: i64,
}

/// Where a job's answer goes.
type Answer = oneshot::Sender<Result<AppendOutcome, AppendFailure>>;

/// If a drain unwinds, the queue must not stay marked busy forever: queued jobs are
/// dropped (their requesters see [`PartitionError::WriterStopped`]) and the next submit
/// starts a new drain.
struct RunningGuard<'a> {
    writer: &'a Writer,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.writer.queue.lock();
            q.jobs.clear();
            q.running = false;
            q.appending = false;
            drop(q);
            self.writer.idle.notify_all();
        }
    }
}

/// If an append unwinds (in place or in a drain), the log must not stay marked as being
/// appended to, or no drain would ever run again.
struct AppendingGuard<'a> {
    writer: &'a Writer,
}

impl Drop for AppendingGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.writer.queue.lock().appending = false;
            self.writer.idle.notify_all();
        }
    }
}

/// The largest job appended in place (see [`Writer::may_append_in_place`]): a small
/// batch, as a producer sends at low rates, where a thread hand-off costs more than the
/// write. Larger batches come from busy producers, whose jobs gain from group commit.
const IN_PLACE_MAX_BYTES: usize = 16 * 1024;

/// Appends a one-batch job unless that rolls a segment (`None`: the job is untouched).
fn append_in_place(log: &Log, job: &Job) -> Option<Result<AppendOutcome, AppendFailure>> {
    let (from, to) = job.ranges.first().copied()?;
    let batch = job.records.get(from..to).map(BytesMut::from)?;
    let appended = apply_topic_settings(batch, &job.settings).and_then(|batch| {
        log.append_unless_roll(batch, job.leader_epoch, job.settings.timestamp_type)
            .map_err(PartitionError::from)
    });
    match appended {
        Ok(None) => None,
        Ok(Some(info)) => Some(Ok(AppendOutcome {
            base_offset: info.base_offset,
            last_offset: info.last_offset,
            log_append_time: info.log_append_time,
            log_start_offset: info.log_start_offset,
        })),
        Err(error) => {
            tracing::debug!(log = %log.dir().display(), error = %error, "append rejected");
            Some(Err(AppendFailure {
                error,
                base_offset: None,
            }))
        }
    }
}

/// One error for each waiter of a failed sync (storage errors are not `Clone`).
fn copy_error(e: &StorageError) -> PartitionError {
    match e {
        StorageError::LogClosed => PartitionError::Storage(StorageError::LogClosed),
        other => {
            PartitionError::Storage(StorageError::Io(std::io::Error::other(other.to_string())))
        }
    }
}

/// Appends one request's batches in order; stops at the first that fails (the batches
/// before it stay appended).
fn append_job(log: &Log, job: &Job) -> Result<AppendOutcome, AppendFailure> {
    let mut outcome = AppendOutcome {
        base_offset: -1,
        last_offset: -1,
        log_append_time: -1,
        log_start_offset: log.log_start_offset(),
    };
    for (i, (from, to)) in job.ranges.iter().enumerate() {
        let batch = job
            .records
            .get(*from..*to)
            .map(BytesMut::from)
            .unwrap_or_default();
        let appended = apply_topic_settings(batch, &job.settings).and_then(|batch| {
            log.append(batch, job.leader_epoch, job.settings.timestamp_type)
                .map_err(PartitionError::from)
        });
        match appended {
            Ok(info) => {
                if i == 0 {
                    outcome.base_offset = info.base_offset;
                    outcome.log_append_time = info.log_append_time;
                }
                outcome.log_start_offset = info.log_start_offset;
                outcome.last_offset = info.last_offset;
            }
            Err(error) => {
                tracing::debug!(log = %log.dir().display(), error = %error, "append rejected");
                return Err(AppendFailure {
                    error,
                    base_offset: (i > 0).then_some(outcome.base_offset),
                });
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::broker::topic_config;
    use crate::config::Config;
    use crate::storage::record::BatchBuilder;
    use crate::storage::{Compression, FsyncPolicy, LogConfig};

    fn records(writer: usize, n: usize) -> Bytes {
        let mut b = BatchBuilder::new(Compression::None);
        let value = format!("w{writer}-n{n}");
        b.push(Some(b"k"), Some(value.as_bytes()), &[], 1_000)
            .unwrap();
        b.build().unwrap()
    }

    fn job(
        records: Bytes,
        durable: bool,
    ) -> (Job, oneshot::Receiver<Result<AppendOutcome, AppendFailure>>) {
        let config = Config::default();
        let settings = topic_config::settings(&config, &LogConfig::default(), &BTreeMap::new());
        let (tx, rx) = oneshot::channel();
        let len = records.len();
        (
            Job {
                records,
                ranges: vec![(0, len)],
                settings: Arc::new(settings),
                leader_epoch: 0,
                durable,
                appended: None,
                done: tx,
            },
            rx,
        )
    }

    /// Many concurrent appenders, two in three acks=all: each acks=all job is answered only
    /// once its records are on disk (fsync `always`), and each appender's jobs land in its
    /// submission order, also when small jobs are appended in place while a drain syncs.
    #[test]
    fn concurrent_durable_appends_are_synced_before_answered_and_keep_order() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            fsync: FsyncPolicy::Always,
            ..LogConfig::default()
        };
        let log = Arc::new(Log::open(dir.path(), config).unwrap());
        let writer = Arc::new(Writer::new(Arc::clone(&log)));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        const WRITERS: usize = 8;
        const EACH: usize = 50;
        let offsets: Vec<Vec<i64>> = rt.block_on(async {
            let tasks: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let writer = Arc::clone(&writer);
                    let log = Arc::clone(&log);
                    tokio::spawn(async move {
                        let mut pending = Vec::new();
                        for n in 0..EACH {
                            let durable = n % 3 != 0;
                            let (job, rx) = job(records(w, n), durable);
                            writer.submit(job);
                            pending.push((durable, rx));
                        }
                        let mut offsets = Vec::new();
                        for (durable, rx) in pending {
                            let outcome = rx.await.unwrap().unwrap();
                            assert!(
                                !durable || log.durable_end() > outcome.last_offset,
                                "answered before durable"
                            );
                            offsets.push(outcome.base_offset);
                        }
                        offsets
                    })
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.push(t.await.unwrap());
            }
            all
        });
        let mut every: Vec<i64> = offsets.iter().flatten().copied().collect();
        for own in &offsets {
            assert!(own.windows(2).all(|w| w[0] < w[1]), "submission order kept");
        }
        every.sort_unstable();
        assert_eq!(every, (0..(WRITERS * EACH) as i64).collect::<Vec<_>>());
        assert_eq!(log.log_end_offset(), (WRITERS * EACH) as i64);
        // The record at each offset is the one its writer was told.
        for (w, own) in offsets.iter().enumerate() {
            for (n, offset) in own.iter().enumerate() {
                let bytes = log.read(*offset, 1).unwrap();
                let value = format!("w{w}-n{n}");
                assert!(
                    bytes
                        .windows(value.len())
                        .any(|win| win == value.as_bytes()),
                    "offset {offset} holds record {n} of writer {w}"
                );
            }
        }
    }

    /// While appends are paused (a move's swap), jobs queue up in order and nothing is
    /// appended; resuming appends them in submission order.
    #[test]
    fn paused_appends_queue_up_and_resume_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path(), LogConfig::default()).unwrap());
        let writer = Arc::new(Writer::new(Arc::clone(&log)));
        let paused = writer.pause();
        let mut answers = Vec::new();
        for n in 0..3 {
            let (j, rx) = job(records(0, n), n % 2 == 0);
            writer.submit(j);
            answers.push(rx);
        }
        assert_eq!(log.log_end_offset(), 0, "nothing appended while paused");
        // Outside a runtime the drain that resuming starts runs on this thread.
        drop(paused);
        let offsets: Vec<i64> = answers
            .into_iter()
            .map(|rx| rx.blocking_recv().unwrap().unwrap().base_offset)
            .collect();
        assert_eq!(offsets, vec![0, 1, 2]);
    }

    /// A job that fails does not stop the queue: later jobs are appended.
    #[test]
    fn a_failed_job_does_not_stop_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path(), LogConfig::default()).unwrap());
        let writer = Arc::new(Writer::new(Arc::clone(&log)));
        let mut corrupt = BytesMut::from(&records(0, 0)[..]);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let (bad, bad_rx) = job(corrupt.freeze(), false);
        let (good, good_rx) = job(records(0, 1), false);
        // Outside a runtime the drain runs on the submitting thread.
        writer.submit(bad);
        writer.submit(good);
        let bad = bad_rx.blocking_recv().unwrap();
        assert!(matches!(
            bad,
            Err(AppendFailure {
                error: PartitionError::Storage(StorageError::ChecksumMismatch { .. }),
                base_offset: None,
            })
        ));
        assert_eq!(good_rx.blocking_recv().unwrap().unwrap().base_offset, 0);
    }
}
