//! Fetch: stored batches as they are, long-polling on the partitions' log-end watches until
//! `min_bytes` are available or `max_wait_ms` passes. From v7 a fetcher may use an
//! incremental fetch session (KIP-227, [`super::fetch_session`]): a full fetch with epoch 0
//! creates one, later requests name only the partitions whose parameters changed, and their
//! answers only the partitions with something new. A fetch naming no partition (such as the
//! session-closing fetch, epoch -1, a Java consumer sends when it closes) is answered at once,
//! as Kafka does: nothing it could wait for would ever arrive.
//!
//! The bytes a fetch returns count toward the client's `consumer_byte_rate` quota, as
//! Kafka counts them (KIP-219): a fetch that takes the client over its quota is answered
//! at once without records (a session's partitions stay unsent) and with
//! `throttle_time_ms`, and the channel is muted for that long; `max_bytes` is capped at
//! what the quota allows over its window.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, ProducerId};
use kafka_protocol::protocol::Encodable;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;

use super::chunks::{Chunks, FetchAnswer};
use super::error::{code, fetch_session_error_code, partition_error_code, NONE};
use super::fetch_session::{
    FetchParams, FetchSession, Incremental, PartitionKey, TopicKey, FINAL_EPOCH, INITIAL_EPOCH,
    NO_SESSION,
};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::throttle::{quota_client_id, quota_user, throttle_ms_field, ChannelThrottle};
use super::{ApiContext, Call, Handled, Reply, ResponseBody, TypedFuture};
use crate::broker::quota::QuotaKind;
use crate::broker::Partition;

/// Fetch version from which topics are named by id.
const TOPIC_ID_VERSION: i16 = 13;

/// Fetch version from which requests carry a session id and epoch (KIP-227).
const SESSION_VERSION: i16 = 7;

/// One requested partition, resolved once.
struct Target {
    /// Index of its topic in the response skeleton.
    topic: usize,
    partition: i32,
    resolved: Result<Arc<Partition>, i16>,
    params: FetchParams,
}

