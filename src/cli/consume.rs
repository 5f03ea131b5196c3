//! `skiff consume TOPIC`: fetches from each partition's leader, decodes the record batches
//! with the storage engine's record codec, and prints each record through a template or as
//! JSON. Follows new records until interrupted, unless `-e` or `-n` says when to stop.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use bytes::Bytes;
use clap::Args;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use serde_json::json;

use super::cluster_view::{self, topic_name, TopicInfo, EARLIEST, LATEST};
use super::group;
use super::output::{self, Output};
use super::timestamp::parse_millis;
use super::CliError;
use crate::client::{Client, ClientError};
use crate::storage::record::batch::split_batches;
use crate::storage::record::records::Message;
use crate::storage::MessageBatch;

/// How long a fetch waits at the broker for new records.
const MAX_WAIT_MS: i32 = 500;
/// Bytes a fetch may return per partition.
const PARTITION_MAX_BYTES: i32 = 4 * 1024 * 1024;
/// OFFSET_OUT_OF_RANGE.
const OFFSET_OUT_OF_RANGE: i16 = 1;

/// `skiff consume` options.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Topic to consume.
    pub topic: String,
    /// Where to start: beginning, end, an offset (-N: N before the end), or @TIME (epoch
    /// ms or YYYY-MM-DDTHH:MM:SS, UTC). With --group, only where the group has no
    /// committed offset.
    #[arg(
        short = 'o',
        long,
        default_value = "beginning",
        allow_hyphen_values = true
    )]
    pub offset: String,
    /// Stop after N records.
    #[arg(short = 'n', long = "num", value_name = "N")]
    pub num: Option<u64>,
    /// Partitions to read (comma-separated or repeated; default: all).
    #[arg(
        short = 'p',
        long = "partition",
        value_delimiter = ',',
        value_name = "N"
    )]
    pub partitions: Vec<i32>,
    /// Start from GROUP's committed offsets and commit the positions reached (as a
    /// consumer outside the group's membership, like Kafka's tools; the group must have no
    /// active members).
    #[arg(short = 'g', long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Output template, as kcat's -f: %t topic, %p partition, %o offset, %k key, %v (or
    /// %s) value, %T timestamp (ms), %h headers (k=v,…), %K/%S key/value length; \n, \t.
    #[arg(short = 'f', long, value_name = "TEMPLATE", conflicts_with = "json")]
    pub format: Option<String>,
    /// Stop at the end of the partitions (their end offsets when consuming started).
    #[arg(short = 'e', long)]
    pub exit: bool,
}

/// Where a partition's reading starts.
enum Start {
    Beginning,
    End,
    Offset(i64),
    FromEnd(i64),
    Time(i64),
}

fn parse_start(s: &str) -> Result<Start, CliError> {
    match s {
        "beginning" | "start" | "earliest" | "oldest" => Ok(Start::Beginning),
        "end" | "latest" | "newest" => Ok(Start::End),
        _ => {
            if let Some(t) = s.strip_prefix('@') {
                return parse_millis(t).map(Start::Time);
            }
            match s.parse::<i64>() {
                Ok(n) if n < 0 => Ok(Start::FromEnd(-n)),
                Ok(n) => Ok(Start::Offset(n)),
                Err(_) => Err(CliError::Usage(format!(
                    "bad offset {s:?}: beginning, end, OFFSET, -N or @TIME"
                ))),
            }
        }
    }
}

