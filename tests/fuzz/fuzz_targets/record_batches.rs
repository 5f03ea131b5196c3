//! Record batches with every codec (none, gzip, snappy in both framings, lz4, zstd),
//! decompression bombs included. The first input byte picks the path:
//! - raw: the rest is a run of batches as a fetch returns them; each is validated, its
//!   records decoded (decompression bounded), its keys checked as a compacted topic does;
//! - framed: the rest is a records section for codec `byte % 5` in a batch with a correct
//!   CRC (so the decoders past the CRC are reached), decoded the same way and appended to a
//!   log, whose stored copy must read back byte for byte (bar base offset and leader epoch);
//! - codec: the rest is a compressed stream for codec `byte % 5`, decompressed with a bound;
//!   what comes out must respect the bound and survive a round trip.
#![no_main]

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use skiff::storage::record::batch::{encode_batch, split_batches};
use skiff::storage::record::compression::{compress, decompress};
use skiff::storage::record::{BatchHeader, BATCH_HEADER_LEN};
use skiff::storage::validate::validate_keys;
use skiff::storage::{Compression, Log, LogConfig, MessageBatch, StorageError, TimestampType};
use skiff_fuzz::seeds::{bomb, FIXTURES};

/// The decompression bound the target holds Skiff to.
const MAX_DECOMPRESSED: usize = 1 << 20;
/// Appends before the scratch log is thrown away and opened afresh.
const APPENDS_PER_LOG: u32 = 5000;

struct Scratch {
    _dir: tempfile::TempDir,
    log: Log,
    appends: u32,
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

fn codec(byte: u8) -> Compression {
    Compression::from_id(i16::from(byte % 5)).unwrap_or(Compression::None)
}

/// Decodes everything a batch holds, as the cleaner, compacted topics and tools do.
fn decode(batch: &MessageBatch) {
    if let Ok(section) = batch.records_section(MAX_DECOMPRESSED) {
        assert!(
            section.len() <= MAX_DECOMPRESSED.max(batch.bytes().len()),
            "records section of {} bytes past the bound",
            section.len()
        );
    }
    if let Ok(messages) = batch.messages_bounded(MAX_DECOMPRESSED) {
        assert!(messages.len() <= usize::try_from(batch.record_count()).unwrap_or(0));
    }
    let _ = validate_keys(batch.bytes(), "fuzz-0", MAX_DECOMPRESSED);
}

fn raw(data: &[u8]) {
    for item in split_batches(data) {
        let Ok((_, bytes)) = item else { break };
        let _ = validate_keys(bytes, "fuzz-0", MAX_DECOMPRESSED);
        if let Ok(batch) = MessageBatch::from_bytes(Bytes::copy_from_slice(bytes)) {
            decode(&batch);
        }
    }
}

fn framed(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (fields, payload) = rest.split_at(rest.len().min(6));
    let mut f = [0u8; 6];
    f[..fields.len()].copy_from_slice(fields);
    let count = i32::from(u16::from_be_bytes([f[0], f[1]]));
    let flags = i16::from(f[2] & 0x78); // timestamp type, transactional, control bits
    let header = BatchHeader {
        base_offset: 0,
        batch_length: 0,
        partition_leader_epoch: -1,
        magic: 2,
        crc: 0,
        attributes: codec(sel).id() | flags,
        last_offset_delta: count.saturating_sub(1).max(0),
        base_timestamp: 1_700_000_000_000,
        max_timestamp: 1_700_000_000_000 + i64::from(f[3]),
        producer_id: if f[4] & 1 == 1 { 1000 } else { -1 },
        producer_epoch: if f[4] & 1 == 1 { 0 } else { -1 },
        base_sequence: if f[4] & 1 == 1 { i32::from(f[5]) } else { -1 },
        record_count: count,
    };
    let Ok(bytes) = encode_batch(&header, payload) else {
        return;
    };
    let Ok(batch) = MessageBatch::from_bytes(bytes.clone()) else {
        panic!("a batch with a correct CRC was refused");
    };
    decode(&batch);
    append(&bytes);
}

/// Appends `bytes` to the scratch log; what the log accepted must read back unchanged.
fn append(bytes: &Bytes) {
    SCRATCH.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|s| s.appends >= APPENDS_PER_LOG) {
            if let Some(old) = cell.take() {
                let _ = old.log.close();
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let config = LogConfig {
                segment_bytes: 256 * 1024,
                ..LogConfig::default()
            };
            let log = Log::open(&dir.path().join("fuzz-0"), config).expect("scratch log");
            *cell = Some(Scratch {
                _dir: dir,
                log,
                appends: 0,
            });
        }
        let Some(scratch) = cell.as_mut() else { return };
        scratch.appends += 1;
        let Ok(info) = scratch
            .log
            .append(BytesMut::from(&bytes[..]), 0, TimestampType::CreateTime)
        else {
            return;
        };
        if info.duplicate {
            // A producer's retry: the log answered with the first copy's offsets.
            return;
        }
        let stored = scratch
            .log
            .read(info.base_offset, bytes.len())
            .expect("an accepted batch reads back");
        let stored = stored
            .get(..bytes.len())
            .expect("the whole batch reads back");
        assert_eq!(&stored[8..12], &bytes[8..12], "batch length changed");
        assert_eq!(
            &stored[16..],
            &bytes[16..],
            "stored batch differs from the appended one"
        );
    });
}

