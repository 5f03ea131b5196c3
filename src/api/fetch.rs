//! Fetch: stored batches as they are, long-polling on the partitions' log-end watches until
//! `min_bytes` are available or `max_wait_ms` passes. Fetch sessions are not created
//! (session id 0): every request is a full fetch. A fetch naming no partition (such as the
//! session-closing fetch, epoch -1, a Java consumer sends when it closes) is answered at once,
//! as Kafka does: nothing it could wait for would ever arrive.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, ProducerId};
use kafka_protocol::protocol::Encodable;
use tokio::sync::watch;
use tokio::time::Instant;

use super::chunks::{Chunks, FetchAnswer};
use super::error::{code, partition_error_code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{ApiContext, Call, Handled, Reply, ResponseBody, TypedFuture};
use crate::broker::Partition;

/// Fetch version from which topics are named by id.
const TOPIC_ID_VERSION: i16 = 13;

/// One requested partition, resolved once.
struct Target {
    topic: usize,
    partition: i32,
    resolved: Result<Arc<Partition>, i16>,
    fetch_offset: i64,
    max_bytes: usize,
    current_leader_epoch: i32,
    last_fetched_epoch: i32,
}

fn empty_partition(index: i32, error: i16) -> PartitionData {
    let mut p = PartitionData::default()
        .with_partition_index(index)
        .with_error_code(error)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(Some(Vec::new()))
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()));
    p.diverging_epoch.epoch = -1;
    p.diverging_epoch.end_offset = -1;
    p.current_leader.leader_id = BrokerId(-1);
    p.current_leader.leader_epoch = -1;
    p.snapshot_id.epoch = -1;
    p.snapshot_id.end_offset = -1;
    p
}

fn resolve(
    ctx: &ApiContext,
    version: i16,
    topics: &[FetchTopic],
) -> (Vec<FetchableTopicResponse>, Vec<Target>) {
    let mut out = Vec::with_capacity(topics.len());
    let mut targets = Vec::new();
    for (ti, t) in topics.iter().enumerate() {
        // From v13 topics are named by id; an unknown id is UNKNOWN_TOPIC_ID.
        let name = if version >= TOPIC_ID_VERSION {
            ctx.replicas
                .topics()
                .get_by_id(&t.topic_id)
                .map(|meta| meta.name.clone())
                .ok_or(code(ResponseError::UnknownTopicId))
        } else {
            Ok(t.topic.0.as_str().to_string())
        };
        let mut entry = FetchableTopicResponse::default();
        if version >= TOPIC_ID_VERSION {
            entry.topic_id = t.topic_id;
        } else {
            entry.topic = t.topic.clone();
        }
        out.push(entry);
        for p in &t.partitions {
            let resolved = name.clone().and_then(|name| {
                ctx.replicas
                    .partition(&name, p.partition)
                    .ok_or(code(ResponseError::UnknownTopicOrPartition))
            });
            targets.push(Target {
                topic: ti,
                partition: p.partition,
                resolved,
                fetch_offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                current_leader_epoch: p.current_leader_epoch,
                last_fetched_epoch: if version >= 12 {
                    p.last_fetched_epoch
                } else {
                    -1
                },
            });
        }
    }
    (out, targets)
}

/// Byte limits shared by the partitions of one fetch.
struct Budget {
    /// Bytes the response may still take (`max_bytes`).
    remaining: usize,
    /// Bytes gathered so far.
    gathered: usize,
}

/// How a fetch reads.
#[derive(Clone, Copy)]
struct ReadMode {
    /// `read_committed`: stop at the last stable offset and list aborted transactions.
    read_committed: bool,
}

/// Reads one partition; the flag says the partition must be answered at once (an error or
/// a divergence) rather than waited on.
async fn read_partition(
    partition: &Partition,
    t: &Target,
    budget: &mut Budget,
    mode: ReadMode,
) -> (PartitionData, bool) {
    if let Err(e) = partition.check_leader_epoch(t.current_leader_epoch) {
        // As Kafka: a partition in error reports no offsets (-1).
        return (empty_partition(t.partition, partition_error_code(&e)), true);
    }
    let mut p = empty_partition(t.partition, NONE);
    if let Some((epoch, end)) = divergence(partition, t) {
        // The client's log ends in an epoch that ended earlier here: tell it where, instead
        // of records (KIP-320), so it can truncate.
        let offsets = partition.offsets();
        p.high_watermark = offsets.high_watermark;
        p.last_stable_offset = offsets.last_stable_offset;
        p.log_start_offset = offsets.log_start_offset;
        p.diverging_epoch.epoch = epoch;
        p.diverging_epoch.end_offset = end;
        return (p, true);
    }
    // The first batch of the first non-empty partition is returned whole even beyond the
    // limits; after that only whole batches within them.
    let first = budget.gathered == 0;
    let limit = t.max_bytes.min(budget.remaining);
    if !first && limit == 0 {
        let offsets = partition.offsets();
        p.high_watermark = offsets.high_watermark;
        p.last_stable_offset = offsets.last_stable_offset;
        p.log_start_offset = offsets.log_start_offset;
        return (p, false);
    }
    let read = partition
        .read(t.fetch_offset, limit, mode.read_committed)
        .await;
    let read = match read {
        Ok(read) => read,
        Err(e) => return (empty_partition(t.partition, partition_error_code(&e)), true),
    };
    p.high_watermark = read.offsets.high_watermark;
    p.last_stable_offset = read.offsets.last_stable_offset;
    p.log_start_offset = read.offsets.log_start_offset;
    if !first && read.records.len() > limit {
        return (p, false);
    }
    if mode.read_committed {
        p.aborted_transactions = Some(
            read.aborted_transactions
                .iter()
                .map(|a| {
                    AbortedTransaction::default()
                        .with_producer_id(ProducerId(a.producer_id))
                        .with_first_offset(a.first_offset)
                })
                .collect(),
        );
    }
    budget.remaining = budget.remaining.saturating_sub(read.records.len());
    budget.gathered += read.records.len();
    p.records = Some(read.records);
    (p, false)
}