/// Runs `skiff consume`.
pub async fn run(args: ConsumeArgs, client: &mut Client, out: Output) -> Result<(), CliError> {
    let start = parse_start(&args.offset)?;
    let topic = cluster_view::topic(client, &args.topic).await?;
    let all: Vec<i32> = topic.partitions.iter().map(|p| p.partition).collect();
    let partitions: Vec<i32> = if args.partitions.is_empty() {
        all.clone()
    } else {
        if let Some(p) = args.partitions.iter().find(|p| !all.contains(p)) {
            return Err(CliError::Usage(format!(
                "topic {} has no partition {p}",
                topic.name
            )));
        }
        unique(&args.partitions)
    };
    let earliest = cluster_view::list_offsets(client, &topic, &partitions, EARLIEST).await?;
    let latest = cluster_view::list_offsets(client, &topic, &partitions, LATEST).await?;
    let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
    for p in &partitions {
        let lo = earliest.get(p).copied().unwrap_or(0);
        let hi = latest.get(p).copied().unwrap_or(lo);
        let at = match start {
            Start::Beginning => lo,
            Start::End => hi,
            Start::Offset(o) => o.clamp(lo, hi.max(lo)),
            Start::FromEnd(n) => (hi - n).max(lo),
            Start::Time(_) => hi,
        };
        positions.insert(*p, at);
    }
    if let Start::Time(ts) = start {
        for (p, o) in cluster_view::list_offsets(client, &topic, &partitions, ts).await? {
            if o >= 0 {
                positions.insert(p, o);
            }
        }
    }
    let coordinator = match &args.group {
        Some(g) => {
            let c = client.group_coordinator(g).await?;
            let committed = group::committed(
                client,
                c,
                g,
                Some(&[(topic.name.clone(), partitions.clone())]),
            )
            .await?;
            for ((_, p), o) in committed {
                if o >= 0 {
                    positions.insert(p, o);
                }
            }
            Some(c)
        }
        None => None,
    };
    let template = args
        .format
        .as_deref()
        .map(unescape)
        .unwrap_or_else(|| "%v\n".to_string());
    let mut consumer = Consumer {
        topic,
        positions,
        ends: latest,
        printed: 0,
        limit: args.num,
        template,
        json: out.json,
    };
    let result = consumer.follow(client, args.exit).await;
    if let (Some(g), Some(c)) = (&args.group, coordinator) {
        group::commit(client, c, g, &consumer.topic, &consumer.positions).await?;
    }
    result
}

struct Consumer {
    topic: TopicInfo,
    positions: BTreeMap<i32, i64>,
    ends: BTreeMap<i32, i64>,
    printed: u64,
    limit: Option<u64>,
    template: String,
    json: bool,
}

impl Consumer {
    fn done(&self, exit_at_end: bool) -> bool {
        if self.limit.is_some_and(|n| self.printed >= n) {
            return true;
        }
        exit_at_end
            && self
                .positions
                .iter()
                .all(|(p, o)| *o >= self.ends.get(p).copied().unwrap_or(0))
    }

    async fn follow(&mut self, client: &mut Client, exit_at_end: bool) -> Result<(), CliError> {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        while !self.done(exit_at_end) {
            tokio::select! {
                _ = &mut ctrl_c => return Ok(()),
                r = self.fetch_once(client, exit_at_end) => r?,
            }
        }
        Ok(())
    }

