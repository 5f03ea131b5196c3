//! SSTables: immutable sorted files of entries.
//!
//! Layout: data blocks (entries `[key len u32][value len u32, u32::MAX = tombstone][key]
//! [value]`, cut near the configured block size), then an index block (per data block: its
//! last key, offset and length), a bloom filter block (empty when disabled), a meta block
//! (entry count, first and last key) and a 64-byte footer. Every block ends with a codec
//! byte and a CRC32C; data blocks may be compressed. The footer holds the offsets and
//! lengths of index, bloom and meta blocks, a format version, its own CRC32C and a magic.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bloom::{key_hash, BloomFilter};
use super::codec::{corrupt, decode_block, encode_block, len_u32, put_len_prefixed, Reader};
use super::config::SsTableConfig;
use super::memtable::{after_start, before_end, Entry};
use crate::storage::{Compression, Result, StorageError};

const MAGIC: u64 = 0x534b_4946_4653_5354; // "SKIFFSST"
const VERSION: u32 = 1;
const FOOTER_LEN: usize = 64;
const TOMBSTONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct IndexEntry {
    last_key: Vec<u8>,
    offset: u64,
    len: u64,
}

/// Writes one SSTable; entries must arrive in strictly ascending key order.
pub struct SsTableWriter {
    file: BufWriter<File>,
    path: PathBuf,
    config: SsTableConfig,
    block: Vec<u8>,
    last_key: Option<Vec<u8>>,
    first_key: Option<Vec<u8>>,
    offset: u64,
    index: Vec<IndexEntry>,
    hashes: Vec<u64>,
    entries: u64,
}

impl SsTableWriter {
    /// Creates the file at `path` (replacing any).
    pub fn create(path: &Path, config: &SsTableConfig) -> Result<SsTableWriter> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        Ok(SsTableWriter {
            file: BufWriter::new(file),
            path: path.to_path_buf(),
            config: config.clone(),
            block: Vec::new(),
            last_key: None,
            first_key: None,
            offset: 0,
            index: Vec::new(),
            hashes: Vec::new(),
            entries: 0,
        })
    }

    /// Appends an entry; `None` writes a tombstone.
    pub fn add(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(StorageError::InvalidStateRequest(
                "sstable keys must be strictly ascending".into(),
            ));
        }
        self.block
            .extend_from_slice(&len_u32(key.len())?.to_le_bytes());
        match value {
            Some(v) => self
                .block
                .extend_from_slice(&len_u32(v.len())?.to_le_bytes()),
            None => self.block.extend_from_slice(&TOMBSTONE.to_le_bytes()),
        }
        self.block.extend_from_slice(key);
        if let Some(v) = value {
            self.block.extend_from_slice(v);
        }
        if self.first_key.is_none() {
            self.first_key = Some(key.to_vec());
        }
        self.last_key = Some(key.to_vec());
        if self.config.bloom_filter_enabled {
            self.hashes.push(key_hash(key));
        }
        self.entries += 1;
        if self.block.len() >= self.config.block_size {
            self.finish_block()?;
        }
        Ok(())
    }

    /// Bytes written so far (an estimate of the final size).
    pub fn written(&self) -> u64 {
        self.offset + self.block.len() as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    fn write_raw(&mut self, block: &[u8]) -> Result<(u64, u64)> {
        self.file.write_all(block)?;
        let at = self.offset;
        self.offset += block.len() as u64;
        Ok((at, block.len() as u64))
    }

    fn finish_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let encoded = encode_block(&self.block, self.config.compression)?;
        self.block.clear();
        let (offset, len) = self.write_raw(&encoded)?;
        let last_key = self.last_key.clone().unwrap_or_default();
        self.index.push(IndexEntry {
            last_key,
            offset,
            len,
        });
        Ok(())
    }

    /// Writes index, bloom filter, meta and footer, fsyncs, and opens the finished table.
    pub fn finish(mut self) -> Result<SsTable> {
        self.finish_block()?;
        let mut index = Vec::new();
        index.extend_from_slice(&len_u32(self.index.len())?.to_le_bytes());
        for e in &self.index {
            put_len_prefixed(&mut index, &e.last_key)?;
            index.extend_from_slice(&e.offset.to_le_bytes());
            index.extend_from_slice(&e.len.to_le_bytes());
        }
        let index = encode_block(&index, Compression::None)?;
        let (index_off, index_len) = self.write_raw(&index)?;
        let (bloom_off, bloom_len) = if self.config.bloom_filter_enabled {
            let bloom = BloomFilter::build(&self.hashes, self.config.bloom_filter_fp_rate);
            let block = encode_block(&bloom.encode(), Compression::None)?;
            self.write_raw(&block)?
        } else {
            (self.offset, 0)
        };
        let mut meta = Vec::new();
        meta.extend_from_slice(&self.entries.to_le_bytes());
        put_len_prefixed(&mut meta, self.first_key.as_deref().unwrap_or_default())?;
        put_len_prefixed(&mut meta, self.last_key.as_deref().unwrap_or_default())?;
        let meta = encode_block(&meta, Compression::None)?;
        let (meta_off, meta_len) = self.write_raw(&meta)?;
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        for v in [
            index_off, index_len, bloom_off, bloom_len, meta_off, meta_len,
        ] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        footer.extend_from_slice(&VERSION.to_le_bytes());
        let crc = crc32c::crc32c(&footer);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        self.write_raw(&footer)?;
        let file = self
            .file
            .into_inner()
            .map_err(|e| StorageError::Io(e.into_error()))?;
        file.sync_all()?;
        drop(file);
        SsTable::open(&self.path)
    }
}

