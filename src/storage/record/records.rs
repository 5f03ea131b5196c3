//! Single v2 records inside a batch's (decompressed) records section: decoding into
//! zero-copy [`Bytes`] slices and encoding.
//!
//! A record is `length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//! keyLength varint, key, valueLength varint, value, headerCount varint, headers` where a
//! length of -1 is null and each header is `keyLength varint, key (UTF-8), valueLength
//! varint, value`.

use bytes::{BufMut, Bytes};

use super::varint::{get_varint, get_varlong, put_varint, put_varlong, varint_len, varlong_len};
use crate::storage::error::{Result, StorageError};

/// One record header: a key and an optional value. Headers are an ordered list and a key
/// may repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header value; `None` is a null value.
    pub value: Option<Bytes>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Absolute offset in the partition.
    pub offset: i64,
    /// Key; `None` is a null key.
    pub key: Option<Bytes>,
    /// Value; `None` is a null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers in their original order, duplicates kept.
    pub headers: Vec<Header>,
    /// Timestamp in milliseconds (create time, or the batch's log-append time).
    pub timestamp: i64,
    /// CRC32C of the batch the record was read from.
    pub crc: u32,
}

/// One decoded v2 record, relative to its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record attributes (unused by Kafka, kept as read).
    pub attributes: i8,
    /// Timestamp relative to the batch's base timestamp.
    pub timestamp_delta: i64,
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Key; `None` is a null key.
    pub key: Option<Bytes>,
    /// Value; `None` is a null value.
    pub value: Option<Bytes>,
    /// Headers in order, duplicates kept.
    pub headers: Vec<Header>,
}

fn invalid(msg: impl Into<String>) -> StorageError {
    StorageError::InvalidBatch(msg.into())
}

/// Reads a nullable length-prefixed byte string from `body` (the slice of `src` that ends
/// at `end`), returning a zero-copy slice of `src`.
fn get_nullable(src: &Bytes, end: usize, body: &mut &[u8], what: &str) -> Result<Option<Bytes>> {
    let len = get_varint(body)?;
    if len < 0 {
        if len != -1 {
            return Err(invalid(format!("{what} length {len}")));
        }
        return Ok(None);
    }
    let len = len as usize;
    if len > body.len() {
        return Err(invalid(format!(
            "{what} length {len} exceeds the {} bytes left",
            body.len()
        )));
    }
    let start = end - body.len();
    *body = body.get(len..).unwrap_or_default();
    Ok(Some(src.slice(start..start + len)))
}

/// Decodes the record at `*pos` of `src`, advancing `*pos` past it. Keys, values and
/// header values are slices of `src`; nothing is copied but header keys.
pub fn decode_record(src: &Bytes, pos: &mut usize) -> Result<Record> {
    let mut cursor = src
        .get(*pos..)
        .ok_or_else(|| invalid("record position past the end"))?;
    let len = get_varint(&mut cursor)?;
    if len < 0 || len as usize > cursor.len() {
        return Err(invalid(format!(
            "record length {len} with {} bytes left",
            cursor.len()
        )));
    }
    let body_start = src.len() - cursor.len();
    let body_end = body_start + len as usize;
    // Decode from a slice that ends at the record's end, so fields can't overrun it.
    let mut body = src.get(body_start..body_end).unwrap_or_default();

    let (&attributes, rest) = body
        .split_first()
        .ok_or_else(|| invalid("record without attributes"))?;
    body = rest;
    let timestamp_delta = get_varlong(&mut body)?;
    let offset_delta = get_varint(&mut body)?;
    let key = get_nullable(src, body_end, &mut body, "key")?;
    let value = get_nullable(src, body_end, &mut body, "value")?;
    let count = get_varint(&mut body)?;
    if count < 0 {
        return Err(invalid(format!("header count {count}")));
    }
    // Each header takes at least two bytes; don't trust the count for the allocation.
    let mut headers = Vec::with_capacity((count as usize).min(body.len() / 2));
    for _ in 0..count {
        let key_len = get_varint(&mut body)?;
        if key_len < 0 || key_len as usize > body.len() {
            return Err(invalid(format!("header key length {key_len}")));
        }
        let (key_bytes, rest) = body.split_at(key_len as usize);
        body = rest;
        let key = std::str::from_utf8(key_bytes)
            .map_err(|_| invalid("header key is not UTF-8"))?
            .to_owned();
        let value = get_nullable(src, body_end, &mut body, "header value")?;
        headers.push(Header { key, value });
    }
    if !body.is_empty() {
        return Err(invalid(format!(
            "{} bytes left over in a record of {len} bytes",
            body.len()
        )));
    }
    *pos = body_end;
    Ok(Record {
        attributes: attributes as i8,
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers,
    })
}

