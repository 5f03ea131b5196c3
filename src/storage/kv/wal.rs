//! The write-ahead log: segmented files of CRC32C-framed records, each addressed by a
//! sequence number (its offset).
//!
//! A segment is named `<base offset, 20 digits>.wal` and starts with an 8-byte magic.
//! Each record is `[len: u32 LE][crc: u32 LE][payload]`, the CRC32C covering the length
//! bytes and the payload. On open every segment is scanned; a torn or corrupt tail of the
//! last segment is truncated (it is what a crash mid-append leaves), while damage in an
//! earlier, already rolled and synced segment is reported as corruption.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::codec::{corrupt, len_u32};
use super::config::{WalConfig, WalSyncMode};
use crate::storage::{Result, StorageError};

const MAGIC: &[u8; 8] = b"SKIFFWL1";
const FRAME_HEADER: usize = 8;
const EXT: &str = "wal";

/// Fsyncs a directory so that created, renamed and deleted entries are durable.
pub(crate) use crate::storage::fs_util::sync_dir;

fn frame_crc(len: [u8; 4], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&len), payload)
}

#[derive(Debug)]
struct Segment {
    base: u64,
    path: PathBuf,
    /// File position of each record; record `base + i` starts at `positions[i]`.
    positions: Vec<u64>,
    size: u64,
}

impl Segment {
    fn next_offset(&self) -> u64 {
        self.base + self.positions.len() as u64
    }
}

/// The write-ahead log of the state store.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    config: WalConfig,
    segments: Vec<Segment>,
    active: File,
    start_offset: u64,
    closed: bool,
    /// Set when a failed append could not be rolled back: appending more would put
    /// records behind garbage.
    failed: bool,
}

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.{EXT}"))
}

fn create_segment(dir: &Path, base: u64) -> Result<(Segment, File)> {
    let path = segment_path(dir, base);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(&path)?;
    file.write_all(MAGIC)?;
    file.sync_all()?;
    sync_dir(dir)?;
    let seg = Segment {
        base,
        path,
        positions: Vec::new(),
        size: MAGIC.len() as u64,
    };
    Ok((seg, file))
}

/// Scans a segment's bytes: the record positions and the length of the valid prefix.
/// `clean` is false when bytes after the valid prefix do not form a record.
fn scan(bytes: &[u8]) -> (Vec<u64>, u64, bool) {
    let mut positions = Vec::new();
    let mut pos = MAGIC.len();
    loop {
        if pos == bytes.len() {
            return (positions, pos as u64, true);
        }
        let Some(&[l0, l1, l2, l3, c0, c1, c2, c3]) = bytes
            .get(pos..)
            .and_then(|rest| rest.first_chunk::<FRAME_HEADER>())
        else {
            return (positions, pos as u64, false);
        };
        let (len, crc) = ([l0, l1, l2, l3], [c0, c1, c2, c3]);
        let n = u32::from_le_bytes(len) as usize;
        let start = pos + FRAME_HEADER;
        let Some(payload) = start.checked_add(n).and_then(|end| bytes.get(start..end)) else {
            return (positions, pos as u64, false);
        };
        if frame_crc(len, payload) != u32::from_le_bytes(crc) {
            return (positions, pos as u64, false);
        }
        positions.push(pos as u64);
        pos = start + n;
    }
}