impl Target {
    fn max_bytes(&self) -> usize {
        usize::try_from(self.params.max_bytes).unwrap_or(0)
    }
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

/// The name of a topic as a request or a session names it; an unknown id is UNKNOWN_TOPIC_ID.
fn topic_name(ctx: &ApiContext, key: &TopicKey) -> Result<String, i16> {
    match key {
        TopicKey::Name(name) => Ok(name.clone()),
        TopicKey::Id(id) => ctx
            .replicas
            .topics()
            .get_by_id(id)
            .map(|meta| meta.name.clone())
            .ok_or(code(ResponseError::UnknownTopicId)),
    }
}

/// The topic's name if the caller may read it, else TOPIC_AUTHORIZATION_FAILED.
fn authorized_name(name: Result<String, i16>, readable: Readable<'_>) -> Result<String, i16> {
    name.and_then(|n| {
        if readable(&n) {
            Ok(n)
        } else {
            Err(code(ResponseError::TopicAuthorizationFailed))
        }
    })
}

/// The key a request at `version` names a topic by.
fn topic_key(version: i16, name: &str, id: &uuid::Uuid) -> TopicKey {
    if version >= TOPIC_ID_VERSION {
        TopicKey::Id(*id)
    } else {
        TopicKey::Name(name.to_string())
    }
}

/// The response's entry for a topic named by `key`.
fn topic_entry(key: &TopicKey) -> FetchableTopicResponse {
    let mut entry = FetchableTopicResponse::default();
    match key {
        TopicKey::Id(id) => entry.topic_id = *id,
        TopicKey::Name(name) => entry.topic = super::text(name.clone()).into(),
    }
    entry
}

/// Whether the caller may read a topic (by name): READ on it for a consumer, CLUSTER_ACTION
/// on the cluster for a follower, as Kafka checks them.
type Readable<'a> = &'a dyn Fn(&str) -> bool;

fn resolve_partition(
    ctx: &ApiContext,
    name: &Result<String, i16>,
    index: i32,
) -> Result<Arc<Partition>, i16> {
    name.clone().and_then(|name| {
        ctx.replicas
            .partition_or_error(&name, index)
            .map_err(|e| partition_error_code(&e))
    })
}

/// The parameters a request gives one partition.
fn params_of(
    version: i16,
    p: &kafka_protocol::messages::fetch_request::FetchPartition,
) -> FetchParams {
    FetchParams {
        fetch_offset: p.fetch_offset,
        max_bytes: p.partition_max_bytes,
        current_leader_epoch: p.current_leader_epoch,
        last_fetched_epoch: if version >= 12 {
            p.last_fetched_epoch
        } else {
            -1
        },
        log_start_offset: p.log_start_offset,
    }
}

/// The request's partitions, by key, with their parameters (an incremental request's
/// additions and changes).
fn requested(version: i16, topics: &[FetchTopic]) -> Vec<(PartitionKey, FetchParams)> {
    topics
        .iter()
        .flat_map(|t| {
            let key = topic_key(version, &t.topic.0, &t.topic_id);
            t.partitions.iter().map(move |p| {
                (
                    PartitionKey {
                        topic: key.clone(),
                        partition: p.partition,
                    },
                    params_of(version, p),
                )
            })
        })
        .collect()
}

/// The partitions an incremental request removes from its session.
fn forgotten(version: i16, topics: &[ForgottenTopic]) -> Vec<PartitionKey> {
    topics
        .iter()
        .flat_map(|t| {
            let key = topic_key(version, &t.topic.0, &t.topic_id);
            t.partitions.iter().map(move |&partition| PartitionKey {
                topic: key.clone(),
                partition,
            })
        })
        .collect()
}

/// The request's topics as the response skeleton, and its partitions as targets.
fn resolve(
    ctx: &ApiContext,
    version: i16,
    topics: &[FetchTopic],
    readable: Readable<'_>,
) -> (Vec<FetchableTopicResponse>, Vec<Target>) {
    let mut out = Vec::with_capacity(topics.len());
    let mut targets = Vec::new();
    for (ti, t) in topics.iter().enumerate() {
        // From v13 topics are named by id; an unknown id is UNKNOWN_TOPIC_ID.
        let key = topic_key(version, &t.topic.0, &t.topic_id);
        let name = authorized_name(topic_name(ctx, &key), readable);
        out.push(topic_entry(&key));
        for p in &t.partitions {
            targets.push(Target {
                topic: ti,
                partition: p.partition,
                resolved: resolve_partition(ctx, &name, p.partition),
                params: params_of(version, p),
            });
        }
    }
    (out, targets)
}

/// A session's partitions as the response skeleton (one entry per run of partitions of the
/// same topic, as Kafka groups them) and targets.
fn resolve_session(
    ctx: &ApiContext,
    session: &[(PartitionKey, FetchParams)],
    readable: Readable<'_>,
) -> (Vec<FetchableTopicResponse>, Vec<Target>) {
    let mut out = Vec::new();
    let mut targets = Vec::with_capacity(session.len());
    let mut current: Option<(&TopicKey, Result<String, i16>)> = None;
    for (key, params) in session {
        let same = current.as_ref().is_some_and(|(k, _)| *k == &key.topic);
        if !same {
            out.push(topic_entry(&key.topic));
            current = Some((
                &key.topic,
                authorized_name(topic_name(ctx, &key.topic), readable),
            ));
        }
        let name = current
            .as_ref()
            .map_or(Err(code(ResponseError::UnknownServerError)), |(_, n)| {
                n.clone()
            });
        targets.push(Target {
            topic: out.len().saturating_sub(1),
            partition: key.partition,
            resolved: resolve_partition(ctx, &name, key.partition),
            params: *params,
        });
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
    if let Err(e) = partition.check_leader_epoch(t.params.current_leader_epoch) {
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
    let limit = t.max_bytes().min(budget.remaining);
    if !first && limit == 0 {
        let offsets = partition.offsets();
        p.high_watermark = offsets.high_watermark;
        p.last_stable_offset = offsets.last_stable_offset;
        p.log_start_offset = offsets.log_start_offset;
        return (p, false);
    }
    let read = partition
        .read(t.params.fetch_offset, limit, mode.read_committed)
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

/// Reads every target once. Returns each target's answer (in target order), the bytes
/// gathered, and whether some partition must be answered at once.
async fn read_all(
    targets: &[Target],
    total_max: usize,
    mode: ReadMode,
) -> (Vec<PartitionData>, usize, bool) {
    let mut out = Vec::with_capacity(targets.len());
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
        out.push(data);
    }
    (out, budget.gathered, answer_now)
}

/// Puts the answers chosen by `keep` (all when `None`) into their topics; with
/// `drop_empty`, topics left without a partition are left out.
fn assemble(
    mut skeleton: Vec<FetchableTopicResponse>,
    targets: &[Target],
    answers: Vec<PartitionData>,
    keep: Option<&[bool]>,
    drop_empty: bool,
) -> Vec<FetchableTopicResponse> {
    for (i, (t, data)) in targets.iter().zip(answers).enumerate() {
        if keep.is_some_and(|k| !k.get(i).copied().unwrap_or(false)) {
            continue;
        }
        if let Some(topic) = skeleton.get_mut(t.topic) {
            topic.partitions.push(data);
        }
    }
    if drop_empty {
        skeleton.retain(|t| !t.partitions.is_empty());
    }
    skeleton
}

/// The key a session knows a target by.
fn target_key(skeleton: &[FetchableTopicResponse], version: i16, t: &Target) -> PartitionKey {
    let topic = skeleton
        .get(t.topic)
        .map_or(TopicKey::Name(String::new()), |e| {
            topic_key(version, &e.topic.0, &e.topic_id)
        });
    PartitionKey {
        topic,
        partition: t.partition,
    }
}

/// What a fetch does with fetch sessions.
enum SessionMode {
    /// No session: a full fetch answered in full (v4–v6, epoch -1, or a closed session).
    Sessionless,
    /// A full fetch with epoch 0: answered in full, and a session is created if possible.
    Create {
        /// From a replica (privileged in the cache).
        privileged: bool,
    },
    /// An incremental fetch of a session, made at `epoch`.
    Incremental {
        session: Arc<Mutex<FetchSession>>,
        epoch: i32,
    },
}

/// Milliseconds on a monotonic clock (the session cache's time).
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Whether the client's last fetched epoch diverges from this log at its fetch offset:
/// the epoch ended here before the offset, or never existed here.
fn divergence(partition: &Partition, t: &Target) -> Option<(i32, i64)> {
    let last = t.params.last_fetched_epoch;
    if last < 0 {
        return None;
    }
    let (epoch, end) = partition.end_offset_for_epoch(last);
    (epoch >= 0 && (epoch < last || end < t.params.fetch_offset)).then_some((epoch, end))
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

/// The client a fetch is measured for (`consumer_byte_rate`), when consumer quotas are
/// measured at all.
struct Fetcher {
    client: Option<(String, String)>,
    throttle: ChannelThrottle,
}

impl Fetcher {
    fn of(ctx: &ApiContext, call: &Call) -> Fetcher {
        Fetcher {
            client: ctx.quotas.enabled(QuotaKind::Fetch).then(|| {
                (
                    quota_user(call).to_string(),
                    quota_client_id(call).to_string(),
                )
            }),
            throttle: call.throttle.clone(),
        }
    }

    /// The most the fetch may return under the client's quota, if one applies.
    fn max_bytes(&self, ctx: &ApiContext) -> Option<usize> {
        let (user, client_id) = self.client.as_ref()?;
        let max = ctx
            .quotas
            .max_value_in_window(QuotaKind::Fetch, user, client_id)?;
        Some(max.max(0.0) as usize)
    }

    /// Records `bytes` returned against the client's quota; if it is now over, takes them
    /// back (the answer will carry no records), mutes the channel and returns the throttle
    /// time.
    fn record(&self, ctx: &ApiContext, bytes: usize) -> i64 {
        let Some((user, client_id)) = &self.client else {
            return 0;
        };
        let quotas = &ctx.quotas;
        let throttle = quotas.record(QuotaKind::Fetch, user, client_id, bytes as f64);
        if throttle > 0 {
            quotas.unrecord(QuotaKind::Fetch, user, client_id, bytes as f64);
            self.throttle.mute_for(throttle);
        }
        throttle
    }
}

/// Handles a Fetch request (v4–v18).
pub fn handle(ctx: &Arc<ApiContext>, call: &Call, req: FetchRequest) -> TypedFuture<FetchAnswer> {
    let version = call.version;
    let fetcher = Fetcher::of(ctx, call);
    let mut response = FetchResponse::default();
    let follower = replica_id(version, &req) >= 0;
    let readable = |name: &str| {
        if follower {
            ctx.authorize_cluster(call, AclOperation::ClusterAction)
        } else {
            ctx.authorized::<Fetch>(call, name)
        }
    };
    let (mode, skeleton, targets) = match session_mode(ctx, version, &req, &readable) {
        Ok(Some((mode, skeleton, targets))) => (mode, skeleton, targets),
        Ok(None) => {
            let (skeleton, targets) = resolve(ctx, version, &req.topics, &readable);
            (SessionMode::Sessionless, skeleton, targets)
        }
        Err(error) => {
            response.error_code = error;
            return Box::pin(std::future::ready(Reply::Send(FetchAnswer(response))));
        }
    };
    let mut total_max = if version >= 3 {
        usize::try_from(req.max_bytes).unwrap_or(0)
    } else {
        usize::MAX
    };
    if let Some(window_max) = fetcher.max_bytes(ctx) {
        // As Kafka: never ask for more than the quota allows over its window.
        total_max = total_max.min(window_max);
    }
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    let max_wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    let mut shutdown = ctx.shutdown.clone();
    let read_mode = ReadMode {
        read_committed: req.isolation_level == 1,
    };
    let ctx = Arc::clone(ctx);
    Box::pin(async move {
        let deadline = Instant::now() + max_wait;
        // Subscribe before the first read so no append between the read and the wait is missed.
        let mut watches: Vec<_> = targets
            .iter()
            .filter_map(|t| t.resolved.as_ref().ok().map(|p| p.subscribe()))
            .collect();
        let mut deadline_passed = false;
        loop {
            let (answers, gathered, any_error) = read_all(&targets, total_max, read_mode).await;
            let done = gathered >= min_bytes
                || targets.is_empty()
                || any_error
                || deadline_passed
                || Instant::now() >= deadline
                || *shutdown.borrow();
            if done {
                let throttle = fetcher.record(&ctx, gathered);
                if throttle > 0 {
                    throttled(mode, &mut response, throttle);
                    return Reply::Send(FetchAnswer(response));
                }
                response.throttle_time_ms = fetcher.throttle.remaining_ms();
                finish(
                    &ctx,
                    version,
                    mode,
                    &mut response,
                    skeleton,
                    &targets,
                    answers,
                );
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

/// The answer to a fetch that took its client over its `consumer_byte_rate` quota, as
/// Kafka gives it: no partitions, the throttle time, and the session's id if the fetch
/// continued one (a full fetch gets no new session; an incremental one leaves its
/// partitions' sent state as it was).
fn throttled(mode: SessionMode, response: &mut FetchResponse, throttle_ms: i64) {
    response.throttle_time_ms = throttle_ms_field(throttle_ms);
    response.responses = Vec::new();
    response.session_id = match mode {
        SessionMode::Incremental { session, .. } => session.lock().id(),
        SessionMode::Sessionless | SessionMode::Create { .. } => NO_SESSION,
    };
}

/// The partitions to read.
type Plan = (SessionMode, Vec<FetchableTopicResponse>, Vec<Target>);

/// Decides what the request does with sessions (KIP-227): `Ok(None)` for a fetch answered
/// from its own partitions without a session; an error code for one that cannot go on in
/// the session it names.
fn session_mode(
    ctx: &ApiContext,
    version: i16,
    req: &FetchRequest,
    readable: Readable<'_>,
) -> Result<Option<Plan>, i16> {
    if version < SESSION_VERSION {
        return Ok(None);
    }
    let cache = &ctx.fetch_sessions;
    if req.session_epoch == INITIAL_EPOCH || req.session_epoch == FINAL_EPOCH {
        // A full fetch closes the session it names.
        if req.session_id != NO_SESSION {
            cache.remove(req.session_id);
        }
        if req.session_epoch == FINAL_EPOCH {
            return Ok(None);
        }
        let replica = replica_id(version, req);
        let (skeleton, targets) = resolve(ctx, version, &req.topics, readable);
        let mode = SessionMode::Create {
            privileged: replica >= 0,
        };
        return Ok(Some((mode, skeleton, targets)));
    }
    let incremental = cache.incremental(
        now_ms(),
        req.session_id,
        req.session_epoch,
        version >= TOPIC_ID_VERSION,
        requested(version, &req.topics),
        &forgotten(version, &req.forgotten_topics_data),
    );
    match incremental {
        Err(e) => {
            tracing::debug!(error = %e, "fetch session error");
            Err(fetch_session_error_code(&e))
        }
        Ok(Incremental::Closed) => Ok(None),
        Ok(Incremental::Continue(session)) => {
            let partitions = session.lock().targets();
            let (skeleton, targets) = resolve_session(ctx, &partitions, readable);
            let mode = SessionMode::Incremental {
                session,
                epoch: req.session_epoch,
            };
            Ok(Some((mode, skeleton, targets)))
        }
    }
}

/// The id of the replica that fetches (-1 for a consumer).
fn replica_id(version: i16, req: &FetchRequest) -> i32 {
    if version >= 15 {
        req.replica_state.replica_id.0
    } else {
        req.replica_id.0
    }
}

/// Fills the response from the answers read, as the session mode says: all of them (and a
/// new session's id), or only those an incremental fetch must carry.
fn finish(
    ctx: &ApiContext,
    version: i16,
    mode: SessionMode,
    response: &mut FetchResponse,
    skeleton: Vec<FetchableTopicResponse>,
    targets: &[Target],
    answers: Vec<PartitionData>,
) {
    match mode {
        SessionMode::Sessionless => {
            response.responses = assemble(skeleton, targets, answers, None, false);
        }
        SessionMode::Create { privileged } => {
            let partitions = targets
                .iter()
                .zip(&answers)
                .map(|(t, a)| {
                    (
                        target_key(&skeleton, version, t),
                        t.params,
                        a.high_watermark,
                        a.log_start_offset,
                    )
                })
                .collect();
            response.session_id = ctx.fetch_sessions.create(
                now_ms(),
                privileged,
                version >= TOPIC_ID_VERSION,
                partitions,
            );
            response.responses = assemble(skeleton, targets, answers, None, false);
        }
        SessionMode::Incremental { session, epoch } => {
            let mut session = session.lock();
            response.session_id = session.id();
            let read: Vec<_> = targets
                .iter()
                .zip(&answers)
                .map(|(t, a)| (target_key(&skeleton, version, t), a))
                .collect();
            match session.select(epoch, &read) {
                Ok(keep) => {
                    response.responses = assemble(skeleton, targets, answers, Some(&keep), true);
                }
                Err(e) => {
                    // Another request of the session came in between (a duplicate).
                    tracing::debug!(error = %e, "fetch session moved on");
                    response.error_code = fetch_session_error_code(&e);
                }
            }
        }
    }
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
        Handled::Later(handle(ctx, call, request))
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