/// Reads every target once. Returns the response topics, the bytes gathered, and whether
/// some partition must be answered at once.
async fn read_all(
    skeleton: &[FetchableTopicResponse],
    targets: &[Target],
    total_max: usize,
    mode: ReadMode,
) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let mut topics = skeleton.to_vec();
    let mut budget = Budget {
        remaining: total_max,
        gathered: 0,
    };
    let mut answer_now = false;
    for t in targets {
        let (data, now) = match &t.resolved {
            Err(e) => (empty_partition(t.partition, *e), true),
            Ok(partition) => read_partition(partition, t, &mut budget, mode).await,
        };
        answer_now |= now;
        if let Some(topic) = topics.get_mut(t.topic) {
            topic.partitions.push(data);
        }
    }
    (topics, budget.gathered, answer_now)
}

/// Whether the client's last fetched epoch diverges from this log at its fetch offset:
/// the epoch ended here before the offset, or never existed here.
fn divergence(partition: &Partition, t: &Target) -> Option<(i32, i64)> {
    if t.last_fetched_epoch < 0 {
        return None;
    }
    let (epoch, end) = partition.end_offset_for_epoch(t.last_fetched_epoch);
    (epoch >= 0 && (epoch < t.last_fetched_epoch || end < t.fetch_offset)).then_some((epoch, end))
}

/// Waits until any watched log end offset moves; drops watches whose log went away.
async fn any_changed(watches: &mut Vec<watch::Receiver<i64>>) {
    if watches.is_empty() {
        return std::future::pending().await;
    }
    let mut closed = Vec::new();
    {
        let mut futures: Vec<Pin<Box<_>>> =
            watches.iter_mut().map(|w| Box::pin(w.changed())).collect();
        poll_fn(|cx| {
            let mut ready = false;
            for (i, f) in futures.iter_mut().enumerate() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    ready = true;
                    if r.is_err() {
                        closed.push(i);
                    }
                }
            }
            if ready {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
    for i in closed.into_iter().rev() {
        watches.swap_remove(i);
    }
}

/// Handles a Fetch request of `version` (v4–v18).
pub fn handle(ctx: &Arc<ApiContext>, version: i16, req: FetchRequest) -> TypedFuture<FetchAnswer> {
    let mut response = FetchResponse::default();
    if version >= 7 && (req.session_id != 0 || req.session_epoch > 0) {
        // Skiff never hands out a session id, so a client naming one is out of step.
        response.error_code = code(ResponseError::FetchSessionIdNotFound);
        return Box::pin(std::future::ready(Reply::Send(FetchAnswer(response))));
    }
    let (skeleton, targets) = resolve(ctx, version, &req.topics);
    let total_max = if version >= 3 {
        usize::try_from(req.max_bytes).unwrap_or(0)
    } else {
        usize::MAX
    };
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    let max_wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    let mut shutdown = ctx.shutdown.clone();
    let mode = ReadMode {
        read_committed: req.isolation_level == 1,
    };
    Box::pin(async move {
        let deadline = Instant::now() + max_wait;
        // Subscribe before the first read so no append between the read and the wait is missed.
        let mut watches: Vec<_> = targets
            .iter()
            .filter_map(|t| t.resolved.as_ref().ok().map(|p| p.subscribe()))
            .collect();
        let mut deadline_passed = false;
        loop {
            let (topics, gathered, any_error) =
                read_all(&skeleton, &targets, total_max, mode).await;
            let done = gathered >= min_bytes
                || targets.is_empty()
                || any_error
                || deadline_passed
                || Instant::now() >= deadline
                || *shutdown.borrow();
            if done {
                response.responses = topics;
                return Reply::Send(FetchAnswer(response));
            }
            tokio::select! {
                _ = any_changed(&mut watches) => {}
                _ = tokio::time::sleep_until(deadline) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        // The broker is gone: answer with what there is.
                        deadline_passed = true;
                    }
                }
            }
        }
    })
}

/// Fetch: stored batches from each partition, long-polling until `min_bytes` or `max_wait_ms`.
/// v18 adds only a follower's high watermark (a tagged field consumers do not send).
pub struct Fetch;

impl Api for Fetch {
    type Request = FetchRequest;
    type Response = FetchAnswer;
    const KEY: ApiKey = ApiKey::Fetch;
    const MIN_VERSION: i16 = 4;
    const MAX_VERSION: i16 = 18;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Topic);

    fn handle(ctx: &Arc<ApiContext>, call: &Call, request: FetchRequest) -> Handled<FetchAnswer> {
        Handled::Later(handle(ctx, call.version, request))
    }
}

/// Fetch answers travel as chunks: the records are not copied into the response buffer.
impl ResponseBody for FetchAnswer {
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        self.0.encode(out, version).map_err(|e| e.to_string())
    }

    fn encode_chunked(&self, version: i16) -> Option<Result<Chunks, String>> {
        Some(self.encode_chunks(version))
    }
}