    /// One Fetch to each leader of the partitions still to read.
    async fn fetch_once(&mut self, client: &mut Client, exit_at_end: bool) -> Result<(), CliError> {
        let mut by_leader: BTreeMap<i32, Vec<(i32, i32)>> = BTreeMap::new();
        for p in &self.topic.partitions {
            let Some(at) = self.positions.get(&p.partition) else {
                continue;
            };
            if exit_at_end && *at >= self.ends.get(&p.partition).copied().unwrap_or(0) {
                continue;
            }
            by_leader
                .entry(p.leader)
                .or_default()
                .push((p.partition, p.leader_epoch));
        }
        for (leader, parts) in by_leader {
            let topic = &self.topic;
            let positions = &self.positions;
            let request = FetchRequest::default()
                .with_max_wait_ms(MAX_WAIT_MS)
                .with_min_bytes(1)
                .with_max_bytes(64 * 1024 * 1024)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(topic_name(&topic.name))
                    .with_topic_id(topic.id)
                    .with_partitions(
                        parts
                            .iter()
                            .map(|(p, epoch)| {
                                FetchPartition::default()
                                    .with_partition(*p)
                                    .with_current_leader_epoch(*epoch)
                                    .with_fetch_offset(positions.get(p).copied().unwrap_or(0))
                                    .with_partition_max_bytes(PARTITION_MAX_BYTES)
                            })
                            .collect(),
                    )]);
            let response = client.call_node(leader, |_| request).await?;
            ClientError::check(response.error_code, "Fetch", None)?;
            for t in response.responses {
                for p in t.partitions {
                    let context = format!("{}-{}", self.topic.name, p.partition_index);
                    if p.error_code == OFFSET_OUT_OF_RANGE {
                        // The position fell off the log (retention): restart at its start.
                        let restart = cluster_view::list_offsets(
                            client,
                            &self.topic,
                            &[p.partition_index],
                            EARLIEST,
                        )
                        .await?;
                        if let Some(o) = restart.get(&p.partition_index) {
                            self.positions.insert(p.partition_index, *o);
                        }
                        continue;
                    }
                    ClientError::check(p.error_code, context, None)?;
                    if let Some(records) = p.records {
                        self.take(p.partition_index, records)?;
                    }
                    if self.limit.is_some_and(|n| self.printed >= n) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Prints the records of one partition's fetched batches at or after its position.
    fn take(&mut self, partition: i32, records: Bytes) -> Result<(), CliError> {
        let mut start = 0usize;
        for item in split_batches(&records) {
            let (header, one) = item.map_err(|e| bad_batch(&self.topic.name, partition, &e))?;
            let bytes = records.slice(start..start + one.len());
            start += one.len();
            let position = self.positions.get(&partition).copied().unwrap_or(0);
            if header.next_offset() <= position {
                continue;
            }
            if !header.is_control() {
                let batch = MessageBatch::from_bytes(bytes)
                    .map_err(|e| bad_batch(&self.topic.name, partition, &e))?;
                let messages = batch
                    .messages()
                    .map_err(|e| bad_batch(&self.topic.name, partition, &e))?;
                for m in messages.iter().filter(|m| m.offset >= position) {
                    if self.limit.is_some_and(|n| self.printed >= n) {
                        return Ok(());
                    }
                    self.print(partition, m)?;
                    self.printed += 1;
                    self.positions.insert(partition, m.offset + 1);
                }
            }
            if self.limit.is_none_or(|n| self.printed < n) {
                self.positions.insert(partition, header.next_offset());
            }
        }
        Ok(())
    }

    fn print(&self, partition: i32, m: &Message) -> Result<(), CliError> {
        if self.json {
            let text =
                |b: &Option<Bytes>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
            let v = json!({
                "topic": self.topic.name,
                "partition": partition,
                "offset": m.offset,
                "timestamp": m.timestamp,
                "key": text(&m.key),
                "value": text(&m.value),
                "headers": m.headers.iter().map(|h| json!({"key": h.key, "value": text(&h.value)})).collect::<Vec<_>>(),
            });
            output::line(&v.to_string())?;
            return Ok(());
        }
        output::raw(&render(&self.template, &self.topic.name, partition, m))?;
        Ok(())
    }
}

fn bad_batch(topic: &str, partition: i32, e: &dyn std::fmt::Display) -> CliError {
    CliError::Client(ClientError::Protocol {
        api: "Fetch".into(),
        message: format!("{topic}-{partition}: bad record batch: {e}"),
    })
}

/// `\n`, `\t`, `\r` and `\\` in a template, as kcat reads them.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// One record through a kcat-style template.
fn render(template: &str, topic: &str, partition: i32, m: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len() + 64);
    let mut chars = template.chars();
    let bytes = |b: &Option<Bytes>| b.as_ref().map(|b| b.to_vec()).unwrap_or_default();
    let len = |b: &Option<Bytes>| b.as_ref().map(|b| b.len() as i64).unwrap_or(-1);
    while let Some(c) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let _ = match chars.next() {
            Some('t') => write!(out, "{topic}"),
            Some('p') => write!(out, "{partition}"),
            Some('o') => write!(out, "{}", m.offset),
            Some('T') => write!(out, "{}", m.timestamp),
            Some('k') => out.write_all(&bytes(&m.key)),
            Some('v') | Some('s') => out.write_all(&bytes(&m.value)),
            Some('K') => write!(out, "{}", len(&m.key)),
            Some('S') => write!(out, "{}", len(&m.value)),
            Some('h') => {
                let joined: Vec<String> = m
                    .headers
                    .iter()
                    .map(|h| {
                        format!(
                            "{}={}",
                            h.key,
                            h.value
                                .as_ref()
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                write!(out, "{}", joined.join(","))
            }
            Some('%') => write!(out, "%"),
            Some(other) => write!(out, "%{other}"),
            None => write!(out, "%"),
        };
    }
    out
}

/// Partitions named more than once count once.
pub fn unique(partitions: &[i32]) -> Vec<i32> {
    partitions
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_like_kcat() {
        let m = Message {
            offset: 7,
            key: Some(Bytes::from_static(b"k1")),
            value: Some(Bytes::from_static(b"hello")),
            headers: vec![
                crate::storage::record::records::Header {
                    key: "a".into(),
                    value: Some(Bytes::from_static(b"1")),
                },
                crate::storage::record::records::Header {
                    key: "a".into(),
                    value: Some(Bytes::from_static(b"2")),
                },
            ],
            timestamp: 1000,
            crc: 0,
        };
        let t = unescape("%t/%p@%o %k=%v (%K,%S) %h %T\\n");
        assert_eq!(
            String::from_utf8(render(&t, "orders", 3, &m)).unwrap(),
            "orders/3@7 k1=hello (2,5) a=1,a=2 1000\n"
        );
    }
}
