//! Fetch: stored batches as they are, long-polling on the partitions' log-end watches until
//! `min_bytes` are available or `max_wait_ms` passes. Fetch sessions are not created
//! (session id 0): every request is a full fetch.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
use tokio::sync::watch;
use tokio::time::Instant;

use super::error::{code, leader_epoch_check, storage_error_code, NONE};
use super::offset_for_leader_epoch::epoch_end_offset;
use super::{ApiContext, Reply, Response, ResponseFuture};
use crate::storage::Log;

/// Fetch version from which topics are named by id.
const TOPIC_ID_VERSION: i16 = 13;

/// One requested partition, resolved once.
struct Target {
    topic: usize,
    partition: i32,
    log: Result<Arc<Log>, i16>,
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
            let log = name.clone().and_then(|name| {
                ctx.replicas
                    .log(&name, p.partition)
                    .ok_or(code(ResponseError::UnknownTopicOrPartition))
            });
            targets.push(Target {
                topic: ti,
                partition: p.partition,
                log,
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

/// Reads every target once. Returns the response topics and the bytes gathered, and
/// whether any partition reported an error.
fn read_all(
    skeleton: &[FetchableTopicResponse],
    targets: &[Target],
    total_max: usize,
    leader_epoch: i32,
) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let mut topics = skeleton.to_vec();
    let mut remaining = total_max;
    let mut gathered = 0usize;
    let mut any_error = false;
    for t in targets {
        let data = match &t.log {
            Err(e) => {
                any_error = true;
                empty_partition(t.partition, *e)
            }
            Ok(log) => {
                let epoch_error = leader_epoch_check(t.current_leader_epoch, leader_epoch);
                let mut p = empty_partition(t.partition, epoch_error);
                if epoch_error != NONE {
                    // As Kafka: a partition in error reports no offsets (-1).
                    any_error = true;
                } else {
                    p.high_watermark = log.high_watermark();
                    p.last_stable_offset = p.high_watermark;
                    p.log_start_offset = log.log_start_offset();
                    if let Some((epoch, end)) = divergence(log, t, leader_epoch) {
                        // The client's log ends in an epoch that ended earlier here: tell
                        // it where, instead of records (KIP-320), so it can truncate.
                        p.diverging_epoch.epoch = epoch;
                        p.diverging_epoch.end_offset = end;
                        any_error = true;
                        if let Some(topic) = topics.get_mut(t.topic) {
                            topic.partitions.push(p);
                        }
                        continue;
                    }
                    // The first batch of the first non-empty partition is returned whole even
                    // beyond the limits; after that only whole batches within them.
                    let first = gathered == 0;
                    let limit = t.max_bytes.min(remaining);
                    if first || limit > 0 {
                        match log.read(t.fetch_offset, limit) {
                            Ok(bytes) if first || bytes.len() <= limit => {
                                remaining = remaining.saturating_sub(bytes.len());
                                gathered += bytes.len();
                                p.records = Some(bytes);
                            }
                            Ok(_) => {}
                            Err(e) => {
                                any_error = true;
                                p = empty_partition(t.partition, storage_error_code(&e));
                            }
                        }
                    }
                }
                p
            }
        };
        if let Some(topic) = topics.get_mut(t.topic) {
            topic.partitions.push(data);
        }
    }
    (topics, gathered, any_error)
}

/// Whether the client's last fetched epoch diverges from this log at its fetch offset:
/// the epoch ended here before the offset, or never existed here.
fn divergence(log: &Log, t: &Target, current: i32) -> Option<(i32, i64)> {
    if t.last_fetched_epoch < 0 {
        return None;
    }
    let (epoch, end) = epoch_end_offset(log, t.last_fetched_epoch, current);
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

/// Handles a Fetch request of `version` (v4–v13).
pub fn handle(ctx: &Arc<ApiContext>, version: i16, req: FetchRequest) -> ResponseFuture {
    let mut response = FetchResponse::default();
    if version >= 7 && (req.session_id != 0 || req.session_epoch > 0) {
        // Skiff never hands out a session id, so a client naming one is out of step.
        response.error_code = code(ResponseError::FetchSessionIdNotFound);
        return Box::pin(std::future::ready(Reply::Send(Response::Fetch(response))));
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
    let leader_epoch = ctx.replicas.leader_epoch();
    Box::pin(async move {
        let deadline = Instant::now() + max_wait;
        // Subscribe before the first read so no append between the read and the wait is missed.
        let mut watches: Vec<_> = targets
            .iter()
            .filter_map(|t| t.log.as_ref().ok().map(|l| l.subscribe()))
            .collect();
        let mut deadline_passed = false;
        loop {
            let (topics, gathered, any_error) =
                read_all(&skeleton, &targets, total_max, leader_epoch);
            let done = gathered >= min_bytes
                || any_error
                || deadline_passed
                || Instant::now() >= deadline
                || *shutdown.borrow();
            if done {
                response.responses = topics;
                return Reply::Send(Response::Fetch(response));
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