impl Wal {
    /// Opens (or creates) the log in `dir`, recovering every segment. When the log holds
    /// no record at or after `min_next_offset` it restarts empty at that offset, so offsets
    /// keep growing across truncations.
    pub fn open(dir: &Path, config: WalConfig, min_next_offset: u64) -> Result<Wal> {
        fs::create_dir_all(dir)?;
        let mut bases = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(EXT) {
                continue;
            }
            let base = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| corrupt(format!("wal: unexpected file {}", path.display())))?;
            bases.push(base);
        }
        bases.sort_unstable();
        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
        let count = bases.len();
        for (i, base) in bases.into_iter().enumerate() {
            let last = i + 1 == count;
            let path = segment_path(dir, base);
            let bytes = fs::read(&path)?;
            if bytes.len() < MAGIC.len() && last && MAGIC.starts_with(&bytes) {
                // A crash while the segment was being created.
                let (seg, _) = create_segment(dir, base)?;
                segments.push(seg);
                continue;
            }
            if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
                return Err(corrupt(format!("wal: {} has a bad magic", path.display())));
            }
            let (positions, valid, clean) = scan(&bytes);
            if !clean {
                if !last {
                    return Err(corrupt(format!(
                        "wal: {} is corrupt at byte {valid}",
                        path.display()
                    )));
                }
                tracing::warn!(
                    segment = %path.display(),
                    valid,
                    len = bytes.len(),
                    "truncating a torn write-ahead log tail"
                );
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(valid)?;
                f.sync_all()?;
            }
            if let Some(prev) = segments.last() {
                if prev.next_offset() != base {
                    return Err(corrupt(format!(
                        "wal: gap between offsets {} and {base}",
                        prev.next_offset()
                    )));
                }
            }
            segments.push(Segment {
                base,
                path,
                positions,
                size: valid,
            });
        }
        let next = segments.last().map_or(0, Segment::next_offset);
        if segments.is_empty() || next < min_next_offset {
            for seg in segments.drain(..) {
                fs::remove_file(&seg.path)?;
            }
            let (seg, _) = create_segment(dir, min_next_offset)?;
            segments.push(seg);
        }
        let active_path = segments
            .last()
            .map(|s| s.path.clone())
            .ok_or_else(|| corrupt("wal: no segment"))?;
        let active = OpenOptions::new().append(true).open(active_path)?;
        let start_offset = segments.first().map_or(0, |s| s.base);
        Ok(Wal {
            dir: dir.to_path_buf(),
            config,
            segments,
            active,
            start_offset,
            closed: false,
            failed: false,
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed {
            return Err(StorageError::StateStoreClosed);
        }
        if self.failed {
            return Err(corrupt(
                "wal: an earlier append failed and could not be undone",
            ));
        }
        Ok(())
    }

    fn active_segment(&mut self) -> Result<&mut Segment> {
        self.segments
            .last_mut()
            .ok_or_else(|| corrupt("wal: no segment"))
    }

    fn roll(&mut self) -> Result<()> {
        self.active.sync_data()?;
        let base = self.next_offset();
        let (seg, _) = create_segment(&self.dir, base)?;
        self.active = OpenOptions::new().append(true).open(&seg.path)?;
        self.segments.push(seg);
        Ok(())
    }

    /// Appends a record and returns its offset.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        self.append_many(&[payload])
    }

    /// Appends records with one write and (under `WalSyncMode::Always`) one fsync: a group
    /// commit. All are appended or none; returns the offset of the first.
    pub fn append_many(&mut self, payloads: &[&[u8]]) -> Result<u64> {
        self.check_open()?;
        let mut frames = Vec::with_capacity(payloads.iter().map(|p| FRAME_HEADER + p.len()).sum());
        let mut starts = Vec::with_capacity(payloads.len());
        for payload in payloads {
            let len = len_u32(payload.len())?.to_le_bytes();
            starts.push(frames.len() as u64);
            frames.extend_from_slice(&len);
            frames.extend_from_slice(&frame_crc(len, payload).to_le_bytes());
            frames.extend_from_slice(payload);
        }
        {
            let seg = self.active_segment()?;
            if !seg.positions.is_empty() && seg.size >= self.config.segment_bytes {
                self.roll()?;
            }
        }
        let pos = self.active_segment()?.size;
        if let Err(e) = self.active.write_all(&frames) {
            if self.active.set_len(pos).is_err() {
                self.failed = true;
            }
            return Err(e.into());
        }
        if self.config.sync_mode == WalSyncMode::Always {
            if let Err(e) = self.active.sync_data() {
                // The records may or may not be durable; never append behind them.
                self.failed = true;
                return Err(e.into());
            }
        }
        let seg = self.active_segment()?;
        let first = seg.next_offset();
        seg.positions.extend(starts.iter().map(|s| pos + s));
        seg.size = pos + frames.len() as u64;
        Ok(first)
    }

    /// Reads the record at `offset`.
    pub fn read(&self, offset: u64) -> Result<Vec<u8>> {
        let out_of_range = || StorageError::OffsetOutOfRange {
            offset: offset as i64,
            start: self.start_offset as i64,
            end: self.next_offset() as i64,
        };
        if offset < self.start_offset || offset >= self.next_offset() {
            return Err(out_of_range());
        }
        let idx = self.segments.partition_point(|s| s.base <= offset);
        let seg = idx
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .ok_or_else(out_of_range)?;
        let pos = *seg
            .positions
            .get((offset - seg.base) as usize)
            .ok_or_else(out_of_range)?;
        let file = File::open(&seg.path)?;
        let mut header = [0u8; FRAME_HEADER];
        file.read_exact_at(&mut header, pos)?;
        let mut len = [0u8; 4];
        len.copy_from_slice(&header[..4]);
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&header[4..]);
        let n = u32::from_le_bytes(len) as u64;
        if pos + FRAME_HEADER as u64 + n > seg.size {
            return Err(corrupt(format!(
                "wal: record {offset} overruns its segment"
            )));
        }
        let mut payload = vec![0u8; n as usize];
        file.read_exact_at(&mut payload, pos + FRAME_HEADER as u64)?;
        if frame_crc(len, &payload) != u32::from_le_bytes(crc) {
            return Err(corrupt(format!("wal: record {offset} fails its checksum")));
        }
        Ok(payload)
    }

    /// Calls `f` with every record at or after `from`, in order.
    pub fn replay(&self, from: u64, mut f: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        for seg in &self.segments {
            if seg.next_offset() <= from {
                continue;
            }
            let bytes = fs::read(&seg.path)?;
            for (i, &pos) in seg.positions.iter().enumerate() {
                let offset = seg.base + i as u64;
                if offset < from {
                    continue;
                }
                let start = pos as usize + FRAME_HEADER;
                let len = bytes
                    .get(pos as usize..start)
                    .and_then(|h| h.get(..4))
                    .map(|l| {
                        let mut a = [0u8; 4];
                        a.copy_from_slice(l);
                        u32::from_le_bytes(a) as usize
                    })
                    .ok_or_else(|| corrupt(format!("wal: record {offset} vanished")))?;
                let payload = bytes
                    .get(start..start + len)
                    .ok_or_else(|| corrupt(format!("wal: record {offset} vanished")))?;
                f(offset, payload)?;
            }
        }
        Ok(())
    }

    /// Forces every appended record to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.check_open()?;
        self.active.sync_data()?;
        Ok(())
    }

    /// Drops the records before `before`. Whole segments are deleted; the active segment is
    /// always kept, so records before `before` may remain on disk (and are skipped by
    /// offset).
    pub fn truncate(&mut self, before: u64) -> Result<()> {
        self.check_open()?;
        let mut removed = false;
        while self.segments.len() > 1 && self.segments.get(1).is_some_and(|s| s.base <= before) {
            let seg = self.segments.remove(0);
            fs::remove_file(&seg.path)?;
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        self.start_offset = self.start_offset.max(before.min(self.next_offset()));
        Ok(())
    }

    /// The offset the next append gets.
    pub fn next_offset(&self) -> u64 {
        self.segments.last().map_or(0, Segment::next_offset)
    }

    /// The first offset `read` serves.
    pub fn start_offset(&self) -> u64 {
        self.start_offset
    }

    /// Paths of the segment files, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }

    /// Syncs and closes the log; later calls fail with `StateStoreClosed`.
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let res = if self.failed {
            Ok(())
        } else {
            self.active.sync_data()
        };
        self.closed = true;
        Ok(res?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(segment_bytes: u64) -> WalConfig {
        WalConfig {
            dir: None,
            segment_bytes,
            sync_mode: WalSyncMode::Manual,
        }
    }

    fn record(i: u64) -> Vec<u8> {
        format!("record-{i}-{}", "x".repeat((i % 7) as usize)).into_bytes()
    }

    #[test]
    fn append_read_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), cfg(100), 0).unwrap();
        for i in 0..40 {
            assert_eq!(wal.append(&record(i)).unwrap(), i);
        }
        let group: Vec<Vec<u8>> = (40..50).map(record).collect();
        let refs: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
        assert_eq!(wal.append_many(&refs).unwrap(), 40);
        assert!(wal.segment_paths().len() > 1);
        assert_eq!(wal.read(17).unwrap(), record(17));
        assert!(matches!(
            wal.read(50),
            Err(StorageError::OffsetOutOfRange { .. })
        ));
        wal.close().unwrap();
        assert!(matches!(
            wal.append(b"x"),
            Err(StorageError::StateStoreClosed)
        ));

        let wal = Wal::open(dir.path(), cfg(100), 0).unwrap();
        assert_eq!(wal.next_offset(), 50);
        let mut seen = Vec::new();
        wal.replay(10, |o, p| {
            assert_eq!(p, record(o));
            seen.push(o);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (10..50).collect::<Vec<_>>());
    }

    #[test]
    fn truncate_drops_whole_segments_and_keeps_offsets_growing() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), cfg(64), 0).unwrap();
        for i in 0..30 {
            wal.append(&record(i)).unwrap();
        }
        let before = wal.segment_paths().len();
        wal.truncate(20).unwrap();
        assert!(wal.segment_paths().len() < before);
        assert!(wal.read(19).is_err());
        assert_eq!(wal.read(20).unwrap(), record(20));
        wal.truncate(30).unwrap();
        assert_eq!(wal.segment_paths().len(), 1);
        assert_eq!(wal.append(b"next").unwrap(), 30);
        wal.close().unwrap();

        // An empty directory restarts at the floor it is given.
        let dir2 = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir2.path(), cfg(64), 77).unwrap();
        assert_eq!(wal.append(b"a").unwrap(), 77);
    }

    #[test]
    fn torn_tail_is_truncated_at_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), cfg(1 << 20), 0).unwrap();
        for i in 0..5 {
            wal.append(&record(i)).unwrap();
        }
        wal.close().unwrap();
        let path = wal.segment_paths().pop().unwrap();
        let full = fs::read(&path).unwrap();
        let last_len = FRAME_HEADER + record(4).len();
        for cut in full.len() - last_len..full.len() {
            let d = tempfile::tempdir().unwrap();
            let p = segment_path(d.path(), 0);
            fs::write(&p, &full[..cut]).unwrap();
            let mut wal = Wal::open(d.path(), cfg(1 << 20), 0).unwrap();
            assert_eq!(wal.next_offset(), 4, "cut at {cut}");
            assert_eq!(wal.read(3).unwrap(), record(3));
            assert_eq!(wal.append(b"after").unwrap(), 4);
            assert_eq!(wal.read(4).unwrap(), b"after");
        }
    }

    #[test]
    fn garbage_tail_is_truncated_but_a_corrupt_older_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), cfg(64), 0).unwrap();
        for i in 0..20 {
            wal.append(&record(i)).unwrap();
        }
        wal.close().unwrap();
        let paths = wal.segment_paths();
        let last = paths.last().unwrap();
        let mut bytes = fs::read(last).unwrap();
        bytes.extend_from_slice(&[0u8; 13]);
        bytes.extend_from_slice(&[0xAB; 29]);
        fs::write(last, &bytes).unwrap();
        let mut wal = Wal::open(dir.path(), cfg(64), 0).unwrap();
        assert_eq!(wal.next_offset(), 20);
        wal.close().unwrap();

        let first = paths.first().unwrap();
        let mut bytes = fs::read(first).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xFF;
        fs::write(first, &bytes).unwrap();
        assert!(matches!(
            Wal::open(dir.path(), cfg(64), 0),
            Err(StorageError::StateCorrupted(_))
        ));
    }
}