/// An open, immutable SSTable. Index, bloom filter and meta live in memory; data blocks
/// are read (and their CRC checked) on demand.
#[derive(Debug)]
pub struct SsTable {
    path: PathBuf,
    file: File,
    index: Vec<IndexEntry>,
    bloom: Option<BloomFilter>,
    entries: u64,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    size: u64,
}

impl SsTable {
    /// Opens a table, checking its footer, index, bloom and meta blocks.
    pub fn open(path: &Path) -> Result<SsTable> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        let name = path.display().to_string();
        if size < FOOTER_LEN as u64 {
            return Err(corrupt(format!("sstable {name}: too short")));
        }
        let mut footer = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut footer, size - FOOTER_LEN as u64)?;
        let mut r = Reader::new(&footer, "sstable footer");
        let mut fields = [0u64; 6];
        for f in &mut fields {
            *f = r.u64()?;
        }
        let version = r.u32()?;
        let crc = r.u32()?;
        let magic = r.u64()?;
        if magic != MAGIC {
            return Err(corrupt(format!("sstable {name}: bad magic")));
        }
        if crc32c::crc32c(footer.get(..52).unwrap_or_default()) != crc {
            return Err(corrupt(format!("sstable {name}: footer checksum mismatch")));
        }
        if version != VERSION {
            return Err(corrupt(format!(
                "sstable {name}: unknown version {version}"
            )));
        }
        let [index_off, index_len, bloom_off, bloom_len, meta_off, meta_len] = fields;
        let read = |off: u64, len: u64, what: &str| -> Result<Vec<u8>> {
            if off
                .checked_add(len)
                .is_none_or(|end| end > size - FOOTER_LEN as u64)
            {
                return Err(corrupt(format!("sstable {name}: {what} out of bounds")));
            }
            let mut buf = vec![0u8; len as usize];
            file.read_exact_at(&mut buf, off)?;
            decode_block(&buf, &format!("sstable {name} {what}"))
        };
        let index_bytes = read(index_off, index_len, "index")?;
        let mut r = Reader::new(&index_bytes, "sstable index");
        let n = r.u32()?;
        let mut index = Vec::new();
        for _ in 0..n {
            let last_key = r.len_prefixed()?.to_vec();
            let offset = r.u64()?;
            let len = r.u64()?;
            if offset.checked_add(len).is_none_or(|end| end > index_off) {
                return Err(corrupt(format!(
                    "sstable {name}: index entry out of bounds"
                )));
            }
            index.push(IndexEntry {
                last_key,
                offset,
                len,
            });
        }
        let bloom = if bloom_len > 0 {
            Some(BloomFilter::decode(&read(bloom_off, bloom_len, "bloom")?)?)
        } else {
            None
        };
        let meta = read(meta_off, meta_len, "meta")?;
        let mut r = Reader::new(&meta, "sstable meta");
        let entries = r.u64()?;
        let first_key = r.len_prefixed()?.to_vec();
        let last_key = r.len_prefixed()?.to_vec();
        Ok(SsTable {
            path: path.to_path_buf(),
            file,
            index,
            bloom,
            entries,
            first_key,
            last_key,
            size,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entries held, tombstones included.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Smallest key (empty for an empty table).
    pub fn first_key(&self) -> &[u8] {
        &self.first_key
    }

    /// Largest key (empty for an empty table).
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Whether `key` lies within the table's key range.
    pub fn covers(&self, key: &[u8]) -> bool {
        self.entries > 0 && key >= self.first_key.as_slice() && key <= self.last_key.as_slice()
    }

    /// Whether the table's keys intersect `[lo, hi]`.
    pub fn overlaps(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.entries > 0 && self.first_key.as_slice() <= hi && self.last_key.as_slice() >= lo
    }

    fn read_block(&self, i: usize) -> Result<Vec<Entry>> {
        let e = self
            .index
            .get(i)
            .ok_or_else(|| corrupt("sstable: block index out of range"))?;
        let mut buf = vec![0u8; e.len as usize];
        self.file.read_exact_at(&mut buf, e.offset)?;
        let what = format!("sstable {} block at {}", self.path.display(), e.offset);
        let payload = decode_block(&buf, &what)?;
        let mut r = Reader::new(&payload, "sstable block");
        let mut out = Vec::new();
        while !r.is_empty() {
            let klen = r.u32()? as usize;
            let vlen = r.u32()?;
            let key = r.bytes(klen)?.to_vec();
            let value = if vlen == TOMBSTONE {
                None
            } else {
                Some(r.bytes(vlen as usize)?.to_vec())
            };
            out.push((key, value));
        }
        Ok(out)
    }

    /// Index of the first block that may hold keys at or after `start`.
    fn seek_block(&self, start: Bound<&[u8]>) -> usize {
        match start {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.index.partition_point(|e| e.last_key.as_slice() < k),
            Bound::Excluded(k) => self.index.partition_point(|e| e.last_key.as_slice() <= k),
        }
    }

    /// Looks `key` up: `None` when absent, `Some(None)` for a tombstone. The bloom filter
    /// is consulted first, then the index, then one data block.
    pub fn get(&self, key: &[u8]) -> Result<Option<Option<Vec<u8>>>> {
        if !self.covers(key) {
            return Ok(None);
        }
        if let Some(bloom) = &self.bloom {
            if !bloom.may_contain(key) {
                return Ok(None);
            }
        }
        let i = self.seek_block(Bound::Included(key));
        if i >= self.index.len() {
            return Ok(None);
        }
        let block = self.read_block(i)?;
        Ok(block
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .and_then(|pos| block.into_iter().nth(pos))
            .map(|(_, v)| v))
    }

    /// Iterates the entries within the bounds, tombstones included.
    pub fn range(self: &Arc<Self>, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> SsTableIter {
        let block = self.seek_block(start.as_ref().map(Vec::as_slice));
        SsTableIter {
            table: Arc::clone(self),
            next_block: block,
            entries: Vec::new().into_iter(),
            start,
            end,
            done: false,
        }
    }
}

/// An iterator over a table's entries within bounds; yields an error (once) for a block
/// that fails its checks.
pub struct SsTableIter {
    table: Arc<SsTable>,
    next_block: usize,
    entries: std::vec::IntoIter<Entry>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    done: bool,
}

impl Iterator for SsTableIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            for (k, v) in self.entries.by_ref() {
                if !after_start(&k, self.start.as_ref().map(Vec::as_slice)) {
                    continue;
                }
                if !before_end(&k, self.end.as_ref().map(Vec::as_slice)) {
                    self.done = true;
                    return None;
                }
                return Some(Ok((k, v)));
            }
            if self.next_block >= self.table.index.len() {
                self.done = true;
                return None;
            }
            match self.table.read_block(self.next_block) {
                Ok(entries) => {
                    self.next_block += 1;
                    self.entries = entries.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(compression: Compression, bloom: bool) -> SsTableConfig {
        SsTableConfig {
            block_size: 128,
            bloom_filter_enabled: bloom,
            bloom_filter_fp_rate: 0.01,
            compression,
        }
    }

    fn key(i: u32) -> Vec<u8> {
        format!("key-{i:05}").into_bytes()
    }

    fn build(dir: &Path, c: &SsTableConfig, n: u32) -> Arc<SsTable> {
        let mut w = SsTableWriter::create(&dir.join("t.sst"), c).unwrap();
        for i in 0..n {
            let v = (i % 3 != 0).then(|| format!("value-{i}").into_bytes());
            w.add(&key(i), v.as_deref()).unwrap();
        }
        Arc::new(w.finish().unwrap())
    }

    #[test]
    fn get_and_range_with_every_codec() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            for bloom in [true, false] {
                let dir = tempfile::tempdir().unwrap();
                let t = build(dir.path(), &cfg(codec, bloom), 500);
                assert_eq!(t.entries(), 500);
                assert!(t.index.len() > 10);
                assert_eq!(t.get(&key(7)).unwrap(), Some(Some(b"value-7".to_vec())));
                assert_eq!(t.get(&key(9)).unwrap(), Some(None));
                assert_eq!(t.get(b"key-00007x").unwrap(), None);
                assert_eq!(t.get(b"zzz").unwrap(), None);
                let all: Vec<Entry> = t
                    .range(Bound::Unbounded, Bound::Unbounded)
                    .collect::<Result<_>>()
                    .unwrap();
                assert_eq!(all.len(), 500);
                let some: Vec<Entry> = t
                    .range(Bound::Excluded(key(100)), Bound::Included(key(200)))
                    .collect::<Result<_>>()
                    .unwrap();
                assert_eq!(some.first().unwrap().0, key(101));
                assert_eq!(some.last().unwrap().0, key(200));
                assert_eq!(some.len(), 100);
            }
        }
    }

    #[test]
    fn keys_out_of_order_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SsTableWriter::create(&dir.path().join("t.sst"), &cfg(Compression::None, true))
            .unwrap();
        w.add(b"b", Some(b"1")).unwrap();
        assert!(w.add(b"a", Some(b"1")).is_err());
        assert!(w.add(b"b", Some(b"1")).is_err());
    }

    #[test]
    fn a_corrupt_data_block_is_an_error_not_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let t = build(dir.path(), &cfg(Compression::Lz4, true), 200);
            t.path().to_path_buf()
        };
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let t = Arc::new(SsTable::open(&path).unwrap());
        assert!(matches!(
            t.get(&key(1)),
            Err(StorageError::StateCorrupted(_))
        ));
        let results: Vec<_> = t.range(Bound::Unbounded, Bound::Unbounded).collect();
        assert_eq!(results.len(), 1);
        assert!(results[0].is_err());
    }

    #[test]
    fn a_damaged_footer_or_index_fails_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let t = build(dir.path(), &cfg(Compression::None, true), 50);
            t.path().to_path_buf()
        };
        let good = std::fs::read(&path).unwrap();
        for at in [good.len() - 1, good.len() - 20, good.len() - FOOTER_LEN - 3] {
            let mut bytes = good.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&path, &bytes).unwrap();
            assert!(SsTable::open(&path).is_err(), "flip at {at}");
        }
        std::fs::write(&path, &good[..30]).unwrap();
        assert!(SsTable::open(&path).is_err());
    }
}