fn codec_round_trip(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let codec = codec(sel);
    match decompress(codec, rest, MAX_DECOMPRESSED) {
        Ok(out) => {
            assert!(out.len() <= MAX_DECOMPRESSED, "decompressed past the bound");
            let again = compress(codec, &out).expect("compress what was decompressed");
            let back = decompress(codec, &again, MAX_DECOMPRESSED).expect("round trip");
            assert_eq!(back, out, "{codec:?} round trip changed the data");
        }
        Err(StorageError::DecompressedTooLarge { max }) => assert_eq!(max, MAX_DECOMPRESSED),
        Err(_) => {}
    }
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, batch) in FIXTURES {
        let mut raw = vec![0u8];
        raw.extend_from_slice(batch);
        seeds.push((format!("raw-{name}"), raw));
        if batch.len() > BATCH_HEADER_LEN {
            if let Ok(h) = BatchHeader::parse(batch) {
                let count = u16::try_from(h.record_count).unwrap_or(0).to_be_bytes();
                let mut framed = vec![
                    1u8,
                    h.compression_id() as u8,
                    count[0],
                    count[1],
                    0,
                    0,
                    0,
                    0,
                ];
                framed.extend_from_slice(&batch[BATCH_HEADER_LEN..]);
                seeds.push((format!("framed-{name}"), framed));
                let mut codec = vec![2u8, h.compression_id() as u8];
                codec.extend_from_slice(&batch[BATCH_HEADER_LEN..]);
                seeds.push((format!("codec-{name}"), codec));
            }
        }
    }
    for (id, c, len) in [
        (1u8, Compression::Gzip, 64 << 20),
        (2, Compression::Snappy, 8 << 20),
        (3, Compression::Lz4, 64 << 20),
        (4, Compression::Zstd, 64 << 20),
    ] {
        let mut input = vec![2u8, id];
        input.extend(bomb(c, len));
        seeds.push((format!("bomb-{c:?}"), input.clone()));
        input[0] = 1;
        input.splice(2..2, [0u8, 1, 0, 0, 0, 0]);
        seeds.push((format!("bomb-batch-{c:?}"), input));
    }
    seeds
}

fuzz_target!(
    init: {
        if let Some(dir) = skiff_fuzz::seed_dir() {
            skiff_fuzz::write_seeds(&dir, &seeds());
        }
    },
    |data: &[u8]| {
        let Some((&path, rest)) = data.split_first() else { return };
        match path % 3 {
            0 => raw(rest),
            1 => framed(rest),
            _ => codec_round_trip(rest),
        }
    }
);
