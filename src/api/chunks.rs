//! Responses as a list of byte chunks, so that stored record batches go to the socket as
//! they were read from the log, without being copied into the response buffer.
//!
//! kafka-protocol encodes a response into one contiguous buffer, copying every Fetch
//! partition's records into it. [`FetchAnswer`] instead encodes the response once with a
//! 16-byte sentinel in place of each partition's records, then splits the encoding at the
//! sentinels: the metadata between them is copied (it is small), and each partition's
//! records become a chunk of their own (a reference to the bytes read from the log). The
//! connection writes the chunks with one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::FetchResponse;
use kafka_protocol::protocol::Encodable;

/// Byte chunks in the order they go on the wire; the last one is still being written.
#[derive(Debug, Default)]
pub struct Chunks {
    done: VecDeque<Bytes>,
    tail: BytesMut,
    /// While draining: bytes of `done` not yet consumed by [`Buf::advance`].
    draining: usize,
}

impl Chunks {
    /// An empty list.
    pub fn new() -> Chunks {
        Chunks::default()
    }

    /// The chunk being written: small encodings go here.
    pub fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Total bytes held.
    pub fn len(&self) -> usize {
        self.done.iter().map(Bytes::len).sum::<usize>() + self.tail.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `bytes` as a chunk of its own (no copy).
    pub fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.seal();
        self.done.push_back(bytes);
    }

    /// Appends another list's chunks.
    pub fn append(&mut self, mut other: Chunks) {
        if other.done.is_empty() {
            self.tail.extend_from_slice(&other.tail);
            return;
        }
        self.seal();
        self.done.append(&mut other.done);
        self.tail = other.tail;
    }

    /// Freezes the tail into a finished chunk.
    fn seal(&mut self) {
        if !self.tail.is_empty() {
            self.done.push_back(self.tail.split().freeze());
        }
    }

    /// Drops everything held.
    pub fn clear(&mut self) {
        self.done.clear();
        self.tail.clear();
    }

    /// A [`Buf`] over the held bytes, for one vectored write of them all.
    pub fn drain(&mut self) -> Drain<'_> {
        self.seal();
        self.draining = self.done.iter().map(Bytes::len).sum();
        Drain { chunks: self }
    }
}

/// The held chunks as a [`Buf`]: written bytes are dropped as the writer advances.
#[derive(Debug)]
pub struct Drain<'a> {
    chunks: &'a mut Chunks,
}

impl Buf for Drain<'_> {
    fn remaining(&self) -> usize {
        self.chunks.draining
    }

    fn chunk(&self) -> &[u8] {
        self.chunks.done.front().map_or(&[], |b| b.as_ref())
    }

    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.chunks.done.front_mut() else {
                return;
            };
            let step = cnt.min(front.len());
            front.advance(step);
            cnt -= step;
            self.chunks.draining -= step;
            if front.is_empty() {
                self.chunks.done.pop_front();
            }
        }
    }

    fn chunks_vectored<'b>(&'b self, dst: &mut [IoSlice<'b>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.chunks.done.iter()) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }
}

/// A Fetch response whose records are written as chunks of their own.
#[derive(Debug)]
pub struct FetchAnswer(pub FetchResponse);

/// Records smaller than this are copied with the metadata: a chunk of their own would cost
/// more in the vectored write than the copy.
const MIN_CHUNK: usize = 4096;

impl FetchAnswer {
    /// Encodes the response at `version` as chunks.
    pub fn encode_chunks(&self, version: i16) -> Result<Chunks, String> {
        // A sentinel no metadata field will contain by chance (fresh random bytes).
        let sentinel = *uuid::Uuid::new_v4().as_bytes();
        let mut shell = self.0.clone();
        let mut records = Vec::new();
        for p in shell
            .responses
            .iter_mut()
            .flat_map(|t| t.partitions.iter_mut())
        {
            if let Some(r) = p.records.as_mut() {
                if r.len() >= MIN_CHUNK {
                    records.push(std::mem::replace(r, Bytes::copy_from_slice(&sentinel)));
                }
            }
        }
        let mut meta = BytesMut::new();
        shell
            .encode(&mut meta, version)
            .map_err(|e| e.to_string())?;
        let compact = version >= 12;
        // The sentinel's own length prefix, which the real one replaces.
        let prefix_len = if compact { 1 } else { 4 };
        let mut out = Chunks::new();
        let mut from = 0;
        let mut next = records.into_iter();
        let mut at = 0;
        while let Some(found) = find(&meta, &sentinel, at) {
            let Some(real) = next.next() else {
                return Err("more record sentinels than records".into());
            };
            let start = found
                .checked_sub(prefix_len)
                .filter(|s| *s >= from)
                .ok_or("record sentinel without its length prefix")?;
            out.tail()
                .extend_from_slice(meta.get(from..start).ok_or("sentinel out of bounds")?);
            if compact {
                put_uvarint(out.tail(), real.len() as u64 + 1);
            } else {
                let len = i32::try_from(real.len()).map_err(|_| "records over 2 GiB")?;
                out.tail().put_i32(len);
            }
            out.push(real);
            from = found + sentinel.len();
            at = from;
        }
        if next.next().is_some() {
            return Err("a partition's records were not found in the encoding".into());
        }
        out.tail()
            .extend_from_slice(meta.get(from..).ok_or("sentinel out of bounds")?);
        Ok(out)
    }
}

/// The first position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn put_uvarint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};

    fn response(sizes: &[usize]) -> FetchResponse {
        let partitions = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                PartitionData::default()
                    .with_partition_index(i as i32)
                    .with_high_watermark(7)
                    .with_records(Some(Bytes::from(vec![i as u8 + 1; *n])))
            })
            .collect();
        FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default().with_partitions(partitions)
        ])
    }

    fn flatten(mut c: Chunks) -> Vec<u8> {
        let mut d = c.drain();
        let mut out = Vec::new();
        while d.has_remaining() {
            let n = d.chunk().len();
            out.extend_from_slice(d.chunk());
            d.advance(n);
        }
        out
    }

    #[test]
    fn chunked_encoding_equals_the_crates_at_every_version() {
        for sizes in [&[][..], &[0, 5000], &[10_000, 3, 70_000, 4096]] {
            let r = response(sizes);
            for v in 4..=18 {
                let mut whole = BytesMut::new();
                r.encode(&mut whole, v).unwrap();
                let chunks = FetchAnswer(r.clone()).encode_chunks(v).unwrap();
                assert_eq!(chunks.len(), whole.len(), "v{v} {sizes:?}");
                assert_eq!(flatten(chunks), whole.to_vec(), "v{v} {sizes:?}");
            }
        }
    }

    #[test]
    fn big_records_are_chunks_of_their_own() {
        let r = response(&[10_000, 20_000]);
        let mut chunks = FetchAnswer(r.clone()).encode_chunks(12).unwrap();
        let sizes: Vec<usize> = chunks.drain().chunks.done.iter().map(Bytes::len).collect();
        assert!(
            sizes.contains(&10_000) && sizes.contains(&20_000),
            "{sizes:?}"
        );
    }

    #[test]
    fn drain_advances_across_chunks() {
        let mut c = Chunks::new();
        c.tail().extend_from_slice(b"ab");
        c.push(Bytes::from_static(b"cde"));
        c.tail().extend_from_slice(b"f");
        let mut d = c.drain();
        assert_eq!(d.remaining(), 6);
        d.advance(3);
        assert_eq!(d.chunk(), b"de");
        d.advance(3);
        assert_eq!(d.remaining(), 0);
        assert!(c.is_empty());
    }
}
