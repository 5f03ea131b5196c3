//! Small broker metadata files: a CRC32C-checked text body, replaced atomically
//! (write a temporary file, fsync it, rename it over the old one, fsync the directory).

use std::fs;
use std::io::Write;
use std::path::Path;

use super::error::{BrokerError, Result};

const MAGIC: &str = "skiff-meta v1 crc32c=";

/// Writes `body` to `path` atomically with a checksum line in front.
pub fn write_atomic(path: &Path, body: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        let crc = crc32c::crc32c(body.as_bytes());
        write!(f, "{MAGIC}{crc:08x}\n{body}")?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Reads a file written by [`write_atomic`]; `Ok(None)` if it does not exist.
pub fn read_checked(path: &Path) -> Result<Option<String>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = |reason: String| BrokerError::CorruptMetadata {
        path: path.display().to_string(),
        reason,
    };
    let (first, body) = text
        .split_once('\n')
        .ok_or_else(|| corrupt("no header line".into()))?;
    let stored = first
        .strip_prefix(MAGIC)
        .ok_or_else(|| corrupt("bad header line".into()))?;
    let stored =
        u32::from_str_radix(stored, 16).map_err(|e| corrupt(format!("bad checksum field: {e}")))?;
    let computed = crc32c::crc32c(body.as_bytes());
    if stored != computed {
        return Err(corrupt(format!(
            "checksum mismatch: stored {stored:08x}, computed {computed:08x}"
        )));
    }
    Ok(Some(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.meta");
        assert!(read_checked(&p).unwrap().is_none());
        write_atomic(&p, "hello\nworld\n").unwrap();
        assert_eq!(read_checked(&p).unwrap().as_deref(), Some("hello\nworld\n"));
        let mut bytes = fs::read(&p).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        fs::write(&p, bytes).unwrap();
        assert!(matches!(
            read_checked(&p),
            Err(BrokerError::CorruptMetadata { .. })
        ));
    }
}