fn nullable_len(v: Option<&[u8]>) -> usize {
    match v {
        None => varint_len(-1),
        Some(b) => varint_len(b.len() as i32) + b.len(),
    }
}

fn put_nullable<B: BufMut>(out: &mut B, v: Option<&[u8]>) {
    match v {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.put_slice(b);
        }
    }
}

/// Size of a record's body (everything after its length varint).
fn body_len(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let mut n = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    n += nullable_len(key) + nullable_len(value);
    n += varint_len(headers.len() as i32);
    for h in headers {
        n += varint_len(h.key.len() as i32) + h.key.len();
        n += nullable_len(h.value.as_deref());
    }
    n
}

/// Appends one encoded record (attributes 0) to `out` and returns its encoded size.
/// Fails if a field is too long for Kafka's `i32` lengths.
pub fn encode_record<B: BufMut>(
    out: &mut B,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> Result<usize> {
    let body = body_len(timestamp_delta, offset_delta, key, value, headers);
    let len = i32::try_from(body).map_err(|_| invalid("record too large"))?;
    put_varint(out, len);
    out.put_i8(0);
    put_varlong(out, timestamp_delta);
    put_varint(out, offset_delta);
    put_nullable(out, key);
    put_nullable(out, value);
    put_varint(out, headers.len() as i32);
    for h in headers {
        put_nullable(out, Some(h.key.as_bytes()));
        put_nullable(out, h.value.as_deref());
    }
    Ok(varint_len(len) + body)
}

/// Iterates over the records of a records section, expecting exactly `count` of them and
/// no trailing bytes.
#[derive(Debug, Clone)]
pub struct RecordIter {
    src: Bytes,
    pos: usize,
    remaining: usize,
    failed: bool,
}

impl RecordIter {
    /// Iterates over `count` records encoded back to back in `src`.
    pub fn new(src: Bytes, count: usize) -> RecordIter {
        RecordIter {
            src,
            pos: 0,
            remaining: count,
            failed: false,
        }
    }

    /// Records not yet returned.
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl Iterator for RecordIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.failed {
            return None;
        }
        if self.remaining == 0 {
            if self.pos != self.src.len() {
                self.failed = true;
                return Some(Err(invalid(format!(
                    "{} bytes after the last record",
                    self.src.len() - self.pos
                ))));
            }
            return None;
        }
        match decode_record(&self.src, &mut self.pos) {
            Ok(r) => {
                self.remaining -= 1;
                Some(Ok(r))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.failed {
            (0, Some(0))
        } else {
            (0, Some(self.remaining + 1))
        }
    }
}

/// Iterates over a batch's records as [`Message`]s: absolute offsets, resolved timestamps
/// and the batch CRC. Made by [`MessageBatch::message_iter`](crate::storage::MessageBatch::message_iter).
#[derive(Debug, Clone)]
pub struct MessageIter {
    records: RecordIter,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    crc: u32,
}

impl MessageIter {
    /// Iterates over `records` with the batch fields that turn a record into a message.
    /// `log_append_time` is the batch's max timestamp when its timestamp type is
    /// log-append time.
    pub fn new(
        records: RecordIter,
        base_offset: i64,
        base_timestamp: i64,
        log_append_time: Option<i64>,
        crc: u32,
    ) -> MessageIter {
        MessageIter {
            records,
            base_offset,
            base_timestamp,
            log_append_time,
            crc,
        }
    }

    fn to_message(&self, r: Record) -> Result<Message> {
        let offset = self
            .base_offset
            .checked_add(i64::from(r.offset_delta))
            .ok_or_else(|| invalid("record offset overflows"))?;
        let timestamp = match self.log_append_time {
            Some(t) => t,
            None => self
                .base_timestamp
                .checked_add(r.timestamp_delta)
                .ok_or_else(|| invalid("record timestamp overflows"))?,
        };
        Ok(Message {
            offset,
            key: r.key,
            value: r.value,
            headers: r.headers,
            timestamp,
            crc: self.crc,
        })
    }
}

impl Iterator for MessageIter {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Result<Message>> {
        let r = self.records.next()?;
        Some(r.and_then(|r| self.to_message(r)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.records.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(k: &str, v: Option<&str>) -> Header {
        Header {
            key: k.to_owned(),
            value: v.map(|s| Bytes::copy_from_slice(s.as_bytes())),
        }
    }

    #[test]
    fn encode_then_decode_keeps_every_field() {
        let headers = vec![
            header("h", Some("a")),
            header("h", Some("b")),
            header("n", None),
        ];
        let mut out = Vec::new();
        let n = encode_record(&mut out, 3, -5, Some(b"k"), None, &headers).unwrap();
        assert_eq!(n, out.len());
        let src = Bytes::from(out);
        let mut pos = 0;
        let r = decode_record(&src, &mut pos).unwrap();
        assert_eq!(pos, src.len());
        assert_eq!(r.offset_delta, 3);
        assert_eq!(r.timestamp_delta, -5);
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value, None);
        assert_eq!(r.headers, headers);
    }

    #[test]
    fn known_bytes_decode() {
        // length 12: attrs 0, ts delta 1, offset delta 2, key "ab", value null, 1 header "x"->"y".
        let buf = [
            0x18, 0x00, 0x02, 0x04, 0x04, b'a', b'b', 0x01, 0x02, 0x02, b'x', 0x02, b'y',
        ];
        let src = Bytes::copy_from_slice(&buf);
        let mut pos = 0;
        let r = decode_record(&src, &mut pos).unwrap();
        assert_eq!(r.timestamp_delta, 1);
        assert_eq!(r.offset_delta, 2);
        assert_eq!(r.key.as_deref(), Some(&b"ab"[..]));
        assert_eq!(r.headers, vec![header("x", Some("y"))]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut out = Vec::new();
        encode_record(
            &mut out,
            1,
            2,
            Some(b"key"),
            Some(b"value"),
            &[header("h", Some("v"))],
        )
        .unwrap();
        for cut in 0..out.len() {
            let src = Bytes::copy_from_slice(&out[..cut]);
            assert!(decode_record(&src, &mut 0).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn field_overrunning_the_record_length_is_an_error() {
        // Record length 3 but the key claims 2 bytes past it.
        let buf = [0x06, 0x00, 0x00, 0x00, 0x04, b'a', b'b', 0x01, 0x00];
        assert!(decode_record(&Bytes::copy_from_slice(&buf), &mut 0).is_err());
    }

    #[test]
    fn iterator_rejects_missing_and_trailing_records() {
        let mut out = Vec::new();
        encode_record(&mut out, 0, 0, None, Some(b"v"), &[]).unwrap();
        let one = Bytes::from(out.clone());
        assert_eq!(
            RecordIter::new(one.clone(), 1)
                .filter(|r| r.is_ok())
                .count(),
            1
        );
        assert!(RecordIter::new(one.clone(), 2).any(|r| r.is_err()));
        assert!(RecordIter::new(one, 0).any(|r| r.is_err()));
    }
}
