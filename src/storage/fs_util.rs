//! Small durable-file helpers shared by the engine.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::storage::error::Result;

/// Forces a directory's entries (created, renamed, removed files) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Replaces `path` with `data` atomically and durably: a temp file beside it is written and
/// synced, renamed over `path`, and the directory synced.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    crate::storage::fault::check(path, crate::storage::fault::FaultOp::Write)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}
