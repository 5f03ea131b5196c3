//! Whole request frames through an in-process broker's connection path (framing, header
//! and body decoding, dispatch to every API, response encoding, in-order answers), over an
//! in-memory pipe. The input is a byte stream of frames; with a first byte of 1 the harness
//! refits each frame's size prefix to the bytes that follow (so mutations reach the
//! decoders), otherwise the stream is sent as it is (framing itself is fuzzed).
//!
//! Oracle: no panic anywhere in the broker (libFuzzer aborts on one, from any thread), the
//! answer is a sequence of whole frames, and their correlation ids follow the requests'
//! order. CreateTopics, CreatePartitions and DeleteTopics are left out (they would fill the
//! disk or remove the fuzz topic over millions of runs); the normal tests cover them.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};
use skiff_fuzz::seeds::{self, FUZZ_TOPIC, MODE_REFIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// API keys the harness drops (see the module doc).
const LEFT_OUT: &[i16] = &[19, 20, 37];
/// How long one input may take before its connection is dropped (long polls, group joins).
const EXCHANGE_TIMEOUT: Duration = Duration::from_millis(500);

struct Harness {
    rt: tokio::runtime::Runtime,
    broker: BrokerHandle,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = Config::default();
        for (k, v) in [
            ("listen", "127.0.0.1:0"),
            ("data.dir", dir.path().to_str().expect("utf-8 temp dir")),
            ("num.partitions", "2"),
            ("auto.create.topics.enable", "false"),
            ("log.segment.bytes", "262144"),
            ("log.retention.bytes", "1048576"),
            ("log.retention.check.interval.ms", "1000"),
            ("group.initial.rebalance.delay.ms", "0"),
        ] {
            config.set(k, v).expect("fuzz broker config");
        }
        let broker = rt.block_on(async {
            let broker = Broker::start(config).await.expect("broker starts");
            for topic in [FUZZ_TOPIC, "compat-probe-0000000000"] {
                broker
                    .replicas()
                    .create_topic(topic, 2)
                    .expect("fuzz topic");
            }
            broker
        });
        Harness {
            rt,
            broker,
            _dir: dir,
        }
    })
}

/// The frames to send and the correlation ids of those that are whole requests.
fn prepare(data: &[u8]) -> (Vec<u8>, Vec<i32>) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return (Vec::new(), Vec::new());
    };
    if mode != MODE_REFIT {
        return (rest.to_vec(), Vec::new());
    }
    let mut out = Vec::with_capacity(rest.len());
    let mut correlation_ids = Vec::new();
    while rest.len() >= 4 {
        let (size, tail) = rest.split_at(4);
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
        let (frame, tail) = tail.split_at(size.min(tail.len()));
        rest = tail;
        let key = frame.get(..2).map(|k| i16::from_be_bytes([k[0], k[1]]));
        if key.is_some_and(|k| LEFT_OUT.contains(&k)) {
            continue;
        }
        if let Some(c) = frame.get(4..8) {
            correlation_ids.push(i32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(frame);
    }
    (out, correlation_ids)
}

/// Checks that `answer` is whole frames whose correlation ids are a subsequence of `sent`.
fn check_answer(answer: &[u8], sent: &[i32], refit: bool) {
    let mut rest = answer;
    let mut expected = sent.iter();
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "answer ends inside a size prefix");
        let (size, tail) = rest.split_at(4);
        let size = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        let size = usize::try_from(size).expect("negative response size");
        assert!(tail.len() >= size, "answer ends inside a response");
        let (response, tail) = tail.split_at(size);
        rest = tail;
        if refit {
            let c = response
                .get(..4)
                .expect("response without a correlation id");
            let c = i32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            assert!(
                expected.any(|&s| s == c),
                "response correlation id {c} out of order (sent {sent:?})"
            );
        }
    }
}

fuzz_target!(
    init: {
        if let Some(dir) = skiff_fuzz::seed_dir() {
            skiff_fuzz::write_seeds(&dir, &seeds::request_frames());
        }
        let _ = harness();
    },
    |data: &[u8]| {
        let h = harness();
        let refit = data.first() == Some(&MODE_REFIT);
        let (frames, sent) = prepare(data);
        let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
        let answer = h.rt.block_on(async {
            let conn = h.broker.connect_in_memory(peer);
            let (mut r, mut w) = tokio::io::split(conn);
            let write = async move {
                let _ = w.write_all(&frames).await;
                let _ = w.shutdown().await;
                w
            };
            let read = async move {
                let mut answer = Vec::new();
                let complete = r.read_to_end(&mut answer).await.is_ok();
                (answer, complete)
            };
            tokio::time::timeout(EXCHANGE_TIMEOUT, async { tokio::join!(write, read) }).await
        });
        if let Ok((_, (answer, true))) = answer {
            check_answer(&answer, &sent, refit);
        }
    }
);
