//! The leader-epoch cache of a partition: which epoch started at which offset, checkpointed
//! to `leader-epoch-checkpoint` in Kafka's text format (version, count, `epoch offset` lines).

use std::fs;
use std::path::{Path, PathBuf};

use crate::storage::error::{Result, StorageError};
use crate::storage::fs_util::write_atomically;

/// File name of the checkpoint inside a partition directory.
pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// One epoch and the first offset written in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: i32,
    /// Offset of the first batch appended in the epoch.
    pub start_offset: i64,
}

/// The epoch → start offset cache, persisted on every change.
#[derive(Debug)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the checkpoint in `dir` (an absent file is an empty cache).
    pub fn open(dir: &Path) -> Result<LeaderEpochCache> {
        let path = dir.join(CHECKPOINT_FILE);
        let entries = match fs::read_to_string(&path) {
            Ok(text) => parse(&text)
                .map_err(|e| StorageError::LogCorrupted(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(LeaderEpochCache { path, entries })
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The latest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset`, if it is newer than the latest epoch.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> Result<()> {
        if epoch < 0 || self.latest_epoch().is_some_and(|l| l >= epoch) {
            return Ok(());
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.persist()
    }

    /// `(epoch, end offset)` for OffsetForLeaderEpoch: the largest known epoch ≤ `epoch` and
    /// the start offset of the epoch after it (or `log_end_offset` for the latest epoch);
    /// `(-1, -1)` when `epoch` is older than every known epoch.
    pub fn end_offset_for(&self, epoch: i32, log_end_offset: i64) -> (i32, i64) {
        let n = self.entries.partition_point(|e| e.epoch <= epoch);
        let Some(found) = n.checked_sub(1).and_then(|i| self.entries.get(i)) else {
            return (-1, -1);
        };
        let found = found.epoch;
        match self.entries.get(n) {
            Some(next) => (found, next.start_offset),
            None => (found, log_end_offset),
        }
    }

    /// The epoch in force at `offset`.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let n = self.entries.partition_point(|e| e.start_offset <= offset);
        n.checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .map(|e| e.epoch)
    }

    /// Drops epochs that start at or after `end_offset` (the log was truncated there).
    pub fn truncate_from_end(&mut self, end_offset: i64) -> Result<()> {
        let keep = self
            .entries
            .partition_point(|e| e.start_offset < end_offset);
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            self.persist()?;
        }
        Ok(())
    }

    /// Forgets epochs wholly before `start_offset` (the log start moved), keeping the epoch in
    /// force at `start_offset` with its start clamped to it.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> Result<()> {
        let n = self
            .entries
            .partition_point(|e| e.start_offset <= start_offset);
        if n <= 1 {
            return Ok(());
        }
        self.entries.drain(..n - 1);
        if let Some(first) = self.entries.first_mut() {
            first.start_offset = start_offset;
        }
        self.persist()
    }

    fn persist(&self) -> Result<()> {
        let mut text = format!("0\n{}\n", self.entries.len());
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

fn parse(text: &str) -> std::result::Result<Vec<EpochEntry>, String> {
    let mut lines = text.lines();
    let version = lines.next().ok_or("empty checkpoint")?;
    if version.trim() != "0" {
        return Err(format!("unknown checkpoint version {version:?}"));
    }
    let count: usize = lines
        .next()
        .ok_or("missing count")?
        .trim()
        .parse()
        .map_err(|_| "bad count")?;
    let mut entries = Vec::with_capacity(count.min(1024));
    for line in lines.take(count) {
        let mut parts = line.split_whitespace();
        let epoch = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or("bad epoch")?;
        let start_offset = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or("bad offset")?;
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    if entries.len() != count {
        return Err(format!("expected {count} entries, found {}", entries.len()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_malformed_checkpoints() {
        assert!(parse("").is_err());
        assert!(parse("1\n0\n").is_err());
        assert!(parse("0\n2\n0 0\n").is_err());
        assert!(parse("0\n1\nx 0\n").is_err());
        assert_eq!(
            parse("0\n1\n4 17\n").unwrap(),
            vec![EpochEntry {
                epoch: 4,
                start_offset: 17
            }]
        );
    }

    #[test]
    fn assign_ignores_older_epochs_and_truncation_trims() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochCache::open(dir.path()).unwrap();
        cache.assign(2, 0).unwrap();
        cache.assign(1, 5).unwrap();
        cache.assign(2, 6).unwrap();
        cache.assign(5, 10).unwrap();
        cache.assign(7, 20).unwrap();
        assert_eq!(cache.entries().len(), 3);
        assert_eq!(cache.end_offset_for(1, 30), (-1, -1));
        assert_eq!(cache.end_offset_for(6, 30), (5, 20));
        cache.truncate_from_end(20).unwrap();
        assert_eq!(cache.latest_epoch(), Some(5));
        cache.truncate_from_start(12).unwrap();
        assert_eq!(
            cache.entries(),
            &[EpochEntry {
                epoch: 5,
                start_offset: 12
            }]
        );
        let reopened = LeaderEpochCache::open(dir.path()).unwrap();
        assert_eq!(reopened.entries(), cache.entries());
    }
}
