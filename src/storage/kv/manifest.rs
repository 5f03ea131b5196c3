//! The manifest: which tables are live, at which level, and from which write-ahead log
//! offset recovery replays. Written whole to a temporary file, fsynced, renamed over
//! `MANIFEST`, and the directory fsynced, so a crash leaves either the old or the new one.

use std::fs;
use std::path::Path;

use super::codec::{corrupt, Reader};
use crate::storage::Result;

const MAGIC: &[u8; 8] = b"SKIFFMF1";
/// File name of the manifest inside the store directory.
pub const MANIFEST: &str = "MANIFEST";
/// The temp file `store` writes before renaming (see `fs_util::write_atomically`).
#[cfg(test)]
const MANIFEST_TMP: &str = "MANIFEST.tmp";

/// One live table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRecord {
    /// Table id; the file is `<id, 20 digits>.sst`.
    pub id: u64,
    /// Level (0 for every table under size-tiered and time-window compaction).
    pub level: u32,
    /// Newest write-ahead log offset whose writes the table holds.
    pub max_seq: u64,
    /// Creation time in milliseconds since the Unix epoch (time-window compaction).
    pub created_ms: u64,
}

/// The manifest's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Id the next table gets.
    pub next_table_id: u64,
    /// First write-ahead log offset not yet in a table.
    pub replay_from: u64,
    /// Live tables.
    pub tables: Vec<TableRecord>,
}

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.tables.len() * 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.next_table_id.to_le_bytes());
        out.extend_from_slice(&self.replay_from.to_le_bytes());
        out.extend_from_slice(&(self.tables.len() as u64).to_le_bytes());
        for t in &self.tables {
            out.extend_from_slice(&t.id.to_le_bytes());
            out.extend_from_slice(&t.level.to_le_bytes());
            out.extend_from_slice(&t.max_seq.to_le_bytes());
            out.extend_from_slice(&t.created_ms.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Manifest> {
        if bytes.len() < MAGIC.len() + 4 {
            return Err(corrupt("manifest: too short"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let mut r = Reader::new(crc, "manifest");
        if crc32c::crc32c(body) != r.u32()? {
            return Err(corrupt("manifest: checksum mismatch"));
        }
        let mut r = Reader::new(body, "manifest");
        if r.bytes(MAGIC.len())? != MAGIC {
            return Err(corrupt("manifest: bad magic"));
        }
        let next_table_id = r.u64()?;
        let replay_from = r.u64()?;
        let n = r.u64()?;
        let mut tables = Vec::new();
        for _ in 0..n {
            tables.push(TableRecord {
                id: r.u64()?,
                level: r.u32()?,
                max_seq: r.u64()?,
                created_ms: r.u64()?,
            });
        }
        if !r.is_empty() {
            return Err(corrupt("manifest: trailing bytes"));
        }
        Ok(Manifest {
            next_table_id,
            replay_from,
            tables,
        })
    }

    /// Reads the manifest of `dir`; `None` when there is none (a new store).
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        match fs::read(dir.join(MANIFEST)) {
            Ok(bytes) => Manifest::decode(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the manifest of `dir` atomically and durably.
    pub fn store(&self, dir: &Path) -> Result<()> {
        crate::storage::fs_util::write_atomically(&dir.join(MANIFEST), &self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let m = Manifest {
            next_table_id: 9,
            replay_from: 1234,
            tables: vec![
                TableRecord {
                    id: 3,
                    level: 0,
                    max_seq: 100,
                    created_ms: 5,
                },
                TableRecord {
                    id: 7,
                    level: 2,
                    max_seq: 50,
                    created_ms: 6,
                },
            ],
        };
        m.store(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(m));
        assert!(!dir.path().join(MANIFEST_TMP).exists());
        let path = dir.path().join(MANIFEST);
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(Manifest::load(dir.path()).is_err());
    }
}
