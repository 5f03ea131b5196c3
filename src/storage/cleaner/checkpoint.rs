//! The cleaner checkpoint of one partition: the first dirty offset, the offset up to which
//! the log has been cleaned. Kafka keeps one `cleaner-offset-checkpoint` per log directory
//! listing every partition; Skiff keeps one per partition directory, so a partition carries
//! its own state (and deleting the partition deletes it).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::storage::error::{Result, StorageError};
use crate::storage::fs_util::write_atomically;

/// File name of the checkpoint inside the partition directory.
pub const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
const VERSION: &str = "0";

/// Reads the checkpointed first dirty offset, if the log was ever cleaned.
pub fn read(dir: &Path) -> Result<Option<i64>> {
    let text = match fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let bad = || {
        StorageError::LogCorrupted(format!(
            "bad {CHECKPOINT_FILE} in {}: {text:?}",
            dir.display()
        ))
    };
    let mut lines = text.lines();
    if lines.next() != Some(VERSION) {
        return Err(bad());
    }
    let offset = lines
        .next()
        .and_then(|l| l.trim().parse::<i64>().ok())
        .ok_or_else(bad)?;
    Ok(Some(offset))
}

/// Durably records `offset` as the first dirty offset.
pub fn write(dir: &Path, offset: i64) -> Result<()> {
    write_atomically(
        &dir.join(CHECKPOINT_FILE),
        format!("{VERSION}\n{offset}\n").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), 42).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(42));
        fs::write(dir.path().join(CHECKPOINT_FILE), "9\nx\n").unwrap();
        assert!(read(dir.path()).is_err());
    }
}
