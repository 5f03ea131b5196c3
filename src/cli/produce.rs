//! `skiff produce TOPIC`: one record per input line, batched per partition as Kafka v2
//! record batches (built by the storage engine's record codec) and sent to each leader.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kafka_protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::cluster_view::{self, topic_name, TopicInfo};
use super::output::{Output, Table};
use super::{key_value, CliError};
use crate::client::{Client, ClientError};
use crate::storage::record::records::Header;
use crate::storage::record::BatchBuilder;
use crate::storage::Compression;

/// Records per batch at most.
const BATCH_RECORDS: usize = 10_000;
/// Uncompressed batch size at which a batch is sent.
const BATCH_BYTES: usize = 1024 * 1024;
/// How long a partial batch waits for more input before it is sent.
const LINGER: Duration = Duration::from_millis(20);

/// Compression codecs, as `compression.type` names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Codec {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4.
    Lz4,
    /// zstd.
    Zstd,
}

impl From<Codec> for Compression {
    fn from(c: Codec) -> Compression {
        match c {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

/// `skiff produce` options.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// Topic to produce to.
    pub topic: String,
    /// Split each line into key and value at the first SEP (no split: the line is the
    /// value, the key is null).
    #[arg(short = 'k', long = "key-separator", value_name = "SEP")]
    pub key_separator: Option<String>,
    /// A header on every record, KEY=VALUE (repeatable; a key may repeat).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Partition to write to (default: by key hash, murmur2 as the Java client; keyless
    /// records round-robin per batch).
    #[arg(short = 'p', long, value_name = "N")]
    pub partition: Option<i32>,
    /// Compression codec.
    #[arg(short = 'z', long = "compression", value_enum, default_value = "none")]
    pub compression: Codec,
    /// Acknowledgements: 0 (none), 1 (leader), -1 or all (in-sync replicas).
    #[arg(long, default_value = "all", value_parser = parse_acks, allow_hyphen_values = true)]
    pub acks: i16,
    /// Read records from FILE instead of stdin (with a progress bar on a terminal).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

fn parse_acks(s: &str) -> Result<i16, String> {
    match s {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(format!("acks must be 0, 1, -1 or all, not {other:?}")),
    }
}

/// What was written to one partition.
#[derive(Debug, Default)]
struct PartitionTally {
    records: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
}

/// Batches in the making, and where records go.
struct Producer {
    topic: TopicInfo,
    compression: Compression,
    acks: i16,
    headers: Vec<Header>,
    batches: BTreeMap<i32, BatchBuilder>,
    next_keyless: usize,
    tally: BTreeMap<i32, PartitionTally>,
    bytes: u64,
}

/// Runs `skiff produce`.
pub async fn run(args: ProduceArgs, client: &mut Client, out: Output) -> Result<(), CliError> {
    let topic = cluster_view::topic(client, &args.topic).await?;
    if topic.partitions.is_empty() {
        return Err(CliError::Usage(format!(
            "topic {} has no partitions",
            topic.name
        )));
    }
    if let Some(p) = args.partition {
        if !topic.partitions.iter().any(|i| i.partition == p) {
            return Err(CliError::Usage(format!(
                "topic {} has no partition {p}",
                topic.name
            )));
        }
    }
    let headers = args
        .headers
        .iter()
        .map(|h| {
            key_value(h).map(|(key, value)| Header {
                key,
                value: Some(Bytes::from(value)),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut producer = Producer {
        topic,
        compression: args.compression.into(),
        acks: args.acks,
        headers,
        batches: BTreeMap::new(),
        next_keyless: 0,
        tally: BTreeMap::new(),
        bytes: 0,
    };
    match &args.file {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
            let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
            let bar = ProgressBar::new(size);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let reader = BufReader::new(bar.wrap_async_read(file));
            let result = producer.produce_lines(reader, &args, client).await;
            bar.finish_and_clear();
            result?;
        }
        None => {
            producer
                .produce_lines(BufReader::new(tokio::io::stdin()), &args, client)
                .await?
        }
    }
    producer.report(out)?;
    Ok(())
}

impl Producer {
    async fn produce_lines<R: AsyncRead + Unpin>(
        &mut self,
        reader: BufReader<R>,
        args: &ProduceArgs,
        client: &mut Client,
    ) -> Result<(), CliError> {
        let mut lines = reader.split(b'\n');
        loop {
            let next = if self.batches.is_empty() {
                lines.next_segment().await?
            } else {
                match tokio::time::timeout(LINGER, lines.next_segment()).await {
                    Ok(line) => line?,
                    Err(_) => {
                        self.flush(client).await?;
                        continue;
                    }
                }
            };
            let Some(mut line) = next else { break };
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.push(&line, args)?;
            if self
                .batches
                .values()
                .any(|b| b.len() >= BATCH_RECORDS || b.uncompressed_size() >= BATCH_BYTES)
            {
                self.flush(client).await?;
            }
        }
        self.flush(client).await
    }

    /// Adds one input line as a record.
    fn push(&mut self, line: &[u8], args: &ProduceArgs) -> Result<(), CliError> {
        let (key, value) = match &args.key_separator {
            Some(sep) if !sep.is_empty() => match find(line, sep.as_bytes()) {
                Some(i) => (line.get(..i), line.get(i + sep.len()..).unwrap_or_default()),
                None => (None, line),
            },
            _ => (None, line),
        };
        let count = self.topic.partitions.len();
        let partition = match (args.partition, key) {
            (Some(p), _) => p,
            (None, Some(k)) => {
                let i = (murmur2(k) & 0x7fff_ffff) as usize % count;
                self.topic
                    .partitions
                    .get(i)
                    .map(|p| p.partition)
                    .unwrap_or(0)
            }
            (None, None) => {
                let i = self.next_keyless % count;
                self.topic
                    .partitions
                    .get(i)
                    .map(|p| p.partition)
                    .unwrap_or(0)
            }
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let compression = self.compression;
        let batch = self
            .batches
            .entry(partition)
            .or_insert_with(|| BatchBuilder::new(compression));
        batch
            .push(key, Some(value), &self.headers, now)
            .map_err(|e| CliError::Usage(format!("record not encodable: {e}")))?;
        self.bytes += value.len() as u64 + key.map(|k| k.len() as u64).unwrap_or(0);
        Ok(())
    }

    /// Sends every pending batch to its partition's leader.
    async fn flush(&mut self, client: &mut Client) -> Result<(), CliError> {
        let batches = std::mem::take(&mut self.batches);
        if batches.is_empty() {
            return Ok(());
        }
        self.next_keyless = self.next_keyless.wrapping_add(1);
        let mut by_leader: BTreeMap<i32, Vec<(i32, Bytes, u64)>> = BTreeMap::new();
        for (partition, builder) in batches {
            let leader = self
                .topic
                .partitions
                .iter()
                .find(|p| p.partition == partition)
                .map(|p| p.leader)
                .unwrap_or(-1);
            let bytes = builder
                .build()
                .map_err(|e| CliError::Usage(format!("batch not encodable: {e}")))?;
            by_leader
                .entry(leader)
                .or_default()
                .push((partition, bytes, builder.len() as u64));
        }
        for (leader, parts) in by_leader {
            let counts: BTreeMap<i32, u64> = parts.iter().map(|(p, _, n)| (*p, *n)).collect();
            let topic = &self.topic;
            let build = |_| {
                ProduceRequest::default()
                    .with_acks(self.acks)
                    .with_timeout_ms(30_000)
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(topic_name(&topic.name))
                        .with_topic_id(topic.id)
                        .with_partition_data(
                            parts
                                .iter()
                                .map(|(p, bytes, _)| {
                                    PartitionProduceData::default()
                                        .with_index(*p)
                                        .with_records(Some(bytes.clone()))
                                })
                                .collect(),
                        )])
            };
            if self.acks == 0 {
                client.node(leader).await?.send_only(build).await?;
                for (p, n) in counts {
                    self.tally.entry(p).or_default().records += n;
                }
                continue;
            }
            let response = client.call_node(leader, build).await?;
            for t in response.responses {
                for p in t.partition_responses {
                    ClientError::check(
                        p.error_code,
                        format!("{}-{}", self.topic.name, p.index),
                        p.error_message.as_deref(),
                    )?;
                    let n = counts.get(&p.index).copied().unwrap_or(0);
                    let tally = self.tally.entry(p.index).or_default();
                    tally.records += n;
                    if p.base_offset >= 0 {
                        tally.first_offset.get_or_insert(p.base_offset);
                        tally.last_offset = Some(p.base_offset + i64::try_from(n).unwrap_or(0) - 1);
                    }
                }
            }
        }
        Ok(())
    }

    fn report(&self, out: Output) -> std::io::Result<()> {
        let records: u64 = self.tally.values().map(|t| t.records).sum();
        let partitions: Vec<Value> = self
            .tally
            .iter()
            .map(|(p, t)| {
                json!({
                    "partition": p,
                    "records": t.records,
                    "first_offset": t.first_offset,
                    "last_offset": t.last_offset,
                })
            })
            .collect();
        let v = json!({
            "topic": self.topic.name,
            "records": records,
            "bytes": self.bytes,
            "partitions": partitions,
        });
        out.emit(&v, || {
            let mut t = Table::new(&["partition", "records", "first offset", "last offset"])
                .note("topic", &self.topic.name)
                .note("records", records);
            let o = |o: Option<i64>| o.map(|o| o.to_string()).unwrap_or_else(|| "-".into());
            for (p, tally) in &self.tally {
                t.row(vec![
                    p.to_string(),
                    tally.records.to_string(),
                    o(tally.first_offset),
                    o(tally.last_offset),
                ]);
            }
            t
        })
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Kafka's murmur2 (the Java client's default partitioner hashes keys with it).
pub fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
            c.get(3).copied().unwrap_or(0),
        ]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    let byte = |i: usize| u32::from(rest.get(i).copied().unwrap_or(0));
    match rest.len() {
        3 => {
            h ^= byte(2) << 16;
            h ^= byte(1) << 8;
            h ^= byte(0);
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= byte(1) << 8;
            h ^= byte(0);
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= byte(0);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from the Java client's `Utils.murmur2` (its own unit test vectors).
    #[test]
    fn murmur2_matches_kafkas() {
        assert_eq!(murmur2(b"21") as i32, -973_932_308);
        assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985_981_536);
        assert_eq!(
            murmur2(b"a-little-bit-longer-string") as i32,
            -1_486_304_829
        );
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58_897_971
        );
        assert_eq!(murmur2(b"abc") as i32, 479_470_107);
    }
}
